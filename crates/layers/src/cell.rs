//! The cell abstraction: one time step of a recurrent layer.

use burn::module::{Module, ModuleDisplay};
use burn::tensor::{Device, Tensor};

use crate::scan::FusedCell;
use crate::{AnyTensor, KerasArray, LayersError};

/// Keeps the fused kernels to the built-in cells: a method taking [`Sealed`] cannot be written
/// outside this crate, so a user cell always runs its own [`Cell::step`].
pub(crate) mod sealed {
    /// A token only this crate can name.
    #[derive(Clone, Copy, Debug)]
    pub struct Sealed;
}

/// One step of a recurrent layer, Keras's `RNN(cell)` idea in Rust.
///
/// A cell declares its sizes and state count, projects the inputs of *all* time steps at once
/// ([`project_inputs`](Cell::project_inputs), one matmul over `[time·batch, features]`), and
/// advances one step from a projected input and the previous states
/// ([`step`](Cell::step)). The [`Rnn`](crate::Rnn) driver adds everything else — time loop,
/// `go_backwards`, masks, initial states, dropout, `return_sequences` / `return_state` — and
/// [`Bidirectional`](crate::Bidirectional) wraps any `Rnn`. A user-defined cell gets all of it;
/// see [`LayerNormSimpleRnnCell`](crate::LayerNormSimpleRnnCell) for the lecture's example and
/// `examples/custom_cell.rs` for a cell written outside the library, stacked in a
/// [`Sequential`](crate::Sequential) and trained with `fit`.
///
/// A cell is built by a [`CellConfig`] (its sizes except the input's, which the model infers);
/// [`RnnConfig`](crate::RnnConfig) turns that into a layer config with Keras's `RNN` options.
pub trait Cell: Module + ModuleDisplay + 'static {
    /// Features per input time step.
    fn input_size(&self) -> usize;
    /// Units: the width of the output and of every state.
    fn units(&self) -> usize;
    /// Number of state tensors (1 for SimpleRNN and GRU, 2 for LSTM: `[h, c]`).
    fn state_count(&self) -> usize {
        1
    }
    /// Gate blocks in the kernels (1, LSTM 4, GRU 3): with recurrent dropout Keras 3 draws one
    /// input mask and one recurrent mask per gate.
    fn gate_count(&self) -> usize {
        1
    }
    /// Keras's class name: the layer's for the built-in cells (`"SimpleRNN"`), the cell's for
    /// others (`"LNSimpleRNNCell"`, shown as `RNN(LNSimpleRNNCell)`).
    fn keras_class(&self) -> &'static str;
    /// The cell's Keras config (default `{"units": units}`); a cell with more options adds them.
    fn keras_config(&self) -> serde_json::Value {
        serde_json::json!({ "units": self.units() })
    }
    /// Projects every time step's input at once.
    ///
    /// `inputs` holds the time-major input `[time, batch, features]` once, or — with per-gate
    /// input dropout — [`gate_count`](Cell::gate_count) differently masked copies. Returns
    /// `[time, batch, width]` for [`step`](Cell::step).
    fn project_inputs(&self, inputs: &[Tensor<3>]) -> Tensor<3>;
    /// One time step: the projected input `[batch, width]` and the previous states (each
    /// `[batch, units]`) give the step's output `[batch, units]` and the new states.
    /// `recurrent_masks`, when training with recurrent dropout, holds one mask `[batch, units]`
    /// (or one per gate) to multiply the previous `h` with.
    fn step(
        &self,
        projected: Tensor<2>,
        states: &[Tensor<2>],
        recurrent_masks: Option<&[Tensor<2>]>,
    ) -> (Tensor<2>, Vec<Tensor<2>>);
    /// The built-in cells' form for the fused scan ([`ScanMode`](crate::ScanMode)). Sealed: every
    /// other cell runs through [`step`](Cell::step) on every backend.
    #[doc(hidden)]
    fn fused(&self, _: sealed::Sealed) -> Option<FusedCell> {
        None
    }
    /// Whether this is a built-in cell whose Keras layer has its own class (`SimpleRNN`, not
    /// `RNN(SimpleRNNCell)`). Sealed like [`fused`](Cell::fused).
    #[doc(hidden)]
    fn is_keras_layer(&self, _: sealed::Sealed) -> bool {
        false
    }
    /// The weights in Keras's `get_weights()` order.
    fn keras_weights(&self) -> Vec<AnyTensor>;
    /// Replaces the weights with Keras-layout arrays (same order as [`keras_weights`](Cell::keras_weights)).
    fn with_keras_weights(self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError>
    where
        Self: Sized;
    /// Zero initial states, `state_count` tensors of `[batch, units]`.
    fn zero_states(&self, batch: usize, device: &Device) -> Vec<Tensor<2>> {
        (0..self.state_count())
            .map(|_| Tensor::zeros([batch, self.units()], device))
            .collect()
    }
}

/// Builds a [`Cell`] for inputs of `input_size` features: the cell's part of a recurrent layer's
/// config (units, activations), with the input size left to the model.
///
/// ```
/// use rnnlab_layers::{Backend, Cell, CellConfig, LstmConfig};
/// let cell = LstmConfig::new(20).init_cell(1, &Backend::Flex.device()?)?;
/// assert_eq!((cell.input_size(), cell.units(), cell.state_count()), (1, 20, 2));
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
pub trait CellConfig {
    /// The cell this config builds.
    type Cell: Cell;
    /// The cell with its initial weights; sizes that cannot work are an error.
    fn init_cell(&self, input_size: usize, device: &Device) -> Result<Self::Cell, LayersError>;
}

/// `x @ kernel + bias` for every time step, `[time, batch, features] -> [time, batch, cols]`.
/// With one input per gate, gate `g` uses `inputs[g]` and the kernel's `g`-th column block.
pub fn project_gates(inputs: &[Tensor<3>], kernel: Tensor<2>, bias: Option<Tensor<1>>, gates: usize) -> Tensor<3> {
    let [t, b, f] = inputs[0].dims();
    let cols = kernel.dims()[1];
    if inputs.len() == 1 {
        return crate::scan::linear(inputs[0].clone(), kernel, bias);
    }
    let width = cols / gates;
    let blocks: Vec<Tensor<3>> = inputs
        .iter()
        .enumerate()
        .map(|(g, x)| {
            let w = kernel.clone().narrow(1, g * width, width);
            let y = x.clone().reshape([t * b, f]).matmul(w);
            let y = match &bias {
                Some(bias) => y + bias.clone().narrow(0, g * width, width).unsqueeze::<2>(),
                None => y,
            };
            y.reshape([t, b, width])
        })
        .collect();
    Tensor::cat(blocks, 2)
}

/// `h @ recurrent_kernel`, with the previous `h` masked per gate when recurrent dropout is on.
pub fn recurrent_gates(
    h: &Tensor<2>,
    recurrent_kernel: Tensor<2>,
    masks: Option<&[Tensor<2>]>,
    gates: usize,
) -> Tensor<2> {
    match masks {
        None => h.clone().matmul(recurrent_kernel),
        Some([m]) => (h.clone() * m.clone()).matmul(recurrent_kernel),
        Some(ms) => {
            let width = recurrent_kernel.dims()[1] / gates;
            let blocks = ms
                .iter()
                .enumerate()
                .map(|(g, m)| (h.clone() * m.clone()).matmul(recurrent_kernel.clone().narrow(1, g * width, width)))
                .collect();
            Tensor::cat(blocks, 1)
        }
    }
}
