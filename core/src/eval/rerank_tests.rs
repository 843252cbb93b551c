//! Tests of the chunked re-ranking against a literal dense implementation, plus hand cases.

use super::*;
use crate::eval::{EvalConfig, Evaluator, Label};

/// Deterministic pseudo-random numbers in [0, 1) (64-bit LCG, Knuth's constants).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// `count` features of `dim` around `ids` random centres (noise 0.3), row-major.
fn clustered(rng: &mut Lcg, centres: &[Vec<f32>], count: usize) -> Vec<f32> {
    (0..count)
        .flat_map(|i| centres[i % centres.len()].clone())
        .map(|c| c + 0.3 * (rng.next() - 0.5))
        .collect()
}

/// The published algorithm step by step on the full `T × T` matrix (in f64 after the
/// distances), with the same tie rule (stable sort by distance, so ties by index).
fn dense_reference(src: &FeatureRows<'_>, k1: usize, k2: usize, lambda: f64) -> Vec<Vec<f64>> {
    let n = src.len_query();
    let t = n + src.len_gallery();
    let mut dist = vec![vec![0f32; t]; t];
    for (i, row) in dist.iter_mut().enumerate() {
        src.row(i, row);
    }
    let initial_rank: Vec<Vec<usize>> = dist
        .iter()
        .map(|row| {
            let mut order: Vec<usize> = (0..t).collect();
            order.sort_by(|&a, &b| (row[a] + 0.0).total_cmp(&(row[b] + 0.0)));
            order
        })
        .collect();
    let k_reciprocal = |i: usize, k: usize| -> Vec<usize> {
        let forward = &initial_rank[i][..(k + 1).min(t)];
        forward
            .iter()
            .copied()
            .filter(|&c| initial_rank[c][..(k + 1).min(t)].contains(&i))
            .collect()
    };
    let half = (k1 as f64 / 2.0).round_ties_even() as usize;
    let mut v = vec![vec![0f64; t]; t];
    for i in 0..t {
        let r = k_reciprocal(i, k1);
        let mut expansion = r.clone();
        for &candidate in &r {
            let rc = k_reciprocal(candidate, half);
            let common = rc.iter().filter(|x| r.contains(x)).count();
            if common as f64 >= 2.0 * rc.len() as f64 / 3.0 {
                expansion.extend(rc);
            }
        }
        expansion.sort_unstable();
        expansion.dedup();
        let weight = |x: usize| (-f64::from(dist[i][x])).exp();
        let sum: f64 = expansion.iter().map(|&x| weight(x)).sum();
        for &x in &expansion {
            v[i][x] = weight(x) / sum;
        }
    }
    if k2 != 1 {
        let v_qe: Vec<Vec<f64>> = (0..t)
            .map(|i| {
                let nbrs = &initial_rank[i][..k2.min(t)];
                (0..t)
                    .map(|x| nbrs.iter().map(|&j| v[j][x]).sum::<f64>() / nbrs.len() as f64)
                    .collect()
            })
            .collect();
        v = v_qe;
    }
    (0..n)
        .map(|q| {
            (n..t)
                .map(|g| {
                    let min: f64 = (0..t).map(|x| v[q][x].min(v[g][x])).sum();
                    let max: f64 = (0..t).map(|x| v[q][x].max(v[g][x])).sum();
                    let jaccard = 1.0 - min / max;
                    (1.0 - lambda) * jaccard + lambda * f64::from(dist[q][g])
                })
                .collect()
        })
        .collect()
}

fn run(src: &FeatureRows<'_>, config: &RerankConfig) -> Vec<Vec<f32>> {
    let mut all = Vec::new();
    rerank(src, config, |q, d| {
        assert_eq!(q, all.len());
        all.push(d.to_vec());
    })
    .unwrap();
    all
}

