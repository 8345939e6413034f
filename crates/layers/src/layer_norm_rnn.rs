//! The lecture's layer-normalized SimpleRNN cell, written as a user would write a cell.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};

use crate::cell::sealed::Sealed;
use crate::cell::{Cell, CellConfig, project_gates};
use crate::scan::{FusedCell, FusedKind};
use crate::tensor::expect_arrays;
use crate::{Activation, AnyTensor, KerasArray, LayersError, init};

/// The lecture's `LNSimpleRNNCell`: `SimpleRNNCell(units, activation=None)`, then
/// `LayerNormalization` (epsilon 1e-3) over the units, then the activation (default `tanh`).
///
/// It is an ordinary [`Cell`] implementation outside the driver — the pattern for any custom
/// cell — and with [`Rnn`](crate::Rnn) it gets masks, `go_backwards`, dropout and
/// [`Bidirectional`](crate::Bidirectional). Unlike a user's cell it also has a fused form (the
/// crate-private part of the trait), so on flex and ndarray its time loop runs as one op with a
/// hand-written backward, like SimpleRNN's; [`ScanMode::Generic`](crate::ScanMode) runs the
/// per-step ops below. Build it with [`LayerNormSimpleRnnCellConfig`].
#[derive(Module, Debug)]
pub struct LayerNormSimpleRnnCell {
    /// `simple_rnn_cell/kernel [input_size, units]`.
    pub kernel: Param<Tensor<2>>,
    /// `simple_rnn_cell/recurrent_kernel [units, units]`.
    pub recurrent_kernel: Param<Tensor<2>>,
    /// `simple_rnn_cell/bias [units]`.
    pub bias: Param<Tensor<1>>,
    /// `layer_normalization/gamma [units]`.
    pub gamma: Param<Tensor<1>>,
    /// `layer_normalization/beta [units]`.
    pub beta: Param<Tensor<1>>,
    #[module(skip)]
    activation: Activation,
    epsilon: f64,
    input_size: usize,
    units: usize,
}

/// Config of [`LayerNormSimpleRnnCell`]: the lecture's `LNSimpleRNNCell(units, activation)`.
///
/// ```
/// use rnnlab_layers::{Backend, LayerNormSimpleRnnCellConfig, Layer, LayerConfig, RnnConfig, Shape};
/// use rnnlab_layers::burn::tensor::Tensor;
/// let device = Backend::Flex.device()?;
/// let layer = RnnConfig::new(LayerNormSimpleRnnCellConfig::new(20))
///     .with_return_sequences(true)
///     .init(&Shape::sequence(1), &device)?;
/// let out = layer.forward(Tensor::<3>::zeros([4, 50, 1], &device), None, None)?;
/// assert_eq!(out.sequence.unwrap().dims(), [4, 50, 20]);
/// assert_eq!(layer.param_count(), 480);
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Config, Debug)]
#[must_use]
pub struct LayerNormSimpleRnnCellConfig {
    /// Units.
    pub units: usize,
    /// Applied after the normalization. Default `tanh`.
    #[config(default = "Activation::Tanh")]
    pub activation: Activation,
    /// LayerNormalization epsilon. Default 1e-3 (Keras).
    #[config(default = 1e-3)]
    pub epsilon: f64,
}

impl CellConfig for LayerNormSimpleRnnCellConfig {
    type Cell = LayerNormSimpleRnnCell;

