//! `cargo xtask bench scale`: how training speed scales with the model. One recurrent layer
//! (SimpleRNN, LSTM or GRU) + Dense(1), Adam, MSE on random data, at the grid of
//! `batch × time × features × units` points below; milliseconds per training step (forward,
//! backward and the optimizer update) for rnnlab (the fused scan, through `fit`) and, with
//! `--python PY`, PyTorch (`nn.RNN`/`nn.LSTM`/`nn.GRU` + `nn.Linear`, through
//! `xtask/bench_scale.py`). Figures are medians over the epochs measured in this one run.
//! `--json` prints `{"points": [{"cell", "batch", "time", "features", "units",
//! "ms_per_step": {"rnnlab", "pytorch"}}], "machine": {"steal", "other_processes"}}` (how quiet
//! the machine was, as in `bench rnn`); `--quick` runs the smallest point with one step per
//! epoch (a smoke test).

use std::process::ExitCode;

use rnnlab_layers::{Backend, DenseConfig, GruConfig, LstmConfig, ScanMode, Sequential, Shape, SimpleRnnConfig};
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

const USAGE: &str =
    "usage: bench_scale [--quick] [--json] [--python PY] [--only simple-rnn|lstm|gru] [--point N (1-5)]";

/// `(batch, time, features, units)`: the lecture's sizes, then wider layers and longer batches.
const GRID: [(usize, usize, usize, usize); 5] = [
    (32, 50, 1, 20),
    (32, 50, 20, 20),
    (32, 50, 128, 128),
    (128, 100, 128, 128),
    (64, 50, 512, 512),
];

const CELLS: [&str; 3] = ["simple-rnn", "lstm", "gru"];

/// Epochs measured per point (the figure is their median) and the smoke run's size.
const EPOCHS: usize = 3;

struct Args {
    quick: bool,
    json: bool,
    python: Option<String>,
    /// One cell kind only (for profiling one kind).
    only: Option<String>,
    /// One grid point only (1-based).
    point: Option<usize>,
}

fn usage(why: String) -> ExperimentError {
    ExperimentError::Usage(format!("{why}\n{USAGE}"))
}

fn parse_args() -> Result<Args, ExperimentError> {
    let mut a = Args {
        quick: false,
        json: false,
        python: None,
        only: None,
        point: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--quick" => a.quick = true,
            "--json" => a.json = true,
            "--python" => a.python = Some(it.next().ok_or_else(|| usage("--python needs a value".into()))?),
            "--only" => match it.next() {
                Some(cell) if CELLS.contains(&cell.as_str()) => a.only = Some(cell),
                other => return Err(usage(format!("--only needs one of {CELLS:?}, got {other:?}"))),
            },
            "--point" => match it.next().and_then(|v| v.parse::<usize>().ok()) {
                Some(n) if (1..=GRID.len()).contains(&n) => a.point = Some(n),
                _ => return Err(usage(format!("--point needs a number from 1 to {}", GRID.len()))),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(usage(format!("unknown argument {other:?}"))),
        }
    }
    Ok(a)
}

/// Training steps per epoch: enough to dwarf the epoch's fixed costs, few at the big points
/// (a step of LSTM(512) on 64 × 50 takes a third of a second here).
fn steps_per_epoch(batch: usize, time: usize, features: usize, units: usize, quick: bool) -> usize {
    if quick {
        return 1;
    }
    let work = batch * time * (features + units) * units;
    (40_000_000 / work.max(1)).clamp(4, 40)
}

/// Milliseconds per training step of `cell` at one grid point.
fn bench_point(
    cell: &str,
    (batch, time, features, units): (usize, usize, usize, usize),
    quick: bool,
) -> Result<f64, ExperimentError> {
    let device = Backend::Flex.device()?.autodiff();
    rnnlab_layers::seed(&device, 42);
    let builder = Sequential::builder(Shape::sequence(features));
    let builder = match cell {
        "simple-rnn" => builder.add(SimpleRnnConfig::new(units).with_scan(ScanMode::Fused)),
        "lstm" => builder.add(LstmConfig::new(units).with_scan(ScanMode::Fused)),
        _ => builder.add(GruConfig::new(units).with_scan(ScanMode::Fused)),
    };
    let model = builder.add(DenseConfig::new(1)).build(&device)?;
    let steps = steps_per_epoch(batch, time, features, units, quick);
    let n = steps * batch;
    // Uniform values in [-1, 1) from a fixed integer hash: the same data on every machine.
    let value = |i: usize| ((i.wrapping_mul(2_654_435_761) % 2001) as f32 / 1000.0) - 1.0;
    let x: Vec<f32> = (0..n * time * features).map(value).collect();
    let y: Vec<f32> = (0..n).map(|i| value(i + 7) * 0.5).collect();
    let data = Dataset::new(x, [n, time, features], y, 1)?;
    let cfg = FitConfig::new(if quick { 1 } else { EPOCHS })
        .with_batch_size(batch)
        .with_optimizer(OptimizerConfig::adam(1e-3))
        .with_verbosity(Verbosity::Quiet);
    let (_, history) = fit(model, &data, None, &cfg)?;
    let mut seconds = history.seconds.clone();
    seconds.sort_by(f64::total_cmp);
    Ok(seconds[seconds.len() / 2] * 1000.0 / steps as f64)
}

