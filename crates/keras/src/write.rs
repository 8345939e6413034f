//! Writing a `.keras` file that Keras 3 loads: `config.json` (the architecture, in Keras's own
//! serialization), `metadata.json` and `model.weights.h5` laid out as Keras lays it out.

use std::io::{Cursor, Write};
use std::path::Path;

use hdf5_pure::{AttrValue, FileBuilder, GroupBuilder};
use rnnlab_layers::{AnyTensor, DynLayer, ErrorSource, Sequential, ValueKind, atomic_file};
use serde_json::{Value, json};

use crate::KerasError;
use crate::config::{snake_case, weight_group_keys};

/// The Keras version whose format this writes.
const KERAS_VERSION: &str = "3.15.1";

/// `{"module", "class_name", "config", "registered_name"}` for a layer or cell spec, nested specs
/// (`layer`, `cell`) turned into Keras's form too. A class Keras does not have (the layer-normalized
/// cell) is registered under the `rnnlab` package: Keras loads it once that class is registered
/// on its side (`@keras.saving.register_keras_serializable(package="rnnlab")`).
fn keras_spec(class: &str, config: &Value, name: &str) -> Value {
    let mut config = config.clone();
    if let Some(map) = config.as_object_mut() {
        for key in ["layer", "cell"] {
            if let Some(inner) = map.get(key).cloned() {
                let inner_class = inner
                    .get("class_name")
                    .or_else(|| inner.get("class"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let inner_config = inner.get("config").cloned().unwrap_or(json!({}));
                let inner_name = format!("{name}_{}", snake_case(&inner_class));
                map.insert(key.into(), keras_spec(&inner_class, &inner_config, &inner_name));
            }
        }
        map.insert("name".into(), json!(name));
        map.insert("trainable".into(), json!(true));
        map.insert("dtype".into(), json!("float32"));
    }
    let builtin = class != "LNSimpleRNNCell";
    json!({
        "module": if builtin { "keras.layers" } else { "rnnlab" },
        "class_name": class,
        "config": config,
        "registered_name": if builtin { Value::Null } else { json!(format!("rnnlab>{class}")) },
    })
}

/// The model's `config.json`.
fn model_config(model: &Sequential, keys: &[String]) -> Value {
    let input = model.input_shape();
    let batch = model.batch_size().map_or(Value::Null, |b| json!(b));
    let batch_shape: Vec<Value> = std::iter::once(batch)
        .chain(input.dims().iter().map(|d| d.map_or(Value::Null, |d| json!(d))))
        .collect();
    let dtype = match input.kind() {
        ValueKind::TokenIds => "int32",
        _ => "float32",
    };
    let mut layers = vec![json!({
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {"batch_shape": batch_shape, "dtype": dtype, "sparse": false, "name": "input_layer"},
        "registered_name": null,
    })];
    for (layer, key) in model.layers().iter().zip(keys) {
        layers.push(keras_spec(&layer.keras_class(), &layer.keras_config(), key));
    }
    json!({
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "trainable": true,
            "dtype": "float32",
            "layers": layers,
            "build_input_shape": batch_shape,
        },
        "registered_name": null,
        "build_config": {"input_shape": batch_shape},
    })
}

/// One weight array: its shape and row-major values.
type Array = (Vec<usize>, Vec<f32>);

/// A `vars` group holding `arrays` as datasets `0, 1, …`, its `name` attribute set.
fn vars(parent: &mut GroupBuilder, name: &str, arrays: &[Array]) {
    let mut group = parent.create_group("vars");
    group.set_attr("name", AttrValue::String(name.into()));
    for (i, (shape, data)) in arrays.iter().enumerate() {
        let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        group
            .create_dataset(&i.to_string())
            .with_f32_data(data)
            .with_shape(&dims);
    }
    parent.add_group(group.finish());
}

/// A sub-object (`cell`, `forward_layer`, …) of a layer group with its own `vars`.
fn child(parent: &mut GroupBuilder, name: &str, build: impl FnOnce(&mut GroupBuilder)) {
    let mut group = parent.create_group(name);
    build(&mut group);
    parent.add_group(group.finish());
}

/// A layer's weights as `(shape, values)`; a tensor that cannot be read back is an error.
fn arrays(layer: &dyn DynLayer, file: &str, key: &str) -> Result<Vec<Array>, KerasError> {
    layer
        .keras_weights()
        .iter()
        .map(|w: &AnyTensor| {
            let values = w.to_vec().map_err(|e| KerasError::Layer {
                file: file.into(),
                layer: key.into(),
                source: Box::new(e),
            })?;
            Ok((w.dims(), values.into_iter().map(|v| v as f32).collect()))
        })
        .collect()
}

/// Keras's shape for a GRU's bias without `reset_after`: `[3u]` (rnnlab keeps it as one row).
fn gru_bias_shape(class: &str, config: &Value, cell: &mut [Array]) {
    let classic = class == "GRU" && config.get("reset_after").and_then(Value::as_bool) == Some(false);
    if let (true, Some((shape, _))) = (classic, cell.get_mut(2))
        && shape.len() == 2
        && shape[0] == 1
    {
        *shape = vec![shape[1]];
    }
}

/// The weights file, grouped as Keras groups them.
fn weights_file(model: &Sequential, keys: &[String], file: &str) -> Result<Vec<u8>, KerasError> {
    let mut builder = FileBuilder::new();
    let mut layers = builder.create_group("layers");
    for (layer, key) in model.layers().iter().zip(keys) {
        let mut weights = arrays(layer.as_ref(), file, key)?;
        let class = layer.keras_class();
        let config = layer.keras_config();
        gru_bias_shape(&class, &config, &mut weights);
        let mut group = layers.create_group(key);
        match class.as_str() {
            "SimpleRNN" | "LSTM" | "GRU" => {
                vars(&mut group, key, &[]);
                child(&mut group, "cell", |cell| vars(cell, &format!("{key}_cell"), &weights));
            }
            "RNN" => {
                // The layer-normalized cell: a SimpleRNNCell's three arrays, then LayerNormalization's two.
                let (rnn, norm) = weights.split_at(weights.len().min(3));
                vars(&mut group, key, &[]);
                child(&mut group, "cell", |cell| {
                    vars(cell, &format!("{key}_cell"), &[]);
                    child(cell, "simple_rnn_cell", |c| vars(c, "simple_rnn_cell", rnn));
                    child(cell, "layer_normalization", |c| vars(c, "layer_normalization", norm));
                });
            }
            "Bidirectional" => {
                let inner = config.get("layer").cloned().unwrap_or(Value::Null);
                let inner_class = inner.get("class").and_then(Value::as_str).unwrap_or("");
                let inner_config = inner.get("config").cloned().unwrap_or(Value::Null);
                let half = weights.len() / 2;
                let (forward, backward) = weights.split_at_mut(half);
                gru_bias_shape(inner_class, &inner_config, forward);
                gru_bias_shape(inner_class, &inner_config, backward);
                let (forward, backward) = (&*forward, &*backward);
                vars(&mut group, key, &[]);
                for (side, half) in [("forward_layer", forward), ("backward_layer", backward)] {
                    child(&mut group, side, |g| {
                        vars(g, &format!("{side}_{key}"), &[]);
                        child(g, "cell", |cell| vars(cell, &format!("{side}_{key}_cell"), half));
                    });
                }
            }
            "TimeDistributed" => {
                vars(&mut group, key, &[]);
                child(&mut group, "layer", |inner| {
                    vars(inner, &format!("{key}_layer"), &weights)
                });
            }
            _ => vars(&mut group, key, &weights),
        }
        layers.add_group(group.finish());
    }
    builder.add_group(layers.finish());
    let mut top = builder.create_group("vars");
    top.set_attr("name", AttrValue::String("sequential".into()));
    builder.add_group(top.finish());
    builder.finish().map_err(|e| KerasError::Hdf5 {
        file: file.into(),
        what: "model.weights.h5".into(),
        source: ErrorSource::new(e),
    })
}

/// The `.keras` file of `model`, in memory.
pub(crate) fn keras_v3(model: &Sequential, file: &str) -> Result<Vec<u8>, KerasError> {
    let classes: Vec<String> = model.layers().iter().map(|l| l.keras_class()).collect();
    let keys = weight_group_keys(classes.iter().map(String::as_str));
    let config = serde_json::to_vec(&model_config(model, &keys)).map_err(|e| KerasError::Config {
        file: file.into(),
        what: "config.json".into(),
        why: e.to_string(),
    })?;
    let metadata = serde_json::to_vec(&json!({"keras_version": KERAS_VERSION, "date_saved": "", "saved_by": "rnnlab"}))
        .map_err(|e| KerasError::Config {
            file: file.into(),
            what: "metadata.json".into(),
            why: e.to_string(),
        })?;
    let weights = weights_file(model, &keys, file)?;
    let zip_error = |what: &str, e: zip::result::ZipError| KerasError::Zip {
        file: file.into(),
        what: what.into(),
        source: ErrorSource::new(e),
    };
    let mut out = Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut out);
    // Stored, as Keras writes it.
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in [
        ("metadata.json", &metadata),
        ("config.json", &config),
        ("model.weights.h5", &weights),
    ] {
        writer.start_file(name, options).map_err(|e| zip_error(name, e))?;
        writer.write_all(data).map_err(|e| zip_error(name, e.into()))?;
    }
    writer.finish().map_err(|e| zip_error("the archive", e))?;
    Ok(out.into_inner())
}

/// Writes `bytes` to `path` atomically and durably.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), KerasError> {
    let io = |source| KerasError::Io {
        file: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    atomic_file::write(path, bytes).map_err(io)
}