#[test]
fn chunked_equals_dense_reference() {
    let mut rng = Lcg(0x5eed);
    let dim = 6;
    // (queries, gallery, identities, k1, k2, lambda): defaults, small k, and T < k1 + 1.
    let cases = [
        (6, 40, 7, 20, 6, 0.3),
        (5, 30, 5, 6, 3, 0.3),
        (4, 25, 6, 5, 1, 0.5),
        (4, 25, 6, 7, 2, 1.0),
        (3, 5, 2, 20, 6, 0.3),
        (0, 3, 2, 2, 2, 0.3),
        (1, 1, 1, 1, 1, 0.0),
    ];
    for (n, m, ids, k1, k2, lambda) in cases {
        let centres: Vec<Vec<f32>> = (0..ids)
            .map(|_| (0..dim).map(|_| rng.next()).collect())
            .collect();
        let query = clustered(&mut rng, &centres, n);
        let gallery = clustered(&mut rng, &centres, m);
        let src = FeatureRows::new(&query, &gallery, dim).unwrap();
        let expected = dense_reference(&src, k1, k2, f64::from(lambda));
        for chunk_rows in [1, 7, n + m + 5] {
            let config = RerankConfig {
                k1,
                k2,
                lambda,
                chunk_rows,
            };
            let got = run(&src, &config);
            assert_eq!(got.len(), n);
            for (got_q, want_q) in got.iter().zip(&expected) {
                assert_eq!(got_q.len(), m);
                for (&a, &b) in got_q.iter().zip(want_q) {
                    assert!((f64::from(a) - b).abs() < 1e-5, "{config:?}: {a} vs {b}");
                }
            }
        }
    }
}

/// The query (id 1) is nearest to the edge item of the id-2 cluster, but that item's own
/// neighbourhood is its cluster, which does not reach the query, while the id-1 cluster has
/// the query among its nearest: the k-reciprocal distance puts id 1 first.
#[test]
fn reranking_fixes_wrong_rank_one() {
    let query = [0.0, 0.0];
    #[rustfmt::skip]
    let gallery = [
        -0.8, 0.0, // id 2, nearest to the query
        1.0, 0.0, 1.05, 0.1, 1.1, -0.1, 0.95, -0.05, 1.15, 0.05, 1.2, 0.0, // id 1
        -1.4, 0.0, -1.45, 0.05, -1.5, -0.05, -1.45, -0.1, -1.5, 0.1, -1.55, 0.0, -1.6, 0.05,
    ];
    let ids: Vec<Label> = [2]
        .into_iter()
        .chain([1; 6])
        .chain([2; 7])
        .map(|id| Label::new(id, 2))
        .collect();
    let src = FeatureRows::new(&query, &gallery, 2).unwrap();
    let config = RerankConfig {
        k1: 6,
        k2: 3,
        ..RerankConfig::default()
    };
    let rank1 = |d: &[f32]| {
        (0..d.len())
            .min_by(|&a, &b| d[a].total_cmp(&d[b]))
            .map(|g| ids[g].id)
    };
    let mut original = vec![0.0; 15];
    src.row(0, &mut original);
    assert_eq!(rank1(&original[1..]), Some(2));

    let mut before = Evaluator::new(EvalConfig::default());
    before
        .add_query(Label::new(1, 1), &ids, &original[1..])
        .unwrap();
    assert_eq!(before.finish().cmc_at(1), Some(0.0));

    let mut after = Evaluator::new(EvalConfig::default());
    let mut reranker = Reranker::new(&src, &config).unwrap();
    let reranked = reranker.query(0).unwrap();
    assert_eq!(rank1(reranked), Some(1));
    after.add_query(Label::new(1, 1), &ids, reranked).unwrap();
    assert_eq!(after.finish().cmc_at(1), Some(1.0));
}

