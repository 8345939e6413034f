//! The fused recurrence on host buffers: the forward over all time steps and the hand-written
//! backward through time, for SimpleRNN, LSTM and GRU (both `reset_after` modes).
//!
//! Layouts (row-major `f32`): `xp [T, B, W]` (the projected inputs in time order, `W = G·U`),
//! `recurrent [U, W]`, `recurrent_bias [W]` (GRU `reset_after`; the layer-normalized cell:
//! `[γ, β, ε]`, `[2U + 1]`), `h0`/`c0 [B, U]`,
//! `mask [T, B]` (1 real, 0 masked), `recurrent_masks [R, B, U]` (`R` = 0, 1 or `G`).
//!
//! The forward writes one buffer of `[rows, B, U]` blocks: the `T` outputs in processing order,
//! the final states (none where the one state is the last output:
//! [`ScanSpec::state_rows`]), then — when a backward will follow — a tape of what the backward
//! needs per step (gate activations and carried states, never inputs to recompute, nor what an
//! output block already holds); each recurrence names its tape slots.
//!
//! This file drives the time loop, the parts every recurrence shares (recurrent products,
//! masks, the tape, the recurrent kernel's gradient); the rest is one file each:
//!
//! - `chunks.rs`: the batch in chunks on one, two or more cores, and the shared output buffer
//!   (the unsafe part);
//! - `gemm.rs`: the products; `gate.rs`: the vectorized activations and their derivatives;
//! - `simple.rs`, `lstm.rs`, `gru.rs`, `layer_norm.rs`: one step forward, the tape, one step
//!   backward (`layer_norm/avx512.rs`: the normalization's per-row passes 16 rows at a time).

mod chunks;
mod gate;
pub(super) mod gemm;
mod gru;
mod layer_norm;
mod lstm;
mod simple;

use std::cell::Cell;
use std::ops::Range;

use chunks::{SharedBlocks, for_chunks, region, rows_of};
pub use gate::GateFn;
use gemm::{PackedWeight, SPLIT_PRODUCT, gemm, gemm_packed, pack};

use super::pair;

/// Which recurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FusedKind {
    /// `h' = act(xp + h·U)`.
    Simple,
    /// Keras LSTM, gates i, f, c, o.
    Lstm,
    /// Keras GRU with `reset_after = true`: `ĥ = act(xp_h + r ⊙ (h·U_h + b_h))`.
    GruResetAfter,
    /// Keras GRU with `reset_after = false`: `ĥ = act(xp_h + (r ⊙ h)·U_h)`.
    GruResetBefore,
    /// The lecture's layer-normalized SimpleRNN cell: `h' = act(γ ⊙ LN(xp + h·U) + β)`, the
    /// normalization's `[γ, β, ε]` in the `recurrent_bias` input.
    LayerNormSimple,
}

impl FusedKind {
    /// Gate blocks in the kernels.
    pub fn gates(self) -> usize {
        match self {
            FusedKind::Simple | FusedKind::LayerNormSimple => 1,
            FusedKind::Lstm => 4,
            FusedKind::GruResetAfter | FusedKind::GruResetBefore => 3,
        }
    }
    /// State tensors (`[h]` or `[h, c]`).
    pub fn states(self) -> usize {
        if self == FusedKind::Lstm { 2 } else { 1 }
    }
    /// `[B, U]` blocks saved per step for the backward (the slots are named in each
    /// recurrence's file).
    fn tape_blocks(self) -> usize {
        match self {
            FusedKind::Simple => simple::TAPE_SLOTS,
            FusedKind::Lstm => lstm::TAPE_SLOTS,
            FusedKind::GruResetAfter | FusedKind::GruResetBefore => gru::TAPE_SLOTS,
            FusedKind::LayerNormSimple => layer_norm::TAPE_SLOTS,
        }
    }
    /// Length of the `recurrent_bias` input and of its gradient.
    fn bias_len(self, units: usize) -> usize {
        match self {
            FusedKind::LayerNormSimple => 2 * units + 1,
            _ => self.gates() * units,
        }
    }
}

/// Everything about one fused call that is not a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ScanSpec {
    /// The recurrence.
    pub kind: FusedKind,
    /// Candidate / output activation.
    pub activation: GateFn,
    /// Gate activation (LSTM, GRU).
    pub recurrent_activation: GateFn,
    /// Process steps `T-1 … 0`.
    pub go_backwards: bool,
    /// Masked steps output 0 instead of repeating the previous output.
    pub zero_output_for_mask: bool,
    /// Whether `mask` is given.
    pub masked: bool,
    /// Recurrent dropout masks given: 0, 1 (shared by all gates) or one per gate.
    pub recurrent_masks: usize,
    /// Write the tape for a backward pass.
    pub save_tape: bool,
    /// Whether the caller reads the final states (Keras's `return_state`, a stateful layer, the
    /// public `Rnn::run`); without, no state rows are written ([`ScanSpec::state_rows`]).
    pub final_states: bool,
}

