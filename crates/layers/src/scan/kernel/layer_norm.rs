//! The lecture's layer-normalized SimpleRNN cell: `h' = act(γ ⊙ LN(xp + h·U) + β)`, where
//! `LN(z) = (z − mean(z)) / √(var(z) + ε)` over the units (biased variance, Keras's formula).
//!
//! The call's `recurrent_bias` input carries the normalization's parameters: `[γ (U), β (U), ε]`;
//! its gradient is `[dγ, dβ, 0]`, summed over steps and rows like the recurrent kernel's.

#[cfg(target_arch = "x86_64")]
mod avx512;

use super::{Backward, Forward, Step, recurrent_products};

/// Tape slot of the new `h` (for the activation's derivative).
pub(super) const NEW_H: usize = 1;
/// Tape slot of the normalized pre-activation `LN(z)` (before γ and β).
pub(super) const NORMALIZED: usize = 2;
/// Tape slot of each row's `1 / √(var + ε)`: a batch chunk's rows keep theirs in the first
/// elements of the chunk's part of the block, one per row (the rest of it is zero). The backward
/// reads one value per row: in one cache line, not one line per row.
pub(super) const INV_STD: usize = 3;
/// Tape blocks per step.
pub(super) const TAPE_SLOTS: usize = 4;

/// `(γ, β, ε)` out of the `recurrent_bias` input.
fn parameters<'a>(step: &Step<'a>) -> (&'a [f32], &'a [f32], f32) {
    let u = step.units;
    let p = step.recurrent_bias;
    (&p[..u], &p[u..2 * u], p[2 * u])
}

/// One step: `z = xp + h·U` into `pre`, normalized per row — `LN(z)` and each row's `1/σ` into
/// `tape`'s two blocks (the step's rows of [`NORMALIZED`] and [`INV_STD`]) when the backward
/// will read them, else into `extra` and `norm` — then `h_new = act(γ ⊙ LN(z) + β)`.
pub(super) fn forward_step(step: &Step<'_>, f: &mut Forward, tape: Option<(&mut [f32], &mut [f32])>) {
    f.pre.copy_from_slice(step.xp);
    recurrent_products(step, &f.h, &mut f.hin, &mut f.pre, 1.0);
    let len = step.batch * step.units;
    let (normalized, inv_std) = match tape {
        Some((normalized, inv_std)) => (normalized, inv_std),
        None => (&mut f.extra[..], &mut f.norm[..]),
    };
    let out = Normalized {
        normalized: &mut normalized[..len],
        scaled: &mut f.h_new[..len],
        inv_std: &mut inv_std[..step.batch],
    };
    normalize(&f.pre[..len], step.units, parameters(step), out);
    step.spec.activation.apply(&mut f.h_new);
}

/// Where [`normalize`] writes: `[B, U]` like its input, but one value per row for `1/σ`.
struct Normalized<'a> {
    /// `LN(z)`.
    normalized: &'a mut [f32],
    /// `γ ⊙ LN(z) + β`.
    scaled: &'a mut [f32],
    /// Each row's `1 / √(var + ε)` (`[B]`).
    inv_std: &'a mut [f32],
}

/// Normalizes every row of `z [B, U]`: on AVX-512 16 rows at a time ([`avx512::normalize`]),
/// else [`normalize_portable`]; the same bits either way.
fn normalize(z: &[f32], units: usize, parameters: (&[f32], &[f32], f32), out: Normalized<'_>) {
    #[cfg(target_arch = "x86_64")]
    if avx512::available() {
        // SAFETY: AVX-512F is present (checked just above).
        return unsafe { avx512::normalize(z, units, parameters, out) };
    }
    normalize_portable(z, units, parameters, out);
}

/// [`normalize`] with the rows' sums side by side in groups of 16, 8, 4 or 1 rows.
fn normalize_portable(z: &[f32], units: usize, parameters: (&[f32], &[f32], f32), mut out: Normalized<'_>) {
    if units == 0 {
        return;
    }
    let rows = z.len() / units;
    let mut first = 0;
    while first < rows {
        first += match rows - first {
            16.. => normalize_rows::<16>(z, units, first, parameters, &mut out),
            8.. => normalize_rows::<8>(z, units, first, parameters, &mut out),
            4.. => normalize_rows::<4>(z, units, first, parameters, &mut out),
            _ => normalize_rows::<1>(z, units, first, parameters, &mut out),
        };
    }
}

