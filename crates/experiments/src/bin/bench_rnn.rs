//! `cargo xtask bench rnn`: seconds per training epoch of the lecture's deep RNN
//! (3 × SimpleRNN, lr 0.005) and of its seq2seq models (3 recurrent layers of 20 units ·
//! TimeDistributed(Dense(10)), lr 0.01: `seq2seq-lstm`, `seq2seq-gru` and `seq2seq-layernorm`, the
//! lecture's layer-normalized SimpleRNN cell), on the lecture's data (seed 42, 7000 training
//! series, batch 32, Adam, MSE), for:
//!
//! - `fused`: rnnlab with [`ScanMode::Fused`] (one op per layer, hand-written backward);
//! - `generic`: rnnlab with [`ScanMode::Generic`] (per-step tensor ops, Burn autodiff);
//! - `burn_nn`: Burn's own `nn::Rnn` / `nn::Lstm` (+ `nn::Linear`) in a plain training loop
//!   (`null` for the GRU and layer-normalized models, which Burn's layers do not express);
//! - `pytorch`, `keras`: the same models through `--python PY` running `xtask/bench_rnn.py`,
//!   `null` when that interpreter lacks the package.
//!
//! Every figure is the median over `--epochs` (at least 3) epochs measured in this one run.
//! `--json` prints `{"models": [{"name", "seconds_per_epoch": {...}}], "machine": {"steal",
//! "other_processes"}}`: `machine` is how quiet the machine was during the run (shares of CPU
//! time; `null` without `/proc` or for a run too short to judge), and a warning goes to stderr
//! when it was not.

use std::process::ExitCode;
use std::time::Instant;

use burn::module::Module;
use burn::nn::{
    Linear, LinearConfig, Lstm as BurnLstm, LstmConfig as BurnLstmConfig, Rnn as BurnRnn, RnnConfig as BurnRnnConfig,
};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use rnnlab_layers::{
    Backend, DenseConfig, GruConfig, LayerNormSimpleRnnCellConfig, LstmConfig, RnnConfig, ScanMode, Sequential, Shape,
    SimpleRnnConfig, TimeDistributedConfig,
};
use rnnlab_series::{NumpyRandom, Split, WindowSpec, generate_time_series};
use rnnlab_train::{Dataset, FitConfig, OptimizerConfig, Verbosity, fit};
use serde_json::{Value, json};

// The experiments binary's error type; this tool meets only some of its variants.
#[allow(dead_code)]
#[path = "../error.rs"]
mod error;

use error::ExperimentError;

#[path = "../machine_load.rs"]
mod machine_load;

#[path = "../python_script.rs"]
mod python_script;

const USAGE: &str = "usage: bench_rnn [--epochs N (>= 3, default 3)] [--quick] [--json] [--python PY] [--only deep-rnn|seq2seq-lstm|seq2seq-gru|seq2seq-layernorm] [--skip burn_nn,generic,...]";

struct Args {
    epochs: usize,
    quick: bool,
    json: bool,
    python: Option<String>,
    only: Option<String>,
    skip: Vec<String>,
}

fn parse_args() -> Result<Args, ExperimentError> {
    let usage = |message: String| ExperimentError::Usage(format!("{message}\n{USAGE}"));
    let mut a = Args {
        epochs: 3,
        quick: false,
        json: false,
        python: None,
        only: None,
        skip: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| usage(format!("{flag} needs a value")));
        match flag.as_str() {
            "--epochs" => a.epochs = value()?.parse().map_err(|e| usage(format!("--epochs: {e}")))?,
            "--quick" => a.quick = true,
            "--json" => a.json = true,
            "--python" => a.python = Some(value()?),
            "--only" => a.only = Some(value()?),
            "--skip" => a.skip = value()?.split(',').map(str::to_string).collect(),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(usage(format!("unknown argument {other:?}"))),
        }
    }
    if let Some(only) = &a.only
        && !MODELS.iter().any(|m| m.name() == only)
    {
        return Err(usage(format!("--only: unknown model {only:?}")));
    }
    if a.epochs < 3 && !a.quick {
        return Err(usage("--epochs must be at least 3 (the figures are medians)".into()));
    }
    Ok(a)
}

