//! `rnnlab-experiments`: reruns the lecture's experiments (Hands-On ML 2e ch. 15) and writes
//! `results.json` and `results.md`. Normally started by `cargo xtask experiment …`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use rnnlab_layers::Backend;
use rnnlab_series::{NumpyRandom, Split, WindowSpec, generate_time_series, naive_mse};
use serde::Serialize;

/// Runs one experiment.
type RunFn = fn(&Options) -> Result<Record, String>;

/// An experiment of the lecture, with the figures to compare against.
struct Experiment {
    name: &'static str,
    model: &'static str,
    lecture: &'static str,
    keras_here: &'static str,
    /// `None` until the crates it needs have landed.
    run: Option<RunFn>,
}

const EXPERIMENTS: &[Experiment] = &[
    Experiment {
        name: "naive",
        model: "last value",
        lecture: "0.020211367 (exact)",
        keras_here: "0.020211367",
        run: Some(naive),
    },
    Experiment {
        name: "linear",
        model: "Flatten + Dense(1)",
        lecture: "0.0042",
        keras_here: "0.0038",
        run: None,
    },
    Experiment {
        name: "simple-rnn",
        model: "SimpleRNN(1)",
        lecture: "0.0141",
        keras_here: "0.0132",
        run: None,
    },
    Experiment {
        name: "deep-rnn",
        model: "SimpleRNN(20,rs) · SimpleRNN(20,rs) · SimpleRNN(1), lr 0.005",
        lecture: "0.0030 (HOML 0.0029)",
        keras_here: "0.0030",
        run: None,
    },
    Experiment {
        name: "deep-rnn-dense",
        model: "SimpleRNN(20,rs) · SimpleRNN(20) · Dense(1), lr 0.005",
        lecture: "0.0036 (HOML 0.0026)",
        keras_here: "0.0026",
        run: None,
    },
    Experiment {
        name: "forecast-iterative",
        model: "deep-rnn-dense applied 10 times",
        lecture: "HOML 0.0275; naive 10-step 0.25697407",
        keras_here: "0.0216",
        run: None,
    },
    Experiment {
        name: "seq2vec",
        model: "SimpleRNN(20,rs) · SimpleRNN(20) · Dense(10)",
        lecture: "0.0083",
        keras_here: "0.0092",
        run: None,
    },
    Experiment {
        name: "seq2seq",
        model: "3 × SimpleRNN(20,rs) · TimeDistributed(Dense(10))",
        lecture: "0.0169; last-step HOML 0.008–0.010",
        keras_here: "0.0170; 0.0063",
        run: None,
    },
    Experiment {
        name: "seq2seq-batchnorm",
        model: "seq2seq + BatchNormalization",
        lecture: "0.0183",
        keras_here: "0.0250; 0.0125",
        run: None,
    },
    Experiment {
        name: "seq2seq-layernorm",
        model: "seq2seq with the LN SimpleRNN cell",
        lecture: "HOML last-step 0.012",
        keras_here: "0.0244; 0.0113",
        run: None,
    },
    Experiment {
        name: "seq2seq-lstm",
        model: "seq2seq with LSTM(20)",
        lecture: "HOML last-step 0.0086",
        keras_here: "0.0209; 0.0069",
        run: None,
    },
    Experiment {
        name: "seq2seq-gru",
        model: "seq2seq with GRU(20)",
        lecture: "HOML last-step 0.0103",
        keras_here: "0.0195; 0.0064",
        run: None,
    },
    Experiment {
        name: "text-pipeline",
        model: "Tokenizer / pad_sequences cells; Embedding · LSTM · Dense summaries",
        lecture: "exact outputs",
        keras_here: "params 300 / 4 608 / 9 216 / 8 320",
        run: None,
    },
    Experiment {
        name: "sentiment-order",
        model: "bag-of-words vs Embedding · (Bi)LSTM on double negation",
        lecture: "shows why order matters",
        keras_here: "—",
        run: None,
    },
];

struct Options {
    backend: Backend,
    seed: u32,
    quick: bool,
}

#[derive(Serialize)]
struct Record {
    name: String,
    val_mse: Option<f64>,
    val_last_time_step_mse: Option<f64>,
    accuracy: Option<f64>,
    seconds_per_epoch: Option<f64>,
    epochs: usize,
    params: usize,
    history: serde_json::Value,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    extra: serde_json::Map<String, serde_json::Value>,
    wall_seconds: f64,
}

#[derive(Serialize)]
struct Results<'a> {
    backend: &'a str,
    git_rev: String,
    seed: u32,
    quick: bool,
    experiments: &'a [Record],
    not_run: Vec<NotRun>,
}

#[derive(Serialize)]
struct NotRun {
    name: &'static str,
    reason: &'static str,
}

const PENDING: &str = "not implemented yet: needs rnnlab-layers and rnnlab-train";

