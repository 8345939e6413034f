//! The lecture's experiments: data, models, training settings and reference figures.

use std::path::PathBuf;

use burn::module::Module;
use burn::tensor::Device;
use rnnlab_layers::{
    BatchNormalizationConfig, BidirectionalConfig, DenseConfig, EmbeddingConfig, FlattenConfig, GruConfig, Layer,
    LayerConfig, LayerNormSimpleRnnCellConfig, LstmConfig, RnnConfig, Sequential, SequentialBuilder, Shape,
    SimpleRnnConfig, TimeDistributedConfig,
};
use rnnlab_series::{NumpyRandom, Split, WindowSpec, generate_time_series, naive_mse};
use rnnlab_text::{PadOptions, Side, Tokenizer, TokenizerConfig, pad_sequences};
use rnnlab_train::{Dataset, FitConfig, Metric, OptimizerConfig, fit, predict};

use crate::error::ExperimentError;
use crate::report::{Band, Record};
use rnnlab_forecast::plot::{BLUE, GREEN, Line, ORANGE, Panel, RED, render};

/// One experiment of the lecture.
pub struct Experiment {
    pub name: &'static str,
    pub model: &'static str,
    pub run: fn(&mut Context) -> Result<Record, ExperimentError>,
    /// Rough single-core seconds of a full run (measured once on a 2-core Xeon). It only decides
    /// which runs a parallel `all` starts first (the longest), never a result.
    pub cost: f32,
    /// The experiment whose trained model this one reuses from the [`Context`]: a parallel run
    /// keeps the two in one worker, in catalog order, instead of training the model twice.
    pub reuses: Option<&'static str>,
}

pub const EXPERIMENTS: &[Experiment] = &[
    Experiment {
        name: "naive",
        model: "last value",
        run: naive,
        cost: 0.2,
        reuses: None,
    },
    Experiment {
        name: "linear",
        model: "Flatten + Dense(1), Adam default",
        run: linear,
        cost: 0.4,
        reuses: None,
    },
    Experiment {
        name: "simple-rnn",
        model: "SimpleRNN(1), Adam default lr",
        run: simple_rnn,
        cost: 0.7,
        reuses: None,
    },
    Experiment {
        name: "deep-rnn",
        model: "SimpleRNN(20,rs) · SimpleRNN(20,rs) · SimpleRNN(1), lr 0.005",
        run: deep_rnn,
        cost: 3.6,
        reuses: None,
    },
    Experiment {
        name: "deep-rnn-dense",
        model: "SimpleRNN(20,rs) · SimpleRNN(20) · Dense(1), lr 0.005",
        run: deep_rnn_dense,
        cost: 3.2,
        reuses: None,
    },
    Experiment {
        name: "forecast-iterative",
        model: "deep-rnn-dense applied 10 times",
        run: forecast_iterative,
        cost: 0.3,
        reuses: Some("deep-rnn-dense"),
    },
    Experiment {
        name: "seq2vec",
        model: "SimpleRNN(20,rs) · SimpleRNN(20) · Dense(10), Adam default",
        run: seq2vec,
        cost: 3.2,
        reuses: None,
    },
    Experiment {
        name: "seq2seq",
        model: "3 × SimpleRNN(20,rs) · TimeDistributed(Dense(10)), Adam 0.01",
        run: |c| seq2seq(c, "seq2seq", Recurrent::Simple),
        cost: 6.1,
        reuses: None,
    },
    Experiment {
        name: "seq2seq-batchnorm",
        model: "3 × (SimpleRNN(20,rs) · BatchNormalization) · TimeDistributed(Dense(10)), Adam default",
        run: |c| seq2seq(c, "seq2seq-batchnorm", Recurrent::SimpleBatchNorm),
        cost: 10.1,
        reuses: None,
    },
    Experiment {
        name: "seq2seq-layernorm",
        model: "3 × RNN(LNSimpleRNNCell(20),rs) · TimeDistributed(Dense(10)), Adam default",
        run: |c| seq2seq(c, "seq2seq-layernorm", Recurrent::LayerNorm),
        cost: 7.8,
        reuses: None,
    },
    Experiment {
        name: "seq2seq-lstm",
        model: "3 × LSTM(20,rs) · TimeDistributed(Dense(10)), Adam default",
        run: |c| seq2seq(c, "seq2seq-lstm", Recurrent::Lstm),
        cost: 14.7,
        reuses: None,
    },
    Experiment {
        name: "seq2seq-gru",
        model: "3 × GRU(20,rs) · TimeDistributed(Dense(10)), Adam default",
        run: |c| seq2seq(c, "seq2seq-gru", Recurrent::Gru),
        cost: 12.7,
        reuses: None,
    },
    Experiment {
        name: "text-pipeline",
        model: "Tokenizer / pad_sequences cells; Embedding · LSTM · Bidirectional summaries",
        run: text_pipeline,
        cost: 0.1,
        reuses: None,
    },
    Experiment {
        name: "sentiment-order",
        model: "bag of words (texts_to_matrix · Dense) vs Embedding · Bidirectional(LSTM) on order-sensitive reviews",
        run: crate::sentiment::sentiment_order,
        cost: 0.6,
        reuses: None,
    },
];

