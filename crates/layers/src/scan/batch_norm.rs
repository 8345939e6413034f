//! Keras `BatchNormalization` in training, as two host ops on flex: the batch statistics, then
//! the normalization with a hand-written backward.
//!
//! Written as tensor ops, one training call of the layer is about ten ops forward and twenty-five
//! backward over the whole `[B, T, C]` activation (with copies to make the recurrent layer's
//! time-major output contiguous): at the lecture's sizes (32 × 50 × 20) that was most of the
//! time a `seq2seq-batchnorm` epoch spends outside its recurrences.
//!
//! **Same bits as the tensor ops.** Each kernel repeats, element for element, the arithmetic the
//! replaced ops do on flex, so a model trains to the same figures either way:
//!
//! - the statistics are Burn's `var_mean_bias(0)` over the batch-major rows `b·T + t`: each
//!   channel summed row after row from zero, divided by the row count (`mean_dim`, then
//!   `(x − mean)²` summed the same way, `div_scalar`);
//! - the normalization is `((x − mean) · (γ / √(var + ε))) + β`, each step rounded;
//! - the backward follows Burn's autodiff rules for each of those ops: a gradient broadcast over
//!   the batch and time axes is summed over the batch, then over time (`sum_dims` folds one axis
//!   at a time); `√` differentiates as `x^−½ / 2`; `a / b` as `1/b` and `−a / b²`; `mean_dim`
//!   and `sum_dim` spread their gradient after summing it over the size-one axis (adding it to
//!   zero); `square` is `x · x`, whose two gradient halves are added.
//!
//! The unit tests of `norm.rs` compare both paths bit for bit. The ops run where Burn's flex
//! ops would (same summation orders); ndarray and the GPU backends keep the tensor ops.

// Without flex (an ndarray-, wgpu- or tch-only build) the ops have no implementation to call.
#![cfg_attr(not(feature = "flex"), allow(unused))]

#[cfg(feature = "flex")]
use burn::backend::Flex;
use burn::backend::autodiff::{
    Autodiff,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::tensor::FloatTensor;
use burn::backend::{AutodiffBackend, Backend, TensorMetadata, backend_extension};
use burn::tensor::{DType, Device, Tensor, TensorData};

use super::ScanMode;
use super::op::HostTensors;

/// The sizes of a time-major `[T, B, C]` input: batch-major row `b·T + t` lies at memory row
/// `t·B + b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct NormDims {
    batch: usize,
    time: usize,
    channels: usize,
}

impl NormDims {
    fn of(x: &impl TensorMetadata) -> NormDims {
        let [time, batch, channels] = x.shape().dims::<3>();
        NormDims { batch, time, channels }
    }

    fn rows(&self) -> usize {
        self.batch * self.time
    }

    /// Where the channels of batch row `b`, time step `t` start.
    fn at(&self, b: usize, t: usize) -> usize {
        (t * self.batch + b) * self.channels
    }

    /// Calls `f` with the channels of every row in batch-major order (the order Burn's
    /// `reshape([B·T, C])` of a `[B, T, C]` tensor gives, and so the order its sums over rows
    /// take).
    #[inline(always)]
    fn for_each_batch_major_row(&self, x: &[f32], mut f: impl FnMut(&[f32])) {
        for b in 0..self.batch {
            for t in 0..self.time {
                let i = self.at(b, t);
                f(&x[i..i + self.channels]);
            }
        }
    }
}

/// `[mean, var]` (`[2, C]` flat) of a time-major input: Burn's `var_mean_bias(0)` over the
/// batch-major rows.
fn statistics(x: &[f32], d: NormDims) -> Vec<f32> {
    let c = d.channels;
    let n = d.rows() as f32;
    let mut stats = vec![0.0f32; 2 * c];
    let (mean, var) = stats.split_at_mut(c);
    d.for_each_batch_major_row(x, |row| mean.iter_mut().zip(row).for_each(|(m, v)| *m += v));
    mean.iter_mut().for_each(|m| *m /= n);
    d.for_each_batch_major_row(x, |row| {
        var.iter_mut().zip(row).zip(&*mean).for_each(|((s, v), m)| {
            let e = v - m;
            *s += e * e;
        })
    });
    var.iter_mut().for_each(|s| *s /= n);
    stats
}

