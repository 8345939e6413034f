use thiserror::Error;

/// Everything that can go wrong in `rnnlab-train`.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum TrainError {
    /// Inputs and targets disagree in length.
    #[error("{what}: x has {x} samples but y has {y}; give one target row per input sample")]
    LengthMismatch {
        /// Which data set.
        what: &'static str,
        /// Samples in x.
        x: usize,
        /// Samples in y.
        y: usize,
    },
    /// A buffer does not match its declared shape.
    #[error("{what}: shape {shape:?} needs {expected} values, got {got}")]
    Shape {
        /// Which array.
        what: &'static str,
        /// The declared shape.
        shape: Vec<usize>,
        /// Values implied.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// No samples.
    #[error("{0} is empty: training needs at least one sample")]
    Empty(&'static str),
    /// Validation data shaped differently from the training data.
    #[error("validation data has x {valid_x:?} / y width {valid_y}, training data x {train_x:?} / y width {train_y}")]
    ValidationShape {
        /// Validation x shape (without the sample axis).
        valid_x: Vec<usize>,
        /// Validation y width.
        valid_y: usize,
        /// Training x shape (without the sample axis).
        train_x: Vec<usize>,
        /// Training y width.
        train_y: usize,
    },
    /// A configuration value that cannot work.
    #[error("invalid {what}: {why}")]
    Config {
        /// The parameter.
        what: &'static str,
        /// Why, and what to use instead.
        why: String,
    },
    /// The loss became NaN or infinite (TerminateOnNaN); the weights from before that batch are kept.
    #[error(
        "loss became {value} at epoch {epoch}, batch {batch}; training stopped and the last finite weights were kept (try a lower learning rate)"
    )]
    NonFinite {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch.
        batch: usize,
        /// The loss value.
        value: f64,
    },
    /// Writing or reading a checkpoint failed.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The file or directory.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The model failed (shape mistakes surface here).
    #[error("model: {0}")]
    Model(String),
}

impl From<rnnlab_layers::LayersError> for TrainError {
    fn from(e: rnnlab_layers::LayersError) -> Self {
        TrainError::Model(e.to_string())
    }
}
