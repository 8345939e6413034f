//! Small helpers: a rank-erased tensor and Keras-layout weight arrays.

#[cfg(feature = "test-hooks")]
use burn::tensor::Gradients;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::LayersError;

/// The bits of a tensor's `f32` elements, for tests that compare two paths bit for bit.
#[cfg(test)]
pub(crate) fn f32_bits<const D: usize>(t: Tensor<D>) -> Vec<u32> {
    let values = t.into_data().try_to_vec::<f32>().expect("an f32 tensor");
    values.iter().map(|v| v.to_bits()).collect()
}

/// A float tensor of rank 1, 2 or 3 (layer outputs and weights whose rank depends on the layer).
#[derive(Clone, Debug)]
pub enum AnyTensor {
    /// Rank 1.
    D1(Tensor<1>),
    /// Rank 2.
    D2(Tensor<2>),
    /// Rank 3.
    D3(Tensor<3>),
}

impl AnyTensor {
    /// The shape.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            AnyTensor::D1(t) => t.dims().to_vec(),
            AnyTensor::D2(t) => t.dims().to_vec(),
            AnyTensor::D3(t) => t.dims().to_vec(),
        }
    }

    /// The values, row-major, as f64; a tensor that cannot be read back is an error.
    pub fn to_vec(&self) -> Result<Vec<f64>, LayersError> {
        let data = match self {
            AnyTensor::D1(t) => t.to_data(),
            AnyTensor::D2(t) => t.to_data(),
            AnyTensor::D3(t) => t.to_data(),
        };
        data.convert::<f64>()
            .try_into_vec::<f64>()
            .map_err(|e| LayersError::TensorRead {
                source: std::sync::Arc::new(e),
            })
    }

    /// The gradient of this (tracked) tensor, when it has one (parity-suite hook).
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn grad(&self, grads: &Gradients) -> Option<AnyTensor> {
        match self {
            AnyTensor::D1(t) => t.grad(grads).map(AnyTensor::D1),
            AnyTensor::D2(t) => t.grad(grads).map(AnyTensor::D2),
            AnyTensor::D3(t) => t.grad(grads).map(AnyTensor::D3),
        }
    }

    /// `sum(self * r)` as a rank-1 tensor of one element (parity-suite hook: scalar losses over
    /// outputs).
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn dot(&self, r: &AnyTensor) -> Result<Tensor<1>, LayersError> {
        match (self, r) {
            (AnyTensor::D1(a), AnyTensor::D1(b)) => Ok((a.clone() * b.clone()).sum()),
            (AnyTensor::D2(a), AnyTensor::D2(b)) => Ok((a.clone() * b.clone()).sum()),
            (AnyTensor::D3(a), AnyTensor::D3(b)) => Ok((a.clone() * b.clone()).sum()),
            _ => Err(LayersError::shape("dot", format!("{:?}", self.dims()), &r.dims())),
        }
    }

    /// Rank-3 view, or an error naming the layer.
    pub fn into_3d(self, layer: &str) -> Result<Tensor<3>, LayersError> {
        match self {
            AnyTensor::D3(t) => Ok(t),
            other => Err(LayersError::InputKind {
                layer: layer.to_string(),
                got: format!("a rank-{} tensor {:?}", other.dims().len(), other.dims()),
                hint: "give it [batch, time, features]; put return_sequences=True on the layer before".into(),
            }),
        }
    }
}

/// One weight array as Keras's `layer.get_weights()` gives it (and as the fixtures store it):
/// a name, a shape and row-major values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KerasArray {
    /// Keras's variable path, e.g. `layer0/lstm_cell/kernel` (informative).
    #[serde(default)]
    pub name: String,
    /// The shape.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f64>,
}

impl KerasArray {
    /// A named array.
    pub fn new(name: impl Into<String>, shape: Vec<usize>, data: Vec<f64>) -> Self {
        Self {
            name: name.into(),
            shape,
            data,
        }
    }

    fn check(&self, what: &str, expected: &[usize]) -> Result<(), LayersError> {
        if self.shape != expected || self.data.len() != expected.iter().product::<usize>() {
            return Err(LayersError::shape(
                format!("weight {what} ({})", self.name),
                format!("{expected:?}"),
                &self.shape,
            ));
        }
        Ok(())
    }

    /// The values as `f32` after checking the shape; a value that is not a finite `f32` (NaN,
    /// infinite, or beyond `f32`'s range like 1e40) is an error.
    fn finite_values(&self, what: &str, expected: &[usize]) -> Result<Vec<f32>, LayersError> {
        self.check(what, expected)?;
        let data: Vec<f32> = self.data.iter().map(|&v| v as f32).collect();
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(LayersError::Config {
                what: format!("weight {what} ({})", self.name),
                why: format!(
                    "value {i} is {}, which is not a finite f32; weights must be finite",
                    self.data[i]
                ),
            });
        }
        Ok(data)
    }

    /// As a rank-`D` tensor of the expected shape on `device`.
    pub fn tensor<const D: usize>(
        &self,
        what: &str,
        expected: [usize; D],
        device: &Device,
    ) -> Result<Tensor<D>, LayersError> {
        let data = self.finite_values(what, &expected)?;
        Ok(Tensor::from_data(TensorData::new(data, expected), device))
    }

    /// As a parameter of the expected shape.
    pub fn param<const D: usize>(
        &self,
        what: &str,
        expected: [usize; D],
        device: &Device,
    ) -> Result<burn::module::Param<Tensor<D>>, LayersError> {
        let data = self.finite_values(what, &expected)?;
        Ok(burn::module::Param::from_data(TensorData::new(data, expected), device))
    }
}

/// Takes exactly `n` arrays or fails with a count error.
pub(crate) fn expect_arrays<'a>(
    what: &str,
    arrays: &'a [KerasArray],
    n: usize,
) -> Result<&'a [KerasArray], LayersError> {
    if arrays.len() != n {
        return Err(LayersError::Count {
            what: format!("{what} weight arrays"),
            expected: n,
            got: arrays.len(),
        });
    }
    Ok(arrays)
}
