//! Keras `LSTM`: gates i, f, c, o in one fused kernel.

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

/// The LSTM cell in Keras's layout: `kernel [F, 4u]`, `recurrent_kernel [u, 4u]`, one `bias [4u]`,
/// gate blocks in the order i, f, c, o. States are `[h, c]`.
#[derive(Module, Debug)]
pub struct LstmCell {
    /// `kernel [input_size, 4·units]`.
    pub kernel: Param<Tensor<2>>,
    /// `recurrent_kernel [units, 4·units]`.
    pub recurrent_kernel: Param<Tensor<2>>,
    /// `bias [4·units]`.
    pub bias: Option<Param<Tensor<1>>>,
    /// Candidate and output activation (default `tanh`).
    #[module(skip)]
    pub activation: Activation,
    /// Gate activation (default `sigmoid`; Keras 3 `hard_sigmoid` also supported).
    #[module(skip)]
    pub recurrent_activation: Activation,
    input_size: usize,
    units: usize,
}

/// Keras `LSTM(units, …)`.
///
/// ```
/// use rnnlab_layers::{Backend, Layer, LayerConfig, LstmConfig, Shape};
/// let layer = LstmConfig::new(20).init(&Shape::sequence(1), &Backend::Flex.device()?)?;
/// assert_eq!(layer.param_count(), 1760);
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Config, Debug)]
#[must_use]
pub struct LstmConfig {
    /// Units.
    pub units: usize,
    /// Default `tanh`.
    #[config(default = "Activation::Tanh")]
    pub activation: Activation,
    /// Default `sigmoid`.
    #[config(default = "Activation::Sigmoid")]
    pub recurrent_activation: Activation,
    /// Default `true`.
    #[config(default = true)]
    pub use_bias: bool,
    /// Initialize the forget-gate bias to 1. Default `true`.
    #[config(default = true)]
    pub unit_forget_bias: bool,
    /// Default `false`.
    #[config(default = false)]
    pub return_sequences: bool,
    /// Default `false`.
    #[config(default = false)]
    pub return_state: bool,
    /// Default `false`.
    #[config(default = false)]
    pub go_backwards: bool,
    /// Default `0`.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Default `0`.
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

impl LstmConfig {
    /// The layer options part of this config.
    pub fn options(&self) -> RnnOptions {
        rnn_options_of!(self)
    }
}

impl CellConfig for LstmConfig {
    type Cell = LstmCell;

    /// The cell with Keras's initializers. A size of 0, or one whose weights would exceed
    /// [`MAX_ELEMENTS`](crate::MAX_ELEMENTS), is an error (checked before anything is allocated).
    fn init_cell(&self, input_size: usize, device: &Device) -> Result<LstmCell, LayersError> {
        let (i, u) = (input_size, self.units);
        crate::check_sizes("LSTM", &[("input_size", i), ("units", u)], &[&[i, 4, u], &[u, 4, u]])?;
        let mut bias = vec![0.0; 4 * u];
        if self.unit_forget_bias {
            bias[u..2 * u].iter_mut().for_each(|b| *b = 1.0);
        }
        Ok(LstmCell {
            kernel: init::glorot_uniform(input_size, 4 * u, device),
            recurrent_kernel: init::orthogonal(u, 4 * u, device),
            bias: self.use_bias.then(|| init::vector(bias, device)),
            activation: self.activation,
            recurrent_activation: self.recurrent_activation,
            input_size,
            units: u,
        })
    }
}

recurrent_layer_config!(LstmConfig, "LSTM");

impl Cell for LstmCell {
    fn input_size(&self) -> usize {
        self.input_size
    }
    fn units(&self) -> usize {
        self.units
    }
    fn state_count(&self) -> usize {
        2
    }
    fn gate_count(&self) -> usize {
        4
    }
    fn keras_class(&self) -> &'static str {
        "LSTM"
    }
    fn project_inputs(&self, inputs: &[Tensor<3>]) -> Tensor<3> {
        project_gates(inputs, self.kernel.val(), self.bias.as_ref().map(Param::val), 4)
    }
    fn step(&self, xp: Tensor<2>, states: &[Tensor<2>], masks: Option<&[Tensor<2>]>) -> (Tensor<2>, Vec<Tensor<2>>) {
        let (h, c) = (&states[0], &states[1]);
        let z = xp + recurrent_gates(h, self.recurrent_kernel.val(), masks, 4);
        let mut gates = z.chunk(4, 1).into_iter();
        let mut next = || gates.next().expect("four gate blocks");
        let (zi, zf, zc, zo) = (next(), next(), next(), next());
        let ra = self.recurrent_activation;
        let c_new = ra.apply(zf) * c.clone() + ra.apply(zi) * self.activation.apply(zc);
        let h_new = ra.apply(zo) * self.activation.apply(c_new.clone());
        (h_new.clone(), vec![h_new, c_new])
    }
    fn keras_config(&self) -> serde_json::Value {
        json!({
            "units": self.units,
            "activation": self.activation.keras_name(),
            "recurrent_activation": self.recurrent_activation.keras_name(),
            "use_bias": self.bias.is_some(),
        })
    }
    fn is_keras_layer(&self, _: Sealed) -> bool {
        true
    }
    fn fused(&self, _: Sealed) -> Option<FusedCell> {
        Some(FusedCell {
            kind: FusedKind::Lstm,
            activation: self.activation,
            recurrent_activation: self.recurrent_activation,
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
        let a = expect_arrays("LSTM", arrays, 2 + usize::from(self.bias.is_some()))?;
        self.kernel = a[0].param("kernel", [f, 4 * u], device)?;
        self.recurrent_kernel = a[1].param("recurrent_kernel", [u, 4 * u], device)?;
        if self.bias.is_some() {
            self.bias = Some(a[2].param("bias", [4 * u], device)?);
        }
        Ok(self)
    }
}