impl ScanSpec {
    /// Whether the backward computes the recurrent kernel's gradient after the loop, as one
    /// product over all steps, instead of one small product per step. Possible when the input of
    /// the recurrent matmul at step `s` is exactly the output of step `s - 1` (no masks, no
    /// recurrent dropout, outputs in input order). The gradient of that matmul is the gate
    /// gradient written to `xp` for SimpleRNN, LSTM and the layer-normalized cell (whose
    /// normalization comes after the sum) and for the GRU's update and reset gates; the
    /// `reset_after` GRU's candidate block (`r ⊙ (h·U + b)`) is kept per step in a buffer of its
    /// own; the `reset_before` candidate's input is `r ⊙ h`, not `h`: its product stays per step.
    fn defers_recurrent_grad(&self) -> bool {
        !self.masked && self.recurrent_masks == 0 && !self.go_backwards
    }
    /// How many leading tape slots hold exactly the step's output and are read from the output
    /// block instead of being saved again: without a mask the carried `h` after a step is its
    /// output (slot [`CARRIED_H`]), and so is SimpleRNN's and the layer-normalized cell's new `h`
    /// (slot 1). With a mask the output repeats (or zeroes) and the slots are saved.
    fn slots_in_outputs(&self) -> usize {
        match (self.masked, self.kind) {
            (true, _) => 0,
            (false, FusedKind::Simple | FusedKind::LayerNormSimple) => 2,
            (false, _) => 1,
        }
    }
    /// `[B, U]` blocks after the outputs that hold the final states: none where the caller does
    /// not read them, nor where the one state is the last output (no mask, one state: the
    /// output's gradient then carries the state's), else one per state. Without state rows the
    /// sequence is the op's whole output: Burn's slice backward, which zero-fills a buffer of the
    /// output's size per layer and step, is not needed.
    pub fn state_rows(&self) -> usize {
        if !self.final_states || (!self.masked && self.kind.states() == 1) {
            0
        } else {
            self.kind.states()
        }
    }
    /// `[B, U]` blocks saved per step beyond the outputs.
    fn saved_slots(&self) -> usize {
        self.kind.tape_blocks() - self.slots_in_outputs()
    }
}

/// Sizes of one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    /// Time steps.
    pub time: usize,
    /// Batch rows.
    pub batch: usize,
    /// Units.
    pub units: usize,
}

impl Dims {
    fn block(&self) -> usize {
        self.batch * self.units
    }
    /// Rows (of `[B, U]` blocks) the forward writes.
    pub fn forward_rows(&self, spec: &ScanSpec) -> usize {
        let tape = if spec.save_tape {
            self.time * spec.saved_slots()
        } else {
            0
        };
        self.time + spec.state_rows() + tape
    }
    /// The block that holds tape slot `slot` of processing step `step`: the step's output block
    /// for the slots [`ScanSpec::slots_in_outputs`] names, else its saved block.
    fn tape_row(&self, spec: &ScanSpec, step: usize, slot: usize) -> usize {
        let in_outputs = spec.slots_in_outputs();
        if slot < in_outputs {
            step
        } else {
            self.time + spec.state_rows() + step * spec.saved_slots() + slot - in_outputs
        }
    }
}

/// The tensors of one call, as host slices.
pub struct Inputs<'a> {
    /// `[T, B, W]`.
    pub xp: &'a [f32],
    /// `[U, W]`.
    pub recurrent: &'a [f32],
    /// `[W]` or empty.
    pub recurrent_bias: &'a [f32],
    /// `[B, U]`.
    pub h0: &'a [f32],
    /// `[B, U]` (LSTM) or ignored.
    pub c0: &'a [f32],
    /// `[T, B]` or empty.
    pub mask: &'a [f32],
    /// `[R, B, U]` or empty.
    pub recurrent_masks: &'a [f32],
}

/// Gradients of one call.
pub struct Grads {
    /// `[T, B, W]`.
    pub xp: Vec<f32>,
    /// `[U, W]`.
    pub recurrent: Vec<f32>,
    /// `[W]`.
    pub recurrent_bias: Vec<f32>,
    /// `[B, U]`.
    pub h0: Vec<f32>,
    /// `[B, U]`.
    pub c0: Vec<f32>,
}

/// Tape slot of the carried `h` after the step, which every recurrence saves first.
const CARRIED_H: usize = 0;

/// `out = h ⊙ mask` (or a copy of `h` without a mask).
pub(super) fn masked_into(out: &mut [f32], h: &[f32], mask: Option<&[f32]>) {
    match mask {
        Some(m) => out.iter_mut().zip(h).zip(m).for_each(|((o, h), m)| *o = h * m),
        None => out.copy_from_slice(h),
    }
}

