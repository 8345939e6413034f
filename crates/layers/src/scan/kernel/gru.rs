//! Keras GRU, gates z, r and the candidate: `h' = z·h + (1 − z)·ĥ` with
//! `ĥ = act(xp_h + r ⊙ (h·U_h + b_h))` (`reset_after`) or `ĥ = act(xp_h + (r ⊙ h)·U_h)`.

use super::gate::{Derivative, GateFn, with_derivative};
use super::{Backward, Forward, Step, masked_into, recurrent_products};
use crate::scan::kernel::FusedKind;
use crate::scan::kernel::gemm::gemm;

/// Tape slots after the carried `h`: the update gate, the reset gate and the candidate `ĥ` side
/// by side (`[rows, 3U]`, as the step leaves them: one copy to save, read by rows in the
/// backward).
pub(super) const GATES: usize = 1;
/// `reset_after`: the recurrent candidate part `h·U_h + b_h`; reset-before: `r ⊙ h`.
pub(super) const RECURRENT_PART: usize = 4;
/// Tape blocks per step.
pub(super) const TAPE_SLOTS: usize = 5;

/// One step. `f.rec` gets `h·U` (+ the recurrent bias) apart from `xp`; `f.pre` the gate
/// activations and, in its candidate block, the candidate; `f.h_new` the new `h`.
pub(super) fn forward_step(step: &Step<'_>, f: &mut Forward) {
    let (units, width, batch) = (step.units, step.width, step.batch);
    let spec = step.spec;
    let xp = step.xp;
    // The reset-before GRU's candidate block waits for r (see `recurrent_groups`).
    recurrent_products(step, &f.h, &mut f.hin, &mut f.rec, 0.0);
    if !step.recurrent_bias.is_empty() {
        for row in f.rec.chunks_exact_mut(width) {
            row.iter_mut().zip(step.recurrent_bias).for_each(|(r, b)| *r += b);
        }
    }
    // z and r. The gate activation runs once over the whole buffer (vectorized end to end);
    // what it computes in the candidate block is overwritten below.
    for b in 0..batch {
        let row = b * width..b * width + 2 * units;
        f.pre[row.clone()]
            .iter_mut()
            .zip(&xp[row.clone()])
            .zip(&f.rec[row])
            .for_each(|((o, x), r)| *o = x + r);
    }
    spec.recurrent_activation.apply(&mut f.pre);
    if spec.kind == FusedKind::GruResetBefore {
        // extra = r ⊙ (masked h), then its product with U_h into rec's candidate block.
        masked_into(&mut f.hin, &f.h, step.recurrent_masks[2]);
        for b in 0..batch {
            let r = &f.pre[b * width + units..b * width + 2 * units];
            let s = b * units..(b + 1) * units;
            f.extra[s.clone()]
                .iter_mut()
                .zip(r)
                .zip(&f.hin[s])
                .for_each(|((e, r), h)| *e = r * h);
        }
        let cols = 2 * units;
        gemm(
            (batch, units, units),
            &f.extra,
            (units, 1),
            &step.recurrent[cols..],
            (width, 1),
            0.0,
            &mut f.rec[cols..],
            (width, 1),
        );
    }
    for b in 0..batch {
        let (row, s) = (b * width, b * units..(b + 1) * units);
        let r = &f.pre[row + units..row + 2 * units];
        let xh = &xp[row + 2 * units..row + width];
        let rh = &f.rec[row + 2 * units..row + width];
        let cand = &mut f.h_new[s.clone()];
        if spec.kind == FusedKind::GruResetAfter {
            f.extra[s].copy_from_slice(rh);
            cand.iter_mut()
                .zip(xh)
                .zip(r.iter().zip(rh))
                .for_each(|((o, x), (r, h))| *o = x + r * h);
        } else {
            cand.iter_mut().zip(xh).zip(rh).for_each(|((o, x), h)| *o = x + h);
        }
    }
    spec.activation.apply(&mut f.h_new); // h_new holds the candidate
    for b in 0..batch {
        let row = b * width;
        let s = b * units..(b + 1) * units;
        // pre's candidate block keeps the candidate for the tape
        f.pre[row + 2 * units..row + width].copy_from_slice(&f.h_new[s.clone()]);
        let z = &f.pre[row..row + units];
        let (hp, cand) = (&f.h[s.clone()], &mut f.h_new[s]);
        for j in 0..units {
            cand[j] = z[j] * hp[j] + (1.0 - z[j]) * cand[j];
        }
    }
}

/// What the backward needs besides the carried `h`; `put(slot, blocks, values)`.
pub(super) fn save_tape(f: &Forward, put: &mut dyn FnMut(usize, usize, &[f32])) {
    put(GATES, 3, &f.pre);
    put(RECURRENT_PART, 1, &f.extra);
}

