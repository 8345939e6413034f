//! Reading a model file: the `.keras` zip (config.json + model.weights.h5) or a legacy `.h5`,
//! into a `Sequential` with the file's weights.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use burn::tensor::Device;
use hdf5_pure::AttrValue;
use rnnlab_layers::{ErrorSource, KerasArray, Sequential, layer_from_keras_spec};

use crate::KerasError;
use crate::config::{self, LayerEntry, ModelSpec};

/// A `.keras` file starts like every zip archive.
pub(crate) const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// Runs a reader of untrusted bytes; a panic inside it (a parser meeting a corrupt file) becomes
/// the error `on_panic` builds.
fn guarded<T>(
    read: impl FnOnce() -> Result<T, KerasError>,
    on_panic: impl FnOnce() -> KerasError,
) -> Result<T, KerasError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|_| Err(on_panic()))
}

/// Builds the model of `spec` with the weights `weights_of` gives for each layer.
fn build(
    spec: ModelSpec,
    file: &str,
    device: &Device,
    mut weights_of: impl FnMut(usize, &LayerEntry) -> Result<Vec<KerasArray>, KerasError>,
) -> Result<Sequential, KerasError> {
    // `split_batch` refused a batch size of 0, the only one `with_batch_size` refuses.
    let mut model = Sequential::new(spec.input)
        .with_batch_size(spec.batch_size)
        .map_err(|source| KerasError::Layer {
            file: file.into(),
            layer: "input_layer".into(),
            source: Box::new(source),
        })?;
    for (i, entry) in spec.layers.iter().enumerate() {
        let layer_error = |source| KerasError::Layer {
            file: file.into(),
            layer: entry.name.clone(),
            source: Box::new(source),
        };
        let layer = layer_from_keras_spec(&entry.spec, &model.output_shape(), device).map_err(layer_error)?;
        let arrays = weights_of(i, entry)?;
        let layer = layer.with_keras_weights(&arrays, device).map_err(layer_error)?;
        model.push_boxed(layer).map_err(layer_error)?;
    }
    Ok(model)
}

/// A `.keras` file.
pub(crate) fn keras_v3(bytes: &[u8], file: &str, device: &Device) -> Result<Sequential, KerasError> {
    let zip_error = |what: &str, e: zip::result::ZipError| KerasError::Zip {
        file: file.into(),
        what: what.into(),
        source: ErrorSource::new(e),
    };
    let (config_text, weights) = guarded(
        || {
            let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| zip_error("the archive", e))?;
            let mut entry = |name: &str| -> Result<Vec<u8>, KerasError> {
                let mut f = archive.by_name(name).map_err(|e| match e {
                    zip::result::ZipError::FileNotFound => KerasError::Missing {
                        file: file.into(),
                        what: name.into(),
                    },
                    e => zip_error(name, e),
                })?;
                let mut out = Vec::new();
                f.read_to_end(&mut out).map_err(|e| zip_error(name, e.into()))?;
                Ok(out)
            };
            let config = String::from_utf8(entry("config.json")?).map_err(|e| KerasError::Config {
                file: file.into(),
                what: "config.json".into(),
                why: e.to_string(),
            })?;
            Ok((config, entry("model.weights.h5")?))
        },
        || KerasError::Zip {
            file: file.into(),
            what: "the archive".into(),
            source: ErrorSource::message("corrupt (the zip reader gave up)"),
        },
    )?;
    let spec = config::parse(&config_text, file)?;
    let h5 = Hdf5::open(weights, file, "model.weights.h5")?;
    // Weight groups are named by class (`lstm`, `lstm_1`, …), counted per class in model order.
    let keys = config::weight_group_keys(spec.layers.iter().map(|l| l.class.as_str()));
    build(spec, file, device, |i, entry| {
        let group = format!("layers/{}", keys[i]);
        match entry.class.as_str() {
            "SimpleRNN" | "LSTM" | "GRU" => h5.vars(&format!("{group}/cell/vars")),
            "RNN" => {
                let mut arrays = h5.vars(&format!("{group}/cell/simple_rnn_cell/vars"))?;
                arrays.extend(h5.vars(&format!("{group}/cell/layer_normalization/vars"))?);
                Ok(arrays)
            }
            "Bidirectional" => {
                let mut arrays = h5.vars(&format!("{group}/forward_layer/cell/vars"))?;
                arrays.extend(h5.vars(&format!("{group}/backward_layer/cell/vars"))?);
                Ok(arrays)
            }
            "TimeDistributed" => h5.vars(&format!("{group}/layer/vars")),
            _ => h5.vars(&format!("{group}/vars")),
        }
    })
}

