//! Input and output shapes without the batch axis, as Keras writes them (`(None, None, 20)`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::LayersError;

/// What the values of a tensor are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// Float features.
    #[default]
    Float,
    /// Integer token ids (the input of `Embedding`).
    TokenIds,
}

/// A shape without the batch axis; `None` is a size known only at run time (Keras's `None`,
/// typically the number of time steps).
///
/// ```
/// use rnnlab_layers::Shape;
/// assert_eq!(Shape::sequence(1).to_string(), "(None, None, 1)"); // input_shape=[None, 1]
/// assert_eq!(Shape::sequence_of(50, 1).to_string(), "(None, 50, 1)");
/// assert_eq!(Shape::tokens(None).to_string(), "(None, None)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shape {
    dims: Vec<Option<usize>>,
    kind: ValueKind,
}

impl Shape {
    /// Any shape.
    pub fn new(dims: Vec<Option<usize>>, kind: ValueKind) -> Self {
        Self { dims, kind }
    }

    /// `[time, features]` floats with any number of steps (Keras `input_shape=[None, features]`).
    pub fn sequence(features: usize) -> Self {
        Self::new(vec![None, Some(features)], ValueKind::Float)
    }

    /// `[time, features]` floats with a fixed number of steps (`input_shape=[50, 1]`).
    pub fn sequence_of(time: usize, features: usize) -> Self {
        Self::new(vec![Some(time), Some(features)], ValueKind::Float)
    }

    /// `[features]` floats.
    pub fn vector(features: usize) -> Self {
        Self::new(vec![Some(features)], ValueKind::Float)
    }

    /// `[time]` token ids, `time` steps or any number (`None`).
    pub fn tokens(time: Option<usize>) -> Self {
        Self::new(vec![time], ValueKind::TokenIds)
    }

    /// The sizes, outermost first.
    pub fn dims(&self) -> &[Option<usize>] {
        &self.dims
    }

    /// Floats or token ids.
    pub fn kind(&self) -> ValueKind {
        self.kind
    }

    /// The same shape with the last size replaced (float values).
    #[must_use]
    pub fn with_last(&self, size: usize) -> Shape {
        let mut dims = self.dims.clone();
        match dims.last_mut() {
            Some(last) => *last = Some(size),
            None => dims.push(Some(size)),
        }
        Shape::new(dims, ValueKind::Float)
    }

    /// The last size of a float input, which the layer's weights depend on: an error naming
    /// `layer` for token ids, a scalar or an unknown size.
    pub fn features(&self, layer: &str) -> Result<usize, LayersError> {
        match (self.kind, self.dims.last()) {
            (ValueKind::Float, Some(Some(f))) => Ok(*f),
            (ValueKind::TokenIds, _) => Err(self.refused(layer, "token ids; put an Embedding first")),
            _ => Err(self.refused(
                layer,
                "an input whose last size is not known; give the model's input shape",
            )),
        }
    }

    /// The feature size of a float sequence `[time, features]`, as recurrent layers need.
    pub fn sequence_features(&self, layer: &str) -> Result<usize, LayersError> {
        let features = self.features(layer)?;
        if self.dims.len() != 2 {
            return Err(self.refused(
                layer,
                "a sequence [batch, time, features]; put return_sequences=True on the layer before",
            ));
        }
        Ok(features)
    }

    /// Whether a batch of shape `dims` (batch axis first) has this shape.
    pub fn accepts(&self, dims: &[usize]) -> bool {
        dims.len() == self.dims.len() + 1
            && self
                .dims
                .iter()
                .zip(&dims[1..])
                .all(|(want, got)| want.is_none_or(|w| w == *got))
    }

    /// An error saying `layer` cannot take this shape (`why`: what it needs).
    pub fn refused(&self, layer: &str, why: &str) -> LayersError {
        LayersError::InputKind {
            layer: layer.into(),
            got: format!("an input of shape {self}"),
            hint: format!("it needs {why}"),
        }
    }
}

impl fmt::Display for Shape {
    /// Keras's summary form, batch axis included: `(None, None, 20)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims: Vec<String> = std::iter::once(None)
            .chain(self.dims.iter().copied())
            .map(|d| d.map_or_else(|| "None".to_string(), |d| d.to_string()))
            .collect();
        write!(f, "({})", dims.join(", "))
    }
}