/// The recurrent mask of gate `g` for batch rows `rows`, if any (`masks` is `[count, B, U]`).
fn gate_mask<'m>(masks: &'m [f32], count: usize, g: usize, dims: Dims, rows: &Range<usize>) -> Option<&'m [f32]> {
    match count {
        0 => None,
        1 => Some(rows_of(masks, 0, dims.batch, dims.units, rows)),
        _ => Some(rows_of(masks, g, dims.batch, dims.units, rows)),
    }
}

/// One step's inputs, shared by the recurrences' step functions.
struct Step<'a> {
    spec: &'a ScanSpec,
    units: usize,
    /// `G·U`.
    width: usize,
    /// Rows of this chunk.
    batch: usize,
    /// This step's projected inputs `[rows, W]`.
    xp: &'a [f32],
    /// `[U, W]`.
    recurrent: &'a [f32],
    /// `[W]` or empty.
    recurrent_bias: &'a [f32],
    /// The recurrent matmul groups ([`recurrent_groups`]).
    groups: &'a [(usize, usize)],
    /// Each group's block of the recurrent kernel, prepared once for every step: `U[:, group]`
    /// in the forward, its transpose in the backward.
    packed: &'a [PackedWeight<'a>],
    /// The recurrent dropout mask of each gate for this chunk's rows, if any.
    recurrent_masks: &'a [Option<&'a [f32]>],
}

/// `target[:, g·U..(g+count)·U] = beta·target + (h ⊙ mask_g)·U[:, g·U..]` for every group.
fn recurrent_products(step: &Step<'_>, h: &[f32], hin: &mut [f32], target: &mut [f32], beta: f32) {
    let (units, width) = (step.units, step.width);
    for (gi, &(g, _)) in step.groups.iter().enumerate() {
        let h_in: &[f32] = match step.recurrent_masks[g] {
            Some(mask) => {
                masked_into(hin, h, Some(mask));
                hin
            }
            None => h,
        };
        let cols = g * units;
        gemm_packed(
            step.batch,
            h_in,
            (units, 1),
            &step.packed[gi],
            beta,
            &mut target[cols..],
            (width, 1),
        );
    }
}

/// The recurrent kernel's blocks of `groups` prepared for every step's products: `U[:, group]`
/// (`[U, n]`, the forward's) or its transpose (`[n, U]`, the backward's `dz·Uᵀ`).
fn pack_groups<'a>(
    recurrent: &'a [f32],
    groups: &[(usize, usize)],
    units: usize,
    transposed: bool,
) -> Vec<PackedWeight<'a>> {
    let width = recurrent.len() / units.max(1);
    groups
        .iter()
        .map(|&(g, count)| {
            let block = &recurrent[g * units..];
            if transposed {
                pack((count * units, units), block, (1, width))
            } else {
                pack((units, count * units), block, (width, 1))
            }
        })
        .collect()
}

/// A chunk's working buffers in the forward (`[rows, U]` unless noted).
struct Forward {
    /// The carried `h`.
    h: Vec<f32>,
    /// The carried `c` (LSTM).
    c: Vec<f32>,
    /// `[rows, W]`: gate pre-activations, then activations (empty for the LSTM in training,
    /// whose step computes them in the tape).
    pre: Vec<f32>,
    /// `[rows, W]`, GRU: `h·U` (+ bias).
    rec: Vec<f32>,
    /// Scratch: a masked `h`, a gathered gate block.
    hin: Vec<f32>,
    /// The step's new `h` (before masking).
    h_new: Vec<f32>,
    /// LSTM: the new `c`, and its activation.
    c_new: Vec<f32>,
    c_act: Vec<f32>,
    /// GRU: the recurrent candidate part (after) or `r ⊙ h` (before); LSTM: `g`; layer norm
    /// without a tape: the normalized `z`.
    extra: Vec<f32>,
    /// Layer norm without a tape: each row's `1/σ` (`[rows]`).
    norm: Vec<f32>,
}

/// Runs the recurrence: returns `dims.forward_rows(spec)` blocks of `[B, U]` (see the module
/// docs). The buffer is not zeroed first: every chunk writes its rows of every block exactly
/// once, which each chunk checks before the length is set.
pub fn forward(spec: &ScanSpec, dims: Dims, inputs: &Inputs<'_>) -> Vec<f32> {
    let len = dims.forward_rows(spec) * dims.block();
    let mut out = Vec::with_capacity(len);
    let shared = SharedBlocks::new_uninit(&mut out.spare_capacity_mut()[..len], dims.batch, dims.units);
    for_chunks(dims.batch, |rows| forward_chunk(spec, dims, inputs, rows, &shared));
    // SAFETY: each chunk wrote its rows of every block (`forward_chunk` asserts it) and the
    // chunks cover the batch, so all `len` elements are initialized.
    unsafe { out.set_len(len) };
    out
}

