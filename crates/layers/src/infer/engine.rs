//! The host engine: the layers' arithmetic on `f32` slices, compiled once per instruction set.
//! This file is the row path, for small batches (batch 1 above all); batches of 16 rows and more
//! take the lanes path ([`super::lanes`]), which gives the same bits.
//!
//! Sequences run time-major (`[time, rows, width]`), so each step's projected inputs are one
//! contiguous block that the recurrent product accumulates into in place. Weight rows are
//! padded with zeros to a multiple of [`LANES`] columns, so small products keep whole output
//! rows in vector registers (the batch-1 case is a chain of dependent matrix-vector products);
//! large ones go to the `gemm` crate (the one Burn's flex backend uses). Every sum runs over the
//! inner dimension in order and the vector width never reorders it: AVX2 and AVX-512 give the
//! same numbers.

use super::compile::{Affine, HostLayer, Recurrence, Recurrent};
use super::lanes;
use crate::Activation;
use crate::product::Strided;
use crate::scan::math;

/// Columns of a register block; padded weight rows are a multiple of it.
pub(super) const LANES: usize = 16;

/// Products over an inner dimension this long or longer go to the `gemm` crate, whose packing
/// pays off there; shorter ones (the lecture's 20 units, one input feature) run on register
/// blocks, each output row a chain of fused multiply-adds held in registers. The choice depends
/// on the layer's sizes only, never on the batch, so a row's numbers do not depend on the rows
/// around it.
pub(super) const GEMM_FROM_INNER: usize = 128;

/// Floats of projected inputs computed ahead of the time loop (a block of steps at a time), so
/// that the block stays in cache and below the allocator's fresh-pages threshold.
const PROJECTION_BLOCK: usize = 24 * 1024;

/// `n` rounded up to a multiple of [`LANES`].
pub(super) fn padded(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// The shape of a value between layers: `[time, rows, width]` (time-major) or `[rows, width]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Dims {
    pub(super) rows: usize,
    pub(super) time: Option<usize>,
    pub(super) width: usize,
}

