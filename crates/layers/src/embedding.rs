//! Keras `Embedding` with `mask_zero`.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Bool, Device, Int, Tensor};

use serde_json::json;

use crate::layer::no_state;
use crate::tensor::expect_arrays;
use crate::{AnyTensor, Input, KerasArray, Layer, LayerConfig, LayerOutput, LayersError, Shape, ValueKind, init};

/// Keras `Embedding(input_dim, output_dim, mask_zero)`: `out[b, t] = embeddings[ids[b, t]]`,
/// initialized U(−0.05, 0.05). With `mask_zero`, id 0 is padding: [`Embedding::mask`] marks it
/// and the recurrent layers skip it.
#[derive(Module, Debug)]
pub struct Embedding {
    /// `embeddings [input_dim, output_dim]`.
    pub embeddings: Param<Tensor<2>>,
    mask_zero: bool,
}

/// Config of [`Embedding`].
///
/// ```
/// use rnnlab_layers::{Backend, EmbeddingConfig, Layer, LayerConfig, Shape};
/// let emb = EmbeddingConfig::new(100, 3).init(&Shape::tokens(None), &Backend::Flex.device()?)?;
/// assert_eq!(emb.param_count(), 300); // the lecture's Embedding summary
/// assert_eq!(emb.output_shape(&Shape::tokens(None))?, Shape::sequence(3));
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Config, Debug)]
#[must_use]
pub struct EmbeddingConfig {
    /// Vocabulary size (ids are `0..input_dim`).
    pub input_dim: usize,
    /// Vector size.
    pub output_dim: usize,
    /// Treat id 0 as padding. Default `false`.
    #[config(default = false)]
    pub mask_zero: bool,
}

impl LayerConfig for EmbeddingConfig {
    type Layer = Embedding;

    /// The layer for token ids `[time]`; a size of 0 or beyond
    /// [`MAX_ELEMENTS`](crate::MAX_ELEMENTS) is an error.
    fn init(&self, input: &Shape, device: &Device) -> Result<Embedding, LayersError> {
        token_steps(input)?;
        let (n, d) = (self.input_dim, self.output_dim);
        crate::check_sizes("Embedding", &[("input_dim", n), ("output_dim", d)], &[&[n, d]])?;
        Ok(Embedding {
            embeddings: init::uniform_005(n, d, device),
            mask_zero: self.mask_zero,
        })
    }
}

impl Embedding {
    /// `[batch, time]` ids → `[batch, time, output_dim]`. Ids outside the vocabulary are an error.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Result<Tensor<3>, LayersError> {
        let [b, t] = ids.dims();
        let [n, d] = self.embeddings.dims();
        if b * t == 0 {
            // Nothing to look up (and `max` of an empty tensor has no value).
            return Ok(Tensor::zeros([b, t, d], &self.embeddings.device()));
        }
        let flat = ids.reshape([b * t]);
        let max = flat.clone().max().into_scalar::<i64>();
        let min = flat.clone().min().into_scalar::<i64>();
        if b * t > 0 && (min < 0 || max >= n as i64) {
            return Err(LayersError::Config {
                what: "Embedding ids".into(),
                why: format!("ids must lie in 0..{n}, found {min}..={max}"),
            });
        }
        Ok(self.embeddings.val().select(0, flat).reshape([b, t, d]))
    }

    /// `ids != 0` when `mask_zero`, else `None`.
    pub fn mask(&self, ids: &Tensor<2, Int>) -> Option<Tensor<2, Bool>> {
        self.mask_zero.then(|| ids.clone().not_equal_elem(0))
    }

    /// Whether id 0 means padding.
    pub fn mask_zero(&self) -> bool {
        self.mask_zero
    }
}

/// The number of steps of a token-id input `[time]`.
fn token_steps(input: &Shape) -> Result<Option<usize>, LayersError> {
    match (input.kind(), input.dims()) {
        (ValueKind::TokenIds, [time]) => Ok(*time),
        _ => Err(input.refused("Embedding", "token ids [batch, time]")),
    }
}

impl Layer for Embedding {
    fn keras_class(&self) -> String {
        "Embedding".into()
    }

    fn keras_config(&self) -> serde_json::Value {
        let [n, d] = self.embeddings.dims();
        json!({ "input_dim": n, "output_dim": d, "mask_zero": self.mask_zero })
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape, LayersError> {
        let time = token_steps(input)?;
        Ok(Shape::new(
            vec![time, Some(self.embeddings.dims()[1])],
            ValueKind::Float,
        ))
    }

    fn forward(
        &self,
        input: Input,
        initial_state: Option<Vec<Tensor<2>>>,
        _mask: Option<Tensor<2, Bool>>,
    ) -> Result<LayerOutput, LayersError> {
        no_state("Embedding", &initial_state)?;
        match input {
            Input::Tokens(ids) => {
                let mask = self.mask(&ids);
                Ok(LayerOutput::single(AnyTensor::D3(Embedding::forward(self, ids)?), mask))
            }
            Input::Float(_) => Err(LayersError::InputKind {
                layer: "Embedding".into(),
                got: "float features".into(),
                hint: "give it token ids (Tensor<2, Int>)".into(),
            }),
        }
    }

    fn keras_weights(&self) -> Vec<AnyTensor> {
        vec![AnyTensor::D2(self.embeddings.val())]
    }

    fn with_keras_weights(mut self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError> {
        let [n, d] = self.embeddings.dims();
        self.embeddings = expect_arrays("Embedding", arrays, 1)?[0].param("embeddings", [n, d], device)?;
        Ok(self)
    }
}
