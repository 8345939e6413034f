//! Losses and metrics.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// A training loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Mean squared error (Keras `"mse"`).
    #[default]
    Mse,
    /// Mean absolute error (`"mae"`).
    Mae,
    /// Binary cross-entropy on probabilities in (0, 1) (`"binary_crossentropy"`).
    BinaryCrossentropy,
}

impl Loss {
    /// The loss of a batch as a one-element tensor (mean over every element).
    pub fn compute(self, pred: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
        match self {
            Loss::Mse => (pred - target).square().mean(),
            Loss::Mae => (pred - target).abs().mean(),
            Loss::BinaryCrossentropy => {
                // Keras clips probabilities to [ε, 1 − ε] with ε = 1e-7.
                let p = pred.clamp(1e-7, 1.0 - 1e-7);
                let one_minus = p.clone().neg() + 1.0;
                (target.clone() * p.log() + (target.neg() + 1.0) * one_minus.log())
                    .neg()
                    .mean()
            }
        }
    }

    /// Keras's name.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Mae => "mae",
            Loss::BinaryCrossentropy => "binary_crossentropy",
        }
    }
}

/// A metric reported per epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Mean squared error.
    Mse,
    /// Mean absolute error.
    Mae,
    /// Binary accuracy (prediction > 0.5 equals the 0/1 target).
    Accuracy,
    /// MSE of the last time step of a sequence-to-sequence output: the last `horizon` columns of
    /// each flattened `[time·horizon]` row (the lecture's `last_time_step_mse`).
    LastTimeStepMse {
        /// Values per time step.
        horizon: usize,
    },
}

impl Metric {
    /// The name in [`History`](crate::History) (Keras's).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Mse => "mse",
            Metric::Mae => "mae",
            Metric::Accuracy => "accuracy",
            Metric::LastTimeStepMse { .. } => "last_time_step_mse",
        }
    }

    /// Sum of the per-sample values of this metric over a batch (host side), and the sample count.
    pub(crate) fn batch_sum(self, pred: &[f32], target: &[f32], width: usize) -> f64 {
        let rows = pred.len() / width.max(1);
        let per_row = |r: usize, cols: std::ops::Range<usize>, f: &dyn Fn(f32, f32) -> f64| -> f64 {
            let n = cols.len() as f64;
            cols.map(|c| f(pred[r * width + c], target[r * width + c])).sum::<f64>() / n
        };
        (0..rows)
            .map(|r| match self {
                Metric::Mse => per_row(r, 0..width, &|p, t| f64::from((p - t) * (p - t))),
                Metric::Mae => per_row(r, 0..width, &|p, t| f64::from((p - t).abs())),
                Metric::Accuracy => per_row(r, 0..width, &|p, t| f64::from(u8::from((p > 0.5) == (t > 0.5)))),
                Metric::LastTimeStepMse { horizon } => {
                    let h = horizon.min(width);
                    per_row(r, width - h..width, &|p, t| f64::from((p - t) * (p - t)))
                }
            })
            .sum()
    }
}
