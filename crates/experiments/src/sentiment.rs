//! The sentiment-order experiment: a generated Korean review corpus in which some sentences use
//! exactly the same words with opposite meanings ("좋은 점은 없고 나쁜 점이 많다" vs
//! "나쁜 점은 없고 좋은 점이 많다") or double negation ("재미가 없는 부분이 하나도 없습니다" is
//! positive). A bag-of-words model cannot separate them; a model that reads the order can.

use rnnlab_layers::{
    Activation, BidirectionalConfig, DenseConfig, EmbeddingConfig, FlattenConfig, LstmConfig, Sequential, Shape,
};
use rnnlab_text::{MatrixMode, PadOptions, Tokenizer, TokenizerConfig, pad_sequences};
use rnnlab_train::{Dataset, Features, FitConfig, Loss, Metric, OptimizerConfig, SplitMix64, Targets, evaluate, fit};

use crate::catalog::Context;
use crate::error::ExperimentError;
use crate::report::Record;

const GOOD: [&str; 4] = ["좋은", "재미있는", "훌륭한", "멋진"];
const BAD: [&str; 4] = ["나쁜", "지루한", "끔찍한", "형편없는"];
const ASPECTS: [(&str, &str); 4] = [
    ("점은", "점이"),
    ("장면은", "장면이"),
    ("부분은", "부분이"),
    ("연기는", "연기가"),
];

/// `(text, label, order_sensitive)`.
fn review(rng: &mut SplitMix64) -> (String, u32, bool) {
    let (good, bad) = (GOOD[rng.below(4)], BAD[rng.below(4)]);
    let (a1, a2) = (ASPECTS[rng.below(4)], ASPECTS[rng.below(4)]);
    match rng.below(4) {
        // Plain: one adjective decides.
        0 => {
            let positive = rng.below(2) == 0;
            let adj = if positive { good } else { bad };
            (format!("정말 {adj} 영화 입니다"), u32::from(positive), false)
        }
        // Double negation: "{bad} 부분이 하나도 없습니다" is positive.
        1 => {
            let positive = rng.below(2) == 0;
            let adj = if positive { bad } else { good };
            (format!("{adj} {} 하나도 없습니다", a1.1), u32::from(positive), true)
        }
        // Same words, opposite order: "{x} 점은 없고 {y} 점이 많다" takes y's sentiment.
        _ => {
            let positive = rng.below(2) == 0;
            let (x, y) = if positive { (bad, good) } else { (good, bad) };
            (
                format!("{x} {} 없고 {y} {} 많다", a1.0, a2.1),
                u32::from(positive),
                true,
            )
        }
    }
}

pub fn sentiment_order(ctx: &mut Context) -> Result<Record, ExperimentError> {
    let n = if ctx.quick { 600 } else { 4000 };
    // The corpus is the same on every run of a seed.
    let mut rng = SplitMix64::new(u64::from(ctx.seed));
    let corpus: Vec<(String, u32, bool)> = (0..n).map(|_| review(&mut rng)).collect();
    let split = n * 3 / 4;
    let (train, test) = corpus.split_at(split);
    let texts: Vec<&str> = train.iter().map(|r| r.0.as_str()).collect();
    let mut tok = Tokenizer::new(TokenizerConfig::default());
    tok.fit_on_texts(&texts)?;
    let vocab = tok.word_index().len() + 1;
    // The test split is the order-sensitive sentences only (double negation, same words reordered).
    let hard: Vec<&(String, u32, bool)> = test.iter().filter(|r| r.2).collect();
    let device = ctx.device.clone().autodiff();
    let cfg = FitConfig::new(if ctx.quick { 2 } else { 10 })
        .with_loss(Loss::BinaryCrossentropy)
        .with_metrics(vec![Metric::Accuracy])
        .with_optimizer(OptimizerConfig::adam(0.005))
        .with_seed(u64::from(ctx.seed));

    // Bag of words: texts_to_matrix(binary) -> Dense(1, sigmoid).
    let bow = |rows: &[&(String, u32, bool)]| -> Result<Dataset, ExperimentError> {
        let m = tok.texts_to_matrix(rows.iter().map(|r| r.0.as_str()), MatrixMode::Binary)?;
        let x: Vec<f32> = m.data.iter().map(|&v| v as f32).collect();
        let features = Features::Floats {
            values: x,
            shape: [m.rows, 1, m.cols],
        };
        Ok(Dataset::from_parts(
            features,
            Targets::Classes(rows.iter().map(|r| r.1).collect()),
        )?)
    };
    let train_rows: Vec<&(String, u32, bool)> = train.iter().collect();
    let bow_model = Sequential::builder(Shape::sequence_of(1, vocab))
        .add(FlattenConfig)
        .add(DenseConfig::new(1).with_activation(Activation::Sigmoid))
        .build(&device)?;
    println!("bag of words (texts_to_matrix + Dense):");
    let (bow_model, _) = fit(bow_model, &bow(&train_rows)?, None, &cfg)?;
    let bow_acc = evaluate(
        &bow_model,
        &bow(&hard)?,
        32,
        Loss::BinaryCrossentropy,
        &[Metric::Accuracy],
    )?
    .metrics[0];

    // Sequence: pad_sequences -> Embedding -> Bidirectional(LSTM) -> Dense(1, sigmoid).
    let maxlen = 6;
    let seqs = |rows: &[&(String, u32, bool)]| -> Result<Dataset, ExperimentError> {
        let s = tok.texts_to_sequences(rows.iter().map(|r| r.0.as_str()))?;
        let p = pad_sequences(&s, &PadOptions::default().maxlen(maxlen))?;
        let features = Features::Tokens {
            ids: p.data,
            shape: [p.rows, maxlen],
        };
        Ok(Dataset::from_parts(
            features,
            Targets::Classes(rows.iter().map(|r| r.1).collect()),
        )?)
    };
    let seq_model = Sequential::builder(Shape::tokens(Some(maxlen)))
        .add(EmbeddingConfig::new(vocab, 16).with_mask_zero(true))
        .add(BidirectionalConfig::new(LstmConfig::new(16)))
        .add(DenseConfig::new(1).with_activation(Activation::Sigmoid))
        .build(&device)?;
    println!("Embedding(mask_zero) + Bidirectional(LSTM(16)) + Dense:");
    let params = seq_model.param_count();
    let (seq_model, history) = fit(seq_model, &seqs(&train_rows)?, None, &cfg)?;
    let seq_acc = evaluate(
        &seq_model,
        &seqs(&hard)?,
        32,
        Loss::BinaryCrossentropy,
        &[Metric::Accuracy],
    )?
    .metrics[0];
    println!(
        "accuracy on {} order-sensitive test reviews: bag of words {bow_acc:.3}, BiLSTM {seq_acc:.3}",
        hard.len()
    );

    let mut r = Record::untrained("sentiment-order", None, vec![]);
    r.accuracy = Some(seq_acc);
    r.params = params;
    r.epochs = history.epochs();
    r.seconds_per_epoch = history.median_seconds_per_epoch();
    r.history = history;
    r.extra
        .insert("bag_of_words_accuracy".into(), serde_json::json!(bow_acc));
    r.extra
        .insert("order_sensitive_test_reviews".into(), serde_json::json!(hard.len()));
    r.extra.insert(
        "example_positive".into(),
        serde_json::json!("재미가 없는 부분이 하나도 없습니다"),
    );
    Ok(r)
}