/// `√(var + ε)` and `γ / √(var + ε)` per channel.
fn deviation_and_scale(var: &[f32], gamma: &[f32], epsilon: f32) -> (Vec<f32>, Vec<f32>) {
    let deviation: Vec<f32> = var.iter().map(|v| (v + epsilon).sqrt()).collect();
    let scale = gamma.iter().zip(&deviation).map(|(g, s)| g / s).collect();
    (deviation, scale)
}

/// `((x − mean) · scale) + β`, in the input's layout.
fn normalize(x: &[f32], stats: &[f32], gamma: &[f32], beta: &[f32], epsilon: f32) -> Vec<f32> {
    let c = gamma.len();
    let (mean, var) = stats.split_at(c);
    let (_, scale) = deviation_and_scale(var, gamma, epsilon);
    let (scale, beta) = (&scale[..c], &beta[..c]);
    let mut y = vec![0.0f32; x.len()];
    for (out, row) in y.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
        for j in 0..c {
            out[j] = (row[j] - mean[j]) * scale[j] + beta[j];
        }
    }
    y
}

/// The gradients of [`normalize`] (with the statistics taken from `x`).
struct NormGrads {
    x: Vec<f32>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

/// The three gradients broadcast from `[1, 1, C]` in the forward — `β`'s (`Σ dy`), the scale's
/// (`Σ dy·(x − mean)`) and the mean's through `x − mean` (`Σ −(dy·scale)`) — summed as
/// autodiff's `sum_dims` does: over the batch for each step, then over the steps, each from
/// zero; an axis of size one is not summed (not even added to zero).
fn broadcast_sums(x: &[f32], dy: &[f32], mean: &[f32], scale: &[f32], d: NormDims) -> [Vec<f32>; 3] {
    let c = d.channels;
    let mut total = [vec![0.0f32; c], vec![0.0f32; c], vec![0.0f32; c]];
    let mut step = [vec![0.0f32; c], vec![0.0f32; c], vec![0.0f32; c]];
    for t in 0..d.time {
        let [beta, scale_sum, mean_sum] = &mut step;
        let (beta, scale_sum, mean_sum) = (&mut beta[..c], &mut scale_sum[..c], &mut mean_sum[..c]);
        if d.batch > 1 {
            beta.fill(0.0);
            scale_sum.fill(0.0);
            mean_sum.fill(0.0);
            for b in 0..d.batch {
                let i = d.at(b, t);
                let (xr, g) = (&x[i..i + c], &dy[i..i + c]);
                for j in 0..c {
                    beta[j] += g[j];
                    scale_sum[j] += g[j] * (xr[j] - mean[j]);
                    mean_sum[j] += -(g[j] * scale[j]);
                }
            }
        } else {
            let i = d.at(0, t);
            let (xr, g) = (&x[i..i + c], &dy[i..i + c]);
            for j in 0..c {
                beta[j] = g[j];
                scale_sum[j] = g[j] * (xr[j] - mean[j]);
                mean_sum[j] = -(g[j] * scale[j]);
            }
        }
        for (sum, part) in total.iter_mut().zip(&step) {
            if d.time > 1 {
                sum.iter_mut().zip(part).for_each(|(s, p)| *s += p);
            } else {
                sum.copy_from_slice(part);
            }
        }
    }
    total
}

fn backward(x: &[f32], stats: &[f32], gamma: &[f32], epsilon: f32, dy: &[f32], d: NormDims) -> NormGrads {
    let c = d.channels;
    let rows = d.rows();
    let n = rows as f32;
    let (mean, var) = stats.split_at(c);
    let (deviation, scale) = deviation_and_scale(var, gamma, epsilon);
    let [beta_grad, scale_grad, mean_grad_direct] = broadcast_sums(x, dy, mean, &scale, d);

    // scale = γ / √(var + ε), and back through `√`, `+ ε`, `/ n` and the sum of squares.
    let mut gamma_grad = vec![0.0f32; c];
    let mut square_grad = vec![0.0f32; c];
    for j in 0..c {
        let s = deviation[j];
        gamma_grad[j] = scale_grad[j] * (1.0 / s);
        let deviation_grad = scale_grad[j] * (-gamma[j] / (s * s));
        let var_grad = deviation_grad * ((var[j] + epsilon).powf(-0.5) / 2.0);
        // `div_scalar`'s backward multiplies by `1 / n` (in f32); `sum_dim`'s adds to zero.
        square_grad[j] = 0.0 + var_grad * (1.0 / n);
    }
    let square_grad = &square_grad[..c];
    // `(x − mean)²`: each element's gradient is `g·e + g·e`; its negation summed over the rows
    // (batch-major, as the statistics were) is the mean's share through the variance.
    let term = |row: &[f32], j: usize| {
        let half = square_grad[j] * (row[j] - mean[j]);
        -(half + half)
    };
    let mut mean_grad_variance = vec![0.0f32; c];
    let sums = &mut mean_grad_variance[..c];
    if rows == 1 {
        // A single row is not summed (not even added to zero).
        (0..c).for_each(|j| sums[j] = term(x, j));
    } else {
        d.for_each_batch_major_row(x, |row| (0..c).for_each(|j| sums[j] += term(row, j)));
    }
    // `mean_dim`'s backward: `1 / n` (rounded from f64) times the mean's gradient summed over
    // its size-one axis.
    let inv_n = (1.0f64 / rows as f64) as f32;
    let spread: Vec<f32> = (0..c)
        .map(|j| inv_n * (0.0 + (mean_grad_variance[j] + mean_grad_direct[j])))
        .collect();

    let (scale, spread) = (&scale[..c], &spread[..c]);
    let mut dx = vec![0.0f32; x.len()];
    for ((out, row), g) in dx.chunks_exact_mut(c).zip(x.chunks_exact(c)).zip(dy.chunks_exact(c)) {
        for j in 0..c {
            let half = square_grad[j] * (row[j] - mean[j]);
            out[j] = g[j] * scale[j] + (spread[j] + (half + half));
        }
    }
    NormGrads {
        x: dx,
        gamma: gamma_grad,
        beta: beta_grad,
    }
}

/// Batch normalization in training over a time-major `[T, B, C]` input.
#[backend_extension(Autodiff, Flex: cfg(feature = "flex"))]
pub trait FusedBatchNorm: Backend {
    /// `[2, C]`: the batch mean and (biased) variance of `x [T, B, C]`. Not differentiated.
    fn batch_statistics(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `[T, B, C]`: `x` normalized with `stats` (from [`batch_statistics`] of the same `x`),
    /// scaled by `gamma [C]` and shifted by `beta [C]`; its backward differentiates through the
    /// statistics too.
    fn batch_normalize(
        x: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f32,
    ) -> FloatTensor<Self>;
}

fn host_statistics<B: HostTensors>(x: FloatTensor<B>) -> FloatTensor<B> {
    let d = NormDims::of(&x);
    let stats = statistics(&B::host_f32(&x), d);
    B::float_from_data(TensorData::new(stats, [2, d.channels]), &x.device())
}

fn host_normalize<B: HostTensors>(
    x: FloatTensor<B>,
    stats: FloatTensor<B>,
    gamma: FloatTensor<B>,
    beta: FloatTensor<B>,
    epsilon: f32,
) -> FloatTensor<B> {
    let tensors = [&x, &stats, &gamma, &beta];
    let [xs, stats, gamma, beta] = tensors.map(B::host_f32);
    let y = normalize(&xs, &stats, &gamma, &beta, epsilon);
    B::float_from_data(TensorData::new(y, x.shape()), &x.device())
}

#[cfg(feature = "flex")]
impl FusedBatchNorm for Flex {
    fn batch_statistics(x: FloatTensor<Self>) -> FloatTensor<Self> {
        host_statistics::<Self>(x)
    }