/// The gate pre-activation gradients into `dz`, the gradient of `h·U` (+ bias) into `b.drec`;
/// adds to `b.dh_prev` what does not go through the recurrent products of `recurrent_groups`
/// (the update gate's `z·h`, and for reset-before the candidate's own product, whose kernel
/// gradient goes into `recurrent_grad` here). `gates` is the step's `[rows, 3U]` tape of `z`,
/// `r` and the candidate.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward_step<'t>(
    step: &Step<'_>,
    b: &mut Backward,
    tape: &dyn Fn(usize) -> &'t [f32],
    gates: &[f32],
    h_prev: &[f32],
    dz: &mut [f32],
    recurrent_grad: &mut [f32],
) {
    let (units, width, batch) = (step.units, step.width, step.batch);
    let spec = step.spec;
    let extra = tape(RECURRENT_PART);
    let ra = spec.recurrent_activation;
    let after = spec.kind == FusedKind::GruResetAfter;
    // One pass per row over the three gates, monomorphized for the two activations.
    with_derivative!(spec.activation, A => with_derivative!(ra, R => {
        for row in 0..batch {
            let s = row * units..(row + 1) * units;
            let w = row * width..(row + 1) * width;
            let gates = &gates[w.clone()];
            let read = RowInputs {
                z: &gates[..units],
                r: &gates[units..2 * units],
                candidate: &gates[2 * units..],
                dh_new: &b.dh_new[s.clone()],
                h_prev: &h_prev[s.clone()],
                recurrent_part: &extra[s.clone()],
            };
            let (dh_prev, d_candidate) = (&mut b.dh_prev[s.clone()], &mut b.tmp2[s]);
            if after {
                backward_row::<A, R, true>(read, dh_prev, d_candidate, &mut dz[w.clone()], &mut b.drec[w]);
            } else {
                backward_row::<A, R, false>(read, dh_prev, d_candidate, &mut dz[w], &mut []);
            }
        }
    }));
    if after {
        return;
    }
    // Reset-before, candidate block: its recurrent input is extra = r ⊙ hm2.
    let cols = 2 * units;
    gemm(
        (units, batch, units),
        extra,
        (1, units),
        &b.tmp2,
        (units, 1),
        1.0,
        &mut recurrent_grad[cols..],
        (width, 1),
    );
    gemm(
        (batch, units, units),
        &b.tmp2,
        (units, 1),
        &step.recurrent[cols..],
        (1, width),
        0.0,
        &mut b.dhin,
        (units, 1),
    );
    // d(extra) = dhin: dr = dhin ⊙ hm2, d(hm2) = dhin ⊙ r
    let m2 = step.recurrent_masks[2];
    masked_into(&mut b.hin, h_prev, m2);
    b.tmp
        .iter_mut()
        .zip(&b.dhin)
        .zip(&b.hin)
        .for_each(|((t, d), h)| *t = d * h);
    for row in 0..batch {
        let s = row * units..(row + 1) * units;
        let r = &gates[row * width + units..row * width + 2 * units];
        ra.backprop(
            &b.tmp[s.clone()],
            r,
            &mut dz[row * width + units..row * width + 2 * units],
        );
        for (j, r) in s.zip(r) {
            b.dh_prev[j] += b.dhin[j] * r * m2.map_or(1.0, |m| m[j]);
        }
    }
    b.drec.copy_from_slice(dz);
}

/// What one row of [`backward_step`] reads, `[U]` each: the gates `z`, `r` and the candidate
/// `ĥ` (activations), the new `h`'s gradient, the previous `h`, and the recurrent candidate part
/// (`reset_after`: `h·U_h + b_h`).
struct RowInputs<'a> {
    z: &'a [f32],
    r: &'a [f32],
    candidate: &'a [f32],
    dh_new: &'a [f32],
    h_prev: &'a [f32],
    recurrent_part: &'a [f32],
}

/// One row of [`backward_step`], per element with `A` the activation and `R` the gate
/// activation: `dz_z = R'(dh_new·(h_prev − ĥ))` at `z`, `dh_prev += dh_new·z`,
/// `dz_ĥ = A'(dh_new·(1 − z))` at `ĥ` (also into `d_candidate`); with `AFTER` (`reset_after`)
/// `dz_r = R'(dz_ĥ·rec_h)` at `r` and `drec = [dz_z, dz_r, dz_ĥ·r]`. Every slice is cut to the
/// row, so the loop runs on vectors (the per-element arithmetic, and so the bits, of the
/// separate passes it replaced).
#[inline(never)]
fn backward_row<A: Derivative, R: Derivative, const AFTER: bool>(
    read: RowInputs<'_>,
    dh_prev: &mut [f32],
    d_candidate: &mut [f32],
    dz: &mut [f32],
    drec: &mut [f32],
) {
    let n = dh_prev.len();
    let (z, r, candidate) = (&read.z[..n], &read.r[..n], &read.candidate[..n]);
    let (dh_new, h_prev, recurrent_part) = (&read.dh_new[..n], &read.h_prev[..n], &read.recurrent_part[..n]);
    let d_candidate = &mut d_candidate[..n];
    let (dz_z, rest) = dz.split_at_mut(n);
    let (dz_r, dz_h) = rest.split_at_mut(n);
    let (dz_r, dz_h) = (&mut dz_r[..n], &mut dz_h[..n]);
    let (drec_z, rest) = drec.split_at_mut(if AFTER { n } else { 0 });
    let (drec_r, drec_h) = rest.split_at_mut(if AFTER { n } else { 0 });
    for j in 0..n {
        let (dh, zj) = (dh_new[j], z[j]);
        let dzz = R::backprop(dh * (h_prev[j] - candidate[j]), zj);
        dh_prev[j] += dh * zj;
        let da = A::backprop(dh * (1.0 - zj), candidate[j]);
        dz_z[j] = dzz;
        dz_h[j] = da;
        d_candidate[j] = da;
        if AFTER {
            let dzr = R::backprop(da * recurrent_part[j], r[j]);
            dz_r[j] = dzr;
            drec_z[j] = dzz;
            drec_r[j] = dzr;
            drec_h[j] = da * r[j];
        }
    }
}
