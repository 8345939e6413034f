//! `x·W + b` as one host op on two cores: the input projection of a recurrent layer.
//!
//! At the lecture's sizes a layer's input projection (`[T·B, F] · [F, G·U]`, 1 600 rows) is as
//! much arithmetic as its recurrence, and Burn's CPU matmul runs products this small on one
//! thread. This op splits the forward and each product of its backward in two halves that
//! [`pair`] runs at the same time. The halves depend only on the shapes, so results do not depend
//! on the machine.

// Without a host backend (a wgpu- or tch-only build) the op has no implementation to call.
#![cfg_attr(not(any(feature = "flex", feature = "ndarray")), allow(unused))]
// Burn 0.22 deprecates its ndarray backend; the op still serves it while the feature exists.
#![cfg_attr(feature = "ndarray", allow(deprecated))]

use std::mem::MaybeUninit;

#[cfg(feature = "flex")]
use burn::backend::Flex;
#[cfg(feature = "ndarray")]
#[allow(deprecated)]
use burn::backend::NdArray;
use burn::backend::autodiff::{
    Autodiff,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Shape, TensorMetadata, backend_extension};
use burn::tensor::{DType, Tensor, TensorData};

use super::kernel::gemm::{SPLIT_PRODUCT, by_column_halves, gemm, splits_columns};
use super::op::HostTensors;
use super::{ScanMode, fused_available, pair};

/// `x [N, K] · weight [K, M] (+ bias [M])` on the host, rows split in two halves.
fn forward(x: &[f32], weight: &[f32], bias: Option<&[f32]>, (n, k, m): (usize, usize, usize)) -> Vec<f32> {
    if m == 0 {
        return Vec::new();
    }
    // Each half's rows start as the bias (the products' starting values) or zeros, written by
    // the thread that then adds its product: no serial fill before the halves.
    let fill_then_add = |y: &mut [MaybeUninit<f32>], x: &[f32]| {
        for row in y.chunks_exact_mut(m) {
            match bias {
                Some(bias) => row.iter_mut().zip(bias).for_each(|(v, b)| {
                    v.write(*b);
                }),
                None => row.iter_mut().for_each(|v| {
                    v.write(0.0);
                }),
            }
        }
        // SAFETY: every element was written just above.
        let y = unsafe { std::slice::from_raw_parts_mut(y.as_mut_ptr().cast::<f32>(), y.len()) };
        let beta = if bias.is_some() { 1.0 } else { 0.0 };
        gemm((y.len() / m, k, m), x, (k, 1), weight, (m, 1), beta, y, (m, 1));
    };
    let mut y = Vec::with_capacity(n * m);
    let uninit = &mut y.spare_capacity_mut()[..n * m];
    if n * k * m >= SPLIT_PRODUCT {
        let (y_first, y_second) = uninit.split_at_mut(n / 2 * m);
        let (x_first, x_second) = x.split_at(n / 2 * k);
        pair::join(|| fill_then_add(y_first, x_first), || fill_then_add(y_second, x_second));
    } else {
        fill_then_add(uninit, x);
    }
    // SAFETY: `fill_then_add` wrote every element of both halves (or of the whole).
    unsafe { y.set_len(n * m) };
    y
}

/// The gradients [`backward`] computes (`None` where not asked for).
struct LinearGrads {
    x: Option<Vec<f32>>,
    weight: Option<Vec<f32>>,
    bias: Option<Vec<f32>>,
}

