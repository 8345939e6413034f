//! A parallel run: independent experiments in worker processes, one core each.
//!
//! One training run leaves much of a second core idle: Burn's per-op work (autodiff, optimizer,
//! batches) runs on one thread and only the fused kernels split their share. A run of many
//! experiments therefore finishes sooner as single-threaded runs side by side. A worker is this
//! binary started with `RAYON_NUM_THREADS=1`, which runs the kernels' batch chunks one after
//! another: the same chunks as on two cores (the split depends only on the shapes), so the same
//! bits. Each worker is a process of its own with its own Burn generator, so what one run draws
//! does not depend on what runs beside it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::catalog::Experiment;
use crate::error::ExperimentError;
use crate::report::Record;

/// What one worker ran: experiments (indices into the selection) of one seed, in catalog order.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    /// Position of the seed in the run's seeds.
    pub seed_index: usize,
    pub seed: u32,
    pub experiments: Vec<usize>,
}

/// What a worker writes for its parent: its records and the plots it drew, in run order.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WorkerReport {
    pub records: Vec<Record>,
    pub plots: Vec<(String, String)>,
}

impl WorkerReport {
    /// Writes the report where the parent reads it (atomically: a worker that dies leaves none).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        crate::report::write_atomic(path, &json)
    }
}

/// The tasks of a run, longest first (so the short ones fill in at the end): one per experiment
/// and seed, except that an experiment which reuses another's trained model goes with it.
pub fn tasks(selected: &[&Experiment], seeds: &[u32]) -> Vec<Task> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, e) in selected.iter().enumerate() {
        let host = e
            .reuses
            .and_then(|name| groups.iter_mut().find(|g| g.iter().any(|&j| selected[j].name == name)));
        match host {
            Some(group) => group.push(i),
            None => groups.push(vec![i]),
        }
    }
    let cost = |g: &[usize]| g.iter().map(|&i| selected[i].cost).sum::<f32>();
    let mut tasks: Vec<(f32, Task)> = seeds
        .iter()
        .enumerate()
        .flat_map(|(seed_index, &seed)| {
            groups.iter().map(move |g| {
                (
                    cost(g),
                    Task {
                        seed_index,
                        seed,
                        experiments: g.clone(),
                    },
                )
            })
        })
        .collect();
    // Stable: equal costs keep seed and catalog order.
    tasks.sort_by(|a, b| b.0.total_cmp(&a.0));
    tasks.into_iter().map(|(_, t)| t).collect()
}

/// Runs `tasks` on at most `jobs` workers at once and returns their reports in task order.
/// `command(task, report)` builds the worker's command line; its output is shown line by line,
/// after the task's label. After a failure no further task starts; the running ones finish.
pub fn run(
    tasks: &[Task],
    jobs: usize,
    label: impl Fn(&Task) -> String + Sync,
    command: impl Fn(&Task, &Path) -> Command + Sync,
) -> Result<Vec<WorkerReport>, ExperimentError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let reports: Mutex<Vec<Option<Result<WorkerReport, ExperimentError>>>> =
        Mutex::new((0..tasks.len()).map(|_| None).collect());
    let width = tasks.iter().map(|t| label(t).chars().count()).max().unwrap_or(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, tasks.len().max(1)) {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(task) = tasks.get(i) else { break };
                    let name = label(task);
                    let report = report_path(i);
                    let result = run_child(command(task, &report), &report, &format!("{name:<width$}"))
                        .map_err(|why| ExperimentError::Worker { task: name, why });
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    reports.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                }
            });
        }
    });
    let mut reports = reports.into_inner().unwrap_or_else(|e| e.into_inner());
    // The first failure in task order (tasks not started after it are not failures).
    if let Some(failure) = reports.iter_mut().find(|r| matches!(r, Some(Err(_))))
        && let Some(Err(err)) = failure.take()
    {
        return Err(err);
    }
    tasks
        .iter()
        .zip(reports)
        .map(|(task, r)| {
            r.unwrap_or_else(|| {
                Err(ExperimentError::Worker {
                    task: label(task),
                    why: "it never ran".into(),
                })
            })
        })
        .collect()
}

/// Where worker `i` of this process writes its report.
fn report_path(i: usize) -> PathBuf {
    std::env::temp_dir().join(format!("rnnlab-experiments-{}-{i}.json", std::process::id()))
}

/// Starts one worker, shows its output after `prefix`, and reads its report.
fn run_child(mut command: Command, report: &Path, prefix: &str) -> Result<WorkerReport, String> {
    let mut child = command
        .env("RAYON_NUM_THREADS", "1")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {:?}: {e}", command.get_program()))?;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            match line {
                Ok(line) => println!("{prefix} | {line}"),
                Err(_) => break,
            }
        }
    }
    let status = child.wait().map_err(|e| format!("lost the worker: {e}"))?;
    if !status.success() {
        return Err(format!("the worker failed ({status})"));
    }
    let bytes = std::fs::read(report).map_err(|e| format!("{}: {e}", report.display()))?;
    let _ = std::fs::remove_file(report);
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: unreadable report: {e}", report.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::EXPERIMENTS;

    #[test]
    fn tasks_run_longest_first_and_keep_a_reused_model_with_its_trainer() {
        let all: Vec<&Experiment> = EXPERIMENTS.iter().collect();
        let index = |name: &str| all.iter().position(|e| e.name == name).unwrap();
        let tasks = tasks(&all, &[42, 43]);
        // Every experiment of every seed exactly once.
        let mut seen: Vec<(usize, usize)> = tasks
            .iter()
            .flat_map(|t| t.experiments.iter().map(move |&e| (t.seed_index, e)))
            .collect();
        seen.sort_unstable();
        let want: Vec<(usize, usize)> = (0..2).flat_map(|s| (0..all.len()).map(move |e| (s, e))).collect();
        assert_eq!(seen, want);
        let group = tasks
            .iter()
            .find(|t| t.experiments.contains(&index("forecast-iterative")))
            .unwrap();
        assert_eq!(
            group.experiments,
            vec![index("deep-rnn-dense"), index("forecast-iterative")]
        );
        let costs: Vec<f32> = tasks
            .iter()
            .map(|t| t.experiments.iter().map(|&e| all[e].cost).sum())
            .collect();
        assert!(costs.windows(2).all(|w| w[0] >= w[1]), "{costs:?}");
        assert_eq!(tasks[0].experiments, vec![index("seq2seq-lstm")]);
        assert_eq!((tasks[0].seed, tasks[1].seed), (42, 43));
        // Without its trainer selected, the reusing experiment is a task of its own.
        let alone = super::tasks(&[all[index("forecast-iterative")]], &[7]);
        assert_eq!(
            alone,
            vec![Task {
                seed_index: 0,
                seed: 7,
                experiments: vec![0]
            }]
        );
    }
}