/// Each row's mean and `√(var + ε)` for `R` rows of `z [R, U]`. Each row is summed unit after
/// unit from −0.0 (what `iter().sum()` does); the `R` rows' sums run side by side, so that their
/// chains of dependent additions (and square roots) overlap instead of waiting on each other.
#[inline(always)]
fn row_moments<const R: usize>(z: &[f32], u: usize, epsilon: f32) -> ([f32; R], [f32; R]) {
    let z = &z[..R * u];
    let mut sums = [-0.0f32; R];
    for j in 0..u {
        for (r, sum) in sums.iter_mut().enumerate() {
            *sum += z[r * u + j];
        }
    }
    let mean = sums.map(|s| s / u as f32);
    let mut squares = [-0.0f32; R];
    for j in 0..u {
        for (r, square) in squares.iter_mut().enumerate() {
            let e = z[r * u + j] - mean[r];
            *square += e * e;
        }
    }
    (mean, squares.map(|s| (s / u as f32 + epsilon).sqrt()))
}

/// Normalizes rows `first..first + R` of `z` into `out`; returns `R`.
#[inline(always)]
fn normalize_rows<const R: usize>(
    z: &[f32],
    u: usize,
    first: usize,
    (gamma, beta, epsilon): (&[f32], &[f32], f32),
    out: &mut Normalized<'_>,
) -> usize {
    let at = first * u..(first + R) * u;
    let (mean, std) = row_moments::<R>(&z[at.clone()], u, epsilon);
    let rows = z[at.clone()]
        .chunks_exact(u)
        .zip(out.normalized[at.clone()].chunks_exact_mut(u))
        .zip(out.scaled[at].chunks_exact_mut(u))
        .zip(&mut out.inv_std[first..first + R]);
    for (r, (((z, normalized), scaled), inv)) in rows.enumerate() {
        let (mean, std) = (mean[r], std[r]);
        *inv = 1.0 / std;
        for j in 0..u {
            normalized[j] = (z[j] - mean) / std;
            scaled[j] = normalized[j] * gamma[j] + beta[j];
        }
    }
    R
}

/// What the backward needs besides the carried `h` and what [`forward_step`] wrote in the tape
/// itself: the new `h` (a block of its own where a mask makes it differ from the output).
pub(super) fn save_tape(f: &Forward, put: &mut dyn FnMut(usize, usize, &[f32])) {
    put(NEW_H, 1, &f.h_new);
}

/// The pre-normalization gradient into `dz` (`dz = (1/σ)(d̂ − mean(d̂) − n̂ ⊙ mean(d̂ ⊙ n̂))` with
/// `d̂ = γ ⊙ dn`), and `dγ`, `dβ` added to `norm_grad` (`[dγ, dβ, dε]`, `dε` left at 0).
pub(super) fn backward_step<'t>(
    step: &Step<'_>,
    b: &mut Backward,
    tape: &dyn Fn(usize) -> &'t [f32],
    dz: &mut [f32],
    norm_grad: &mut [f32],
) {
    let u = step.units;
    let (gamma, _, _) = parameters(step);
    // dn: the gradient of γ ⊙ LN(z) + β.
    step.spec.activation.backprop(&b.dh_new, tape(NEW_H), &mut b.tmp);
    let (normalized, inv_std) = (tape(NORMALIZED), tape(INV_STD));
    let (dgamma, rest) = norm_grad.split_at_mut(u);
    let dbeta = &mut rest[..u];
    let len = step.batch * u;
    let rows = RowGradients {
        dn: &b.tmp[..len],
        normalized: &normalized[..len],
        inv_std: &inv_std[..step.batch],
    };
    row_gradients(rows, u, gamma, (dgamma, dbeta), &mut dz[..len]);
}

/// What [`row_gradients`] reads: `[B, U]` each, but one value per row for `1/σ`.
struct RowGradients<'a> {
    /// The gradient of `γ ⊙ LN(z) + β`.
    dn: &'a [f32],
    /// `LN(z)`, from the tape.
    normalized: &'a [f32],
    /// Each row's `1/σ` (`[B]`), from the tape.
    inv_std: &'a [f32],
}

