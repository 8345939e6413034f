//! Building layers from Keras layer specs (`{"class": …, "config": {…}}`, the fixtures' layout).

use burn::tensor::Device;
use serde_json::Value;

use crate::layer::{DynLayer, boxed_layer};
use crate::{
    Activation, BatchNormalizationConfig, BidirectionalConfig, DenseConfig, EmbeddingConfig, FlattenConfig, GruConfig,
    LayerConfig, LayerNormSimpleRnnCellConfig, LayerNormalizationConfig, LayersError, LstmConfig, MergeMode, RnnConfig,
    RnnOptions, ScanMode, Sequential, Shape, SimpleRnnConfig, TimeDistributedConfig,
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

/// Sets the five option fields of a built-in recurrent config.
macro_rules! with_options {
    ($cfg:expr, $options:expr) => {{
        let o = $options;
        $cfg.with_return_sequences(o.return_sequences)
            .with_return_state(o.return_state)
            .with_go_backwards(o.go_backwards)
            .with_dropout(o.dropout)
            .with_recurrent_dropout(o.recurrent_dropout)
            .with_scan(o.scan)
    }};
}

/// The config of a recurrent layer spec that [`Bidirectional`](crate::Bidirectional) can wrap
/// (SimpleRNN, LSTM, GRU or `RNN(LNSimpleRNNCell)`), handed to `then` with its type.
trait WithRecurrent {
    fn with<C: LayerConfig<Layer = crate::Rnn<Cell>> + 'static, Cell: crate::Cell>(
        self,
        config: C,
    ) -> Result<Box<dyn DynLayer>, LayersError>;
}

fn recurrent<W: WithRecurrent>(class: &str, c: &Value, then: W) -> Result<Box<dyn DynLayer>, LayersError> {
    let empty = Value::Object(Default::default());
    match class {
        "SimpleRNN" => {
            let cfg = SimpleRnnConfig::new(usize_of(c, "units", class)?)
                .with_activation(activation(c, "activation", Activation::Tanh)?)
                .with_use_bias(bool_or(c, "use_bias", true));
            then.with(with_options!(cfg, options(c)))
        }
        "LSTM" => {
            let cfg = LstmConfig::new(usize_of(c, "units", class)?)
                .with_activation(activation(c, "activation", Activation::Tanh)?)
                .with_recurrent_activation(activation(c, "recurrent_activation", Activation::Sigmoid)?)
                .with_use_bias(bool_or(c, "use_bias", true))
                .with_unit_forget_bias(bool_or(c, "unit_forget_bias", true));
            then.with(with_options!(cfg, options(c)))
        }
        "GRU" => {
            let cfg = GruConfig::new(usize_of(c, "units", class)?)
                .with_activation(activation(c, "activation", Activation::Tanh)?)
                .with_recurrent_activation(activation(c, "recurrent_activation", Activation::Sigmoid)?)
                .with_use_bias(bool_or(c, "use_bias", true))
                .with_reset_after(bool_or(c, "reset_after", true));
            then.with(with_options!(cfg, options(c)))
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
            let ln = LayerNormSimpleRnnCellConfig::new(usize_of(cc, "units", cell_class)?)
                .with_activation(activation(cc, "activation", Activation::Tanh)?)
                .with_epsilon(f64_or(cc, "epsilon", 1e-3));
            then.with(RnnConfig::new(ln).with_options(options(c)))
        }
        other => Err(LayersError::Unsupported {
            kind: "recurrent layer",
            name: other.into(),
            supported: "SimpleRNN, LSTM, GRU, RNN(LNSimpleRNNCell)",
        }),
    }
}

/// Builds the layer for `input`.
struct Plain<'a>(&'a Shape, &'a Device);

impl WithRecurrent for Plain<'_> {
    fn with<C: LayerConfig<Layer = crate::Rnn<Cell>> + 'static, Cell: crate::Cell>(
        self,
        config: C,
    ) -> Result<Box<dyn DynLayer>, LayersError> {
        boxed_layer(config.init(self.0, self.1)?)
    }
}

/// Builds `Bidirectional(layer)` for `input`.
struct Wrapped<'a>(&'a Shape, &'a Device, MergeMode);

impl WithRecurrent for Wrapped<'_> {
    fn with<C: LayerConfig<Layer = crate::Rnn<Cell>> + 'static, Cell: crate::Cell>(
        self,
        config: C,
    ) -> Result<Box<dyn DynLayer>, LayersError> {
        boxed_layer(
            BidirectionalConfig::new(config)
                .with_merge_mode(self.2)
                .init(self.0, self.1)?,
        )
    }
}