/// [`forward`] for batch rows `rows`: writes only those rows of every block of `out`, each block
/// once (asserted: `forward` relies on it).
fn forward_chunk(spec: &ScanSpec, dims: Dims, inputs: &Inputs<'_>, rows: Range<usize>, out: &SharedBlocks<'_>) {
    let Dims { time, units, .. } = dims;
    let full = dims.batch;
    let batch = rows.len();
    let gates = spec.kind.gates();
    let width = gates * units;
    let block = batch * units;
    let lstm = spec.kind == FusedKind::Lstm;
    let gru = matches!(spec.kind, FusedKind::GruResetAfter | FusedKind::GruResetBefore);
    let written = vec![Cell::new(false); dims.forward_rows(spec)];
    let mark_written = |first: usize, count: usize| {
        for (block, done) in (first..).zip(&written[first..first + count]) {
            assert!(!done.replace(true), "block {block} of the fused forward written twice");
        }
    };
    // `count` blocks from `first` at once: `values` is `[rows, count · U]`.
    let write = |first: usize, count: usize, values: &[f32]| {
        mark_written(first, count);
        // SAFETY: this chunk's rows, which no other chunk writes; no reference to them is held.
        unsafe { out.write_rows(first, count, &rows, values) };
    };

    let mut f = Forward {
        h: rows_of(inputs.h0, 0, full, units, &rows).to_vec(),
        c: if lstm {
            rows_of(inputs.c0, 0, full, units, &rows).to_vec()
        } else {
            Vec::new()
        },
        pre: vec![0.0f32; if lstm && spec.save_tape { 0 } else { batch * width }],
        rec: vec![0.0f32; if gru { batch * width } else { 0 }],
        hin: vec![0.0f32; block],
        h_new: vec![0.0f32; block],
        c_new: vec![0.0f32; if lstm { block } else { 0 }],
        c_act: vec![0.0f32; if lstm { block } else { 0 }],
        extra: vec![0.0f32; block],
        // Layer norm in training writes `1/σ` to the tape itself.
        norm: vec![
            0.0f32;
            if spec.kind == FusedKind::LayerNormSimple && !spec.save_tape {
                batch
            } else {
                0
            }
        ],
    };
    let mut y_prev = vec![0.0f32; block];
    let groups = recurrent_groups(spec);
    let packed = pack_groups(inputs.recurrent, &groups, units, false);
    let masks: Vec<Option<&[f32]>> = (0..gates)
        .map(|g| gate_mask(inputs.recurrent_masks, spec.recurrent_masks, g, dims, &rows))
        .collect();

    // Tape slots below this are the step's output block, written as the output.
    let in_outputs = spec.slots_in_outputs();
    for step in 0..time {
        let ti = if spec.go_backwards { time - 1 - step } else { step };
        let this = Step {
            spec,
            units,
            width,
            batch,
            xp: rows_of(inputs.xp, ti, full, width, &rows),
            recurrent: inputs.recurrent,
            recurrent_bias: inputs.recurrent_bias,
            groups: &groups,
            packed: &packed,
            recurrent_masks: &masks,
        };
        match spec.kind {
            FusedKind::Simple => simple::forward_step(&this, &mut f),
            FusedKind::Lstm if spec.save_tape => {
                // The gates are computed where the tape keeps them: no copy to save.
                let first = dims.tape_row(spec, step, lstm::GATES);
                mark_written(first, 4);
                // SAFETY: this chunk's rows of the step's four gate blocks, which no other chunk
                // writes; the slice is dropped at the end of this arm, before any other access.
                let gates = unsafe { out.init_rows(first, 4, &rows, this.xp) };
                lstm::forward_step(&this, &mut f, gates);
            }
            FusedKind::Lstm => {
                let mut gates = std::mem::take(&mut f.pre);
                gates.copy_from_slice(this.xp);
                lstm::forward_step(&this, &mut f, &mut gates);
                f.pre = gates;
            }
            FusedKind::GruResetAfter | FusedKind::GruResetBefore => gru::forward_step(&this, &mut f),
            FusedKind::LayerNormSimple if spec.save_tape => {
                // `LN(z)` and `1/σ` are computed where the tape keeps them: no copy to save.
                let normalized = dims.tape_row(spec, step, layer_norm::NORMALIZED);
                let inv_std = dims.tape_row(spec, step, layer_norm::INV_STD);
                mark_written(normalized, 1);
                mark_written(inv_std, 1);
                // SAFETY: this chunk's rows of two distinct blocks of the step, which no other
                // chunk writes; both slices are dropped at the end of this arm, before any other
                // access to those blocks.
                let tape = unsafe {
                    (
                        out.zeroed_rows_mut(normalized, &rows),
                        out.zeroed_rows_mut(inv_std, &rows),
                    )
                };
                layer_norm::forward_step(&this, &mut f, Some(tape));
            }
            FusedKind::LayerNormSimple => layer_norm::forward_step(&this, &mut f, None),
        }

        // Masks: carry the states, repeat (or zero) the output.
        if spec.masked {
            let m = rows_of(inputs.mask, ti, full, 1, &rows);
            for (b, &mb) in m.iter().enumerate() {
                #[allow(clippy::needless_range_loop)] // one index into five buffers
                for j in b * units..(b + 1) * units {
                    let hn = f.h_new[j];
                    y_prev[j] = if spec.zero_output_for_mask {
                        hn * mb
                    } else {
                        y_prev[j] + (hn - y_prev[j]) * mb
                    };
                    f.h[j] += (hn - f.h[j]) * mb;
                    if lstm {
                        f.c[j] += (f.c_new[j] - f.c[j]) * mb;
                    }
                }
            }
            write(step, 1, &y_prev);
        } else {
            write(step, 1, &f.h_new);
            // Every step writes all of `h_new` and `c_new` before reading them.
            std::mem::swap(&mut f.h, &mut f.h_new);
            if lstm {
                std::mem::swap(&mut f.c, &mut f.c_new);
            }
        }

        if spec.save_tape {
            let mut put = |slot: usize, count: usize, data: &[f32]| {
                if slot >= in_outputs {
                    write(dims.tape_row(spec, step, slot), count, data);
                }
            };
            put(CARRIED_H, 1, &f.h);
            match spec.kind {
                FusedKind::Simple => simple::save_tape(&f, &mut put),
                FusedKind::Lstm => lstm::save_tape(&f, &mut put),
                FusedKind::GruResetAfter | FusedKind::GruResetBefore => gru::save_tape(&f, &mut put),
                FusedKind::LayerNormSimple => layer_norm::save_tape(&f, &mut put),
            }
        }
    }
    if spec.state_rows() > 0 {
        write(time, 1, &f.h);
        if lstm {
            write(time + 1, 1, &f.c);
        }
    }
    assert!(
        written.iter().all(Cell::get),
        "the fused forward left blocks {:?} unwritten",
        written
            .iter()
            .enumerate()
            .filter(|(_, w)| !w.get())
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
    );
}