/// The three data sets every experiment draws from, built once.
pub struct Data {
    pub one_step: (Dataset, Dataset),
    pub ten_ahead: (Dataset, Dataset),
    pub seq2seq: (Dataset, Dataset),
}

pub struct Context {
    pub device: Device,
    pub seed: u32,
    pub quick: bool,
    pub epochs: Option<usize>,
    pub out: PathBuf,
    /// Plots written so far: (file name, caption), embedded in results.md.
    pub plots: Vec<(String, String)>,
    /// Whether runs draw their plots (only the first seed's of a multi-seed run do).
    pub draw_plots: bool,
    data: Option<Data>,
    deep_rnn_dense: Option<Sequential>,
}

const N_STEPS: usize = 50;

impl Context {
    pub fn new(device: Device, seed: u32, quick: bool, epochs: Option<usize>, out: PathBuf) -> Self {
        Self {
            device,
            seed,
            quick,
            epochs,
            out,
            plots: Vec::new(),
            draw_plots: true,
            data: None,
            deep_rnn_dense: None,
        }
    }

    fn series_count(&self) -> (usize, Split) {
        if self.quick {
            (1_000, Split::Fractions { train: 0.7, valid: 0.2 })
        } else {
            (10_000, Split::LECTURE)
        }
    }

    pub fn data(&mut self) -> Result<&Data, ExperimentError> {
        if self.data.is_none() {
            let (n, split) = self.series_count();
            let build = |ahead: usize, spec: WindowSpec| -> Result<(Dataset, Dataset), ExperimentError> {
                // Each lecture cell reseeds: np.random.seed(42); generate_time_series(10000, n_steps + ahead)
                let series = generate_time_series(&mut NumpyRandom::new(self.seed), n, N_STEPS + ahead)?;
                let parts = series.windows(spec).and_then(|w| w.split(split))?;
                Ok((
                    Dataset::from_windows(&parts.train)?,
                    Dataset::from_windows(&parts.valid)?,
                ))
            };
            self.data = Some(Data {
                one_step: build(1, WindowSpec::vector(N_STEPS, 1))?,
                ten_ahead: build(10, WindowSpec::vector(N_STEPS, 10))?,
                seq2seq: build(10, WindowSpec::sequence(N_STEPS, 10))?,
            });
        }
        Ok(self.data.as_ref().expect("built above"))
    }

    /// Switches the run to another seed: the data (drawn from the seed, as the lecture's
    /// `np.random.seed`) and the models trained for later experiments are built anew.
    pub fn set_seed(&mut self, seed: u32) {
        if seed != self.seed {
            self.seed = seed;
            self.data = None;
            self.deep_rnn_dense = None;
        }
    }

    /// Seeds the generators of initial weights (the same on every backend) and of the device
    /// (dropout) from the run's seed.
    pub fn reseed(&self) {
        rnnlab_layers::seed(&self.device, u64::from(self.seed));
    }

    /// Writes a trained model to `<out>/models/<name>.keras` (the first seed's, as the plots),
    /// a file Keras 3 and `rnnlab_keras::load_model` both open.
    fn save_model(&self, name: &str, model: &Sequential) -> Result<(), ExperimentError> {
        if !self.draw_plots {
            return Ok(());
        }
        let path = self.out.join("models").join(format!("{name}.keras"));
        rnnlab_keras::save_model(model, &path)?;
        Ok(())
    }

    /// Renders `panels` to `<out>/<file>` and remembers it for the report.
    fn plot(&mut self, file: &str, caption: &str, panels: &[Panel], width: u32) -> Result<(), ExperimentError> {
        if !self.draw_plots {
            return Ok(());
        }
        render(&self.out.join(file), panels, width, 360)?;
        self.plots.push((file.to_string(), caption.to_string()));
        Ok(())
    }

