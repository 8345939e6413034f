//! `Embedding` + `Bidirectional(LSTM)` trained on integer token ids: Keras's Tokenizer and
//! pad_sequences in Rust (`rnnlab-text`), the token ids fed to the model as they are (no float
//! round trip) and the labels as class ids.
//!
//! Run: `cargo run --release --example sentiment`.

use rnnlab_layers::{
    Activation, Backend, BidirectionalConfig, DenseConfig, EmbeddingConfig, LstmConfig, Sequential, Shape,
};
use rnnlab_text::{PadOptions, Tokenizer, TokenizerConfig, pad_sequences};
use rnnlab_train::{Dataset, Features, FitConfig, Loss, Metric, OptimizerConfig, Targets, evaluate, fit, predict};

/// Reviews whose meaning depends on word order: "not bad at all, good" vs "not good at all, bad".
fn corpus() -> Vec<(String, u32)> {
    let good = ["good", "great", "fun", "lovely"];
    let bad = ["bad", "dull", "awful", "boring"];
    let mut reviews = Vec::new();
    for (i, (g, b)) in good.iter().zip(bad).enumerate() {
        for (j, (g2, b2)) in good.iter().zip(bad).enumerate() {
            let tail = if (i + j) % 2 == 0 { "film" } else { "story" };
            reviews.push((format!("not {b} at all really {g2} {tail}"), 1));
            reviews.push((format!("not {g} at all really {b2} {tail}"), 0));
            reviews.push((format!("a {g} {tail}"), 1));
            reviews.push((format!("a {b} {tail}"), 0));
        }
    }
    reviews
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let reviews = corpus();
    let texts: Vec<&str> = reviews.iter().map(|r| r.0.as_str()).collect();
    let mut tokenizer = Tokenizer::new(TokenizerConfig::default());
    tokenizer.fit_on_texts(&texts)?;
    let vocabulary = tokenizer.word_index().len() + 1; // id 0 pads
    let maxlen = 7;
    let sequences = tokenizer.texts_to_sequences(texts.iter().copied())?;
    let padded = pad_sequences(&sequences, &PadOptions::default().maxlen(maxlen))?;
    let data = Dataset::from_parts(
        Features::Tokens {
            ids: padded.data,
            shape: [padded.rows, maxlen],
        },
        Targets::Classes(reviews.iter().map(|r| r.1).collect()),
    )?;

    let plain = Backend::Flex.device()?;
    rnnlab_layers::seed(&plain, 42);
    let device = plain.autodiff();
    let model = Sequential::builder(Shape::tokens(Some(maxlen)))
        .add(EmbeddingConfig::new(vocabulary, 16).with_mask_zero(true))
        .add(BidirectionalConfig::new(LstmConfig::new(16)))
        .add(DenseConfig::new(1).with_activation(Activation::Sigmoid))
        .build(&device)?;
    println!("{}", model.summary());
    let cfg = FitConfig::new(30)
        .with_loss(Loss::BinaryCrossentropy)
        .with_metrics(vec![Metric::Accuracy])
        .with_optimizer(OptimizerConfig::adam(0.01));
    let (model, _) = fit(model, &data, None, &cfg)?;
    let eval = evaluate(&model, &data, 32, cfg.loss, &cfg.metrics)?;
    println!("accuracy on {} reviews: {:.3}", data.len(), eval.metrics[0]);
    let probabilities = predict(&model, &data, 32)?;
    for (text, p) in texts.iter().zip(probabilities.data()).take(4) {
        println!("{p:.3}  {text}");
    }
    Ok(())
}
