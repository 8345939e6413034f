//! Building layers from Keras layer specs: `{"class_name": …, "config": {…}}` as Keras writes
//! them in model files (`"class"` is accepted too, the fixtures' layout). Every option rnnlab
//! does not implement is refused by name, never ignored.

use burn::tensor::Device;
use serde_json::Value;

use crate::layer::{DynLayer, boxed_layer};
use crate::{
    Activation, BatchNormalizationConfig, BidirectionalConfig, DenseConfig, DropoutConfig, EmbeddingConfig,
    FlattenConfig, GruConfig, LayerConfig, LayerNormSimpleRnnCellConfig, LayerNormalizationConfig, LayersError,
    LstmConfig, MergeMode, RnnConfig, RnnOptions, ScanMode, Sequential, Shape, SimpleRnnConfig, TimeDistributedConfig,
};

/// A spec's class name (`class_name`, or `class`).
fn class_of(spec: &Value) -> &str {
    spec.get("class_name")
        .or_else(|| spec.get("class"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

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

/// A boolean option; a value of another kind is an error rather than the default.
fn bool_or(config: &Value, key: &str, default: bool, class: &str) -> Result<bool, LayersError> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_bool().ok_or_else(|| LayersError::Config {
            what: format!("{class}.{key}"),
            why: format!("{v} is not true or false"),
        }),
    }
}

/// A number option; a value of another kind is an error rather than the default.
fn f64_or(config: &Value, key: &str, default: f64, class: &str) -> Result<f64, LayersError> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_f64().ok_or_else(|| LayersError::Config {
            what: format!("{class}.{key}"),
            why: format!("{v} is not a number"),
        }),
    }
}

fn activation(config: &Value, key: &str, default: Activation) -> Result<Activation, LayersError> {
    match config.get(key) {
        None => Ok(default),
        Some(Value::Null) => Ok(Activation::Linear),
        Some(v) => Activation::from_keras(v.as_str()),
    }
}

/// Refuses option `key` unless it is absent or `accepted` says its value gives the behaviour
/// rnnlab implements.
fn refuse_unless(
    class: &str,
    config: &Value,
    key: &str,
    accepted: impl Fn(&Value) -> bool,
    hint: &'static str,
) -> Result<(), LayersError> {
    match config.get(key) {
        Some(v) if !accepted(v) => Err(LayersError::UnsupportedOption {
            layer: class.to_string(),
            option: format!("{key}={}", keras_value(v)),
            hint,
        }),
        _ => Ok(()),
    }
}

