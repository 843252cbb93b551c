//! What a match distance means, measured for one model: the distance up to which a hub's
//! best candidate is right often enough (the match threshold), and the probability that a
//! best candidate at a given distance is right (the confidence curve). Written into the
//! manifest by `trainer calibrate` from training identities, read by the hub.
//!
//! Pure: [`calibrate`] turns `(distance, right)` samples of best candidates into a
//! [`MatchCalibration`]; [`MatchCalibration::confidence`] reads the curve back.

use serde::{Deserialize, Serialize};

/// Knots of the confidence curve kept in the manifest.
pub const CURVE_POINTS: usize = 12;

/// A model's match calibration (`[model.matching]` in the manifest).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchCalibration {
    /// Largest CPDM distance at which best candidates reached `target_precision`.
    pub threshold: f32,
    /// The precision the threshold was chosen for.
    pub target_precision: f32,
    /// `[distance, probability the best candidate is right]`, distances increasing,
    /// probabilities not increasing; linear in between, constant beyond the ends.
    pub confidence: Vec<[f32; 2]>,
    /// Best candidates the figures come from.
    pub samples: u32,
    /// The data and protocol (free text).
    pub calibrated_on: String,
}

/// Why a calibration could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    /// Too few samples for a curve.
    #[error("{0} best-candidate samples; at least {CURVE_POINTS} are needed")]
    TooFew(usize),
    /// A distance that is not a finite non-negative number.
    #[error("distance {0} is not a finite non-negative number")]
    BadDistance(f32),
    /// Not even the closest best candidates are right often enough.
    #[error(
        "no distance reaches precision {target}: the closest best candidates are right {best:.3} of the time"
    )]
    Unreachable {
        /// Requested precision.
        target: f32,
        /// Precision of the closest bin.
        best: f32,
    },
}

impl MatchCalibration {
    /// Probability that a best candidate at `distance` is right, from the curve.
    pub fn confidence(&self, distance: f32) -> f32 {
        let c = &self.confidence;
        let (Some(first), Some(last)) = (c.first(), c.last()) else {
            return 0.0;
        };
        if !distance.is_finite() || distance >= last[0] {
            return last[1];
        }
        if distance <= first[0] {
            return first[1];
        }
        for w in c.windows(2) {
            let ([d0, p0], [d1, p1]) = (w[0], w[1]);
            if distance <= d1 {
                let t = if d1 > d0 {
                    (distance - d0) / (d1 - d0)
                } else {
                    1.0
                };
                return p0 + t * (p1 - p0);
            }
        }
        last[1]
    }

    /// The largest distance whose confidence is at least `confidence` (the curve read
    /// backwards): infinite when every distance reaches it, negative when none does.
    pub fn max_distance_for(&self, confidence: f32) -> f32 {
        let c = &self.confidence;
        let (Some(first), Some(last)) = (c.first(), c.last()) else {
            return -1.0;
        };
        if confidence <= last[1] {
            return f32::INFINITY;
        }
        if confidence > first[1] {
            return -1.0;
        }
        for w in c.windows(2) {
            let ([d0, p0], [d1, p1]) = (w[0], w[1]);
            if confidence > p1 {
                // p0 >= confidence > p1: the curve crosses it inside this segment.
                return if p0 > p1 {
                    d0 + (p0 - confidence) / (p0 - p1) * (d1 - d0)
                } else {
                    d0
                };
            }
        }
        last[0]
    }

    /// Checks what serde cannot: a usable threshold and a monotone curve.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.threshold.is_finite() && self.threshold >= 0.0) {
            return Err(format!(
                "threshold {} is not a finite non-negative number",
                self.threshold
            ));
        }
        let ok = self
            .confidence
            .windows(2)
            .all(|w| w[0][0] <= w[1][0] && w[0][1] >= w[1][1])
            && self
                .confidence
                .iter()
                .all(|[d, p]| d.is_finite() && (0.0..=1.0).contains(p));
        if self.confidence.is_empty() || !ok {
            return Err(
                "confidence must be [distance, probability] points with increasing \
                        distances and non-increasing probabilities in 0..1"
                    .into(),
            );
        }
        Ok(())
    }
}

