//! The lecture's layer-normalized SimpleRNN cell, written as a user would write a cell.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use crate::cell::{Cell, project_gates};
use crate::tensor::expect_arrays;
use crate::{Activation, AnyTensor, KerasArray, LayersError, Rnn, RnnOptions, init};

/// The lecture's `LNSimpleRNNCell`: `SimpleRNNCell(units, activation=None)`, then
/// `LayerNormalization` (epsilon 1e-3) over the units, then the activation (default `tanh`).
///
/// It is an ordinary [`Cell`] implementation outside the driver — the pattern for any custom
/// cell — and with [`Rnn`] it gets masks, `go_backwards`, dropout and [`Bidirectional`](crate::Bidirectional).
///
/// ```
/// use rnnlab_layers::{Backend, LayerNormSimpleRnnCell, Rnn, RnnOptions};
/// use rnnlab_layers::burn::tensor::Tensor;
/// let device = Backend::Flex.device()?;
/// let layer = Rnn::new(LayerNormSimpleRnnCell::new(1, 20, &device), RnnOptions::sequences())?;
/// let out = layer.forward(Tensor::<3>::zeros([4, 50, 1], &device), None, None)?;
/// assert_eq!(out.sequence.unwrap().dims(), [4, 50, 20]);
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
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
    /// Applied after the normalization (default `tanh`).
    #[module(skip)]
    pub activation: Activation,
    /// LayerNormalization epsilon (Keras default 1e-3).
    pub epsilon: f64,
    input_size: usize,
    units: usize,
}

impl LayerNormSimpleRnnCell {
    /// A cell with Keras's initializers and `tanh`.
    pub fn new(input_size: usize, units: usize, device: &Device) -> Self {
        Self {
            kernel: init::glorot_uniform(input_size, units, device),
            recurrent_kernel: init::orthogonal(units, units, device),
            bias: init::vector(vec![0.0; units], device),
            gamma: init::vector(vec![1.0; units], device),
            beta: init::vector(vec![0.0; units], device),
            activation: Activation::Tanh,
            epsilon: 1e-3,
            input_size,
            units,
        }
    }

    /// With another activation.
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// As a layer with the given options.
    pub fn into_layer(self, options: RnnOptions) -> Result<Rnn<Self>, LayersError> {
        Rnn::new(self, options)
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
        "RNN(LNSimpleRNNCell)"
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