#[derive(Clone, Copy, PartialEq)]
enum Model {
    DeepRnn,
    Seq2SeqLstm,
    Seq2SeqGru,
    Seq2SeqLayerNorm,
}

const MODELS: [Model; 4] = [
    Model::DeepRnn,
    Model::Seq2SeqLstm,
    Model::Seq2SeqGru,
    Model::Seq2SeqLayerNorm,
];

impl Model {
    fn name(self) -> &'static str {
        match self {
            Model::DeepRnn => "deep-rnn",
            Model::Seq2SeqLstm => "seq2seq-lstm",
            Model::Seq2SeqGru => "seq2seq-gru",
            Model::Seq2SeqLayerNorm => "seq2seq-layernorm",
        }
    }
    fn learning_rate(self) -> f64 {
        match self {
            Model::DeepRnn => 0.005,
            _ => 0.01,
        }
    }
}

fn data(model: Model, quick: bool) -> Result<Dataset, ExperimentError> {
    let (n, split) = if quick {
        (500, Split::Fractions { train: 0.7, valid: 0.2 })
    } else {
        (10_000, Split::LECTURE)
    };
    let (ahead, spec) = match model {
        Model::DeepRnn => (1, WindowSpec::vector(50, 1)),
        _ => (10, WindowSpec::sequence(50, 10)),
    };
    let series = generate_time_series(&mut NumpyRandom::new(42), n, 50 + ahead)?;
    let parts = series.windows(spec).and_then(|w| w.split(split))?;
    Ok(Dataset::from_windows(&parts.train)?)
}

