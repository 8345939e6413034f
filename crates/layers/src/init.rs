//! Keras's default initializers.

use burn::module::Param;
use burn::nn::Initializer;
use burn::tensor::{Device, Distribution, Tensor};

/// `glorot_uniform` for a `[fan_in, fan_out]` kernel: U(±sqrt(6 / (fan_in + fan_out))).
pub fn glorot_uniform(fan_in: usize, fan_out: usize, device: &Device) -> Param<Tensor<2>> {
    let limit = (6.0 / (fan_in + fan_out).max(1) as f64).sqrt();
    Param::from_tensor(Tensor::random(
        [fan_in, fan_out],
        Distribution::Uniform(-limit, limit),
        device,
    ))
}

/// `orthogonal` for a recurrent kernel `[units, k * units]`.
pub fn orthogonal(rows: usize, cols: usize, device: &Device) -> Param<Tensor<2>> {
    Initializer::Orthogonal { gain: 1.0 }.init([rows, cols], device)
}

/// A constant vector (zeros for biases; LSTM's `unit_forget_bias` sets one block to 1).
pub fn vector(values: Vec<f32>, device: &Device) -> Param<Tensor<1>> {
    let n = values.len();
    Param::from_data(burn::tensor::TensorData::new(values, [n]), device)
}

/// `RandomUniform(-0.05, 0.05)`, Keras's `Embedding` initializer.
pub fn uniform_005(rows: usize, cols: usize, device: &Device) -> Param<Tensor<2>> {
    Param::from_tensor(Tensor::random([rows, cols], Distribution::Uniform(-0.05, 0.05), device))
}