#[test]
fn lambda_one_returns_original_distances() {
    let mut rng = Lcg(7);
    let (n, m, dim) = (4, 20, 5);
    let query: Vec<f32> = (0..n * dim).map(|_| rng.next()).collect();
    let gallery: Vec<f32> = (0..m * dim).map(|_| rng.next()).collect();
    let src = FeatureRows::new(&query, &gallery, dim).unwrap();
    let config = RerankConfig {
        lambda: 1.0,
        chunk_rows: 3,
        ..RerankConfig::default()
    };
    let mut row = vec![0.0; n + m];
    let mut seen = 0;
    rerank(&src, &config, |q, d| {
        src.row(q, &mut row);
        assert_eq!(d, &row[n..]);
        seen += 1;
    })
    .unwrap();
    assert_eq!(seen, n);
}

#[test]
fn errors_name_the_bad_parameter() {
    let g = [0.0, 1.0, 2.0, 3.0];
    let src = FeatureRows::new(&g[..2], &g, 2).unwrap();
    let base = RerankConfig::default();
    let with = |f: fn(&mut RerankConfig)| {
        let mut c = base;
        f(&mut c);
        Reranker::new(&src, &c).err()
    };
    assert_eq!(with(|c| c.k1 = 0), Some(RerankError::ZeroK1));
    assert_eq!(with(|c| c.k2 = 0), Some(RerankError::ZeroK2));
    assert_eq!(
        with(|c| c.k2 = 21),
        Some(RerankError::K2ExceedsK1 { k1: 20, k2: 21 })
    );
    assert_eq!(
        with(|c| c.lambda = 1.5),
        Some(RerankError::LambdaOutOfRange(1.5))
    );
    assert!(matches!(
        with(|c| c.lambda = f32::NAN),
        Some(RerankError::LambdaOutOfRange(_))
    ));
    assert_eq!(
        with(|c| c.lambda = -0.1),
        Some(RerankError::LambdaOutOfRange(-0.1))
    );
    assert_eq!(with(|c| c.chunk_rows = 0), Some(RerankError::ZeroChunkRows));
    assert!(
        RerankError::ZeroChunkRows
            .to_string()
            .contains("chunk_rows")
    );
    assert!(with(|_| ()).is_none());

    let empty = FeatureRows::new(&g, &[], 2).unwrap();
    assert_eq!(
        rerank(&empty, &base, |_, _| ()),
        Err(RerankError::EmptyGallery)
    );
    assert_eq!(
        FeatureRows::new(&g, &g, 0).err(),
        Some(RerankError::ZeroDim)
    );
    assert_eq!(
        FeatureRows::new(&g[..3], &g, 2).err(),
        Some(RerankError::FeatureLength {
            which: "query",
            len: 3,
            dim: 2
        })
    );
    assert_eq!(
        FeatureRows::new(&g, &g[..3], 2).err(),
        Some(RerankError::FeatureLength {
            which: "gallery",
            len: 3,
            dim: 2
        })
    );
    let mut reranker = Reranker::new(&src, &base).unwrap();
    assert!(reranker.query(0).is_ok());
    assert_eq!(
        reranker.query(1).err(),
        Some(RerankError::QueryOutOfRange {
            index: 1,
            queries: 1
        })
    );
}

/// Degenerate inputs (duplicates, NaN, zero distances, tiny sizes) never panic.
#[test]
fn degenerate_inputs_do_not_panic() {
    let same = [0.5f32; 12];
    let nan = [f32::NAN, 0.0, 1.0, f32::INFINITY];
    for (query, gallery) in [
        (&same[..4], &same[..]),
        (&nan[..2], &nan[..]),
        (&[][..], &same[..2]),
    ] {
        let src = FeatureRows::new(query, gallery, 2).unwrap();
        for (k1, k2, chunk_rows) in [(1, 1, 1), (20, 6, 256), (usize::MAX, 1, usize::MAX)] {
            let config = RerankConfig {
                k1,
                k2,
                lambda: 0.3,
                chunk_rows,
            };
            let mut count = 0;
            rerank(&src, &config, |_, d| {
                count += usize::from(d.len() == gallery.len() / 2)
            })
            .unwrap();
            assert_eq!(count, query.len() / 2);
        }
    }
}
