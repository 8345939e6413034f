//! Building layers from Keras layer specs (`{"class": …, "config": {…}}`, the fixtures' layout).

use burn::tensor::Device;
use serde_json::Value;

use crate::sequential::Layer;
use crate::{
    Activation, BatchNormalizationConfig, Bidirectional, DenseConfig, EmbeddingConfig, Flatten, GruConfig,
    LayerNormSimpleRnnCell, LayerNormalizationConfig, LayersError, LstmConfig, MergeMode, Rnn, RnnOptions, ScanMode,
    SimpleRnnConfig,
};

fn get<'a>(config: &'a Value, key: &str, class: &str) -> Result<&'a Value, LayersError> {
    config.get(key).ok_or_else(|| LayersError::Config {
        what: format!("{class}.{key}"),
        why: "missing".into(),
    })
}

fn usize_of(config: &Value, key: &str, class: &str) -> Result<usize, LayersError> {
    get(config, key, class)?
        .as_u64()
        .map(|v| v as usize)
        .ok_or_else(|| LayersError::Config {
            what: format!("{class}.{key}"),
            why: "must be a non-negative integer".into(),
        })
}

fn bool_or(config: &Value, key: &str, default: bool) -> bool {
    config.get(key).and_then(Value::as_bool).unwrap_or(default)
}

fn f64_or(config: &Value, key: &str, default: f64) -> f64 {
    config.get(key).and_then(Value::as_f64).unwrap_or(default)
}

fn activation(config: &Value, key: &str, default: Activation) -> Result<Activation, LayersError> {
    match config.get(key) {
        None => Ok(default),
        Some(Value::Null) => Ok(Activation::Linear),
        Some(v) => Activation::from_keras(v.as_str()),
    }
}

fn options(config: &Value) -> RnnOptions {
    RnnOptions {
        return_sequences: bool_or(config, "return_sequences", false),
        return_state: bool_or(config, "return_state", false),
        go_backwards: bool_or(config, "go_backwards", false),
        dropout: f64_or(config, "dropout", 0.0),
        recurrent_dropout: f64_or(config, "recurrent_dropout", 0.0),
        scan: ScanMode::Auto,
    }
}

