//! # rnnlab-layers
//!
//! Keras-compatible recurrent layers on Burn 0.22, with outputs and gradients equal to Keras 3:
//! weights in Keras's layout (`kernel [in, k·u]`, `recurrent_kernel [u, k·u]`, one bias; GRU
//! `[2, 3u]` with `reset_after`), Keras's initializers and parameter counts, and Keras's sequence
//! semantics (masks, `go_backwards`, per-sequence dropout masks).
//!
//! - [`Layer`] is what every layer implements once (forward with state and mask, output shape,
//!   Keras class, config and weights); [`LayerConfig`] builds a layer from its input shape.
//! - [`Sequential`] stacks any layers — built-in or a user's — infers every input size from the
//!   model's input [`Shape`] and prints Keras's `summary()`.
//! - [`Cell`] is one time step; [`Rnn`] drives any cell over time ([`RnnConfig`] for a user's
//!   cell config); [`BidirectionalConfig`] wraps any recurrent layer in one call. Every
//!   recurrent layer can be `stateful` (Keras's `stateful=True`: each call continues from the
//!   last one's final states until [`Sequential::reset_states`]).
//! - Cells: [`SimpleRnnCell`], [`LstmCell`], [`GruCell`], and the lecture's
//!   [`LayerNormSimpleRnnCell`] (written the way a user writes their own cell).
//! - Neighbours: [`Dense`], [`TimeDistributed`], [`Flatten`], [`Dropout`], [`Embedding`]
//!   (`mask_zero`), [`LayerNormalization`], [`BatchNormalization`].
//! - [`Backend`] picks flex / ndarray / wgpu / tch (CPU or CUDA) / cuda at run time; the same
//!   model code runs on all.
//! - [`Predictor`] serves a trained model on the CPU: compiled once from a [`Sequential`] into
//!   host buffers (no autodiff, no tensors), whole windows, a carried [`State`] (Keras's
//!   `stateful=True` semantics) and a one-step update for streaming.
//!
//! ```
//! use rnnlab_layers::{Backend, Sequential, Shape, SimpleRnnConfig};
//! use rnnlab_layers::burn::tensor::Tensor;
//!
//! let device = Backend::Flex.device()?;
//! // keras.models.Sequential([SimpleRNN(20, return_sequences=True, input_shape=[None, 1]),
//! //                          SimpleRNN(20, return_sequences=True), SimpleRNN(1)])
//! let model = Sequential::builder(Shape::sequence(1))
//!     .add(SimpleRnnConfig::new(20).with_return_sequences(true))
//!     .add(SimpleRnnConfig::new(20).with_return_sequences(true))
//!     .add(SimpleRnnConfig::new(1))
//!     .build(&device)?;
//! assert_eq!(model.param_count(), 440 + 820 + 22);
//! let y = model.forward1(Tensor::<3>::zeros([32, 50, 1], &device).into())?;
//! assert_eq!(y.dims(), [32, 1]);
//! # Ok::<(), rnnlab_layers::LayersError>(())
//! ```
//!
//! ## What bad input gets
//!
//! A [`LayersError`] that names the bad value, never a panic inside Burn or an abort:
//!
//! - building a layer (`init`, [`Sequential`]'s `build` and `push`): an input shape the layer
//!   cannot take (token ids for a recurrent layer, a vector where a sequence is needed, a size
//!   `Flatten` cannot know), a size of 0, a weight beyond [`MAX_ELEMENTS`] values (checked before
//!   anything is allocated), a dropout rate outside `[0, 1)`, a normalization `epsilon` or
//!   `momentum` out of range;
//! - a [`Predictor`] for a layer or option its engine does not run (named), an input or state
//!   of the wrong shape, a one-step update through `Flatten`;
//! - calling it: inputs, states and masks of the wrong rank or shape (a [`Sequential`] checks its
//!   input against its input shape first), an initial state for a layer that takes none, token
//!   ids outside the vocabulary (an empty token batch is fine and gives an empty output);
//! - Keras weights: the wrong number of arrays, a wrong shape, a value that is not a finite
//!   `f32` (NaN, infinite, `1e40`);
//! - numbers: a NaN or infinite input propagates through the fused scan exactly as through the
//!   generic per-step path (both give NaN where Burn's ops give NaN), so training's
//!   TerminateOnNaN sees it;
//! - files: weights are written atomically and durably ([`atomic_file`]); a truncated or foreign
//!   file is an [`LayersError::Io`].
#![warn(missing_docs)]