/// Runs `layers` on `x` (batch-major `[rows, time, width]`, or `[rows, width]` for one step)
/// from `states` (one buffer per recurrent layer, `[rows, states·units]`), which are updated.
/// Returns the output, batch-major, and its dims.
pub(super) fn run(layers: &[HostLayer], x: &[f32], dims: Dims, states: &mut [Vec<f32>]) -> (Vec<f32>, Dims) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") {
            // SAFETY: AVX-512F, AVX2 and FMA are present (checked just above).
            return unsafe { run_avx512(layers, x, dims, states) };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: AVX2 and FMA are present (checked just above).
            return unsafe { run_avx2(layers, x, dims, states) };
        }
    }
    run_with::<false>(layers, x, dims, states)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn run_avx512(layers: &[HostLayer], x: &[f32], dims: Dims, states: &mut [Vec<f32>]) -> (Vec<f32>, Dims) {
    run_with::<true>(layers, x, dims, states)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn run_avx2(layers: &[HostLayer], x: &[f32], dims: Dims, states: &mut [Vec<f32>]) -> (Vec<f32>, Dims) {
    run_with::<true>(layers, x, dims, states)
}

/// `[a, b, w]` to `[b, a, w]`.
fn swap_outer(v: &[f32], a: usize, b: usize, w: usize) -> Vec<f32> {
    let mut out = vec![0.0; v.len()];
    for i in 0..a {
        for j in 0..b {
            out[(j * a + i) * w..(j * a + i + 1) * w].copy_from_slice(&v[(i * b + j) * w..(i * b + j + 1) * w]);
        }
    }
    out
}

/// `F`: fused multiply-adds.
#[inline(always)]
fn run_with<const F: bool>(layers: &[HostLayer], x: &[f32], dims: Dims, states: &mut [Vec<f32>]) -> (Vec<f32>, Dims) {
    if lanes::applies(layers, dims.rows) {
        return lanes::run::<F>(layers, x, dims, states);
    }
    let mut value = match dims.time {
        Some(t) if t > 1 && dims.rows > 1 => swap_outer(x, dims.rows, t, dims.width),
        _ => x.to_vec(),
    };
    let mut dims = dims;
    let mut state = states.iter_mut();
    for layer in layers {
        (value, dims) = match layer {
            HostLayer::Recurrent(r) => recurrent::<F>(r, &value, dims, state.next().expect("one state per layer")),
            HostLayer::Dense(a) => (dense::<F>(a, &value, dims), Dims { width: a.units, ..dims }),
            HostLayer::Flatten => {
                let time = dims.time.unwrap_or(1);
                let batch_major = swap_outer(&value, time, dims.rows, dims.width);
                (
                    batch_major,
                    Dims {
                        rows: dims.rows,
                        time: None,
                        width: time * dims.width,
                    },
                )
            }
        };
    }
    match dims.time {
        Some(t) if t > 1 && dims.rows > 1 => (swap_outer(&value, t, dims.rows, dims.width), dims),
        _ => (value, dims),
    }
}

/// `c[m, n] += a[m, k] · b[k, n]`, row strides `lda`, `ldb`, `ldc`; `n` is a multiple of
/// [`LANES`] when `k` is below [`GEMM_FROM_INNER`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn matmul_acc<const F: bool>(
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    assert!((m - 1) * lda + k <= a.len() && (k - 1) * ldb + n <= b.len() && (m - 1) * ldc + n <= c.len());
    if k >= GEMM_FROM_INNER {
        // SAFETY: the assert keeps every index inside the slices; `c` is borrowed mutably, so it
        // aliases neither `a` nor `b`.
        unsafe {
            crate::product::gemm(
                (m, k, n),
                Strided {
                    ptr: a.as_ptr(),
                    row_stride: lda as isize,
                    col_stride: 1,
                },
                Strided {
                    ptr: b.as_ptr(),
                    row_stride: ldb as isize,
                    col_stride: 1,
                },
                1.0,
                Strided {
                    ptr: c.as_mut_ptr(),
                    row_stride: ldc as isize,
                    col_stride: 1,
                },
            );
        }
        return;
    }
    debug_assert_eq!(n % LANES, 0);
    // Two rows at a time share each load of `b`; each element's sum is the same chain of fused
    // multiply-adds either way, so pairing never changes a number.
    let mut i = 0;
    while i < m {
        let pair = i + 1 < m;
        let row0 = &a[i * lda..i * lda + k];
        let row1 = if pair {
            &a[(i + 1) * lda..(i + 1) * lda + k]
        } else {
            row0
        };
        let tail = &mut c[i * ldc..];
        let split = ldc.min(tail.len());
        let (out0, rest) = tail.split_at_mut(split);
        let mut j = 0;
        while j < n {
            let blocks = ((n - j) / LANES).min(4);
            if pair {
                let out1 = &mut rest[..n];
                match blocks {
                    1 => block2::<F, 1>(row0, row1, b, ldb, j, &mut out0[..n], out1),
                    2 => block2::<F, 2>(row0, row1, b, ldb, j, &mut out0[..n], out1),
                    3 => block2::<F, 3>(row0, row1, b, ldb, j, &mut out0[..n], out1),
                    _ => block2::<F, 4>(row0, row1, b, ldb, j, &mut out0[..n], out1),
                }
            } else {
                let out = &mut out0[..n];
                match blocks {
                    1 => block::<F, 1>(row0, b, ldb, j, out),
                    2 => block::<F, 2>(row0, b, ldb, j, out),
                    3 => block::<F, 3>(row0, b, ldb, j, out),
                    _ => block::<F, 4>(row0, b, ldb, j, out),
                }
            }
            j += LANES * blocks;
        }
        i += if pair { 2 } else { 1 };
    }
}

/// [`block`] for two rows at once, each `b` value loaded once for both.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block2<const F: bool, const B: usize>(
    row0: &[f32],
    row1: &[f32],
    b: &[f32],
    ldb: usize,
    j0: usize,
    out0: &mut [f32],
    out1: &mut [f32],
) {
    debug_assert!(row0.is_empty() || (row0.len() - 1) * ldb + j0 + B * LANES <= b.len());
    debug_assert_eq!(row0.len(), row1.len());
    let mut acc0 = [[0.0f32; LANES]; B];
    let mut acc1 = [[0.0f32; LANES]; B];
    for q in 0..B {
        acc0[q].copy_from_slice(&out0[j0 + q * LANES..j0 + (q + 1) * LANES]);
        acc1[q].copy_from_slice(&out1[j0 + q * LANES..j0 + (q + 1) * LANES]);
    }
    let base = b.as_ptr();
    for (p, (&a0, &a1)) in row0.iter().zip(row1).enumerate() {
        let at = p * ldb + j0;
        for q in 0..B {
            for l in 0..LANES {
                // SAFETY: as in `block`: at + q·LANES + l < (p + 1)·ldb ≤ b.len().
                let bv = unsafe { *base.add(at + q * LANES + l) };
                acc0[q][l] = if F {
                    a0.mul_add(bv, acc0[q][l])
                } else {
                    a0 * bv + acc0[q][l]
                };
                acc1[q][l] = if F {
                    a1.mul_add(bv, acc1[q][l])
                } else {
                    a1 * bv + acc1[q][l]
                };
            }
        }
    }
    for q in 0..B {
        out0[j0 + q * LANES..j0 + (q + 1) * LANES].copy_from_slice(&acc0[q]);
        out1[j0 + q * LANES..j0 + (q + 1) * LANES].copy_from_slice(&acc1[q]);
    }
}