/// A JSON value as Keras code would write it (`true`, `None`, `[-1]`).
fn keras_value(v: &Value) -> String {
    match v {
        Value::Bool(true) => "true".into(),
        Value::Bool(false) => "false".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

fn is_false(v: &Value) -> bool {
    v == &Value::Bool(false)
}

fn is_true(v: &Value) -> bool {
    v == &Value::Bool(true)
}

fn is_null(v: &Value) -> bool {
    v.is_null()
}

/// `axis=-1` (or `[-1]`): the only normalization axis rnnlab implements.
fn is_last_axis(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_i64() == Some(-1),
        Value::Array(a) => a.len() == 1 && a[0].as_i64() == Some(-1),
        _ => false,
    }
}

/// Whether `backward` is `layer` run backwards (what Keras writes for a Bidirectional without a
/// backward layer of its own): the same class and behaviour, `go_backwards` flipped.
fn mirrors(layer: &Value, backward: &Value) -> bool {
    const BEHAVIOUR: [&str; 12] = [
        "units",
        "activation",
        "recurrent_activation",
        "use_bias",
        "return_sequences",
        "return_state",
        "reset_after",
        "dropout",
        "recurrent_dropout",
        "stateful",
        "zero_output_for_mask",
        "cell",
    ];
    let config = |v: &Value| v.get("config").cloned().unwrap_or(Value::Null);
    let (f, b) = (config(layer), config(backward));
    let flag = |c: &Value| c.get("go_backwards").and_then(Value::as_bool).unwrap_or(false);
    class_of(layer) == class_of(backward) && flag(&f) != flag(&b) && BEHAVIOUR.iter().all(|k| f.get(*k) == b.get(*k))
}

/// The options of a recurrent layer that rnnlab does not implement.
fn check_recurrent(class: &str, c: &Value) -> Result<(), LayersError> {
    refuse_unless(
        class,
        c,
        "zero_output_for_mask",
        is_false,
        "masked steps repeat the previous output, Keras's default",
    )?;
    refuse_unless(class, c, "time_major", is_false, "inputs are [batch, time, features]")
}

fn options(config: &Value, class: &str) -> Result<RnnOptions, LayersError> {
    check_recurrent(class, config)?;
    Ok(RnnOptions {
        return_sequences: bool_or(config, "return_sequences", false, class)?,
        return_state: bool_or(config, "return_state", false, class)?,
        go_backwards: bool_or(config, "go_backwards", false, class)?,
        dropout: f64_or(config, "dropout", 0.0, class)?,
        recurrent_dropout: f64_or(config, "recurrent_dropout", 0.0, class)?,
        stateful: bool_or(config, "stateful", false, class)?,
        scan: ScanMode::Auto,
    })
}

/// Sets the six option fields of a built-in recurrent config.
macro_rules! with_options {
    ($cfg:expr, $options:expr) => {{
        let o = $options;
        $cfg.with_return_sequences(o.return_sequences)
            .with_return_state(o.return_state)
            .with_go_backwards(o.go_backwards)
            .with_dropout(o.dropout)
            .with_recurrent_dropout(o.recurrent_dropout)
            .with_stateful(o.stateful)
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
                .with_use_bias(bool_or(c, "use_bias", true, class)?);
            then.with(with_options!(cfg, options(c, class)?))
        }
        "LSTM" => {
            let cfg = LstmConfig::new(usize_of(c, "units", class)?)
                .with_activation(activation(c, "activation", Activation::Tanh)?)
                .with_recurrent_activation(activation(c, "recurrent_activation", Activation::Sigmoid)?)
                .with_use_bias(bool_or(c, "use_bias", true, class)?)
                .with_unit_forget_bias(bool_or(c, "unit_forget_bias", true, class)?);
            then.with(with_options!(cfg, options(c, class)?))
        }
        "GRU" => {
            let cfg = GruConfig::new(usize_of(c, "units", class)?)
                .with_activation(activation(c, "activation", Activation::Tanh)?)
                .with_recurrent_activation(activation(c, "recurrent_activation", Activation::Sigmoid)?)
                .with_use_bias(bool_or(c, "use_bias", true, class)?)
                .with_reset_after(bool_or(c, "reset_after", true, class)?);
            then.with(with_options!(cfg, options(c, class)?))
        }
        "RNN" => {
            let cell = get(c, "cell", class)?;
            let cell_class = class_of(cell);
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
                .with_epsilon(f64_or(cc, "epsilon", 1e-3, cell_class)?);
            then.with(RnnConfig::new(ln).with_options(options(c, class)?))
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
    let class = class_of(spec);
    let empty = Value::Object(Default::default());
    let c = spec.get("config").unwrap_or(&empty);
    check_options(class, c)?;
    match class {
        "SimpleRNN" | "LSTM" | "GRU" | "RNN" => recurrent(class, c, Plain(input, device)),
        "Bidirectional" => {
            let inner = get(c, "layer", class)?;
            let merge = MergeMode::from_keras(c.get("merge_mode").and_then(Value::as_str))?;
            let inner_class = class_of(inner);
            let mut inner_config = inner.get("config").unwrap_or(&empty).clone();
            // Keras's Bidirectional sets its copies' zero_output_for_mask to their
            // return_sequences (masked steps output 0 in merged sequences), which is what
            // rnnlab's Bidirectional does: that value is no option to refuse.
            if let Some(config) = inner_config.as_object_mut() {
                let sequences = config.get("return_sequences").and_then(Value::as_bool).unwrap_or(false);
                if config.get("zero_output_for_mask").and_then(Value::as_bool) == Some(sequences) {
                    config.remove("zero_output_for_mask");
                }
            }
            recurrent(inner_class, &inner_config, Wrapped(input, device, merge))
        }
        "Dense" => boxed_layer(dense(c)?.init(input, device)?),
        "TimeDistributed" => {
            let inner = get(c, "layer", class)?;
            match class_of(inner) {
                "Dense" => {
                    let dc = inner.get("config").unwrap_or(&empty);
                    check_options("Dense", dc)?;
                    boxed_layer(TimeDistributedConfig::new(dense(dc)?).init(input, device)?)
                }
                other => Err(LayersError::Unsupported {
                    kind: "TimeDistributed layer",
                    name: other.into(),
                    supported: "Dense",
                }),
            }
        }
        "Embedding" => boxed_layer(
            EmbeddingConfig::new(usize_of(c, "input_dim", class)?, usize_of(c, "output_dim", class)?)
                .with_mask_zero(bool_or(c, "mask_zero", false, class)?)
                .init(input, device)?,
        ),
        "LayerNormalization" => boxed_layer(
            LayerNormalizationConfig::new()
                .with_epsilon(f64_or(c, "epsilon", 1e-3, class)?)
                .init(input, device)?,
        ),
        "BatchNormalization" => boxed_layer(
            BatchNormalizationConfig::new()
                .with_epsilon(f64_or(c, "epsilon", 1e-3, class)?)
                .with_momentum(f64_or(c, "momentum", 0.99, class)?)
                .init(input, device)?,
        ),
        "Flatten" => boxed_layer(FlattenConfig.init(input, device)?),
        "Dropout" => boxed_layer(DropoutConfig::new(f64_or(c, "rate", 0.0, class)?).init(input, device)?),
        other => Err(LayersError::Unsupported {
            kind: "layer",
            name: other.into(),
            supported: "SimpleRNN, LSTM, GRU, RNN(LNSimpleRNNCell), Bidirectional, Dense, TimeDistributed, \
                        Embedding, LayerNormalization, BatchNormalization, Flatten, Dropout",
        }),
    }
}

fn dense(c: &Value) -> Result<DenseConfig, LayersError> {
    Ok(DenseConfig::new(usize_of(c, "units", "Dense")?)
        .with_activation(activation(c, "activation", Activation::Linear)?)
        .with_use_bias(bool_or(c, "use_bias", true, "Dense")?))
}

/// The options of the non-recurrent layers that rnnlab does not implement (the recurrent
/// layers' are checked with their options).
fn check_options(class: &str, c: &Value) -> Result<(), LayersError> {
    match class {
        "Dense" | "Embedding" => refuse_unless(class, c, "quantization_config", is_null, "load the unquantized model"),
        "LayerNormalization" => {
            refuse_unless(class, c, "axis", is_last_axis, "normalize the last axis (axis=-1)")?;
            refuse_unless(class, c, "center", is_true, "center=True")?;
            refuse_unless(class, c, "scale", is_true, "scale=True")?;
            refuse_unless(class, c, "rms_scaling", is_false, "rms_scaling=False")
        }
        "BatchNormalization" => {
            refuse_unless(class, c, "axis", is_last_axis, "normalize the last axis (axis=-1)")?;
            refuse_unless(class, c, "center", is_true, "center=True")?;
            refuse_unless(class, c, "scale", is_true, "scale=True")?;
            refuse_unless(class, c, "renorm", is_false, "renorm=False")
        }
        "Dropout" => refuse_unless(class, c, "noise_shape", is_null, "one mask element per input element"),
        "Bidirectional" => {
            let layer = c.get("layer").unwrap_or(&Value::Null);
            refuse_unless(
                class,
                c,
                "backward_layer",
                |b| b.is_null() || mirrors(layer, b),
                "the backward copy is the wrapped layer with go_backwards",
            )
        }
        "Flatten" => refuse_unless(
            class,
            c,
            "data_format",
            |v| v.as_str() == Some("channels_last"),
            "channels_last",
        ),
        _ => Ok(()),
    }
}

impl Sequential {
    /// A model from Keras layer specs (`{"class_name": …, "config": {…}}`, in order) for inputs of
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