    fn epochs(&self, default: usize) -> usize {
        self.epochs.unwrap_or(if self.quick { 2 } else { default })
    }

    fn ad(&self) -> Device {
        self.device.clone().autodiff()
    }
}

/// Trains `model` on `(train, valid)` and records the validation figures.
fn train_record(
    ctx: &mut Context,
    name: &str,
    model: Sequential,
    data: &(Dataset, Dataset),
    lr: f64,
    metrics: Vec<Metric>,
    bands: Vec<Band>,
) -> Result<(Record, Sequential), ExperimentError> {
    let params = model.param_count();
    let cfg = FitConfig::new(ctx.epochs(20))
        .with_optimizer(OptimizerConfig::adam(lr))
        .with_metrics(metrics.clone())
        .with_seed(u64::from(ctx.seed));
    let (model, history) = fit(model, &data.0, Some(&data.1), &cfg)?;
    // fit already evaluated the final model on the validation data: read it from the history.
    let val_mse = *history
        .val_loss
        .last()
        .ok_or_else(|| ExperimentError::Usage("no epoch ran: --epochs must be at least 1".into()))?;
    let last_step = history
        .val_metrics
        .get("last_time_step_mse")
        .and_then(|v| v.last().copied());
    let epochs = |v: &[f64]| {
        v.iter()
            .enumerate()
            .map(|(i, &l)| ((i + 1) as f64, l))
            .collect::<Vec<_>>()
    };
    let curve = Panel {
        title: format!("{name}: learning curves"),
        x_label: "epoch".into(),
        y_label: "MSE".into(),
        lines: vec![
            Line::new("loss", BLUE, epochs(&history.loss)),
            Line::new("val_loss", ORANGE, epochs(&history.val_loss)),
        ],
    };
    ctx.plot(
        &format!("learning_curve_{name}.png"),
        &format!("{name}: loss and val_loss per epoch"),
        &[curve],
        640,
    )?;
    ctx.save_model(name, &model)?;
    let record = Record::trained(name, val_mse, last_step, params, history, bands);
    Ok((record, model))
}

/// The float inputs and targets of a series data set.
fn floats(data: &Dataset) -> Result<(&[f32], &[f32]), ExperimentError> {
    match (data.features().floats(), data.targets().floats()) {
        (Some(x), Some(y)) => Ok((x, y)),
        _ => Err(ExperimentError::Data("the series data sets hold floats")),
    }
}

fn naive(ctx: &mut Context) -> Result<Record, ExperimentError> {
    let (n, split) = ctx.series_count();
    let seed = ctx.seed;
    let mse = |ahead: usize| -> Result<f64, ExperimentError> {
        let series = generate_time_series(&mut NumpyRandom::new(seed), n, N_STEPS + ahead)?;
        let parts = series
            .windows(WindowSpec::vector(N_STEPS, ahead))
            .and_then(|w| w.split(split));
        Ok(parts.and_then(|p| naive_mse(&p.valid)).map(f64::from)?)
    };
    let one = mse(1)?;
    let ten = mse(10)?;
    // The lecture's first figure: three validation series and the value to predict.
    let valid = ctx.data()?.one_step.1.clone();
    let (x, y) = floats(&valid)?;
    let panels: Vec<Panel> = (0..3)
        .map(|i| Panel {
            title: format!("validation series {i}"),
            x_label: "t".into(),
            y_label: "x(t)".into(),
            lines: vec![
                Line::new("x(t)", BLUE, steps(&x[i * N_STEPS..(i + 1) * N_STEPS], 0)),
                Line::new("target", GREEN, vec![(N_STEPS as f64, f64::from(y[i]))]).markers(),
            ],
        })
        .collect();
    ctx.plot(
        "series.png",
        "Three validation series (seed 42) and the next value to predict",
        &panels,
        1200,
    )?;
    let mut r = Record::untrained(
        "naive",
        Some(one),
        vec![Band::new("val_mse", Some(0.020211367), Some(0.020211367)).exact()],
    );
    r.extra.insert("val_mse_10_ahead".into(), serde_json::json!(ten));
    r.extra
        .insert("lecture_val_mse_10_ahead".into(), serde_json::json!(0.25697407));
    Ok(r)
}

