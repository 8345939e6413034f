//! Bad input to the layers gets a typed error when the layer is built or called: zero or absurd
//! sizes, non-finite Keras weights, empty token batches; nothing panics or aborts.
use rnnlab_layers::burn::tensor::{Int, Tensor, TensorData};
use rnnlab_layers::{
    Backend, BatchNormalizationConfig, DenseConfig, EmbeddingConfig, GruConfig, KerasArray, Layer, LayerConfig,
    LayerNormalizationConfig, LayersError, LstmConfig, Shape, SimpleRnnConfig,
};

fn device() -> rnnlab_layers::burn::tensor::Device {
    Backend::Flex.device().unwrap()
}

fn config_what(e: LayersError) -> String {
    match e {
        LayersError::Config { what, .. } => what,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn zero_sizes_are_refused_when_the_layer_is_built() {
    let d = device();
    assert_eq!(
        config_what(DenseConfig::new(3).init(&Shape::vector(0), &d).unwrap_err()),
        "Dense input_size"
    );
    assert_eq!(
        config_what(DenseConfig::new(0).init(&Shape::vector(3), &d).unwrap_err()),
        "Dense units"
    );
    assert_eq!(
        config_what(SimpleRnnConfig::new(3).init(&Shape::sequence(0), &d).unwrap_err()),
        "SimpleRNN input_size"
    );
    assert_eq!(
        config_what(LstmConfig::new(0).init(&Shape::sequence(2), &d).unwrap_err()),
        "LSTM units"
    );
    assert_eq!(
        config_what(GruConfig::new(2).init(&Shape::sequence(0), &d).unwrap_err()),
        "GRU input_size"
    );
    assert_eq!(
        config_what(EmbeddingConfig::new(0, 2).init(&Shape::tokens(None), &d).unwrap_err()),
        "Embedding input_dim"
    );
    assert_eq!(
        config_what(LayerNormalizationConfig::new().init(&Shape::vector(0), &d).unwrap_err()),
        "LayerNormalization channels"
    );
    let bn = BatchNormalizationConfig::new()
        .with_momentum(f64::NAN)
        .init(&Shape::vector(4), &d);
    assert_eq!(config_what(bn.unwrap_err()), "BatchNormalization momentum");
    let ln = LayerNormalizationConfig::new()
        .with_epsilon(-1.0)
        .init(&Shape::vector(4), &d);
    assert_eq!(config_what(ln.unwrap_err()), "LayerNormalization epsilon");
}

#[test]
fn sizes_beyond_the_allocation_limit_are_refused_before_allocating() {
    let d = device();
    // 200 000² recurrent weights would be a 160 GB allocation (an abort before).
    assert_eq!(
        config_what(SimpleRnnConfig::new(200_000).init(&Shape::sequence(1), &d).unwrap_err()),
        "SimpleRNN size"
    );
    assert_eq!(
        config_what(LstmConfig::new(2).init(&Shape::sequence(usize::MAX), &d).unwrap_err()),
        "LSTM size"
    );
    assert_eq!(
        config_what(DenseConfig::new(1 << 20).init(&Shape::vector(1 << 20), &d).unwrap_err()),
        "Dense size"
    );
}

#[test]
fn a_large_lstm_initializes_quickly() {
    // The orthogonal recurrent kernel of LSTM(1, 1024) is a 4096 × 1024 QR factorization (87 s
    // with the former row-major loops; a fraction of a second now). Not a timed assertion:
    // the test only has to finish, and checks that the kernel is orthonormal.
    let start = std::time::Instant::now();
    let layer = LstmConfig::new(1024).init(&Shape::sequence(1), &device()).unwrap();
    println!("LSTM(1, 1024) initialized in {:.3} s", start.elapsed().as_secs_f64());
    let u = layer.cell().recurrent_kernel.val(); // [1024, 4096]: orthonormal rows
    let gram = u.clone().matmul(u.transpose());
    let eye = Tensor::<2>::eye(1024, &device());
    let err = (gram - eye).abs().max().into_scalar::<f32>();
    assert!(err < 1e-4, "U·Uᵀ differs from I by {err}");
}

#[test]
fn non_finite_keras_weights_are_refused() {
    let d = device();
    for bad in [f64::NAN, f64::INFINITY, 1e40] {
        let kernel = KerasArray::new("kernel", vec![2, 1], vec![0.5, bad]);
        let bias = KerasArray::new("bias", vec![1], vec![0.0]);
        let err = DenseConfig::new(1)
            .init(&Shape::vector(2), &d)
            .unwrap()
            .with_keras_weights(&[kernel, bias], &d)
            .unwrap_err();
        assert!(err.to_string().contains("not a finite f32"), "{bad}: {err}");
    }
}

#[test]
fn empty_token_batches_embed_to_empty_outputs() {
    let d = device();
    let emb = EmbeddingConfig::new(10, 3).init(&Shape::tokens(None), &d).unwrap();
    for dims in [[0usize, 4], [2, 0]] {
        let ids = Tensor::<2, Int>::from_data(TensorData::new(Vec::<i64>::new(), dims), &d);
        let out = emb.forward(ids).unwrap();
        assert_eq!(out.dims(), [dims[0], dims[1], 3]);
    }
}

mod weights_file {
    use super::device;
    use proptest::prelude::*;
    use rnnlab_layers::{LayerConfig, LstmConfig, Shape, load_weights, save_weights};

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        /// A weights file with bytes overwritten or cut off loads into an error, or into a layer
        /// of the right shapes; never a panic.
        #[test]
        fn corrupted_weight_files_load_or_fail_typed(
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
            truncate in any::<Option<prop::sample::Index>>(),
        ) {
            let d = device();
            let layer = LstmConfig::new(3).init(&Shape::sequence(2), &d).unwrap();
            let path = std::env::temp_dir().join(format!("rnnlab-fuzz-weights-{}.bpk", std::process::id()));
            save_weights(&layer, &path).unwrap();
            let mut bytes = std::fs::read(&path).unwrap();
            for (at, byte) in edits {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            if let Some(at) = truncate {
                bytes.truncate(at.index(bytes.len()));
            }
            std::fs::write(&path, bytes).unwrap();
            let loaded = load_weights(LstmConfig::new(3).init(&Shape::sequence(2), &d).unwrap(), &path);
            std::fs::remove_file(&path).ok();
            if let Ok(l) = loaded {
                prop_assert_eq!(l.cell().kernel.val().dims(), [2, 12]);
            }
        }
    }
}
