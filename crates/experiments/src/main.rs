//! `rnnlab-experiments`: reruns the lecture's experiments (Hands-On ML 2e ch. 15) and writes
//! `results.json` and `results.md`. Normally started by `cargo xtask experiment …`.
//!
//! With more than one run to do and `--jobs` above 1 (the default on CPU backends), the runs go
//! to worker processes of this binary (`--worker REPORT`, see [`workers`]) and this process
//! merges their reports.

mod catalog;
mod error;
// Shared with the bench tools, whose report helper this binary does not use.
#[allow(dead_code)]
mod machine_load;
mod report;
mod sentiment;
mod workers;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rnnlab_layers::Backend;

use crate::catalog::{Context, EXPERIMENTS};
use crate::error::ExperimentError;
use crate::report::{Results, RunInfo, write_results};

const USAGE: &str =
    "usage: rnnlab-experiments all|<name>... [--backend B] [--epochs N] [--seed S] [--seeds N] [--quick] \
                     [--jobs N] [--out DIR] [--list]
  --jobs N  run up to N experiments at once, each in a single-threaded worker process (default: the
            number of cores on CPU backends, 1 on GPUs; the figures do not depend on it)";

fn main() -> ExitCode {
    // Large buffers are reused instead of mapped fresh at every step (see its docs).
    rnnlab_layers::tune_allocator_for_training();
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rnnlab-experiments: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<(), ExperimentError> {
    let usage = |message: String| ExperimentError::Usage(format!("{message}\n{USAGE}"));
    let mut names: Vec<String> = Vec::new();
    let mut backend = Backend::Flex;
    let mut seed = 42u32;
    let mut seeds = 1u32;
    let mut quick = false;
    let mut epochs: Option<usize> = None;
    let mut out: Option<PathBuf> = None;
    let mut jobs: Option<usize> = None;
    let mut backend_arg: Option<String> = None;
    // A worker of a parallel run (see `workers`): where to write its report, and whether it
    // draws plots (only the first seed's runs do).
    let mut worker_report: Option<PathBuf> = None;
    let mut draw_plots = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| usage(format!("{flag} needs a value")));
        match a.as_str() {
            "--backend" => {
                let name = value("--backend")?;
                backend = name.parse()?;
                backend_arg = Some(name);
            }
            "--jobs" => {
                let n: usize = value("--jobs")?.parse().map_err(|e| usage(format!("--jobs: {e}")))?;
                if n == 0 {
                    return Err(usage("--jobs must be at least 1".into()));
                }
                jobs = Some(n);
            }
            "--worker" => worker_report = Some(PathBuf::from(value("--worker")?)),
            "--no-plots" => draw_plots = false,
            "--seed" => seed = value("--seed")?.parse().map_err(|e| usage(format!("--seed: {e}")))?,
            "--seeds" => seeds = value("--seeds")?.parse().map_err(|e| usage(format!("--seeds: {e}")))?,
            "--epochs" => {
                epochs = Some(
                    value("--epochs")?
                        .parse()
                        .map_err(|e| usage(format!("--epochs: {e}")))?,
                )
            }
            "--quick" => quick = true,
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--list" => {
                for e in EXPERIMENTS {
                    println!("{:<20} {}", e.name, e.model);
                }
                return Ok(());
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            flag if flag.starts_with('-') => return Err(usage(format!("unknown option {flag:?}"))),
            name => names.push(name.to_string()),
        }
    }
    if seeds == 0 {
        return Err(usage("--seeds must be at least 1".into()));
    }
    let run_seeds: Vec<u32> = (0..seeds)
        .map(|k| {
            seed.checked_add(k)
                .ok_or_else(|| usage(format!("--seed {seed} plus --seeds {seeds} passes u32::MAX")))
        })
        .collect::<Result<_, _>>()?;
    if names.is_empty() {
        return Err(usage("name the experiments to run, or `all` (see --list)".into()));
    }
    let selected: Vec<&catalog::Experiment> = if names.iter().any(|n| n == "all") {
        EXPERIMENTS.iter().collect()
    } else {
        names
            .iter()
            .map(|n| {
                EXPERIMENTS
                    .iter()
                    .find(|e| e.name == n)
                    .ok_or_else(|| usage(format!("unknown experiment {n:?} (see --list)")))
            })
            .collect::<Result<_, _>>()?
    };
    let resolved = backend.select()?;
    println!("backend {backend}: {}", resolved.description);
    let device = resolved.device;
    let out = out.unwrap_or_else(|| {
        let dir = if cfg!(feature = "fusion") {
            format!("{}-fusion", backend.name())
        } else {
            backend.name()
        };
        Path::new("docs").join("results").join(dir)
    });
    let mut ctx = Context::new(device, seed, quick, epochs, out.clone());
    if let Some(report) = worker_report {
        return run_worker(&mut ctx, &selected, draw_plots, &report);
    }
    let started = std::time::Instant::now();
    let load = machine_load::LoadProbe::start();
    let jobs = jobs.unwrap_or_else(|| match backend {
        Backend::Flex | Backend::Ndarray => std::thread::available_parallelism().map_or(1, |n| n.get()),
        _ => 1,
    });
    let tasks = workers::tasks(&selected, &run_seeds);
    if jobs > 1 && tasks.len() > 1 {
        let worker_args = WorkerArgs {
            backend: backend_arg,
            epochs,
            quick,
            out: out.clone(),
        };
        let (runs, plots) = run_in_workers(&selected, &run_seeds, &tasks, jobs, &worker_args)?;
        let run = RunInfo {
            backend,
            device: resolved.description,
            seeds: run_seeds,
            quick,
            workers: jobs.min(tasks.len()),
        };
        return finish(run, runs, plots, started, &load, &out);
    }
    // Seeds outer, experiments inner: each seed's data is drawn once and shared by its
    // experiments, as in a single-seed run. Only the first seed draws plots.
    let mut runs: Vec<Vec<report::Record>> = vec![Vec::new(); selected.len()];
    for (k, &s) in run_seeds.iter().enumerate() {
        ctx.set_seed(s);
        ctx.draw_plots = k == 0;
        if run_seeds.len() > 1 {
            println!("=== seed {s} ({}/{})", k + 1, run_seeds.len());
        }
        for (e, runs) in selected.iter().zip(runs.iter_mut()) {
            runs.push(run_experiment(&mut ctx, e)?);
        }
    }
    let run = RunInfo {
        backend,
        device: resolved.description,
        seeds: run_seeds,
        quick,
        workers: 1,
    };
    finish(run, runs, ctx.plots.clone(), started, &load, &out)
}