/// `(t0 + i, v[i])` for a plotted series.
fn steps(v: &[f32], t0: usize) -> Vec<(f64, f64)> {
    v.iter()
        .enumerate()
        .map(|(i, &x)| ((t0 + i) as f64, f64::from(x)))
        .collect()
}

/// A model for the lecture's series input (`input_shape=[None, 1]`).
fn series_model(
    ctx: &Context,
    layers: impl FnOnce(SequentialBuilder) -> SequentialBuilder,
) -> Result<Sequential, ExperimentError> {
    Ok(layers(Sequential::builder(Shape::sequence(1))).build(&ctx.ad())?)
}

/// `SimpleRNN(units, return_sequences=…)`.
fn srnn(units: usize, return_sequences: bool) -> SimpleRnnConfig {
    SimpleRnnConfig::new(units).with_return_sequences(return_sequences)
}

fn linear(ctx: &mut Context) -> Result<Record, ExperimentError> {
    // keras.models.Sequential([Flatten(input_shape=[50, 1]), Dense(1)])
    let model = Sequential::builder(Shape::sequence_of(N_STEPS, 1))
        .add(FlattenConfig)
        .add(DenseConfig::new(1))
        .build(&ctx.ad())?;
    let data = &ctx.data()?.one_step.clone();
    let bands = vec![Band::new("val_mse", Some(0.0042), Some(0.0038))];
    Ok(train_record(ctx, "linear", model, data, 0.001, vec![], bands)?.0)
}

fn simple_rnn(ctx: &mut Context) -> Result<Record, ExperimentError> {
    let model = series_model(ctx, |m| m.add(srnn(1, false)))?;
    let data = &ctx.data()?.one_step.clone();
    let bands = vec![Band::new("val_mse", Some(0.0141), Some(0.0132))];
    Ok(train_record(ctx, "simple-rnn", model, data, 0.001, vec![], bands)?.0)
}

fn deep_rnn(ctx: &mut Context) -> Result<Record, ExperimentError> {
    let model = series_model(ctx, |m| m.add(srnn(20, true)).add(srnn(20, true)).add(srnn(1, false)))?;
    let data = &ctx.data()?.one_step.clone();
    let bands = vec![Band::new("val_mse", Some(0.0030), Some(0.0030))];
    Ok(train_record(ctx, "deep-rnn", model, data, 0.005, vec![], bands)?.0)
}

fn train_deep_rnn_dense(ctx: &mut Context) -> Result<(Record, Sequential), ExperimentError> {
    let model = series_model(ctx, |m| {
        m.add(srnn(20, true)).add(srnn(20, false)).add(DenseConfig::new(1))
    })?;
    let data = &ctx.data()?.one_step.clone();
    let bands = vec![Band::new("val_mse", Some(0.0036), Some(0.0026))];
    train_record(ctx, "deep-rnn-dense", model, data, 0.005, vec![], bands)
}

fn deep_rnn_dense(ctx: &mut Context) -> Result<Record, ExperimentError> {
    let (record, model) = train_deep_rnn_dense(ctx)?;
    let valid = ctx.data()?.one_step.1.clone();
    let first = valid.head(1);
    let pred = predict(&model, &first, 1)?;
    let (x, y) = floats(&first)?;
    let panel = Panel {
        title: "deep-rnn-dense: one step ahead".into(),
        x_label: "t".into(),
        y_label: "x(t)".into(),
        lines: vec![
            Line::new("x(t)", BLUE, steps(&x[..N_STEPS], 0)),
            Line::new("actual", GREEN, vec![(N_STEPS as f64, f64::from(y[0]))]).markers(),
            Line::new("forecast", RED, vec![(N_STEPS as f64, f64::from(pred.data()[0]))]).markers(),
        ],
    };
    ctx.plot(
        "one_step_forecast.png",
        "One-step forecast of deep-rnn-dense vs the actual value",
        &[panel],
        640,
    )?;
    ctx.deep_rnn_dense = Some(model);
    Ok(record)
}

