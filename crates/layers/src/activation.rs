//! Keras activations.

use burn::tensor::Tensor;
use burn::tensor::activation::{relu, sigmoid, softmax};
use serde::{Deserialize, Serialize};

use crate::LayersError;

/// A Keras activation (`activation=` / `recurrent_activation=`).
///
/// ```
/// use rnnlab_layers::Activation;
/// assert_eq!(Activation::from_keras(Some("hard_sigmoid"))?, Activation::HardSigmoid);
/// assert_eq!(Activation::from_keras(None)?, Activation::Linear);
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `tanh` (the recurrent layers' default).
    #[default]
    Tanh,
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// Keras 3's `hard_sigmoid`: `relu6(x + 3) / 6` (slope 1/6, not Keras 2's 0.2).
    HardSigmoid,
    /// Identity (`"linear"` or `None`).
    Linear,
    /// `softmax` over the last axis (class probabilities).
    Softmax,
}

impl Activation {
    /// Parses a Keras activation name (`None` is identity).
    pub fn from_keras(name: Option<&str>) -> Result<Self, LayersError> {
        Ok(match name {
            None | Some("linear") => Activation::Linear,
            Some("tanh") => Activation::Tanh,
            Some("relu") => Activation::Relu,
            Some("sigmoid") => Activation::Sigmoid,
            Some("hard_sigmoid") => Activation::HardSigmoid,
            Some("softmax") => Activation::Softmax,
            Some(other) => {
                return Err(LayersError::Unsupported {
                    kind: "activation",
                    name: other.to_string(),
                    supported: "tanh, relu, sigmoid, hard_sigmoid, softmax, linear",
                });
            }
        })
    }

    /// Keras's name.
    pub fn keras_name(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::HardSigmoid => "hard_sigmoid",
            Activation::Linear => "linear",
            Activation::Softmax => "softmax",
        }
    }

    /// Applies the activation elementwise.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Tanh => x.tanh(),
            Activation::Relu => relu(x),
            Activation::Sigmoid => sigmoid(x),
            Activation::HardSigmoid => (x / 6.0 + 0.5).clamp(0.0, 1.0),
            Activation::Linear => x,
            Activation::Softmax => softmax(x, D - 1),
        }
    }
}