fn naive(opts: &Options) -> Result<Record, String> {
    let start = Instant::now();
    let n_steps = 50;
    let mut extra = serde_json::Map::new();
    let mut one_step = None;
    // --quick: a tenth of the data, split the same way (a smoke run, not the lecture's figure).
    let (n_series, split) = if opts.quick {
        (1_000, Split::Fractions { train: 0.7, valid: 0.2 })
    } else {
        (10_000, Split::LECTURE)
    };
    for ahead in [1, 10] {
        let series = generate_time_series(&mut NumpyRandom::new(opts.seed), n_series, n_steps + ahead);
        let parts = series
            .windows(WindowSpec::vector(n_steps, ahead))
            .and_then(|w| w.split(split));
        let mse = parts.and_then(|p| naive_mse(&p.valid)).map_err(|e| e.to_string())?;
        println!("naive: {ahead}-step-ahead validation MSE {mse:.9}");
        if ahead == 1 {
            one_step = Some(f64::from(mse));
        } else {
            extra.insert("val_mse_10_ahead".into(), serde_json::json!(f64::from(mse)));
        }
    }
    Ok(Record {
        name: "naive".into(),
        val_mse: one_step,
        val_last_time_step_mse: None,
        accuracy: None,
        seconds_per_epoch: None,
        epochs: 0,
        params: 0,
        history: serde_json::json!({}),
        extra,
        wall_seconds: start.elapsed().as_secs_f64(),
    })
}

fn git_rev() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// reader never sees a half-written file.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn results_md(res: &Results<'_>) -> String {
    let mut md = format!(
        "# rnnlab results — backend `{}`\n\nGit revision `{}`, seed {}{}.\n\n\
         | name | model | rnnlab val MSE | lecture figure | Keras 3.15 here | s/epoch |\n| --- | --- | --- | --- | --- | --- |\n",
        res.backend,
        res.git_rev,
        res.seed,
        if res.quick {
            " (quick smoke run: not comparable)"
        } else {
            ""
        }
    );
    for e in EXPERIMENTS {
        let rec = res.experiments.iter().find(|r| r.name == e.name);
        let mse = match rec {
            Some(r) => r.val_mse.map(|v| format!("{v:.9}")).unwrap_or_else(|| "—".into()),
            None if e.run.is_none() => "not run (pending)".into(),
            None => "not run".into(),
        };
        let spe = rec
            .and_then(|r| r.seconds_per_epoch)
            .map(|s| format!("{s:.2}"))
            .unwrap_or_else(|| "—".into());
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            e.name, e.model, mse, e.lecture, e.keras_here, spe
        ));
    }
    md.push_str(
        "\nKeras figures: Keras 3.15 (TensorFlow CPU) on this project's 2-core machine, as recorded in the \
         experiments issue; lecture figures from the lecture notebook and Hands-On ML 2e ch. 15.\n",
    );
    md
}

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rnnlab-experiments: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<(), String> {
    let mut names: Vec<String> = Vec::new();
    let mut backend = Backend::Flex;
    let mut seed = 42u32;
    let mut quick = false;
    let mut out: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |flag: &str| args.next().ok_or(format!("{flag} needs a value"));
        match a.as_str() {
            "--backend" => backend = value("--backend")?.parse().map_err(|e| format!("{e}"))?,
            "--seed" => seed = value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--epochs" => {
                let _: usize = value("--epochs")?.parse().map_err(|e| format!("--epochs: {e}"))?;
            }
            "--quick" => quick = true,
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--list" => {
                for e in EXPERIMENTS {
                    println!(
                        "{:<20} {}{}",
                        e.name,
                        e.model,
                        if e.run.is_none() { "  [pending]" } else { "" }
                    );
                }
                return Ok(());
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
            name => names.push(name.to_string()),
        }
    }
    if names.is_empty() {
        return Err("name the experiments to run, or `all` (see --list)".into());
    }
    backend.device().map_err(|e| e.to_string())?;
    let selected: Vec<&Experiment> = if names.iter().any(|n| n == "all") {
        EXPERIMENTS.iter().collect()
    } else {
        names
            .iter()
            .map(|n| {
                EXPERIMENTS
                    .iter()
                    .find(|e| e.name == n)
                    .ok_or(format!("unknown experiment {n:?} (see --list)"))
            })
            .collect::<Result<_, _>>()?
    };
    let opts = Options { backend, seed, quick };
    let mut records = Vec::new();
    let mut not_run = Vec::new();
    for e in selected {
        match e.run {
            Some(run) => records.push(run(&opts)?),
            None => {
                println!("{}: {PENDING}", e.name);
                not_run.push(NotRun {
                    name: e.name,
                    reason: PENDING,
                });
            }
        }
    }
    let out = out.unwrap_or_else(|| Path::new("docs").join("results").join(opts.backend.name()));
    let res = Results {
        backend: opts.backend.name(),
        git_rev: git_rev(),
        seed,
        quick,
        experiments: &records,
        not_run,
    };
    let json = serde_json::to_string_pretty(&res).map_err(|e| e.to_string())?;
    write_atomic(&out.join("results.json"), json.as_bytes()).map_err(|e| format!("{}: {e}", out.display()))?;
    write_atomic(&out.join("results.md"), results_md(&res).as_bytes())
        .map_err(|e| format!("{}: {e}", out.display()))?;
    println!("wrote {}/results.json and results.md", out.display());
    Ok(())
}
