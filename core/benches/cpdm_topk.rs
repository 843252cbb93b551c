//! Top-k search over a gallery of 100k signatures of dimension 512: f32 vs int8, CPDM vs the
//! global Euclidean distance, one vs all threads, one query vs a batch.
//!
//! Reports ns per comparison and the effective bandwidth (bytes of gallery features the
//! metric reads, per query, per second) beside a memory-copy bandwidth measured in the same
//! run, and their ratio. With one query the scan streams the gallery from memory; with a
//! batch each cached block of gallery rows serves every query, so the effective figure can
//! exceed the copy bandwidth.
//!
//! Run: `cargo bench --bench cpdm_topk`.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a bench binary reports on stdout

use std::error::Error;
use std::hint::black_box;
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use spanreid::kernel::Kernel;
use spanreid::search::{Gallery, GalleryF32, SearchOptions, SearchRows, top_k};
use spanreid::{AreaRatios, Metric, PARTS, PartFeatures, QuantizedFeature, Signature};

const GALLERY: usize = 100_000;
const DIM: usize = 512;
const K: usize = 10;
const BATCH: usize = 16;
const COPY_BYTES: usize = 1 << 30;
const MODEL: [u8; 16] = [7; 16];

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

/// Deterministic pseudo-random features in [-1, 1) (a 64-bit LCG; no crate needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

struct Data {
    int8: Gallery,
    f32: GalleryF32,
    queries_int8: Gallery,
    queries_f32: GalleryF32,
}

fn fill(
    rng: &mut Lcg,
    n: usize,
    int8: &mut Gallery,
    f32: &mut GalleryF32,
) -> Result<(), Box<dyn Error>> {
    let mut parts: [Vec<f32>; PARTS] = std::array::from_fn(|_| vec![0.0; DIM]);
    for _ in 0..n {
        for p in &mut parts {
            p.iter_mut().for_each(|v| *v = rng.next());
        }
        let ratios = AreaRatios::from_areas([rng.next().abs(), rng.next().abs(), rng.next().abs()]);
        let mut features: [QuantizedFeature; PARTS] = Default::default();
        for (q, p) in features.iter_mut().zip(&parts) {
            *q = QuantizedFeature::quantize(p)?;
        }
        let sig = Signature {
            model_id: MODEL,
            site: "bench".try_into().map_err(|_| "site id")?,
            camera: "c1".try_into().map_err(|_| "camera id")?,
            capture_time_us: 0,
            track_id: 0,
            sequence: 0,
            area_ratios: ratios,
            features,
        };
        int8.push(&sig)?;
        f32.push(&PartFeatures {
            parts: parts.each_ref().map(Vec::as_slice),
            area_ratios: ratios,
        })?;
    }
    Ok(())
}

fn build() -> Result<Data, Box<dyn Error>> {
    let mut rng = Lcg(42);
    let mut int8 = Gallery::new(MODEL, DIM)?;
    let mut f32 = GalleryF32::new(DIM);
    int8.reserve(GALLERY);
    f32.reserve(GALLERY);
    fill(&mut rng, GALLERY, &mut int8, &mut f32)?;
    let mut queries_int8 = Gallery::new(MODEL, DIM)?;
    let mut queries_f32 = GalleryF32::new(DIM);
    fill(&mut rng, BATCH, &mut queries_int8, &mut queries_f32)?;
    Ok(Data {
        int8,
        f32,
        queries_int8,
        queries_f32,
    })
}

/// Best of `reps` runs of `f`.
fn best_of(reps: usize, mut f: impl FnMut()) -> Duration {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Bytes read and written per second by a 1 GiB `copy_from_slice`, best of 3.
fn copy_bandwidth() -> f64 {
    let src = vec![1u8; COPY_BYTES];
    let mut dst = vec![0u8; COPY_BYTES];
    let t = best_of(3, || {
        dst.copy_from_slice(black_box(&src));
        black_box(&mut dst);
    });
    2.0 * COPY_BYTES as f64 / t.as_secs_f64()
}

/// Time per call of each kernel on vectors of [`DIM`] values held in L1 cache: the compute
/// ceiling the scans below are measured against.
fn kernel_rates() {
    const CALLS: usize = 200_000;
    let ai: Vec<i8> = (0..DIM).map(|k| ((k * 37) % 255) as u8 as i8).collect();
    let bi: Vec<i8> = (0..DIM).map(|k| ((k * 91) % 253) as u8 as i8).collect();
    let af: Vec<f32> = ai.iter().map(|&v| f32::from(v) / 127.0).collect();
    let bf: Vec<f32> = bi.iter().map(|&v| f32::from(v) / 127.0).collect();
    for k in Kernel::all_supported() {
        let int8 = best_of(3, || {
            let mut s = 0i32;
            for _ in 0..CALLS {
                s = s.wrapping_add(k.dot_i8(black_box(&ai), black_box(&bi)));
            }
            black_box(s);
        });
        let f32 = best_of(3, || {
            let mut s = 0.0f32;
            for _ in 0..CALLS {
                s += k.squared_distance_f32(black_box(&af), black_box(&bf));
            }
            black_box(s);
        });
        println!(
            "kernel {:<11}: int8 dot of {DIM} {:>6.1} ns, f32 squared distance of {DIM} {:>6.1} ns (in cache)",
            k.name(),
            int8.as_secs_f64() * 1e9 / CALLS as f64,
            f32.as_secs_f64() * 1e9 / CALLS as f64,
        );
    }
}

/// The first `n` rows of a query matrix as their own matrix.
fn first_rows_int8(q: &Gallery, n: usize) -> Gallery {
    let mut out = q.clone();
    out.retain(|i| i < n);
    out
}

struct Case<'a, R: SearchRows> {
    label: &'a str,
    queries: &'a R,
    gallery: &'a R,
    bytes_per_value: usize,
}

