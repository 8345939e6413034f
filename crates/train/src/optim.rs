//! Optimizers with Keras semantics.

use burn::optim::{AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer, SgdConfig};
use burn::tensor::{DType, Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::TrainError;

/// Which optimizer, with Keras's defaults.
///
/// ```
/// use rnnlab_train::OptimizerConfig;
/// let adam = OptimizerConfig::adam(0.005); // keras.optimizers.Adam(learning_rate=0.005)
/// assert_eq!(adam.learning_rate(), 0.005);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerConfig {
    /// Keras's Adam: `p −= lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε)` — ε outside the bias correction.
    Adam {
        /// Learning rate (Keras default 0.001).
        learning_rate: f64,
        /// β₁ (0.9).
        beta_1: f32,
        /// β₂ (0.999).
        beta_2: f32,
        /// ε (Keras 1e-7).
        epsilon: f32,
    },
    /// Burn's (PyTorch-style) Adam: `p −= lr · m̂ / (√v̂ + ε)`, ε inside the bias correction.
    AdamPyTorch {
        /// Learning rate.
        learning_rate: f64,
        /// ε (PyTorch 1e-8).
        epsilon: f32,
    },
    /// Plain SGD.
    Sgd {
        /// Learning rate (Keras default 0.01).
        learning_rate: f64,
    },
}

impl OptimizerConfig {
    /// Keras `Adam(learning_rate)` with β₁ 0.9, β₂ 0.999, ε 1e-7.
    pub fn adam(learning_rate: f64) -> Self {
        OptimizerConfig::Adam {
            learning_rate,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        }
    }

    /// Keras `SGD(learning_rate)`.
    pub fn sgd(learning_rate: f64) -> Self {
        OptimizerConfig::Sgd { learning_rate }
    }

    /// The learning rate.
    pub fn learning_rate(&self) -> f64 {
        match *self {
            OptimizerConfig::Adam { learning_rate, .. }
            | OptimizerConfig::AdamPyTorch { learning_rate, .. }
            | OptimizerConfig::Sgd { learning_rate } => learning_rate,
        }
    }

    /// Checks the hyper-parameters: a finite positive learning rate, Adam's β₁ and β₂ in `[0, 1)`
    /// and a finite ε ≥ 0 (β = 1 would divide by zero in the bias correction or never move).
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |what: &'static str, why: String| Err(TrainError::Config { what, why });
        let lr = self.learning_rate();
        if !(lr.is_finite() && lr > 0.0) {
            return bad(
                "learning_rate",
                format!("{lr} must be finite and positive (Keras default 0.001)"),
            );
        }
        let epsilon = match *self {
            OptimizerConfig::Adam {
                beta_1,
                beta_2,
                epsilon,
                ..
            } => {
                for (what, beta) in [("beta_1", beta_1), ("beta_2", beta_2)] {
                    if !(0.0..1.0).contains(&beta) {
                        return bad(what, format!("{beta} must be in [0, 1) (Keras defaults 0.9 and 0.999)"));
                    }
                }
                epsilon
            }
            OptimizerConfig::AdamPyTorch { epsilon, .. } => epsilon,
            OptimizerConfig::Sgd { .. } => 0.0,
        };
        if !(epsilon.is_finite() && epsilon >= 0.0) {
            return bad(
                "epsilon",
                format!("{epsilon} must be finite and at least 0 (Keras default 1e-7)"),
            );
        }
        Ok(())
    }

    /// The Burn optimizer for a whole module.
    pub fn init(&self) -> ModuleOptimizer {
        match *self {
            OptimizerConfig::Adam {
                beta_1,
                beta_2,
                epsilon,
                ..
            } => ModuleOptimizer::from(KerasAdam {
                beta_1,
                beta_2,
                epsilon,
            }),
            OptimizerConfig::AdamPyTorch { epsilon, .. } => burn::optim::AdamConfig::new().with_epsilon(epsilon).init(),
            OptimizerConfig::Sgd { .. } => SgdConfig::new().init(),
        }
    }
}

/// Keras's Adam update rule as a Burn [`Optimizer`].
#[derive(Clone, Debug)]
pub struct KerasAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
}

impl Optimizer for KerasAdam {
    type State<const D: usize> = AdamState<D>;

    /// On the host backends (flex, ndarray) one pass over the parameter's elements; elsewhere
    /// Burn tensor ops. Both make the same `f32` operations in the same order (bit for bit,
    /// tested), the host pass without a dozen small tensor ops per parameter and step.
    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let on_host = tensor.dtype() == DType::F32
            && grad.dtype() == DType::F32
            && rnnlab_layers::fused_available(&tensor.device());
        if on_host {
            self.step_on_host(lr, tensor, grad, state)
        } else {
            self.step_with_tensor_ops(lr, tensor, grad, state)
        }
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}

