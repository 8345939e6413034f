//! Matrix products through the `gemm` crate, summed in the same order on every machine.
//!
//! `gemm` sums each output element as one chain of fused multiply-adds per depth block and adds
//! the blocks in order. The block length is where machines could differ: for results with more
//! than 64 rows or columns, `gemm-common`'s `kernel_params` derives it from the L1 cache the CPU
//! reports (1024-term blocks, evened out over the depth, on a 48 KiB 12-way L1 like Zen 5's or
//! Sapphire Rapids'; 512 on a 32 KiB 8-way one), so a product over more than 512 terms — a
//! weight gradient sums `time × batch` rows — would round differently from one CPU to another.
//! [`gemm`] cuts such products into depth slices of [`DEPTH_SLICE`] terms and adds the slices
//! in order itself: within a slice `gemm` never blocks again, so the sums no longer depend on
//! the cache. Smaller results keep one call (`gemm` already blocks them by 512 from the start,
//! the same bits as slicing).

/// Terms summed by one `gemm` call: `gemm`'s smallest depth block on any CPU.
pub(crate) const DEPTH_SLICE: usize = 512;

/// Results up to this many rows and columns are blocked by [`DEPTH_SLICE`] inside `gemm` on
/// every machine (its small-size path skips the cache-derived parameters).
const SMALL_SIDE: usize = 64;

/// Operand layout: a pointer with its row and column strides in elements.
#[derive(Clone, Copy)]
pub(crate) struct Strided<P> {
    pub ptr: P,
    pub row_stride: isize,
    pub col_stride: isize,
}

/// `dst = alpha·dst + lhs·rhs` (`dst` not read when `alpha` is 0) for `m×k` by `k×n`
/// operands, on the calling thread, summed over `k` in slices of [`DEPTH_SLICE`] in order.
///
/// # Safety
/// Every element `i·row_stride + j·col_stride` of the three operands must be inside its
/// allocation for `i`, `j` within the shapes above, and `dst` must alias neither `lhs` nor
/// `rhs`.
pub(crate) unsafe fn gemm(
    (m, k, n): (usize, usize, usize),
    lhs: Strided<*const f32>,
    rhs: Strided<*const f32>,
    alpha: f32,
    dst: Strided<*mut f32>,
) {
    let slice = if m > SMALL_SIDE || n > SMALL_SIDE { DEPTH_SLICE } else { k.max(1) };
    let mut alpha = alpha;
    let mut depth = 0;
    loop {
        let terms = slice.min(k - depth);
        // SAFETY: the caller's contract covers every slice (depth + terms <= k).
        unsafe {
            gemm::gemm(
                m,
                n,
                terms,
                dst.ptr,
                dst.col_stride,
                dst.row_stride,
                alpha != 0.0,
                lhs.ptr.wrapping_offset(depth as isize * lhs.col_stride),
                lhs.col_stride,
                lhs.row_stride,
                rhs.ptr.wrapping_offset(depth as isize * rhs.row_stride),
                rhs.col_stride,
                rhs.row_stride,
                alpha,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        depth += terms;
        alpha = 1.0;
        if depth >= k {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each element as the order [`gemm`] promises: one chain of fused multiply-adds per slice
    /// of 512 terms (from 0), the slices added to `dst` in order.
    fn reference((m, k, n): (usize, usize, usize), a: &[f32], b: &[f32], alpha: f32, dst: &mut [f32]) {
        for i in 0..m {
            for j in 0..n {
                let mut total = if alpha == 0.0 { 0.0 } else { alpha * dst[i * n + j] };
                let mut first = alpha == 0.0;
                for start in (0..k).step_by(DEPTH_SLICE) {
                    let mut chain = 0.0f32;
                    for t in start..(start + DEPTH_SLICE).min(k) {
                        chain = a[i * k + t].mul_add(b[t * n + j], chain);
                    }
                    total = if first { chain } else { total + chain };
                    first = false;
                }
                dst[i * n + j] = total;
            }
        }
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        // A fixed pseudo-random sequence in [-1, 1): no generator needed for a test of order.
        (0..len as u32)
            .map(|i| {
                let x = (i.wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(40_503)).wrapping_mul(2_246_822_519);
                (x >> 8) as f32 / (1u32 << 23) as f32 - 1.0
            })
            .collect()
    }

    fn product((m, k, n): (usize, usize, usize), a: &[f32], b: &[f32], alpha: f32, dst: &mut [f32]) {
        fn row_major<P>(ptr: P, cols: usize) -> Strided<P> {
            Strided { ptr, row_stride: cols as isize, col_stride: 1 }
        }
        // SAFETY: the three buffers are row-major with exactly these shapes.
        unsafe {
            gemm(
                (m, k, n),
                row_major(a.as_ptr(), k),
                row_major(b.as_ptr(), n),
                alpha,
                row_major(dst.as_mut_ptr(), n),
            )
        }
    }

    /// The shapes whose blocking `gemm` would take from the cache (a side above 64, depth above
    /// 512: an LSTM's weight gradient over time × batch rows) and small ones, with and without
    /// reading `dst`: bit for bit the documented order, so the same on every CPU with FMA.
    #[test]
    fn sums_run_in_slices_of_512_terms_whatever_the_cache() {
        for (m, k, n) in [(10, 1568, 80), (80, 1600, 20), (3, 2048, 100), (20, 1600, 20), (7, 300, 90), (2, 513, 65)] {
            let a = values(m * k, 1);
            let b = values(k * n, 2);
            for alpha in [0.0, 1.0] {
                let start = values(m * n, 3);
                let (mut got, mut want) = (start.clone(), start);
                product((m, k, n), &a, &b, alpha, &mut got);
                reference((m, k, n), &a, &b, alpha, &mut want);
                let differ = got.iter().zip(&want).filter(|(g, w)| g.to_bits() != w.to_bits()).count();
                assert_eq!(differ, 0, "{m}×{k}×{n}, alpha {alpha}: {differ} elements differ");
            }
        }
    }

    #[test]
    fn an_empty_depth_scales_dst_only() {
        let mut dst = vec![2.0f32; 6];
        product((2, 0, 3), &[], &[], 1.0, &mut dst);
        assert_eq!(dst, vec![2.0; 6]);
        product((2, 0, 3), &[], &[], 0.0, &mut dst);
        assert_eq!(dst, vec![0.0; 6]);
    }
}
