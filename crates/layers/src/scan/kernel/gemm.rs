//! The matrix products of the fused kernels, by the `gemm` crate (the one Burn's flex backend
//! uses) in the machine-independent order of [`crate::product`], on the calling thread: the
//! callers split work over cores themselves.

use std::marker::PhantomData;

use crate::product::{PackedRhs, Strided};

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
        crate::product::gemm(
            (m, k, n),
            Strided {
                ptr: a.as_ptr(),
                row_stride: rsa as isize,
                col_stride: csa as isize,
            },
            Strided {
                ptr: b.as_ptr(),
                row_stride: rsb as isize,
                col_stride: csb as isize,
            },
            beta,
            Strided {
                ptr: c.as_mut_ptr(),
                row_stride: rsc as isize,
                col_stride: csc as isize,
            },
        );
    }
}

/// A `k × n` view of a weight matrix prepared for the products of every step of a sequence
/// ([`PackedRhs`]): on CPUs with AVX-512 it is packed once instead of at every step.
pub(in crate::scan) struct PackedWeight<'a> {
    inner: PackedRhs,
    k: usize,
    n: usize,
    _weight: PhantomData<&'a [f32]>,
}

/// Prepares the `k × n` matrix that `b` holds with element strides (rows, columns).
pub(in crate::scan) fn pack<'a>((k, n): (usize, usize), b: &'a [f32], (rsb, csb): (usize, usize)) -> PackedWeight<'a> {
    assert!(k == 0 || n == 0 || (k - 1) * rsb + (n - 1) * csb < b.len());
    let rhs = Strided {
        ptr: b.as_ptr(),
        row_stride: rsb as isize,
        col_stride: csb as isize,
    };
    // SAFETY: the assert keeps the matrix inside `b`, which the returned value borrows.
    let inner = unsafe { PackedRhs::new((k, n), rhs) };
    PackedWeight {
        inner,
        k,
        n,
        _weight: PhantomData,
    }
}

/// [`gemm`] with a prepared right-hand matrix: `c = beta·c + a·b` for an `m×k` `a`; the same bits.
pub(in crate::scan) fn gemm_packed(
    m: usize,
    a: &[f32],
    (rsa, csa): (usize, usize),
    b: &PackedWeight<'_>,
    beta: f32,
    c: &mut [f32],
    (rsc, csc): (usize, usize),
) {
    let (k, n) = (b.k, b.n);
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + cols.saturating_sub(1) * cs;
    assert!(k == 0 || last(m, k, rsa, csa) < a.len());
    assert!(last(m, n, rsc, csc) < c.len());
    // SAFETY: the asserts keep `a` and `c` in bounds, `b` was checked by `pack` and is borrowed
    // for as long as `b` lives; `c` is borrowed mutably, so it aliases neither.
    unsafe {
        b.inner.gemm(
            m,
            Strided {
                ptr: a.as_ptr(),
                row_stride: rsa as isize,
                col_stride: csa as isize,
            },
            beta,
            Strided {
                ptr: c.as_mut_ptr(),
                row_stride: rsc as isize,
                col_stride: csc as isize,
            },
        );
    }
}
