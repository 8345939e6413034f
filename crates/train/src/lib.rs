//! # rnnlab-train
//!
//! Keras-style training for Burn models built with rnnlab-layers (or any [`Model`]):
//! [`fit`] with shuffling, validation data and a [`History`]; [`evaluate`] and [`predict`] in
//! batches, always in inference mode (dropout off, BatchNormalization's moving statistics, no
//! autodiff) whatever state the model is passed in; float or token-id inputs and float or
//! class-id targets ([`Dataset`]); Keras's Adam (ε outside the bias correction) or Burn's
//! PyTorch-style Adam ([`OptimizerConfig`]); MSE/MAE/binary cross-entropy; per-epoch metrics
//! including the lecture's `last_time_step_mse`; a Keras-like progress line.
//!
//! ```
//! use rnnlab_layers::{Backend, DenseConfig, FlattenConfig, Sequential, Shape};
//! use rnnlab_series::{generate_time_series, NumpyRandom, Split, WindowSpec};
//! use rnnlab_train::{evaluate, fit, Dataset, FitConfig, Loss, Verbosity};
//!
//! let series = generate_time_series(&mut NumpyRandom::new(42), 1000, 51)?;
//! let parts = series.windows(WindowSpec::vector(50, 1))?.split(Split::Fractions { train: 0.7, valid: 0.2 })?;
//! let (train, valid) = (Dataset::from_windows(&parts.train)?, Dataset::from_windows(&parts.valid)?);
//! let device = Backend::Flex.device()?.autodiff();
//! // keras.models.Sequential([Flatten(input_shape=[50, 1]), Dense(1)])
//! let model = Sequential::builder(Shape::sequence_of(50, 1))
//!     .add(FlattenConfig)
//!     .add(DenseConfig::new(1))
//!     .build(&device)?;
//! let (model, history) = fit(model, &train, Some(&valid), &FitConfig::new(2).with_verbosity(Verbosity::Quiet))?;
//! assert_eq!(history.val_loss.len(), 2);
//! let eval = evaluate(&model, &valid, 32, Loss::Mse, &[])?;
//! assert!(eval.loss.is_finite());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What bad input gets
//!
//! A [`TrainError`] that names the bad value and what to do, before the first step; nothing
//! reachable from this API panics on user input:
//!
//! - [`Dataset::new`]: lengths that disagree with the shapes, and any NaN or infinite value
//!   ([`TrainError::NonFiniteData`]); [`Dataset::batch`]: an index past the end;
//! - [`fit`]: a learning rate that is not finite and positive, Adam's β outside `[0, 1)` or a
//!   negative ε, a schedule with non-finite or non-positive factors, a NaN `min_delta`, a
//!   `last_time_step_mse` horizon that does not divide the targets, a model whose output width
//!   differs from the targets' ([`TrainError::OutputWidth`], checked on one sample first), class
//!   ids that are not integers below the output width ([`TrainError::ClassId`]);
//! - during training ([`TerminateOnNaN`], on by default): an epoch whose loss, validation loss or
//!   weights are not finite stops `fit` with [`TrainError::NonFinite`] and the weights the model
//!   had when that epoch began;
//! - checkpoints: a `state.json` naming anything but a plain file inside the checkpoint
//!   directory, or a corrupt file, is a [`TrainError::Checkpoint`]; files are written atomically
//!   and durably ([`rnnlab_layers::atomic_file`]);
//! - [`evaluate`] on an empty data set is [`TrainError::Empty`].
#![warn(missing_docs)]

mod callbacks;
mod checkpoint;
mod config;
mod data;
mod error;
mod evaluate;
mod fit;
mod history;
mod metrics;
mod model;
mod optim;
mod rng;

pub use callbacks::{
    Callback, Control, EarlyStoppingCallback, LearningRateScheduler, ModelCheckpoint, TerminateOnNaN, TrainState,
};
pub use config::{EarlyStopping, FitConfig, LrSchedule, Verbosity};
pub use data::{BatchTargets, Dataset, Features, Targets};
pub use error::TrainError;
pub use evaluate::{Evaluation, evaluate, predict};
pub use fit::{fit, fit_in_place, fit_in_place_with, fit_with};
pub use history::History;
pub use metrics::{Loss, Metric};
pub use model::Model;
pub use optim::{KerasAdam, OptimizerConfig};
pub use rng::SplitMix64;
pub use rnnlab_layers::Backend;