    fn batch_normalize(
        x: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f32,
    ) -> FloatTensor<Self> {
        host_normalize::<Self>(x, stats, gamma, beta, epsilon)
    }
}

#[derive(Debug)]
struct BatchNormBackward;

impl<B: HostTensors> Backward<B, 3> for BatchNormBackward {
    /// `x`, the statistics, `γ` and `ε`.
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, f32);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let dy = grads.consume::<B>(&ops.node);
        let (x, stats, gamma, epsilon) = ops.state;
        let device = dy.device();
        let (d, x_shape, c) = (NormDims::of(&x), x.shape(), gamma.shape());
        let tensors = [&x, &stats, &gamma, &dy];
        let [x, stats, gamma, dy] = tensors.map(B::host_f32);
        let g = backward(&x, &stats, &gamma, epsilon, &dy, d);
        let tensor = |values: Vec<f32>, shape| B::float_from_data(TensorData::new(values, shape), &device);
        if let Some(node) = node_x {
            grads.register::<B>(node.id, tensor(g.x, x_shape));
        }
        if let Some(node) = node_gamma {
            grads.register::<B>(node.id, tensor(g.gamma, c.clone()));
        }
        if let Some(node) = node_beta {
            grads.register::<B>(node.id, tensor(g.beta, c));
        }
    }
}