fn measure<R: SearchRows>(
    case: &Case<'_, R>,
    metric: Metric,
    threads: usize,
    kernel: Kernel,
    (copy, read): (f64, f64),
) -> Result<(), Box<dyn Error>> {
    let mut opts = SearchOptions::new(K, metric);
    opts.threads = NonZeroUsize::new(threads);
    opts.kernel = kernel;
    let mut result = Ok(Vec::new());
    let t = best_of(5, || {
        result = top_k(case.queries, case.gallery, &opts, |_, _| true)
    });
    let hits = result?;
    black_box(hits);
    let (q, g) = (case.queries.len(), case.gallery.len());
    let comparisons = (q * g) as f64;
    let bytes =
        comparisons * (metric.parts_used() * case.gallery.dim() * case.bytes_per_value) as f64;
    let gbs = bytes / t.as_secs_f64() / 1e9;
    println!(
        "{:<5} {:<16} {:>2} q {:>1} thr {:<11} {:>8.2} ms {:>7.1} ns/cmp {:>6.2} GB/s {:>5.2}x copy {:>5.2}x read",
        case.label,
        format!("{metric:?}"),
        q,
        threads,
        kernel.name(),
        t.as_secs_f64() * 1e3,
        t.as_secs_f64() * 1e9 / comparisons,
        gbs,
        gbs * 1e9 / copy,
        gbs * 1e9 / read,
    );
    Ok(())
}

fn run() -> Result<(), Box<dyn Error>> {
    let all = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let build_start = Instant::now();
    let data = build()?;
    println!(
        "gallery: {GALLERY} signatures, dim {DIM}, int8 {:.0} MB, f32 {:.0} MB (built in {:.1} s); k = {K}",
        data.int8.value_bytes() as f64 / 1e6,
        data.f32.value_bytes() as f64 / 1e6,
        build_start.elapsed().as_secs_f64()
    );
    let copy = copy_bandwidth();
    println!(
        "reference: 1 GiB copy_from_slice, 1 thread: {:.2} GB/s (read + write)",
        copy / 1e9
    );
    let read = spanreid::search::read_bandwidth(COPY_BYTES, 1);
    println!(
        "second reference: 1 GiB sum of u64, 1 thread: {:.2} GB/s (read)",
        read / 1e9
    );
    println!(
        "ratios = effective gallery-read GB/s / reference GB/s; GB/s counts the bytes the metric reads per query"
    );

    kernel_rates();

    let one_int8 = first_rows_int8(&data.queries_int8, 1);
    let mut one_f32 = GalleryF32::new(DIM);
    if let Some(first) = data.queries_f32.get(0) {
        one_f32.push(&first)?;
    }
    let int8_1 = Case {
        label: "int8",
        queries: &one_int8,
        gallery: &data.int8,
        bytes_per_value: 1,
    };
    let int8_b = Case {
        label: "int8",
        queries: &data.queries_int8,
        gallery: &data.int8,
        bytes_per_value: 1,
    };
    let f32_1 = Case {
        label: "f32",
        queries: &one_f32,
        gallery: &data.f32,
        bytes_per_value: 4,
    };
    let f32_b = Case {
        label: "f32",
        queries: &data.queries_f32,
        gallery: &data.f32,
        bytes_per_value: 4,
    };
    let best = Kernel::detect();

    for metric in [Metric::Cpdm, Metric::GlobalEuclidean] {
        for threads in [1, all] {
            measure(&int8_1, metric, threads, best, (copy, read))?;
            measure(&int8_b, metric, threads, best, (copy, read))?;
            measure(&f32_1, metric, threads, best, (copy, read))?;
            measure(&f32_b, metric, threads, best, (copy, read))?;
        }
    }
    measure(&int8_b, Metric::Cpdm, 1, Kernel::portable(), (copy, read))?;
    measure(&f32_b, Metric::Cpdm, 1, Kernel::portable(), (copy, read))?;
    if best != Kernel::portable() {
        for k in Kernel::all_supported() {
            if k != best && k != Kernel::portable() {
                measure(&int8_b, Metric::Cpdm, 1, k, (copy, read))?;
            }
        }
    }
    Ok(())
}
