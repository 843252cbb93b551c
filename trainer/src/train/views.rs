//! Which training images SPAN learns from, under which view label, and in which mix.
//!
//! SPAN learns parts from image-level view labels alone, so the labels must be consistent
//! with what each image shows. The renderer's 8-way orientation labels cover ±22.5° sectors
//! around each axis: a "front" image at 20° still shows a third of a side, and it looks like
//! a "front-side" image at 25°. Under the area caps of eq. 2 the only consistent answer to
//! such labels is "recognise the view, paint the whole foreground with it". With
//! [`LabelSource::Azimuth`] the labels come from the camera azimuth instead: single views only
//! close to an axis, two-view images only clearly oblique, the ambiguous rest left out of
//! SPAN's training (they still train the feature network and are still scored).
//!
//! The authors' training list is about 78 % two-view (front-side, rear-side); [`ViewShare`]
//! sets each view's share of a batch (equal shares give the paper's "balanced" batches).

use serde::{Deserialize, Serialize};

use spanreid::View;

/// Where SPAN's view labels come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelSource {
    /// The dataset's view column (or VeRi orientation class) as it is.
    #[default]
    Given,
    /// The renderer's `azimuth_deg` column, through [`ViewLabels::view_of_azimuth`].
    Azimuth,
}

/// Each view's share of a training batch, in any unit (normalised over the views present).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ViewShare {
    /// Front only.
    pub front: f64,
    /// Rear only.
    pub rear: f64,
    /// Side only.
    pub side: f64,
    /// Front and side.
    pub front_side: f64,
    /// Rear and side.
    pub rear_side: f64,
}

impl ViewShare {
    /// Equal shares: the paper's viewpoint-balanced batches.
    pub const BALANCED: ViewShare = ViewShare {
        front: 1.0,
        rear: 1.0,
        side: 1.0,
        front_side: 1.0,
        rear_side: 1.0,
    };

    /// The mix of the authors' SPAN training list (about 8 % front, 6 % rear, 8 % side,
    /// 38 % front-side, 40 % rear-side).
    pub const AUTHORS: ViewShare = ViewShare {
        front: 0.08,
        rear: 0.06,
        side: 0.08,
        front_side: 0.38,
        rear_side: 0.40,
    };

    /// The share of `view`.
    pub fn of(&self, view: View) -> f64 {
        match view {
            View::Front => self.front,
            View::Rear => self.rear,
            View::Side => self.side,
            View::FrontSide => self.front_side,
            View::RearSide => self.rear_side,
        }
    }
}

impl Default for ViewShare {
    fn default() -> Self {
        Self::BALANCED
    }
}

/// `[train.views]`: label source, the azimuth bands and the batch mix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ViewLabels {
    /// Where labels come from.
    pub source: LabelSource,
    /// Azimuth source: a single view within this many degrees of its axis.
    pub single_within_deg: f64,
    /// Azimuth source: a two-view image when its angle from the front (or rear) axis lies
    /// in this range, degrees.
    pub two_view_deg: [f64; 2],
    /// Share of each view in a batch.
    pub share: ViewShare,
}

impl Default for ViewLabels {
    fn default() -> Self {
        Self {
            source: LabelSource::Given,
            single_within_deg: 10.0,
            two_view_deg: [25.0, 65.0],
            share: ViewShare::BALANCED,
        }
    }
}

impl ViewLabels {
    /// The azimuth labelling with the authors' batch mix (the `cpu` preset's choice).
    pub fn azimuth_authors_mix() -> Self {
        Self {
            source: LabelSource::Azimuth,
            share: ViewShare::AUTHORS,
            ..Self::default()
        }
    }

