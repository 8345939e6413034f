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
//!
//! On CPUs with AVX-512, large products run on [`avx512`]'s kernel instead, which sums in the
//! same order (tested bit for bit against `gemm`), so the instruction set changes speed only.

#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
pub(crate) use avx512::lanes as lane_mask;

/// Terms summed by one `gemm` call: `gemm`'s smallest depth block on any CPU.
pub(crate) const DEPTH_SLICE: usize = 512;

/// Results up to this many rows and columns are blocked by [`DEPTH_SLICE`] inside `gemm` on
/// every machine (its small-size path skips the cache-derived parameters).
const SMALL_SIDE: usize = 64;

/// Products from this many multiply-adds (a 16-row step product of 20 units and up), with both
/// sides above 1, take the AVX-512 kernel where the CPU has it, wherever `gemm` would run its
/// register-tile kernels too ([`takes_avx512`]): a speed choice only, both give the same bits.
/// At the lecture's sizes it saves `gemm`'s per-call set-up (deep-rnn −8% per epoch).
#[cfg(target_arch = "x86_64")]
const AVX512_FROM: usize = 1 << 12;

/// Rows from which [`gemm`] runs the AVX-512 kernel on an `rhs` it must pack (packing costs
/// about one product row per two columns); an `rhs` the kernel reads where it lies
/// ([`avx512::reads_rhs_in_place`]) takes it from any row count (10 × 1568 × 80, an LSTM
/// layer's deferred recurrent-kernel gradient, ran 40% faster than on `gemm`).
#[cfg(target_arch = "x86_64")]
const UNPACKED_AVX512_ROWS: usize = 32;

/// Right-hand operands from this many elements are packed ahead by [`PackedRhs`].
#[cfg(target_arch = "x86_64")]
const AVX512_PACK_FROM: usize = 1 << 8;

/// Whether a product goes to the AVX-512 kernel (on a CPU that has it): see [`AVX512_FROM`].
///
/// `gemm` sums with its register tiles (the kernel's order) except where it takes another path:
/// a depth of at most 2, a side of 1 (matrix-vector kernels), and at most 256 results with both
/// operands contiguous along the depth (`lhs` by rows, `rhs` by columns: its dot-product kernels
/// sum horizontally). Those stay on `gemm`; so do `alpha`s other than 0 and 1.
///
/// Results of at most 256 elements in other layouts take the kernel where it was measured
/// faster: 17 to 32 columns, one of its 32-column tiles where `gemm` runs two of 16 (a 20-unit
/// layer's weight gradients, `xᵀ·dy` in halves of 10 × 1600 × 20: 14 µs against 24 µs on an
/// AVX-512 Xeon; 16 columns or fewer: 14 against 9). Speed only.
#[cfg(target_arch = "x86_64")]
fn takes_avx512((m, k, n): (usize, usize, usize), alpha: f32, lhs_term: isize, rhs_term: isize) -> bool {
    let small = m * n <= 256;
    let dot_products = lhs_term == 1 && rhs_term == 1;
    let small_but_faster = !dot_products && (17..=32).contains(&n);
    (alpha == 0.0 || alpha == 1.0)
        && m > 1
        && n > 1
        && k > 2
        && m * n * k >= AVX512_FROM
        && (!small || small_but_faster)
}

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
    #[cfg(target_arch = "x86_64")]
    if takes_avx512((m, k, n), alpha, lhs.col_stride, rhs.row_stride)
        && (m >= UNPACKED_AVX512_ROWS || avx512::reads_rhs_in_place(m, rhs))
        && avx512::available()
    {
        // SAFETY: the caller's contract, and the CPU has AVX-512F.
        unsafe { avx512::gemm((m, k, n), lhs, rhs, alpha, dst) };
        return;
    }
    // SAFETY: the caller's contract.
    unsafe { gemm_crate((m, k, n), lhs, rhs, alpha, dst) };
}