impl KerasAdam {
    /// The Keras update with Burn tensor ops (any backend).
    fn step_with_tensor_ops<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdamState<D>>,
    ) -> (Tensor<D>, Option<AdamState<D>>) {
        let (b1, b2) = (self.beta_1, self.beta_2);
        let momentum = match state {
            Some(AdamState { momentum: mut m }) => {
                m.moment_1 = m.moment_1.mul_scalar(b1).add(grad.clone().mul_scalar(1.0 - b1));
                m.moment_2 = m.moment_2.mul_scalar(b2).add(grad.square().mul_scalar(1.0 - b2));
                m.time += 1;
                m
            }
            None => AdaptiveMomentumState {
                time: 1,
                moment_1: grad.clone().mul_scalar(1.0 - b1),
                moment_2: grad.square().mul_scalar(1.0 - b2),
                max_moment_2: None,
            },
        };
        let alpha = self.step_size(lr, momentum.time);
        let delta = momentum
            .moment_1
            .clone()
            .mul_scalar(alpha)
            .div(momentum.moment_2.clone().sqrt().add_scalar(self.epsilon));
        (tensor - delta, Some(AdamState { momentum }))
    }

    /// The same update as [`step_with_tensor_ops`](Self::step_with_tensor_ops), element by
    /// element on the host `f32` values: each operation rounds as the tensor op does (a scalar
    /// operand is converted to `f32` first, no multiply-add is fused).
    fn step_on_host<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdamState<D>>,
    ) -> (Tensor<D>, Option<AdamState<D>>) {
        let (device, shape) = (tensor.device(), tensor.shape());
        // No copy for a tensor nothing else holds (the usual case for all four).
        let values = |t: Tensor<D>| {
            t.into_data()
                .try_into_vec::<f32>()
                .expect("the host step is only taken for f32 tensors")
        };
        let (b1, b2) = (self.beta_1, self.beta_2);
        let (c1, c2) = (1.0 - b1, 1.0 - b2);
        let mut param = values(tensor);
        let grad = values(grad);
        let (moment_1, moment_2, time) = match state {
            Some(AdamState { momentum }) => {
                let (mut m1, mut m2) = (values(momentum.moment_1), values(momentum.moment_2));
                for ((m1, m2), g) in m1.iter_mut().zip(m2.iter_mut()).zip(&grad) {
                    *m1 = *m1 * b1 + g * c1;
                    *m2 = *m2 * b2 + (g * g) * c2;
                }
                (m1, m2, momentum.time + 1)
            }
            None => (
                grad.iter().map(|g| g * c1).collect(),
                grad.iter().map(|g| (g * g) * c2).collect(),
                1,
            ),
        };
        let alpha = self.step_size(lr, time) as f32;
        for ((p, m1), m2) in param.iter_mut().zip(&moment_1).zip(&moment_2) {
            *p -= (m1 * alpha) / (m2.sqrt() + self.epsilon);
        }
        let tensor = |values: Vec<f32>| Tensor::<D>::from_data(TensorData::new(values, shape.clone()), &device);
        let momentum = AdaptiveMomentumState {
            time,
            moment_1: tensor(moment_1),
            moment_2: tensor(moment_2),
            max_moment_2: None,
        };
        (tensor(param), Some(AdamState { momentum }))
    }

    /// `lr·√(1−β₂ᵗ)/(1−β₁ᵗ)` for step `time` (1-based).
    fn step_size(&self, lr: LearningRate, time: usize) -> f64 {
        let t = time as i32;
        lr * f64::from((1.0 - self.beta_2.powi(t)).sqrt()) / f64::from(1.0 - self.beta_1.powi(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rnnlab_layers::Backend;

    /// The host pass and the tensor ops, three steps from no state, bit for bit (values spread
    /// over many magnitudes, zeros and negative gradients included).
    #[test]
    fn the_host_step_gives_the_tensor_ops_bits() {
        let device = Backend::Flex.device().unwrap();
        let adam = KerasAdam {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        };
        let values = |seed: u32, n: usize| -> Vec<f32> {
            (0..n as u32)
                .map(|i| {
                    let x = (i.wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(40_503)).wrapping_mul(2_246_822_519);
                    let unit = (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                    if i % 17 == 0 {
                        0.0
                    } else {
                        unit * 10f32.powi((i % 9) as i32 - 6)
                    }
                })
                .collect()
        };
        let tensor = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [7, 13]), &device);
        let bits = |t: &Tensor<2>| -> Vec<u32> {
            t.clone()
                .into_data()
                .try_into_vec::<f32>()
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect()
        };
        let (mut host, mut ops) = (tensor(values(1, 91)), tensor(values(1, 91)));
        let (mut host_state, mut ops_state) = (None, None);
        for step in 0..3u32 {
            let grad = values(10 + step, 91);
            (host, host_state) = adam.step_on_host(0.01, host, tensor(grad.clone()), host_state);
            (ops, ops_state) = adam.step_with_tensor_ops(0.01, ops, tensor(grad), ops_state);
            assert_eq!(bits(&host), bits(&ops), "parameters after step {step}");
            let (h, o) = (
                &host_state.as_ref().unwrap().momentum,
                &ops_state.as_ref().unwrap().momentum,
            );
            assert_eq!(h.time, o.time);
            assert_eq!(bits(&h.moment_1), bits(&o.moment_1), "first moment after step {step}");
            assert_eq!(bits(&h.moment_2), bits(&o.moment_2), "second moment after step {step}");
        }
    }
}
