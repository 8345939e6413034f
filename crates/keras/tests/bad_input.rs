//! Bad model files get a typed error naming what is wrong, never a panic: truncated or corrupt
//! zip and HDF5 data, missing parts, configurations that disagree with their weights, classes
//! and options rnnlab does not implement, functional models.
use std::io::{Cursor, Read, Write};
use std::path::PathBuf;

use rnnlab_keras::{KerasError, load_model, load_model_from_bytes};
use rnnlab_layers::burn::tensor::Device;
use rnnlab_layers::{Backend, LayersError};

fn device() -> Device {
    Backend::Flex.device().unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/keras-models");
    std::fs::read(dir.join(name)).unwrap()
}

/// The entries of a `.keras` zip.
fn entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().unwrap().to_string(), data)
        })
        .collect()
}

/// A `.keras` zip of `entries`.
fn zipped(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut out);
    for (name, data) in entries {
        writer
            .start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap();
    out.into_inner()
}

/// `deep_rnn_dense.keras` with its config.json edited by `edit`.
fn with_config(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut parts = entries(&fixture("deep_rnn_dense.keras"));
    let (_, data) = parts.iter_mut().find(|(name, _)| name == "config.json").unwrap();
    let mut config: serde_json::Value = serde_json::from_slice(data).unwrap();
    edit(&mut config);
    *data = serde_json::to_vec(&config).unwrap();
    zipped(&parts)
}

fn load(bytes: &[u8]) -> Result<rnnlab_layers::Sequential, KerasError> {
    load_model_from_bytes(bytes, "test.keras", &device())
}

#[test]
fn the_fixture_loads_after_a_rezip() {
    // The helpers themselves keep a valid file valid.
    let model = load(&with_config(|_| {})).unwrap();
    assert_eq!(model.layers().len(), 3);
}

#[test]
fn files_that_are_not_models_are_format_errors() {
    assert!(matches!(load(b"not a model"), Err(KerasError::Format { .. })));
    assert!(matches!(
        load_model("/nonexistent/model.keras", &device()),
        Err(KerasError::Io { .. })
    ));
}

#[test]
fn truncated_files_are_typed_errors() {
    for name in ["deep_rnn_dense.keras", "deep_rnn_dense.h5"] {
        let bytes = fixture(name);
        for cut in [10, bytes.len() / 3, bytes.len() / 2, bytes.len() - 100] {
            match load(&bytes[..cut]) {
                Err(KerasError::Zip { .. } | KerasError::Hdf5 { .. } | KerasError::Format { .. }) => {}
                other => panic!("{name} cut at {cut}: {:?}", other.map(|m| m.param_count())),
            }
        }
    }
}

#[test]
fn missing_parts_are_named() {
    let parts: Vec<_> = entries(&fixture("deep_rnn_dense.keras"))
        .into_iter()
        .filter(|(n, _)| n != "config.json")
        .collect();
    match load(&zipped(&parts)) {
        Err(KerasError::Missing { what, .. }) => assert_eq!(what, "config.json"),
        other => panic!("{:?}", other.map(|m| m.param_count())),
    }
    let parts: Vec<_> = entries(&fixture("deep_rnn_dense.keras"))
        .into_iter()
        .filter(|(n, _)| n != "model.weights.h5")
        .collect();
    assert!(matches!(load(&zipped(&parts)), Err(KerasError::Missing { .. })));
}

#[test]
fn a_config_that_disagrees_with_its_weights_is_refused() {
    // Dense(2) where the file holds Dense(1)'s weights.
    let wider = with_config(|c| c["config"]["layers"][3]["config"]["units"] = 2.into());
    match load(&wider) {
        Err(KerasError::Layer { layer, source, .. }) => {
            assert_eq!(layer, "dense");
            assert!(matches!(*source, LayersError::Shape { .. }), "{source}");
        }
        other => panic!("{:?}", other.map(|m| m.param_count())),
    }
    // One more Dense layer than the file has weights for.
    let longer = with_config(|c| {
        let dense = c["config"]["layers"][3].clone();
        c["config"]["layers"].as_array_mut().unwrap().push(dense);
    });
    assert!(matches!(load(&longer), Err(KerasError::Layer { .. })));
}

#[test]
fn unsupported_classes_and_options_are_named() {
    let zero_output = with_config(|c| c["config"]["layers"][1]["config"]["zero_output_for_mask"] = true.into());
    match load(&zero_output).map(|m| m.param_count()) {
        Err(KerasError::Layer { source, .. }) => match *source {
            LayersError::UnsupportedOption { layer, option, .. } => {
                assert_eq!(
                    (layer.as_str(), option.as_str()),
                    ("SimpleRNN", "zero_output_for_mask=true")
                )
            }
            other => panic!("{other}"),
        },
        other => panic!("{other:?}"),
    }
    let conv = with_config(|c| c["config"]["layers"][3]["class_name"] = "Conv1D".into());
    match load(&conv) {
        Err(e @ KerasError::Layer { .. }) => assert!(e.to_string().contains("Conv1D"), "{e}"),
        other => panic!("{:?}", other.map(|m| m.param_count())),
    }
    let no_rows = with_config(|c| c["config"]["layers"][0]["config"]["batch_shape"][0] = 0.into());
    assert!(matches!(load(&no_rows), Err(KerasError::Config { .. })));
    let functional = with_config(|c| c["class_name"] = "Functional".into());
    assert!(matches!(load(&functional), Err(KerasError::NotSequential { class, .. }) if class == "Functional"));
    let not_json = zipped(&[
        ("config.json".into(), b"{".to_vec()),
        ("model.weights.h5".into(), Vec::new()),
    ]);
    assert!(matches!(load(&not_json), Err(KerasError::Config { .. })));
}

mod fuzz {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Overwritten bytes in either format load into a model or a typed error; never a panic.
        #[test]
        fn corrupted_model_files_load_or_fail_typed(
            legacy in any::<bool>(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let mut bytes = super::fixture(if legacy { "embedding_bilstm.h5" } else { "embedding_bilstm.keras" });
            for (at, byte) in edits {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            let _ = super::load(&bytes);
        }
    }
}
