//! Keras LSTM: gates i, f, c (the candidate `g`), o; states `[h, c]`.

use super::{Backward, Forward, Step, gather, recurrent_products, scatter};
use crate::scan::kernel::GateFn;

/// Tape slots after the carried `h`: the four gate activations side by side (`[rows, 4U]`, as
/// the step computes them: one copy to save, read by rows in the backward), `act(c)` and the
/// carried `c`.
pub(super) const GATES: usize = 1;
/// `act(c)` of the new cell state.
pub(super) const C_ACT: usize = 5;
/// The carried cell state after the step.
pub(super) const CARRIED_C: usize = 6;
/// Tape blocks per step.
pub(super) const TAPE_SLOTS: usize = 7;

/// One step: the four gates from `xp + h·U`, then `c' = f·c + i·g`, `h' = o·act(c')`.
pub(super) fn forward_step(step: &Step<'_>, f: &mut Forward) {
    let (units, width) = (step.units, step.width);
    f.pre.copy_from_slice(step.xp);
    recurrent_products(step, &f.h, &mut f.hin, &mut f.pre, 1.0);
    let spec = step.spec;
    // Two long vectorized passes instead of three short calls per row: g's pre-activations are
    // set aside, the gate activation runs over the whole buffer, the candidate activation over
    // g's copy, which then goes back in place.
    gather(&mut f.extra, &f.pre, 2, units, width);
    spec.recurrent_activation.apply(&mut f.pre);
    spec.activation.apply(&mut f.extra);
    scatter(&mut f.pre, &f.extra, 2, units, width);
    for b in 0..step.batch {
        let row = &f.pre[b * width..(b + 1) * width];
        let (i, fg, g) = (&row[..units], &row[units..2 * units], &row[2 * units..3 * units]);
        let r = b * units..(b + 1) * units;
        let (cp, cn) = (&f.c[r.clone()], &mut f.c_new[r.clone()]);
        for j in 0..units {
            cn[j] = fg[j] * cp[j] + i[j] * g[j];
        }
    }
    f.c_act.copy_from_slice(&f.c_new);
    spec.activation.apply(&mut f.c_act);
    for b in 0..step.batch {
        let o = &f.pre[b * width + 3 * units..(b + 1) * width];
        let r = b * units..(b + 1) * units;
        f.h_new[r.clone()]
            .iter_mut()
            .zip(o)
            .zip(&f.c_act[r])
            .for_each(|((hn, o), t)| *hn = o * t);
    }
}

/// What the backward needs besides the carried `h`; `put(slot, blocks, values)`.
pub(super) fn save_tape(f: &Forward, put: &mut dyn FnMut(usize, usize, &[f32])) {
    put(GATES, 4, &f.pre);
    put(C_ACT, 1, &f.c_act);
    put(CARRIED_C, 1, &f.c);
}

/// The gate pre-activation gradients into `dz`; adds the cell-state gradient carried back into
/// `b.dc_prev`. `gates` is the step's `[rows, 4U]` tape of gate activations.
pub(super) fn backward_step<'t>(
    step: &Step<'_>,
    b: &mut Backward,
    tape: &dyn Fn(usize) -> &'t [f32],
    gates: &[f32],
    c_prev: &[f32],
    dz: &mut [f32],
) {
    let (units, width) = (step.units, step.width);
    let (act, ra) = (step.spec.activation, step.spec.recurrent_activation);
    let c_act = tape(C_ACT);
    // Row by row: the gates and `dz` are `[rows, 4U]`, the rest `[rows, U]`.
    for row in 0..step.batch {
        let r = row * units..(row + 1) * units;
        let gates = &gates[row * width..(row + 1) * width];
        let (i, f, g, o) = (
            &gates[..units],
            &gates[units..2 * units],
            &gates[2 * units..3 * units],
            &gates[3 * units..],
        );
        let dz = &mut dz[row * width..(row + 1) * width];
        let (dh_new, c_act, c_prev) = (&b.dh_new[r.clone()], &c_act[r.clone()], &c_prev[r.clone()]);
        let (tmp, tmp2) = (&mut b.tmp[r.clone()], &mut b.tmp2[r.clone()]);
        let dc_new = &mut b.dc_new[r.clone()];
        // dc_new += dh_new ⊙ o ⊙ act'(c)
        tmp.iter_mut().zip(dh_new).zip(o).for_each(|((t, d), o)| *t = d * o);
        act.backprop(tmp, c_act, tmp2);
        dc_new.iter_mut().zip(&*tmp2).for_each(|(d, t)| *d += t);
        // Gate k's pre-activation gradient: act'(gate) ⊙ a ⊙ b, into its columns of `dz`.
        let (di, rest) = dz.split_at_mut(units);
        let (df, rest) = rest.split_at_mut(units);
        let (dg, do_) = rest.split_at_mut(units);
        gate_gradient(ra, dc_new, g, i, tmp, di);
        gate_gradient(ra, dc_new, c_prev, f, tmp, df);
        gate_gradient(act, dc_new, i, g, tmp, dg);
        gate_gradient(ra, dh_new, c_act, o, tmp, do_);
        b.dc_prev[r]
            .iter_mut()
            .zip(&*dc_new)
            .zip(f)
            .for_each(|((p, d), f)| *p += d * f);
    }
}

/// `out = act'(gate) ⊙ x ⊙ y`, from the gate's activation `gate` (`tmp`: scratch).
fn gate_gradient(act: GateFn, x: &[f32], y: &[f32], gate: &[f32], tmp: &mut [f32], out: &mut [f32]) {
    tmp.iter_mut().zip(x).zip(y).for_each(|((t, x), y)| *t = x * y);
    act.backprop(tmp, gate, out);
}
