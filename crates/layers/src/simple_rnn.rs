//! Keras `SimpleRNN`: `h' = act(x·W + h·U + b)`.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use crate::cell::sealed::Sealed;
use crate::cell::{Cell, project_gates, recurrent_gates};
use crate::rnn::{recurrent_layer_config, rnn_options_of};
use crate::scan::{FusedCell, FusedKind};
use crate::tensor::expect_arrays;
use crate::{Activation, AnyTensor, CellConfig, KerasArray, LayersError, RnnOptions, ScanMode, init};
use serde_json::json;

/// The SimpleRNN cell, in Keras's weight layout.
#[derive(Module, Debug)]
pub struct SimpleRnnCell {
    /// `kernel [input_size, units]`.
    pub kernel: Param<Tensor<2>>,
    /// `recurrent_kernel [units, units]`.
    pub recurrent_kernel: Param<Tensor<2>>,
    /// `bias [units]` (absent with `use_bias = false`).
    pub bias: Option<Param<Tensor<1>>>,
    /// The activation (Keras default `tanh`).
    #[module(skip)]
    pub activation: Activation,
    input_size: usize,
    units: usize,
}

/// Keras `SimpleRNN(units, …)`: builds an [`Rnn`](crate::Rnn) of a [`SimpleRnnCell`].
///
/// ```
/// use rnnlab_layers::{Backend, Layer, LayerConfig, Shape, SimpleRnnConfig};
/// let device = Backend::Flex.device()?;
/// let layer = SimpleRnnConfig::new(20).with_return_sequences(true).init(&Shape::sequence(1), &device)?;
/// assert_eq!(layer.param_count(), 440); // Keras: SimpleRNN(20) on 1 feature
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Config, Debug)]
#[must_use]
pub struct SimpleRnnConfig {
    /// Units.
    pub units: usize,
    /// Activation. Default `tanh`.
    #[config(default = "Activation::Tanh")]
    pub activation: Activation,
    /// Whether to add a bias. Default `true`.
    #[config(default = true)]
    pub use_bias: bool,
    /// Output every step (`[batch, time, units]`) rather than the last. Default `false`.
    #[config(default = false)]
    pub return_sequences: bool,
    /// Also return the final state (a Keras flag; [`RnnOutput`](crate::RnnOutput) always carries it). Default `false`.
    #[config(default = false)]
    pub return_state: bool,
    /// Process the sequence backwards (outputs stay in processing order). Default `false`.
    #[config(default = false)]
    pub go_backwards: bool,
    /// Input dropout rate, one mask per sequence. Default `0`.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Recurrent dropout rate on `h`, one mask per sequence. Default `0`.
    #[config(default = 0.0)]
    pub recurrent_dropout: f64,
    /// Carry the final states into the next call instead of starting from zeros (Keras
    /// `stateful=True`; see [`RnnOptions::stateful`]). Default `false`.
    #[config(default = false)]
    pub stateful: bool,
    /// Time loop: fused op or per-step tensor ops. Default `Auto` (fused on flex/ndarray).
    #[config(default = "ScanMode::Auto")]
    pub scan: ScanMode,
}

impl SimpleRnnConfig {
    /// The layer options part of this config.
    pub fn options(&self) -> RnnOptions {
        rnn_options_of!(self)
    }
}

impl CellConfig for SimpleRnnConfig {
    type Cell = SimpleRnnCell;

    /// The cell with Keras's initializers. A size of 0, or one whose weights would exceed
    /// [`MAX_ELEMENTS`](crate::MAX_ELEMENTS), is an error (checked before anything is allocated).
    fn init_cell(&self, input_size: usize, device: &Device) -> Result<SimpleRnnCell, LayersError> {
        let (i, u) = (input_size, self.units);
        crate::check_sizes(
            "SimpleRNN",
            &[("input_size", i), ("units", u)],
            &[&[i, 1, u], &[u, 1, u]],
        )?;
        Ok(SimpleRnnCell {
            kernel: init::glorot_uniform(input_size, u, device),
            recurrent_kernel: init::orthogonal(u, u, device),
            bias: self.use_bias.then(|| init::vector(vec![0.0; u], device)),
            activation: self.activation,
            input_size,
            units: u,
        })
    }
}

recurrent_layer_config!(SimpleRnnConfig, "SimpleRNN");

impl Cell for SimpleRnnCell {
    fn input_size(&self) -> usize {
        self.input_size
    }
    fn units(&self) -> usize {
        self.units
    }
    fn keras_class(&self) -> &'static str {
        "SimpleRNN"
    }
    fn project_inputs(&self, inputs: &[Tensor<3>]) -> Tensor<3> {
        project_gates(inputs, self.kernel.val(), self.bias.as_ref().map(Param::val), 1)
    }
    fn step(&self, xp: Tensor<2>, states: &[Tensor<2>], masks: Option<&[Tensor<2>]>) -> (Tensor<2>, Vec<Tensor<2>>) {
        let h = self
            .activation
            .apply(xp + recurrent_gates(&states[0], self.recurrent_kernel.val(), masks, 1));
        (h.clone(), vec![h])
    }
    fn keras_config(&self) -> serde_json::Value {
        json!({ "units": self.units, "activation": self.activation.keras_name(), "use_bias": self.bias.is_some() })
    }
    fn is_keras_layer(&self, _: Sealed) -> bool {
        true
    }
    fn fused(&self, _: Sealed) -> Option<FusedCell> {
        Some(FusedCell {
            kind: FusedKind::Simple,
            activation: self.activation,
            recurrent_activation: Activation::Linear,
            recurrent_kernel: self.recurrent_kernel.val(),
            recurrent_bias: None,
        })
    }
    fn keras_weights(&self) -> Vec<AnyTensor> {
        let mut w = vec![
            AnyTensor::D2(self.kernel.val()),
            AnyTensor::D2(self.recurrent_kernel.val()),
        ];
        w.extend(self.bias.as_ref().map(|b| AnyTensor::D1(b.val())));
        w
    }
    fn with_keras_weights(mut self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError> {
        let (f, u) = (self.input_size, self.units);
        let a = expect_arrays("SimpleRNN", arrays, 2 + usize::from(self.bias.is_some()))?;
        self.kernel = a[0].param("kernel", [f, u], device)?;
        self.recurrent_kernel = a[1].param("recurrent_kernel", [u, u], device)?;
        if self.bias.is_some() {
            self.bias = Some(a[2].param("bias", [u], device)?);
        }
        Ok(self)
    }
}
