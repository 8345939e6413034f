//! The matrix products of the fused kernels, by the `gemm` crate (the one Burn's flex backend
//! uses) in the machine-independent order of [`crate::product`], on the calling thread: the
//! callers split work over cores themselves.

use std::marker::PhantomData;

use crate::product::{PackedRhs, Strided};

/// Matrix products below this many multiply-adds are not split over two cores: a split costs a
/// few microseconds.
pub(in crate::scan) const SPLIT_PRODUCT: usize = 1 << 16;

/// Whether two cores split a weight gradient of `rows × cols` (a sum over every time step and
/// batch row) by columns rather than by rows. With rows split, each core's product packs the
/// whole right-hand operand (`dz` or `dy`, all steps); with columns split, each packs half of
/// it. Below 193 rows a core's half (at most 96 rows) reads that operand where it lies on
/// AVX-512, so the row split costs nothing there. At 512 units the packing was ~7% of a
/// training step. Speed only: each element is the same sum whichever core computes it.
pub(in crate::scan) fn splits_columns(rows: usize, cols: usize) -> bool {
    rows > 192 && cols >= 64
}

/// A `rows × cols` result (row-major) computed in two column halves on two cores:
/// `block(buffer, first_col, cols)` fills a zeroed `rows × cols` buffer of its own per half.
pub(in crate::scan) fn by_column_halves(
    (rows, cols): (usize, usize),
    block: impl Fn(&mut [f32], usize, usize) + Sync,
) -> Vec<f32> {
    let half = cols / 2;
    let (mut first, mut second) = (vec![0.0f32; rows * half], vec![0.0f32; rows * (cols - half)]);
    crate::scan::pair::join(|| block(&mut first, 0, half), || block(&mut second, half, cols - half));
    if half == 0 {
        return second;
    }
    let mut c = Vec::with_capacity(rows * cols);
    for (a, b) in first.chunks_exact(half).zip(second.chunks_exact(cols - half)) {
        c.extend_from_slice(a);
        c.extend_from_slice(b);
    }
    c
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// A product by column halves is the same bits as in one call: each element is one sum.
    #[test]
    fn column_halves_give_the_bits_of_one_product() {
        let (m, k, n) = (200, 700, 75);
        let value = |i: usize| ((i * 37 % 101) as f32 - 50.0) / 17.0;
        let a: Vec<f32> = (0..m * k).map(value).collect();
        let b: Vec<f32> = (0..k * n).map(|i| value(i + 3)).collect();
        let mut whole = vec![0.0f32; m * n];
        gemm((m, k, n), &a, (k, 1), &b, (n, 1), 0.0, &mut whole, (n, 1));
        let halves = by_column_halves((m, n), |c, col0, cols| {
            gemm((m, k, cols), &a, (k, 1), &b[col0..], (n, 1), 0.0, c, (cols, 1));
        });
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&halves), bits(&whole));
        assert!(splits_columns(m, n) && !splits_columns(192, n) && !splits_columns(m, 63));
    }
}
