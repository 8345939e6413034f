//! The large-batch path: batch rows in the vector lanes.
//!
//! The row path ([`super::engine`]) vectorizes over a layer's columns, so each gate block is
//! padded to 16 lanes: 20 units compute 32, and 40% of the products and activations are
//! padding. With many rows, the rows themselves fill the lanes instead: a block of [`ROWS`] rows
//! runs the whole model feature-major (`[feature][row]`), every value of a layer is one vector of
//! [`ROWS`] rows, products broadcast one weight against a vector of rows, and nothing is padded
//! but the last block's missing rows.
//!
//! The numbers are those of the row path, bit for bit: every output starts from the same bias,
//! accumulates the same products over the inner dimension in the same order with the same fused
//! multiply-adds, and goes through the same activation functions. So the choice between the two
//! paths (made from the number of rows) never changes a result; `tests/predictor.rs` checks that
//! each row of a large batch equals the same row predicted alone.

use super::compile::{Affine, HostLayer, Recurrence, Recurrent};
use super::engine::{self, Dims, GEMM_FROM_INNER};
use crate::Activation;
use crate::scan::math;

/// Rows per block: one 16-lane AVX-512 vector (two AVX2 ones). LLVM keeps [`columns`]'
/// accumulators in vector registers at this width; at 32 rows (or with more columns per array)
/// it leaves them on the stack as scalars, several times slower.
pub(super) const ROWS: usize = 16;

/// One value for each row of a block.
type Lanes = [f32; ROWS];

const ZERO: Lanes = [0.0; ROWS];

/// Whether this path runs `layers` on a chunk of `rows` rows: enough rows to fill a block, and
/// only layers whose products the row path also runs as register blocks (inner dimensions below
/// [`GEMM_FROM_INNER`]; `gemm` sums in another order) and that act per time step (no Flatten).
pub(super) fn applies(layers: &[HostLayer], rows: usize) -> bool {
    rows >= ROWS
        && layers.iter().all(|layer| match layer {
            HostLayer::Recurrent(r) => r.input < GEMM_FROM_INNER && r.units < GEMM_FROM_INNER,
            HostLayer::Dense(a) => a.input < GEMM_FROM_INNER,
            HostLayer::Flatten => false,
        })
}

/// [`super::engine::run`] on this path: `x` batch-major (`[rows, time, width]` or
/// `[rows, width]`), `states` one buffer `[rows, states·units]` per recurrent layer, updated.
#[inline(always)]
pub(super) fn run<const F: bool>(
    layers: &[HostLayer],
    x: &[f32],
    dims: Dims,
    states: &mut [Vec<f32>],
) -> (Vec<f32>, Dims) {
    let time = dims.time.unwrap_or(1);
    let mut out = Vec::new();
    let mut out_dims = dims;
    for first in (0..dims.rows).step_by(ROWS) {
        let rows = ROWS.min(dims.rows - first);
        // The block's input, feature-major per step: [time][width] vectors of rows.
        let mut value = vec![ZERO; time * dims.width];
        for r in 0..rows {
            let row = &x[(first + r) * time * dims.width..(first + r + 1) * time * dims.width];
            for (v, &x) in value.iter_mut().zip(row) {
                v[r] = x;
            }
        }
        let mut block_dims = Dims { rows: ROWS, ..dims };
        let mut state = states.iter_mut();
        for layer in layers {
            (value, block_dims) = match layer {
                HostLayer::Recurrent(rec) => {
                    let buffer = state.next().expect("one state per recurrent layer");
                    recurrent::<F>(rec, &value, block_dims, buffer, first, rows)
                }
                HostLayer::Dense(a) => (
                    dense::<F>(a, &value),
                    Dims {
                        width: a.units,
                        ..block_dims
                    },
                ),
                HostLayer::Flatten => unreachable!("`applies` refuses Flatten"),
            };
        }
        if first == 0 {
            out_dims = Dims {
                rows: dims.rows,
                ..block_dims
            };
            out = vec![0.0; dims.rows * block_dims.time.unwrap_or(1) * block_dims.width];
        }
        // Back to batch-major: row r's values are [time][width] in order.
        let per_row = block_dims.time.unwrap_or(1) * block_dims.width;
        for r in 0..rows {
            for (o, v) in out[(first + r) * per_row..(first + r + 1) * per_row]
                .iter_mut()
                .zip(&value)
            {
                *o = v[r];
            }
        }
    }
    (out, out_dims)
}