/// Merges each experiment's runs over the seeds and writes `results.json` and `results.md`.
fn finish(
    run: RunInfo,
    runs: Vec<Vec<report::Record>>,
    plots: Vec<(String, String)>,
    started: std::time::Instant,
    load: &machine_load::LoadProbe,
    out: &Path,
) -> Result<(), ExperimentError> {
    let records: Vec<report::Record> = runs
        .into_iter()
        .map(|r| report::Record::over_seeds(r, &run.seeds))
        .collect();
    if run.seeds.len() > 1 {
        println!("=== medians over seeds {:?}", run.seeds);
    } else if run.workers > 1 {
        // The workers' lines interleave: the summary again, in catalog order.
        println!("=== results");
    }
    if run.seeds.len() > 1 || run.workers > 1 {
        for r in &records {
            println!("{}", r.one_line());
        }
    }
    let mut results = Results::new(run, records, plots, started.elapsed().as_secs_f64());
    results.machine = load.finish_warning("rnnlab-experiments");
    write_results(out, &results).map_err(|source| ExperimentError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    println!(
        "wrote {}/results.json and results.md ({:.0} s)",
        out.display(),
        results.total_seconds
    );
    Ok(())
}

/// A plot file and its caption.
type Plot = (String, String);

/// The command-line options a worker repeats from its parent.
struct WorkerArgs {
    backend: Option<String>,
    epochs: Option<usize>,
    quick: bool,
    out: PathBuf,
}

/// Runs `tasks` on worker processes (see [`workers`]); returns each selected experiment's
/// records in seed order and the first seed's plots in catalog order, as a run in one process
/// would.
fn run_in_workers(
    selected: &[&catalog::Experiment],
    run_seeds: &[u32],
    tasks: &[workers::Task],
    jobs: usize,
    args: &WorkerArgs,
) -> Result<(Vec<Vec<report::Record>>, Vec<Plot>), ExperimentError> {
    let label = |t: &workers::Task| {
        let names: Vec<&str> = t.experiments.iter().map(|&e| selected[e].name).collect();
        match run_seeds.len() {
            1 => names.join("+"),
            _ => format!("{} s{}", names.join("+"), t.seed),
        }
    };
    let exe = std::env::current_exe().map_err(|source| ExperimentError::Io {
        path: PathBuf::from("rnnlab-experiments"),
        source,
    })?;
    let command = |t: &workers::Task, report: &Path| {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(t.experiments.iter().map(|&e| selected[e].name))
            .arg("--seed")
            .arg(t.seed.to_string())
            .arg("--out")
            .arg(&args.out)
            .arg("--worker")
            .arg(report);
        if let Some(b) = &args.backend {
            cmd.args(["--backend", b]);
        }
        if let Some(n) = args.epochs {
            cmd.args(["--epochs", &n.to_string()]);
        }
        if args.quick {
            cmd.arg("--quick");
        }
        if t.seed_index > 0 {
            cmd.arg("--no-plots");
        }
        cmd
    };
    println!(
        "{} runs on {} worker processes, one core each",
        tasks.len(),
        jobs.min(tasks.len())
    );
    let reports = workers::run(tasks, jobs, label, command)?;
    let mut by_seed: Vec<Vec<Option<report::Record>>> = vec![vec![None; run_seeds.len()]; selected.len()];
    let mut plots: Vec<Vec<Plot>> = vec![Vec::new(); selected.len()];
    for (task, report) in tasks.iter().zip(reports) {
        if report.records.len() != task.experiments.len() {
            return Err(ExperimentError::Worker {
                task: label(task),
                why: format!(
                    "{} records for {} experiments",
                    report.records.len(),
                    task.experiments.len()
                ),
            });
        }
        for (&e, record) in task.experiments.iter().zip(report.records) {
            by_seed[e][task.seed_index] = Some(record);
        }
        if task.seed_index == 0 {
            plots[task.experiments[0]] = report.plots;
        }
    }
    let runs = by_seed
        .into_iter()
        .map(|seeds| seeds.into_iter().flatten().collect())
        .collect();
    Ok((runs, plots.concat()))
}

/// A worker of a parallel run: runs `selected` at the context's seed and writes its records and
/// plots to `report` for the parent (no results files).
fn run_worker(
    ctx: &mut Context,
    selected: &[&catalog::Experiment],
    draw_plots: bool,
    report: &Path,
) -> Result<(), ExperimentError> {
    ctx.draw_plots = draw_plots;
    let mut records = Vec::with_capacity(selected.len());
    for e in selected {
        records.push(run_experiment(ctx, e)?);
    }
    let plots = std::mem::take(&mut ctx.plots);
    workers::WorkerReport { records, plots }
        .write(report)
        .map_err(|source| ExperimentError::Io {
            path: report.to_path_buf(),
            source,
        })
}

/// Runs one experiment on `ctx` (its weights reseeded first) and prints its one-line summary.
fn run_experiment(ctx: &mut Context, e: &catalog::Experiment) -> Result<report::Record, ExperimentError> {
    println!("== {} ({})", e.name, e.model);
    ctx.reseed(); // every experiment's weights are reproducible on their own
    let record = (e.run)(ctx).map_err(|source| ExperimentError::In {
        experiment: e.name,
        source: Box::new(source),
    })?;
    println!("{}", record.one_line());
    Ok(record)
}
