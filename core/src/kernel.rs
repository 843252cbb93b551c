//! Inner-loop kernels: the int8 dot product and the f32 squared distance, in portable code
//! that autovectorises, plus x86-64 paths (AVX2; AVX-512 VNNI) chosen by runtime detection.
//!
//! This is the only module of the crate that uses `unsafe`: calling a
//! `#[target_feature]` function, and unaligned SIMD loads from slices.
#![allow(unsafe_code)]

/// Instruction set a [`Kernel`] runs on. Only [`Kernel::detect`] and
/// [`Kernel::portable`] construct kernels, so a SIMD variant exists only on a CPU that
/// supports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    Portable,
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    Avx2,
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    Avx512Vnni,
}

/// A choice of inner-loop implementation, fixed for a search so that detection runs once.
///
/// All kernels give identical results for the int8 dot product (integer arithmetic). The
/// f32 squared distance may differ in the last bits between kernels (summation order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kernel(Isa);

impl Default for Kernel {
    fn default() -> Self {
        Kernel::detect()
    }
}

impl Kernel {
    /// Portable code only (what a `no_std` build always uses).
    pub const fn portable() -> Self {
        Kernel(Isa::Portable)
    }

    /// The fastest kernel this CPU supports: AVX-512 VNNI, then AVX2, then portable.
    /// Without the `std` feature (no runtime detection) this is [`Self::portable`].
    pub fn detect() -> Self {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vnni")
            {
                return Kernel(Isa::Avx512Vnni);
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Kernel(Isa::Avx2);
            }
        }
        Kernel::portable()
    }

    /// Every kernel this CPU supports, portable first (for comparing them).
    #[cfg(feature = "std")]
    pub fn all_supported() -> std::vec::Vec<Kernel> {
        #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
        let mut out = std::vec![Kernel::portable()];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                out.push(Kernel(Isa::Avx2));
            }
            if Kernel::detect().0 == Isa::Avx512Vnni {
                out.push(Kernel(Isa::Avx512Vnni));
            }
        }
        out
    }

    /// Short name of the instruction set, for reports.
    pub const fn name(self) -> &'static str {
        match self.0 {
            Isa::Portable => "portable",
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Isa::Avx2 => "avx2",
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Isa::Avx512Vnni => "avx512-vnni",
        }
    }

    /// `Σ a[k]·b[k]` over the common length of `a` and `b`, exact in i32 for lengths up to
    /// 131 071 (every product is at most 128² = 2^14).
    #[inline]
    pub fn dot_i8(self, a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        match self.0 {
            Isa::Portable => dot_i8_portable(a, b),
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            // SAFETY: `Isa::Avx2` is only constructed after `is_x86_feature_detected!("avx2")`.
            Isa::Avx2 => unsafe { x86::dot_i8_avx2(a, b) },
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            // SAFETY: `Isa::Avx512Vnni` is only constructed after detecting avx512f,
            // avx512bw and avx512vnni.
            Isa::Avx512Vnni => unsafe { x86::dot_i8_avx512vnni(a, b) },
        }
    }

    /// `Σ (a[k] − b[k])²` over the common length of `a` and `b`.
    #[inline]
    pub fn squared_distance_f32(self, a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        match self.0 {
            Isa::Portable => squared_distance_f32_portable(a, b),
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            // SAFETY: both SIMD variants are only constructed after detecting AVX2.
            Isa::Avx2 | Isa::Avx512Vnni => unsafe { x86::squared_distance_f32_avx2(a, b) },
        }
    }
}