/// `dx = dy·Wᵀ` (rows split), `dW = xᵀ·dy` (rows of `dW` split), `db = Σ_rows dy`.
fn backward(
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    (n, k, m): (usize, usize, usize),
    [want_x, want_weight, want_bias]: [bool; 3],
) -> LinearGrads {
    let mut dx = if want_x { vec![0.0f32; n * k] } else { Vec::new() };
    let split = n * k * m >= SPLIT_PRODUCT;
    // A wide layer's dW by columns, after the rest: each core then packs half of `dy` instead
    // of all of it ([`splits_columns`]).
    let dw_by_columns = split && want_weight && splits_columns(k, m);
    let mut dw = if want_weight && !dw_by_columns {
        vec![0.0f32; k * m]
    } else {
        Vec::new()
    };
    let (n_half, k_half) = if split { (n / 2, k / 2) } else { (n, k) };
    // Rows of dx (the same rows of dy · Wᵀ); `Wᵀ [M, K]` is `weight` read with strides (1, M).
    let dx_rows = |dx: &mut [f32], dy: &[f32]| {
        if !dx.is_empty() {
            gemm((dx.len() / k, m, k), dy, (m, 1), weight, (1, m), 0.0, dx, (k, 1));
        }
    };
    // dW rows from `first_k`: `xᵀ [K, N]` is `x` read with strides (1, K).
    let dw_rows = |dw: &mut [f32], first_k: usize| {
        if !dw.is_empty() {
            gemm((dw.len() / m, n, m), &x[first_k..], (1, k), dy, (m, 1), 0.0, dw, (m, 1));
        }
    };
    let (dx_first, dx_second) = dx.split_at_mut(if want_x { n_half * k } else { 0 });
    let dw_split = if dw.is_empty() { 0 } else { k_half * m };
    let (dw_first, dw_second) = dw.split_at_mut(dw_split);
    let (dy_first, dy_second) = dy.split_at(n_half * m);
    let mut first = || {
        dx_rows(dx_first, dy_first);
        dw_rows(dw_first, 0);
        want_bias.then(|| {
            let mut db = vec![0.0f32; m];
            for row in dy.chunks_exact(m.max(1)) {
                db.iter_mut().zip(row).for_each(|(d, g)| *d += g);
            }
            db
        })
    };
    let mut second = || {
        dx_rows(dx_second, dy_second);
        dw_rows(dw_second, k_half);
    };
    let (db, ()) = if split {
        pair::join(first, second)
    } else {
        (first(), second())
    };
    if dw_by_columns {
        dw = by_column_halves((k, m), |dw, col0, cols| {
            gemm((k, n, cols), x, (1, k), &dy[col0..], (m, 1), 0.0, dw, (cols, 1));
        });
    }
    LinearGrads {
        x: want_x.then_some(dx),
        weight: want_weight.then_some(dw),
        bias: db,
    }
}

/// `x [.., K] · weight [K, M] + bias [M]` as one op (`bias` ignored unless `with_bias`): `x` of
/// rank 2 or more, its rows every index of the leading axes in row-major order.
#[backend_extension(Autodiff, Flex: cfg(feature = "flex"), NdArray: cfg(feature = "ndarray"))]
pub trait FusedLinear: Backend {
    /// Returns `[.., M]` (`x`'s leading axes).
    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        with_bias: bool,
    ) -> FloatTensor<Self>;
}

/// `(rows, K, M)`: the rows are every index of `x`'s leading axes.
fn sizes(x: &impl TensorMetadata, weight: &impl TensorMetadata) -> (usize, usize, usize) {
    let [k, m] = weight.shape().dims::<2>();
    let dims = x.shape();
    (dims[..dims.len().saturating_sub(1)].iter().product(), k, m)
}

/// `x`'s shape with the last axis `m` wide.
fn with_last(x: &Shape, m: usize) -> Shape {
    let mut dims = x.clone();
    if let Some(last) = dims.last_mut() {
        *last = m;
    }
    dims
}

fn host_forward<B: HostTensors>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    with_bias: bool,
) -> FloatTensor<B> {
    let device = x.device();
    let (n, k, m) = sizes(&x, &weight);
    let shape = with_last(&x.shape(), m);
    let tensors = [x, weight, bias];
    let [x, weight, bias] = tensors.each_ref().map(B::host_f32);
    let bias = with_bias.then_some(&bias[..]);
    let y = forward(&x, &weight, bias, (n, k, m));
    B::float_from_data(TensorData::new(y, shape), &device)
}

/// The CPU backends' forward: the same host product for each.
macro_rules! host_backend {
    ($backend:ty) => {
        impl FusedLinear for $backend {
            fn fused_linear(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                bias: FloatTensor<Self>,
                with_bias: bool,
            ) -> FloatTensor<Self> {
                host_forward::<Self>(x, weight, bias, with_bias)
            }
        }
    };
}

#[cfg(feature = "flex")]
host_backend!(Flex);
#[cfg(feature = "ndarray")]
#[allow(deprecated)]
mod ndarray_impl {
    use super::*;
    host_backend!(NdArray);
}

#[derive(Debug)]
struct FusedLinearBackward;