/// Backward through time. `forward_out` is what [`forward`] wrote with `save_tape`; `grad` is the
/// upstream gradient of its first `T + spec.state_rows()` rows.
pub fn backward(spec: &ScanSpec, dims: Dims, inputs: &Inputs<'_>, forward_out: &[f32], grad: &[f32]) -> Grads {
    let width = spec.kind.gates() * dims.units;
    let xp_len = dims.time * dims.batch * width;
    let mut grads = Grads {
        // Not zeroed here: each chunk zeroes its rows of a step just before writing them.
        xp: Vec::with_capacity(xp_len),
        recurrent: vec![0.0; dims.units * width],
        recurrent_bias: vec![0.0; spec.kind.bias_len(dims.units)],
        h0: vec![0.0; dims.block()],
        c0: vec![0.0; dims.block()],
    };
    let defer = spec.defers_recurrent_grad();
    // The reset-after GRU's candidate block of the recurrent gradient, kept per step ([T, B, U]).
    let mut candidate_grads = if defer && spec.kind == FusedKind::GruResetAfter {
        vec![0.0f32; dims.time * dims.block()]
    } else {
        Vec::new()
    };
    let partial_sums: Vec<ChunkSums> = {
        let shared = ChunkOutputs {
            xp: SharedBlocks::new_uninit(&mut grads.xp.spare_capacity_mut()[..xp_len], dims.batch, width),
            h0: SharedBlocks::new(&mut grads.h0, dims.batch, dims.units),
            c0: SharedBlocks::new(&mut grads.c0, dims.batch, dims.units),
            candidate: SharedBlocks::new(&mut candidate_grads, dims.batch, dims.units),
        };
        for_chunks(dims.batch, |rows| {
            backward_chunk(spec, dims, inputs, forward_out, grad, rows, &shared)
        })
    };
    // SAFETY: every chunk initialized its rows of every step's block (`zeroed_rows_mut`), and
    // the chunks cover the batch.
    unsafe { grads.xp.set_len(xp_len) };
    let Dims { time, batch, units } = dims;
    if defer && time > 0 {
        // dU = h0ᵀ·dZ[0] + Y[0..T-1]ᵀ·dZ[1..T]: the outputs `Y` (rows 0..T of the forward
        // buffer) are the recurrent inputs of the following steps, contiguous over steps and rows.
        // dZ is the gate gradient in `xp` (`[T·B, W]`); for the GRU its update and reset blocks,
        // and after reset the candidate block from `candidate_grads` (`[T·B, U]`).
        // dU in two halves on two cores, by rows or, for wide layers, by columns
        // ([`gemm::splits_columns`]); results do not depend on the split: each element is one
        // product over all steps and rows either way.
        // (gradient buffer, its row length, first column of dU, columns)
        let sources: Vec<(&[f32], usize, usize, usize)> = match spec.kind {
            FusedKind::GruResetAfter => vec![
                (&grads.xp, width, 0, 2 * units),
                (&candidate_grads, units, 2 * units, units),
            ],
            FusedKind::GruResetBefore => vec![(&grads.xp, width, 0, 2 * units)],
            _ => vec![(&grads.xp, width, 0, width)],
        };
        let ys = &forward_out[..(time - 1) * batch * units];
        // Rows `first_unit..` of dU, columns `col0..col0 + cols`, into `du` (row length `ld_du`).
        let block_of_du = |du: &mut [f32], ld_du: usize, first_unit: usize, (col0, cols): (usize, usize)| {
            if du.is_empty() {
                return;
            }
            let du_rows = du.len() / ld_du;
            for &(dz, ld, first_col, dz_cols) in &sources {
                let (lo, hi) = (first_col.max(col0), (first_col + dz_cols).min(col0 + cols));
                if lo >= hi {
                    continue;
                }
                let (dz_first, dz_rest) = dz.split_at(batch * ld);
                for (h, dz, rows) in [(inputs.h0, dz_first, batch), (ys, dz_rest, (time - 1) * batch)] {
                    if rows == 0 {
                        continue;
                    }
                    gemm(
                        (du_rows, rows, hi - lo),
                        &h[first_unit..],
                        (1, units),
                        &dz[lo - first_col..],
                        (ld, 1),
                        1.0,
                        &mut du[lo - col0..],
                        (ld_du, 1),
                    );
                }
            }
        };
        if units * time * batch * width < SPLIT_PRODUCT {
            block_of_du(&mut grads.recurrent, width, 0, (0, width));
        } else if gemm::splits_columns(units, width) {
            // dU starts at zero, as each half's buffer does: the same `0 + sum` bits.
            grads.recurrent =
                gemm::by_column_halves((units, width), |du, col0, cols| block_of_du(du, cols, 0, (col0, cols)));
        } else {
            let half = units / 2;
            let (du_first, du_second) = grads.recurrent.split_at_mut(half * width);
            pair::join(
                || block_of_du(du_first, width, 0, (0, width)),
                || block_of_du(du_second, width, half, (0, width)),
            );
        }
    }
    // Summed in chunk order: the same result on any number of threads.
    for sums in partial_sums {
        grads
            .recurrent
            .iter_mut()
            .zip(&sums.recurrent)
            .for_each(|(g, p)| *g += p);
        grads
            .recurrent_bias
            .iter_mut()
            .zip(&sums.recurrent_bias)
            .for_each(|(g, p)| *g += p);
    }
    grads
}

