//! A [`Sequential`]'s layers read into host buffers laid out for the products, from their Keras
//! view (class, config, weights): the same description `.keras` files hold.

use serde_json::Value;

use super::engine::padded;
use crate::{Activation, LayersError, Sequential};

/// Which recurrence a recurrent layer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Recurrence {
    Simple,
    Lstm,
    /// GRU with Keras's `reset_after` flag.
    Gru {
        reset_after: bool,
    },
}

impl Recurrent {
    /// Columns of one gate block: the units padded to a multiple of the vector block.
    pub(super) fn gate_width(&self) -> usize {
        padded(self.units)
    }
}

/// Row-major `[rows, cols]` values, columns `from..from + take` of each row, padded with zeros
/// to `padded(take)` columns.
fn pad_columns(values: &[f32], rows: usize, cols: usize, from: usize, take: usize) -> Vec<f32> {
    let width = padded(take);
    let mut out = vec![0.0; rows * width];
    for r in 0..rows {
        out[r * width..r * width + take].copy_from_slice(&values[r * cols + from..r * cols + from + take]);
    }
    out
}

/// Row-major `[rows, gates·units]` values with gates `first..first + count`, each gate block
/// padded with zeros to `padded(units)` columns, so every gate starts on a vector block.
fn pad_gates(values: &[f32], rows: usize, units: usize, gates: usize, first: usize, count: usize) -> Vec<f32> {
    let (cols, up) = (gates * units, padded(units));
    let mut out = vec![0.0; rows * count * up];
    for r in 0..rows {
        for q in 0..count {
            let from = r * cols + (first + q) * units;
            let to = (r * count + q) * up;
            out[to..to + units].copy_from_slice(&values[from..from + units]);
        }
    }
    out
}

impl Recurrence {
    pub(super) fn gates(self) -> usize {
        match self {
            Recurrence::Simple => 1,
            Recurrence::Lstm => 4,
            Recurrence::Gru { .. } => 3,
        }
    }

    /// State vectors per batch row: `[h]`, or `[h, c]` for LSTM.
    pub(super) fn states(self) -> usize {
        if self == Recurrence::Lstm { 2 } else { 1 }
    }
}

/// One recurrent layer, each gate's columns padded with zeros to [`padded`]`(units)` so that
/// every gate starts on a vector block: `kernel [input, gates·up]`, `recurrent [units, gates·up]`,
/// biases `[gates·up]`. A GRU without `reset_after` splits its recurrent kernel: `recurrent`
/// holds the update and reset gates `[units, 2·up]`, `recurrent_candidate` the candidate's
/// `[units, up]`.
#[derive(Clone, Debug)]
pub(super) struct Recurrent {
    pub(super) kind: Recurrence,
    pub(super) input: usize,
    pub(super) units: usize,
    pub(super) kernel: Vec<f32>,
    pub(super) recurrent: Vec<f32>,
    pub(super) recurrent_candidate: Vec<f32>,
    /// SimpleRNN and LSTM, for the lanes path: `kernel` over `recurrent` without padding,
    /// `[input + units, gates·units]`, and the bias `[gates·units]`: one product per step over
    /// `[x; h]` is the row path's input sum continued by its recurrent sum. (Empty for a GRU,
    /// whose recurrent sum starts apart from the input's.)
    pub(super) stacked: Vec<f32>,
    pub(super) stacked_bias: Vec<f32>,
    /// Added to the input projection (zeros without a bias).
    pub(super) bias: Vec<f32>,
    /// GRU `reset_after`: added to the recurrent projection.
    pub(super) recurrent_bias: Vec<f32>,
    pub(super) activation: Activation,
    pub(super) recurrent_activation: Activation,
    pub(super) return_sequences: bool,
}

/// A dense layer on the last axis: `kernel [input, units]`, `bias [units]`, rows padded to
/// [`padded`] columns.
#[derive(Clone, Debug)]
pub(super) struct Affine {
    pub(super) input: usize,
    pub(super) units: usize,
    pub(super) kernel: Vec<f32>,
    pub(super) bias: Vec<f32>,
    pub(super) activation: Activation,
}

/// A layer of the host engine.
#[derive(Clone, Debug)]
pub(super) enum HostLayer {
    Recurrent(Recurrent),
    /// `Dense`, or `TimeDistributed(Dense)` (the same on the last axis).
    Dense(Affine),
    /// `[batch, time, features]` to `[batch, time·features]`.
    Flatten,
}

