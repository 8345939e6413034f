//! Keras `Bidirectional`.

use burn::module::Module;
use burn::tensor::{Bool, Tensor};
use serde::{Deserialize, Serialize};

use burn::tensor::Device;
use serde_json::json;

use crate::{AnyTensor, Cell, Input, KerasArray, Layer, LayerConfig, LayerOutput, LayersError, Rnn, Shape};

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

    /// Keras's name (`None` for [`MergeMode::None`]).
    pub fn keras_name(self) -> Option<&'static str> {
        match self {
            MergeMode::Concat => Some("concat"),
            MergeMode::Sum => Some("sum"),
            MergeMode::Mul => Some("mul"),
            MergeMode::Ave => Some("ave"),
            MergeMode::None => None,
        }
    }
}

/// Keras `Bidirectional(layer, merge_mode)`: a forward copy and a backward (`go_backwards`) copy
/// with their own weights. With `return_sequences` the backward outputs are flipped back to input
/// time order before merging, and masked steps output 0. Built in one call by
/// [`BidirectionalConfig`].
#[derive(Module, Debug)]
pub struct Bidirectional<C: Cell> {
    forward_layer: Rnn<C>,
    backward_layer: Rnn<C>,
    #[module(skip)]
    merge_mode: MergeMode,
}

/// Keras `Bidirectional(layer, merge_mode="concat")` of any recurrent layer config: one call
/// builds both copies, each with its own initial weights.
///
/// ```
/// use rnnlab_layers::{Backend, BidirectionalConfig, Layer, LayerConfig, LstmConfig, MergeMode, Shape};
/// let device = Backend::Flex.device()?;
/// let bi = BidirectionalConfig::new(LstmConfig::new(64).with_return_sequences(true))
///     .init(&Shape::sequence(16), &device)?;
/// assert_eq!(bi.param_count(), 2 * 20_736);
/// assert_eq!(bi.output_shape(&Shape::sequence(16))?, Shape::sequence(128));
/// let sum = BidirectionalConfig::new(LstmConfig::new(64)).with_merge_mode(MergeMode::Sum);
/// assert_eq!(sum.init(&Shape::sequence(16), &device)?.output_shape(&Shape::sequence(16))?, Shape::vector(64));
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct BidirectionalConfig<L> {
    /// The wrapped recurrent layer's config.
    pub layer: L,
    /// How the two directions' outputs are merged (default concat).
    pub merge_mode: MergeMode,
}

impl<L> BidirectionalConfig<L> {
    /// Wraps a recurrent layer config, merging by concatenation.
    pub fn new(layer: L) -> Self {
        Self {
            layer,
            merge_mode: MergeMode::Concat,
        }
    }

    /// Sets the merge mode.
    pub fn with_merge_mode(mut self, merge_mode: MergeMode) -> Self {
        self.merge_mode = merge_mode;
        self
    }
}

impl<C: Cell, L: LayerConfig<Layer = Rnn<C>>> LayerConfig for BidirectionalConfig<L> {
    type Layer = Bidirectional<C>;

    fn init(&self, input: &Shape, device: &Device) -> Result<Bidirectional<C>, LayersError> {
        Bidirectional::new(
            self.layer.init(input, device)?,
            self.layer.init(input, device)?,
            self.merge_mode,
        )
    }
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

impl<C: Cell> Bidirectional<C> {
    /// Pairs two layers of the same shape; the second is switched to `go_backwards`.
    pub fn new(forward_layer: Rnn<C>, mut backward_layer: Rnn<C>, merge_mode: MergeMode) -> Result<Self, LayersError> {
        let (f, b) = (forward_layer.options(), backward_layer.options());
        if f.return_sequences != b.return_sequences
            || f.return_state != b.return_state
            || f.stateful != b.stateful
            || forward_layer.cell().units() != backward_layer.cell().units()
            || forward_layer.cell().input_size() != backward_layer.cell().input_size()
        {
            return Err(LayersError::Config {
                what: "Bidirectional".into(),
                why: "both copies need the same sizes, return_sequences, return_state and stateful".into(),
            });
        }
        let backward_options = crate::RnnOptions {
            go_backwards: !f.go_backwards,
            ..b
        };
        backward_layer = backward_layer.with_options(backward_options)?;
        Ok(Self {
            forward_layer,
            backward_layer,
            merge_mode,
        })
    }

    /// The forward copy.
    pub fn forward_layer(&self) -> &Rnn<C> {
        &self.forward_layer
    }

    /// The backward copy (runs with `go_backwards`).
    pub fn backward_layer(&self) -> &Rnn<C> {
        &self.backward_layer
    }

    /// How outputs are merged.
    pub fn merge_mode(&self) -> MergeMode {
        self.merge_mode
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
                let n = self.forward_layer.cell().state_count();
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
        let seq = self.forward_layer.options().return_sequences;
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

impl<C: Cell> Layer for Bidirectional<C> {
    fn keras_class(&self) -> String {
        "Bidirectional".into()
    }

    fn keras_config(&self) -> serde_json::Value {
        json!({
            "layer": { "class": Layer::keras_class(&self.forward_layer), "config": self.forward_layer.keras_config() },
            "merge_mode": self.merge_mode.keras_name(),
        })
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape, LayersError> {
        let one = self.forward_layer.output_shape(input)?;
        let units = self.forward_layer.cell().units();
        Ok(match self.merge_mode {
            MergeMode::Concat => one.with_last(2 * units),
            _ => one,
        })
    }

    fn forward(
        &self,
        input: Input,
        initial_state: Option<Vec<Tensor<2>>>,
        mask: Option<Tensor<2, Bool>>,
    ) -> Result<LayerOutput, LayersError> {
        let x = input.into_float("Bidirectional")?.into_3d("Bidirectional")?;
        let options = self.forward_layer.options();
        let out = Bidirectional::forward(self, x, initial_state, mask.clone())?;
        let mut outputs = out.outputs;
        if options.return_state {
            outputs.extend(
                out.forward_states
                    .into_iter()
                    .chain(out.backward_states)
                    .map(AnyTensor::D2),
            );
        }
        Ok(LayerOutput {
            outputs,
            mask: if options.return_sequences { mask } else { None },
        })
    }

    /// Stateful when the wrapped layer is: each direction carries its own final states (the
    /// backward copy's are those of the step it ended on, the first of its sequence).
    fn is_stateful(&self) -> bool {
        self.forward_layer.is_stateful()
    }

    fn reset_states(&self) {
        self.forward_layer.reset_states();
        self.backward_layer.reset_states();
    }

    fn keras_weights(&self) -> Vec<AnyTensor> {
        let mut w = self.forward_layer.keras_weights();
        w.extend(self.backward_layer.keras_weights());
        w
    }

    fn with_keras_weights(mut self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError> {
        if !arrays.len().is_multiple_of(2) {
            return Err(LayersError::Count {
                what: "Bidirectional weight arrays (one half per direction)".into(),
                expected: arrays.len() + 1,
                got: arrays.len(),
            });
        }
        let n = arrays.len() / 2;
        self.forward_layer = self.forward_layer.with_keras_weights(&arrays[..n], device)?;
        self.backward_layer = self.backward_layer.with_keras_weights(&arrays[n..], device)?;
        Ok(self)
    }
}
