//! The layer-normalized cell's per-row passes on AVX-512, 16 rows at a time.
//!
//! Each row's mean, variance and backward means are sums over its units, one unit after the
//! other. Scalar code runs them as dependent chains (a few rows side by side at best); here a
//! block of 16 rows is transposed in registers ([`transpose`]), so that one vector holds one
//! unit of all 16 rows and each lane runs its row's chain — the same additions in the same
//! order, hence the same bits as [`super::normalize_portable`] and
//! [`super::row_gradients_portable`]. The element-wise parts run along each row in vectors of
//! 16 units (the last one masked). No fused multiply-add: the portable code rounds each product.

use std::arch::x86_64::{
    __m512, _mm512_add_ps, _mm512_castpd_ps, _mm512_castps_pd, _mm512_div_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_mul_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_shuffle_f32x4, _mm512_sqrt_ps,
    _mm512_storeu_ps, _mm512_sub_ps, _mm512_unpackhi_pd, _mm512_unpackhi_ps, _mm512_unpacklo_pd, _mm512_unpacklo_ps,
};
use std::mem::MaybeUninit;

use super::{Normalized, RowGradients};
use crate::product::lane_mask;

/// Rows per block: one per vector lane.
const LANES: usize = 16;
/// Units whose transposed vectors the forward keeps between its two passes (4 KiB of stack);
/// a wider layer transposes its rows a second time for the variance.
const KEPT_UNITS: usize = 64;

/// Whether this CPU runs these passes.
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx512f")
}

/// [`super::normalize`] on AVX-512.
///
/// # Safety
/// The CPU has AVX-512F. (`z`, `normalized` and `scaled` have the same length, a multiple of
/// `units`, and `inv_std` one value per row; `γ` and `β` have `units` values.)
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn normalize(
    z: &[f32],
    units: usize,
    (gamma, beta, epsilon): (&[f32], &[f32], f32),
    out: Normalized<'_>,
) {
    if units == 0 {
        return;
    }
    let len = z.len();
    let (gamma, beta) = (&gamma[..units], &beta[..units]);
    let (normalized, scaled, inv_std) = (
        &mut out.normalized[..len],
        &mut out.scaled[..len],
        &mut out.inv_std[..len / units],
    );
    let count = _mm512_set1_ps(units as f32);
    for first in (0..len / units).step_by(LANES) {
        let at = first * units..len.min((first + LANES) * units);
        let block = &z[at.clone()];
        let rows = block.len() / units;

        // Each lane's sum over the units, from −0.0 (what `iter().sum()` starts from).
        let mut sums = _mm512_set1_ps(-0.0);
        let mut kept = [MaybeUninit::<__m512>::uninit(); KEPT_UNITS];
        for start in (0..units).step_by(LANES) {
            // SAFETY: `rows` rows of `units` floats.
            let columns = unsafe { columns(block, rows, units, start) };
            for (j, column) in columns[..LANES.min(units - start)].iter().enumerate() {
                sums = _mm512_add_ps(sums, *column);
                if units <= KEPT_UNITS {
                    kept[start + j].write(*column);
                }
            }
        }
        let mean = _mm512_div_ps(sums, count);
        let mut squares = _mm512_set1_ps(-0.0);
        if units <= KEPT_UNITS {
            for column in &kept[..units] {
                // SAFETY: the first pass wrote `kept[..units]`.
                let e = _mm512_sub_ps(unsafe { column.assume_init() }, mean);
                squares = _mm512_add_ps(squares, _mm512_mul_ps(e, e));
            }
        } else {
            for start in (0..units).step_by(LANES) {
                // SAFETY: as in the first pass.
                let columns = unsafe { columns(block, rows, units, start) };
                for column in &columns[..LANES.min(units - start)] {
                    let e = _mm512_sub_ps(*column, mean);
                    squares = _mm512_add_ps(squares, _mm512_mul_ps(e, e));
                }
            }
        }
        let std = _mm512_sqrt_ps(_mm512_add_ps(_mm512_div_ps(squares, count), _mm512_set1_ps(epsilon)));
        let inv = _mm512_div_ps(_mm512_set1_ps(1.0), std);
        // SAFETY: the lanes below `rows` are rows `first..first + rows` of `inv_std`.
        unsafe { _mm512_mask_storeu_ps(inv_std.as_mut_ptr().add(first), lane_mask(rows), inv) };
        let (means, stds) = (lanes(mean), lanes(std));

        for r in 0..rows {
            let (mean, std) = (_mm512_set1_ps(means[r]), _mm512_set1_ps(stds[r]));
            let row = at.start + r * units;
            for start in (0..units).step_by(LANES) {
                let (mask, i) = (lane_mask(units - start), row + start);
                // SAFETY: `mask` keeps the lanes below `units - start`: elements `i..` of
                // this row, units `start..` of `γ` and `β` (for every pointer below).
                unsafe {
                    let n = _mm512_div_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, z.as_ptr().add(i)), mean), std);
                    let g = _mm512_maskz_loadu_ps(mask, gamma.as_ptr().add(start));
                    let b = _mm512_maskz_loadu_ps(mask, beta.as_ptr().add(start));
                    _mm512_mask_storeu_ps(normalized.as_mut_ptr().add(i), mask, n);
                    _mm512_mask_storeu_ps(scaled.as_mut_ptr().add(i), mask, _mm512_add_ps(_mm512_mul_ps(n, g), b));
                }
            }
        }
    }
}