impl<B: HostTensors> Backward<B, 3> for FusedLinearBackward {
    /// `x` and `weight`.
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let dy = grads.consume::<B>(&ops.node);
        let (x, weight) = ops.state;
        let device = dy.device();
        let (n, k, m) = sizes(&x, &weight);
        let x_shape = x.shape();
        let want = [node_x.is_some(), node_weight.is_some(), node_bias.is_some()];
        let tensors = [x, weight, dy];
        let [x, weight, dy] = tensors.each_ref().map(B::host_f32);
        let g = backward(&x, &weight, &dy, (n, k, m), want);
        let tensor = |values: Vec<f32>, shape: Shape| B::float_from_data(TensorData::new(values, shape), &device);
        if let (Some(node), Some(dx)) = (node_x, g.x) {
            grads.register::<B>(node.id, tensor(dx, x_shape));
        }
        if let (Some(node), Some(dw)) = (node_weight, g.weight) {
            grads.register::<B>(node.id, tensor(dw, Shape::new([k, m])));
        }
        if let (Some(node), Some(db)) = (node_bias, g.bias) {
            grads.register::<B>(node.id, tensor(db, Shape::new([m])));
        }
    }
}

impl<B: FusedLinear + HostTensors, C: CheckpointStrategy> FusedLinear for Autodiff<B, C> {
    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        with_bias: bool,
    ) -> FloatTensor<Self> {
        let nodes = [x.node(), weight.node(), bias.node()];
        let [x, weight, bias] = [x, weight, bias].map(|t| t.into_primitive());
        match FusedLinearBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                // The backward reads `x` again: a view (a recurrent layer's output) is copied
                // once for both.
                let x = B::host_readable(x);
                let y = B::fused_linear(x.clone(), weight.clone(), bias, with_bias);
                prep.finish((x, weight), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_linear(x, weight, bias, with_bias)),
        }
    }
}