/// Adds `dγ`, `dβ` of every row and writes `dz`: on AVX-512 16 rows at a time
/// ([`avx512::row_gradients`]), else [`row_gradients_portable`]; the same bits either way.
fn row_gradients(rows: RowGradients<'_>, units: usize, gamma: &[f32], sums: (&mut [f32], &mut [f32]), dz: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if avx512::available() {
        // SAFETY: AVX-512F is present (checked just above).
        return unsafe { avx512::row_gradients(rows, units, gamma, sums, dz) };
    }
    row_gradients_portable(rows, units, gamma, sums, dz);
}

/// [`row_gradients`] with the rows' sums side by side in groups of [`ROWS_AT_ONCE`].
fn row_gradients_portable(
    RowGradients {
        dn,
        normalized: n,
        inv_std,
    }: RowGradients<'_>,
    u: usize,
    gamma: &[f32],
    (dgamma, dbeta): (&mut [f32], &mut [f32]),
    dz: &mut [f32],
) {
    if u == 0 {
        return;
    }
    // `dγ`, `dβ`: rows in order for each unit, the units side by side (a vector loop).
    for (dn, n) in dn.chunks_exact(u).zip(n.chunks_exact(u)) {
        for j in 0..u {
            dgamma[j] += dn[j] * n[j];
            dbeta[j] += dn[j];
        }
    }
    // Each row's two means are sequential sums over the units; the rows' sums run side by side
    // so that their chains of dependent additions overlap (each row's order, and bits, unchanged).
    let rows = dn.len() / u;
    let mut first = 0;
    while first < rows {
        first += if rows - first >= ROWS_AT_ONCE {
            rows_dz::<ROWS_AT_ONCE>(first, u, gamma, (dn, n, inv_std), dz)
        } else {
            rows_dz::<1>(first, u, gamma, (dn, n, inv_std), dz)
        };
    }
}

/// Rows whose backward sums run side by side (see [`row_gradients_portable`]).
const ROWS_AT_ONCE: usize = 4;

