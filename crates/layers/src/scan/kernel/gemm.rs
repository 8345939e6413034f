//! The matrix products of the fused kernels, by the `gemm` crate (the one Burn's flex backend
//! uses), on the calling thread: the callers split work over cores themselves.

/// Matrix products below this many multiply-adds are not split over two cores: a split costs a
/// few microseconds.
pub(in crate::scan) const SPLIT_PRODUCT: usize = 1 << 16;

/// `c = beta·c + a·b` for an `m×k` by `k×n` product with element strides (rows, columns).
#[allow(clippy::too_many_arguments)]
pub(in crate::scan) fn gemm(
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    (rsa, csa): (usize, usize),
    b: &[f32],
    (rsb, csb): (usize, usize),
    beta: f32,
    c: &mut [f32],
    (rsc, csc): (usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + cols.saturating_sub(1) * cs;
    assert!(k == 0 || (last(m, k, rsa, csa) < a.len() && last(k, n, rsb, csb) < b.len()));
    assert!(last(m, n, rsc, csc) < c.len());
    // SAFETY: the asserts above keep every index the product touches inside the slices, and
    // `c` does not alias `a` or `b` (it is borrowed mutably).
    unsafe {
        // gemm's convention: dst = alpha·dst + beta·lhs·rhs (dst not read when read_dst = false).
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            csc as isize,
            rsc as isize,
            beta != 0.0,
            a.as_ptr(),
            csa as isize,
            rsa as isize,
            b.as_ptr(),
            csb as isize,
            rsb as isize,
            beta,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}
