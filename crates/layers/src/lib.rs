//! # rnnlab-layers
//!
//! Keras-compatible recurrent layers on Burn 0.22. This first release provides the run-time
//! backend choice shared by every rnnlab crate; the layers themselves (SimpleRNN, LSTM, GRU,
//! Bidirectional, …) are tracked by the layers issue.
//!
//! ```
//! use rnnlab_layers::Backend;
//! use rnnlab_layers::burn::tensor::Tensor;
//!
//! let device = Backend::Flex.device()?;
//! let x = Tensor::<2>::ones([2, 3], &device);
//! assert_eq!(x.sum().into_scalar::<f32>(), 6.0);
//! # Ok::<(), rnnlab_layers::LayersError>(())
//! ```
#![warn(missing_docs)]

mod backend;
mod error;

pub use backend::Backend;
pub use burn;
pub use error::LayersError;
