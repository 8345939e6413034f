//! # rnnlab-train
//!
//! Keras-style training for Burn models built with rnnlab-layers (or any [`Regressor`]):
//! [`fit`] with shuffling, validation data and a [`History`]; [`evaluate`] and [`predict`] in
//! batches without autodiff; Keras's Adam (ε outside the bias correction) or Burn's
//! PyTorch-style Adam ([`OptimizerConfig`]); MSE/MAE/binary cross-entropy; per-epoch metrics
//! including the lecture's `last_time_step_mse`; a Keras-like progress line.
//!
//! ```
//! use rnnlab_layers::{Backend, DenseConfig, Flatten, Layer, Sequential};
//! use rnnlab_series::{generate_time_series, NumpyRandom, Split, WindowSpec};
//! use rnnlab_train::{evaluate, fit, Dataset, FitConfig, Loss, Verbosity};
//!
//! let series = generate_time_series(&mut NumpyRandom::new(42), 1000, 51);
//! let parts = series.windows(WindowSpec::vector(50, 1))?.split(Split::Fractions { train: 0.7, valid: 0.2 })?;
//! let (train, valid) = (Dataset::from_windows(&parts.train)?, Dataset::from_windows(&parts.valid)?);
//! let device = Backend::Flex.device()?.autodiff();
//! // keras.models.Sequential([Flatten(input_shape=[50, 1]), Dense(1)])
//! let model = Sequential::new(vec![Layer::Flatten(Flatten::default()), Layer::Dense(DenseConfig::new(50, 1).init(&device)?)]);
//! let (model, history) = fit(model, &train, Some(&valid), &FitConfig::new(2).with_verbosity(Verbosity::Quiet))?;
//! assert_eq!(history.val_loss.len(), 2);
//! let eval = evaluate(&burn::module::Module::valid(&model), &valid, 32, Loss::Mse, &[])?;
//! assert!(eval.loss.is_finite());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod checkpoint;
mod data;
mod error;
mod fit;
mod history;
mod metrics;
mod optim;

pub use data::Dataset;
pub use error::TrainError;
pub use fit::{
    EarlyStopping, Evaluation, FitConfig, LrSchedule, Regressor, Verbosity, evaluate, fit, fit_in_place, predict,
};
pub use history::History;
pub use metrics::{Loss, Metric};
pub use optim::{KerasAdam, OptimizerConfig};
pub use rnnlab_layers::Backend;