impl Layer {
    /// Builds a layer from a Keras spec for an input with `input_features` features (ignored by
    /// `Embedding`). Weights are freshly initialized; load Keras's with
    /// [`with_keras_weights`](Layer::with_keras_weights).
    ///
    /// ```
    /// use rnnlab_layers::{Backend, Layer};
    /// let spec = serde_json::json!({"class": "LSTM", "config": {"units": 20, "return_sequences": true}});
    /// let layer = Layer::from_keras_spec(&spec, 1, &Backend::Flex.device()?)?;
    /// assert_eq!(layer.param_count(), 1760);
    /// # Ok::<(), rnnlab_layers::LayersError>(())
    /// ```
    pub fn from_keras_spec(spec: &Value, input_features: usize, device: &Device) -> Result<Layer, LayersError> {
        let class = spec.get("class").and_then(Value::as_str).unwrap_or("");
        let empty = Value::Object(Default::default());
        let c = spec.get("config").unwrap_or(&empty);
        let f = input_features;
        Ok(match class {
            "SimpleRNN" => {
                let mut cfg = SimpleRnnConfig::new(f, usize_of(c, "units", class)?);
                cfg.activation = activation(c, "activation", Activation::Tanh)?;
                cfg.use_bias = bool_or(c, "use_bias", true);
                Layer::SimpleRnn(Rnn::new(cfg.init_cell(device)?, options(c))?)
            }
            "LSTM" => {
                let mut cfg = LstmConfig::new(f, usize_of(c, "units", class)?);
                cfg.activation = activation(c, "activation", Activation::Tanh)?;
                cfg.recurrent_activation = activation(c, "recurrent_activation", Activation::Sigmoid)?;
                cfg.use_bias = bool_or(c, "use_bias", true);
                cfg.unit_forget_bias = bool_or(c, "unit_forget_bias", true);
                Layer::Lstm(Rnn::new(cfg.init_cell(device)?, options(c))?)
            }
            "GRU" => {
                let mut cfg = GruConfig::new(f, usize_of(c, "units", class)?);
                cfg.activation = activation(c, "activation", Activation::Tanh)?;
                cfg.recurrent_activation = activation(c, "recurrent_activation", Activation::Sigmoid)?;
                cfg.use_bias = bool_or(c, "use_bias", true);
                cfg.reset_after = bool_or(c, "reset_after", true);
                Layer::Gru(Rnn::new(cfg.init_cell(device)?, options(c))?)
            }
            "RNN" => {
                let cell = get(c, "cell", class)?;
                let cell_class = cell.get("class").and_then(Value::as_str).unwrap_or("");
                if cell_class != "LNSimpleRNNCell" {
                    return Err(LayersError::Unsupported {
                        kind: "RNN cell",
                        name: cell_class.into(),
                        supported: "LNSimpleRNNCell (write other cells as a `Cell` in Rust)",
                    });
                }
                let cc = cell.get("config").unwrap_or(&empty);
                let ln = LayerNormSimpleRnnCell::new(f, usize_of(cc, "units", cell_class)?, device)
                    .with_activation(activation(cc, "activation", Activation::Tanh)?);
                Layer::LayerNormSimpleRnn(Rnn::new(ln, options(c))?)
            }
            "Bidirectional" => {
                let inner = get(c, "layer", class)?;
                let merge = MergeMode::from_keras(c.get("merge_mode").and_then(Value::as_str))?;
                let fwd = Layer::from_keras_spec(inner, f, device)?;
                let bwd = Layer::from_keras_spec(inner, f, device)?;
                match (fwd, bwd) {
                    (Layer::SimpleRnn(a), Layer::SimpleRnn(b)) => {
                        Layer::BidirectionalSimpleRnn(Bidirectional::new(a, b, merge)?)
                    }
                    (Layer::Lstm(a), Layer::Lstm(b)) => Layer::BidirectionalLstm(Bidirectional::new(a, b, merge)?),
                    (Layer::Gru(a), Layer::Gru(b)) => Layer::BidirectionalGru(Bidirectional::new(a, b, merge)?),
                    (other, _) => {
                        return Err(LayersError::Unsupported {
                            kind: "Bidirectional layer",
                            name: other.keras_class(),
                            supported: "SimpleRNN, LSTM, GRU",
                        });
                    }
                }
            }
            "Dense" | "TimeDistributed" => {
                let dc = if class == "TimeDistributed" {
                    get(c, "layer", class)?.get("config").unwrap_or(&empty)
                } else {
                    c
                };
                let mut cfg = DenseConfig::new(f, usize_of(dc, "units", "Dense")?);
                cfg.activation = activation(dc, "activation", Activation::Linear)?;
                cfg.use_bias = bool_or(dc, "use_bias", true);
                if class == "Dense" {
                    Layer::Dense(cfg.init(device)?)
                } else {
                    Layer::TimeDistributed(cfg.init(device)?)
                }
            }
            "Embedding" => Layer::Embedding(
                EmbeddingConfig::new(usize_of(c, "input_dim", class)?, usize_of(c, "output_dim", class)?)
                    .with_mask_zero(bool_or(c, "mask_zero", false))
                    .init(device)?,
            ),
            "LayerNormalization" => Layer::LayerNorm(
                LayerNormalizationConfig::new(f)
                    .with_epsilon(f64_or(c, "epsilon", 1e-3))
                    .init(device)?,
            ),
            "BatchNormalization" => Layer::BatchNorm(
                BatchNormalizationConfig::new(f)
                    .with_epsilon(f64_or(c, "epsilon", 1e-3))
                    .with_momentum(f64_or(c, "momentum", 0.99))
                    .init(device)?,
            ),
            "Flatten" => Layer::Flatten(Flatten::default()),
            other => {
                return Err(LayersError::Unsupported {
                    kind: "layer",
                    name: other.into(),
                    supported: "SimpleRNN, LSTM, GRU, RNN(LNSimpleRNNCell), Bidirectional, Dense, TimeDistributed, \
                                Embedding, LayerNormalization, BatchNormalization, Flatten",
                });
            }
        })
    }

    /// The feature size this layer outputs for `input_features` inputs (to chain specs).
    pub fn output_features(&self, input_features: usize) -> usize {
        self.output_shape(input_features, true).0
    }
}