/// `out[c] = start[c] + Σₖ w[k·ld + c] · x[k]` for the `count` columns from `col`, eight
/// columns at a time held in registers, `k` in order (the row path's order). `start` is
/// `Some(bias)` (each column's value in every row) or `None` (`out` itself: accumulate).
#[inline(always)]
fn product<const F: bool>(
    start: Option<&[f32]>,
    w: &[f32],
    ld: usize,
    x: &[Lanes],
    col: usize,
    count: usize,
    out: &mut [Lanes],
) {
    let mut c = col;
    let end = col + count;
    while c < end {
        match end - c {
            8.. => {
                columns::<F, 4, 4>(start, w, ld, x, c, out);
                c += 8;
            }
            4.. => {
                columns::<F, 4, 0>(start, w, ld, x, c, out);
                c += 4;
            }
            _ => {
                columns::<F, 1, 0>(start, w, ld, x, c, out);
                c += 1;
            }
        }
    }
}

/// [`product`] for exactly `A + B` columns from `col`. The accumulators are two arrays of at
/// most four vectors: LLVM keeps arrays that small in registers, larger ones on the stack.
#[inline(always)]
fn columns<const F: bool, const A: usize, const B: usize>(
    start: Option<&[f32]>,
    w: &[f32],
    ld: usize,
    x: &[Lanes],
    col: usize,
    out: &mut [Lanes],
) {
    let mut acc0 = [ZERO; A];
    let mut acc1 = [ZERO; B];
    match start {
        // A broadcast into registers. (Written as a loop over `out`, LLVM vectorizes it across
        // the columns instead: one scatter per lane.)
        Some(bias) => {
            for q in 0..A {
                acc0[q] = [bias[col + q]; ROWS];
            }
            for q in 0..B {
                acc1[q] = [bias[col + A + q]; ROWS];
            }
        }
        None => {
            acc0.copy_from_slice(&out[col..col + A]);
            acc1.copy_from_slice(&out[col + A..col + A + B]);
        }
    }
    assert!(x.is_empty() || (x.len() - 1) * ld + col + A + B <= w.len());
    for (k, xv) in x.iter().enumerate() {
        // SAFETY: k·ld + col + A + B <= w.len() for every k < x.len() (asserted above).
        let wk = unsafe { w.get_unchecked(k * ld + col..k * ld + col + A + B) };
        for q in 0..A {
            let wv = wk[q];
            for l in 0..ROWS {
                // The row path computes xl.mul_add(wv, s): the same single rounding of xl·wv + s.
                acc0[q][l] = if F {
                    wv.mul_add(xv[l], acc0[q][l])
                } else {
                    wv * xv[l] + acc0[q][l]
                };
            }
        }
        for q in 0..B {
            let wv = wk[A + q];
            for l in 0..ROWS {
                acc1[q][l] = if F {
                    wv.mul_add(xv[l], acc1[q][l])
                } else {
                    wv * xv[l] + acc1[q][l]
                };
            }
        }
    }
    out[col..col + A].copy_from_slice(&acc0);
    out[col + A..col + A + B].copy_from_slice(&acc1);
}

/// `f` on every lane of `v`.
#[inline(always)]
fn activate<const F: bool>(act: Activation, v: &mut [Lanes]) {
    match act {
        Activation::Softmax => {
            // Over the features of each row, in the row path's order.
            let mut max = [f32::NEG_INFINITY; ROWS];
            for f in v.iter() {
                for (m, &x) in max.iter_mut().zip(f) {
                    *m = m.max(x);
                }
            }
            for f in v.iter_mut() {
                for (x, &m) in f.iter_mut().zip(&max) {
                    *x = math::exp::<F>(*x - m);
                }
            }
            let mut sum = [0.0f32; ROWS];
            for f in v.iter() {
                for (s, &x) in sum.iter_mut().zip(f) {
                    *s += x;
                }
            }
            for f in v.iter_mut() {
                for (x, &s) in f.iter_mut().zip(&sum) {
                    *x /= s;
                }
            }
        }
        // Elementwise: the row path's loops over the flattened values.
        _ => engine::activate::<F>(act, v.as_flattened_mut()),
    }
}

