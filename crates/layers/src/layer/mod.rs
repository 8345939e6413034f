//! The layer abstraction: what every layer implements once ([`Layer`]), how a layer is built from
//! the shape of its input ([`LayerConfig`]), and the values that flow between layers.

mod erased;
mod shape;

use burn::module::{Module, ModuleDisplay};
use burn::tensor::{Bool, Device, Int, Tensor};

pub(crate) use erased::boxed_layer;
pub use erased::{DynLayer, DynLayerConfig, MAX_PARAM_RANK};
pub use shape::{Shape, ValueKind};

use crate::{AnyTensor, KerasArray, LayersError};

/// One layer of a model, Keras's `keras.layers.Layer` in Rust.
///
/// Implement it once and the layer stacks in a [`Sequential`](crate::Sequential), trains with
/// `rnnlab_train::fit`, counts its parameters in `summary()` and exchanges weights in Keras's
/// layout. Every built-in layer implements it; so does [`Rnn<C>`](crate::Rnn) for *any*
/// [`Cell`](crate::Cell) `C`, which is how a user's own cell reaches `fit`.
///
/// The derive `#[derive(Module, Debug)]` gives the [`Module`] part (parameters, devices,
/// records); the methods below are the Keras part.
///
/// ```
/// use rnnlab_layers::{Backend, DenseConfig, Input, Layer, LayerConfig, Shape};
/// use rnnlab_layers::burn::tensor::Tensor;
/// let device = Backend::Flex.device()?;
/// let dense = DenseConfig::new(10).init(&Shape::sequence(20), &device)?; // TimeDistributed(Dense(10))
/// assert_eq!(dense.output_shape(&Shape::sequence(20))?, Shape::sequence(10));
/// let out = dense.forward(Input::from(Tensor::<3>::ones([2, 50, 20], &device)), None, None)?;
/// assert_eq!(out.outputs[0].dims(), [2, 50, 10]);
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
pub trait Layer: Module + ModuleDisplay + 'static {
    /// Keras's class name (`"LSTM"`, `"Bidirectional"`), shown by `summary()` and written to
    /// model files.
    fn keras_class(&self) -> String;

    /// Keras's layer config (`{"units": 20, "return_sequences": true, …}`): everything needed to
    /// build the layer again for the same input shape.
    fn keras_config(&self) -> serde_json::Value;

    /// The output shape (without the batch axis) for an input of shape `input`, Keras's
    /// `compute_output_shape`; an input the layer cannot take is an error naming the layer.
    fn output_shape(&self, input: &Shape) -> Result<Shape, LayersError>;

    /// Runs the layer on a batch.
    ///
    /// - `input`: floats `[batch, …]` or token ids `[batch, time]`;
    /// - `initial_state`: recurrent layers' states, each `[batch, units]` (others must get `None`);
    /// - `mask`: `[batch, time]`, `true` where a step is real (from `Embedding(mask_zero)`).
    ///
    /// Returns the outputs in Keras order and the mask for the next layer.
    fn forward(
        &self,
        input: Input,
        initial_state: Option<Vec<Tensor<2>>>,
        mask: Option<Tensor<2, Bool>>,
    ) -> Result<LayerOutput, LayersError>;

    /// The weights in Keras's `get_weights()` order.
    fn keras_weights(&self) -> Vec<AnyTensor>;

    /// Replaces the weights with Keras arrays in `get_weights()` order; a wrong count, shape or
    /// a non-finite value is an error.
    fn with_keras_weights(self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError>
    where
        Self: Sized;

    /// Keras's `Param #` (trainable and non-trainable weights). Default: every float parameter.
    fn param_count(&self) -> usize {
        Module::num_params(self)
    }

    /// Whether the layer carries state from one call to the next (Keras `stateful=True`).
    /// Default: no.
    fn is_stateful(&self) -> bool {
        false
    }

    /// Keras's `reset_states()`: forgets what a stateful layer carries, so that the next call
    /// starts afresh. Default: nothing to forget.
    fn reset_states(&self) {}
}

/// How a layer is built: everything Keras's constructor takes (units, options), with the input
/// size inferred from the input shape when the layer is added to a model.
///
/// ```
/// use rnnlab_layers::{Backend, Layer, LayerConfig, LstmConfig, Shape};
/// let lstm = LstmConfig::new(20).init(&Shape::sequence(1), &Backend::Flex.device()?)?;
/// assert_eq!(lstm.param_count(), 1760); // keras.layers.LSTM(20) on one feature
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
pub trait LayerConfig {
    /// The layer this config builds.
    type Layer: Layer;

    /// Builds the layer for inputs of shape `input` (without the batch axis), with Keras's
    /// initializers; sizes the input cannot feed are an error.
    fn init(&self, input: &Shape, device: &Device) -> Result<Self::Layer, LayersError>;
}

/// What flows into a layer: floats, or token ids for `Embedding`.
#[derive(Clone, Debug)]
pub enum Input {
    /// Float features.
    Float(AnyTensor),
    /// Token ids `[batch, time]`.
    Tokens(Tensor<2, Int>),
}

impl Input {
    /// The shape, batch axis first.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Input::Float(t) => t.dims(),
            Input::Tokens(t) => t.dims().to_vec(),
        }
    }

    /// The float tensor, or an error naming `layer` for token ids.
    pub fn into_float(self, layer: &str) -> Result<AnyTensor, LayersError> {
        match self {
            Input::Float(t) => Ok(t),
            Input::Tokens(_) => Err(LayersError::InputKind {
                layer: layer.into(),
                got: "token ids".into(),
                hint: "put an Embedding first".into(),
            }),
        }
    }
}

impl From<Tensor<3>> for Input {
    fn from(t: Tensor<3>) -> Self {
        Input::Float(AnyTensor::D3(t))
    }
}

impl From<Tensor<2>> for Input {
    fn from(t: Tensor<2>) -> Self {
        Input::Float(AnyTensor::D2(t))
    }
}

impl From<Tensor<2, Int>> for Input {
    fn from(t: Tensor<2, Int>) -> Self {
        Input::Tokens(t)
    }
}

impl From<AnyTensor> for Input {
    fn from(t: AnyTensor) -> Self {
        Input::Float(t)
    }
}

/// A layer's outputs (Keras order: output(s), then states) and the mask it passes on.
#[derive(Clone, Debug)]
pub struct LayerOutput {
    /// `[output]`, `[output, states…]` with `return_state`, two outputs for `merge_mode=None`.
    pub outputs: Vec<AnyTensor>,
    /// The mask for the next layer.
    pub mask: Option<Tensor<2, Bool>>,
}

impl LayerOutput {
    /// One output, the mask passed on unchanged.
    pub fn single(output: AnyTensor, mask: Option<Tensor<2, Bool>>) -> Self {
        Self {
            outputs: vec![output],
            mask,
        }
    }
}

/// The error for a layer that takes no initial state.
pub(crate) fn no_state(layer: &str, initial_state: &Option<Vec<Tensor<2>>>) -> Result<(), LayersError> {
    match initial_state {
        Some(states) => Err(LayersError::Count {
            what: format!("{layer} initial states (only recurrent layers take them)"),
            expected: 0,
            got: states.len(),
        }),
        None => Ok(()),
    }
}