/// The calibration of `samples` (distance of a best candidate, whether it was right):
/// the threshold is the largest distance whose best candidates up to it are right at least
/// `target` of the time; the curve is the isotonic (non-increasing) fit of rightness over
/// distance, summarised in [`CURVE_POINTS`] equal-count bins.
pub fn calibrate(
    samples: &[(f32, bool)],
    target: f32,
    calibrated_on: &str,
) -> Result<MatchCalibration, CalibrationError> {
    if samples.len() < CURVE_POINTS {
        return Err(CalibrationError::TooFew(samples.len()));
    }
    if let Some(&(d, _)) = samples.iter().find(|(d, _)| !(d.is_finite() && *d >= 0.0)) {
        return Err(CalibrationError::BadDistance(d));
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut right = 0usize;
    let mut threshold = None;
    for (n, &(d, ok)) in sorted.iter().enumerate() {
        right += usize::from(ok);
        if right as f32 >= target * (n + 1) as f32 {
            threshold = Some(d);
        }
    }
    let curve = isotonic_curve(&sorted);
    let Some(threshold) = threshold else {
        return Err(CalibrationError::Unreachable {
            target,
            best: curve.first().map_or(0.0, |p| p[1]),
        });
    };
    Ok(MatchCalibration {
        threshold,
        target_precision: target,
        confidence: curve,
        samples: u32::try_from(samples.len()).unwrap_or(u32::MAX),
        calibrated_on: calibrated_on.to_owned(),
    })
}

/// Equal-count bins of `sorted` (by distance) → `[median distance, right fraction]`, then
/// pool-adjacent-violators so the fractions never increase with distance.
fn isotonic_curve(sorted: &[(f32, bool)]) -> Vec<[f32; 2]> {
    let n = sorted.len();
    // (median distance, rights, count) per bin
    let mut blocks: Vec<(f32, f32, f32)> = (0..CURVE_POINTS)
        .map(|b| {
            let bin = &sorted[b * n / CURVE_POINTS..(b + 1) * n / CURVE_POINTS];
            let rights = bin.iter().filter(|s| s.1).count() as f32;
            (bin[bin.len() / 2].0, rights, bin.len() as f32)
        })
        .collect();
    // Pool adjacent violators: merge a bin into its left neighbour while it is more often
    // right; the pooled bin keeps both distances (its knots share the pooled value).
    let mut pooled: Vec<(Vec<f32>, f32, f32)> = Vec::new();
    for (d, r, c) in blocks.drain(..) {
        pooled.push((vec![d], r, c));
        while pooled.len() > 1 {
            let k = pooled.len();
            let (last, prev) = (&pooled[k - 1], &pooled[k - 2]);
            if last.1 / last.2 <= prev.1 / prev.2 {
                break;
            }
            let Some((ds, r, c)) = pooled.pop() else {
                break;
            };
            if let Some(p) = pooled.last_mut() {
                p.0.extend(ds);
                p.1 += r;
                p.2 += c;
            }
        }
    }
    pooled
        .into_iter()
        .flat_map(|(ds, r, c)| ds.into_iter().map(move |d| [d, r / c]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Right below 1.0 (with a few misses), wrong above.
    fn samples() -> Vec<(f32, bool)> {
        (0..200)
            .map(|i| {
                let d = i as f32 / 100.0;
                (d, d < 1.0 && i % 10 != 3)
            })
            .collect()
    }

    #[test]
    fn threshold_reaches_the_target_and_no_further() {
        let s = samples();
        let c = calibrate(&s, 0.8, "test").unwrap();
        let accepted: Vec<_> = s.iter().filter(|x| x.0 <= c.threshold).collect();
        let precision = accepted.iter().filter(|x| x.1).count() as f32 / accepted.len() as f32;
        assert!(precision >= 0.8, "{precision}");
        // One more sample beyond the threshold would break the target.
        let next = s
            .iter()
            .map(|x| x.0)
            .filter(|d| *d > c.threshold)
            .fold(f32::MAX, f32::min);
        let with_next: Vec<_> = s.iter().filter(|x| x.0 <= next).collect();
        let p_next = with_next.iter().filter(|x| x.1).count() as f32 / with_next.len() as f32;
        assert!(p_next < 0.8, "{p_next} at {next}");
        // 90 right of the first 100, then only wrong: 90 / 112 ≥ 0.8 > 90 / 113.
        assert!((c.threshold - 1.11).abs() < 1e-6, "{}", c.threshold);
        c.validate().unwrap();
    }

    #[test]
    fn confidence_is_monotone_and_interpolates() {
        let c = calibrate(&samples(), 0.8, "test").unwrap();
        assert!(c.confidence(0.1) > 0.8 && c.confidence(1.9) < 0.1);
        let mut last = 1.0;
        for i in 0..40 {
            let p = c.confidence(i as f32 / 20.0);
            assert!(p <= last + 1e-6, "{p} after {last}");
            last = p;
        }
        // Violations are pooled: a bin more often right than its left neighbour.
        let mut s = samples();
        for x in s.iter_mut().take(40) {
            x.1 = x.0 > 0.2;
        }
        let c = calibrate(&s, 0.5, "test").unwrap();
        assert!(
            c.confidence.windows(2).all(|w| w[0][1] >= w[1][1]),
            "{:?}",
            c.confidence
        );
    }

    #[test]
    fn max_distance_for_reads_the_curve_backwards() {
        let c = MatchCalibration {
            threshold: 6.0,
            target_precision: 0.9,
            confidence: vec![[4.0, 0.95], [6.0, 0.9], [9.0, 0.1]],
            samples: 100,
            calibrated_on: "test".into(),
        };
        assert_eq!(c.max_distance_for(0.9), 6.0);
        assert!((c.max_distance_for(0.5) - 7.5).abs() < 1e-5);
        assert!((c.confidence(c.max_distance_for(0.3)) - 0.3).abs() < 1e-5);
        assert_eq!(c.max_distance_for(0.05), f32::INFINITY);
        assert!(c.max_distance_for(0.99) < 0.0, "no distance is that sure");
        assert_eq!(c.max_distance_for(0.95), 4.0);
    }

    #[test]
    fn bad_inputs_are_named() {
        assert_eq!(
            calibrate(&[(0.1, true)], 0.9, "t"),
            Err(CalibrationError::TooFew(1))
        );
        let mut s = samples();
        s[5].0 = f32::NAN;
        assert!(matches!(
            calibrate(&s, 0.9, "t"),
            Err(CalibrationError::BadDistance(_))
        ));
        let wrong: Vec<_> = (0..50).map(|i| (i as f32, false)).collect();
        let err = calibrate(&wrong, 0.9, "t").unwrap_err();
        assert!(
            err.to_string()
                .contains("no distance reaches precision 0.9"),
            "{err}"
        );
    }
}
