//! Tests of the search layer: int8 distances against f32 and by hand, the gallery matrix,
//! and top-k against a brute-force sort.
#![cfg(feature = "std")]

use core::num::NonZeroUsize;

use heapless::{String, Vec as HVec};
use proptest::prelude::*;

use super::*;
use crate::cpdm::{self, AreaRatios, Metric, PartFeatures};
use crate::kernel::Kernel;
use crate::part::{PARTS, Part};
use crate::signature::{ModelId, QuantizedFeature, Signature};

const MODEL: ModelId = [3; 16];

fn signature(model: ModelId, parts: &[Vec<f32>; PARTS], ratios: AreaRatios) -> Signature {
    Signature {
        model_id: model,
        site: String::try_from("s").unwrap(),
        camera: String::try_from("c1").unwrap(),
        capture_time_us: 0,
        track_id: 0,
        sequence: 0,
        area_ratios: ratios,
        features: parts
            .each_ref()
            .map(|p| QuantizedFeature::quantize(p).unwrap()),
    }
}

fn raw(values: &[i8], scale: f32) -> QuantizedFeature {
    QuantizedFeature {
        scale,
        values: HVec::from_slice(values).unwrap(),
    }
}

fn parts(dim: usize) -> impl Strategy<Value = [Vec<f32>; PARTS]> {
    prop::array::uniform4(prop::collection::vec(-1.0f32..1.0, dim))
}

fn ratios() -> impl Strategy<Value = AreaRatios> {
    prop::array::uniform3(0.0f32..1.0).prop_map(AreaRatios::from_areas)
}

fn view(p: &[Vec<f32>; PARTS], r: AreaRatios) -> PartFeatures<'_> {
    PartFeatures {
        parts: p.each_ref().map(Vec::as_slice),
        area_ratios: r,
    }
}

/// Part 0: a = 0.5·(2, 0) = (1, 0), b = 0.25·(0, 4) = (0, 1): ‖q_a‖² = 4, ‖q_b‖² = 16,
/// q_a·q_b = 0, so d² = 0.25·4 + 0.0625·16 − 0 = 2. Parts 1–3 equal in both (d = 0).
/// Ratios all zero: CPDM = global = √2; concat = √2 too.
#[test]
fn int8_distance_by_hand() {
    let same = raw(&[1, -1], 1.0);
    let mut a = signature(
        MODEL,
        &[vec![0.0; 2], vec![0.0; 2], vec![0.0; 2], vec![0.0; 2]],
        AreaRatios::default(),
    );
    let mut b = a.clone();
    a.features = [raw(&[2, 0], 0.5), same.clone(), same.clone(), same.clone()];
    b.features = [raw(&[0, 4], 0.25), same.clone(), same.clone(), same];
    for m in Metric::ALL {
        let d = signature_distance(m, &a, &b).unwrap();
        assert!((d - 2f32.sqrt()).abs() < 1e-6, "{m:?}: {d}");
    }
    assert_eq!(squared_distance_from_dot(0.5, 4, 0.25, 16, 0), 2.0);
    // Rounding residue below zero is clamped.
    assert_eq!(squared_distance_from_dot(1.0, 1, 1.0, 1, 1), 0.0);
}

#[test]
fn int8_distance_rejects_mismatches() {
    let p = [vec![0.5f32; 4], vec![0.5; 4], vec![0.5; 4], vec![0.5; 4]];
    let a = signature(MODEL, &p, AreaRatios::default());
    let other_model = signature([9; 16], &p, AreaRatios::default());
    assert!(matches!(
        signature_distance(Metric::Cpdm, &a, &other_model),
        Err(SearchError::ModelMismatch { .. })
    ));
    let mut short = a.clone();
    short.features[2] = raw(&[1, 1, 1], 1.0);
    assert_eq!(
        signature_distance(Metric::Cpdm, &a, &short),
        Err(SearchError::DimMismatch {
            part: Part::Rear,
            expected: 4,
            found: 3
        })
    );
    let mut bad = a.clone();
    bad.features[1].scale = f32::NAN;
    assert!(matches!(
        signature_distance(Metric::Cpdm, &a, &bad),
        Err(SearchError::InvalidScale {
            part: Part::Front,
            ..
        })
    ));
}