/// `dz` of rows `first..first + R`, from `dn`, `LN(z)` and `1/σ` (the third argument).
#[inline(always)]
fn rows_dz<const R: usize>(
    first: usize,
    u: usize,
    gamma: &[f32],
    (dn, n, inv_std): (&[f32], &[f32], &[f32]),
    dz: &mut [f32],
) -> usize {
    let at = first * u..(first + R) * u;
    let (dn, n) = (&dn[at.clone()], &n[at.clone()]);
    let (mut mean_d, mut mean_dn) = ([0.0f32; R], [0.0f32; R]);
    for j in 0..u {
        for r in 0..R {
            let d = dn[r * u + j] * gamma[j];
            mean_d[r] += d;
            mean_dn[r] += d * n[r * u + j];
        }
    }
    for (r, dz) in dz[at].chunks_exact_mut(u).enumerate() {
        let (mean_d, mean_dn) = (mean_d[r] / u as f32, mean_dn[r] / u as f32);
        let inv = inv_std[first + r];
        for (j, out) in dz.iter_mut().enumerate() {
            *out = inv * (dn[r * u + j] * gamma[j] - mean_d - n[r * u + j] * mean_dn);
        }
    }
    R
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{Normalized, RowGradients, normalize_portable, row_gradients_portable, row_moments};

    /// The moments as one row at a time computes them (`iter().sum()`).
    fn one_row(z: &[f32], epsilon: f32) -> (f32, f32) {
        let u = z.len() as f32;
        let mean = z.iter().sum::<f32>() / u;
        let var = z.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / u;
        (mean, (var + epsilon).sqrt())
    }

    #[test]
    fn rows_side_by_side_keep_each_rows_sums() {
        let u = 19;
        let mut z: Vec<f32> = (0..16 * u)
            .map(|i| ((i * 7919 % 1009) as f32 / 97.0 - 5.0) * if i % 5 == 0 { 1e3 } else { 1.0 })
            .collect();
        // A row of negative zeros (its sum is −0.0, not +0.0) and one of a single value.
        z[3 * u..4 * u].fill(-0.0);
        z[5 * u..6 * u].fill(0.1);
        let (mean, std) = row_moments::<16>(&z, u, 1e-3);
        for (r, row) in z.chunks_exact(u).enumerate() {
            let (m, s) = one_row(row, 1e-3);
            assert_eq!(
                (mean[r].to_bits(), std[r].to_bits()),
                (m.to_bits(), s.to_bits()),
                "row {r}"
            );
        }
        assert!(mean[3].is_sign_negative(), "a row of −0.0 has mean −0.0");
    }

    /// Values with a spread of magnitudes, rows of −0.0 and rows of one repeated value.
    fn values(len: usize, units: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut state = seed | 1;
        let mut v: Vec<f32> = (0..len)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let unit = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                unit * scale * if i % 7 == 0 { 1e3 } else { 1.0 }
            })
            .collect();
        if len >= 3 * units {
            v[units..2 * units].fill(-0.0);
            v[2 * units..3 * units].fill(0.1);
        }
        v
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// `(LN(z), γ ⊙ LN(z) + β, 1/σ)` of `z [rows, units]`, by `normalize` (`avx512` true: the
    /// AVX-512 passes).
    #[cfg(target_arch = "x86_64")]
    fn forward(z: &[f32], units: usize, parameters: (&[f32], &[f32], f32), avx512: bool) -> [Vec<u32>; 3] {
        let [mut normalized, mut scaled] = [0; 2].map(|_| vec![f32::NAN; z.len()]);
        let mut inv_std = vec![f32::NAN; z.len() / units];
        let out = Normalized {
            normalized: &mut normalized,
            scaled: &mut scaled,
            inv_std: &mut inv_std,
        };
        if avx512 {
            // SAFETY: the caller checked for AVX-512F.
            unsafe { super::avx512::normalize(z, units, parameters, out) };
        } else {
            normalize_portable(z, units, parameters, out);
        }
        [bits(&normalized), bits(&scaled), bits(&inv_std)]
    }

    /// `(dγ, dβ, dz)` after `row_gradients` on top of starting sums.
    #[cfg(target_arch = "x86_64")]
    fn backward(rows: RowGradients<'_>, units: usize, gamma: &[f32], avx512: bool) -> [Vec<u32>; 3] {
        let (mut dgamma, mut dbeta) = (values(units, units, 5, 1.0), values(units, units, 6, 1.0));
        let mut dz = vec![f32::NAN; rows.dn.len()];
        if avx512 {
            // SAFETY: the caller checked for AVX-512F.
            unsafe { super::avx512::row_gradients(rows, units, gamma, (&mut dgamma, &mut dbeta), &mut dz) };
        } else {
            row_gradients_portable(rows, units, gamma, (&mut dgamma, &mut dbeta), &mut dz);
        }
        [bits(&dgamma), bits(&dbeta), bits(&dz)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// The AVX-512 passes (16 rows per block, units in vectors of 16, a wide layer's second
        /// transposition) give the portable passes' bits: forward outputs, `dγ`, `dβ`, `dz`.
        #[cfg(target_arch = "x86_64")]
        #[test]
        fn avx512_passes_give_the_portable_bits(
            rows in 1usize..40,
            units in prop_oneof![1usize..=40, 60usize..=70],
            seed in any::<u64>(),
        ) {
            if !super::avx512::available() {
                eprintln!("no AVX-512F on this CPU: the portable passes are the only ones");
                return Ok(());
            }
            let len = rows * units;
            let z = values(len, units, seed, 6.0);
            let gamma = values(units, units, seed ^ 1, 2.0);
            let beta = values(units, units, seed ^ 2, 1.0);
            let parameters = (&gamma[..], &beta[..], 1e-3);
            let fast = forward(&z, units, parameters, true);
            prop_assert_eq!(&fast, &forward(&z, units, parameters, false));

            let dn = values(len, units, seed ^ 3, 4.0);
            let normalized: Vec<f32> = fast[0].iter().map(|b| f32::from_bits(*b)).collect();
            let inv_std: Vec<f32> = fast[2].iter().map(|b| f32::from_bits(*b)).collect();
            let read = || RowGradients { dn: &dn, normalized: &normalized, inv_std: &inv_std };
            prop_assert_eq!(backward(read(), units, &gamma, true), backward(read(), units, &gamma, false));
        }
    }
}