fn forecast_iterative(ctx: &mut Context) -> Result<Record, ExperimentError> {
    let model = match ctx.deep_rnn_dense.take() {
        Some(m) => m,
        None => {
            println!("(training deep-rnn-dense first)");
            train_deep_rnn_dense(ctx)?.1
        }
    };
    let model = model.valid();
    let (_, valid) = ctx.data()?.ten_ahead.clone();
    let (valid_x, valid_y) = floats(&valid)?;
    let (n, t, f) = match valid.x_dims()[..] {
        [n, t, f] => (n, t, f),
        _ => return Err(ExperimentError::Data("the series windows are [n, time, features]")),
    };
    // X = X_valid; ten times: predict one step, append it (the sequence grows, as in the lecture).
    let mut x = valid_x.to_vec();
    let mut len = t;
    for _ in 0..10 {
        let step = Dataset::new(x.clone(), [n, len, f], vec![0.0; n], 1)?;
        let pred = predict(&model, &step, 32)?;
        let mut grown = Vec::with_capacity(n * (len + 1));
        for (row, p) in x.chunks(len).zip(pred.data()) {
            grown.extend_from_slice(row);
            grown.push(*p);
        }
        x = grown;
        len += 1;
    }
    let mut sum = 0.0f64;
    for (row, target) in x.chunks(len).zip(valid_y.chunks(10)) {
        for (p, y) in row[t..].iter().zip(target) {
            sum += f64::from((p - y) * (p - y));
        }
    }
    let mse = sum / (n * 10) as f64;
    let panel = Panel {
        title: "forecast-iterative: 10 steps ahead".into(),
        x_label: "t".into(),
        y_label: "x(t)".into(),
        lines: vec![
            Line::new("x(t)", BLUE, steps(&x[..t], 0)),
            Line::new("actual", GREEN, steps(&valid_y[..10], t)).markers(),
            Line::new("forecast", RED, steps(&x[t..len], t)).markers(),
        ],
    };
    ctx.plot(
        "forecast_ahead.png",
        "Ten steps ahead, one step at a time (forecast_ahead_plot)",
        &[panel],
        640,
    )?;
    ctx.deep_rnn_dense = Some(model);
    Ok(Record::untrained(
        "forecast-iterative",
        Some(mse),
        vec![Band::new("val_mse", Some(0.0275), Some(0.0216))],
    ))
}

fn seq2vec(ctx: &mut Context) -> Result<Record, ExperimentError> {
    let model = series_model(ctx, |m| {
        m.add(srnn(20, true)).add(srnn(20, false)).add(DenseConfig::new(10))
    })?;
    let data = &ctx.data()?.ten_ahead.clone();
    let bands = vec![Band::new("val_mse", Some(0.0083), Some(0.0092))];
    Ok(train_record(ctx, "seq2vec", model, data, 0.001, vec![], bands)?.0)
}

#[derive(Clone, Copy)]
enum Recurrent {
    Simple,
    SimpleBatchNorm,
    LayerNorm,
    Lstm,
    Gru,
}

fn seq2seq(ctx: &mut Context, name: &str, kind: Recurrent) -> Result<Record, ExperimentError> {
    // keras.models.Sequential([3 × recurrent(20, return_sequences=True), TimeDistributed(Dense(10))])
    let mut model = Sequential::builder(Shape::sequence(1));
    for _ in 0..3 {
        model = match kind {
            Recurrent::Simple => model.add(srnn(20, true)),
            Recurrent::SimpleBatchNorm => model.add(srnn(20, true)).add(BatchNormalizationConfig::new()),
            Recurrent::LayerNorm => {
                model.add(RnnConfig::new(LayerNormSimpleRnnCellConfig::new(20)).with_return_sequences(true))
            }
            Recurrent::Lstm => model.add(LstmConfig::new(20).with_return_sequences(true)),
            Recurrent::Gru => model.add(GruConfig::new(20).with_return_sequences(true)),
        };
    }
    let model = model
        .add(TimeDistributedConfig::new(DenseConfig::new(10)))
        .build(&ctx.ad())?;
    let bands = match kind {
        Recurrent::Simple => vec![
            Band::new("val_mse", Some(0.0169), Some(0.0170)),
            Band::range("val_last_time_step_mse", 0.008, 0.010, Some(0.0063)),
        ],
        Recurrent::SimpleBatchNorm => vec![
            Band::new("val_mse", Some(0.0183), Some(0.0250)),
            Band::new("val_last_time_step_mse", None, Some(0.0125)),
        ],
        Recurrent::LayerNorm => vec![
            Band::new("val_mse", None, Some(0.0244)),
            Band::new("val_last_time_step_mse", Some(0.012), Some(0.0113)),
        ],
        Recurrent::Lstm => vec![
            Band::new("val_mse", None, Some(0.0209)),
            Band::new("val_last_time_step_mse", Some(0.0086), Some(0.0069)),
        ],
        Recurrent::Gru => vec![
            Band::new("val_mse", None, Some(0.0195)),
            Band::new("val_last_time_step_mse", Some(0.0103), Some(0.0064)),
        ],
    };
    let data = &ctx.data()?.seq2seq.clone();
    let metrics = vec![Metric::LastTimeStepMse { horizon: 10 }];
    // As in the lecture (and HOML): Adam(0.01) for the plain SimpleRNN seq2seq, `optimizer="adam"`
    // (0.001) for the normalized, LSTM and GRU variants. The Keras-here figures were measured so;
    // with 0.01 these four land far below them (LSTM last-step 0.0023 vs Keras 0.0069).
    let lr = if matches!(kind, Recurrent::Simple) { 0.01 } else { 0.001 };
    let (record, model) = train_record(ctx, name, model, data, lr, metrics, bands)?;
    // The forecast made at the last input step, against the next ten values.
    let first = data.1.head(1);
    let pred = predict(&model, &first, 1)?;
    let pred = pred.data();
    let (x, y) = floats(&first)?;
    let actual = &y[first.y_width() - 10..];
    let panel = Panel {
        title: format!("{name}: forecast at the last time step"),
        x_label: "t".into(),
        y_label: "x(t)".into(),
        lines: vec![
            Line::new("x(t)", BLUE, steps(&x[..N_STEPS], 0)),
            Line::new("actual", GREEN, steps(actual, N_STEPS)).markers(),
            Line::new("forecast", RED, steps(&pred[pred.len() - 10..], N_STEPS)).markers(),
        ],
    };
    ctx.plot(
        &format!("last_step_{name}.png"),
        &format!("{name}: ten-step forecast at the last input step"),
        &[panel],
        640,
    )?;
    Ok(record)
}