/// Quantisation moves each value by at most scale/2, so each part vector by at most
/// `√d·s/2` and each per-part distance by at most `√d·(s_a + s_b)/2` (triangle inequality).
/// CPDM's weights sum to 1, so it moves by at most the largest part bound; the concatenated
/// distance by at most the norm of the per-part bounds.
fn quantisation_bound(metric: Metric, a: &Signature, b: &Signature) -> f32 {
    let dim = a.dim() as f32;
    let part = |i: usize| dim.sqrt() * (a.features[i].scale + b.features[i].scale) / 2.0;
    let bound = match metric {
        Metric::GlobalEuclidean => part(0),
        Metric::ConcatEuclidean => (0..PARTS).map(|i| part(i) * part(i)).sum::<f32>().sqrt(),
        Metric::Cpdm => (0..PARTS).map(part).fold(0.0, f32::max),
    };
    bound * (1.0 + 1e-5) + 1e-5
}

proptest! {
    #[test]
    fn int8_agrees_with_f32(
        (pa, pb) in (1usize..80).prop_flat_map(|d| (parts(d), parts(d))),
        ra in ratios(),
        rb in ratios(),
    ) {
        let (sa, sb) = (signature(MODEL, &pa, ra), signature(MODEL, &pb, rb));
        let (fa, fb) = (view(&pa, ra), view(&pb, rb));
        let deq = |s: &Signature| s.features.each_ref().map(|f| {
            let mut v = vec![0.0; f.dim()];
            f.dequantize_into(&mut v);
            v
        });
        let (da, db) = (deq(&sa), deq(&sb));
        for kernel in Kernel::all_supported() {
            for m in Metric::ALL {
                let int8 = signature_distance_with(kernel, m, &sa, &sb).unwrap();
                let f32_orig = cpdm::distance(m, &fa, &fb).unwrap();
                prop_assert!(
                    (int8 - f32_orig).abs() <= quantisation_bound(m, &sa, &sb),
                    "{m:?}: int8 {int8} vs f32 {f32_orig}"
                );
                // On the dequantised vectors the two paths compute the same number.
                let f32_deq = cpdm::distance(m, &view(&da, ra), &view(&db, rb)).unwrap();
                prop_assert!((int8 - f32_deq).abs() <= 1e-4 * f32_deq.max(1.0), "{m:?}");
                prop_assert_eq!(signature_distance_with(kernel, m, &sa, &sa).unwrap(), 0.0);
            }
        }
    }
}

fn gallery_of(sigs: &[Signature]) -> Gallery {
    Gallery::from_signatures(sigs).unwrap().unwrap()
}

#[test]
fn gallery_validates_and_evicts() {
    let p = |v: f32| [vec![v; 4], vec![v; 4], vec![v; 4], vec![v; 4]];
    let sigs: Vec<Signature> = (1..=4)
        .map(|i| signature(MODEL, &p(i as f32), AreaRatios([1.0, 0.0, 0.0])))
        .collect();
    let mut g = gallery_of(&sigs);
    assert_eq!((g.len(), g.dim(), g.model_id()), (4, 4, MODEL));
    assert_eq!(g.value_bytes(), 4 * 4 * 4);

    let foreign = signature([8; 16], &p(1.0), AreaRatios::default());
    assert!(matches!(
        g.push(&foreign),
        Err(SearchError::ModelMismatch { .. })
    ));
    let mut wrong_dim = sigs[0].clone();
    wrong_dim.features[3] = raw(&[1; 5], 1.0);
    assert_eq!(
        g.push(&wrong_dim),
        Err(SearchError::DimMismatch {
            part: Part::Side,
            expected: 4,
            found: 5
        })
    );
    let mut bad_ratios = sigs[0].clone();
    bad_ratios.area_ratios = AreaRatios([f32::NAN, 0.0, 0.0]);
    assert!(matches!(
        g.push(&bad_ratios),
        Err(SearchError::InvalidAreaRatios { .. })
    ));
    assert_eq!(g.len(), 4, "rejected signatures are not stored");
    assert_eq!(
        Gallery::new(MODEL, 513),
        Err(SearchError::DimTooLarge { dim: 513, max: 512 })
    );

    // Each signature quantises to all-127 with scale i/127: identify entries by scale.
    let scale0 = |g: &Gallery, i: usize| (g.scales(i).unwrap()[0] * 127.0).round() as i32;
    g.swap_remove(0).unwrap();
    assert_eq!((0..3).map(|i| scale0(&g, i)).collect::<Vec<_>>(), [4, 2, 3]);
    assert_eq!(
        g.swap_remove(3),
        Err(SearchError::IndexOutOfRange { index: 3, len: 3 })
    );
    g.retain(|i| i != 1);
    assert_eq!((0..2).map(|i| scale0(&g, i)).collect::<Vec<_>>(), [4, 3]);
    assert_eq!(g.part(1, Part::Rear), Some(&[127i8; 4][..]));
    assert_eq!(g.part(2, Part::Global), None);
    assert_eq!(g.area_ratios(1), Some(AreaRatios([1.0, 0.0, 0.0])));
    g.clear();
    assert!(g.is_empty());
    assert_eq!(g.value_bytes(), 0);
}

