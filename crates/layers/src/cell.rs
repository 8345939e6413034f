//! The cell abstraction: one time step of a recurrent layer.

use burn::module::{Module, ModuleDisplay};
use burn::tensor::{Device, Tensor};

use crate::{AnyTensor, FusedCell, KerasArray, LayersError};

/// One step of a recurrent layer, Keras's `RNN(cell)` idea in Rust.
///
/// A cell declares its sizes and state count, projects the inputs of *all* time steps at once
/// ([`project_inputs`](Cell::project_inputs), one matmul over `[time·batch, features]`), and
/// advances one step from a projected input and the previous states
/// ([`step`](Cell::step)). The [`Rnn`](crate::Rnn) driver adds everything else — time loop,
/// `go_backwards`, masks, initial states, dropout, `return_sequences` / `return_state` — and
/// [`Bidirectional`](crate::Bidirectional) wraps any `Rnn`. A user-defined cell gets all of it;
/// see [`LayerNormSimpleRnnCell`](crate::LayerNormSimpleRnnCell) for the lecture's example.
pub trait Cell: Module + ModuleDisplay {
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
    /// Keras's class name for summaries (`"SimpleRNN"`).
    fn keras_class(&self) -> &'static str;
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
    /// The cell's form for the fused scan ([`ScanMode`](crate::ScanMode)), if it has one. The
    /// default `None` runs the cell through [`step`](Cell::step) on every backend.
    fn fused(&self) -> Option<FusedCell> {
        None
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

/// `x @ kernel + bias` for every time step, `[time, batch, features] -> [time, batch, cols]`.
/// With one input per gate, gate `g` uses `inputs[g]` and the kernel's `g`-th column block.
pub fn project_gates(inputs: &[Tensor<3>], kernel: Tensor<2>, bias: Option<Tensor<1>>, gates: usize) -> Tensor<3> {
    let [t, b, f] = inputs[0].dims();
    let cols = kernel.dims()[1];
    if inputs.len() == 1 {
        return crate::scan::linear(inputs[0].clone().reshape([t * b, f]), kernel, bias).reshape([t, b, cols]);
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