fn flag(config: &Value, key: &str) -> bool {
    config.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn activation(config: &Value, key: &str, default: &str) -> Result<Activation, LayersError> {
    match config.get(key) {
        None => Activation::from_keras(Some(default)),
        Some(Value::Null) => Activation::from_keras(None),
        Some(v) => Activation::from_keras(v.as_str()),
    }
}

/// A weight's dims and values on the host.
type HostArray = (Vec<usize>, Vec<f32>);

/// Each weight on the host.
fn host(weights: Vec<crate::AnyTensor>) -> Result<Vec<HostArray>, LayersError> {
    weights
        .iter()
        .map(|w| Ok((w.dims(), w.to_vec()?.into_iter().map(|v| v as f32).collect())))
        .collect()
}

fn refuse(layer: &str, option: &str) -> LayersError {
    LayersError::UnsupportedOption {
        layer: layer.to_string(),
        option: option.to_string(),
        hint: "the host predictor runs SimpleRNN, LSTM, GRU, Dense, TimeDistributed(Dense), Flatten and \
               Dropout; run this model with Sequential::forward",
    }
}

/// Reads every layer of `model`, refusing what the engine does not run.
pub(super) fn compile(model: &Sequential) -> Result<Vec<HostLayer>, LayersError> {
    let mut out = Vec::new();
    for layer in model.layers() {
        let class = layer.keras_class();
        let config = layer.keras_config();
        match class.as_str() {
            "SimpleRNN" | "LSTM" | "GRU" => {
                if flag(&config, "go_backwards") {
                    return Err(refuse(&class, "go_backwards=true"));
                }
                let kind = match class.as_str() {
                    "SimpleRNN" => Recurrence::Simple,
                    "LSTM" => Recurrence::Lstm,
                    _ => Recurrence::Gru {
                        reset_after: config.get("reset_after").and_then(Value::as_bool).unwrap_or(true),
                    },
                };
                let w = host(layer.keras_weights())?;
                let (kernel_dims, recurrent_dims) = (&w[0].0, &w[1].0);
                let (input, width) = (kernel_dims[0], kernel_dims[1]);
                let units = recurrent_dims[0];
                let gates = kind.gates();
                if width != gates * units || recurrent_dims[1] != gates * units {
                    return Err(LayersError::Shape {
                        what: format!("{class} kernels"),
                        expected: format!("[input, {}] and [{units}, {}]", gates * units, gates * units),
                        got: kernel_dims.clone(),
                    });
                }
                let (mut bias, mut recurrent_bias) = (vec![0.0; width], vec![0.0; width]);
                if let Some((dims, values)) = w.get(2) {
                    match (kind, dims.as_slice()) {
                        (Recurrence::Gru { reset_after: true }, [2, _]) => {
                            bias.copy_from_slice(&values[..width]);
                            recurrent_bias.copy_from_slice(&values[width..]);
                        }
                        _ => bias.copy_from_slice(&values[..width]),
                    }
                }
                let all = |m: &[f32], rows: usize| pad_gates(m, rows, units, gates, 0, gates);
                let (recurrent, recurrent_candidate) = match kind {
                    Recurrence::Gru { reset_after: false } => (
                        pad_gates(&w[1].1, units, units, 3, 0, 2),
                        pad_gates(&w[1].1, units, units, 3, 2, 1),
                    ),
                    _ => (all(&w[1].1, units), Vec::new()),
                };
                let (stacked, stacked_bias) = match kind {
                    Recurrence::Gru { .. } => (Vec::new(), Vec::new()),
                    _ => ([w[0].1.as_slice(), &w[1].1].concat(), bias.clone()),
                };
                out.push(HostLayer::Recurrent(Recurrent {
                    kind,
                    input,
                    units,
                    kernel: all(&w[0].1, input),
                    recurrent,
                    recurrent_candidate,
                    stacked,
                    stacked_bias,
                    bias: all(&bias, 1),
                    recurrent_bias: all(&recurrent_bias, 1),
                    activation: activation(&config, "activation", "tanh")?,
                    recurrent_activation: activation(&config, "recurrent_activation", "sigmoid")?,
                    return_sequences: flag(&config, "return_sequences"),
                }));
            }
            "Dense" => out.push(HostLayer::Dense(affine(&config, layer.keras_weights())?)),
            "TimeDistributed" => {
                let inner = config.get("layer").cloned().unwrap_or(Value::Null);
                if inner.get("class").and_then(Value::as_str) != Some("Dense") {
                    return Err(refuse("TimeDistributed", "a layer other than Dense"));
                }
                let inner_config = inner.get("config").cloned().unwrap_or(Value::Null);
                out.push(HostLayer::Dense(affine(&inner_config, layer.keras_weights())?));
            }
            "Flatten" => out.push(HostLayer::Flatten),
            // Identity at inference.
            "Dropout" => {}
            other => {
                return Err(LayersError::Unsupported {
                    kind: "layer for the host predictor",
                    name: other.to_string(),
                    supported: "SimpleRNN, LSTM, GRU, Dense, TimeDistributed(Dense), Flatten, Dropout",
                });
            }
        }
    }
    Ok(out)
}

fn affine(config: &Value, weights: Vec<crate::AnyTensor>) -> Result<Affine, LayersError> {
    let w = host(weights)?;
    let (input, units) = (w[0].0[0], w[0].0[1]);
    let bias = w.get(1).map_or_else(|| vec![0.0; units], |b| b.1.clone());
    Ok(Affine {
        input,
        units,
        kernel: pad_columns(&w[0].1, input, units, 0, units),
        bias: pad_columns(&bias, 1, units, 0, units),
        activation: activation(config, "activation", "linear")?,
    })
}
