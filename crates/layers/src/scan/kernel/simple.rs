//! SimpleRNN: `h' = act(xp + h·U)`.

use super::{Backward, Forward, Step, recurrent_products};

/// Tape slot of the new `h`: with the carried `h`, what the backward needs of a step.
pub(super) const NEW_H: usize = 1;
/// Tape blocks per step.
pub(super) const TAPE_SLOTS: usize = 2;

/// One step: `h_new = act(xp + h·U)` (the product adds onto a copy of `xp`).
pub(super) fn forward_step(step: &Step<'_>, f: &mut Forward) {
    f.h_new.copy_from_slice(step.xp);
    recurrent_products(step, &f.h, &mut f.hin, &mut f.h_new, 1.0);
    step.spec.activation.apply(&mut f.h_new);
}

/// What the backward needs besides the carried `h`.
pub(super) fn save_tape(f: &Forward, put: &mut dyn FnMut(usize, usize, &[f32])) {
    put(NEW_H, 1, &f.h_new);
}

/// The pre-activation gradient `dz = dh_new ⊙ act'(h_new)`.
pub(super) fn backward_step<'t>(step: &Step<'_>, b: &Backward, tape: &dyn Fn(usize) -> &'t [f32], dz: &mut [f32]) {
    step.spec.activation.backprop(&b.dh_new, tape(NEW_H), dz);
}
