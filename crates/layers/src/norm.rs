//! Keras `LayerNormalization` and `BatchNormalization` over the last axis, with Keras defaults
//! (epsilon 1e-3, momentum 0.99) — Burn's own defaults differ.

use burn::config::Config;
use burn::module::{Flag, Module, Param, RunningState};
use burn::tensor::{Bool, Device, Tensor};
use serde_json::json;

use crate::layer::no_state;
use crate::layer_norm_rnn::layer_norm;
use crate::tensor::expect_arrays;
use crate::{AnyTensor, Input, KerasArray, Layer, LayerConfig, LayerOutput, LayersError, Shape, init};

/// Keras `LayerNormalization(axis=-1, epsilon=1e-3)`.
#[derive(Module, Debug)]
pub struct LayerNormalization {
    /// `gamma [C]` (ones).
    pub gamma: Param<Tensor<1>>,
    /// `beta [C]` (zeros).
    pub beta: Param<Tensor<1>>,
    epsilon: f64,
}

/// Config of [`LayerNormalization`]; the channels are the input's last axis.
///
/// ```
/// use rnnlab_layers::{Backend, Layer, LayerConfig, LayerNormalizationConfig, Shape};
/// let ln = LayerNormalizationConfig::new().init(&Shape::sequence(20), &Backend::Flex.device()?)?;
/// assert_eq!(ln.param_count(), 40);
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Config, Debug)]
#[must_use]
pub struct LayerNormalizationConfig {
    /// Default 1e-3 (Keras).
    #[config(default = 1e-3)]
    pub epsilon: f64,
}

impl LayerConfig for LayerNormalizationConfig {
    type Layer = LayerNormalization;

    /// The layer; zero channels or a negative or non-finite `epsilon` is an error.
    fn init(&self, input: &Shape, device: &Device) -> Result<LayerNormalization, LayersError> {
        let channels = input.features("LayerNormalization")?;
        check_norm("LayerNormalization", channels, self.epsilon, None)?;
        Ok(LayerNormalization {
            gamma: init::vector(vec![1.0; channels], device),
            beta: init::vector(vec![0.0; channels], device),
            epsilon: self.epsilon,
        })
    }
}

/// The output shape of a normalization over the last axis of `channels`.
fn same_shape(layer: &str, channels: usize, input: &Shape) -> Result<Shape, LayersError> {
    if input.features(layer)? != channels {
        return Err(input.refused(layer, &format!("{channels} features on the last axis")));
    }
    Ok(input.clone())
}

impl LayerNormalization {
    /// Epsilon (Keras default 1e-3).
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// Normalizes the last axis of a rank-2 or rank-3 input.
    fn forward_any(&self, x: AnyTensor) -> Result<AnyTensor, LayersError> {
        let c = self.gamma.val().dims()[0];
        if x.dims().last() != Some(&c) {
            return Err(LayersError::shape(
                "LayerNormalization input",
                format!("[…, {c}]"),
                &x.dims(),
            ));
        }
        let (g, b, e) = (self.gamma.val(), self.beta.val(), self.epsilon);
        Ok(match x {
            AnyTensor::D1(t) => AnyTensor::D1(layer_norm(t, g, b, e)),
            AnyTensor::D2(t) => AnyTensor::D2(layer_norm(t, g, b, e)),
            AnyTensor::D3(t) => AnyTensor::D3(layer_norm(t, g, b, e)),
        })
    }
}

impl Layer for LayerNormalization {
    fn keras_class(&self) -> String {
        "LayerNormalization".into()
    }