/// `x [.., K] · weight [K, M] (+ bias)` over the last axis of `x` (rank 2 or 3): the host op on
/// flex and ndarray for `f32` (unless `RNNLAB_SCAN=generic`, which keeps every layer on Burn's
/// own ops), Burn's matmul elsewhere.
///
/// A rank-3 `x` goes to the host op as it is, whatever its strides: a recurrent layer's output
/// (`[B, T, U]` over a time-major buffer) is read a row at a time there, where reshaping it to
/// `[B·T, U]` first would copy it element by element (see [`super::op`]'s flex reader).
///
/// Big products stay on the host op too: its products sum in the same order on every CPU
/// ([`crate::product`]) and run the AVX-512 kernel where there is one, while Burn's matmul
/// blocks its sums by the L1 cache (a weight gradient over `time × batch` rows would differ in
/// the last bits between CPUs) and runs AVX2 kernels; it spreads them over all cores, the host
/// op over two.
pub(crate) fn linear<const D: usize>(x: Tensor<D>, weight: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<D> {
    let device = x.device();
    let host =
        x.dtype() == DType::F32 && fused_available(&device) && !matches!(ScanMode::from_env(), Ok(ScanMode::Generic));
    if !host {
        let dims = x.dims();
        let [k, m] = weight.dims();
        let mut out = dims;
        out[D - 1] = m;
        let y = x.reshape([dims[..D - 1].iter().product::<usize>(), k]).matmul(weight);
        let y = match bias {
            Some(bias) => y + bias.unsqueeze::<2>(),
            None => y,
        };
        return y.reshape(out);
    }
    let with_bias = bias.is_some();
    let bias = bias.unwrap_or_else(|| Tensor::zeros([1], &device));
    Tensor::from_dispatch(<burn::backend::Dispatch as FusedLinear>::fused_linear(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        with_bias,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::f32_bits;

    /// The plain definition, in f64.
    fn reference(x: &[f32], w: &[f32], b: Option<&[f32]>, (n, k, m): (usize, usize, usize)) -> Vec<f64> {
        let mut y = vec![0.0f64; n * m];
        for i in 0..n {
            for j in 0..m {
                let dot: f64 = (0..k).map(|p| x[i * k + p] as f64 * w[p * m + j] as f64).sum();
                y[i * m + j] = dot + b.map_or(0.0, |b| b[j] as f64);
            }
        }
        y
    }

    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (((i * 7 + seed * 13) % 23) as f32 - 11.0) / 7.0)
            .collect()
    }

    fn assert_close(got: &[f32], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (*g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()),
                "{what}[{i}]: {g} vs {w}"
            );
        }
    }

    #[test]
    fn forward_and_backward_match_the_definition_split_or_not() {
        // Shapes below and above the split threshold, odd row counts, K = 1 and K = 0, a dW
        // split by columns (K > 192).
        for (n, k, m) in [
            (3, 2, 4),
            (300, 200, 70),
            (1600, 20, 80),
            (1601, 1, 80),
            (257, 7, 65),
            (5, 0, 3),
            (0, 3, 2),
        ] {
            let (x, w, b) = (values(n * k, 1), values(k * m, 2), values(m, 3));
            for bias in [None, Some(&b[..])] {
                let y = forward(&x, &w, bias, (n, k, m));
                assert_close(&y, &reference(&x, &w, bias, (n, k, m)), "y");
            }
            let dy = values(n * m, 4);
            let g = backward(&x, &w, &dy, (n, k, m), [true, true, true]);
            // dx = dy·Wᵀ, dW = xᵀ·dy, db = column sums.
            let wt: Vec<f32> = (0..m * k).map(|i| w[(i % k) * m + i / k]).collect();
            let xt: Vec<f32> = (0..k * n).map(|i| x[(i % n) * k + i / n]).collect();
            assert_close(&g.x.unwrap(), &reference(&dy, &wt, None, (n, m, k)), "dx");
            assert_close(&g.weight.unwrap(), &reference(&xt, &dy, None, (k, n, m)), "dW");
            let db: Vec<f64> = (0..m).map(|j| (0..n).map(|i| dy[i * m + j] as f64).sum()).collect();
            assert_close(&g.bias.unwrap(), &db, "db");
            let none = backward(&x, &w, &dy, (n, k, m), [false, true, false]);
            assert!(none.x.is_none() && none.bias.is_none() && none.weight.is_some());
        }
    }

    /// A `[B, T, U]` view of a time-major buffer (a recurrent layer's output) goes to the op as
    /// it is: the same bits, forward and backward, as the reshaped copy the op used to get.
    #[test]
    fn a_batch_major_view_of_time_major_data_gives_the_reshaped_bits() {
        let device = crate::Backend::Flex.device().unwrap().autodiff();
        let (t, b, u, m) = (7, 5, 20, 10);
        let run = |as_view: bool| {
            let leaf = Tensor::<3>::from_data(TensorData::new(values(t * b * u, 5), [t, b, u]), &device).require_grad();
            let weight = Tensor::<2>::from_data(TensorData::new(values(u * m, 6), [u, m]), &device).require_grad();
            let bias = Tensor::<1>::from_data(TensorData::new(values(m, 7), [m]), &device).require_grad();
            let x = leaf.clone().swap_dims(0, 1);
            let y = if as_view {
                linear(x, weight.clone(), Some(bias.clone())).reshape([b * t, m])
            } else {
                linear(x.reshape([b * t, u]), weight.clone(), Some(bias.clone()))
            };
            let dy = Tensor::<2>::from_data(TensorData::new(values(b * t * m, 8), [b * t, m]), &device);
            let grads = (y.clone() * dy).sum().backward();
            [
                f32_bits(y.inner()),
                f32_bits(leaf.grad(&grads).unwrap()),
                f32_bits(weight.grad(&grads).unwrap()),
                f32_bits(bias.grad(&grads).unwrap()),
            ]
        };
        let (view, reshaped) = (run(true), run(false));
        for (what, (v, r)) in ["y", "dx", "dW", "db"].iter().zip(view.iter().zip(&reshaped)) {
            assert_eq!(v, r, "{what}");
        }
        assert_eq!(view[0].len(), b * t * m);
    }

    /// No input features: every row is the bias, for an input of rank 2 or 3.
    #[test]
    fn zero_features_give_the_bias_at_every_rank() {
        let device = crate::Backend::Flex.device().unwrap();
        let weight = Tensor::<2>::zeros([0, 4], &device);
        let bias = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, -2.0, 0.5, 3.0], [4]), &device);
        let y3 = linear(
            Tensor::<3>::zeros([2, 3, 0], &device),
            weight.clone(),
            Some(bias.clone()),
        );
        assert_eq!(y3.dims(), [2, 3, 4]);
        let y2 = linear(Tensor::<2>::zeros([5, 0], &device), weight, Some(bias));
        assert_eq!(y2.dims(), [5, 4]);
        let rows = y3.reshape([6, 4]).into_data().try_to_vec::<f32>().unwrap();
        assert!(rows.chunks(4).all(|r| r == [1.0, -2.0, 0.5, 3.0]), "{rows:?}");
    }
}