/// `out[j0 .. j0 + B·LANES] += row · b[:, j0 ..]`, the output block held in registers.
///
/// The caller ([`matmul_acc`]) has checked that `b` holds `row.len()` rows of `ldb` columns from
/// `j0 + B·LANES` on and `out` that many columns.
#[inline(always)]
fn block<const F: bool, const B: usize>(row: &[f32], b: &[f32], ldb: usize, j0: usize, out: &mut [f32]) {
    debug_assert!(row.is_empty() || (row.len() - 1) * ldb + j0 + B * LANES <= b.len());
    let mut acc = [[0.0f32; LANES]; B];
    for (q, a) in acc.iter_mut().enumerate() {
        a.copy_from_slice(&out[j0 + q * LANES..j0 + (q + 1) * LANES]);
    }
    let base = b.as_ptr();
    for (p, &av) in row.iter().enumerate() {
        let at = p * ldb + j0;
        for (q, a) in acc.iter_mut().enumerate() {
            for (l, x) in a.iter_mut().enumerate() {
                // SAFETY: at + q·LANES + l < (p + 1)·ldb ≤ b.len() for p < row.len(), l < LANES,
                // q < B, as matmul_acc asserted (n = B·LANES columns from j0 fit in ldb).
                let bv = unsafe { *base.add(at + q * LANES + l) };
                *x = if F { av.mul_add(bv, *x) } else { av * bv + *x };
            }
        }
    }
    for (q, a) in acc.iter().enumerate() {
        out[j0 + q * LANES..j0 + (q + 1) * LANES].copy_from_slice(a);
    }
}

/// `act` on every value of `v` (softmax: over all of `v`, one row). The lanes path uses it too.
#[inline(always)]
pub(super) fn activate<const F: bool>(act: Activation, v: &mut [f32]) {
    // Plain loops with direct calls: a function passed as a value goes through an `Fn::call`
    // shim that the inliner may leave out of a large function, and out of line it is compiled
    // without the caller's FMA (a library call per element).
    match act {
        Activation::Tanh => {
            for x in v {
                *x = math::tanh::<F>(*x);
            }
        }
        Activation::Sigmoid => {
            for x in v {
                *x = math::sigmoid::<F>(*x);
            }
        }
        Activation::HardSigmoid => {
            for x in v {
                *x = (*x / 6.0 + 0.5).clamp(0.0, 1.0);
            }
        }
        // NaN passes, as in Burn's relu.
        Activation::Relu => {
            for x in v {
                *x = if x.is_nan() || *x > 0.0 { *x } else { 0.0 };
            }
        }
        Activation::Linear => {}
        Activation::Softmax => {
            let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            math::map_in_place(v, |x| math::exp::<F>(x - max));
            let sum: f32 = v.iter().sum();
            math::map_in_place(v, |x| x / sum);
        }
    }
}

/// `dst[j] = scale[j] · act(src[j])` (`scale` `None`: 1), one pass without a copy first.
#[inline(always)]
fn activate_into<const F: bool>(act: Activation, src: &[f32], scale: Option<&[f32]>, dst: &mut [f32]) {
    #[inline(always)]
    fn each<const F: bool>(src: &[f32], scale: Option<&[f32]>, dst: &mut [f32], f: impl Fn(f32) -> f32) {
        match scale {
            Some(o) => {
                for ((d, &x), &k) in dst.iter_mut().zip(src).zip(o) {
                    *d = k * f(x);
                }
            }
            None => {
                for (d, &x) in dst.iter_mut().zip(src) {
                    *d = f(x);
                }
            }
        }
    }
    match act {
        Activation::Tanh => each::<F>(src, scale, dst, math::tanh::<F>),
        Activation::Sigmoid => each::<F>(src, scale, dst, math::sigmoid::<F>),
        Activation::HardSigmoid => each::<F>(src, scale, dst, |x| (x / 6.0 + 0.5).clamp(0.0, 1.0)),
        Activation::Relu => each::<F>(src, scale, dst, |x| if x.is_nan() || x > 0.0 { x } else { 0.0 }),
        Activation::Linear => each::<F>(src, scale, dst, |x| x),
        Activation::Softmax => {
            // Over the whole row: copy, normalize, then scale.
            dst.copy_from_slice(src);
            activate::<F>(act, dst);
            if let Some(o) = scale {
                for (d, &k) in dst.iter_mut().zip(o) {
                    *d *= k;
                }
            }
        }
    }
}