/// Builds one layer from a Keras spec (`{"class": …, "config": {…}}`) for inputs of shape
/// `input`. Weights are freshly initialized; load Keras's with
/// [`Sequential::with_keras_weights`].
///
/// ```
/// use rnnlab_layers::{Backend, Shape, layer_from_keras_spec};
/// let spec = serde_json::json!({"class": "LSTM", "config": {"units": 20, "return_sequences": true}});
/// let layer = layer_from_keras_spec(&spec, &Shape::sequence(1), &Backend::Flex.device()?)?;
/// assert_eq!(layer.param_count(), 1760);
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
pub fn layer_from_keras_spec(spec: &Value, input: &Shape, device: &Device) -> Result<Box<dyn DynLayer>, LayersError> {
    let class = spec.get("class").and_then(Value::as_str).unwrap_or("");
    let empty = Value::Object(Default::default());
    let c = spec.get("config").unwrap_or(&empty);
    match class {
        "SimpleRNN" | "LSTM" | "GRU" | "RNN" => recurrent(class, c, Plain(input, device)),
        "Bidirectional" => {
            let inner = get(c, "layer", class)?;
            let merge = MergeMode::from_keras(c.get("merge_mode").and_then(Value::as_str))?;
            let inner_class = inner.get("class").and_then(Value::as_str).unwrap_or("");
            let inner_config = inner.get("config").unwrap_or(&empty);
            recurrent(inner_class, inner_config, Wrapped(input, device, merge))
        }
        "Dense" => boxed_layer(dense(c)?.init(input, device)?),
        "TimeDistributed" => {
            let inner = get(c, "layer", class)?;
            match inner.get("class").and_then(Value::as_str) {
                Some("Dense") => boxed_layer(
                    TimeDistributedConfig::new(dense(inner.get("config").unwrap_or(&empty))?).init(input, device)?,
                ),
                other => Err(LayersError::Unsupported {
                    kind: "TimeDistributed layer",
                    name: other.unwrap_or("").into(),
                    supported: "Dense",
                }),
            }
        }
        "Embedding" => boxed_layer(
            EmbeddingConfig::new(usize_of(c, "input_dim", class)?, usize_of(c, "output_dim", class)?)
                .with_mask_zero(bool_or(c, "mask_zero", false))
                .init(input, device)?,
        ),
        "LayerNormalization" => boxed_layer(
            LayerNormalizationConfig::new()
                .with_epsilon(f64_or(c, "epsilon", 1e-3))
                .init(input, device)?,
        ),
        "BatchNormalization" => boxed_layer(
            BatchNormalizationConfig::new()
                .with_epsilon(f64_or(c, "epsilon", 1e-3))
                .with_momentum(f64_or(c, "momentum", 0.99))
                .init(input, device)?,
        ),
        "Flatten" => boxed_layer(FlattenConfig.init(input, device)?),
        other => Err(LayersError::Unsupported {
            kind: "layer",
            name: other.into(),
            supported: "SimpleRNN, LSTM, GRU, RNN(LNSimpleRNNCell), Bidirectional, Dense, TimeDistributed, \
                        Embedding, LayerNormalization, BatchNormalization, Flatten",
        }),
    }
}

fn dense(c: &Value) -> Result<DenseConfig, LayersError> {
    Ok(DenseConfig::new(usize_of(c, "units", "Dense")?)
        .with_activation(activation(c, "activation", Activation::Linear)?)
        .with_use_bias(bool_or(c, "use_bias", true)))
}

impl Sequential {
    /// A model from Keras layer specs (`{"class": …, "config": {…}}`, in order) for inputs of
    /// shape `input`, each layer built for the shape the one before outputs.
    ///
    /// ```
    /// use rnnlab_layers::{Backend, Sequential, Shape};
    /// let specs = serde_json::json!([
    ///     {"class": "SimpleRNN", "config": {"units": 20, "return_sequences": true}},
    ///     {"class": "SimpleRNN", "config": {"units": 20}},
    ///     {"class": "Dense", "config": {"units": 1}},
    /// ]);
    /// let model = Sequential::from_keras_specs(Shape::sequence(1), specs.as_array().unwrap(), &Backend::Flex.device()?)?;
    /// assert_eq!(model.param_count(), 1281);
    /// # Ok::<(), rnnlab_layers::LayersError>(())
    /// ```
    pub fn from_keras_specs(input: Shape, specs: &[Value], device: &Device) -> Result<Sequential, LayersError> {
        let mut model = Sequential::new(input);
        for spec in specs {
            let layer = layer_from_keras_spec(spec, &model.output_shape(), device)?;
            model.push_boxed(layer)?;
        }
        Ok(model)
    }
}