mod activation;
mod allocator;
pub mod atomic_file;
mod backend;
mod bidirectional;
mod carried_state;
mod cell;
mod dense;
mod dropout;
mod embedding;
mod error;
mod error_source;
mod gru;
mod infer;
mod init;
mod io;
mod keras;
mod layer;
mod layer_norm_rnn;
mod lstm;
mod norm;
mod product;
mod rnn;
mod scan;
mod sequential;
mod simple_rnn;
mod tensor;

pub use activation::Activation;
pub use allocator::tune_allocator_for_training;
pub use backend::{Backend, SelectedDevice, TchDevice};
pub use bidirectional::{Bidirectional, BidirectionalConfig, BidirectionalOutput, MergeMode};
pub use burn;
pub use cell::{Cell, CellConfig, project_gates, recurrent_gates};
pub use dense::{Dense, DenseConfig, Flatten, FlattenConfig, TimeDistributed, TimeDistributedConfig};
pub use dropout::{Dropout, DropoutConfig};
pub use embedding::{Embedding, EmbeddingConfig};
pub use error::LayersError;
pub use error_source::ErrorSource;
pub use gru::{GruCell, GruConfig};
pub use infer::{Predictor, State};
pub use init::{seed, seeded};
pub use io::{load_weights, save_weights};
pub use keras::layer_from_keras_spec;
pub use layer::{DynLayer, DynLayerConfig, Input, Layer, LayerConfig, LayerOutput, MAX_PARAM_RANK, Shape, ValueKind};
pub use layer_norm_rnn::{LayerNormSimpleRnnCell, LayerNormSimpleRnnCellConfig, layer_norm};
pub use lstm::{LstmCell, LstmConfig};
pub use norm::{BatchNormalization, BatchNormalizationConfig, LayerNormalization, LayerNormalizationConfig};
pub use rnn::{Rnn, RnnConfig, RnnOptions, RnnOutput};
pub use scan::{SCAN_ENV, ScanMode, fused_available};
pub use sequential::{Sequential, SequentialBuilder, set_training};
pub use simple_rnn::{SimpleRnnCell, SimpleRnnConfig};
pub use tensor::{AnyTensor, KerasArray};

/// The most values one weight tensor may hold (2³¹ `f32`, 8 GiB). A layer size that would need
/// more is an error ([`LayersError::Config`]) when the layer is built, not an abort of the process.
pub const MAX_ELEMENTS: usize = 1 << 31;

/// Checks a layer's sizes before anything is allocated: every size at least 1, and every weight
/// tensor (`dims`, one shape per weight) within [`MAX_ELEMENTS`].
pub(crate) fn check_sizes(layer: &str, sizes: &[(&str, usize)], weights: &[&[usize]]) -> Result<(), LayersError> {
    if let Some((name, _)) = sizes.iter().find(|(_, n)| *n == 0) {
        return Err(LayersError::Config {
            what: format!("{layer} {name}"),
            why: "must be at least 1".into(),
        });
    }
    for dims in weights {
        let elements = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if elements.is_none_or(|n| n > MAX_ELEMENTS) {
            return Err(LayersError::Config {
                what: format!("{layer} size"),
                why: format!("a weight of shape {dims:?} would hold more than {MAX_ELEMENTS} values; use fewer units"),
            });
        }
    }
    Ok(())
}
