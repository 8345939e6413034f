//! Keras `Dense`, `TimeDistributed` and `Flatten`.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Bool, Device, Tensor};
use serde_json::json;

use crate::layer::no_state;
use crate::tensor::expect_arrays;
use crate::{
    Activation, AnyTensor, Input, KerasArray, Layer, LayerConfig, LayerOutput, LayersError, Shape, ValueKind, init,
};

/// Keras `Dense(units, activation, use_bias)`: `act(x · kernel + bias)` on the last axis of an
/// input of any rank (on `[batch, time, features]` the same numbers as `TimeDistributed(Dense)`).
#[derive(Module, Debug)]
pub struct Dense {
    /// `kernel [input_size, units]` (glorot_uniform).
    pub kernel: Param<Tensor<2>>,
    /// `bias [units]` (zeros).
    pub bias: Option<Param<Tensor<1>>>,
    #[module(skip)]
    activation: Activation,
}

/// Config of [`Dense`]: Keras's `Dense(units, activation=None, use_bias=True)`; the input size
/// comes from the model.
///
/// ```
/// use rnnlab_layers::{Backend, DenseConfig, Layer, LayerConfig, Shape};
/// use rnnlab_layers::burn::tensor::Tensor;
/// let device = Backend::Flex.device()?;
/// let dense = DenseConfig::new(10).init(&Shape::sequence(20), &device)?;
/// let y = dense.forward3(Tensor::<3>::ones([2, 50, 20], &device)); // every time step
/// assert_eq!(y.dims(), [2, 50, 10]);
/// assert_eq!(dense.param_count(), 210);
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Config, Debug)]
#[must_use]
pub struct DenseConfig {
    /// Units.
    pub units: usize,
    /// Default linear.
    #[config(default = "Activation::Linear")]
    pub activation: Activation,
    /// Default `true`.
    #[config(default = true)]
    pub use_bias: bool,
}

impl LayerConfig for DenseConfig {
    type Layer = Dense;

    /// The layer with Keras's initializers; a size of 0 or beyond
    /// [`MAX_ELEMENTS`](crate::MAX_ELEMENTS) is an error.
    fn init(&self, input: &Shape, device: &Device) -> Result<Dense, LayersError> {
        let (i, u) = (input.features("Dense")?, self.units);
        crate::check_sizes("Dense", &[("input_size", i), ("units", u)], &[&[i, u]])?;
        Ok(Dense {
            kernel: init::glorot_uniform(i, u, device),
            bias: self.use_bias.then(|| init::vector(vec![0.0; u], device)),
            activation: self.activation,
        })
    }
}

impl Dense {
    /// `[batch, in] -> [batch, units]`.
    pub fn forward2(&self, x: Tensor<2>) -> Tensor<2> {
        let y = crate::scan::linear(x, self.kernel.val(), self.bias.as_ref().map(Param::val));
        self.activation.apply(y)
    }

    /// `[batch, time, in] -> [batch, time, units]`.
    pub fn forward3(&self, x: Tensor<3>) -> Tensor<3> {
        let y = crate::scan::linear(x, self.kernel.val(), self.bias.as_ref().map(Param::val));
        self.activation.apply(y)
    }

    /// The activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }
}

impl Layer for Dense {
    fn keras_class(&self) -> String {
        "Dense".into()
    }

