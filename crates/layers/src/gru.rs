//! Keras `GRU`: gates z, r, h; `reset_after` true (Keras 3 default) and false.

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

/// The GRU cell in Keras's layout: `kernel [F, 3u]`, `recurrent_kernel [u, 3u]`, gate blocks
/// z, r, h. The bias is stored as `[2, 3u]` (input row, recurrent row) with `reset_after`, and
/// as `[1, 3u]` (Keras: `[3u]`) without.
///
/// The update keeps the old state: `h' = z·h + (1 − z)·ĥ` (Keras's convention).
#[derive(Module, Debug)]
pub struct GruCell {
    /// `kernel [input_size, 3·units]`.
    pub kernel: Param<Tensor<2>>,
    /// `recurrent_kernel [units, 3·units]`.
    pub recurrent_kernel: Param<Tensor<2>>,
    /// `bias [2, 3·units]` (reset_after) or `[1, 3·units]`.
    pub bias: Option<Param<Tensor<2>>>,
    /// Candidate activation (default `tanh`).
    #[module(skip)]
    pub activation: Activation,
    /// Gate activation (default `sigmoid`).
    #[module(skip)]
    pub recurrent_activation: Activation,
    /// Apply the reset gate after the recurrent matmul (Keras 3 default `true`).
    pub reset_after: bool,
    input_size: usize,
    units: usize,
}

/// Keras `GRU(units, …)`.
///
/// ```
/// use rnnlab_layers::{Backend, GruConfig, Layer, LayerConfig, Shape};
/// let layer = GruConfig::new(20).init(&Shape::sequence(1), &Backend::Flex.device()?)?;
/// assert_eq!(layer.param_count(), 1380);
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Config, Debug)]
#[must_use]
pub struct GruConfig {
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
    /// Default `true` (Keras 3).
    #[config(default = true)]
    pub reset_after: bool,
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

impl GruConfig {
    /// The layer options part of this config.
    pub fn options(&self) -> RnnOptions {
        rnn_options_of!(self)
    }
}

impl GruCell {
    fn bias_row(&self, row: usize) -> Option<Tensor<1>> {
        self.bias.as_ref().map(|b| {
            let width = 3 * self.units;
            b.val().narrow(0, row, 1).reshape([width])
        })
    }
}

impl CellConfig for GruConfig {
    type Cell = GruCell;