impl<B: FusedBatchNorm + HostTensors, C: CheckpointStrategy> FusedBatchNorm for Autodiff<B, C> {
    fn batch_statistics(x: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::batch_statistics(x.into_primitive()))
    }

    fn batch_normalize(
        x: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f32,
    ) -> FloatTensor<Self> {
        let nodes = [x.node(), gamma.node(), beta.node()];
        let [x, stats, gamma, beta] = [x, stats, gamma, beta].map(|t| t.into_primitive());
        match BatchNormBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = B::batch_normalize(x.clone(), stats.clone(), gamma.clone(), beta, epsilon);
                prep.finish((x, stats, gamma, epsilon), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::batch_normalize(x, stats, gamma, beta, epsilon)),
        }
    }
}

/// Keras `BatchNormalization`'s training step on a time-major `x [T, B, C]`: `(y, mean, var)`,
/// `y` time-major, the statistics `[C]` and detached. `None` where the tensor ops run instead:
/// off flex, not `f32`, an empty batch, or `RNNLAB_SCAN=generic`.
pub(crate) fn batch_norm_train(
    x: &Tensor<3>,
    gamma: &Tensor<1>,
    beta: &Tensor<1>,
    epsilon: f64,
) -> Option<(Tensor<3>, Tensor<1>, Tensor<1>)> {
    if !batch_norm_available(x) {
        return None;
    }
    let c = x.dims()[2];
    let stats = Tensor::<2>::from_dispatch(<burn::backend::Dispatch as FusedBatchNorm>::batch_statistics(
        x.clone().into_dispatch(),
    ));
    let y = Tensor::<3>::from_dispatch(<burn::backend::Dispatch as FusedBatchNorm>::batch_normalize(
        x.clone().into_dispatch(),
        stats.clone().into_dispatch(),
        gamma.clone().into_dispatch(),
        beta.clone().into_dispatch(),
        // As the tensor op `var + ε` rounds it.
        epsilon as f32,
    ));
    let mean = stats.clone().narrow(0, 0, 1).reshape([c]);
    let var = stats.narrow(0, 1, 1).reshape([c]);
    Some((y, mean, var))
}

fn batch_norm_available(x: &Tensor<3>) -> bool {
    let on_flex = {
        #[cfg(feature = "flex")]
        {
            x.device().inner() == Device::flex()
        }
        #[cfg(not(feature = "flex"))]
        {
            false
        }
    };
    on_flex
        && x.dtype() == DType::F32
        && x.shape().num_elements() > 0
        && !matches!(ScanMode::from_env(), Ok(ScanMode::Generic))
}