    /// The SPAN label of a camera azimuth (degrees counter-clockwise from the vehicle's
    /// front: 0 front, 90 left, 180 rear, 270 right), or `None` for an ambiguous one.
    pub fn view_of_azimuth(&self, azimuth_deg: f64) -> Option<View> {
        let a = azimuth_deg.rem_euclid(360.0);
        // Angle from the front axis, 0 (front) … 180 (rear), the same for left and right.
        let phi = a.min(360.0 - a);
        let s = self.single_within_deg;
        let [lo, hi] = self.two_view_deg;
        if phi <= s {
            Some(View::Front)
        } else if phi >= 180.0 - s {
            Some(View::Rear)
        } else if (phi - 90.0).abs() <= s {
            Some(View::Side)
        } else if (lo..=hi).contains(&phi) {
            Some(View::FrontSide)
        } else if (180.0 - hi..=180.0 - lo).contains(&phi) {
            Some(View::RearSide)
        } else {
            None
        }
    }

    /// Checks the bands and shares; `Err` holds (field, reason).
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let s = self.single_within_deg;
        let [lo, hi] = self.two_view_deg;
        if !(0.0..45.0).contains(&s) {
            return Err((
                "train.views.single_within_deg",
                format!("{s} must lie in [0, 45)"),
            ));
        }
        if !(lo <= hi && lo > s && hi < 90.0 - s) {
            return Err((
                "train.views.two_view_deg",
                format!(
                    "[{lo}, {hi}] must be an ordered range strictly between the single-view \
                     bands ({s}, {})",
                    90.0 - s
                ),
            ));
        }
        let shares = View::ALL.map(|v| self.share.of(v));
        if shares.iter().any(|w| !(w.is_finite() && *w >= 0.0)) || shares.iter().sum::<f64>() <= 0.0
        {
            return Err((
                "train.views.share",
                "shares must be non-negative numbers, not all zero".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azimuth_bands() {
        let l = ViewLabels::default();
        let v = |a| l.view_of_azimuth(a);
        assert_eq!(v(0.0), Some(View::Front));
        assert_eq!(v(355.0), Some(View::Front));
        assert_eq!(v(10.0), Some(View::Front));
        // The renderer's "front" sector reaches 22.5°: those images are ambiguous here.
        assert_eq!(v(20.0), None);
        assert_eq!(v(30.0), Some(View::FrontSide));
        assert_eq!(v(-45.0), Some(View::FrontSide));
        assert_eq!(v(70.0), None);
        assert_eq!(v(90.0), Some(View::Side));
        assert_eq!(v(265.0), Some(View::Side));
        assert_eq!(v(135.0), Some(View::RearSide));
        assert_eq!(v(200.0), None);
        assert_eq!(v(185.0), Some(View::Rear));
        assert_eq!(v(-170.0), Some(View::Rear));
    }

    #[test]
    fn left_and_right_get_the_same_label() {
        let l = ViewLabels::default();
        for a in 0..360 {
            let a = f64::from(a) + 0.5;
            assert_eq!(l.view_of_azimuth(a), l.view_of_azimuth(-a), "{a}");
        }
    }

    #[test]
    fn bad_bands_and_shares_are_named() {
        let mut l = ViewLabels::default();
        assert!(l.validate().is_ok());
        l.two_view_deg = [5.0, 60.0];
        assert_eq!(
            l.validate().map_err(|e| e.0),
            Err("train.views.two_view_deg")
        );
        l.two_view_deg = [30.0, 60.0];
        l.share.front = -1.0;
        assert_eq!(l.validate().map_err(|e| e.0), Err("train.views.share"));
        l.share = ViewShare {
            front: 0.0,
            rear: 0.0,
            side: 0.0,
            front_side: 0.0,
            rear_side: 0.0,
        };
        assert!(l.validate().is_err());
        l = ViewLabels {
            single_within_deg: 50.0,
            ..ViewLabels::default()
        };
        assert_eq!(
            l.validate().map_err(|e| e.0),
            Err("train.views.single_within_deg")
        );
    }

    #[test]
    fn toml_names_the_allowed_sources() {
        #[derive(Deserialize)]
        struct W {
            #[allow(dead_code)]
            views: ViewLabels,
        }
        let err = toml::from_str::<W>("[views]\nsource = \"orientation\"\n")
            .err()
            .expect("unknown source");
        let text = err.to_string();
        assert!(text.contains("given") && text.contains("azimuth"), "{text}");
    }
}
