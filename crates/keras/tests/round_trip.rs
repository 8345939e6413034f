//! Saving: a model written by `save_model` loads back with the same architecture and weights,
//! for every fixture model and for a model with the lecture's layer-normalized cell.
use std::path::PathBuf;

use rnnlab_keras::{load_model, load_model_from_bytes, save_model, save_model_to_bytes};
use rnnlab_layers::burn::tensor::{Distribution, Int, Tensor, TensorData};
use rnnlab_layers::{
    Backend, BidirectionalConfig, DenseConfig, GruConfig, Input, LayerNormSimpleRnnCellConfig, LstmConfig, RnnConfig,
    Sequential, Shape, TimeDistributedConfig,
};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/keras-models")
}

/// A batch the model takes: token ids 0..5 for token models, uniform floats otherwise.
fn batch(model: &Sequential, device: &rnnlab_layers::burn::tensor::Device) -> Input {
    let shape = model.input_shape();
    let time = shape.dims()[0].unwrap_or(7);
    match shape.kind() {
        rnnlab_layers::ValueKind::TokenIds => {
            let ids: Vec<i64> = (0..3 * time as i64).map(|i| i % 5).collect();
            Input::Tokens(Tensor::<2, Int>::from_data(TensorData::new(ids, [3, time]), device))
        }
        _ => {
            let features = shape.dims()[1].unwrap_or(1);
            Input::from(Tensor::<3>::random(
                [3, time, features],
                Distribution::Uniform(-1.0, 1.0),
                device,
            ))
        }
    }
}

fn config_of(bytes: &[u8]) -> serde_json::Value {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("config.json").unwrap(), &mut text).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn outputs(model: &Sequential, x: Input) -> Vec<f64> {
    model.forward1(x).unwrap().to_vec().unwrap()
}

#[test]
fn every_fixture_model_survives_a_save_and_a_load() {
    let device = Backend::Flex.device().unwrap();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "keras") {
            continue;
        }
        let model = load_model(&path, &device).unwrap();
        let bytes = save_model_to_bytes(&model).unwrap();
        let again = load_model_from_bytes(&bytes, "saved.keras", &device).unwrap();
        assert_eq!(again.summary(), model.summary(), "{}", path.display());
        let x = batch(&model, &device);
        assert_eq!(outputs(&again, x.clone()), outputs(&model, x), "{}", path.display());
    }
}

#[test]
fn the_layer_normalized_cell_is_saved_under_an_rnnlab_name_and_loads_back() {
    let device = Backend::Flex.device().unwrap();
    rnnlab_layers::seed(&device, 7);
    let model = Sequential::builder(Shape::sequence(1))
        .add(RnnConfig::new(LayerNormSimpleRnnCellConfig::new(6)).with_return_sequences(true))
        .add(TimeDistributedConfig::new(DenseConfig::new(2)))
        .build(&device)
        .unwrap();
    let path = std::env::temp_dir().join(format!("rnnlab-ln-{}.keras", std::process::id()));
    save_model(&model, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let config = config_of(&bytes);
    let cell = &config["config"]["layers"][1]["config"]["cell"];
    assert_eq!(cell["registered_name"], "rnnlab>LNSimpleRNNCell");
    let again = load_model_from_bytes(&bytes, "ln.keras", &device).unwrap();
    let x = batch(&model, &device);
    assert_eq!(outputs(&again, x.clone()), outputs(&model, x));
}

#[test]
fn stateful_layers_and_the_fixed_batch_size_survive_a_save_and_a_load() {
    let device = Backend::Flex.device().unwrap();
    rnnlab_layers::seed(&device, 11);
    let model = Sequential::builder(Shape::sequence(2))
        .batch_size(3)
        .add(LstmConfig::new(5).with_return_sequences(true).with_stateful(true))
        .add(BidirectionalConfig::new(GruConfig::new(4).with_stateful(true)))
        .add(DenseConfig::new(1))
        .build(&device)
        .unwrap();
    let bytes = save_model_to_bytes(&model).unwrap();
    let config = config_of(&bytes);
    let layers = &config["config"]["layers"];
    assert_eq!(layers[0]["config"]["batch_shape"], serde_json::json!([3, null, 2]));
    assert_eq!(layers[1]["config"]["stateful"], true);
    assert_eq!(layers[2]["config"]["layer"]["config"]["stateful"], true);
    assert_eq!(layers[3]["config"].get("stateful"), None);

    let again = load_model_from_bytes(&bytes, "stateful.keras", &device).unwrap();
    assert_eq!(again.batch_size(), Some(3));
    assert!(again.is_stateful());
    // Both carry state over calls in step: the second call continues the first.
    let x = Tensor::<3>::random([3, 6, 2], Distribution::Uniform(-1.0, 1.0), &device);
    for _ in 0..2 {
        assert_eq!(
            outputs(&again, Input::from(x.clone())),
            outputs(&model, Input::from(x.clone()))
        );
    }
    let third = outputs(&again, Input::from(x.clone()));
    again.reset_states();
    let fresh = outputs(&again, Input::from(x.clone()));
    assert_ne!(third, fresh);
    model.reset_states();
    assert_eq!(outputs(&model, Input::from(x.clone())), fresh);
    // The fixed batch size is kept: a stateful model refuses another one.
    let four = Tensor::<3>::zeros([4, 6, 2], &device);
    assert!(again.forward1(Input::from(four.clone())).is_err());
    // A model without stateful layers keeps its batch size in the file and runs any batch.
    let plain = Sequential::builder(Shape::sequence(2))
        .batch_size(3)
        .add(LstmConfig::new(5))
        .build(&device)
        .unwrap();
    let plain = load_model_from_bytes(&save_model_to_bytes(&plain).unwrap(), "plain.keras", &device).unwrap();
    assert_eq!(plain.batch_size(), Some(3));
    assert_eq!(plain.forward1(Input::from(four)).unwrap().dims(), [4, 5]);
}
