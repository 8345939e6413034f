//! The architecture in a Keras file: a `Sequential` config (`config.json` of a `.keras` file,
//! the `model_config` attribute of a legacy `.h5`) read into an input shape and layer specs.

use rnnlab_layers::{Shape, ValueKind};
use serde_json::Value;

use crate::KerasError;

/// One layer of the file, in order.
pub(crate) struct LayerEntry {
    /// Its name in the configuration (`dense_3`), which legacy files key weights by.
    pub name: String,
    /// Keras's class name.
    pub class: String,
    /// `{"class_name": …, "config": {…}}` as the file has it.
    pub spec: Value,
}

/// A `Sequential` model's input shape and layers (without the `InputLayer`).
pub(crate) struct ModelSpec {
    pub input: Shape,
    /// The fixed batch size of `batch_shape` (stateful models have one), `None` for any.
    pub batch_size: Option<usize>,
    pub layers: Vec<LayerEntry>,
}

fn config_error(file: &str, what: &str, why: impl Into<String>) -> KerasError {
    KerasError::Config {
        file: file.into(),
        what: what.into(),
        why: why.into(),
    }
}

/// Parses the model configuration JSON text.
pub(crate) fn parse(text: &str, file: &str) -> Result<ModelSpec, KerasError> {
    let json: Value =
        serde_json::from_str(text).map_err(|e| config_error(file, "model configuration", e.to_string()))?;
    let class = json.get("class_name").and_then(Value::as_str).unwrap_or("");
    if class != "Sequential" {
        return Err(KerasError::NotSequential {
            file: file.into(),
            class: if class.is_empty() {
                "unnamed".into()
            } else {
                class.into()
            },
        });
    }
    let config = json
        .get("config")
        .ok_or_else(|| config_error(file, "model configuration", "has no \"config\""))?;
    let list = config
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| config_error(file, "model configuration", "has no \"layers\" list"))?;
    let mut input = None;
    let mut layers = Vec::new();
    for (i, layer) in list.iter().enumerate() {
        let class = layer
            .get("class_name")
            .and_then(Value::as_str)
            .ok_or_else(|| config_error(file, &format!("layer {i}"), "has no \"class_name\""))?;
        let layer_config = layer.get("config").unwrap_or(&Value::Null);
        let name = layer_config
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(class)
            .to_string();
        if class == "InputLayer" {
            input = Some(input_shape(layer_config, file, &name)?);
            continue;
        }
        // Keras 2 files give the input shape on the first layer instead of an InputLayer.
        if input.is_none() && layer_config.get("batch_input_shape").is_some() {
            input = Some(input_shape(layer_config, file, &name)?);
        }
        layers.push(LayerEntry {
            name,
            class: class.into(),
            spec: layer.clone(),
        });
    }
    let (input, batch_size) = match input {
        Some(shape) => shape,
        None => build_input_shape(config, file)?,
    };
    Ok(ModelSpec {
        input,
        batch_size,
        layers,
    })
}

/// The input shape of an `InputLayer` (`batch_shape`, Keras 2's `batch_input_shape`) and dtype,
/// and the batch size when it is fixed.
fn input_shape(config: &Value, file: &str, name: &str) -> Result<(Shape, Option<usize>), KerasError> {
    let dims = config
        .get("batch_shape")
        .or_else(|| config.get("batch_input_shape"))
        .and_then(Value::as_array)
        .ok_or_else(|| config_error(file, name, "has no batch_shape"))?;
    let kind = match config.get("dtype").and_then(dtype_name) {
        Some(d) if d.starts_with("int") || d.starts_with("uint") => ValueKind::TokenIds,
        _ => ValueKind::Float,
    };
    let (batch, dims) = split_batch(dims, file, name)?;
    Ok((Shape::new(dims, kind), batch))
}

/// A Keras batch shape `[batch, …]` as the fixed batch size (`None` for Keras's `None`) and the
/// shape without it.
fn split_batch(dims: &[Value], file: &str, what: &str) -> Result<(Option<usize>, Vec<Option<usize>>), KerasError> {
    let all = sizes(dims, file, what)?;
    match all.split_first() {
        None => Ok((None, Vec::new())),
        Some((Some(0), _)) => Err(config_error(file, what, "has a batch size of 0")),
        Some((batch, rest)) => Ok((*batch, rest.to_vec())),
    }
}

/// `"float32"`, or a Keras 3 `DTypePolicy` object's name.
fn dtype_name(v: &Value) -> Option<&str> {
    v.as_str()
        .or_else(|| v.get("config").and_then(|c| c.get("name")).and_then(Value::as_str))
}

/// A model without an `InputLayer` that Keras built: `build_input_shape` on the model config.
fn build_input_shape(config: &Value, file: &str) -> Result<(Shape, Option<usize>), KerasError> {
    let dims = config
        .get("build_input_shape")
        .and_then(Value::as_array)
        .ok_or_else(|| KerasError::Missing {
            file: file.into(),
            what: "the input shape (an InputLayer, batch_input_shape or build_input_shape)".into(),
        })?;
    let (batch, dims) = split_batch(dims, file, "build_input_shape")?;
    Ok((Shape::new(dims, ValueKind::Float), batch))
}

fn sizes(dims: &[Value], file: &str, what: &str) -> Result<Vec<Option<usize>>, KerasError> {
    dims.iter()
        .map(|d| match d {
            Value::Null => Ok(None),
            v => v
                .as_u64()
                .map(|n| Some(n as usize))
                .ok_or_else(|| config_error(file, what, format!("{v} is not a size"))),
        })
        .collect()
}

/// Keras's `to_snake_case` (`SimpleRNN` → `simple_rnn`, `BatchNormalization` →
/// `batch_normalization`): how a `.keras` file names a layer's weight group.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            // "xY" always splits; "XYz" splits before Y (an acronym followed by a word).
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || (next_lower && prev != '_') {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The weight group names of layers of classes `classes`, in model order: `snake_case(class)`,
/// then `_1`, `_2`, … for later layers of the same class (what Keras's saver writes and its
/// loader looks for).
pub(crate) fn weight_group_keys<'a>(classes: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    classes
        .into_iter()
        .map(|class| {
            let base = snake_case(class);
            let count = seen.entry(base.clone()).or_insert(0);
            let key = if *count == 0 { base } else { format!("{base}_{count}") };
            *count += 1;
            key
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn layer_groups_are_named_as_keras_names_them() {
        for (class, key) in [
            ("SimpleRNN", "simple_rnn"),
            ("LSTM", "lstm"),
            ("GRU", "gru"),
            ("RNN", "rnn"),
            ("BatchNormalization", "batch_normalization"),
            ("LayerNormalization", "layer_normalization"),
            ("TimeDistributed", "time_distributed"),
            ("Bidirectional", "bidirectional"),
            ("Dense", "dense"),
            ("LNSimpleRNNCell", "ln_simple_rnn_cell"),
        ] {
            assert_eq!(snake_case(class), key);
        }
    }
}
