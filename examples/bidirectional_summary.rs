//! The lecture's text model and its `model.summary()`, with Keras's parameter counts:
//!
//! ```text
//! model = keras.models.Sequential([
//!     keras.layers.Embedding(100, 3),
//!     keras.layers.Bidirectional(keras.layers.LSTM(32)),
//!     keras.layers.Dense(1, activation="sigmoid")])
//! ```
//!
//! Run: `cargo run --release --example bidirectional_summary`.

use rnnlab_layers::{
    Activation, Backend, BidirectionalConfig, DenseConfig, EmbeddingConfig, LstmConfig, MergeMode, Sequential, Shape,
};

fn main() -> Result<(), rnnlab_layers::LayersError> {
    let device = Backend::Flex.device()?;
    let model = Sequential::builder(Shape::tokens(None))
        .add(EmbeddingConfig::new(100, 3))
        .add(BidirectionalConfig::new(LstmConfig::new(32)))
        .add(DenseConfig::new(1).with_activation(Activation::Sigmoid))
        .build(&device)?;
    println!("{}", model.summary());
    // Keras: Embedding 100·3 = 300; Bidirectional(LSTM(32)) on 3 features 2·4·(32·(3+32)+32) = 9,216;
    // Dense(1) on 64 = 65.
    let counts: Vec<usize> = model.layers().iter().map(|l| l.param_count()).collect();
    assert_eq!(counts, [300, 9_216, 65], "Keras's Param # column");

    // The other merge modes change the width the Dense layer sees, not the recurrent weights.
    for mode in [MergeMode::Sum, MergeMode::Ave, MergeMode::Mul] {
        let merged = Sequential::builder(Shape::tokens(None))
            .add(EmbeddingConfig::new(100, 3))
            .add(BidirectionalConfig::new(LstmConfig::new(32)).with_merge_mode(mode))
            .add(DenseConfig::new(1))
            .build(&device)?;
        println!(
            "merge_mode={mode:?}: output {} and {} parameters",
            merged.output_shape(),
            merged.param_count()
        );
    }
    Ok(())
}
