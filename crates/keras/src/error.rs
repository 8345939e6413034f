use rnnlab_layers::{ErrorSource, LayersError};
use thiserror::Error;

/// Everything that can go wrong reading or writing a Keras model file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KerasError {
    /// The file could not be read or written.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Neither a `.keras` zip nor an HDF5 file.
    #[error("{file}: not a Keras model file: {why}")]
    Format {
        /// The file.
        file: String,
        /// What it looks like instead.
        why: String,
    },
    /// The `.keras` zip archive is truncated or corrupt.
    #[error("{file}: the zip archive cannot be read ({what}): {source}")]
    Zip {
        /// The file.
        file: String,
        /// What was being read.
        what: String,
        /// The zip reader's error.
        #[source]
        source: ErrorSource,
    },
    /// The HDF5 part (the weights, or a whole legacy `.h5` file) is truncated or corrupt.
    #[error("{file}: the HDF5 data cannot be read ({what}): {source}")]
    Hdf5 {
        /// The file.
        file: String,
        /// What was being read (`model_weights/dense/dense/kernel`).
        what: String,
        /// The HDF5 reader's error.
        #[source]
        source: ErrorSource,
    },
    /// Something the file must hold is not there.
    #[error("{file}: {what} is missing")]
    Missing {
        /// The file.
        file: String,
        /// What is missing (`config.json`, `layers/lstm/cell/vars/1`).
        what: String,
    },
    /// The architecture cannot be read: bad JSON, a field of the wrong kind.
    #[error("{file}: {what}: {why}")]
    Config {
        /// The file.
        file: String,
        /// Where in the configuration.
        what: String,
        /// What is wrong.
        why: String,
    },
    /// A functional or subclassed model; rnnlab reads `Sequential` models.
    #[error(
        "{file}: a {class} model; rnnlab loads Sequential models (a chain of layers): rebuild it as keras.Sequential"
    )]
    NotSequential {
        /// The file.
        file: String,
        /// Keras's class name of the model.
        class: String,
    },
    /// A layer, option or weight rnnlab refuses (an unsupported class or option, weights whose
    /// shapes disagree with the architecture, a value that is not finite).
    #[error("{file}: layer {layer}: {source}")]
    Layer {
        /// The file.
        file: String,
        /// The layer's name in the file.
        layer: String,
        /// What the layer said.
        #[source]
        source: Box<LayersError>,
    },
}
