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
    /// The loss, the validation loss or a weight became NaN or infinite during an epoch
    /// (TerminateOnNaN); the weights from when that epoch began are kept.
    #[error(
        "{what} became {value} in epoch {epoch}; training stopped and the weights from the start of that epoch were kept (try a lower learning rate)"
    )]
    NonFinite {
        /// `"loss"`, `"val_loss"` or `"weights"`.
        what: &'static str,
        /// 1-based epoch.
        epoch: usize,
        /// The offending value (NaN for weights).
        value: f64,
    },
    /// A NaN or infinite value in a data set (the loss would be NaN from the first batch).
    #[error("{what}[{index}] is {value}: training data must be finite; fill or drop missing values first")]
    NonFiniteData {
        /// `"x"` or `"y"`.
        what: &'static str,
        /// Flat row-major index of the first such value.
        index: usize,
        /// The value.
        value: f32,
    },
    /// The model's output width differs from the targets' (it would broadcast or fail inside Burn).
    #[error(
        "the model outputs {model} value(s) per sample but the targets have {targets} ({loss}); \
         make the last layer's units match the targets (a class-id loss needs one target per sample)"
    )]
    OutputWidth {
        /// Values per sample the model outputs.
        model: usize,
        /// Target values per sample (what the loss needs).
        targets: usize,
        /// The loss.
        loss: &'static str,
    },
    /// A class-id target that is not an integer in `0..classes`.
    #[error(
        "target {index} is {value}, not a class id in 0..{classes}; sparse categorical targets are \
         integer class ids below the model's output width"
    )]
    ClassId {
        /// Sample index.
        index: usize,
        /// The target value.
        value: f32,
        /// Classes (the model's output width).
        classes: usize,
    },
    /// A sample index past the end of a data set.
    #[error("sample index {index} is out of range for a data set of {len} samples")]
    SampleIndex {
        /// The index given.
        index: usize,
        /// Samples in the data set.
        len: usize,
    },
    /// Writing or reading a checkpoint failed.
    #[error("checkpoint {path}: {source}")]
    Checkpoint {
        /// The file or directory.
        path: String,
        /// What went wrong underneath (an I/O, JSON or record error, or what is wrong with the
        /// checkpoint's contents).
        #[source]
        source: rnnlab_layers::ErrorSource,
    },
    /// A tensor could not be read back to the host (a dtype the model should not produce).
    #[error("reading {what} back from the device failed")]
    TensorRead {
        /// What was read (`"predictions"`).
        what: &'static str,
        /// Burn's reason.
        #[source]
        source: std::sync::Arc<burn::tensor::DataError>,
    },
    /// A layer refused its input or configuration.
    #[error(transparent)]
    Layers(#[from] rnnlab_layers::LayersError),
}
