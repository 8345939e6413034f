//! Keras `Dense`, `TimeDistributed(Dense)` and `Flatten`.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use crate::tensor::expect_arrays;
use crate::{Activation, AnyTensor, KerasArray, LayersError, init};

/// Keras `Dense(units, activation, use_bias)`: `act(x · kernel + bias)` on the last axis of an
/// input of any rank, so it is also Keras's `TimeDistributed(Dense)` on `[batch, time, features]`.
#[derive(Module, Debug)]
pub struct Dense {
    /// `kernel [input_size, units]` (glorot_uniform).
    pub kernel: Param<Tensor<2>>,
    /// `bias [units]` (zeros).
    pub bias: Option<Param<Tensor<1>>>,
    /// Activation (default linear).
    #[module(skip)]
    pub activation: Activation,
}

/// Config of [`Dense`].
///
/// ```
/// use rnnlab_layers::{Backend, DenseConfig};
/// use rnnlab_layers::burn::tensor::Tensor;
/// let device = Backend::Flex.device()?;
/// let dense = DenseConfig::new(20, 10).init(&device)?;
/// let y = dense.forward3(Tensor::<3>::ones([2, 50, 20], &device)); // TimeDistributed(Dense(10))
/// assert_eq!(y.dims(), [2, 50, 10]);
/// assert_eq!(dense.param_count(), 210);
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Config, Debug)]
pub struct DenseConfig {
    /// Input features.
    pub input_size: usize,
    /// Units.
    pub units: usize,
    /// Default linear.
    #[config(default = "Activation::Linear")]
    pub activation: Activation,
    /// Default `true`.
    #[config(default = true)]
    pub use_bias: bool,
}

impl DenseConfig {
    /// The layer with Keras's initializers; a size of 0 or beyond
    /// [`MAX_ELEMENTS`](crate::MAX_ELEMENTS) is an error.
    pub fn init(&self, device: &Device) -> Result<Dense, LayersError> {
        let (i, u) = (self.input_size, self.units);
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

    /// `[batch, time, in] -> [batch, time, units]` (TimeDistributed).
    pub fn forward3(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, f] = x.dims();
        let units = self.kernel.dims()[1];
        self.forward2(x.reshape([b * t, f])).reshape([b, t, units])
    }

    /// Either rank, with a typed error for the wrong feature size.
    pub fn forward_any(&self, x: AnyTensor) -> Result<AnyTensor, LayersError> {
        let dims = x.dims();
        let f = self.kernel.dims()[0];
        if dims.last() != Some(&f) {
            return Err(LayersError::shape("Dense input", format!("[…, {f}]"), &dims));
        }
        match x {
            AnyTensor::D2(t) => Ok(AnyTensor::D2(self.forward2(t))),
            AnyTensor::D3(t) => Ok(AnyTensor::D3(self.forward3(t))),
            AnyTensor::D1(_) => Err(LayersError::shape("Dense input", "[batch, …, features]", &dims)),
        }
    }

    /// Trainable parameters.
    pub fn param_count(&self) -> usize {
        self.num_params()
    }

    /// Weights in Keras order.
    pub fn keras_weights(&self) -> Vec<AnyTensor> {
        let mut w = vec![AnyTensor::D2(self.kernel.val())];
        w.extend(self.bias.as_ref().map(|b| AnyTensor::D1(b.val())));
        w
    }

    /// Replaces the weights with Keras arrays `[kernel, bias?]`.
    pub fn with_keras_weights(mut self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError> {
        let [f, u] = self.kernel.dims();
        let a = expect_arrays("Dense", arrays, 1 + usize::from(self.bias.is_some()))?;
        self.kernel = a[0].param("kernel", [f, u], device)?;
        if self.bias.is_some() {
            self.bias = Some(a[1].param("bias", [u], device)?);
        }
        Ok(self)
    }
}
