//! Runnable examples of the rnnlab crates, one file each next to this one:
//!
//! - `custom_cell.rs`: the lecture's layer-normalized SimpleRNN cell written outside the
//!   library, stacked in a `Sequential` and trained with `fit`;
//! - `sentiment.rs`: `Embedding` + `Bidirectional(LSTM)` trained on integer token ids;
//! - `bidirectional_summary.rs`: the lecture's model summary with Keras's parameter counts.
//!
//! Run one with `cargo run --release --example custom_cell`.
