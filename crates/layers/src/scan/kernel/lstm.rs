//! Keras LSTM: gates i, f, c (the candidate `g`), o; states `[h, c]`.

use super::gate::{Derivative, with_derivative};
use super::{Backward, Forward, Step, gather, recurrent_products, scatter};
use crate::scan::kernel::GateFn;

/// Tape slots after the carried `h`: the four gate activations side by side (`[rows, 4U]`,
/// computed in place there by the step, read by rows in the backward), `act(c)` and the carried
/// `c`.
pub(super) const GATES: usize = 1;
/// `act(c)` of the new cell state.
pub(super) const C_ACT: usize = 5;
/// The carried cell state after the step.
pub(super) const CARRIED_C: usize = 6;
/// Tape blocks per step.
pub(super) const TAPE_SLOTS: usize = 7;

/// One step: the four gates from `xp + h·U`, then `c' = f·c + i·g`, `h' = o·act(c')`. `gates`
/// holds the step's `xp` on entry and the gate activations on return (`[rows, 4U]`; in
/// training, the tape's rows for them).
pub(super) fn forward_step(step: &Step<'_>, f: &mut Forward, gates: &mut [f32]) {
    let (units, width) = (step.units, step.width);
    recurrent_products(step, &f.h, &mut f.hin, gates, 1.0);
    let spec = step.spec;
    // Two long vectorized passes instead of three short calls per row: g's pre-activations are
    // set aside, the gate activation runs over the whole buffer, the candidate activation over
    // g's copy, which then goes back in place.
    gather(&mut f.extra, gates, 2, units, width);
    spec.recurrent_activation.apply(gates);
    spec.activation.apply(&mut f.extra);
    scatter(gates, &f.extra, 2, units, width);
    for b in 0..step.batch {
        let row = &gates[b * width..(b + 1) * width];
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
        let o = &gates[b * width + 3 * units..(b + 1) * width];
        let r = b * units..(b + 1) * units;
        f.h_new[r.clone()]
            .iter_mut()
            .zip(o)
            .zip(&f.c_act[r])
            .for_each(|((hn, o), t)| *hn = o * t);
    }
}

/// What the backward needs besides the carried `h`; `put(slot, blocks, values)`.
/// (The gates are already there: [`forward_step`] computed them in the tape.)
pub(super) fn save_tape(f: &Forward, put: &mut dyn FnMut(usize, usize, &[f32])) {
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
    let rows = Rows {
        units: step.units,
        gates,
        c_act: tape(C_ACT),
        c_prev,
        dh_new: &b.dh_new,
    };
    let (dc_new, dc_prev) = (&mut b.dc_new, &mut b.dc_prev);
    // One pass per row over all four gates, monomorphized for the two activations.
    with_derivative!(step.spec.activation, A => with_derivative!(step.spec.recurrent_activation, R => {
        rows.backward::<A, R>(dc_new, dc_prev, dz)
    }))
}

/// What a step's backward reads: the gates (`[rows, 4U]`), `act(c)`, the previous `c` and the
/// gradient of the new `h` (`[rows, U]` each).
struct Rows<'a> {
    units: usize,
    gates: &'a [f32],
    c_act: &'a [f32],
    c_prev: &'a [f32],
    dh_new: &'a [f32],
}

impl Rows<'_> {
    /// Per element, with `A` the activation and `R` the gate activation:
    /// `dc_new += A'(dh_new·o)` at `act(c)`; `di = R'(dc_new·g)` at `i`, `df = R'(dc_new·c_prev)`
    /// at `f`, `dg = A'(dc_new·i)` at `g`, `do = R'(dh_new·act(c))` at `o`;
    /// `dc_prev += dc_new·f`.
    #[inline(always)]
    fn backward<A: Derivative, R: Derivative>(&self, dc_new: &mut [f32], dc_prev: &mut [f32], dz: &mut [f32]) {
        let units = self.units;
        let width = 4 * units;
        let rows = self.gates.chunks_exact(width).zip(dz.chunks_exact_mut(width));
        for (row, (gates, dz)) in rows.enumerate() {
            let r = row * units..(row + 1) * units;
            let (i, rest) = gates.split_at(units);
            let (f, rest) = rest.split_at(units);
            let (g, o) = rest.split_at(units);
            let (di, rest) = dz.split_at_mut(units);
            let (df, rest) = rest.split_at_mut(units);
            let (dg, do_) = rest.split_at_mut(units);
            let (dh_new, c_act, c_prev) = (&self.dh_new[r.clone()], &self.c_act[r.clone()], &self.c_prev[r.clone()]);
            backward_row::<A, R>(
                (i, f, g, o),
                (dh_new, c_act, c_prev),
                (di, df, dg, do_),
                &mut dc_new[r.clone()],
                &mut dc_prev[r],
            );
        }
    }
}

/// The gates of one row, read or written: `i`, `f`, `g`, `o`.
type RowGates<T> = (T, T, T, T);

/// One row of [`Rows::backward`]. Every slice is cut to the row's length, so the compiler knows
/// the loop needs no bounds checks and runs it on vectors (the per-element arithmetic, and so
/// the bits, unchanged; in [`Rows::backward`]'s row loop it stayed scalar).
#[inline(never)]
fn backward_row<A: Derivative, R: Derivative>(
    (i, f, g, o): RowGates<&[f32]>,
    (dh_new, c_act, c_prev): (&[f32], &[f32], &[f32]),
    (di, df, dg, do_): RowGates<&mut [f32]>,
    dc_new: &mut [f32],
    dc_prev: &mut [f32],
) {
    let n = dc_new.len();
    let (i, f, g, o) = (&i[..n], &f[..n], &g[..n], &o[..n]);
    let (dh_new, c_act, c_prev) = (&dh_new[..n], &c_act[..n], &c_prev[..n]);
    let (di, df, dg, do_, dc_prev) = (
        &mut di[..n],
        &mut df[..n],
        &mut dg[..n],
        &mut do_[..n],
        &mut dc_prev[..n],
    );
    for j in 0..n {
        let dc = dc_new[j] + A::backprop(dh_new[j] * o[j], c_act[j]);
        dc_new[j] = dc;
        di[j] = R::backprop(dc * g[j], i[j]);
        df[j] = R::backprop(dc * c_prev[j], f[j]);
        dg[j] = A::backprop(dc * i[j], g[j]);
        do_[j] = R::backprop(dh_new[j] * c_act[j], o[j]);
        dc_prev[j] += dc * f[j];
    }
}
