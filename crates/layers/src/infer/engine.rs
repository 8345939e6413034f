//! The host engine: the layers' arithmetic on `f32` slices, compiled once per instruction set.
//!
//! Every loop is elementwise over contiguous rows (products as rows of `axpy`, activations), so
//! the compiler vectorizes them for the instruction set the entry point enables, and no sum is
//! reordered by the vector width: AVX2 and AVX-512 give the same numbers. Large products go to
//! the `gemm` crate (the one Burn's flex backend uses).

use super::compile::{Affine, HostLayer, Recurrence, Recurrent};
use crate::Activation;
use crate::scan::math;

/// Products with at least this many multiply-adds go to the `gemm` crate; smaller ones (a batch
/// of one, the lecture's 20 units) run as rows of `axpy`, without its dispatch cost.
const GEMM_FROM: usize = 1 << 15;

/// The shape of a value between layers: `[rows, time, width]` or `[rows, width]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Dims {
    pub(super) rows: usize,
    pub(super) time: Option<usize>,
    pub(super) width: usize,
}

/// Runs `layers` on `x` (`dims`), starting from and updating `states` (one buffer per recurrent
/// layer, `[rows, states·units]`). Returns the output and its dims.
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

#[inline(always)]
fn run_with<const F: bool>(layers: &[HostLayer], x: &[f32], dims: Dims, states: &mut [Vec<f32>]) -> (Vec<f32>, Dims) {
    let mut value = x.to_vec();
    let mut dims = dims;
    let mut state = states.iter_mut();
    for layer in layers {
        (value, dims) = match layer {
            HostLayer::Recurrent(r) => recurrent::<F>(r, &value, dims, state.next().expect("one state per layer")),
            HostLayer::Dense(a) => (dense::<F>(a, &value, dims), Dims { width: a.units, ..dims }),
            HostLayer::Flatten => {
                let time = dims.time.unwrap_or(1);
                (
                    value,
                    Dims {
                        rows: dims.rows,
                        time: None,
                        width: time * dims.width,
                    },
                )
            }
        };
    }
    (value, dims)
}

/// `c[m, n] += a[m, k] · b[k, n]`, row strides `lda`, `ldb`, `ldc`.
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
    if m * k * n >= GEMM_FROM {
        assert!((m - 1) * lda + k <= a.len() && (k - 1) * ldb + n <= b.len() && (m - 1) * ldc + n <= c.len());
        // SAFETY: the assert keeps every index inside the slices; `c` is borrowed mutably, so it
        // aliases neither `a` nor `b`.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                1,
                ldc as isize,
                true,
                a.as_ptr(),
                1,
                lda as isize,
                b.as_ptr(),
                1,
                ldb as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        return;
    }
    for i in 0..m {
        let row = &a[i * lda..i * lda + k];
        let out = &mut c[i * ldc..i * ldc + n];
        for (p, &av) in row.iter().enumerate() {
            let brow = &b[p * ldb..p * ldb + n];
            for (o, &bv) in out.iter_mut().zip(brow) {
                *o = if F { av.mul_add(bv, *o) } else { av * bv + *o };
            }
        }
    }
}

#[inline(always)]
fn activate<const F: bool>(act: Activation, v: &mut [f32]) {
    match act {
        Activation::Tanh => math::map_in_place(v, math::tanh::<F>),
        Activation::Sigmoid => math::map_in_place(v, math::sigmoid::<F>),
        Activation::HardSigmoid => math::map_in_place(v, |x| (x / 6.0 + 0.5).clamp(0.0, 1.0)),
        Activation::Relu => math::map_in_place(v, |x| if x.is_nan() || x > 0.0 { x } else { 0.0 }),
        Activation::Linear => {}
        Activation::Softmax => {
            let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            math::map_in_place(v, |x| math::exp::<F>(x - max));
            let sum: f32 = v.iter().sum();
            math::map_in_place(v, |x| x / sum);
        }
    }
}

/// `act(x · kernel + bias)` on every row (`[rows, time]` rows for a sequence).
#[inline(always)]
fn dense<const F: bool>(a: &Affine, x: &[f32], dims: Dims) -> Vec<f32> {
    let rows = dims.rows * dims.time.unwrap_or(1);
    let mut out = Vec::with_capacity(rows * a.units);
    for _ in 0..rows {
        out.extend_from_slice(&a.bias);
    }
    matmul_acc::<F>(
        (rows, a.input, a.units),
        x,
        a.input,
        &a.kernel,
        a.units,
        &mut out,
        a.units,
    );
    for row in out.chunks_exact_mut(a.units) {
        activate::<F>(a.activation, row);
    }
    out
}