/// [`gemm`] by the `gemm` crate, sliced as documented.
///
/// # Safety
/// As [`gemm`].
unsafe fn gemm_crate(
    (m, k, n): (usize, usize, usize),
    lhs: Strided<*const f32>,
    rhs: Strided<*const f32>,
    alpha: f32,
    dst: Strided<*mut f32>,
) {
    let slice = if m > SMALL_SIDE || n > SMALL_SIDE {
        DEPTH_SLICE
    } else {
        k.max(1)
    };
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

/// A right-hand operand prepared once for many products with it — a recurrent kernel, the same
/// matrix at every step of a sequence: on CPUs with AVX-512 it is packed once here instead of
/// inside every product. [`PackedRhs::gemm`] gives the same bits as [`gemm`].
pub(crate) struct PackedRhs {
    k: usize,
    n: usize,
    rhs: Strided<*const f32>,
    /// The AVX-512 kernel's panels; empty where that kernel does not run.
    panels: Vec<f32>,
}

impl PackedRhs {
    /// Prepares the `k × n` matrix `rhs`.
    ///
    /// # Safety
    /// `rhs` holds a `k × n` matrix in its strides, and stays alive and unchanged while this
    /// value is used.
    pub(crate) unsafe fn new((k, n): (usize, usize), rhs: Strided<*const f32>) -> Self {
        #[cfg(target_arch = "x86_64")]
        if n > 1 && k > 2 && k * n >= AVX512_PACK_FROM && avx512::available() {
            let mut panels = vec![0.0f32; avx512::packed_len(k, n)];
            // SAFETY: the caller's contract; `panels` has the packed length.
            unsafe { avx512::pack_rhs(rhs, k, n, &mut panels) };
            return Self { k, n, rhs, panels };
        }
        Self {
            k,
            n,
            rhs,
            panels: Vec::new(),
        }
    }

    /// [`gemm`] with this right-hand operand: `dst = alpha·dst + lhs·rhs` for an `m × k` `lhs`.
    ///
    /// # Safety
    /// As [`gemm`] for `lhs` and `dst`.
    pub(crate) unsafe fn gemm(&self, m: usize, lhs: Strided<*const f32>, alpha: f32, dst: Strided<*mut f32>) {
        let (k, n) = (self.k, self.n);
        #[cfg(target_arch = "x86_64")]
        if !self.panels.is_empty() && takes_avx512((m, k, n), alpha, lhs.col_stride, self.rhs.row_stride) {
            // SAFETY: the caller's contract; the panels are `rhs` packed, on a CPU with AVX-512F.
            unsafe { avx512::gemm_packed((m, k, n), lhs, &self.panels, alpha, dst) };
            return;
        }
        // SAFETY: the caller's contract and `new`'s.
        unsafe { gemm_crate((m, k, n), lhs, self.rhs, alpha, dst) };
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
            Strided {
                ptr,
                row_stride: cols as isize,
                col_stride: 1,
            }
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
        for (m, k, n) in [
            (10, 1568, 80),
            (80, 1600, 20),
            (3, 2048, 100),
            (20, 1600, 20),
            (7, 300, 90),
            (2, 513, 65),
        ] {
            let a = values(m * k, 1);
            let b = values(k * n, 2);
            for alpha in [0.0, 1.0] {
                let start = values(m * n, 3);
                let (mut got, mut want) = (start.clone(), start);
                product((m, k, n), &a, &b, alpha, &mut got);
                reference((m, k, n), &a, &b, alpha, &mut want);
                let differ = got
                    .iter()
                    .zip(&want)
                    .filter(|(g, w)| g.to_bits() != w.to_bits())
                    .count();
                assert_eq!(differ, 0, "{m}×{k}×{n}, alpha {alpha}: {differ} elements differ");
            }
        }
    }

    /// The AVX-512 kernel (on a packed-per-call and a prepared `rhs`) against the `gemm` crate,
    /// bit for bit, over shapes with partial tiles (rows not a multiple of 12, columns not of
    /// 32, depth not of 512) and every operand layout (row- and column-major `lhs`, `rhs` and a
    /// strided `dst`).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx512_kernel_gives_the_gemm_crates_bits() {
        if !avx512::available() {
            eprintln!("no AVX-512 on this CPU: nothing to compare");
            return;
        }
        let layout = |rows: usize, cols: usize, col_major: bool| {
            if col_major {
                (1isize, rows as isize)
            } else {
                (cols as isize, 1isize)
            }
        };
        let mut compared = 0;
        for (m, k, n) in [
            (10, 1568, 80),
            (32, 512, 2048),
            (37, 1100, 100),
            (13, 700, 33),
            (100, 45, 17),
            (256, 1600, 96),
            // The lecture's sizes: a 16-row chunk's step products with 20 units (LSTM gates: 80).
            (16, 20, 80),
            (16, 80, 20),
            (16, 20, 20),
            // A narrow deferred gradient; the most rows whose `rhs` is read in place, and one more.
            (12, 1568, 24),
            (96, 600, 40),
            (97, 600, 40),
            // At most 256 results: a 20-unit layer's weight gradient in halves, a Dense(10)'s.
            (10, 1600, 20),
            (20, 1600, 10),
            (3, 40, 5),
        ] {
            for (lhs_col_major, rhs_col_major) in [(false, false), (true, false), (false, true), (true, true)] {
                if m * n <= 256 && !lhs_col_major && rhs_col_major {
                    continue; // `gemm`'s dot-product kernels: never routed to the kernel
                }
                let a = values(m * k, 5);
                let b = values(k * n, 6);
                let (ars, acs) = layout(m, k, lhs_col_major);
                let (brs, bcs) = layout(k, n, rhs_col_major);
                for (alpha, dst_col_major) in [(0.0, false), (1.0, false), (1.0, true)] {
                    // dst rows (or columns) 3 floats apart from their end: a strided destination.
                    let (ld, dst_strides) = if dst_col_major {
                        (m + 3, (1isize, (m + 3) as isize))
                    } else {
                        (n + 3, ((n + 3) as isize, 1isize))
                    };
                    let start = values(ld * if dst_col_major { n } else { m }, 7);
                    let (mut fast, mut prepared, mut slow) = (start.clone(), start.clone(), start);
                    let lhs = Strided {
                        ptr: a.as_ptr(),
                        row_stride: ars,
                        col_stride: acs,
                    };
                    let rhs = Strided {
                        ptr: b.as_ptr(),
                        row_stride: brs,
                        col_stride: bcs,
                    };
                    let dst = |out: &mut [f32]| Strided {
                        ptr: out.as_mut_ptr(),
                        row_stride: dst_strides.0,
                        col_stride: dst_strides.1,
                    };
                    // SAFETY: every operand holds its shape in the layout given.
                    unsafe {
                        avx512::gemm((m, k, n), lhs, rhs, alpha, dst(&mut fast));
                        PackedRhs::new((k, n), rhs).gemm(m, lhs, alpha, dst(&mut prepared));
                        gemm_crate((m, k, n), lhs, rhs, alpha, dst(&mut slow));
                    }
                    for (path, got) in [("kernel", &fast), ("prepared", &prepared)] {
                        let differ = got
                            .iter()
                            .zip(&slow)
                            .filter(|(f, s)| f.to_bits() != s.to_bits())
                            .count();
                        assert_eq!(
                            differ, 0,
                            "{path}: {m}×{k}×{n} (lhs col-major {lhs_col_major}, rhs col-major {rhs_col_major}, \
                             dst col-major {dst_col_major}, alpha {alpha})"
                        );
                    }
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 144 + 3 * 9);
    }

    /// Small results take the kernel only outside `gemm`'s dot-product layout (its horizontal
    /// sums), and only with 17 to 32 columns.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn small_results_skip_the_kernel_only_where_gemm_sums_dot_products() {
        // `xᵀ·dy` in halves: `lhs` column-major (terms `K` apart), `rhs` row-major.
        assert!(takes_avx512((10, 1600, 20), 0.0, 20, 20));
        assert!(takes_avx512((10, 1600, 20), 1.0, 20, 1));
        // Both operands contiguous along the depth, at most 256 results: `gemm`'s own kernels.
        assert!(!takes_avx512((10, 1600, 20), 0.0, 1, 1));
        // 16 columns or fewer: `gemm` was faster.
        assert!(!takes_avx512((10, 1600, 16), 0.0, 20, 20));
        // 400 results: `gemm` runs its register tiles in any layout.
        assert!(takes_avx512((20, 1600, 20), 0.0, 1, 1));
        // Other `alpha`s, a side of 1, a depth of 2 and tiny products stay on `gemm`.
        assert!(!takes_avx512((10, 1600, 20), 0.5, 20, 20));
        assert!(!takes_avx512((1, 1600, 20), 0.0, 20, 20));
        assert!(!takes_avx512((10, 2, 20), 0.0, 20, 20));
        assert!(!takes_avx512((4, 10, 4), 0.0, 4, 4));
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
