//! The fused recurrence on host buffers: the forward over all time steps and the hand-written
//! backward through time, for SimpleRNN, LSTM and GRU (both `reset_after` modes).
//!
//! Layouts (row-major `f32`): `xp [T, B, W]` (the projected inputs in time order, `W = G·U`),
//! `recurrent [U, W]`, `recurrent_bias [W]` (GRU `reset_after` only), `h0`/`c0 [B, U]`,
//! `mask [T, B]` (1 real, 0 masked), `recurrent_masks [R, B, U]` (`R` = 0, 1 or `G`).
//!
//! The forward writes one buffer of `[rows, B, U]` blocks: the `T` outputs in processing order,
//! the final states, then — when a backward will follow — a tape of what the backward needs
//! per step (gate activations and carried states, never inputs to recompute).

use std::marker::PhantomData;
use std::ops::Range;

use rayon::prelude::*;

use super::{math, pair};

/// Batches below this many rows run as one chunk. At and above it a call is split in at least
/// two chunks, run on two cores at once (see [`pair`](super::pair)): rows of a batch are
/// independent through the whole recurrence, so each chunk runs all time steps on its own.
/// Measured at the lecture's batch of 32 (2 cores): LSTM seq2seq −20% time per epoch, deep
/// SimpleRNN −9%.
const SPLIT_ROWS: usize = 32;

/// Matrix products below this many multiply-adds are not split over two cores: a split costs a
/// few microseconds.
pub(super) const SPLIT_PRODUCT: usize = 1 << 16;

/// Chunks have at most this many rows; a batch of more than two such chunks runs on the thread
/// pool (big inference batches, where a pool wake-up is small next to the work).
const MAX_CHUNK_ROWS: usize = 128;

/// The batch split into near-equal chunks: fixed by the batch size alone, never by the machine,
/// so that results (summed in chunk order) do not depend on the number of cores. One empty
/// chunk for an empty batch.
fn chunks(batch: usize) -> Vec<Range<usize>> {
    let n = if batch < SPLIT_ROWS {
        1
    } else {
        batch.div_ceil(MAX_CHUNK_ROWS).max(2)
    };
    (0..n).map(|i| i * batch / n..(i + 1) * batch / n).collect()
}

/// `work` on every chunk of the batch, results in chunk order: one chunk here, two on this
/// thread and the [`pair`](super::pair) partner, more on the thread pool.
fn for_chunks<R: Send>(batch: usize, work: impl Fn(Range<usize>) -> R + Sync) -> Vec<R> {
    let chunks = chunks(batch);
    match chunks.as_slice() {
        [only] => vec![work(only.clone())],
        [first, second] => {
            let (a, b) = pair::join(|| work(first.clone()), || work(second.clone()));
            vec![a, b]
        }
        _ => chunks.into_par_iter().map(&work).collect(),
    }
}

/// Batch rows `rows` of block `block` of a `[blocks, batch, inner]` buffer.
fn rows_of<'s>(buffer: &'s [f32], block: usize, batch: usize, inner: usize, rows: &Range<usize>) -> &'s [f32] {
    &buffer[(block * batch + rows.start) * inner..(block * batch + rows.end) * inner]
}

/// A `[blocks, batch, inner]` buffer that the batch chunks fill at the same time, each only
/// its own batch rows of every block.
struct SharedBlocks<'a> {
    ptr: *mut f32,
    len: usize,
    batch: usize,
    inner: usize,
    _buffer: PhantomData<&'a mut [f32]>,
}

// SAFETY: the chunks that share it write disjoint elements (see `rows_mut`).
unsafe impl Send for SharedBlocks<'_> {}
// SAFETY: as above.
unsafe impl Sync for SharedBlocks<'_> {}

impl<'a> SharedBlocks<'a> {
    fn new(buffer: &'a mut [f32], batch: usize, inner: usize) -> Self {
        SharedBlocks {
            ptr: buffer.as_mut_ptr(),
            len: buffer.len(),
            batch,
            inner,
            _buffer: PhantomData,
        }
    }

