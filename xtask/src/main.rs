//! `cargo xtask`: rnnlab's automation as a plain Rust binary (no dependencies).
//!
//! Every task that needs Burn runs a workspace binary in the release profile, so tests and
//! experiments share one optimized build of Burn.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const HELP: &str = "\
cargo xtask <task> [args]

Tasks:
  experiment all|<name>... [--backend flex|ndarray|wgpu|tch|tch-cpu|tch-cuda[:N]|cuda[:N]] [--fusion]
             [--epochs N] [--seed S] [--seeds N] [--jobs N] [--quick] [--out DIR]
        Rerun the lecture's experiments; results go to docs/results/<backend>/ (or DIR).
        --seeds N trains each experiment with seeds S, S+1, …, S+N-1 and reports the median, min
        and max of every figure (the band check applies to the median).
        --jobs N runs up to N experiments at once in single-threaded worker processes (default:
        one per core on CPU backends; the figures are the same with any N).
        --fusion builds Burn's kernel fusion in (wgpu; results go to docs/results/<backend>-fusion/).
  experiment --list
        List the experiments.
  parity [--fixtures DIR] [--backend ndarray] [--verbose]
        Run every golden fixture case under DIR (default tests/fixtures) and print
        `parity: N passed, M failed, K skipped`; exits non-zero on any failure. Layer cases run
        on flex, and also on ndarray with `--backend ndarray` (compiles the ndarray backend).
  bench rnn [--epochs N] [--json] [--python PY] [--quick] [--only MODEL] [--skip KEYS]
        Seconds per training epoch of the deep RNN and the LSTM, GRU and layer-normalized seq2seq
        models: fused scan, generic scan, Burn's nn::Rnn/nn::Lstm, and (with --python) PyTorch and Keras through
        xtask/bench_rnn.py; prints the ratios (--json: machine-readable). --only MODEL and
        --skip pytorch,keras apply to the Python side too.
  bench scale [--json] [--python PY] [--quick] [--only CELL] [--point N]
        Milliseconds per training step of one SimpleRNN, LSTM or GRU layer + Dense(1) on a grid
        of batch × time × features × units (the lecture's sizes up to 512 units) for rnnlab and,
        with --python, PyTorch through xtask/bench_scale.py; prints the ratios. --only and
        --point time one cell kind and one grid point (1-5), for profiling (PyTorch too).
  bench infer [--json] [--python PY] [--quick]
        Serving speed of deep-rnn-dense and seq2seq-lstm on 50-step windows: batch-1 latency of
        rnnlab's Predictor (and of Sequential::forward), its one-step update, samples/s at batch
        1024; with --python, PyTorch and (when installed) ONNX Runtime through xtask/bench_infer.py.
  help  Print this help.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    };
    let result = match task.as_str() {
        "experiment" | "experiments" => experiment(rest),
        "parity" => parity(rest),
        "bench" => bench(rest),
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown task {other:?}\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    // `cargo run` names the checkout being run at run time; the compile-time value can belong to
    // another checkout that shares the target directory (cargo reuses an up-to-date binary).
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(workspace_root());
    c
}

/// `cargo run --quiet --release -p <package> --bin <bin>` (arguments for it follow `--`).
fn release_bin(package: &str, bin: &str) -> Command {
    let mut c = cargo();
    c.args(["run", "--quiet", "--release", "-p", package, "--bin", bin]);
    c
}

/// Makes a user-given path absolute against the directory xtask was started from.
fn absolute(p: &str) -> Result<String, String> {
    let path = Path::new(p);
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_err(|e| e.to_string())?.join(path)
    };
    Ok(abs.to_string_lossy().into_owned())
}

fn run(mut cmd: Command) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("could not start cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("command failed ({status})"))
    }
}

fn parity(args: &[String]) -> Result<(), String> {
    let mut pass = Vec::new();
    let mut features = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--backend" => match it.next().map(String::as_str) {
                Some("flex") => {}
                Some("ndarray") => features.extend(["--features".to_string(), "ndarray".to_string()]),
                other => return Err(format!("parity: --backend takes flex or ndarray, got {other:?}")),
            },
            "--fixtures" => {
                let dir = it.next().ok_or("--fixtures needs a directory")?;
                pass.push("--fixtures".to_string());
                pass.push(absolute(dir)?);
            }
            "-v" | "--verbose" => pass.push(a.clone()),
            other => return Err(format!("parity: unknown argument {other:?}")),
        }
    }
    let mut cmd = release_bin("rnnlab-conformance", "parity");
    cmd.args(features).arg("--").args(pass);
    run(cmd).map_err(|_| "parity failed (see the lines above)".to_string())
}

fn bench(args: &[String]) -> Result<(), String> {
    match args.split_first() {
        Some((what, rest)) if ["rnn", "infer", "scale"].contains(&what.as_str()) => {
            let mut cmd = release_bin("rnnlab-experiments", &format!("bench_{what}"));
            cmd.arg("--").args(rest);
            run(cmd).map_err(|e| format!("bench {what}: {e}"))
        }
        _ => Err(format!("bench: expected `bench rnn|infer|scale [args]`\n\n{HELP}")),
    }
}

fn experiment(args: &[String]) -> Result<(), String> {
    let mut backend = "flex".to_string();
    let mut fusion = false;
    let mut pass = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--backend" => backend = it.next().ok_or("--backend needs a value")?.clone(),
            "--fusion" => fusion = true,
            "--out" => {
                pass.push(a.clone());
                pass.push(absolute(it.next().ok_or("--out needs a directory")?)?);
            }
            "--epochs" | "--seed" | "--seeds" | "--jobs" => {
                pass.push(a.clone());
                pass.push(it.next().ok_or(format!("{a} needs a value"))?.clone());
            }
            _ => pass.push(a.clone()),
        }
    }
    let mut cmd = cargo();
    cmd.args(["run", "--release", "-p", "rnnlab-experiments"]);
    // The cargo feature of a backend name: `tch-cpu`, `tch-cuda:1` → tch; `cuda:1` → cuda.
    let family = backend.split(':').next().unwrap_or_default();
    let feature = match family {
        "tch" | "tch-cpu" | "tch-cuda" => "tch",
        other => other,
    };
    let features = if fusion {
        format!("{feature},fusion")
    } else {
        feature.to_string()
    };
    match feature {
        // The default features are flex: the same build as the tests, so Burn is compiled once.
        "flex" if !fusion => {}
        "flex" | "ndarray" | "wgpu" | "tch" | "cuda" => {
            cmd.args(["--no-default-features", "--features", &features]);
        }
        _ => {
            return Err(format!(
                "unknown backend {backend:?}: expected flex, ndarray, wgpu, tch, tch-cpu, tch-cuda[:N] or cuda[:N]"
            ));
        }
    }
    if feature == "tch" && std::env::var_os("LIBTORCH").is_none() && std::env::var_os("LIBTORCH_USE_PYTORCH").is_none()
    {
        eprintln!(
            "xtask: the tch backend needs libtorch. Install PyTorch 2.9.0 (`pip install torch==2.9.0`) and set \
             LIBTORCH_USE_PYTORCH=1 (or LIBTORCH=<dir>); see README.md."
        );
    }
    cmd.args(["--", "--backend", &backend]).args(pass);
    run(cmd)
}