fn rnnlab_model(model: Model, scan: ScanMode, d: &Device) -> Result<Sequential, ExperimentError> {
    let builder = Sequential::builder(Shape::sequence(1));
    let srnn = |units, rs| SimpleRnnConfig::new(units).with_return_sequences(rs).with_scan(scan);
    let lstm = || LstmConfig::new(20).with_return_sequences(true).with_scan(scan);
    let gru = || GruConfig::new(20).with_return_sequences(true).with_scan(scan);
    let layer_norm = || {
        RnnConfig::new(LayerNormSimpleRnnCellConfig::new(20))
            .with_return_sequences(true)
            .with_scan(scan)
    };
    let head = || TimeDistributedConfig::new(DenseConfig::new(10));
    let model = match model {
        Model::DeepRnn => builder.add(srnn(20, true)).add(srnn(20, true)).add(srnn(1, false)),
        Model::Seq2SeqLstm => builder.add(lstm()).add(lstm()).add(lstm()).add(head()),
        Model::Seq2SeqGru => builder.add(gru()).add(gru()).add(gru()).add(head()),
        Model::Seq2SeqLayerNorm => builder
            .add(layer_norm())
            .add(layer_norm())
            .add(layer_norm())
            .add(head()),
    }
    .build(d)?;
    Ok(model)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// rnnlab through `fit` (no validation: only training is timed).
fn bench_rnnlab(model: Model, scan: ScanMode, train: &Dataset, epochs: usize) -> Result<f64, ExperimentError> {
    let d = Backend::Flex.device()?.autodiff();
    rnnlab_layers::seed(&d, 42);
    let m = rnnlab_model(model, scan, &d)?;
    let cfg = FitConfig::new(epochs)
        .with_optimizer(OptimizerConfig::adam(model.learning_rate()))
        .with_verbosity(Verbosity::Quiet);
    let (_, history) = fit(m, train, None, &cfg)?;
    Ok(median(history.seconds))
}

#[derive(Module, Debug)]
struct BurnDeepRnn {
    l1: BurnRnn,
    l2: BurnRnn,
    l3: BurnRnn,
}

#[derive(Module, Debug)]
struct BurnSeq2SeqLstm {
    l1: BurnLstm,
    l2: BurnLstm,
    l3: BurnLstm,
    out: Linear,
}

/// Batches of `[32, 50, 1]` inputs and their targets (`[32, w]` or `[32, 50, 10]`).
fn batches(train: &Dataset, model: Model, d: &Device) -> Vec<(Tensor<3>, Tensor<3>)> {
    let (dims, w) = (train.x_dims(), train.y_width());
    let (n, t, f) = (dims[0], dims[1], dims[2]);
    let (xs, ys) = (
        train.features().floats().unwrap_or_default(),
        train.targets().floats().unwrap_or_default(),
    );
    (0..n.div_ceil(32))
        .map(|i| {
            let (lo, hi) = (i * 32, ((i + 1) * 32).min(n));
            let x = TensorData::new(xs[lo * t * f..hi * t * f].to_vec(), [hi - lo, t, f]);
            let y_shape = match model {
                Model::DeepRnn => [hi - lo, 1, w],
                _ => [hi - lo, t, 10],
            };
            let y = TensorData::new(ys[lo * w..hi * w].to_vec(), y_shape);
            (Tensor::from_data(x, d), Tensor::from_data(y, d))
        })
        .collect()
}

/// Burn's own layers in a plain loop (Adam, MSE; a fixed batch order, like an unshuffled epoch);
/// `None` for the models Burn has no layers for (GRU's gate layout and the layer-normalized
/// cell are rnnlab's and Keras's only).
fn bench_burn_nn(model: Model, train: &Dataset, epochs: usize) -> Result<Option<f64>, ExperimentError> {
    let d = Backend::Flex.device()?.autodiff();
    rnnlab_layers::seed(&d, 42);
    let data = batches(train, model, &d);
    let lr = model.learning_rate();
    let mut seconds = Vec::new();
    match model {
        Model::DeepRnn => {
            let mut m = BurnDeepRnn {
                l1: BurnRnnConfig::new(1, 20, true).init(&d),
                l2: BurnRnnConfig::new(20, 20, true).init(&d),
                l3: BurnRnnConfig::new(20, 1, true).init(&d),
            };
            let mut opt = AdamConfig::new().with_epsilon(1e-7).init();
            for _ in 0..epochs {
                let start = Instant::now();
                for (x, y) in &data {
                    let (s1, _) = m.l1.forward(x.clone(), None);
                    let (s2, _) = m.l2.forward(s1, None);
                    let (_, st) = m.l3.forward(s2, None);
                    let [b, _, w] = y.dims();
                    let loss = (st.hidden - y.clone().reshape([b, w])).square().mean();
                    let grads = GradientsParams::from_grads(loss.backward(), &m);
                    m = opt.step(lr, m, grads);
                }
                seconds.push(start.elapsed().as_secs_f64());
            }
            std::hint::black_box(m);
        }
        Model::Seq2SeqLstm => {
            let mut m = BurnSeq2SeqLstm {
                l1: BurnLstmConfig::new(1, 20, true).init(&d),
                l2: BurnLstmConfig::new(20, 20, true).init(&d),
                l3: BurnLstmConfig::new(20, 20, true).init(&d),
                out: LinearConfig::new(20, 10).init(&d),
            };
            let mut opt = AdamConfig::new().with_epsilon(1e-7).init();
            for _ in 0..epochs {
                let start = Instant::now();
                for (x, y) in &data {
                    let (s1, _) = m.l1.forward(x.clone(), None);
                    let (s2, _) = m.l2.forward(s1, None);
                    let (s3, _) = m.l3.forward(s2, None);
                    let loss = (m.out.forward(s3) - y.clone()).square().mean();
                    let grads = GradientsParams::from_grads(loss.backward(), &m);
                    m = opt.step(lr, m, grads);
                }
                seconds.push(start.elapsed().as_secs_f64());
            }
            std::hint::black_box(m);
        }
        Model::Seq2SeqGru | Model::Seq2SeqLayerNorm => return Ok(None),
    }
    Ok(Some(median(seconds)))
}

/// Runs `xtask/bench_rnn.py` with `python`; its JSON maps model -> {pytorch, keras}.
fn bench_python(python: &str, epochs: usize, args: &Args) -> Result<Value, ExperimentError> {
    let mut script_args = vec!["--epochs".to_string(), epochs.to_string()];
    if args.quick {
        script_args.push("--quick".into());
    }
    // The script times only what is asked for (each model takes it tens of seconds).
    if let Some(only) = &args.only {
        script_args.extend(["--only".to_string(), only.clone()]);
    }
    let skipped: Vec<&str> = ["pytorch", "keras"]
        .into_iter()
        .filter(|k| args.skip.iter().any(|s| s == k))
        .collect();
    if !skipped.is_empty() {
        script_args.extend(["--skip".to_string(), skipped.join(",")]);
    }
    python_script::run_script(python, "bench_rnn.py", &script_args, "bench rnn")
}

fn run() -> Result<(), ExperimentError> {
    let load = machine_load::LoadProbe::start();
    let args = parse_args()?;
    let epochs = if args.quick { args.epochs.min(3) } else { args.epochs };
    let python = match &args.python {
        Some(py) => Some(bench_python(py, epochs, &args)?),
        None => None,
    };
    let mut models = Vec::new();
    for model in MODELS {
        if args.only.as_deref().is_some_and(|o| o != model.name()) {
            continue;
        }
        let train = data(model, args.quick)?;
        let mut figures = serde_json::Map::new();
        let skip = |k: &str| args.skip.iter().any(|s| s == k);
        let mut put =
            |key: &str, f: &dyn Fn() -> Result<Option<f64>, ExperimentError>| -> Result<(), ExperimentError> {
                let v = if skip(key) { Value::Null } else { json!(f()?) };
                if !args.json {
                    eprintln!("{:<18} {:<8} {}", model.name(), key, v);
                }
                figures.insert(key.to_string(), v);
                Ok(())
            };
        put("fused", &|| {
            bench_rnnlab(model, ScanMode::Fused, &train, epochs).map(Some)
        })?;
        put("generic", &|| {
            bench_rnnlab(model, ScanMode::Generic, &train, epochs).map(Some)
        })?;
        put("burn_nn", &|| bench_burn_nn(model, &train, epochs))?;
        for key in ["pytorch", "keras"] {
            let v = python
                .as_ref()
                .and_then(|p| p.get(model.name()))
                .and_then(|m| m.get(key))
                .cloned()
                .unwrap_or(Value::Null);
            figures.insert(key.to_string(), v);
        }
        models.push(json!({"name": model.name(), "epochs": epochs, "seconds_per_epoch": figures}));
    }
    let mut report = json!({ "backend": "flex", "models": models });
    machine_load::record(&load, "bench_rnn", &mut report);
    if args.json {
        println!("{report:#}");
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(report: &Value) {
    let keys = ["fused", "generic", "burn_nn", "pytorch", "keras"];
    println!("seconds per training epoch (median), flex backend, batch 32");
    println!("{:<18} {}", "model", keys.map(|k| format!("{k:>9}")).join(" "));
    for m in report["models"].as_array().into_iter().flatten() {
        let s = &m["seconds_per_epoch"];
        let cell = |k: &str| s[k].as_f64().map_or("-".to_string(), |v| format!("{v:.3}"));
        println!(
            "{:<18} {}",
            m["name"].as_str().unwrap_or("?"),
            keys.map(|k| format!("{:>9}", cell(k))).join(" ")
        );
        if let Some(fused) = s["fused"].as_f64() {
            let ratios: Vec<String> = keys[1..]
                .iter()
                .filter_map(|k| s[*k].as_f64().map(|v| format!("{:.1}x vs {k}", v / fused)))
                .collect();
            if !ratios.is_empty() {
                println!("{:<18} fused is {}", "", ratios.join(", "));
            }
        }
    }
}

fn main() -> ExitCode {
    // Large buffers are reused instead of mapped fresh at every step (see its docs).
    rnnlab_layers::tune_allocator_for_training();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_rnn: {e}");
            ExitCode::FAILURE
        }
    }
}
