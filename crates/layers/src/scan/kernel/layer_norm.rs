//! The lecture's layer-normalized SimpleRNN cell: `h' = act(γ ⊙ LN(xp + h·U) + β)`, where
//! `LN(z) = (z − mean(z)) / √(var(z) + ε)` over the units (biased variance, Keras's formula).
//!
//! The call's `recurrent_bias` input carries the normalization's parameters: `[γ (U), β (U), ε]`;
//! its gradient is `[dγ, dβ, 0]`, summed over steps and rows like the recurrent kernel's.

use super::{Backward, Forward, Step, recurrent_products};

/// Tape slot of the new `h` (for the activation's derivative).
pub(super) const NEW_H: usize = 1;
/// Tape slot of the normalized pre-activation `LN(z)` (before γ and β).
pub(super) const NORMALIZED: usize = 2;
/// Tape slot of each row's `1 / √(var + ε)`, repeated over the units.
pub(super) const INV_STD: usize = 3;
/// Tape blocks per step.
pub(super) const TAPE_SLOTS: usize = 4;

/// `(γ, β, ε)` out of the `recurrent_bias` input.
fn parameters<'a>(step: &Step<'a>) -> (&'a [f32], &'a [f32], f32) {
    let u = step.units;
    let p = step.recurrent_bias;
    (&p[..u], &p[u..2 * u], p[2 * u])
}

/// One step: `z = xp + h·U` into `pre`, normalized per row into `extra` (with `1/σ` into
/// `norm`), then `h_new = act(γ ⊙ LN(z) + β)`.
pub(super) fn forward_step(step: &Step<'_>, f: &mut Forward) {
    f.pre.copy_from_slice(step.xp);
    recurrent_products(step, &f.h, &mut f.hin, &mut f.pre, 1.0);
    let mut first = 0;
    while first < step.batch {
        first += match step.batch - first {
            16.. => normalize_rows::<16>(step, first, f),
            8.. => normalize_rows::<8>(step, first, f),
            4.. => normalize_rows::<4>(step, first, f),
            _ => normalize_rows::<1>(step, first, f),
        };
    }
    step.spec.activation.apply(&mut f.h_new);
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

/// Normalizes rows `first..first + R` of `pre` into `extra`, `h_new` (before the activation)
/// and `norm`; returns `R`.
#[inline(always)]
fn normalize_rows<const R: usize>(step: &Step<'_>, first: usize, f: &mut Forward) -> usize {
    let u = step.units;
    let (gamma, beta, epsilon) = parameters(step);
    let at = first * u..(first + R) * u;
    let (mean, std) = row_moments::<R>(&f.pre[at.clone()], u, epsilon);
    let rows = f.pre[at.clone()]
        .chunks_exact(u)
        .zip(f.extra[at.clone()].chunks_exact_mut(u))
        .zip(f.h_new[at.clone()].chunks_exact_mut(u))
        .zip(f.norm[at].chunks_exact_mut(u));
    for (r, (((z, normalized), h_new), norm)) in rows.enumerate() {
        let (mean, std) = (mean[r], std[r]);
        let inv = 1.0 / std;
        for j in 0..u {
            normalized[j] = (z[j] - mean) / std;
            h_new[j] = normalized[j] * gamma[j] + beta[j];
            norm[j] = inv;
        }
    }
    R
}

/// What the backward needs besides the carried `h`.
pub(super) fn save_tape(f: &Forward, put: &mut dyn FnMut(usize, usize, &[f32])) {
    put(NEW_H, 1, &f.h_new);
    put(NORMALIZED, 1, &f.extra);
    put(INV_STD, 1, &f.norm);
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
    if u == 0 {
        return;
    }
    let (dn, n) = (&b.tmp[..step.batch * u], &normalized[..step.batch * u]);
    // `dγ`, `dβ`: rows in order for each unit, the units side by side (a vector loop).
    for (dn, n) in dn.chunks_exact(u).zip(n.chunks_exact(u)) {
        for j in 0..u {
            dgamma[j] += dn[j] * n[j];
            dbeta[j] += dn[j];
        }
    }
    // Each row's two means are sequential sums over the units; the rows' sums run side by side
    // so that their chains of dependent additions overlap (each row's order, and bits, unchanged).
    let mut first = 0;
    while first < step.batch {
        first += if step.batch - first >= ROWS_AT_ONCE {
            row_gradients::<ROWS_AT_ONCE>(first, u, gamma, (dn, n, inv_std), dz)
        } else {
            row_gradients::<1>(first, u, gamma, (dn, n, inv_std), dz)
        };
    }
}

/// Rows whose backward sums run side by side (see [`backward_step`]).
const ROWS_AT_ONCE: usize = 4;

/// `dz` of rows `first..first + R`, from `dn`, `LN(z)` and `1/σ` (the third argument).
#[inline(always)]
fn row_gradients<const R: usize>(
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
        let inv = inv_std[(first + r) * u];
        for (j, out) in dz.iter_mut().enumerate() {
            *out = inv * (dn[r * u + j] * gamma[j] - mean_d - n[r * u + j] * mean_dn);
        }
    }
    R
}

#[cfg(test)]
mod tests {
    use super::row_moments;

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
}