/// `act(x · kernel + bias)` at every step.
#[inline(always)]
fn dense<const F: bool>(a: &Affine, x: &[Lanes]) -> Vec<Lanes> {
    let ld = a.bias.len(); // the padded width of the kernel's rows
    let steps = x.len() / a.input;
    let mut out = vec![ZERO; steps * a.units];
    for (xt, yt) in x.chunks_exact(a.input).zip(out.chunks_exact_mut(a.units)) {
        product::<F>(Some(&a.bias), &a.kernel, ld, xt, 0, a.units, yt);
        activate::<F>(a.activation, yt);
    }
    out
}

/// The rows `first..first + rows` of `state` (`[rows, count]`, batch-major) as `count` vectors.
#[inline(always)]
fn load_state(state: &[f32], count: usize, first: usize, rows: usize) -> Vec<Lanes> {
    let mut out = vec![ZERO; count];
    for row in 0..rows {
        for (v, &s) in out
            .iter_mut()
            .zip(&state[(first + row) * count..(first + row + 1) * count])
        {
            v[row] = s;
        }
    }
    out
}

/// [`load_state`] backwards: `values` into rows `first..first + rows` of `state`.
#[inline(always)]
fn store_state<'a>(state: &mut [f32], values: impl Iterator<Item = &'a Lanes> + Clone, first: usize, rows: usize) {
    let count = values.clone().count();
    for row in 0..rows {
        let to = &mut state[(first + row) * count..(first + row + 1) * count];
        for (s, v) in to.iter_mut().zip(values.clone()) {
            *s = v[row];
        }
    }
}

/// `a[i] = f(a[i], b[i])` on every lane. (Elementwise loops go over the flattened values: over
/// `[Lanes]` LLVM vectorizes across the vectors instead, with a gather and a scatter per lane.)
#[inline(always)]
fn zip_with(a: &mut [Lanes], b: &[Lanes], f: impl Fn(f32, f32) -> f32) {
    for (x, &y) in a.as_flattened_mut().iter_mut().zip(b.as_flattened()) {
        *x = f(*x, y);
    }
}

/// `a[i] = f(a[i], b[i], c[i])` on every lane, as [`zip_with`].
#[inline(always)]
fn zip3_with(a: &mut [Lanes], b: &[Lanes], c: &[Lanes], f: impl Fn(f32, f32, f32) -> f32) {
    for ((x, &y), &z) in a
        .as_flattened_mut()
        .iter_mut()
        .zip(b.as_flattened())
        .zip(c.as_flattened())
    {
        *x = f(*x, y, z);
    }
}

/// One recurrent layer over the block's `x` (`[time][input]` vectors), from and into rows
/// `first..first + rows` of `state` (`[rows, states·units]`, batch-major).
#[inline(always)]
fn recurrent<const F: bool>(
    r: &Recurrent,
    x: &[Lanes],
    dims: Dims,
    state: &mut [f32],
    first: usize,
    rows: usize,
) -> (Vec<Lanes>, Dims) {
    let time = dims.time.unwrap_or(1);
    let keep = r.return_sequences && dims.time.is_some();
    let mut seq = Vec::with_capacity(if keep { time * r.units } else { 0 });
    let h = match r.kind {
        Recurrence::Simple | Recurrence::Lstm => stacked::<F>(r, x, state, first, rows, keep.then_some(&mut seq)),
        Recurrence::Gru { .. } => gru::<F>(r, x, state, first, rows, keep.then_some(&mut seq)),
    };
    let out_dims = Dims {
        rows: dims.rows,
        time: if keep { dims.time } else { None },
        width: r.units,
    };
    (if keep { seq } else { h }, out_dims)
}