/// Every distance, filtered and thresholded, fully sorted by (distance, index), first k.
fn brute_force<R: SearchRows>(
    q: &R,
    g: &R,
    opts: &SearchOptions,
    filter: impl Fn(usize, usize) -> bool,
) -> Vec<Vec<Neighbour>> {
    (0..q.len())
        .map(|i| {
            let mut all: Vec<Neighbour> = (0..g.len())
                .filter(|&j| filter(i, j))
                .map(|j| Neighbour {
                    index: j,
                    distance: q.distance(i, g, j, opts.metric, Kernel::portable()),
                })
                .filter(|n| opts.max_distance.is_none_or(|m| n.distance <= m))
                .collect();
            all.sort_by(|a, b| {
                a.distance
                    .total_cmp(&b.distance)
                    .then(a.index.cmp(&b.index))
            });
            all.truncate(opts.k);
            all
        })
        .collect()
}

fn random_signatures(n: usize, dim: usize, seed: u64) -> Vec<Signature> {
    // A small LCG: deterministic data without a random-number crate.
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    (0..n)
        .map(|_| {
            let p: [Vec<f32>; PARTS] = core::array::from_fn(|_| (0..dim).map(|_| next()).collect());
            let r = AreaRatios::from_areas([next().abs(), next().abs(), next().abs()]);
            signature(MODEL, &p, r)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn top_k_equals_brute_force(
        seed in any::<u64>(),
        n_gallery in 0usize..200,
        n_queries in 1usize..5,
        dim in 1usize..12,
        k in 0usize..12,
        metric in prop::sample::select(Metric::ALL.to_vec()),
        max_distance in prop::option::of(0.0f32..3.0),
        modulus in 1usize..4,
    ) {
        let g = gallery_of(&random_signatures(n_gallery + 1, dim, seed));
        let q = gallery_of(&random_signatures(n_queries, dim, seed ^ 0xABCD));
        let mut opts = SearchOptions::new(k, metric);
        opts.max_distance = max_distance;
        let filter = |qi: usize, j: usize| !(qi + j).is_multiple_of(modulus);
        let got = top_k(&q, &g, &opts, filter).unwrap();
        prop_assert_eq!(&got, &brute_force(&q, &g, &opts, filter));
        for list in &got {
            prop_assert!(list.len() <= k);
            prop_assert!(list.iter().all(|n| max_distance.is_none_or(|m| n.distance <= m)));
        }
    }
}

#[test]
fn threads_do_not_change_results() {
    // Large enough for three threads, with ties (dim 2 quantises coarsely).
    let g = gallery_of(&random_signatures(3500, 2, 1));
    let q = gallery_of(&random_signatures(7, 2, 2));
    let filter = |qi: usize, j: usize| j % 7 != qi;
    for kernel in Kernel::all_supported() {
        let mut opts = SearchOptions::new(25, Metric::Cpdm);
        opts.kernel = kernel;
        opts.threads = NonZeroUsize::new(1);
        let one = top_k(&q, &g, &opts, filter).unwrap();
        opts.threads = NonZeroUsize::new(3);
        let three = top_k(&q, &g, &opts, filter).unwrap();
        assert_eq!(one, three, "{}", kernel.name());
        assert_eq!(one, brute_force(&q, &g, &opts, filter));
        for (qi, list) in one.iter().enumerate() {
            assert_eq!(list.len(), 25);
            assert!(list.iter().all(|n| n.index % 7 != qi), "filter respected");
        }
    }
}

#[test]
fn search_checks_queries_and_options() {
    let g = gallery_of(&random_signatures(10, 4, 5));
    let opts = SearchOptions::new(3, Metric::Cpdm);
    let foreign = signature(
        [1; 16],
        &[vec![0.1; 4], vec![0.1; 4], vec![0.1; 4], vec![0.1; 4]],
        AreaRatios::default(),
    );
    assert!(matches!(
        g.search(&[foreign], &opts, |_, _| true),
        Err(SearchError::ModelMismatch { .. })
    ));
    let wrong_dim = gallery_of(&random_signatures(2, 3, 5));
    assert_eq!(
        top_k(&wrong_dim, &g, &opts, |_, _| true),
        Err(SearchError::QueryDimMismatch {
            queries: 3,
            gallery: 4
        })
    );
    let mut bad = opts;
    bad.max_distance = Some(f32::NAN);
    assert!(matches!(
        top_k(&g, &g, &bad, |_, _| true),
        Err(SearchError::InvalidMaxDistance(_))
    ));
    // A query is its own nearest entry, at distance 0.
    let queries = random_signatures(10, 4, 5);
    let found = g.search(&queries[2..4], &opts, |_, _| true).unwrap();
    assert_eq!((found[0][0].index, found[0][0].distance), (2, 0.0));
    assert_eq!((found[1][0].index, found[1][0].distance), (3, 0.0));
    // Excluding it by the filter leaves the others, and k = 0 gives empty lists.
    let found = g.search(&queries[2..3], &opts, |_, j| j != 2).unwrap();
    assert!(found[0].iter().all(|n| n.index != 2) && found[0].len() == 3);
    let none = g
        .search(
            &queries[..2],
            &SearchOptions::new(0, Metric::Cpdm),
            |_, _| true,
        )
        .unwrap();
    assert_eq!(none, vec![Vec::new(), Vec::new()]);
    // A k larger than the gallery returns every entry, sorted, without a huge allocation.
    let all = g
        .search(
            &queries[..1],
            &SearchOptions::new(usize::MAX, Metric::Cpdm),
            |_, _| true,
        )
        .unwrap();
    assert_eq!(all[0].len(), 10);
    assert!(all[0].windows(2).all(|w| w[0].distance <= w[1].distance));
}

#[test]
fn f32_gallery_matches_dequantised_int8() {
    let sigs = random_signatures(300, 16, 9);
    let g8 = gallery_of(&sigs);
    let mut g32 = GalleryF32::new(16);
    for s in &sigs {
        g32.push_dequantized(s).unwrap();
    }
    assert_eq!(g32.len(), 300);
    assert_eq!(g32.value_bytes(), 4 * g8.value_bytes());
    for m in Metric::ALL {
        for (i, j) in [(0, 1), (5, 299), (17, 17)] {
            let d8 = g8.distance(i, &g8, j, m, Kernel::detect());
            let d32 = g32.distance(i, &g32, j, m, Kernel::detect());
            assert!(
                (d8 - d32).abs() <= 1e-4 * d32.max(1.0),
                "{m:?} {i} {j}: {d8} vs {d32}"
            );
        }
    }
    let entry = g32.get(5).unwrap();
    assert_eq!(entry.area_ratios, sigs[5].area_ratios);
    let nan = [
        vec![f32::NAN; 16],
        vec![0.0; 16],
        vec![0.0; 16],
        vec![0.0; 16],
    ];
    assert_eq!(
        g32.push(&view(&nan, AreaRatios::default())),
        Err(SearchError::NotFinite {
            part: Part::Global,
            index: 0
        })
    );
}