/// Ask the CPU to start loading `bytes` into cache (a hint: no effect on results, and a
/// no-op off x86-64). Used to fetch gallery rows ahead of the scan.
#[cfg(feature = "std")]
#[inline(always)]
pub(crate) fn prefetch<T>(bytes: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let start = bytes.as_ptr().cast::<i8>();
        let len = core::mem::size_of_val(bytes);
        let mut offset = 0;
        while offset < len {
            // SAFETY: `start + offset` lies inside the slice; a prefetch never faults and does
            // not change memory, and SSE (which defines it) is part of the x86-64 baseline.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.add(offset)) };
            offset += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// Lanes of the portable int8 accumulators (integer sums vectorise at any width).
const LANES: usize = 16;
/// Lanes of the portable f32 accumulators: several vectors' worth, so that consecutive
/// vector additions are independent (4 AVX2 or 8 SSE accumulators).
const LANES_F32: usize = 32;

/// Portable int8 dot product; integer addition is associative, so this vectorises.
#[inline(always)]
fn dot_i8_portable(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..LANES {
            acc[k] += i32::from(x[k]) * i32::from(y[k]);
        }
    }
    let tail: i32 = ta
        .iter()
        .zip(tb)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum();
    acc.iter().sum::<i32>() + tail
}

/// Portable f32 squared distance with independent per-lane accumulators (floating-point
/// addition is not associative, so the lanes must be explicit for the compiler to vectorise).
#[inline(always)]
fn squared_distance_f32_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES_F32];
    let (ca, cb) = (a.chunks_exact(LANES_F32), b.chunks_exact(LANES_F32));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..LANES_F32 {
            let d = x[k] - y[k];
            acc[k] += d * d;
        }
    }
    let tail: f32 = ta.iter().zip(tb).map(|(&x, &y)| (x - y) * (x - y)).sum();
    acc.iter().sum::<f32>() + tail
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86 {
    use std::arch::x86_64::*;

    /// AVX2 int8 dot product: sign-extend 16 bytes to i16, `vpmaddwd` pairs into i32.
    ///
    /// # Safety
    /// The CPU must support AVX2; `a` and `b` must have the same length.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let mut acc0 = _mm256_setzero_si256();
        let mut acc1 = _mm256_setzero_si256();
        let mut i = 0;
        while i + 32 <= n {
            // SAFETY: `i + 32 <= n` keeps both 16-byte loads at offsets i and i + 16 inside
            // the slices; `loadu` has no alignment requirement.
            let (a0, b0, a1, b1) = unsafe {
                let pa = a.as_ptr().add(i).cast::<__m128i>();
                let pb = b.as_ptr().add(i).cast::<__m128i>();
                (
                    _mm_loadu_si128(pa),
                    _mm_loadu_si128(pb),
                    _mm_loadu_si128(pa.add(1)),
                    _mm_loadu_si128(pb.add(1)),
                )
            };
            let p0 = _mm256_madd_epi16(_mm256_cvtepi8_epi16(a0), _mm256_cvtepi8_epi16(b0));
            let p1 = _mm256_madd_epi16(_mm256_cvtepi8_epi16(a1), _mm256_cvtepi8_epi16(b1));
            acc0 = _mm256_add_epi32(acc0, p0);
            acc1 = _mm256_add_epi32(acc1, p1);
            i += 32;
        }
        let mut lanes = [0i32; 8];
        // SAFETY: `lanes` holds exactly 32 bytes; `storeu` has no alignment requirement.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), _mm256_add_epi32(acc0, acc1)) };
        let tail: i32 = a[i..n]
            .iter()
            .zip(&b[i..n])
            .map(|(&x, &y)| i32::from(x) * i32::from(y))
            .sum();
        lanes.iter().sum::<i32>() + tail
    }

    /// AVX-512 VNNI int8 dot product. `vpdpbusd` multiplies unsigned by signed bytes, so
    /// `a` is biased to `a + 128` (flip the sign bit) and the bias is removed at the end:
    /// `Σ a·b = Σ (a + 128)·b − 128·Σ b`, with `Σ b` from a second `vpdpbusd` against ones.
    /// The tail is a masked load (zeros contribute nothing to either sum).
    ///
    /// # Safety
    /// The CPU must support AVX-512 F, BW and VNNI; `a` and `b` must have the same length.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn dot_i8_avx512vnni(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let sign = _mm512_set1_epi8(i8::MIN);
        let ones = _mm512_set1_epi8(1);
        // Two accumulator pairs so consecutive `vpdpbusd` do not wait on each other.
        let (mut acc0, mut acc1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        let (mut sum0, mut sum1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        let mut i = 0;
        while i + 128 <= n {
            // SAFETY: `i + 128 <= n`, so the four 64-byte loads stay inside both slices.
            let (a0, b0, a1, b1) = unsafe {
                let (pa, pb) = (a.as_ptr().add(i), b.as_ptr().add(i));
                (
                    _mm512_loadu_si512(pa.cast()),
                    _mm512_loadu_si512(pb.cast()),
                    _mm512_loadu_si512(pa.add(64).cast()),
                    _mm512_loadu_si512(pb.add(64).cast()),
                )
            };
            acc0 = _mm512_dpbusd_epi32(acc0, _mm512_xor_si512(a0, sign), b0);
            acc1 = _mm512_dpbusd_epi32(acc1, _mm512_xor_si512(a1, sign), b1);
            sum0 = _mm512_dpbusd_epi32(sum0, ones, b0);
            sum1 = _mm512_dpbusd_epi32(sum1, ones, b1);
            i += 128;
        }
        while i < n {
            let rest = n - i;
            let (va, vb) = if rest >= 64 {
                // SAFETY: `i + 64 <= n`, so the 64-byte loads stay inside both slices.
                unsafe {
                    (
                        _mm512_loadu_si512(a.as_ptr().add(i).cast()),
                        _mm512_loadu_si512(b.as_ptr().add(i).cast()),
                    )
                }
            } else {
                let mask: __mmask64 = (1u64 << rest) - 1;
                // SAFETY: the mask enables only the `rest` bytes inside the slices; masked-off
                // bytes are not read (AVX-512 masked loads suppress faults) and become 0.
                unsafe {
                    (
                        _mm512_maskz_loadu_epi8(mask, a.as_ptr().add(i)),
                        _mm512_maskz_loadu_epi8(mask, b.as_ptr().add(i)),
                    )
                }
            };
            acc0 = _mm512_dpbusd_epi32(acc0, _mm512_xor_si512(va, sign), vb);
            sum0 = _mm512_dpbusd_epi32(sum0, ones, vb);
            i += 64;
        }
        let acc = _mm512_add_epi32(acc0, acc1);
        let sum_b = _mm512_add_epi32(sum0, sum1);
        _mm512_reduce_add_epi32(acc) - 128 * _mm512_reduce_add_epi32(sum_b)
    }

    /// The portable f32 loop compiled for AVX2 (8-wide vectors, four accumulators).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn squared_distance_f32_avx2(a: &[f32], b: &[f32]) -> f32 {
        super::squared_distance_f32_portable(a, b)
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dot_scalar(a: &[i8], b: &[i8]) -> i32 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| i32::from(x) * i32::from(y))
            .sum()
    }

    fn sq_scalar(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| f64::from(x - y) * f64::from(x - y))
            .sum()
    }

    #[test]
    fn dot_extremes_at_edge_lengths() {
        for len in [0usize, 1, 2, 15, 16, 31, 33, 63, 64, 65, 127, 511, 512] {
            let a = vec![i8::MIN; len];
            let b = vec![i8::MIN; len];
            let c = vec![i8::MAX; len];
            for k in Kernel::all_supported() {
                assert_eq!(
                    k.dot_i8(&a, &b),
                    16384 * len as i32,
                    "{} len {len}",
                    k.name()
                );
                assert_eq!(
                    k.dot_i8(&a, &c),
                    -16256 * len as i32,
                    "{} len {len}",
                    k.name()
                );
            }
        }
    }

    #[test]
    fn detection_finds_at_least_portable() {
        let all = Kernel::all_supported();
        assert_eq!(all[0], Kernel::portable());
        assert!(all.contains(&Kernel::detect()));
    }

    proptest! {
        #[test]
        fn simd_dot_equals_scalar(
            pairs in prop_oneof![
                Just(0usize), Just(1), Just(7), Just(63), Just(65), Just(511), Just(512), 0usize..600
            ].prop_flat_map(|n| proptest::collection::vec(any::<(i8, i8)>(), n))
        ) {
            let (a, b): (Vec<i8>, Vec<i8>) = pairs.into_iter().unzip();
            let want = dot_scalar(&a, &b);
            for k in Kernel::all_supported() {
                prop_assert_eq!(k.dot_i8(&a, &b), want, "{}", k.name());
            }
        }

        #[test]
        fn simd_squared_distance_matches_scalar(
            pairs in prop_oneof![Just(0usize), Just(1), Just(17), Just(512), 0usize..600]
                .prop_flat_map(|n| proptest::collection::vec((-4.0f32..4.0, -4.0f32..4.0), n))
        ) {
            let (a, b): (Vec<f32>, Vec<f32>) = pairs.into_iter().unzip();
            let want = sq_scalar(&a, &b);
            for k in Kernel::all_supported() {
                let got = f64::from(k.squared_distance_f32(&a, &b));
                // f32 summation of n non-negative terms: relative error below n·ε.
                let tol = want * a.len() as f64 * f64::from(f32::EPSILON) + 1e-30;
                prop_assert!((got - want).abs() <= tol, "{}: {got} vs {want}", k.name());
            }
        }
    }
}