/// The per-row gradients the chunks of [`backward`] write in place.
struct ChunkOutputs<'a> {
    xp: SharedBlocks<'a>,
    h0: SharedBlocks<'a>,
    c0: SharedBlocks<'a>,
    /// The reset-after GRU's candidate block of the recurrent gradient, when deferred.
    candidate: SharedBlocks<'a>,
}

/// One chunk's share of the weight gradients (summed over its rows).
struct ChunkSums {
    recurrent: Vec<f32>,
    recurrent_bias: Vec<f32>,
}

/// A chunk's working buffers in the backward (`[rows, U]` unless noted).
struct Backward {
    /// Gradient of the carried `h` (and `c`) after the step, then before it.
    dh: Vec<f32>,
    dc: Vec<f32>,
    /// Gradient of the previous output (masked steps repeat it).
    dy: Vec<f32>,
    /// Gradient of the step's new `h` and `c`.
    dh_new: Vec<f32>,
    dc_new: Vec<f32>,
    /// Gradient of the carried `h` and `c` before the step.
    dh_prev: Vec<f32>,
    dc_prev: Vec<f32>,
    /// `[rows, W]`, GRU: gradient of `h·U` (+ bias).
    drec: Vec<f32>,
    /// Scratch.
    hin: Vec<f32>,
    dhin: Vec<f32>,
    tmp: Vec<f32>,
    tmp2: Vec<f32>,
}