/// [`super::row_gradients`] on AVX-512.
///
/// # Safety
/// The CPU has AVX-512F. (`dn`, `normalized` and `dz` have the same length, a multiple of
/// `units`, and `inv_std` one value per row; `γ`, `dγ` and `dβ` have `units` values.)
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn row_gradients(
    RowGradients {
        dn,
        normalized: n,
        inv_std,
    }: RowGradients<'_>,
    units: usize,
    gamma: &[f32],
    (dgamma, dbeta): (&mut [f32], &mut [f32]),
    dz: &mut [f32],
) {
    if units == 0 {
        return;
    }
    let len = dn.len();
    let (n, inv_std, dz) = (&n[..len], &inv_std[..len / units], &mut dz[..len]);
    let (gamma, dgamma, dbeta) = (&gamma[..units], &mut dgamma[..units], &mut dbeta[..units]);

    // `dγ`, `dβ`: every row in order for each unit, 16 units to a vector.
    for start in (0..units).step_by(LANES) {
        let mask = lane_mask(units - start);
        // SAFETY: `mask` keeps units `start..units` of each row and of `dγ`, `dβ`.
        unsafe {
            let mut dg = _mm512_maskz_loadu_ps(mask, dgamma.as_ptr().add(start));
            let mut db = _mm512_maskz_loadu_ps(mask, dbeta.as_ptr().add(start));
            for row in (start..len).step_by(units) {
                let d = _mm512_maskz_loadu_ps(mask, dn.as_ptr().add(row));
                dg = _mm512_add_ps(dg, _mm512_mul_ps(d, _mm512_maskz_loadu_ps(mask, n.as_ptr().add(row))));
                db = _mm512_add_ps(db, d);
            }
            _mm512_mask_storeu_ps(dgamma.as_mut_ptr().add(start), mask, dg);
            _mm512_mask_storeu_ps(dbeta.as_mut_ptr().add(start), mask, db);
        }
    }

    let count = _mm512_set1_ps(units as f32);
    for first in (0..len / units).step_by(LANES) {
        let at = first * units..len.min((first + LANES) * units);
        let rows = at.len() / units;
        // Each lane's sums of `d̂ = γ ⊙ dn` and `d̂ ⊙ LN(z)` over the units, from +0.0.
        let (mut sum_d, mut sum_dn) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        for start in (0..units).step_by(LANES) {
            // SAFETY: `rows` rows of `units` floats each.
            let (d_columns, n_columns) = unsafe {
                (
                    columns(&dn[at.clone()], rows, units, start),
                    columns(&n[at.clone()], rows, units, start),
                )
            };
            for j in 0..LANES.min(units - start) {
                let d = _mm512_mul_ps(d_columns[j], _mm512_set1_ps(gamma[start + j]));
                sum_d = _mm512_add_ps(sum_d, d);
                sum_dn = _mm512_add_ps(sum_dn, _mm512_mul_ps(d, n_columns[j]));
            }
        }
        let (mean_d, mean_dn) = (lanes(_mm512_div_ps(sum_d, count)), lanes(_mm512_div_ps(sum_dn, count)));

        for r in 0..rows {
            let row = at.start + r * units;
            let (mean_d, mean_dn) = (_mm512_set1_ps(mean_d[r]), _mm512_set1_ps(mean_dn[r]));
            let inv = _mm512_set1_ps(inv_std[first + r]);
            for start in (0..units).step_by(LANES) {
                let (mask, i) = (lane_mask(units - start), row + start);
                // SAFETY: `mask` keeps the lanes below `units - start`: elements `i..` of
                // this row, units `start..` of `γ`.
                unsafe {
                    let g = _mm512_maskz_loadu_ps(mask, gamma.as_ptr().add(start));
                    let d = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, dn.as_ptr().add(i)), g);
                    let centered = _mm512_sub_ps(d, mean_d);
                    let along = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, n.as_ptr().add(i)), mean_dn);
                    let value = _mm512_mul_ps(inv, _mm512_sub_ps(centered, along));
                    _mm512_mask_storeu_ps(dz.as_mut_ptr().add(i), mask, value);
                }
            }
        }
    }
}

