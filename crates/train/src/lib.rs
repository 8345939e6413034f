//! # rnnlab-train
//!
//! Keras-style `fit` / `evaluate` / `predict` for Burn models (tracked by the training issue).
//! For now this crate re-exports the backend choice it will train on.
//!
//! ```
//! use rnnlab_train::Backend;
//! assert!(Backend::compiled().contains(&Backend::Flex));
//! ```
#![warn(missing_docs)]

pub use rnnlab_layers::Backend;
