//! Keras `Bidirectional`.

use burn::module::Module;
use burn::tensor::{Bool, Tensor};
use serde::{Deserialize, Serialize};

use crate::{AnyTensor, Cell, LayersError, Rnn};

/// How the forward and backward outputs are combined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeMode {
    /// `[fwd, bwd]` on the last axis (Keras default).
    #[default]
    Concat,
    /// `fwd + bwd`.
    Sum,
    /// `fwd * bwd`.
    Mul,
    /// `(fwd + bwd) / 2`.
    Ave,
    /// Both outputs, separately (Keras `merge_mode=None`).
    None,
}

impl MergeMode {
    /// Parses Keras's `merge_mode` (`None` → [`MergeMode::None`]).
    pub fn from_keras(name: Option<&str>) -> Result<Self, LayersError> {
        Ok(match name {
            None => MergeMode::None,
            Some("concat") => MergeMode::Concat,
            Some("sum") => MergeMode::Sum,
            Some("mul") => MergeMode::Mul,
            Some("ave") => MergeMode::Ave,
            Some(other) => {
                return Err(LayersError::Unsupported {
                    kind: "merge_mode",
                    name: other.into(),
                    supported: "concat, sum, mul, ave, None",
                });
            }
        })
    }
}

/// Keras `Bidirectional(layer, merge_mode)`: a forward copy and a backward (`go_backwards`) copy
/// with their own weights. With `return_sequences` the backward outputs are flipped back to input
/// time order before merging, and masked steps output 0.
///
/// ```
/// use rnnlab_layers::{Backend, Bidirectional, LstmConfig, MergeMode};
/// let device = Backend::Flex.device()?;
/// let cfg = LstmConfig::new(16, 64).with_return_sequences(true);
/// let bi = Bidirectional::new(cfg.init(&device)?, cfg.init(&device)?, MergeMode::Concat)?;
/// assert_eq!(bi.param_count(), 2 * 20_736);
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Module, Debug)]
pub struct Bidirectional<C: Module + Cell> {
    /// The forward copy.
    pub forward_layer: Rnn<C>,
    /// The backward copy (always runs with `go_backwards`).
    pub backward_layer: Rnn<C>,
    /// How outputs are merged.
    #[module(skip)]
    pub merge_mode: MergeMode,
}

/// What a `Bidirectional` layer returns.
#[derive(Clone, Debug)]
pub struct BidirectionalOutput {
    /// The merged output, or `[forward, backward]` with [`MergeMode::None`].
    pub outputs: Vec<AnyTensor>,
    /// Final states of the forward copy.
    pub forward_states: Vec<Tensor<2>>,
    /// Final states of the backward copy.
    pub backward_states: Vec<Tensor<2>>,
}

impl<C: Module + Cell> Bidirectional<C> {
    /// Pairs two layers of the same shape; the second is switched to `go_backwards`.
    pub fn new(forward_layer: Rnn<C>, mut backward_layer: Rnn<C>, merge_mode: MergeMode) -> Result<Self, LayersError> {
        if forward_layer.return_sequences != backward_layer.return_sequences
            || forward_layer.cell.units() != backward_layer.cell.units()
        {
            return Err(LayersError::Config {
                what: "Bidirectional".into(),
                why: "both copies need the same units and return_sequences".into(),
            });
        }
        backward_layer.go_backwards = !forward_layer.go_backwards;
        Ok(Self {
            forward_layer,
            backward_layer,
            merge_mode,
        })
    }

    /// Trainable parameters.
    pub fn param_count(&self) -> usize {
        self.num_params()
    }

    /// Runs both directions and merges. `initial_state` is `[forward states…, backward states…]`.
    pub fn forward(
        &self,
        x: Tensor<3>,
        initial_state: Option<Vec<Tensor<2>>>,
        mask: Option<Tensor<2, Bool>>,
    ) -> Result<BidirectionalOutput, LayersError> {
        let (fwd_init, bwd_init) = match initial_state {
            None => (None, None),
            Some(mut s) => {
                let n = self.forward_layer.cell.state_count();
                if s.len() != 2 * n {
                    return Err(LayersError::Count {
                        what: "Bidirectional initial states".into(),
                        expected: 2 * n,
                        got: s.len(),
                    });
                }
                let bwd = s.split_off(n);
                (Some(s), Some(bwd))
            }
        };
        let seq = self.forward_layer.return_sequences;
        let f = self.forward_layer.run(x.clone(), fwd_init, mask.clone(), seq)?;
        let b = self.backward_layer.run(x, bwd_init, mask, seq)?;
        let (fo, bo) = match (f.sequence, b.sequence) {
            (Some(fs), Some(bs)) => (AnyTensor::D3(fs), AnyTensor::D3(bs.flip([1]))),
            _ => (AnyTensor::D2(f.last), AnyTensor::D2(b.last)),
        };
        let outputs = match (self.merge_mode, fo, bo) {
            (MergeMode::None, fo, bo) => vec![fo, bo],
            (mode, AnyTensor::D3(a), AnyTensor::D3(b)) => vec![AnyTensor::D3(merge(mode, a, b))],
            (mode, AnyTensor::D2(a), AnyTensor::D2(b)) => vec![AnyTensor::D2(merge(mode, a, b))],
            _ => unreachable!("both directions have the same rank"),
        };
        Ok(BidirectionalOutput {
            outputs,
            forward_states: f.states,
            backward_states: b.states,
        })
    }
}

fn merge<const D: usize>(mode: MergeMode, a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    match mode {
        MergeMode::Concat => Tensor::cat(vec![a, b], D - 1),
        MergeMode::Sum => a + b,
        MergeMode::Mul => a * b,
        MergeMode::Ave => (a + b) / 2.0,
        MergeMode::None => unreachable!("handled by the caller"),
    }
}
