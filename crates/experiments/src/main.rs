//! `rnnlab-experiments`: reruns the lecture's experiments (Hands-On ML 2e ch. 15) and writes
//! `results.json` and `results.md`. Normally started by `cargo xtask experiment …`.

mod catalog;
mod error;
mod report;
mod sentiment;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rnnlab_layers::Backend;

use crate::catalog::{Context, EXPERIMENTS};
use crate::error::ExperimentError;
use crate::report::{Results, write_results};

const USAGE: &str = "usage: rnnlab-experiments all|<name>... [--backend B] [--epochs N] [--seed S] [--seeds N] [--quick] \
                     [--out DIR] [--list]";

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
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| usage(format!("{flag} needs a value")));
        match a.as_str() {
            "--backend" => backend = value("--backend")?.parse()?,
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
    let started = std::time::Instant::now();
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
            println!("== {} ({})", e.name, e.model);
            ctx.reseed(); // every experiment's weights are reproducible on their own
            let record = (e.run)(&mut ctx).map_err(|source| ExperimentError::In {
                experiment: e.name,
                source: Box::new(source),
            })?;
            println!("{}", record.one_line());
            runs.push(record);
        }
    }
    let records: Vec<report::Record> = runs
        .into_iter()
        .map(|r| report::Record::over_seeds(r, &run_seeds))
        .collect();
    if run_seeds.len() > 1 {
        println!("=== medians over seeds {run_seeds:?}");
        for r in &records {
            println!("{}", r.one_line());
        }
    }
    let results = Results::new(
        backend,
        resolved.description,
        run_seeds,
        quick,
        records,
        ctx.plots.clone(),
        started.elapsed().as_secs_f64(),
    );
    write_results(&out, &results).map_err(|source| ExperimentError::Io {
        path: out.clone(),
        source,
    })?;
    println!(
        "wrote {}/results.json and results.md ({:.0} s)",
        out.display(),
        results.total_seconds
    );
    Ok(())
}
