//! Keras `Dropout`: identity at inference; in training, inputs zeroed at `rate` and the rest
//! scaled by `1 / (1 − rate)`.

use burn::config::Config;
use burn::module::{Flag, Module, Param};
use burn::tensor::{Bool, Device, Distribution, Tensor};
use serde_json::json;

use crate::layer::no_state;
use crate::{AnyTensor, Input, KerasArray, Layer, LayerConfig, LayerOutput, LayersError, Shape};

/// Keras `Dropout(rate)`. Active only while training (the training flag set and the input on an
/// autodiff device); `evaluate` and `predict` run it as the identity.
#[derive(Module, Debug)]
pub struct Dropout {
    rate: f64,
    training: Param<Flag>,
}

/// Config of [`Dropout`].
///
/// ```
/// use rnnlab_layers::{Backend, DropoutConfig, Layer, LayerConfig, Shape};
/// use rnnlab_layers::burn::tensor::Tensor;
/// let device = Backend::Flex.device()?;
/// let dropout = DropoutConfig::new(0.5).init(&Shape::sequence(4), &device)?;
/// // Inference (a plain device): the identity.
/// let x = Tensor::<3>::ones([2, 3, 4], &device);
/// let y = dropout.forward(x.clone().into(), None, None)?.outputs.remove(0);
/// assert_eq!(y.to_vec()?, vec![1.0; 24]);
/// assert!(DropoutConfig::new(1.0).init(&Shape::sequence(4), &device).is_err());
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Config, Debug)]
#[must_use]
pub struct DropoutConfig {
    /// The fraction of inputs dropped, in `[0, 1)`.
    pub rate: f64,
}

impl LayerConfig for DropoutConfig {
    type Layer = Dropout;

    /// The layer; a rate outside `[0, 1)` is an error.
    fn init(&self, input: &Shape, _device: &Device) -> Result<Dropout, LayersError> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(LayersError::Config {
                what: "Dropout rate".into(),
                why: format!("{} is not in [0, 1)", self.rate),
            });
        }
        input.features("Dropout")?;
        Ok(Dropout {
            rate: self.rate,
            training: Param::from_bool(true),
        })
    }
}

impl Dropout {
    /// The rate.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    fn apply<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let device = x.device();
        if self.rate == 0.0 || !(self.training.is_enabled() && device.is_autodiff()) {
            return x;
        }
        let keep = Tensor::<D>::random(x.shape(), Distribution::Bernoulli(1.0 - self.rate), &device);
        x * keep * (1.0 / (1.0 - self.rate))
    }
}

impl Layer for Dropout {
    fn keras_class(&self) -> String {
        "Dropout".into()
    }

    fn keras_config(&self) -> serde_json::Value {
        json!({ "rate": self.rate, "noise_shape": null })
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape, LayersError> {
        input.features("Dropout")?;
        Ok(input.clone())
    }

    fn forward(
        &self,
        input: Input,
        initial_state: Option<Vec<Tensor<2>>>,
        mask: Option<Tensor<2, Bool>>,
    ) -> Result<LayerOutput, LayersError> {
        no_state("Dropout", &initial_state)?;
        let y = match input.into_float("Dropout")? {
            AnyTensor::D1(t) => AnyTensor::D1(self.apply(t)),
            AnyTensor::D2(t) => AnyTensor::D2(self.apply(t)),
            AnyTensor::D3(t) => AnyTensor::D3(self.apply(t)),
        };
        Ok(LayerOutput::single(y, mask))
    }

    fn keras_weights(&self) -> Vec<AnyTensor> {
        Vec::new()
    }

    fn with_keras_weights(self, arrays: &[KerasArray], _device: &Device) -> Result<Self, LayersError> {
        crate::tensor::expect_arrays("Dropout", arrays, 0)?;
        Ok(self)
    }
}