fn run() -> Result<(), ExperimentError> {
    let load = machine_load::LoadProbe::start();
    let args = parse_args()?;
    let grid: &[(usize, usize, usize, usize)] = match (args.quick, args.point) {
        (true, _) => &GRID[..1],
        (false, Some(n)) => &GRID[n - 1..n],
        (false, None) => &GRID,
    };
    let python = match &args.python {
        Some(py) => {
            let mut script_args = Vec::new();
            if args.quick {
                script_args.push("--quick".to_string());
            }
            // PyTorch times only what rnnlab times.
            if let Some(only) = &args.only {
                script_args.extend(["--only".to_string(), only.clone()]);
            }
            if let (false, Some(n)) = (args.quick, args.point) {
                script_args.extend(["--point".to_string(), n.to_string()]);
            }
            Some(python_script::run_script(
                py,
                "bench_scale.py",
                &script_args,
                "bench scale",
            )?)
        }
        None => None,
    };
    let mut points = Vec::new();
    for &(batch, time, features, units) in grid {
        for cell in CELLS
            .into_iter()
            .filter(|c| args.only.as_deref().is_none_or(|o| o == *c))
        {
            let ms = bench_point(cell, (batch, time, features, units), args.quick)?;
            let pytorch = python
                .as_ref()
                .and_then(|p| p["points"].as_array())
                .and_then(|all| {
                    all.iter().find(|q| {
                        q["cell"] == cell
                            && q["batch"] == batch
                            && q["time"] == time
                            && q["features"] == features
                            && q["units"] == units
                    })
                })
                .map_or(Value::Null, |q| q["ms_per_step"].clone());
            if !args.json {
                let torch = pytorch.as_f64().map_or("-".to_string(), |v| format!("{v:.2} ms"));
                eprintln!(
                    "{cell:<11} {batch:>4} × {time:>3} × {features:>3} × {units:>3}  rnnlab {ms:9.2} ms  pytorch {torch}"
                );
            }
            points.push(json!({
                "cell": cell, "batch": batch, "time": time, "features": features, "units": units,
                "ms_per_step": {"rnnlab": ms, "pytorch": pytorch},
            }));
        }
    }
    let mut report = json!({ "points": points });
    if let Some(versions) = python.as_ref().map(|p| p["versions"].clone()) {
        report["versions"] = versions;
    }
    machine_load::record(&load, "bench_scale", &mut report);
    if args.json {
        println!("{report:#}");
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(report: &Value) {
    println!("ms per training step (median), one recurrent layer + Dense(1), Adam, flex backend");
    println!(
        "{:<11} {:>24} {:>10} {:>10} {:>16}",
        "cell", "batch×time×features×units", "rnnlab", "pytorch", "pytorch / rnnlab"
    );
    for p in report["points"].as_array().into_iter().flatten() {
        let size = format!("{} × {} × {} × {}", p["batch"], p["time"], p["features"], p["units"]);
        let ms = &p["ms_per_step"];
        let (r, t) = (ms["rnnlab"].as_f64(), ms["pytorch"].as_f64());
        let show = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
        let ratio = match (r, t) {
            (Some(r), Some(t)) if r > 0.0 => format!("{:.2}x", t / r),
            _ => "-".into(),
        };
        println!(
            "{:<11} {:>24} {:>10} {:>10} {:>16}",
            p["cell"].as_str().unwrap_or("?"),
            size,
            show(r),
            show(t),
            ratio
        );
    }
}

fn main() -> ExitCode {
    // Large buffers are reused instead of mapped fresh at every step (see its docs).
    rnnlab_layers::tune_allocator_for_training();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_scale: {e}");
            ExitCode::FAILURE
        }
    }
}