fn text_pipeline(ctx: &mut Context) -> Result<Record, ExperimentError> {
    let sentences = [
        "나는 당신을 사랑합니다",
        "나는 컴퓨터를 가지고 노는 것이 가장 좋습니다",
        "나는 인공지능을 좋아합니다",
        "나는 컴퓨터를 가지고 하는 수학을 좋아합니다",
        "나는 뉴질랜드를 좋아합니다",
        "나는 혼자 사는 것이 편합니다",
    ];
    let mut tok = Tokenizer::new(TokenizerConfig::default().oov_token("<없는 단어>"));
    tok.fit_on_texts(sentences)?;
    let seqs = tok.texts_to_sequences(sentences)?;
    let padded = pad_sequences(&seqs, &PadOptions::default().maxlen(5).truncating(Side::Post))?;
    let expected_row1 = [2u32, 4, 5, 9, 6];
    // The lecture's summaries: Embedding(100, 3); LSTM(32); Bidirectional(LSTM(32)); LSTM(32) on 32.
    let device = ctx.device.clone();
    let tokens = Shape::tokens(Some(5));
    let embedded = Shape::sequence(3);
    let counts = [
        EmbeddingConfig::new(100, 3).init(&tokens, &device)?.param_count(),
        LstmConfig::new(32).init(&embedded, &device)?.param_count(),
        BidirectionalConfig::new(LstmConfig::new(32))
            .init(&embedded, &device)?
            .param_count(),
        LstmConfig::new(32).init(&Shape::sequence(32), &device)?.param_count(),
    ];
    let expected = [300, 4608, 9216, 8320];
    println!("word_index: {:?}", tok.word_index().collect::<Vec<_>>());
    println!("padded (maxlen=5, truncating='post') row 1: {:?}", padded.row(1));
    println!("param counts {counts:?} (Keras: {expected:?})");
    let ok = counts == expected && padded.row(1) == expected_row1 && tok.word_index().len() == 18;
    let mut r = Record::untrained("text-pipeline", None, vec![]);
    r.params = counts.iter().sum();
    r.extra.insert("param_counts".into(), serde_json::json!(counts));
    r.extra.insert("keras_param_counts".into(), serde_json::json!(expected));
    r.extra.insert(
        "word_index".into(),
        serde_json::json!(tok.word_index().collect::<Vec<_>>()),
    );
    r.extra.insert(
        "padded".into(),
        serde_json::json!(padded.data.chunks(5).collect::<Vec<_>>()),
    );
    r.extra.insert("matches_keras".into(), serde_json::json!(ok));
    if !ok {
        return Err(ExperimentError::Mismatch {
            experiment: "text-pipeline",
            why: format!("differs from Keras: param counts {counts:?}, Keras {expected:?}"),
        });
    }
    Ok(r)
}
