//! Losses and metrics.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::BatchTargets;

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
    /// Cross-entropy of class probabilities `[batch, classes]` (a softmax output) against class
    /// ids `[batch, 1]` (`"sparse_categorical_crossentropy"`).
    SparseCategoricalCrossentropy,
}

impl Loss {
    /// The loss of a batch as a one-element tensor (mean over every element). Class ids feed
    /// `SparseCategoricalCrossentropy` directly; with another loss they count as the numbers they
    /// are (0/1 labels for `BinaryCrossentropy`).
    ///
    /// ```
    /// use rnnlab_layers::burn::tensor::{Int, Tensor};
    /// use rnnlab_train::{BatchTargets, Loss};
    /// let device = rnnlab_layers::Backend::Flex.device()?;
    /// let probabilities = Tensor::<2>::from_floats([[0.25, 0.75], [0.5, 0.5]], &device);
    /// let classes = BatchTargets::Classes(Tensor::<2, Int>::from_ints([[1], [0]], &device));
    /// let loss = Loss::SparseCategoricalCrossentropy.compute(probabilities, classes);
    /// let want = -(0.75f32.ln() + 0.5f32.ln()) / 2.0;
    /// assert!((loss.into_scalar::<f32>() - want).abs() < 1e-6);
    /// # Ok::<(), rnnlab_layers::LayersError>(())
    /// ```
    pub fn compute(self, pred: Tensor<2>, target: BatchTargets) -> Tensor<1> {
        match (self, target) {
            (Loss::SparseCategoricalCrossentropy, BatchTargets::Classes(ids)) => {
                pred.gather(1, ids).clamp(1e-7, 1.0).log().neg().mean()
            }
            (loss, BatchTargets::Classes(ids)) => loss.compute_floats(pred, ids.float()),
            (loss, BatchTargets::Floats(target)) => loss.compute_floats(pred, target),
        }
    }

    fn compute_floats(self, pred: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
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
            Loss::SparseCategoricalCrossentropy => {
                let picked = pred.gather(1, target.int());
                picked.clamp(1e-7, 1.0).log().neg().mean()
            }
        }
    }

    /// Keras's name.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Mae => "mae",
            Loss::BinaryCrossentropy => "binary_crossentropy",
            Loss::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
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
    /// Whether the arg-max of the class probabilities equals the class id target.
    SparseCategoricalAccuracy,
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
            Metric::SparseCategoricalAccuracy => "sparse_categorical_accuracy",
            Metric::LastTimeStepMse { .. } => "last_time_step_mse",
        }
    }

    /// [`batch_sum`](Metric::batch_sum) on the device: a one-element tensor, so that `fit` reads
    /// its metrics once per epoch instead of once per batch.
    pub(crate) fn batch_sum_tensor(self, pred: Tensor<2>, target: &BatchTargets) -> Tensor<1> {
        let target = match target {
            BatchTargets::Floats(t) => t.clone(),
            BatchTargets::Classes(ids) => ids.clone().float(),
        };
        let width = target.dims()[1] as f64;
        match self {
            Metric::Mse => (pred - target).square().sum() / width,
            Metric::Mae => (pred - target).abs().sum() / width,
            Metric::Accuracy => pred.greater_elem(0.5).equal(target.greater_elem(0.5)).float().sum() / width,
            Metric::LastTimeStepMse { horizon } => {
                let w = target.dims()[1];
                let h = horizon.min(w);
                (pred.narrow(1, w - h, h) - target.narrow(1, w - h, h)).square().sum() / h as f64
            }
            Metric::SparseCategoricalAccuracy => pred.argmax(1).equal(target.int()).float().sum(),
        }
    }

    /// Sum over a batch of the per-sample values of this metric. `pred` is `[rows, pred_width]`,
    /// `target` `[rows, target_width]` (they differ only for the sparse categorical metric).
    pub(crate) fn batch_sum(self, pred: &[f32], pred_width: usize, target: &[f32], target_width: usize) -> f64 {
        let rows = target.len() / target_width.max(1);
        let mean_over = |r: usize, cols: std::ops::Range<usize>, f: &dyn Fn(f32, f32) -> f64| -> f64 {
            let n = cols.len().max(1) as f64;
            cols.map(|c| f(pred[r * pred_width + c], target[r * target_width + c]))
                .sum::<f64>()
                / n
        };
        let sq = |p: f32, t: f32| f64::from((p - t) * (p - t));
        (0..rows)
            .map(|r| match self {
                Metric::Mse => mean_over(r, 0..target_width, &sq),
                Metric::Mae => mean_over(r, 0..target_width, &|p, t| f64::from((p - t).abs())),
                Metric::Accuracy => mean_over(r, 0..target_width, &|p, t| f64::from(u8::from((p > 0.5) == (t > 0.5)))),
                Metric::LastTimeStepMse { horizon } => {
                    let h = horizon.min(target_width);
                    mean_over(r, target_width - h..target_width, &sq)
                }
                Metric::SparseCategoricalAccuracy => {
                    let row = &pred[r * pred_width..(r + 1) * pred_width];
                    let best = row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i);
                    f64::from(u8::from(best == Some(target[r * target_width] as usize)))
                }
            })
            .sum()
    }
}
