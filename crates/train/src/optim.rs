//! Optimizers with Keras semantics.

use burn::optim::{AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer, SgdConfig};
use burn::tensor::{Device, Tensor};
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

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
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
        let t = momentum.time as i32;
        let alpha = lr * f64::from((1.0 - b2.powi(t)).sqrt()) / f64::from(1.0 - b1.powi(t));
        let delta = momentum
            .moment_1
            .clone()
            .mul_scalar(alpha)
            .div(momentum.moment_2.clone().sqrt().add_scalar(self.epsilon));
        (tensor - delta, Some(AdamState { momentum }))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}
