//! What `fit`, `evaluate` and `predict` drive: any [`Model`], [`Sequential`] first of all.

use burn::module::Module;
use burn::tensor::Tensor;
use rnnlab_layers::{AnyTensor, Input, Sequential};

use crate::TrainError;

/// A model the training loop can drive: a batch of inputs (floats `[batch, time, features]` or
/// token ids `[batch, time]`) to its output (any rank, batch axis first). [`Sequential`]
/// implements it; so can any Burn module with a forward pass.
pub trait Model: Module {
    /// The forward pass.
    fn forward_batch(&self, x: Input) -> Result<AnyTensor, TrainError>;
}

impl Model for Sequential {
    fn forward_batch(&self, x: Input) -> Result<AnyTensor, TrainError> {
        Ok(self.forward1(x)?)
    }
}

/// A model output as `[batch, width]`: sequence outputs flattened row-major, as the targets are.
pub(crate) fn flat(output: AnyTensor) -> Tensor<2> {
    match output {
        AnyTensor::D2(t) => t,
        AnyTensor::D3(t) => {
            let [b, s, f] = t.dims();
            t.reshape([b, s * f])
        }
        AnyTensor::D1(t) => {
            let n = t.dims()[0];
            t.reshape([n, 1])
        }
    }
}