/// `rows` copies of `bias` (padded width).
#[inline(always)]
fn repeat(bias: &[f32], rows: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows * bias.len());
    for _ in 0..rows {
        out.extend_from_slice(bias);
    }
    out
}

/// `act(x · kernel + bias)` on every row (`time·rows` rows for a sequence).
#[inline(always)]
fn dense<const F: bool>(a: &Affine, x: &[f32], dims: Dims) -> Vec<f32> {
    let rows = dims.rows * dims.time.unwrap_or(1);
    let np = padded(a.units);
    let mut wide = repeat(&a.bias, rows);
    matmul_acc::<F>((rows, a.input, np), x, a.input, &a.kernel, np, &mut wide, np);
    let mut out = Vec::with_capacity(rows * a.units);
    for row in wide.chunks_exact_mut(np) {
        activate::<F>(a.activation, &mut row[..a.units]);
        out.extend_from_slice(&row[..a.units]);
    }
    out
}

/// One recurrent layer over `x` (time-major `[time, rows, input]`, or `[rows, input]` as one
/// step), from and into `state` (`[rows, states·units]`).
///
/// The step works on gate rows `[gates·up]` (`up` = units padded to [`LANES`]) and keeps `h`
/// (and `c`) padded too; the padding lanes hold zeros throughout (zero weights and biases give a
/// zero candidate, and every update keeps a zero `h` and `c` at zero), so every elementwise loop
/// runs on whole vector blocks.
#[inline(always)]
fn recurrent<const F: bool>(r: &Recurrent, x: &[f32], dims: Dims, state: &mut [f32]) -> (Vec<f32>, Dims) {
    let (rows, time, u) = (dims.rows, dims.time.unwrap_or(1), r.units);
    let up = r.gate_width();
    let gates = r.kind.gates();
    let gp = gates * up;
    let (s, sp) = (r.kind.states() * u, r.kind.states() * up);
    // The carried states, padded: [rows, states·up] (h, then c for an LSTM).
    let mut hs = vec![0.0f32; rows * sp];
    for b in 0..rows {
        for k in 0..r.kind.states() {
            hs[b * sp + k * up..b * sp + k * up + u].copy_from_slice(&state[b * s + k * u..b * s + (k + 1) * u]);
        }
    }
    // The input projection of a block of steps at once, time-major: [steps·rows, gp].
    let block_steps = (PROJECTION_BLOCK / (rows * gp)).clamp(1, time);
    let mut xp = Vec::with_capacity(block_steps * rows * gp);
    let scratch = match r.kind {
        Recurrence::Gru { reset_after: true } => gp,
        Recurrence::Gru { reset_after: false } => 2 * up,
        _ => 0,
    };
    let mut hp = vec![0.0f32; rows * scratch];
    let mut rh = if r.kind == (Recurrence::Gru { reset_after: false }) {
        vec![0.0f32; rows * up]
    } else {
        Vec::new()
    };
    let keep = r.return_sequences && dims.time.is_some();
    let mut seq = if keep {
        vec![0.0f32; time * rows * u]
    } else {
        Vec::new()
    };
    for t in 0..time {
        if t % block_steps == 0 {
            let steps = block_steps.min(time - t);
            xp.clear();
            for _ in 0..steps * rows {
                xp.extend_from_slice(&r.bias);
            }
            let from = &x[t * rows * r.input..(t + steps) * rows * r.input];
            matmul_acc::<F>((steps * rows, r.input, gp), from, r.input, &r.kernel, gp, &mut xp, gp);
        }
        let local = t % block_steps;
        let z = &mut xp[local * rows * gp..(local + 1) * rows * gp];
        match r.kind {
            Recurrence::Simple => {
                matmul_acc::<F>((rows, u, gp), &hs, sp, &r.recurrent, gp, z, gp);
                for b in 0..rows {
                    activate_into::<F>(
                        r.activation,
                        &z[b * gp..(b + 1) * gp],
                        None,
                        &mut hs[b * sp..(b + 1) * sp],
                    );
                }
            }
            Recurrence::Lstm => {
                matmul_acc::<F>((rows, u, gp), &hs, sp, &r.recurrent, gp, z, gp);
                for b in 0..rows {
                    let zb = &mut z[b * gp..(b + 1) * gp];
                    let (ifg, o) = zb.split_at_mut(3 * up);
                    let (i_f, gg) = ifg.split_at_mut(2 * up);
                    activate::<F>(r.recurrent_activation, i_f);
                    activate::<F>(r.activation, gg);
                    activate::<F>(r.recurrent_activation, o);
                    let (h, c) = hs[b * sp..(b + 1) * sp].split_at_mut(up);
                    let (i, f) = i_f.split_at(up);
                    for j in 0..up {
                        c[j] = if F {
                            f[j].mul_add(c[j], i[j] * gg[j])
                        } else {
                            f[j] * c[j] + i[j] * gg[j]
                        };
                    }
                    activate_into::<F>(r.activation, c, Some(o), h);
                }
            }
            Recurrence::Gru { reset_after: true } => {
                for b in 0..rows {
                    hp[b * gp..(b + 1) * gp].copy_from_slice(&r.recurrent_bias);
                }
                matmul_acc::<F>((rows, u, gp), &hs, sp, &r.recurrent, gp, &mut hp, gp);
                for b in 0..rows {
                    let zb = &mut z[b * gp..(b + 1) * gp];
                    let hb = &hp[b * gp..(b + 1) * gp];
                    for j in 0..2 * up {
                        zb[j] += hb[j];
                    }
                    activate::<F>(r.recurrent_activation, &mut zb[..2 * up]);
                    for j in 0..up {
                        zb[2 * up + j] += zb[up + j] * hb[2 * up + j];
                    }
                    activate::<F>(r.activation, &mut zb[2 * up..]);
                    gru_update::<F>(zb, &mut hs[b * sp..(b + 1) * sp], up);
                }
            }
            Recurrence::Gru { reset_after: false } => {
                // z and r from h; the candidate from r·h, each with its own padded matrix.
                hp.fill(0.0);
                matmul_acc::<F>((rows, u, 2 * up), &hs, sp, &r.recurrent, 2 * up, &mut hp, 2 * up);
                for b in 0..rows {
                    let zb = &mut z[b * gp..(b + 1) * gp];
                    for j in 0..2 * up {
                        zb[j] += hp[b * 2 * up + j];
                    }
                    activate::<F>(r.recurrent_activation, &mut zb[..2 * up]);
                    let h = &hs[b * sp..(b + 1) * sp];
                    for j in 0..up {
                        rh[b * up + j] = zb[up + j] * h[j];
                    }
                }
                hp.fill(0.0);
                matmul_acc::<F>((rows, u, up), &rh, up, &r.recurrent_candidate, up, &mut hp, up);
                for b in 0..rows {
                    let zb = &mut z[b * gp..(b + 1) * gp];
                    for j in 0..up {
                        zb[2 * up + j] += hp[b * up + j];
                    }
                    activate::<F>(r.activation, &mut zb[2 * up..]);
                    gru_update::<F>(zb, &mut hs[b * sp..(b + 1) * sp], up);
                }
            }
        }
        if keep {
            for b in 0..rows {
                let at = (t * rows + b) * u;
                seq[at..at + u].copy_from_slice(&hs[b * sp..b * sp + u]);
            }
        }
    }
    for b in 0..rows {
        for k in 0..r.kind.states() {
            state[b * s + k * u..b * s + (k + 1) * u].copy_from_slice(&hs[b * sp + k * up..b * sp + k * up + u]);
        }
    }
    if keep {
        (
            seq,
            Dims {
                rows,
                time: dims.time,
                width: u,
            },
        )
    } else {
        let last: Vec<f32> = (0..rows).flat_map(|b| hs[b * sp..b * sp + u].iter().copied()).collect();
        (
            last,
            Dims {
                rows,
                time: None,
                width: u,
            },
        )
    }
}

/// `h = z·h + (1 − z)·candidate` from the gate row `[z, r, candidate]` (blocks of `up`).
#[inline(always)]
fn gru_update<const F: bool>(zb: &[f32], h: &mut [f32], up: usize) {
    for j in 0..up {
        let (zj, cand) = (zb[j], zb[2 * up + j]);
        h[j] = if F {
            zj.mul_add(h[j] - cand, cand)
        } else {
            zj * (h[j] - cand) + cand
        };
    }
}