/// [`backward`] for batch rows `rows`.
#[allow(clippy::too_many_arguments)]
fn backward_chunk(
    spec: &ScanSpec,
    dims: Dims,
    inputs: &Inputs<'_>,
    forward_out: &[f32],
    grad: &[f32],
    rows: Range<usize>,
    out: &ChunkOutputs<'_>,
) -> ChunkSums {
    let Dims { time, units, .. } = dims;
    let full = dims.batch;
    let batch = rows.len();
    let gates = spec.kind.gates();
    let width = gates * units;
    let block = batch * units;
    let lstm = spec.kind == FusedKind::Lstm;
    let gru = matches!(spec.kind, FusedKind::GruResetAfter | FusedKind::GruResetBefore);
    let tape = |step: usize, slot: usize| rows_of(forward_out, dims.tape_row(spec, step, slot), full, units, &rows);
    // `count` slots from `slot` as one `[rows, count · U]` matrix.
    let tape_wide = |step: usize, slot: usize, count: usize| {
        &forward_out[region(dims.tape_row(spec, step, slot), count, full, units, &rows)]
    };
    let h0 = rows_of(inputs.h0, 0, full, units, &rows);
    let c0 = if lstm {
        rows_of(inputs.c0, 0, full, units, &rows)
    } else {
        &[][..]
    };

    let mut grads = ChunkSums {
        recurrent: vec![0.0; units * width],
        recurrent_bias: vec![0.0; spec.kind.bias_len(units)],
    };
    let mut b = Backward {
        // Without state rows the final state's gradient came in with the last output's.
        dh: if spec.state_rows() > 0 {
            rows_of(grad, time, full, units, &rows).to_vec()
        } else {
            vec![0.0f32; block]
        },
        dc: match (lstm, spec.state_rows() > 0) {
            (true, true) => rows_of(grad, time + 1, full, units, &rows).to_vec(),
            // Without state rows no one reads the final `c`.
            (true, false) => vec![0.0f32; block],
            (false, _) => Vec::new(),
        },
        dy: vec![0.0f32; block],
        dh_new: vec![0.0f32; block],
        dc_new: vec![0.0f32; if lstm { block } else { 0 }],
        dh_prev: vec![0.0f32; block],
        dc_prev: vec![0.0f32; if lstm { block } else { 0 }],
        drec: vec![0.0f32; if gru { batch * width } else { 0 }],
        hin: vec![0.0f32; block],
        dhin: vec![0.0f32; block],
        tmp: vec![0.0f32; block],
        tmp2: vec![0.0f32; block],
    };
    let groups = recurrent_groups(spec);
    let packed = pack_groups(inputs.recurrent, &groups, units, true);
    let masks: Vec<Option<&[f32]>> = (0..gates)
        .map(|g| gate_mask(inputs.recurrent_masks, spec.recurrent_masks, g, dims, &rows))
        .collect();
    let defer = spec.defers_recurrent_grad();

    for step in (0..time).rev() {
        let ti = if spec.go_backwards { time - 1 - step } else { step };
        let h_prev: &[f32] = if step == 0 { h0 } else { tape(step - 1, CARRIED_H) };
        let g_y = rows_of(grad, step, full, units, &rows);
        let this = Step {
            spec,
            units,
            width,
            batch,
            xp: &[],
            recurrent: inputs.recurrent,
            recurrent_bias: inputs.recurrent_bias,
            groups: &groups,
            packed: &packed,
            recurrent_masks: &masks,
        };

        // Undo the mask blend.
        if spec.masked {
            let m = rows_of(inputs.mask, ti, full, 1, &rows);
            for (row, &mb) in m.iter().enumerate() {
                #[allow(clippy::needless_range_loop)] // one index into seven buffers
                for j in row * units..(row + 1) * units {
                    let gy = g_y[j] + b.dy[j];
                    b.dh_new[j] = (gy + b.dh[j]) * mb;
                    b.dy[j] = if spec.zero_output_for_mask {
                        0.0
                    } else {
                        gy * (1.0 - mb)
                    };
                    b.dh_prev[j] = b.dh[j] * (1.0 - mb);
                    if lstm {
                        b.dc_new[j] = b.dc[j] * mb;
                        b.dc_prev[j] = b.dc[j] * (1.0 - mb);
                    }
                }
            }
        } else {
            b.dh_new
                .iter_mut()
                .zip(g_y)
                .zip(&b.dh)
                .for_each(|((o, g), d)| *o = g + d);
            b.dh_prev.fill(0.0);
            if lstm {
                b.dc_new.copy_from_slice(&b.dc);
                b.dc_prev.fill(0.0);
            }
        }

        // Cell: gradients of the gate pre-activations (= of xp), written in place (zeroed here,
        // in this chunk's cache, rather than the whole buffer at once before the chunks).
        // SAFETY: this chunk's rows of step `ti`, dropped at the end of the step.
        let dz = unsafe { out.xp.zeroed_rows_mut(ti, &rows) };
        let slots = |slot: usize| tape(step, slot);
        match spec.kind {
            FusedKind::Simple => simple::backward_step(&this, &b, &slots, dz),
            FusedKind::Lstm => {
                let c_prev: &[f32] = if step == 0 { c0 } else { tape(step - 1, lstm::CARRIED_C) };
                let gates = tape_wide(step, lstm::GATES, 4);
                lstm::backward_step(&this, &mut b, &slots, gates, c_prev, dz);
            }
            FusedKind::GruResetAfter | FusedKind::GruResetBefore => {
                let gates = tape_wide(step, gru::GATES, 3);
                gru::backward_step(&this, &mut b, &slots, gates, h_prev, dz, &mut grads.recurrent)
            }
            FusedKind::LayerNormSimple => {
                layer_norm::backward_step(&this, &mut b, &slots, dz, &mut grads.recurrent_bias)
            }
        }

        // SimpleRNN, LSTM, layer norm: the recurrent part's gradient is the gate gradient itself.
        let drec: &[f32] = if gru { &b.drec } else { dz };
        if defer && spec.kind == FusedKind::GruResetAfter {
            // SAFETY: this chunk's rows of step `ti`, written once.
            let to = unsafe { out.candidate.rows_mut(ti, &rows) };
            for (row, dst) in to.chunks_exact_mut(units).enumerate() {
                dst.copy_from_slice(&drec[row * width + 2 * units..(row + 1) * width]);
            }
        }
        if spec.kind == FusedKind::GruResetAfter {
            for row in drec.chunks_exact(width) {
                grads.recurrent_bias.iter_mut().zip(row).for_each(|(g, d)| *g += d);
            }
        }

        // Recurrent matmuls: dU += hinᵀ·drec (unless `backward` does it after the loop),
        // dh_prev += (drec·Uᵀ) ⊙ mask.
        for (gi, &(g, count)) in groups.iter().enumerate() {
            let mask = masks[g];
            let cols = g * units;
            let n = count * units;
            if !defer {
                masked_into(&mut b.hin, h_prev, mask);
                gemm(
                    (units, batch, n),
                    &b.hin,
                    (1, units),
                    &drec[cols..],
                    (width, 1),
                    1.0,
                    &mut grads.recurrent[cols..],
                    (width, 1),
                );
            }
            let product = |beta: f32, dst: &mut [f32]| {
                gemm_packed(batch, &drec[cols..], (width, 1), &packed[gi], beta, dst, (units, 1))
            };
            match mask {
                Some(m) => {
                    product(0.0, &mut b.dhin);
                    b.dh_prev
                        .iter_mut()
                        .zip(&b.dhin)
                        .zip(m)
                        .for_each(|((p, d), m)| *p += d * m);
                }
                None => product(1.0, &mut b.dh_prev),
            }
        }
        std::mem::swap(&mut b.dh, &mut b.dh_prev);
        if lstm {
            std::mem::swap(&mut b.dc, &mut b.dc_prev);
        }
    }
    // SAFETY: this chunk's rows, written once.
    unsafe { out.h0.rows_mut(0, &rows) }.copy_from_slice(&b.dh);
    if lstm {
        // SAFETY: as above.
        unsafe { out.c0.rows_mut(0, &rows) }.copy_from_slice(&b.dc);
    }
    grads
}

