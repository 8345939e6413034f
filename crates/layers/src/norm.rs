//! Keras `LayerNormalization` and `BatchNormalization` over the last axis, with Keras defaults
//! (epsilon 1e-3, momentum 0.99) — Burn's own defaults differ.

use burn::config::Config;
use burn::module::{Flag, Module, Param, RunningState};
use burn::tensor::{Device, Tensor};

use crate::layer_norm_rnn::layer_norm;
use crate::tensor::expect_arrays;
use crate::{AnyTensor, KerasArray, LayersError, init};

/// Keras `LayerNormalization(axis=-1, epsilon=1e-3)`.
#[derive(Module, Debug)]
pub struct LayerNormalization {
    /// `gamma [C]` (ones).
    pub gamma: Param<Tensor<1>>,
    /// `beta [C]` (zeros).
    pub beta: Param<Tensor<1>>,
    /// Epsilon (Keras default 1e-3).
    pub epsilon: f64,
}

/// Config of [`LayerNormalization`].
///
/// ```
/// use rnnlab_layers::{Backend, LayerNormalizationConfig};
/// let ln = LayerNormalizationConfig::new(20).init(&Backend::Flex.device()?)?;
/// assert_eq!(ln.epsilon, 1e-3);
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Config, Debug)]
pub struct LayerNormalizationConfig {
    /// Channels (the last axis).
    pub channels: usize,
    /// Default 1e-3 (Keras).
    #[config(default = 1e-3)]
    pub epsilon: f64,
}

impl LayerNormalizationConfig {
    /// The layer; zero channels or a negative or non-finite `epsilon` is an error.
    pub fn init(&self, device: &Device) -> Result<LayerNormalization, LayersError> {
        check_norm("LayerNormalization", self.channels, self.epsilon, None)?;
        Ok(LayerNormalization {
            gamma: init::vector(vec![1.0; self.channels], device),
            beta: init::vector(vec![0.0; self.channels], device),
            epsilon: self.epsilon,
        })
    }
}

impl LayerNormalization {
    /// Normalizes the last axis of a rank-2 or rank-3 input.
    pub fn forward_any(&self, x: AnyTensor) -> Result<AnyTensor, LayersError> {
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

    /// Weights in Keras order `[gamma, beta]`.
    pub fn keras_weights(&self) -> Vec<AnyTensor> {
        vec![AnyTensor::D1(self.gamma.val()), AnyTensor::D1(self.beta.val())]
    }

    /// Replaces the weights.
    pub fn with_keras_weights(mut self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError> {
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
    /// Momentum of the moving statistics (Keras 0.99).
    pub momentum: f64,
    /// Epsilon (Keras 1e-3).
    pub epsilon: f64,
    /// Training flag.
    pub training: Param<Flag>,
}

/// Config of [`BatchNormalization`].
///
/// ```
/// use rnnlab_layers::{Backend, BatchNormalizationConfig};
/// let bn = BatchNormalizationConfig::new(20).init(&Backend::Flex.device()?)?;
/// assert_eq!((bn.momentum, bn.epsilon), (0.99, 1e-3));
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Config, Debug)]
pub struct BatchNormalizationConfig {
    /// Channels (the last axis).
    pub channels: usize,
    /// Default 0.99 (Keras convention: the weight of the old value).
    #[config(default = 0.99)]
    pub momentum: f64,
    /// Default 1e-3.
    #[config(default = 1e-3)]
    pub epsilon: f64,
}

impl BatchNormalizationConfig {
    /// The layer; zero channels, a negative or non-finite `epsilon` or a `momentum` outside
    /// `[0, 1]` is an error.
    pub fn init(&self, device: &Device) -> Result<BatchNormalization, LayersError> {
        check_norm("BatchNormalization", self.channels, self.epsilon, Some(self.momentum))?;
        let c = self.channels;
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
            let m = self.momentum;
            let moved_mean = self.moving_mean.value_sync().to_device(&device) * m + mean.clone().detach() * (1.0 - m);
            let moved_var = self.moving_variance.value_sync().to_device(&device) * m + var.clone().detach() * (1.0 - m);
            self.moving_mean.update(moved_mean.detach());
            self.moving_variance.update(moved_var.detach());
            self.normalize(x, mean, var)
        } else {
            let mean = self.moving_mean.value().to_device(&device);
            let var = self.moving_variance.value().to_device(&device);
            self.normalize(x, mean, var)
        }
    }

    /// Normalizes a rank-2 or rank-3 input over its last axis.
    pub fn forward_any(&self, x: AnyTensor) -> Result<AnyTensor, LayersError> {
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
            AnyTensor::D3(t) => AnyTensor::D3(self.forward_d(t)),
        })
    }

    /// Weights in Keras order `[gamma, beta, moving_mean, moving_variance]`.
    pub fn keras_weights(&self) -> Vec<AnyTensor> {
        vec![
            AnyTensor::D1(self.gamma.val()),
            AnyTensor::D1(self.beta.val()),
            AnyTensor::D1(self.moving_mean.value()),
            AnyTensor::D1(self.moving_variance.value()),
        ]
    }

    /// Replaces the weights.
    pub fn with_keras_weights(mut self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError> {
        let c = self.channels();
        let a = expect_arrays("BatchNormalization", arrays, 4)?;
        self.gamma = a[0].param("gamma", [c], device)?;
        self.beta = a[1].param("beta", [c], device)?;
        self.moving_mean = RunningState::new(a[2].tensor("moving_mean", [c], device)?);
        self.moving_variance = RunningState::new(a[3].tensor("moving_variance", [c], device)?);
        Ok(self)
    }

    /// Makes the moving statistics tracked leaves so that gradients with respect to them can be
    /// read (Keras reports them for inference). Only useful on an autodiff device.
    pub fn with_tracked_statistics(mut self) -> Self {
        self.moving_mean = RunningState::new(self.moving_mean.value().require_grad());
        self.moving_variance = RunningState::new(self.moving_variance.value().require_grad());
        self
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
