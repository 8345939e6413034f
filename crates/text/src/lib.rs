//! # rnnlab-text
//!
//! Keras-compatible text preprocessing (work in progress: see the text issue).
//!
//! ```
//! assert_eq!(rnnlab_text::KERAS_PREPROCESSING_VERSION, "1.1.2");
//! ```
#![warn(missing_docs)]

/// The keras-preprocessing release whose behaviour this crate reproduces.
pub const KERAS_PREPROCESSING_VERSION: &str = "1.1.2";