/// The recurrent matmuls of a step as `(first gate, gate count)` groups sharing one input: all
/// gates at once unless recurrent dropout masks each gate differently; the reset-before GRU's
/// candidate block is left out (its input `r ⊙ h` exists only after `r`).
fn recurrent_groups(spec: &ScanSpec) -> Vec<(usize, usize)> {
    let gates = if spec.kind == FusedKind::GruResetBefore {
        2
    } else {
        spec.kind.gates()
    };
    if spec.recurrent_masks <= 1 {
        vec![(0, gates)]
    } else {
        (0..gates).map(|g| (g, 1)).collect()
    }
}

/// Copies gate column block `g` of a `[B, W]` buffer into a `[B, U]` block.
pub(super) fn gather(dst: &mut [f32], src: &[f32], g: usize, units: usize, width: usize) {
    for (b, row) in dst.chunks_exact_mut(units).enumerate() {
        row.copy_from_slice(&src[b * width + g * units..b * width + (g + 1) * units]);
    }
}

/// Writes a `[B, U]` block into gate column block `g` of a `[B, W]` buffer.
pub(super) fn scatter(dst: &mut [f32], src: &[f32], g: usize, units: usize, width: usize) {
    for (b, row) in src.chunks_exact(units).enumerate() {
        dst[b * width + g * units..b * width + (g + 1) * units].copy_from_slice(row);
    }
}

#[cfg(test)]
mod tests {
    use super::chunks::{MAX_CHUNK_ROWS, SPLIT_ROWS, chunks, for_chunks};

    #[test]
    fn chunks_cover_the_batch_in_order_and_depend_only_on_its_size() {
        for batch in 0..1000 {
            let chunks = chunks(batch);
            let expected = match batch {
                b if b < SPLIT_ROWS => 1,
                b if b <= 2 * MAX_CHUNK_ROWS => 2,
                b => b.div_ceil(MAX_CHUNK_ROWS),
            };
            assert_eq!(chunks.len(), expected, "batch {batch}");
            assert_eq!(chunks[0].start, 0);
            assert_eq!(chunks.last().unwrap().end, batch);
            assert!(chunks.windows(2).all(|w| w[0].end == w[1].start));
            assert!(chunks.iter().all(|c| c.len() <= MAX_CHUNK_ROWS.max(SPLIT_ROWS)));
        }
    }

    #[test]
    fn for_chunks_returns_results_in_chunk_order() {
        for batch in [0, 5, 32, 100, 257, 1000] {
            let got = for_chunks(batch, |rows| rows);
            assert_eq!(got, chunks(batch), "batch {batch}");
        }
    }
}
