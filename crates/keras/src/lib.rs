//! # rnnlab-keras
//!
//! Keras model files for rnnlab, in pure Rust (no C HDF5 library): train a recurrent model in
//! Keras and run it in Rust, or train it in Rust and hand the file to Python.
//!
//! - [`load_model`] reads a Keras 3 `.keras` file (a zip of `config.json`, `metadata.json` and
//!   `model.weights.h5`) or a legacy `.h5` file (`model.save("m.h5")`, the tf.keras 2.x layout)
//!   and returns a ready `rnnlab_layers::Sequential` with the file's weights.
//! - [`save_model`] writes a `.keras` file that Keras 3 `keras.models.load_model` opens and that
//!   predicts the same numbers (checked with Keras 3.15 on every fixture model, max scaled error
//!   3.5e-7); it is also rnnlab's whole-model format: architecture and weights in one file.
//! - Layers: InputLayer, SimpleRNN, LSTM, GRU (both `reset_after`), Bidirectional (every merge
//!   mode), Embedding (`mask_zero`), Dense, TimeDistributed(Dense), BatchNormalization,
//!   LayerNormalization, Flatten, Dropout, and `RNN(LNSimpleRNNCell)`, with their activations and
//!   options.
//!
//! ```
//! # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/keras-models");
//! use rnnlab_layers::Backend;
//! use rnnlab_layers::burn::tensor::Tensor;
//!
//! let device = Backend::Flex.device()?;
//! // keras.Sequential([SimpleRNN(20, return_sequences=True), SimpleRNN(20), Dense(1)]), saved by Keras 3
//! let model = rnnlab_keras::load_model(dir.join("deep_rnn_dense.keras"), &device)?;
//! let y = model.forward1(Tensor::<3>::zeros([2, 50, 1], &device).into())?;
//! assert_eq!(y.dims(), [2, 1]);
//! // The same model in the legacy format.
//! let legacy = rnnlab_keras::load_model(dir.join("deep_rnn_dense.h5"), &device)?;
//! assert_eq!(legacy.param_count(), model.param_count());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What bad input gets
//!
//! A [`KerasError`] naming the file and what is wrong, never a panic: a file that is neither
//! format, a truncated or corrupt zip or HDF5 part, a missing `config.json` or weight array, a
//! functional or subclassed model ([`KerasError::NotSequential`]), an unknown layer class or an
//! option rnnlab does not implement (`LSTM: time_major=true`), weights whose shapes disagree with
//! the architecture or are not finite ([`KerasError::Layer`]).
#![warn(missing_docs)]

mod config;
mod error;
mod read;
mod write;

use std::path::Path;

use burn::tensor::Device;
use rnnlab_layers::Sequential;

pub use error::KerasError;

/// Loads a Keras model file, `.keras` or legacy `.h5` (told apart by their contents), with its
/// weights, on `device`.
pub fn load_model(path: impl AsRef<Path>, device: &Device) -> Result<Sequential, KerasError> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| KerasError::Io {
        file: file.clone(),
        source,
    })?;
    load_model_from_bytes(&bytes, &file, device)
}

/// [`load_model`] for a file already in memory; `name` names it in errors.
pub fn load_model_from_bytes(bytes: &[u8], name: &str, device: &Device) -> Result<Sequential, KerasError> {
    if bytes.starts_with(read::ZIP_MAGIC) {
        read::keras_v3(bytes, name, device)
    } else if hdf5_pure::is_hdf5_bytes(bytes) {
        read::legacy_h5(bytes, name, device)
    } else {
        Err(KerasError::Format {
            file: name.into(),
            why: "neither a .keras zip archive nor an HDF5 file".into(),
        })
    }
}

/// Saves `model` as a Keras 3 `.keras` file, atomically and durably: the architecture in
/// `config.json` and the weights in `model.weights.h5`, laid out as Keras writes them, so that
/// `keras.models.load_model` opens it and predicts the same numbers. The lecture's
/// layer-normalized cell has no Keras class: it is written as `rnnlab>LNSimpleRNNCell`, which
/// Keras loads once a class of that name is registered on its side
/// (`@keras.saving.register_keras_serializable(package="rnnlab")`); rnnlab loads it as it is.
///
/// ```
/// use rnnlab_layers::{Backend, DenseConfig, Sequential, Shape, SimpleRnnConfig};
/// let device = Backend::Flex.device()?;
/// let model = Sequential::builder(Shape::sequence(1))
///     .add(SimpleRnnConfig::new(8))
///     .add(DenseConfig::new(1))
///     .build(&device)?;
/// let path = std::env::temp_dir().join(format!("rnnlab-doc-{}.keras", std::process::id()));
/// rnnlab_keras::save_model(&model, &path)?;
/// let again = rnnlab_keras::load_model(&path, &device)?;
/// assert_eq!(again.summary(), model.summary());
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save_model(model: &Sequential, path: impl AsRef<Path>) -> Result<(), KerasError> {
    let path = path.as_ref();
    let bytes = write::keras_v3(model, &path.display().to_string())?;
    write::write_file(path, &bytes)
}

/// [`save_model`] into memory.
pub fn save_model_to_bytes(model: &Sequential) -> Result<Vec<u8>, KerasError> {
    write::keras_v3(model, "the model in memory")
}