    fn keras_config(&self) -> serde_json::Value {
        json!({ "epsilon": self.epsilon })
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape, LayersError> {
        same_shape("LayerNormalization", self.gamma.dims()[0], input)
    }

    fn forward(
        &self,
        input: Input,
        initial_state: Option<Vec<Tensor<2>>>,
        mask: Option<Tensor<2, Bool>>,
    ) -> Result<LayerOutput, LayersError> {
        no_state("LayerNormalization", &initial_state)?;
        let y = self.forward_any(input.into_float("LayerNormalization")?)?;
        Ok(LayerOutput::single(y, mask))
    }

    /// `[gamma, beta]`.
    fn keras_weights(&self) -> Vec<AnyTensor> {
        vec![AnyTensor::D1(self.gamma.val()), AnyTensor::D1(self.beta.val())]
    }

    fn with_keras_weights(mut self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError> {
        let c = self.gamma.val().dims()[0];
        let a = expect_arrays("LayerNormalization", arrays, 2)?;
        self.gamma = a[0].param("gamma", [c], device)?;
        self.beta = a[1].param("beta", [c], device)?;
        Ok(self)
    }
}

/// Keras `BatchNormalization(axis=-1, momentum=0.99, epsilon=1e-3)`.
///
/// Training (autodiff device and training flag): normalizes with the batch statistics over every
/// axis but the last (biased variance) and moves `moving_* = m·moving_* + (1 − m)·batch`.
/// Inference: `(x − moving_mean) / sqrt(moving_variance + ε) · γ + β`.
///
/// On flex, training on a sequence `[B, T, C]` runs as two host ops that repeat the tensor ops'
/// arithmetic (the same bits, a fraction of the time); `RNNLAB_SCAN=generic` keeps the tensor ops.
#[derive(Module, Debug)]
pub struct BatchNormalization {
    /// `gamma [C]`.
    pub gamma: Param<Tensor<1>>,
    /// `beta [C]`.
    pub beta: Param<Tensor<1>>,
    /// `moving_mean [C]` (not trainable).
    pub moving_mean: RunningState<Tensor<1>>,
    /// `moving_variance [C]` (not trainable).
    pub moving_variance: RunningState<Tensor<1>>,
    momentum: f64,
    epsilon: f64,
    training: Param<Flag>,
}

/// Config of [`BatchNormalization`].
///
/// ```
/// use rnnlab_layers::{Backend, BatchNormalizationConfig, Layer, LayerConfig, Shape};
/// let bn = BatchNormalizationConfig::new().init(&Shape::sequence(20), &Backend::Flex.device()?)?;
/// assert_eq!((bn.momentum(), bn.epsilon()), (0.99, 1e-3));
/// assert_eq!(bn.param_count(), 80); // Keras counts the moving statistics too
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Config, Debug)]
#[must_use]
pub struct BatchNormalizationConfig {
    /// Default 0.99 (Keras convention: the weight of the old value).
    #[config(default = 0.99)]
    pub momentum: f64,
    /// Default 1e-3.
    #[config(default = 1e-3)]
    pub epsilon: f64,
}

impl LayerConfig for BatchNormalizationConfig {
    type Layer = BatchNormalization;

    /// The layer; zero channels, a negative or non-finite `epsilon` or a `momentum` outside
    /// `[0, 1]` is an error.
    fn init(&self, input: &Shape, device: &Device) -> Result<BatchNormalization, LayersError> {
        let c = input.features("BatchNormalization")?;
        check_norm("BatchNormalization", c, self.epsilon, Some(self.momentum))?;
        Ok(BatchNormalization {
            gamma: init::vector(vec![1.0; c], device),
            beta: init::vector(vec![0.0; c], device),
            moving_mean: RunningState::new(Tensor::zeros([c], device)),
            moving_variance: RunningState::new(Tensor::ones([c], device)),
            momentum: self.momentum,
            epsilon: self.epsilon,
            training: Param::from_bool(true),
        })
    }
}

impl BatchNormalization {
    fn channels(&self) -> usize {
        self.gamma.val().dims()[0]
    }

    /// Momentum of the moving statistics (Keras 0.99).
    pub fn momentum(&self) -> f64 {
        self.momentum
    }

    /// Epsilon (Keras 1e-3).
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// `(x − mean) / sqrt(var + ε) · γ + β` with the given per-channel statistics.
    pub fn normalize<const D: usize>(&self, x: Tensor<D>, mean: Tensor<1>, var: Tensor<1>) -> Tensor<D> {
        let scale = self.gamma.val() / (var + self.epsilon).sqrt();
        (x - mean.unsqueeze::<D>()) * scale.unsqueeze::<D>() + self.beta.val().unsqueeze::<D>()
    }