/// A legacy `.h5` file (`model.save("m.h5")`).
pub(crate) fn legacy_h5(bytes: &[u8], file: &str, device: &Device) -> Result<Sequential, KerasError> {
    let h5 = Hdf5::open(bytes.to_vec(), file, "the file")?;
    let config_text = match h5.attrs("")?.remove("model_config") {
        Some(value) if let Some(config) = text(&value) => config,
        Some(other) => {
            return Err(KerasError::Config {
                file: file.into(),
                what: "model_config".into(),
                why: format!("is not a string ({other:?})"),
            });
        }
        None => {
            return Err(KerasError::Missing {
                file: file.into(),
                what: "the root attribute model_config (a weights-only file?)".into(),
            });
        }
    };
    let spec = config::parse(&config_text, file)?;
    let mut weights = h5.attrs("model_weights")?;
    let layer_names = strings(weights.remove("layer_names"));
    build(spec, file, device, |_, entry| {
        if !layer_names.iter().any(|n| n == &entry.name) {
            // Layers without weights (Dropout, Flatten) may be absent.
            return Ok(Vec::new());
        }
        let group = format!("model_weights/{}", entry.name);
        let names = strings(h5.attrs(&group)?.remove("weight_names"));
        names.iter().map(|w| h5.array(&format!("{group}/{w}"), w)).collect()
    })
}

/// A string attribute in any of HDF5's string encodings.
fn text(value: &AttrValue) -> Option<String> {
    match value {
        AttrValue::String(s)
        | AttrValue::AsciiString(s)
        | AttrValue::VarLenString(s)
        | AttrValue::VarLenAsciiString(s) => Some(s.clone()),
        AttrValue::StringSized { value, .. } | AttrValue::AsciiStringSized { value, .. } => Some(value.clone()),
        _ => None,
    }
}

/// A string-array attribute (an empty list for a missing one or an empty numeric array, which
/// h5py writes for "no weights").
fn strings(value: Option<AttrValue>) -> Vec<String> {
    match value {
        Some(
            AttrValue::StringArray(v)
            | AttrValue::AsciiStringArray(v)
            | AttrValue::VarLenStringArray(v)
            | AttrValue::VarLenAsciiStringArray(v)
            | AttrValue::VarLenAsciiCharArray(v),
        ) => v,
        Some(AttrValue::StringArraySized { values, .. } | AttrValue::AsciiStringArraySized { values, .. }) => values,
        Some(other) => text(&other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// An HDF5 file held in memory, read with the file's name in every error.
struct Hdf5<'a> {
    file: hdf5_pure::File,
    name: &'a str,
}

impl<'a> Hdf5<'a> {
    fn open(bytes: Vec<u8>, name: &'a str, what: &str) -> Result<Self, KerasError> {
        let error = |source| KerasError::Hdf5 {
            file: name.into(),
            what: what.into(),
            source,
        };
        let file = guarded(
            || hdf5_pure::File::from_bytes(bytes).map_err(|e| error(ErrorSource::new(e))),
            || error(ErrorSource::message("corrupt (the HDF5 reader gave up)")),
        )?;
        Ok(Self { file, name })
    }

    fn error(&self, what: &str, source: ErrorSource) -> KerasError {
        KerasError::Hdf5 {
            file: self.name.into(),
            what: what.into(),
            source,
        }
    }

    fn guarded<T>(&self, what: &str, read: impl FnOnce() -> Result<T, hdf5_pure::Error>) -> Result<T, KerasError> {
        guarded(
            || read().map_err(|e| self.error(what, ErrorSource::new(e))),
            || self.error(what, ErrorSource::message("corrupt (the HDF5 reader gave up)")),
        )
    }

    /// The attributes of a group (`""` is the root).
    fn attrs(&self, group: &str) -> Result<HashMap<String, AttrValue>, KerasError> {
        self.guarded(if group.is_empty() { "/" } else { group }, || {
            if group.is_empty() {
                self.file.root().attrs()
            } else {
                self.file.group(group)?.attrs()
            }
        })
    }

    /// The datasets `0, 1, …` of a `vars` group, in order.
    fn vars(&self, group: &str) -> Result<Vec<KerasArray>, KerasError> {
        let names = match self.guarded(group, || self.file.group(group)?.datasets()) {
            Ok(names) => names,
            // A layer without weights has no vars group at all.
            Err(_) if self.guarded(group, || self.file.group(group)).is_err() => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut indexed: Vec<(usize, String)> = names
            .into_iter()
            .map(|n| {
                n.parse::<usize>()
                    .map(|i| (i, n.clone()))
                    .map_err(|_| KerasError::Config {
                        file: self.name.into(),
                        what: format!("{group}/{n}"),
                        why: "a weight variable not named by its index".into(),
                    })
            })
            .collect::<Result<_, _>>()?;
        indexed.sort();
        // `0, 1, …` without a gap: a missing index is a missing weight.
        if let Some(position) = indexed.iter().enumerate().position(|(p, (i, _))| p != *i) {
            return Err(KerasError::Missing {
                file: self.name.into(),
                what: format!("{group}/{position}"),
            });
        }
        indexed
            .iter()
            .map(|(_, n)| self.array(&format!("{group}/{n}"), &format!("{group}/{n}")))
            .collect()
    }

    /// One dataset as a Keras array (values as `f64`, shape as stored).
    fn array(&self, path: &str, name: &str) -> Result<KerasArray, KerasError> {
        let (shape, values) = self.guarded(path, || {
            let d = self.file.dataset(path)?;
            Ok((d.shape()?, d.read_f32()?))
        })?;
        let shape: Vec<usize> = shape.into_iter().map(|d| d as usize).collect();
        Ok(KerasArray::new(
            name,
            shape,
            values.into_iter().map(f64::from).collect(),
        ))
    }
}
