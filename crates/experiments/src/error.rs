//! [`ExperimentError`]: everything that can stop an experiment run.

use std::path::PathBuf;

use thiserror::Error;

/// Why an experiment run failed.
#[derive(Debug, Error)]
pub enum ExperimentError {
    /// A command-line mistake; the message says which and shows the usage.
    #[error("{0}")]
    Usage(String),
    /// The series, windows or splits.
    #[error(transparent)]
    Series(#[from] rnnlab_series::SeriesError),
    /// The tokenizer or padding.
    #[error(transparent)]
    Text(#[from] rnnlab_text::TextError),
    /// Building or running a layer, or picking the backend.
    #[error(transparent)]
    Layers(#[from] rnnlab_layers::LayersError),
    /// Training, evaluating or predicting.
    #[error(transparent)]
    Train(#[from] rnnlab_train::TrainError),
    /// Writing a trained model as a Keras file.
    #[error(transparent)]
    Keras(#[from] rnnlab_keras::KerasError),
    /// Drawing or writing a plot (`rnnlab_forecast::plot`).
    #[error(transparent)]
    Plot(#[from] rnnlab_forecast::ForecastError),
    /// Writing a result file.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A data set that is not what the experiment builds (a bug, not an input mistake).
    #[error("unexpected data: {0}")]
    Data(&'static str),
    /// An experiment whose numbers differ from what the lecture and Keras give.
    #[error("{experiment}: {why}")]
    Mismatch {
        /// The experiment.
        experiment: &'static str,
        /// What differs.
        why: String,
    },
    /// A worker process of a parallel run could not start, failed, or left no readable report
    /// (its own error is printed above, with its output).
    #[error("worker for {task}: {why} (rerun with --jobs 1 to run it in this process)")]
    Worker {
        /// The experiments (and seed) the worker ran.
        task: String,
        /// What went wrong.
        why: String,
    },
    /// An experiment failed; `source` says how.
    #[error("{experiment}: {source}")]
    In {
        /// The experiment.
        experiment: &'static str,
        /// What went wrong.
        #[source]
        source: Box<ExperimentError>,
    },
}