    /// Batch rows `rows` of block `block`, for writing.
    ///
    /// # Safety
    /// No other live reference may overlap the returned slice: concurrent callers pass disjoint
    /// `rows` (distinct chunks), and one caller drops the slice before asking for it again.
    #[allow(clippy::mut_from_ref)]
    unsafe fn rows_mut(&self, block: usize, rows: &Range<usize>) -> &mut [f32] {
        let start = (block * self.batch + rows.start) * self.inner;
        let end = (block * self.batch + rows.end) * self.inner;
        assert!(
            start <= end && end <= self.len,
            "rows {rows:?} of block {block} out of the buffer"
        );
        // SAFETY: in bounds (asserted); exclusive by the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), end - start) }
    }
}

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
}

impl FusedKind {
    /// Gate blocks in the kernels.
    pub fn gates(self) -> usize {
        match self {
            FusedKind::Simple => 1,
            FusedKind::Lstm => 4,
            FusedKind::GruResetAfter | FusedKind::GruResetBefore => 3,
        }
    }
    /// State tensors (`[h]` or `[h, c]`).
    pub fn states(self) -> usize {
        if self == FusedKind::Lstm { 2 } else { 1 }
    }
    /// `[B, U]` blocks saved per step for the backward.
    fn tape_blocks(self) -> usize {
        match self {
            FusedKind::Simple => 2,                                    // carried h, new h
            FusedKind::Lstm => 7,                                      // carried h, i, f, g, o, act(c), carried c
            FusedKind::GruResetAfter | FusedKind::GruResetBefore => 5, // carried h, z, r, candidate, recurrent h part
        }
    }
}

/// An activation the fused kernels evaluate (and differentiate from its output).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GateFn {
    /// `tanh`.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// Keras 3 `hard_sigmoid`: `clip(x / 6 + 0.5, 0, 1)`.
    HardSigmoid,
    /// `max(x, 0)`.
    Relu,
    /// Identity.
    Linear,
}