/// A SimpleRNN or LSTM layer: one product per step over `[x; h]` with the stacked, unpadded
/// weights (gates at `q·units`). Appends each step's `h` to `seq` when given; returns the last.
#[inline(always)]
fn stacked<const F: bool>(
    r: &Recurrent,
    x: &[Lanes],
    state: &mut [f32],
    first: usize,
    rows: usize,
    mut seq: Option<&mut Vec<Lanes>>,
) -> Vec<Lanes> {
    let (input, u) = (r.input, r.units);
    let width = r.kind.gates() * u;
    let lstm = r.kind == Recurrence::Lstm;
    let carried = load_state(state, r.kind.states() * u, first, rows);
    // [x; h]: the step's input, then h (which stays there between steps); c apart.
    let mut xh = vec![ZERO; input];
    xh.extend_from_slice(&carried[..u]);
    let mut c = carried[u..].to_vec();
    let mut z = vec![ZERO; width];
    for xt in x.chunks_exact(input) {
        xh[..input].copy_from_slice(xt);
        product::<F>(Some(&r.stacked_bias), &r.stacked, width, &xh, 0, width, &mut z);
        let h = &mut xh[input..];
        if lstm {
            let (ifg, o) = z.split_at_mut(3 * u);
            let (i_f, g) = ifg.split_at_mut(2 * u);
            activate::<F>(r.recurrent_activation, i_f);
            activate::<F>(r.activation, g);
            activate::<F>(r.recurrent_activation, o);
            let (i, f) = i_f.split_at_mut(u);
            // c = f·c + i·g, as the row path: i·g rounded, then one fused multiply-add.
            zip_with(i, g, |i, g| i * g);
            zip3_with(&mut c, f, i, |c, f, ig| if F { f.mul_add(c, ig) } else { f * c + ig });
            // h = o · act(c), as the row path's activate_into.
            h.copy_from_slice(&c);
            activate::<F>(r.activation, h);
            zip_with(h, o, |h, o| o * h);
        } else {
            h.copy_from_slice(&z);
            activate::<F>(r.activation, h);
        }
        if let Some(seq) = seq.as_deref_mut() {
            seq.extend_from_slice(&xh[input..]);
        }
    }
    store_state(state, xh[input..].iter().chain(&c), first, rows);
    xh.split_off(input)
}

/// A GRU layer (either `reset_after`), the input and recurrent sums apart as in the row path,
/// in its padded column numbering (gate `q` at `q·up`). Arguments as [`stacked`].
#[inline(always)]
fn gru<const F: bool>(
    r: &Recurrent,
    x: &[Lanes],
    state: &mut [f32],
    first: usize,
    rows: usize,
    mut seq: Option<&mut Vec<Lanes>>,
) -> Vec<Lanes> {
    let (u, up) = (r.units, r.gate_width());
    let gp = 3 * up;
    let mut h = load_state(state, u, first, rows);
    let mut z = vec![ZERO; gp];
    let mut hp = vec![ZERO; gp];
    // r ⊙ h (reset before) or r ⊙ (h·U + b) (reset after), reused at every step.
    let mut rh = vec![ZERO; u];
    let zeros = vec![0.0f32; gp];
    let gate = |q: usize| q * up..q * up + u;
    for xt in x.chunks_exact(r.input) {
        for q in 0..3 {
            product::<F>(Some(&r.bias), &r.kernel, gp, xt, q * up, u, &mut z);
        }
        if r.kind == (Recurrence::Gru { reset_after: true }) {
            for q in 0..3 {
                product::<F>(Some(&r.recurrent_bias), &r.recurrent, gp, &h, q * up, u, &mut hp);
            }
            for q in 0..2 {
                zip_with(&mut z[gate(q)], &hp[gate(q)], |z, h| z + h);
                activate::<F>(r.recurrent_activation, &mut z[gate(q)]);
            }
            // candidate += r · (h·U + b), the product rounded first.
            rh.copy_from_slice(&z[gate(1)]);
            zip_with(&mut rh, &hp[gate(2)], |r, h| r * h);
            zip_with(&mut z[gate(2)], &rh, |c, rh| c + rh);
        } else {
            // z and r from h, with their own matrix; the candidate from r·h.
            for q in 0..2 {
                product::<F>(Some(&zeros), &r.recurrent, 2 * up, &h, q * up, u, &mut hp);
                zip_with(&mut z[gate(q)], &hp[gate(q)], |z, h| z + h);
                activate::<F>(r.recurrent_activation, &mut z[gate(q)]);
            }
            rh.copy_from_slice(&z[gate(1)]);
            zip_with(&mut rh, &h, |r, h| r * h);
            product::<F>(Some(&zeros), &r.recurrent_candidate, up, &rh, 0, u, &mut hp);
            zip_with(&mut z[gate(2)], &hp[..u], |c, h| c + h);
        }
        activate::<F>(r.activation, &mut z[gate(2)]);
        // h = z·(h − candidate) + candidate, as the row path's gru_update.
        zip3_with(&mut h, &z[gate(0)], &z[gate(2)], |h, z, c| {
            if F { z.mul_add(h - c, c) } else { z * (h - c) + c }
        });
        if let Some(seq) = seq.as_deref_mut() {
            seq.extend_from_slice(&h);
        }
    }
    store_state(state, h.iter(), first, rows);
    h
}
