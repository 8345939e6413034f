//! `fit`'s settings: [`FitConfig`] with Keras's defaults, learning-rate schedules, early stopping.

use serde::{Deserialize, Serialize};

use crate::{Loss, Metric, OptimizerConfig, TrainError};

/// How much `fit` prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verbosity {
    /// Nothing.
    Quiet,
    /// One Keras-like line per epoch.
    #[default]
    Epoch,
}

/// `fit`'s arguments, with Keras's defaults.
///
/// ```
/// use rnnlab_train::{FitConfig, OptimizerConfig};
/// let cfg = FitConfig::new(20).with_optimizer(OptimizerConfig::adam(0.005));
/// assert_eq!(cfg.batch_size, 32);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitConfig {
    /// Epochs.
    pub epochs: usize,
    /// Samples per batch (Keras default 32).
    pub batch_size: usize,
    /// Shuffle the samples (never the time steps) each epoch. Default `true`.
    pub shuffle: bool,
    /// Seed of the shuffling and of Burn's random draws (dropout).
    pub seed: u64,
    /// Loss (default MSE).
    pub loss: Loss,
    /// Metrics reported per epoch.
    pub metrics: Vec<Metric>,
    /// Optimizer (default Keras Adam, lr 0.001).
    pub optimizer: OptimizerConfig,
    /// Progress output.
    pub verbosity: Verbosity,
    /// Stop with [`TrainError::NonFinite`] when an epoch's loss, validation loss or weights are
    /// NaN/inf, keeping the weights from the start of that epoch (Keras's `TerminateOnNaN`, see
    /// [`TerminateOnNaN`](crate::TerminateOnNaN)). Default `true`.
    pub terminate_on_nan: bool,
    /// Early stopping on `val_loss` (or `loss` without validation data).
    pub early_stopping: Option<EarlyStopping>,
    /// ModelCheckpoint + resume: after every epoch the weights, the optimizer state and the
    /// history are written here (each file to a temporary name, then renamed; `state.json`
    /// last). When the directory already holds a checkpoint, `fit` resumes after its epoch.
    pub checkpoint_dir: Option<std::path::PathBuf>,
    /// Learning-rate schedule (default: constant).
    pub lr_schedule: Option<LrSchedule>,
    /// Keras's `validation_split`: hold out this fraction of the training samples — the last
    /// ones, taken before any shuffling — as validation data (ignored when validation data is given).
    pub validation_split: Option<f64>,
}

/// A learning-rate schedule (Keras's `LearningRateSchedule` / `LearningRateScheduler`).
///
/// ```
/// use rnnlab_train::LrSchedule;
/// let s = LrSchedule::ExponentialDecay { decay_rate: 0.5, decay_steps: 10, staircase: true };
/// assert_eq!(s.learning_rate(0.01, 25, 1), 0.0025);
/// assert_eq!(LrSchedule::PerEpoch(vec![1.0, 0.1]).learning_rate(0.01, 0, 5), 0.001);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LrSchedule {
    /// `lr · decay_rate^(step / decay_steps)`, the exponent floored with `staircase`.
    ExponentialDecay {
        /// Factor per `decay_steps`.
        decay_rate: f64,
        /// Optimizer steps per decay.
        decay_steps: usize,
        /// Decay in whole steps.
        staircase: bool,
    },
    /// `lr · factors[epoch − 1]` (the last factor holds for later epochs).
    PerEpoch(Vec<f64>),
}

impl LrSchedule {
    /// Checks that the schedule can only produce finite positive rates: a decay rate or factors
    /// that are finite and positive, at least one decay step.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |why: String| {
            Err(TrainError::Config {
                what: "lr_schedule",
                why,
            })
        };
        match self {
            LrSchedule::ExponentialDecay {
                decay_rate,
                decay_steps,
                ..
            } => {
                if !(decay_rate.is_finite() && *decay_rate > 0.0) {
                    return bad(format!("decay_rate {decay_rate} must be finite and positive"));
                }
                if *decay_steps == 0 {
                    return bad("decay_steps must be at least 1".into());
                }
            }
            LrSchedule::PerEpoch(factors) => {
                if let Some((i, f)) = factors.iter().enumerate().find(|(_, f)| !(f.is_finite() && **f > 0.0)) {
                    return bad(format!("factor {i} is {f}; every factor must be finite and positive"));
                }
            }
        }
        Ok(())
    }

    /// The rate for a 0-based optimizer `step` in a 1-based `epoch`.
    pub fn learning_rate(&self, base: f64, step: usize, epoch: usize) -> f64 {
        match self {
            LrSchedule::ExponentialDecay {
                decay_rate,
                decay_steps,
                staircase,
            } => {
                let p = step as f64 / (*decay_steps).max(1) as f64;
                base * decay_rate.powf(if *staircase { p.floor() } else { p })
            }
            LrSchedule::PerEpoch(f) => base * f.get(epoch.saturating_sub(1)).or(f.last()).copied().unwrap_or(1.0),
        }
    }
}

/// Keras's `EarlyStopping(monitor="val_loss")`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Minimum decrease that counts as an improvement.
    pub min_delta: f64,
    /// Return the best epoch's weights instead of the last.
    pub restore_best_weights: bool,
}

impl FitConfig {
    /// `epochs` with every other setting at its default.
    pub fn new(epochs: usize) -> Self {
        Self {
            epochs,
            batch_size: 32,
            shuffle: true,
            seed: 42,
            loss: Loss::Mse,
            metrics: Vec::new(),
            optimizer: OptimizerConfig::adam(0.001),
            verbosity: Verbosity::Epoch,
            terminate_on_nan: true,
            early_stopping: None,
            checkpoint_dir: None,
            lr_schedule: None,
            validation_split: None,
        }
    }
    /// Holds out the last `fraction` of the training samples for validation.
    #[must_use]
    pub fn with_validation_split(mut self, fraction: f64) -> Self {
        self.validation_split = Some(fraction);
        self
    }
    /// Sets a learning-rate schedule.
    #[must_use]
    pub fn with_lr_schedule(mut self, s: LrSchedule) -> Self {
        self.lr_schedule = Some(s);
        self
    }
    /// Checkpoints every epoch into `dir` and resumes from it (see [`FitConfig::checkpoint_dir`]).
    #[must_use]
    pub fn with_checkpoint_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.checkpoint_dir = Some(dir.into());
        self
    }
    /// Sets the optimizer.
    #[must_use]
    pub fn with_optimizer(mut self, o: OptimizerConfig) -> Self {
        self.optimizer = o;
        self
    }
    /// Sets the metrics.
    #[must_use]
    pub fn with_metrics(mut self, m: Vec<Metric>) -> Self {
        self.metrics = m;
        self
    }
    /// Sets the loss.
    #[must_use]
    pub fn with_loss(mut self, l: Loss) -> Self {
        self.loss = l;
        self
    }
    /// Sets the batch size.
    #[must_use]
    pub fn with_batch_size(mut self, b: usize) -> Self {
        self.batch_size = b;
        self
    }
    /// Sets the seed.
    #[must_use]
    pub fn with_seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }
    /// Sets the verbosity.
    #[must_use]
    pub fn with_verbosity(mut self, v: Verbosity) -> Self {
        self.verbosity = v;
        self
    }
    /// Sets early stopping.
    #[must_use]
    pub fn with_early_stopping(mut self, e: EarlyStopping) -> Self {
        self.early_stopping = Some(e);
        self
    }
}