impl GateFn {
    /// Applies the activation in place: 512-bit vectors where the CPU has AVX-512F, 256-bit where
    /// it has AVX2, fused multiply-adds with either (the same results from both).
    fn apply(self, values: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") {
            // SAFETY: AVX-512F and FMA are present (checked just above).
            return unsafe { self.apply_avx512(values) };
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: AVX2 and FMA are present (checked just above).
            return unsafe { self.apply_avx2_fma(values) };
        }
        self.apply_portable::<false>(values);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn apply_avx512(self, values: &mut [f32]) {
        self.apply_portable::<true>(values);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn apply_avx2_fma(self, values: &mut [f32]) {
        self.apply_portable::<true>(values);
    }

    #[inline(always)]
    fn apply_portable<const FUSED: bool>(self, values: &mut [f32]) {
        match self {
            GateFn::Tanh => math::map_in_place(values, math::tanh::<FUSED>),
            GateFn::Sigmoid => math::map_in_place(values, math::sigmoid::<FUSED>),
            GateFn::HardSigmoid => math::map_in_place(values, |x| (x / 6.0 + 0.5).clamp(0.0, 1.0)),
            // Not `x.max(0.0)`, which maps NaN to 0: NaN passes, as in Burn's relu.
            GateFn::Relu => math::map_in_place(values, |x| if x.is_nan() || x > 0.0 { x } else { 0.0 }),
            GateFn::Linear => {}
        }
    }

    /// `grad ⊙ f'(x)` written from the output `y = f(x)`, into `out`.
    fn backprop(self, grad: &[f32], y: &[f32], out: &mut [f32]) {
        let zip = grad.iter().zip(y).zip(out.iter_mut());
        match self {
            GateFn::Tanh => zip.for_each(|((g, y), o)| *o = g * (1.0 - y * y)),
            GateFn::Sigmoid => zip.for_each(|((g, y), o)| *o = g * (y * (1.0 - y))),
            GateFn::HardSigmoid => zip.for_each(|((g, y), o)| *o = if *y > 0.0 && *y < 1.0 { g / 6.0 } else { 0.0 }),
            GateFn::Relu => zip.for_each(|((g, y), o)| *o = if y.is_nan() || *y > 0.0 { *g } else { 0.0 }),
            GateFn::Linear => zip.for_each(|((g, _), o)| *o = *g),
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
}

impl ScanSpec {
    /// Whether the backward computes the recurrent kernel's gradient after the loop, as one
    /// product over all steps, instead of one small product per step. Possible when the input of
    /// the recurrent matmul at step `s` is exactly the output of step `s - 1` (no masks, no
    /// recurrent dropout, outputs in input order) and its gradient is the gate gradient written to
    /// `xp` (no recurrent bias: SimpleRNN, LSTM).
    fn defers_recurrent_grad(&self) -> bool {
        matches!(self.kind, FusedKind::Simple | FusedKind::Lstm)
            && !self.masked
            && self.recurrent_masks == 0
            && !self.go_backwards
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
            self.time * spec.kind.tape_blocks()
        } else {
            0
        };
        self.time + spec.kind.states() + tape
    }
    fn tape_row(&self, spec: &ScanSpec, step: usize, slot: usize) -> usize {
        self.time + spec.kind.states() + step * spec.kind.tape_blocks() + slot
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

/// `c = beta·c + a·b` for an `m×k` by `k×n` product with element strides (rows, columns).
#[allow(clippy::too_many_arguments)]
pub(super) fn gemm(
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
        // gemm's convention: dst = alpha·dst + beta·lhs·rhs (dst not read when read_dst = false).
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            csc as isize,
            rsc as isize,
            beta != 0.0,
            a.as_ptr(),
            csa as isize,
            rsa as isize,
            b.as_ptr(),
            csb as isize,
            rsb as isize,
            beta,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `out = h ⊙ mask` (or a copy of `h` without a mask).
fn masked_into(out: &mut [f32], h: &[f32], mask: Option<&[f32]>) {
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

/// Runs the recurrence. `out` has `dims.forward_rows(spec) · B · U` elements.
pub fn forward(spec: &ScanSpec, dims: Dims, inputs: &Inputs<'_>, out: &mut [f32]) {
    assert_eq!(out.len(), dims.forward_rows(spec) * dims.block());
    let out = SharedBlocks::new(out, dims.batch, dims.units);
    for_chunks(dims.batch, |rows| forward_chunk(spec, dims, inputs, rows, &out));
}

/// [`forward`] for batch rows `rows`: writes only those rows of every block of `out`.
fn forward_chunk(spec: &ScanSpec, dims: Dims, inputs: &Inputs<'_>, rows: Range<usize>, out: &SharedBlocks<'_>) {
    let Dims { time, units, .. } = dims;
    let full = dims.batch;
    let batch = rows.len();
    let gates = spec.kind.gates();
    let width = gates * units;
    let block = batch * units;

    let mut h = rows_of(inputs.h0, 0, full, units, &rows).to_vec();
    let mut c = if spec.kind == FusedKind::Lstm {
        rows_of(inputs.c0, 0, full, units, &rows).to_vec()
    } else {
        Vec::new()
    };
    let mut y_prev = vec![0.0f32; block];
    let mut pre = vec![0.0f32; batch * width]; // gate pre-activations, then activations
    let gru = matches!(spec.kind, FusedKind::GruResetAfter | FusedKind::GruResetBefore);
    let mut rec = vec![0.0f32; if gru { batch * width } else { 0 }]; // GRU: h·U (+ bias)
    let mut hin = vec![0.0f32; block];
    let mut h_new = vec![0.0f32; block];
    let mut c_new = vec![0.0f32; if spec.kind == FusedKind::Lstm { block } else { 0 }];
    let mut c_act = c_new.clone();
    let mut extra = vec![0.0f32; block]; // GRU: recurrent h part (after) or r ⊙ h (before); LSTM: g
    let groups = recurrent_groups(spec);

    for step in 0..time {
        let ti = if spec.go_backwards { time - 1 - step } else { step };
        let xp = rows_of(inputs.xp, ti, full, width, &rows);
        let rm = |g: usize| gate_mask(inputs.recurrent_masks, spec.recurrent_masks, g, dims, &rows);

        // Recurrent matmuls (the reset-before GRU's candidate block waits for r). SimpleRNN and
        // LSTM add h·U onto a copy of xp in the product itself; the GRU keeps h·U apart.
        let (target, beta): (&mut [f32], f32) = match spec.kind {
            FusedKind::Simple => {
                h_new.copy_from_slice(xp);
                (&mut h_new, 1.0)
            }
            FusedKind::Lstm => {
                pre.copy_from_slice(xp);
                (&mut pre, 1.0)
            }
            FusedKind::GruResetAfter | FusedKind::GruResetBefore => (&mut rec, 0.0),
        };
        for &(g, count) in &groups {
            let h_in: &[f32] = match rm(g) {
                Some(mask) => {
                    masked_into(&mut hin, &h, Some(mask));
                    &hin
                }
                None => &h,
            };
            let cols = g * units;
            gemm(
                (batch, units, count * units),
                h_in,
                (units, 1),
                &inputs.recurrent[cols..],
                (width, 1),
                beta,
                &mut target[cols..],
                (width, 1),
            );
        }
        if !inputs.recurrent_bias.is_empty() {
            for row in rec.chunks_exact_mut(width) {
                row.iter_mut().zip(inputs.recurrent_bias).for_each(|(r, b)| *r += b);
            }
        }

        match spec.kind {
            FusedKind::Simple => spec.activation.apply(&mut h_new),
            FusedKind::Lstm => {
                // Two long vectorized passes instead of three short calls per row: g's
                // pre-activations are set aside, the gate activation runs over the whole buffer,
                // the candidate activation over g's copy, which then goes back in place.
                gather(&mut extra, &pre, 2, units, width);
                spec.recurrent_activation.apply(&mut pre);
                spec.activation.apply(&mut extra);
                scatter(&mut pre, &extra, 2, units, width);
                for b in 0..batch {
                    let row = &pre[b * width..(b + 1) * width];
                    let (i, f, g) = (&row[..units], &row[units..2 * units], &row[2 * units..3 * units]);
                    let r = b * units..(b + 1) * units;
                    let (cp, cn) = (&c[r.clone()], &mut c_new[r.clone()]);
                    for j in 0..units {
                        cn[j] = f[j] * cp[j] + i[j] * g[j];
                    }
                }
                c_act.copy_from_slice(&c_new);
                spec.activation.apply(&mut c_act);
                for b in 0..batch {
                    let o = &pre[b * width + 3 * units..(b + 1) * width];
                    let r = b * units..(b + 1) * units;
                    h_new[r.clone()]
                        .iter_mut()
                        .zip(o)
                        .zip(&c_act[r])
                        .for_each(|((hn, o), t)| *hn = o * t);
                }
            }
            FusedKind::GruResetAfter | FusedKind::GruResetBefore => {
                // z and r. The gate activation runs once over the whole buffer (vectorized end to
                // end); what it computes in the candidate block is overwritten below.
                for b in 0..batch {
                    let row = b * width..b * width + 2 * units;
                    pre[row.clone()]
                        .iter_mut()
                        .zip(&xp[row.clone()])
                        .zip(&rec[row])
                        .for_each(|((o, x), r)| *o = x + r);
                }
                spec.recurrent_activation.apply(&mut pre);
                if spec.kind == FusedKind::GruResetBefore {
                    // extra = r ⊙ (masked h), then its product with U_h into rec's candidate block.
                    masked_into(&mut hin, &h, rm(2));
                    for b in 0..batch {
                        let r = &pre[b * width + units..b * width + 2 * units];
                        let s = b * units..(b + 1) * units;
                        extra[s.clone()]
                            .iter_mut()
                            .zip(r)
                            .zip(&hin[s])
                            .for_each(|((e, r), h)| *e = r * h);
                    }
                    let cols = 2 * units;
                    gemm(
                        (batch, units, units),
                        &extra,
                        (units, 1),
                        &inputs.recurrent[cols..],
                        (width, 1),
                        0.0,
                        &mut rec[cols..],
                        (width, 1),
                    );
                }
                for b in 0..batch {
                    let (row, s) = (b * width, b * units..(b + 1) * units);
                    let r = &pre[row + units..row + 2 * units];
                    let xh = &xp[row + 2 * units..row + width];
                    let rh = &rec[row + 2 * units..row + width];
                    let cand = &mut h_new[s.clone()];
                    if spec.kind == FusedKind::GruResetAfter {
                        extra[s].copy_from_slice(rh);
                        cand.iter_mut()
                            .zip(xh)
                            .zip(r.iter().zip(rh))
                            .for_each(|((o, x), (r, h))| *o = x + r * h);
                    } else {
                        cand.iter_mut().zip(xh).zip(rh).for_each(|((o, x), h)| *o = x + h);
                    }
                }
                spec.activation.apply(&mut h_new); // h_new holds the candidate
                for b in 0..batch {
                    let row = b * width;
                    let s = b * units..(b + 1) * units;
                    // pre's candidate block keeps the candidate for the tape
                    pre[row + 2 * units..row + width].copy_from_slice(&h_new[s.clone()]);
                    let z = &pre[row..row + units];
                    let (hp, cand) = (&h[s.clone()], &mut h_new[s]);
                    for j in 0..units {
                        cand[j] = z[j] * hp[j] + (1.0 - z[j]) * cand[j];
                    }
                }
            }
        }

        // Masks: carry the states, repeat (or zero) the output.
        // SAFETY: this chunk's rows; dropped before the next `rows_mut`.
        let y_out = unsafe { out.rows_mut(step, &rows) };
        if spec.masked {
            let m = rows_of(inputs.mask, ti, full, 1, &rows);
            for (b, &mb) in m.iter().enumerate() {
                for j in b * units..(b + 1) * units {
                    let hn = h_new[j];
                    y_out[j] = if spec.zero_output_for_mask {
                        hn * mb
                    } else {
                        y_prev[j] + (hn - y_prev[j]) * mb
                    };
                    h[j] += (hn - h[j]) * mb;
                    if spec.kind == FusedKind::Lstm {
                        c[j] += (c_new[j] - c[j]) * mb;
                    }
                }
            }
            y_prev.copy_from_slice(y_out);
        } else {
            y_out.copy_from_slice(&h_new);
            h.copy_from_slice(&h_new);
            if spec.kind == FusedKind::Lstm {
                c.copy_from_slice(&c_new);
            }
        }

        if spec.save_tape {
            let put = |slot: usize, data: &[f32]| {
                // SAFETY: this chunk's rows of a block no other borrow of this chunk holds.
                unsafe { out.rows_mut(dims.tape_row(spec, step, slot), &rows) }.copy_from_slice(data);
            };
            put(0, &h);
            match spec.kind {
                FusedKind::Simple => put(1, &h_new),
                FusedKind::Lstm => {
                    for g in 0..4 {
                        gather(&mut hin, &pre, g, units, width);
                        put(1 + g, &hin);
                    }
                    put(5, &c_act);
                    put(6, &c);
                }
                FusedKind::GruResetAfter | FusedKind::GruResetBefore => {
                    for g in 0..3 {
                        gather(&mut hin, &pre, g, units, width);
                        put(1 + g, &hin);
                    }
                    put(4, &extra);
                }
            }
        }
    }
    // SAFETY: this chunk's rows of the final-state blocks.
    unsafe { out.rows_mut(time, &rows) }.copy_from_slice(&h);
    if spec.kind == FusedKind::Lstm {
        // SAFETY: as above.
        unsafe { out.rows_mut(time + 1, &rows) }.copy_from_slice(&c);
    }
}

/// Backward through time. `forward_out` is what [`forward`] wrote with `save_tape`; `grad` is the
/// upstream gradient of its first `T + states` rows.
pub fn backward(spec: &ScanSpec, dims: Dims, inputs: &Inputs<'_>, forward_out: &[f32], grad: &[f32]) -> Grads {
    let width = spec.kind.gates() * dims.units;
    let mut grads = Grads {
        xp: vec![0.0; dims.time * dims.batch * width],
        recurrent: vec![0.0; dims.units * width],
        recurrent_bias: vec![0.0; width],
        h0: vec![0.0; dims.block()],
        c0: vec![0.0; dims.block()],
    };
    let partial_sums: Vec<ChunkSums> = {
        let shared = ChunkOutputs {
            xp: SharedBlocks::new(&mut grads.xp, dims.batch, width),
            h0: SharedBlocks::new(&mut grads.h0, dims.batch, dims.units),
            c0: SharedBlocks::new(&mut grads.c0, dims.batch, dims.units),
        };
        for_chunks(dims.batch, |rows| {
            backward_chunk(spec, dims, inputs, forward_out, grad, rows, &shared)
        })
    };
    let Dims { time, batch, units } = dims;
    if spec.defers_recurrent_grad() && time > 0 {
        // dU = h0ᵀ·dZ[0] + Y[0..T-1]ᵀ·dZ[1..T]: the outputs `Y` (rows 0..T of the forward
        // buffer) are the recurrent inputs of the following steps, contiguous over steps and rows.
        // Rows of dU in two halves on two cores (results do not depend on the split: each
        // element is one product over all steps and rows either way).
        let (dz_first, dz_rest) = grads.xp.split_at(batch * width);
        let ys = &forward_out[..(time - 1) * batch * units];
        let rows_of_du = |du: &mut [f32], first_unit: usize| {
            for (h, dz, rows) in [(inputs.h0, dz_first, batch), (ys, dz_rest, (time - 1) * batch)] {
                if rows == 0 || du.is_empty() {
                    continue;
                }
                gemm(
                    (du.len() / width, rows, width),
                    &h[first_unit..],
                    (1, units),
                    dz,
                    (width, 1),
                    1.0,
                    du,
                    (width, 1),
                );
            }
        };
        if units * time * batch * width >= SPLIT_PRODUCT {
            let half = units / 2;
            let (du_first, du_second) = grads.recurrent.split_at_mut(half * width);
            pair::join(|| rows_of_du(du_first, 0), || rows_of_du(du_second, half));
        } else {
            rows_of_du(&mut grads.recurrent, 0);
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
}

/// One chunk's share of the weight gradients (summed over its rows).
struct ChunkSums {
    recurrent: Vec<f32>,
    recurrent_bias: Vec<f32>,
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
    let tape = |step: usize, slot: usize| rows_of(forward_out, dims.tape_row(spec, step, slot), full, units, &rows);
    let h0 = rows_of(inputs.h0, 0, full, units, &rows);
    let c0 = if lstm {
        rows_of(inputs.c0, 0, full, units, &rows)
    } else {
        &[][..]
    };

    let mut grads = ChunkSums {
        recurrent: vec![0.0; units * width],
        recurrent_bias: vec![0.0; width],
    };
    // Carried gradients: of the carried h and c after the step, and of the previous output.
    let mut dh = rows_of(grad, time, full, units, &rows).to_vec();
    let mut dc = if lstm {
        rows_of(grad, time + 1, full, units, &rows).to_vec()
    } else {
        Vec::new()
    };
    let mut dy = vec![0.0f32; block];
    let mut dh_new = vec![0.0f32; block];
    let mut dc_new = vec![0.0f32; if lstm { block } else { 0 }];
    let mut dh_prev = vec![0.0f32; block];
    let mut dc_prev = vec![0.0f32; if lstm { block } else { 0 }];
    let gru = matches!(spec.kind, FusedKind::GruResetAfter | FusedKind::GruResetBefore);
    let mut drec = vec![0.0f32; if gru { batch * width } else { 0 }]; // GRU: gradient of h·U (+ bias)
    let mut hin = vec![0.0f32; block];
    let mut dhin = vec![0.0f32; block];
    let mut tmp = vec![0.0f32; block];
    let mut tmp2 = vec![0.0f32; block];
    let mut dr = vec![0.0f32; block];
    let groups = recurrent_groups(spec);
    let defer = spec.defers_recurrent_grad();

    for step in (0..time).rev() {
        let ti = if spec.go_backwards { time - 1 - step } else { step };
        let h_prev: &[f32] = if step == 0 { h0 } else { tape(step - 1, 0) };
        let g_y = rows_of(grad, step, full, units, &rows);
        let rm = |g: usize| gate_mask(inputs.recurrent_masks, spec.recurrent_masks, g, dims, &rows);

        // Undo the mask blend.
        if spec.masked {
            let m = rows_of(inputs.mask, ti, full, 1, &rows);
            for (b, &mb) in m.iter().enumerate() {
                for j in b * units..(b + 1) * units {
                    let gy = g_y[j] + dy[j];
                    dh_new[j] = (gy + dh[j]) * mb;
                    dy[j] = if spec.zero_output_for_mask {
                        0.0
                    } else {
                        gy * (1.0 - mb)
                    };
                    dh_prev[j] = dh[j] * (1.0 - mb);
                    if lstm {
                        dc_new[j] = dc[j] * mb;
                        dc_prev[j] = dc[j] * (1.0 - mb);
                    }
                }
            }
        } else {
            dh_new.iter_mut().zip(g_y).zip(&dh).for_each(|((o, g), d)| *o = g + d);
            dh_prev.fill(0.0);
            if lstm {
                dc_new.copy_from_slice(&dc);
                dc_prev.fill(0.0);
            }
        }

        // Cell: gradients of the gate pre-activations (= of xp), written in place.
        // SAFETY: this chunk's rows of step `ti`, dropped at the end of the step.
        let dz = unsafe { out.xp.rows_mut(ti, &rows) };
        match spec.kind {
            FusedKind::Simple => {
                spec.activation.backprop(&dh_new, tape(step, 1), dz);
            }
            FusedKind::Lstm => {
                let (i, f, g, o) = (tape(step, 1), tape(step, 2), tape(step, 3), tape(step, 4));
                let c_act = tape(step, 5);
                let c_prev: &[f32] = if step == 0 { c0 } else { tape(step - 1, 6) };
                // dc_new += dh_new ⊙ o ⊙ act'(c)
                tmp.iter_mut().zip(&dh_new).zip(o).for_each(|((t, d), o)| *t = d * o);
                spec.activation.backprop(&tmp, c_act, &mut tmp2);
                dc_new.iter_mut().zip(&tmp2).for_each(|(d, t)| *d += t);
                // Gate k's pre-activation gradient: act'(gate) ⊙ a ⊙ b.
                let mut gate = |k: usize, a: &[f32], b: &[f32], y: &[f32], act: GateFn| {
                    tmp.iter_mut().zip(a).zip(b).for_each(|((t, a), b)| *t = a * b);
                    act.backprop(&tmp, y, &mut tmp2);
                    scatter(&mut *dz, &tmp2, k, units, width);
                };
                let ra = spec.recurrent_activation;
                gate(0, &dc_new, g, i, ra);
                gate(1, &dc_new, c_prev, f, ra);
                gate(2, &dc_new, i, g, spec.activation);
                gate(3, &dh_new, c_act, o, ra);
                dc_prev
                    .iter_mut()
                    .zip(&dc_new)
                    .zip(f)
                    .for_each(|((p, d), f)| *p += d * f);
            }
            FusedKind::GruResetAfter | FusedKind::GruResetBefore => {
                let (z, r, cand, extra) = (tape(step, 1), tape(step, 2), tape(step, 3), tape(step, 4));
                let ra = spec.recurrent_activation;
                // z
                for j in 0..block {
                    tmp[j] = dh_new[j] * (h_prev[j] - cand[j]);
                    dh_prev[j] += dh_new[j] * z[j];
                }
                ra.backprop(&tmp, z, &mut tmp2);
                scatter(&mut *dz, &tmp2, 0, units, width);
                // candidate
                tmp.iter_mut()
                    .zip(&dh_new)
                    .zip(z)
                    .for_each(|((t, d), z)| *t = d * (1.0 - z));
                spec.activation.backprop(&tmp, cand, &mut tmp2); // tmp2 = d(candidate pre-activation)
                scatter(&mut *dz, &tmp2, 2, units, width);
                if spec.kind == FusedKind::GruResetAfter {
                    // d(rec_h) = da ⊙ r ; dr = da ⊙ rec_h
                    tmp.iter_mut().zip(&tmp2).zip(extra).for_each(|((t, a), e)| *t = a * e);
                    ra.backprop(&tmp, r, &mut dr);
                    scatter(&mut *dz, &dr, 1, units, width);
                    drec.copy_from_slice(dz);
                    for b in 0..batch {
                        let s = b * units..(b + 1) * units;
                        let dst = &mut drec[b * width + 2 * units..(b + 1) * width];
                        dst.iter_mut()
                            .zip(&tmp2[s.clone()])
                            .zip(&r[s])
                            .for_each(|((o, a), r)| *o = a * r);
                    }
                } else {
                    // Candidate block: its recurrent input is extra = r ⊙ hm2.
                    let cols = 2 * units;
                    gemm(
                        (units, batch, units),
                        extra,
                        (1, units),
                        &tmp2,
                        (units, 1),
                        1.0,
                        &mut grads.recurrent[cols..],
                        (width, 1),
                    );
                    gemm(
                        (batch, units, units),
                        &tmp2,
                        (units, 1),
                        &inputs.recurrent[cols..],
                        (1, width),
                        0.0,
                        &mut dhin,
                        (units, 1),
                    );
                    // d(extra) = dhin: dr = dhin ⊙ hm2, d(hm2) = dhin ⊙ r
                    masked_into(&mut hin, h_prev, rm(2));
                    tmp.iter_mut().zip(&dhin).zip(&hin).for_each(|((t, d), h)| *t = d * h);
                    ra.backprop(&tmp, r, &mut dr);
                    scatter(&mut *dz, &dr, 1, units, width);
                    let m2 = rm(2);
                    for j in 0..block {
                        dh_prev[j] += dhin[j] * r[j] * m2.map_or(1.0, |m| m[j]);
                    }
                    drec.copy_from_slice(dz);
                }
            }
        }

        // SimpleRNN and LSTM: the recurrent part's gradient is the gate gradient itself.
        let drec: &[f32] = if gru { &drec } else { dz };
        if !inputs.recurrent_bias.is_empty() {
            for row in drec.chunks_exact(width) {
                grads.recurrent_bias.iter_mut().zip(row).for_each(|(g, d)| *g += d);
            }
        }

        // Recurrent matmuls: dU += hinᵀ·drec (unless `backward` does it after the loop),
        // dh_prev += (drec·Uᵀ) ⊙ mask.
        for &(g, count) in &groups {
            let mask = rm(g);
            let cols = g * units;
            let n = count * units;
            if !defer {
                masked_into(&mut hin, h_prev, mask);
                gemm(
                    (units, batch, n),
                    &hin,
                    (1, units),
                    &drec[cols..],
                    (width, 1),
                    1.0,
                    &mut grads.recurrent[cols..],
                    (width, 1),
                );
            }
            let product = |beta: f32, dst: &mut [f32]| {
                gemm(
                    (batch, n, units),
                    &drec[cols..],
                    (width, 1),
                    &inputs.recurrent[cols..],
                    (1, width),
                    beta,
                    dst,
                    (units, 1),
                )
            };
            match mask {
                Some(m) => {
                    product(0.0, &mut dhin);
                    dh_prev.iter_mut().zip(&dhin).zip(m).for_each(|((p, d), m)| *p += d * m);
                }
                None => product(1.0, &mut dh_prev),
            }
        }
        std::mem::swap(&mut dh, &mut dh_prev);
        if lstm {
            std::mem::swap(&mut dc, &mut dc_prev);
        }
    }
    // SAFETY: this chunk's rows, written once.
    unsafe { out.h0.rows_mut(0, &rows) }.copy_from_slice(&dh);
    if lstm {
        // SAFETY: as above.
        unsafe { out.c0.rows_mut(0, &rows) }.copy_from_slice(&dc);
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
fn gather(dst: &mut [f32], src: &[f32], g: usize, units: usize, width: usize) {
    for (b, row) in dst.chunks_exact_mut(units).enumerate() {
        row.copy_from_slice(&src[b * width + g * units..b * width + (g + 1) * units]);
    }
}

/// Writes a `[B, U]` block into gate column block `g` of a `[B, W]` buffer.
fn scatter(dst: &mut [f32], src: &[f32], g: usize, units: usize, width: usize) {
    for (b, row) in src.chunks_exact(units).enumerate() {
        dst[b * width + g * units..b * width + (g + 1) * units].copy_from_slice(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