    fn forward_d<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let device = x.device();
        if self.training.is_enabled() && device.is_autodiff() {
            let c = self.channels();
            let rows = x.shape().num_elements() / c;
            let flat: Tensor<2> = x.clone().reshape([rows, c]);
            let (var, mean) = flat.var_mean_bias(0);
            let (mean, var) = (mean.reshape([c]), var.reshape([c]));
            self.update_moving_statistics(mean.clone(), var.clone());
            self.normalize(x, mean, var)
        } else {
            // Synced: the last training update may still be pending (Burn keeps it per thread).
            let mean = self.moving_mean.value_sync().to_device(&device);
            let var = self.moving_variance.value_sync().to_device(&device);
            self.normalize(x, mean, var)
        }
    }

    /// A sequence `[B, T, C]`: in training on flex, the statistics and the normalization run as
    /// host ops (same bits as [`forward_d`](Self::forward_d)'s tensor ops, several times
    /// faster), on the time-major layout a recurrent layer's output already has.
    fn forward_sequence(&self, x: Tensor<3>) -> Tensor<3> {
        if self.training.is_enabled() && x.device().is_autodiff() {
            let time_major = x.clone().swap_dims(0, 1);
            let fused = crate::scan::batch_norm_train(&time_major, &self.gamma.val(), &self.beta.val(), self.epsilon);
            if let Some((y, mean, var)) = fused {
                self.update_moving_statistics(mean, var);
                return y.swap_dims(0, 1);
            }
        }
        self.forward_d(x)
    }

    /// `moving = m · moving + (1 − m) · batch` for the mean and the variance.
    fn update_moving_statistics(&self, mean: Tensor<1>, var: Tensor<1>) {
        let device = mean.device();
        let m = self.momentum;
        let moved_mean = self.moving_mean.value_sync().to_device(&device) * m + mean.detach() * (1.0 - m);
        let moved_var = self.moving_variance.value_sync().to_device(&device) * m + var.detach() * (1.0 - m);
        self.moving_mean.update(moved_mean.detach());
        self.moving_variance.update(moved_var.detach());
    }

    /// Normalizes a rank-2 or rank-3 input over its last axis.
    fn forward_any(&self, x: AnyTensor) -> Result<AnyTensor, LayersError> {
        let c = self.channels();
        if x.dims().last() != Some(&c) {
            return Err(LayersError::shape(
                "BatchNormalization input",
                format!("[…, {c}]"),
                &x.dims(),
            ));
        }
        Ok(match x {
            AnyTensor::D1(t) => AnyTensor::D1(self.forward_d(t)),
            AnyTensor::D2(t) => AnyTensor::D2(self.forward_d(t)),
            AnyTensor::D3(t) => AnyTensor::D3(self.forward_sequence(t)),
        })
    }

    /// Makes the moving statistics tracked leaves so that gradients with respect to them can be
    /// read (Keras reports them for inference; the parity suite compares them).
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn with_tracked_statistics(mut self) -> Self {
        self.moving_mean = RunningState::new(self.moving_mean.value().require_grad());
        self.moving_variance = RunningState::new(self.moving_variance.value().require_grad());
        self
    }
}

impl Layer for BatchNormalization {
    fn keras_class(&self) -> String {
        "BatchNormalization".into()
    }