    /// The cell with Keras's initializers; sizes of 0 or beyond
    /// [`MAX_ELEMENTS`](crate::MAX_ELEMENTS) and a negative or non-finite epsilon are errors.
    fn init_cell(&self, input_size: usize, device: &Device) -> Result<LayerNormSimpleRnnCell, LayersError> {
        let (i, u) = (input_size, self.units);
        crate::check_sizes(
            "LNSimpleRNNCell",
            &[("input_size", i), ("units", u)],
            &[&[i, u], &[u, u]],
        )?;
        if !(self.epsilon.is_finite() && self.epsilon >= 0.0) {
            return Err(LayersError::Config {
                what: "LNSimpleRNNCell epsilon".into(),
                why: format!("{} must be finite and at least 0 (Keras default 1e-3)", self.epsilon),
            });
        }
        Ok(LayerNormSimpleRnnCell {
            kernel: init::glorot_uniform(i, u, device),
            recurrent_kernel: init::orthogonal(u, u, device),
            bias: init::vector(vec![0.0; u], device),
            gamma: init::vector(vec![1.0; u], device),
            beta: init::vector(vec![0.0; u], device),
            activation: self.activation,
            epsilon: self.epsilon,
            input_size: i,
            units: u,
        })
    }
}

/// Layer normalization over the last axis with the biased variance, Keras's formula.
pub fn layer_norm<const D: usize>(x: Tensor<D>, gamma: Tensor<1>, beta: Tensor<1>, epsilon: f64) -> Tensor<D> {
    let (var, mean) = x.clone().var_mean_bias(D - 1);
    let normed = (x - mean) / (var + epsilon).sqrt();
    normed * gamma.unsqueeze::<D>() + beta.unsqueeze::<D>()
}

impl Cell for LayerNormSimpleRnnCell {
    fn input_size(&self) -> usize {
        self.input_size
    }
    fn units(&self) -> usize {
        self.units
    }
    fn keras_class(&self) -> &'static str {
        "LNSimpleRNNCell"
    }
    fn keras_config(&self) -> serde_json::Value {
        serde_json::json!({
            "units": self.units,
            "activation": self.activation.keras_name(),
            "epsilon": self.epsilon,
        })
    }
    fn project_inputs(&self, inputs: &[Tensor<3>]) -> Tensor<3> {
        project_gates(inputs, self.kernel.val(), Some(self.bias.val()), 1)
    }
    fn step(&self, xp: Tensor<2>, states: &[Tensor<2>], masks: Option<&[Tensor<2>]>) -> (Tensor<2>, Vec<Tensor<2>>) {
        let s = xp + crate::cell::recurrent_gates(&states[0], self.recurrent_kernel.val(), masks, 1);
        let h = self
            .activation
            .apply(layer_norm(s, self.gamma.val(), self.beta.val(), self.epsilon));
        (h.clone(), vec![h])
    }
    fn fused(&self, _: Sealed) -> Option<FusedCell> {
        let device = self.gamma.val().device();
        let epsilon = Tensor::<1>::from_data(TensorData::new(vec![self.epsilon as f32], [1]), &device);
        Some(FusedCell {
            kind: FusedKind::LayerNormSimple,
            activation: self.activation,
            recurrent_activation: Activation::Linear,
            recurrent_kernel: self.recurrent_kernel.val(),
            recurrent_bias: Some(Tensor::cat(vec![self.gamma.val(), self.beta.val(), epsilon], 0)),
        })
    }
    fn keras_weights(&self) -> Vec<AnyTensor> {
        vec![
            AnyTensor::D2(self.kernel.val()),
            AnyTensor::D2(self.recurrent_kernel.val()),
            AnyTensor::D1(self.bias.val()),
            AnyTensor::D1(self.gamma.val()),
            AnyTensor::D1(self.beta.val()),
        ]
    }
    fn with_keras_weights(mut self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError> {
        let (f, u) = (self.input_size, self.units);
        let a = expect_arrays("LNSimpleRNNCell", arrays, 5)?;
        self.kernel = a[0].param("kernel", [f, u], device)?;
        self.recurrent_kernel = a[1].param("recurrent_kernel", [u, u], device)?;
        self.bias = a[2].param("bias", [u], device)?;
        self.gamma = a[3].param("gamma", [u], device)?;
        self.beta = a[4].param("beta", [u], device)?;
        Ok(self)
    }
}
