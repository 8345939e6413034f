//! `cargo xtask bench infer`: serving speed of two lecture models on 50-step windows of one
//! feature, with random weights (seed 42):
//!
//! - `deep-rnn-dense`: SimpleRNN(20, return_sequences) · SimpleRNN(20) · Dense(1);
//! - `seq2seq-lstm`: 3 × LSTM(20, return_sequences) · TimeDistributed(Dense(10)).
//!
//! For each: the batch-1 latency of predicting from a window (`rnnlab`: [`Predictor::predict`];
//! `sequential`: `Sequential::forward1` on the plain flex device, for reference), the latency of
//! the one-step update ([`Predictor::step`]), and samples per second at batch 1024; with
//! `--python PY`, the same figures of PyTorch (1 thread at batch 1, every core at batch 1024,
//! `inference_mode`) and, when that interpreter has `onnxruntime`, of the same model exported to
//! ONNX, through `xtask/bench_infer.py`. Figures are medians in this one run. `--json` prints
//! `{"models": [{"name", "window_latency_us": {"rnnlab", "sequential", "pytorch", "onnxruntime"},
//! "step_latency_us": {"rnnlab"}, "batch1024_samples_per_s": {…}}], "machine": {"steal",
//! "other_processes"}}` (how quiet the machine was, as in `bench rnn`).

use std::process::ExitCode;
use std::time::Instant;

use burn::tensor::{Tensor, TensorData};
use rnnlab_layers::{
    Backend, DenseConfig, LstmConfig, Predictor, Sequential, Shape, SimpleRnnConfig, TimeDistributedConfig,
};
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

const USAGE: &str = "usage: bench_infer [--quick] [--json] [--python PY]";
const TIME: usize = 50;
const BIG: usize = 1024;

fn model(name: &str, device: &burn::tensor::Device) -> Result<Sequential, ExperimentError> {
    rnnlab_layers::seed(device, 42);
    let b = Sequential::builder(Shape::sequence(1));
    let m = match name {
        "deep-rnn-dense" => b
            .add(SimpleRnnConfig::new(20).with_return_sequences(true))
            .add(SimpleRnnConfig::new(20))
            .add(DenseConfig::new(1)),
        _ => b
            .add(LstmConfig::new(20).with_return_sequences(true))
            .add(LstmConfig::new(20).with_return_sequences(true))
            .add(LstmConfig::new(20).with_return_sequences(true))
            .add(TimeDistributedConfig::new(DenseConfig::new(10))),
    };
    Ok(m.build(device)?)
}