    fn keras_config(&self) -> serde_json::Value {
        json!({ "momentum": self.momentum, "epsilon": self.epsilon })
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape, LayersError> {
        same_shape("BatchNormalization", self.channels(), input)
    }

    fn forward(
        &self,
        input: Input,
        initial_state: Option<Vec<Tensor<2>>>,
        mask: Option<Tensor<2, Bool>>,
    ) -> Result<LayerOutput, LayersError> {
        no_state("BatchNormalization", &initial_state)?;
        let y = self.forward_any(input.into_float("BatchNormalization")?)?;
        Ok(LayerOutput::single(y, mask))
    }

    /// `[gamma, beta, moving_mean, moving_variance]`.
    fn keras_weights(&self) -> Vec<AnyTensor> {
        vec![
            AnyTensor::D1(self.gamma.val()),
            AnyTensor::D1(self.beta.val()),
            AnyTensor::D1(self.moving_mean.value_sync()),
            AnyTensor::D1(self.moving_variance.value_sync()),
        ]
    }

    fn with_keras_weights(mut self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError> {
        let c = self.channels();
        let a = expect_arrays("BatchNormalization", arrays, 4)?;
        self.gamma = a[0].param("gamma", [c], device)?;
        self.beta = a[1].param("beta", [c], device)?;
        self.moving_mean = RunningState::new(a[2].tensor("moving_mean", [c], device)?);
        self.moving_variance = RunningState::new(a[3].tensor("moving_variance", [c], device)?);
        Ok(self)
    }

    /// Keras's `Param #` counts the moving statistics too: `4 · channels`.
    fn param_count(&self) -> usize {
        4 * self.channels()
    }
}

/// The sizes and constants every normalization layer needs.
fn check_norm(layer: &str, channels: usize, epsilon: f64, momentum: Option<f64>) -> Result<(), LayersError> {
    crate::check_sizes(layer, &[("channels", channels)], &[&[channels]])?;
    let bad = |what: &str, why: String| {
        Err(LayersError::Config {
            what: format!("{layer} {what}"),
            why,
        })
    };
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return bad(
            "epsilon",
            format!("{epsilon} must be finite and at least 0 (Keras default 1e-3)"),
        );
    }
    if let Some(m) = momentum
        && !(0.0..=1.0).contains(&m)
    {
        return bad("momentum", format!("{m} must be in [0, 1] (Keras default 0.99)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use burn::tensor::TensorData;
    use proptest::prelude::*;

    use super::*;
    use crate::Backend;
    use crate::tensor::f32_bits;

    /// A training call of `BatchNormalization` on a sequence, the host ops against the tensor ops.
    #[derive(Clone, Debug)]
    struct Case {
        batch: usize,
        time: usize,
        channels: usize,
        /// The input as a recurrent layer leaves it (a `[B, T, C]` view of time-major memory)
        /// rather than contiguous.
        time_major_input: bool,
        /// The output's gradient arrives as a view of time-major memory (as from a next
        /// recurrent layer) rather than contiguous.
        time_major_gradient: bool,
        seed: u64,
    }

    fn case() -> impl Strategy<Value = Case> {
        (
            prop_oneof![1 => Just(1usize), 4 => 2usize..40],
            prop_oneof![1 => Just(1usize), 4 => 2usize..12],
            1usize..24,
            any::<[bool; 2]>(),
            any::<u64>(),
        )
            .prop_map(|(batch, time, channels, flags, seed)| Case {
                batch,
                time,
                channels,
                time_major_input: flags[0],
                time_major_gradient: flags[1],
                seed,
            })
    }

    /// Deterministic values with a spread of magnitudes and a per-channel offset (so the means
    /// are far from zero, as after a recurrent layer with a bias).
    fn values(len: usize, channels: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut state = seed | 1;
        (0..len)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let unit = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                unit * scale + (i % channels) as f32 * 0.37 - 1.1
            })
            .collect()
    }

    /// Output, input gradient, `γ`/`β` gradients and the moved statistics, as bits.
    fn run(case: &Case, fused: bool) -> Vec<Vec<u32>> {
        let device = Backend::Flex.device().unwrap().autodiff();
        let (b, t, c) = (case.batch, case.time, case.channels);
        let mut bn = BatchNormalizationConfig::new()
            .init(&Shape::sequence(c), &device)
            .unwrap();
        bn.gamma = init::vector(values(c, c, case.seed ^ 1, 2.0), &device);
        bn.beta = init::vector(values(c, c, case.seed ^ 2, 1.0), &device);
        let data = values(b * t * c, c, case.seed, 3.0);
        let leaf = if case.time_major_input {
            Tensor::<3>::from_data(TensorData::new(data, [t, b, c]), &device).require_grad()
        } else {
            Tensor::<3>::from_data(TensorData::new(data, [b, t, c]), &device).require_grad()
        };
        let x = if case.time_major_input {
            leaf.clone().swap_dims(0, 1)
        } else {
            leaf.clone()
        };
        let y = if fused { bn.forward_sequence(x) } else { bn.forward_d(x) };
        let weights = values(b * t * c, c, case.seed ^ 3, 1.0);
        let loss = if case.time_major_gradient {
            let w = Tensor::<3>::from_data(TensorData::new(weights, [t, b, c]), &device);
            (y.clone().swap_dims(0, 1) * w).sum()
        } else {
            let w = Tensor::<3>::from_data(TensorData::new(weights, [b, t, c]), &device);
            (y.clone() * w).sum()
        };
        let grads = loss.backward();
        vec![
            f32_bits(y.inner()),
            f32_bits(leaf.grad(&grads).expect("x grad")),
            f32_bits(bn.gamma.val().grad(&grads).expect("gamma grad")),
            f32_bits(bn.beta.val().grad(&grads).expect("beta grad")),
            f32_bits(bn.moving_mean.value_sync()),
            f32_bits(bn.moving_variance.value_sync()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The host ops repeat the tensor ops' arithmetic: every bit of every result agrees.
        #[test]
        fn host_ops_give_the_tensor_ops_bits(case in case()) {
            let what = ["y", "dx", "dgamma", "dbeta", "moving_mean", "moving_variance"];
            for ((name, fused), composed) in what.iter().zip(run(&case, true)).zip(run(&case, false)) {
                prop_assert_eq!(fused.len(), composed.len(), "{} length", name);
                let first = fused.iter().zip(&composed).position(|(f, c)| f != c);
                if let Some(i) = first {
                    let (f, c) = (f32::from_bits(fused[i]), f32::from_bits(composed[i]));
                    prop_assert!(false, "{}[{}]: host ops {:e}, tensor ops {:e}", name, i, f, c);
                }
            }
        }
    }

    #[test]
    fn training_on_flex_takes_the_host_ops() {
        let device = Backend::Flex.device().unwrap().autodiff();
        let x = Tensor::<3>::ones([2, 3, 4], &device);
        let (gamma, beta) = (Tensor::<1>::ones([4], &device), Tensor::<1>::zeros([4], &device));
        let fused = crate::scan::batch_norm_train(&x, &gamma, &beta, 1e-3);
        let generic = matches!(std::env::var(crate::SCAN_ENV).as_deref(), Ok("generic"));
        assert_eq!(
            fused.is_some(),
            !generic,
            "the host ops run unless {}=generic",
            crate::SCAN_ENV
        );
    }
}
