//! Keras LSTM: gates i, f, c (the candidate `g`), o; states `[h, c]`.

use super::{Backward, Forward, Step, gather, recurrent_products, scatter};
use crate::scan::kernel::GateFn;

/// Tape slots after the carried `h`: the gate activations, `act(c)` and the carried `c`.
pub(super) const I: usize = 1;
/// Forget gate.
pub(super) const F: usize = 2;
/// Candidate.
pub(super) const G: usize = 3;
/// Output gate.
pub(super) const O: usize = 4;
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

/// What the backward needs besides the carried `h`.
pub(super) fn save_tape(step: &Step<'_>, f: &mut Forward, put: &mut dyn FnMut(usize, &[f32])) {
    for (g, slot) in [I, F, G, O].into_iter().enumerate() {
        gather(&mut f.hin, &f.pre, g, step.units, step.width);
        put(slot, &f.hin);
    }
    put(C_ACT, &f.c_act);
    put(CARRIED_C, &f.c);
}

/// The gate pre-activation gradients into `dz`; adds the cell-state gradient carried back into
/// `b.dc_prev`.
pub(super) fn backward_step<'t>(
    step: &Step<'_>,
    b: &mut Backward,
    tape: &dyn Fn(usize) -> &'t [f32],
    c_prev: &[f32],
    dz: &mut [f32],
) {
    let (units, width) = (step.units, step.width);
    let spec = step.spec;
    let (i, f, g, o) = (tape(I), tape(F), tape(G), tape(O));
    let c_act = tape(C_ACT);
    // dc_new += dh_new ⊙ o ⊙ act'(c)
    b.tmp
        .iter_mut()
        .zip(&b.dh_new)
        .zip(o)
        .for_each(|((t, d), o)| *t = d * o);
    spec.activation.backprop(&b.tmp, c_act, &mut b.tmp2);
    b.dc_new.iter_mut().zip(&b.tmp2).for_each(|(d, t)| *d += t);
    // Gate k's pre-activation gradient: act'(gate) ⊙ a ⊙ b.
    let (tmp, tmp2) = (&mut b.tmp, &mut b.tmp2);
    let mut gate = |k: usize, x: &[f32], y: &[f32], out: &[f32], act: GateFn| {
        tmp.iter_mut().zip(x).zip(y).for_each(|((t, x), y)| *t = x * y);
        act.backprop(tmp, out, tmp2);
        scatter(&mut *dz, tmp2, k, units, width);
    };
    let ra = spec.recurrent_activation;
    gate(0, &b.dc_new, g, i, ra);
    gate(1, &b.dc_new, c_prev, f, ra);
    gate(2, &b.dc_new, i, g, spec.activation);
    gate(3, &b.dh_new, c_act, o, ra);
    b.dc_prev
        .iter_mut()
        .zip(&b.dc_new)
        .zip(f)
        .for_each(|((p, d), f)| *p += d * f);
}