/// One recurrent layer over `x` (`[rows, time, input]`, or `[rows, input]` as one step).
#[inline(always)]
fn recurrent<const F: bool>(r: &Recurrent, x: &[f32], dims: Dims, state: &mut [f32]) -> (Vec<f32>, Dims) {
    let (rows, time, u) = (dims.rows, dims.time.unwrap_or(1), r.units);
    let g = r.kind.gates() * u;
    let s = r.kind.states() * u;
    // Every step's input projection at once: [rows·time, gates·units].
    let mut xp = Vec::with_capacity(rows * time * g);
    for _ in 0..rows * time {
        xp.extend_from_slice(&r.bias);
    }
    matmul_acc::<F>((rows * time, r.input, g), x, r.input, &r.kernel, g, &mut xp, g);
    let mut z = vec![0.0f32; rows * g];
    let mut hp = vec![
        0.0f32;
        if matches!(r.kind, Recurrence::Gru { .. }) {
            rows * g
        } else {
            0
        }
    ];
    let mut rh = vec![
        0.0f32;
        if r.kind == (Recurrence::Gru { reset_after: false }) {
            rows * u
        } else {
            0
        }
    ];
    let mut seq = if r.return_sequences && dims.time.is_some() {
        vec![0.0f32; rows * time * u]
    } else {
        Vec::new()
    };
    for t in 0..time {
        for b in 0..rows {
            let at = (b * time + t) * g;
            z[b * g..(b + 1) * g].copy_from_slice(&xp[at..at + g]);
        }
        match r.kind {
            Recurrence::Simple => {
                matmul_acc::<F>((rows, u, g), state, s, &r.recurrent, g, &mut z, g);
                for b in 0..rows {
                    let zb = &mut z[b * g..(b + 1) * g];
                    activate::<F>(r.activation, zb);
                    state[b * s..b * s + u].copy_from_slice(zb);
                }
            }
            Recurrence::Lstm => {
                matmul_acc::<F>((rows, u, g), state, s, &r.recurrent, g, &mut z, g);
                for b in 0..rows {
                    let zb = &mut z[b * g..(b + 1) * g];
                    let (ifg, o) = zb.split_at_mut(3 * u);
                    let (i_f, gg) = ifg.split_at_mut(2 * u);
                    activate::<F>(r.recurrent_activation, i_f);
                    activate::<F>(r.activation, gg);
                    activate::<F>(r.recurrent_activation, o);
                    let (h, c) = state[b * s..(b + 1) * s].split_at_mut(u);
                    let (i, f) = i_f.split_at(u);
                    for j in 0..u {
                        c[j] = if F {
                            f[j].mul_add(c[j], i[j] * gg[j])
                        } else {
                            f[j] * c[j] + i[j] * gg[j]
                        };
                    }
                    h.copy_from_slice(c);
                    activate::<F>(r.activation, h);
                    for j in 0..u {
                        h[j] *= o[j];
                    }
                }
            }
            Recurrence::Gru { reset_after: true } => {
                for b in 0..rows {
                    hp[b * g..(b + 1) * g].copy_from_slice(&r.recurrent_bias);
                }
                matmul_acc::<F>((rows, u, g), state, s, &r.recurrent, g, &mut hp, g);
                for b in 0..rows {
                    let zb = &mut z[b * g..(b + 1) * g];
                    let hb = &hp[b * g..(b + 1) * g];
                    for j in 0..2 * u {
                        zb[j] += hb[j];
                    }
                    activate::<F>(r.recurrent_activation, &mut zb[..2 * u]);
                    for j in 0..u {
                        zb[2 * u + j] += zb[u + j] * hb[2 * u + j];
                    }
                    activate::<F>(r.activation, &mut zb[2 * u..]);
                    gru_update::<F>(zb, &mut state[b * s..b * s + u], u);
                }
            }
            Recurrence::Gru { reset_after: false } => {
                matmul_acc::<F>((rows, u, 2 * u), state, s, &r.recurrent, g, &mut z, g);
                for b in 0..rows {
                    let zb = &mut z[b * g..(b + 1) * g];
                    activate::<F>(r.recurrent_activation, &mut zb[..2 * u]);
                    let h = &state[b * s..b * s + u];
                    for j in 0..u {
                        rh[b * u + j] = zb[u + j] * h[j];
                    }
                }
                matmul_acc::<F>((rows, u, u), &rh, u, &r.recurrent[2 * u..], g, &mut z[2 * u..], g);
                for b in 0..rows {
                    let zb = &mut z[b * g..(b + 1) * g];
                    activate::<F>(r.activation, &mut zb[2 * u..]);
                    gru_update::<F>(zb, &mut state[b * s..b * s + u], u);
                }
            }
        }
        if !seq.is_empty() {
            for b in 0..rows {
                let at = (b * time + t) * u;
                seq[at..at + u].copy_from_slice(&state[b * s..b * s + u]);
            }
        }
    }
    if seq.is_empty() {
        let last: Vec<f32> = (0..rows)
            .flat_map(|b| state[b * s..b * s + u].iter().copied())
            .collect();
        (
            last,
            Dims {
                rows,
                time: None,
                width: u,
            },
        )
    } else {
        (
            seq,
            Dims {
                rows,
                time: dims.time,
                width: u,
            },
        )
    }
}

/// `h = z·h + (1 − z)·candidate` from the gate row `[z, r, candidate]`.
#[inline(always)]
fn gru_update<const F: bool>(zb: &[f32], h: &mut [f32], u: usize) {
    for j in 0..u {
        let (zj, cand) = (zb[j], zb[2 * u + j]);
        h[j] = if F {
            zj.mul_add(h[j] - cand, cand)
        } else {
            zj * (h[j] - cand) + cand
        };
    }
}