/// A vector's 16 lanes.
#[target_feature(enable = "avx512f")]
#[inline]
fn lanes(v: __m512) -> [f32; LANES] {
    let mut out = [0.0; LANES];
    // SAFETY: 16 floats to write; `storeu` needs no alignment.
    unsafe { _mm512_storeu_ps(out.as_mut_ptr(), v) };
    out
}

/// Units `start..start + 16` (those below `units`) of the first `rows` (≤ 16) rows of `block`,
/// transposed: vector `j` holds unit `start + j` of row `r` in lane `r` (lanes of absent rows
/// and vectors of absent units are zero).
///
/// # Safety
/// `block` holds `rows` rows of `units` floats and `start < units`.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn columns(block: &[f32], rows: usize, units: usize, start: usize) -> [__m512; LANES] {
    debug_assert!(rows <= LANES && start < units && block.len() >= rows * units);
    let mask = lane_mask(units - start);
    let mut loaded = [_mm512_setzero_ps(); LANES];
    for (r, vector) in loaded[..rows].iter_mut().enumerate() {
        // SAFETY: `mask` keeps units `start..units` of row `r`.
        *vector = unsafe { _mm512_maskz_loadu_ps(mask, block.as_ptr().add(r * units + start)) };
    }
    transpose(loaded)
}

/// A 16 × 16 block transposed in registers: element `j` of input vector `r` becomes element `r`
/// of output vector `j`. Four rounds of 16 shuffles: 32-bit pairs, then 64-bit pairs within each
/// 128-bit lane, then the 4 × 4 grid of 128-bit lanes in two rounds.
#[target_feature(enable = "avx512f")]
#[inline]
fn transpose(rows: [__m512; LANES]) -> [__m512; LANES] {
    // Loops over arrays, not `array::from_fn`: a closure would not inherit AVX-512 and would
    // pass its vectors through memory.
    let mut pairs = [_mm512_setzero_ps(); LANES];
    for i in (0..LANES).step_by(2) {
        // Per 128-bit lane of rows a, b: [a0 b0 a1 b1] and [a2 b2 a3 b3].
        pairs[i] = _mm512_unpacklo_ps(rows[i], rows[i + 1]);
        pairs[i + 1] = _mm512_unpackhi_ps(rows[i], rows[i + 1]);
    }
    let mut quads = [_mm512_setzero_ps(); LANES];
    for i in (0..LANES).step_by(4) {
        // Per 128-bit lane L of rows i..i + 4: vector i + c holds unit 4L + c of the four rows.
        let (ab_low, ab_high) = (_mm512_castps_pd(pairs[i]), _mm512_castps_pd(pairs[i + 1]));
        let (cd_low, cd_high) = (_mm512_castps_pd(pairs[i + 2]), _mm512_castps_pd(pairs[i + 3]));
        quads[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(ab_low, cd_low));
        quads[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(ab_low, cd_low));
        quads[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(ab_high, cd_high));
        quads[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(ab_high, cd_high));
    }
    let mut out = [_mm512_setzero_ps(); LANES];
    for c in 0..4 {
        // Output 4L + c gathers lane L of quads c, 4 + c, 8 + c, 12 + c.
        let low_01 = _mm512_shuffle_f32x4::<0x44>(quads[c], quads[4 + c]);
        let high_01 = _mm512_shuffle_f32x4::<0xEE>(quads[c], quads[4 + c]);
        let low_23 = _mm512_shuffle_f32x4::<0x44>(quads[8 + c], quads[12 + c]);
        let high_23 = _mm512_shuffle_f32x4::<0xEE>(quads[8 + c], quads[12 + c]);
        out[c] = _mm512_shuffle_f32x4::<0x88>(low_01, low_23);
        out[4 + c] = _mm512_shuffle_f32x4::<0xDD>(low_01, low_23);
        out[8 + c] = _mm512_shuffle_f32x4::<0x88>(high_01, high_23);
        out[12 + c] = _mm512_shuffle_f32x4::<0xDD>(high_01, high_23);
    }
    out
}
