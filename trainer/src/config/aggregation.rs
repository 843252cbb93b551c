//! How the feature network combines its branches into one distance: the rows of the paper's
//! Table 2 (Sec. 4.3). The method is [`Aggregation::Cpdm`]; the others are its ablations,
//! each trained with the distance it is evaluated with.

#![cfg_attr(
    not(feature = "torch"),
    allow(
        dead_code,
        reason = "used by the libtorch training path; tested without it"
    )
)]

use serde::{Deserialize, Serialize};
use spanreid::cpdm::Metric;

/// Aggregation of the global and part features, for training and retrieval.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// The baseline: the global branch alone (no SPAN masks), Euclidean distance.
    GlobalOnly,
    /// SPAN w/ FC: the four branches' features concatenated and embedded by one more
    /// fully-connected layer (+ BN neck and its own classifier) into a single `d`-dimensional
    /// feature, Euclidean distance. Retrieval reads that fused feature.
    Fc,
    /// SPAN w/ concat: the four features concatenated, Euclidean distance.
    Concat,
    /// SPAN w/ CPDM: the four features compared by the co-occurrence part-attentive
    /// distance (the method; the only aggregation the exporter ships).
    #[default]
    Cpdm,
}

impl Aggregation {
    /// Every aggregation, in Table 2's row order.
    pub const ALL: [Aggregation; 4] = [
        Aggregation::GlobalOnly,
        Aggregation::Fc,
        Aggregation::Concat,
        Aggregation::Cpdm,
    ];

    /// Branches the network builds: 1 (global) for the baseline, 4 otherwise.
    pub const fn branches(self) -> usize {
        match self {
            Aggregation::GlobalOnly => 1,
            _ => 4,
        }
    }

    /// Whether the branches see SPAN's masks (everything but the baseline).
    pub const fn uses_masks(self) -> bool {
        !matches!(self, Aggregation::GlobalOnly)
    }

    /// The core metric that scores this aggregation's retrieval features. For
    /// [`Aggregation::Fc`] the fused feature is stored in the global slot, so the global
    /// Euclidean metric scores it.
    pub const fn metric(self) -> Metric {
        match self {
            Aggregation::GlobalOnly | Aggregation::Fc => Metric::GlobalEuclidean,
            Aggregation::Concat => Metric::ConcatEuclidean,
            Aggregation::Cpdm => Metric::Cpdm,
        }
    }

    /// Metrics that mean something for this aggregation's features: all three when the
    /// four branch features are the retrieval features, only the first otherwise.
    pub fn metrics(self) -> &'static [Metric] {
        match self {
            Aggregation::GlobalOnly | Aggregation::Fc => &Metric::ALL[..1],
            Aggregation::Concat | Aggregation::Cpdm => &Metric::ALL,
        }
    }

    /// Table 2's name of the row.
    pub const fn label(self) -> &'static str {
        match self {
            Aggregation::GlobalOnly => "Baseline (global, Euclidean)",
            Aggregation::Fc => "SPAN w/ FC (Euclidean)",
            Aggregation::Concat => "SPAN w/ concat (Euclidean)",
            Aggregation::Cpdm => "SPAN w/ CPDM",
        }
    }

    /// A directory-friendly name.
    pub const fn slug(self) -> &'static str {
        match self {
            Aggregation::GlobalOnly => "baseline",
            Aggregation::Fc => "span-fc",
            Aggregation::Concat => "span-concat",
            Aggregation::Cpdm => "span-cpdm",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_score_with_the_distance_they_train_with() {
        assert_eq!(Aggregation::default(), Aggregation::Cpdm);
        let metrics: Vec<Metric> = Aggregation::ALL.iter().map(|a| a.metric()).collect();
        assert_eq!(
            metrics,
            [
                Metric::GlobalEuclidean,
                Metric::GlobalEuclidean,
                Metric::ConcatEuclidean,
                Metric::Cpdm
            ]
        );
        for a in Aggregation::ALL {
            assert!(a.metrics().contains(&a.metric()), "{a:?}");
        }
        assert_eq!(Aggregation::GlobalOnly.branches(), 1);
        assert!(!Aggregation::GlobalOnly.uses_masks());
        assert!(Aggregation::Fc.uses_masks());
    }

    #[test]
    fn names_round_trip_through_toml() {
        #[derive(Serialize, Deserialize)]
        struct W {
            a: Aggregation,
        }
        let names = ["global_only", "fc", "concat", "cpdm"];
        for (a, name) in Aggregation::ALL.into_iter().zip(names) {
            let text = toml::to_string(&W { a }).expect("toml");
            assert_eq!(text.trim(), format!("a = \"{name}\""));
            assert_eq!(toml::from_str::<W>(&text).expect("parse").a, a);
        }
    }
}