    /// The cell with Keras's initializers. A size of 0, or one whose weights would exceed
    /// [`MAX_ELEMENTS`](crate::MAX_ELEMENTS), is an error (checked before anything is allocated).
    fn init_cell(&self, input_size: usize, device: &Device) -> Result<GruCell, LayersError> {
        let (i, u) = (input_size, self.units);
        crate::check_sizes("GRU", &[("input_size", i), ("units", u)], &[&[i, 3, u], &[u, 3, u]])?;
        let rows = if self.reset_after { 2 } else { 1 };
        Ok(GruCell {
            kernel: init::glorot_uniform(input_size, 3 * u, device),
            recurrent_kernel: init::orthogonal(u, 3 * u, device),
            bias: self
                .use_bias
                .then(|| Param::from_tensor(Tensor::zeros([rows, 3 * u], device))),
            activation: self.activation,
            recurrent_activation: self.recurrent_activation,
            reset_after: self.reset_after,
            input_size,
            units: u,
        })
    }
}

recurrent_layer_config!(GruConfig, "GRU");

impl Cell for GruCell {
    fn input_size(&self) -> usize {
        self.input_size
    }
    fn units(&self) -> usize {
        self.units
    }
    fn gate_count(&self) -> usize {
        3
    }
    fn keras_class(&self) -> &'static str {
        "GRU"
    }
    fn project_inputs(&self, inputs: &[Tensor<3>]) -> Tensor<3> {
        project_gates(inputs, self.kernel.val(), self.bias_row(0), 3)
    }
    fn step(&self, xp: Tensor<2>, states: &[Tensor<2>], masks: Option<&[Tensor<2>]>) -> (Tensor<2>, Vec<Tensor<2>>) {
        let h = &states[0];
        let u = self.units;
        let ra = self.recurrent_activation;
        let mut x = xp.chunk(3, 1).into_iter();
        let (xz, xr, xh) = (x.next().expect("z"), x.next().expect("r"), x.next().expect("h"));
        let hh = if self.reset_after {
            let mut hz = recurrent_gates(h, self.recurrent_kernel.val(), masks, 3);
            if let Some(b) = self.bias_row(1) {
                hz = hz + b.unsqueeze::<2>();
            }
            let mut r_ = hz.chunk(3, 1).into_iter();
            let (hz_z, hz_r, hz_h) = (r_.next().expect("z"), r_.next().expect("r"), r_.next().expect("h"));
            let z = ra.apply(xz + hz_z);
            let r = ra.apply(xr + hz_r);
            let cand = self.activation.apply(xh + r * hz_h);
            (z, cand)
        } else {
            let uk = self.recurrent_kernel.val();
            let block = |g: usize| uk.clone().narrow(1, g * u, u);
            let masked = |g: usize| match masks {
                Some([m]) => h.clone() * m.clone(),
                Some(ms) if ms.len() == 3 => h.clone() * ms[g].clone(),
                _ => h.clone(),
            };
            let z = ra.apply(xz + masked(0).matmul(block(0)));
            let r = ra.apply(xr + masked(1).matmul(block(1)));
            let cand = self.activation.apply(xh + (r * masked(2)).matmul(block(2)));
            (z, cand)
        };
        let (z, cand) = hh;
        let h_new = z.clone() * h.clone() + (z.neg() + 1.0) * cand;
        (h_new.clone(), vec![h_new])
    }
    fn keras_config(&self) -> serde_json::Value {
        json!({
            "units": self.units,
            "activation": self.activation.keras_name(),
            "recurrent_activation": self.recurrent_activation.keras_name(),
            "use_bias": self.bias.is_some(),
            "reset_after": self.reset_after,
        })
    }
    fn is_keras_layer(&self, _: Sealed) -> bool {
        true
    }
    fn fused(&self, _: Sealed) -> Option<FusedCell> {
        Some(FusedCell {
            kind: if self.reset_after {
                FusedKind::GruResetAfter
            } else {
                FusedKind::GruResetBefore
            },
            activation: self.activation,
            recurrent_activation: self.recurrent_activation,
            recurrent_kernel: self.recurrent_kernel.val(),
            recurrent_bias: if self.reset_after { self.bias_row(1) } else { None },
        })
    }
    fn keras_weights(&self) -> Vec<AnyTensor> {
        let mut w = vec![
            AnyTensor::D2(self.kernel.val()),
            AnyTensor::D2(self.recurrent_kernel.val()),
        ];
        w.extend(self.bias.as_ref().map(|b| AnyTensor::D2(b.val())));
        w
    }
    fn with_keras_weights(mut self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError> {
        let (f, u) = (self.input_size, self.units);
        let a = expect_arrays("GRU", arrays, 2 + usize::from(self.bias.is_some()))?;
        self.kernel = a[0].param("kernel", [f, 3 * u], device)?;
        self.recurrent_kernel = a[1].param("recurrent_kernel", [u, 3 * u], device)?;
        if self.bias.is_some() {
            let b = &a[2];
            self.bias = Some(if self.reset_after {
                b.param("bias", [2, 3 * u], device)?
            } else if b.shape.len() == 2 {
                // The [1, 3u] row `keras_weights` gives (the parameter itself, so that its
                // gradient can be looked up).
                b.param("bias", [1, 3 * u], device)?
            } else {
                // Keras's [3u] bias, stored as one row.
                Param::from_tensor(b.tensor("bias", [3 * u], device)?.reshape([1, 3 * u]))
            });
        }
        Ok(self)
    }
}