/// Median seconds per call of `f`, timing `reps` calls `rounds` times.
fn median_seconds(rounds: usize, reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn window(batch: usize) -> Vec<f32> {
    (0..batch * TIME)
        .map(|i| ((i % 97) as f32 * 0.37).sin() * 0.5)
        .collect()
}

fn bench_rnnlab(name: &str, quick: bool) -> Result<Value, ExperimentError> {
    let device = Backend::Flex.device()?;
    let model = model(name, &device)?;
    let predictor = Predictor::new(&model)?;
    let (rounds, reps) = if quick { (3, 20) } else { (15, 400) };
    let x1 = window(1);
    // The engine must give the model's numbers before its speed counts.
    let reference = model
        .forward1(Tensor::<3>::from_data(TensorData::new(x1.clone(), [1, TIME, 1]), &device).into())?
        .to_vec()?;
    let mine = predictor.predict(&x1, 1, TIME)?;
    let worst = reference
        .iter()
        .zip(&mine)
        .map(|(a, b)| (*a as f32 - b).abs())
        .fold(0.0f32, f32::max);
    if worst > 1e-4 {
        return Err(ExperimentError::Mismatch {
            experiment: "bench infer",
            why: format!("{name}: the predictor differs from Sequential::forward by {worst}"),
        });
    }
    let window_us = 1e6
        * median_seconds(rounds, reps, || {
            std::hint::black_box(predictor.predict(std::hint::black_box(&x1), 1, TIME).ok());
        });
    let sequential_us = 1e6
        * median_seconds(rounds, reps / 10 + 1, || {
            let x = Tensor::<3>::from_data(TensorData::new(x1.clone(), [1, TIME, 1]), &device);
            std::hint::black_box(model.forward1(x.into()).ok().map(|y| y.to_vec()));
        });
    let mut state = predictor.state(1);
    let step_us = 1e6
        * median_seconds(rounds, reps * 10, || {
            std::hint::black_box(predictor.step(&mut state, std::hint::black_box(&[0.25])).ok());
        });
    let big = window(BIG);
    let big_rounds = if quick { 3 } else { 9 };
    let per_batch = median_seconds(big_rounds, 1, || {
        std::hint::black_box(predictor.predict(&big, BIG, TIME).ok());
    });
    let per_batch_sequential = median_seconds(big_rounds.min(5), 1, || {
        let x = Tensor::<3>::from_data(TensorData::new(big.clone(), [BIG, TIME, 1]), &device);
        std::hint::black_box(model.forward1(x.into()).ok().map(|y| y.to_vec()));
    });
    Ok(json!({
        "window_latency_us": {"rnnlab": window_us, "sequential": sequential_us},
        "step_latency_us": {"rnnlab": step_us},
        "batch1024_samples_per_s": {"rnnlab": BIG as f64 / per_batch, "sequential": BIG as f64 / per_batch_sequential},
    }))
}

/// Runs `xtask/bench_infer.py`; its JSON maps model -> figure -> {pytorch, onnxruntime}.
fn bench_python(python: &str, quick: bool) -> Result<Value, ExperimentError> {
    let args: Vec<String> = if quick { vec!["--quick".into()] } else { Vec::new() };
    python_script::run_script(python, "bench_infer.py", &args, "bench infer")
}

fn run() -> Result<(), ExperimentError> {
    let load = machine_load::LoadProbe::start();
    let (mut quick, mut as_json, mut python) = (false, false, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--json" => as_json = true,
            "--python" => {
                python = Some(
                    args.next()
                        .ok_or_else(|| ExperimentError::Usage(format!("--python needs a value\n{USAGE}")))?,
                )
            }
            other => return Err(ExperimentError::Usage(format!("unknown argument {other:?}\n{USAGE}"))),
        }
    }
    // Python first: its threads must not compete with ours.
    let others = match &python {
        Some(py) => Some(bench_python(py, quick)?),
        None => None,
    };
    let mut models = Vec::new();
    for name in ["deep-rnn-dense", "seq2seq-lstm"] {
        let mut figures = bench_rnnlab(name, quick)?;
        if let Some(o) = others.as_ref().and_then(|o| o.get(name)) {
            for key in ["window_latency_us", "batch1024_samples_per_s"] {
                if let (Some(dst), Some(src)) = (figures[key].as_object_mut(), o.get(key).and_then(Value::as_object)) {
                    dst.extend(src.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        figures["name"] = json!(name);
        models.push(figures);
    }
    let mut report = json!({
        "models": models,
        "versions": others.as_ref().and_then(|o| o.get("versions")).cloned().unwrap_or(Value::Null),
    });
    machine_load::record(&load, "bench_infer", &mut report);
    if as_json {
        println!("{report:#}");
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(report: &Value) {
    for m in report["models"].as_array().into_iter().flatten() {
        println!("{}", m["name"].as_str().unwrap_or("?"));
        for (key, unit, higher_better) in [
            ("window_latency_us", "µs, batch 1, 50 steps", false),
            ("step_latency_us", "µs, one new step", false),
            ("batch1024_samples_per_s", "samples/s, batch 1024", true),
        ] {
            let figures = m[key].as_object().cloned().unwrap_or_default();
            let mine = figures.get("rnnlab").and_then(Value::as_f64);
            let cells: Vec<String> = figures
                .iter()
                .filter_map(|(k, v)| v.as_f64().map(|v| (k, v)))
                .map(|(k, v)| {
                    let ratio = match (mine, k.as_str()) {
                        (Some(r), other) if other != "rnnlab" => {
                            format!(" ({:.1}x)", if higher_better { r / v } else { v / r })
                        }
                        _ => String::new(),
                    };
                    format!("{k} {v:.1}{ratio}")
                })
                .collect();
            println!("  {key:<24} {unit:<24} {}", cells.join(", "));
        }
    }
}

fn main() -> ExitCode {
    // Large buffers are reused instead of mapped fresh at every step (see its docs).
    rnnlab_layers::tune_allocator_for_training();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_infer: {e}");
            ExitCode::FAILURE
        }
    }
}