    fn keras_config(&self) -> serde_json::Value {
        json!({
            "units": self.kernel.dims()[1],
            "activation": self.activation.keras_name(),
            "use_bias": self.bias.is_some(),
        })
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape, LayersError> {
        let [f, u] = self.kernel.dims();
        if input.features("Dense")? != f {
            return Err(input.refused("Dense", &format!("{f} features on the last axis")));
        }
        Ok(input.with_last(u))
    }

    /// Either rank, with a typed error for the wrong feature size.
    fn forward(
        &self,
        input: Input,
        initial_state: Option<Vec<Tensor<2>>>,
        mask: Option<Tensor<2, Bool>>,
    ) -> Result<LayerOutput, LayersError> {
        no_state("Dense", &initial_state)?;
        let x = input.into_float("Dense")?;
        let dims = x.dims();
        let f = self.kernel.dims()[0];
        if dims.last() != Some(&f) {
            return Err(LayersError::shape("Dense input", format!("[…, {f}]"), &dims));
        }
        let y = match x {
            AnyTensor::D2(t) => AnyTensor::D2(self.forward2(t)),
            AnyTensor::D3(t) => AnyTensor::D3(self.forward3(t)),
            AnyTensor::D1(_) => return Err(LayersError::shape("Dense input", "[batch, …, features]", &dims)),
        };
        Ok(LayerOutput::single(y, mask))
    }

    fn keras_weights(&self) -> Vec<AnyTensor> {
        let mut w = vec![AnyTensor::D2(self.kernel.val())];
        w.extend(self.bias.as_ref().map(|b| AnyTensor::D1(b.val())));
        w
    }

    fn with_keras_weights(mut self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError> {
        let [f, u] = self.kernel.dims();
        let a = expect_arrays("Dense", arrays, 1 + usize::from(self.bias.is_some()))?;
        self.kernel = a[0].param("kernel", [f, u], device)?;
        if self.bias.is_some() {
            self.bias = Some(a[1].param("bias", [u], device)?);
        }
        Ok(self)
    }
}

/// Keras `TimeDistributed(layer)`: the inner layer applied to every time step of
/// `[batch, time, features]` (rows of all steps in one call).
#[derive(Module, Debug)]
pub struct TimeDistributed<L: Layer> {
    inner: L,
}

/// Config of [`TimeDistributed`]: wraps the config of the per-step layer.
///
/// ```
/// use rnnlab_layers::{Backend, DenseConfig, Layer, LayerConfig, Shape, TimeDistributedConfig};
/// let td = TimeDistributedConfig::new(DenseConfig::new(10)).init(&Shape::sequence(20), &Backend::Flex.device()?)?;
/// assert_eq!(td.keras_class(), "TimeDistributed");
/// assert_eq!(td.output_shape(&Shape::sequence(20))?, Shape::sequence(10));
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct TimeDistributedConfig<C> {
    /// The per-step layer's config.
    pub layer: C,
}

impl<C> TimeDistributedConfig<C> {
    /// Wraps a layer config.
    pub fn new(layer: C) -> Self {
        Self { layer }
    }
}

/// The shape of one time step of a `[time, …]` input.
fn step_shape(input: &Shape) -> Result<Shape, LayersError> {
    if input.kind() != ValueKind::Float || input.dims().len() < 2 {
        return Err(input.refused("TimeDistributed", "a float sequence [batch, time, …]"));
    }
    Ok(Shape::new(input.dims()[1..].to_vec(), ValueKind::Float))
}

impl<C: LayerConfig> LayerConfig for TimeDistributedConfig<C> {
    type Layer = TimeDistributed<C::Layer>;

    fn init(&self, input: &Shape, device: &Device) -> Result<Self::Layer, LayersError> {
        Ok(TimeDistributed {
            inner: self.layer.init(&step_shape(input)?, device)?,
        })
    }
}

impl<L: Layer> TimeDistributed<L> {
    /// The per-step layer.
    pub fn inner(&self) -> &L {
        &self.inner
    }
}

impl<L: Layer> Layer for TimeDistributed<L> {
    fn keras_class(&self) -> String {
        "TimeDistributed".into()
    }

    fn keras_config(&self) -> serde_json::Value {
        json!({ "layer": { "class": self.inner.keras_class(), "config": self.inner.keras_config() } })
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape, LayersError> {
        let step = self.inner.output_shape(&step_shape(input)?)?;
        let mut dims = vec![input.dims()[0]];
        dims.extend_from_slice(step.dims());
        Ok(Shape::new(dims, step.kind()))
    }

    fn forward(
        &self,
        input: Input,
        initial_state: Option<Vec<Tensor<2>>>,
        mask: Option<Tensor<2, Bool>>,
    ) -> Result<LayerOutput, LayersError> {
        no_state("TimeDistributed", &initial_state)?;
        let x = input.into_float("TimeDistributed")?.into_3d("TimeDistributed")?;
        let [b, t, f] = x.dims();
        // A Dense maps each row of the last axis: it takes the sequence as it is, which spares
        // the copy a reshape makes of a recurrent layer's (time-major) output. Same rows, same
        // order, same bits.
        let dense = (&self.inner as &dyn std::any::Any).is::<Dense>();
        let input = if dense {
            Input::from(x)
        } else {
            Input::from(x.reshape([b * t, f]))
        };
        let out = self.inner.forward(input, None, None)?;
        let y = match out.outputs.into_iter().next() {
            Some(AnyTensor::D3(y)) if dense => AnyTensor::D3(y),
            Some(AnyTensor::D2(y)) => {
                let width = y.dims()[1];
                AnyTensor::D3(y.reshape([b, t, width]))
            }
            other => {
                return Err(LayersError::InputKind {
                    layer: "TimeDistributed".into(),
                    got: format!("an inner output of shape {:?}", other.map(|o| o.dims())),
                    hint: "wrap a layer that maps [rows, features] to [rows, units]".into(),
                });
            }
        };
        Ok(LayerOutput::single(y, mask))
    }

    fn keras_weights(&self) -> Vec<AnyTensor> {
        self.inner.keras_weights()
    }

    fn with_keras_weights(mut self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError> {
        self.inner = self.inner.with_keras_weights(arrays, device)?;
        Ok(self)
    }

    fn param_count(&self) -> usize {
        self.inner.param_count()
    }
}

/// Keras `Flatten`: `[batch, d1, d2, …] -> [batch, d1·d2·…]`; every size must be known.
#[derive(Module, Debug)]
pub struct Flatten {
    /// The first axis flattened (always 1: the batch axis stays).
    start_dim: usize,
}

impl Default for Flatten {
    fn default() -> Self {
        Self { start_dim: 1 }
    }
}

/// Config of [`Flatten`].
///
/// ```
/// use rnnlab_layers::{Backend, FlattenConfig, Layer, LayerConfig, Shape};
/// let flatten = FlattenConfig.init(&Shape::sequence_of(50, 1), &Backend::Flex.device()?)?;
/// assert_eq!(flatten.output_shape(&Shape::sequence_of(50, 1))?, Shape::vector(50));
/// assert!(flatten.output_shape(&Shape::sequence(1)).is_err()); // the number of steps is unknown
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct FlattenConfig;

impl LayerConfig for FlattenConfig {
    type Layer = Flatten;

    fn init(&self, input: &Shape, _device: &Device) -> Result<Flatten, LayersError> {
        let flatten = Flatten::default();
        flatten.output_shape(input)?;
        Ok(flatten)
    }
}

impl Layer for Flatten {
    fn keras_class(&self) -> String {
        "Flatten".into()
    }

    fn keras_config(&self) -> serde_json::Value {
        json!({})
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape, LayersError> {
        let why = "an input whose sizes are all known (give the model's input shape with its time steps)";
        if input.kind() != ValueKind::Float {
            return Err(input.refused("Flatten", "float values"));
        }
        let size = input
            .dims()
            .iter()
            .try_fold(1usize, |acc, d| d.and_then(|d| acc.checked_mul(d)))
            .ok_or_else(|| input.refused("Flatten", why))?;
        Ok(Shape::vector(size))
    }

    fn forward(
        &self,
        input: Input,
        initial_state: Option<Vec<Tensor<2>>>,
        _mask: Option<Tensor<2, Bool>>,
    ) -> Result<LayerOutput, LayersError> {
        no_state("Flatten", &initial_state)?;
        let out = match input.into_float("Flatten")? {
            AnyTensor::D3(t) => {
                let [b, s, f] = t.dims();
                AnyTensor::D2(t.reshape([b, s * f]))
            }
            other => other,
        };
        Ok(LayerOutput::single(out, None))
    }

    fn keras_weights(&self) -> Vec<AnyTensor> {
        Vec::new()
    }

    fn with_keras_weights(self, arrays: &[KerasArray], _device: &Device) -> Result<Self, LayersError> {
        expect_arrays("Flatten", arrays, 0)?;
        Ok(self)
    }
}
