//! A parallel run (`--jobs 2`: single-threaded worker processes) writes the same figures, histories
//! and plots as a run in one process (`--jobs 1`).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn run(jobs: &str, out: &Path) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_rnnlab-experiments"))
        .args(["linear", "deep-rnn-dense", "forecast-iterative", "seq2seq-lstm"])
        .args(["--quick", "--epochs", "1", "--seeds", "2", "--jobs", jobs, "--out"])
        .arg(out)
        .output()
        .expect("the experiments binary starts");
    assert!(
        output.status.success(),
        "--jobs {jobs}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let json = std::fs::read(out.join("results.json")).expect("results.json written");
    serde_json::from_slice(&json).expect("results.json parses")
}

/// Everything but the timings and the machine's load, which no two runs share, and how many
/// workers ran.
fn without_timings(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for key in ["seconds_per_epoch", "seconds", "total_seconds", "workers", "machine"] {
                map.remove(key);
            }
            map.values_mut().for_each(without_timings);
        }
        Value::Array(items) => items.iter_mut().for_each(without_timings),
        _ => {}
    }
}

#[test]
fn workers_give_the_figures_of_one_process() {
    let dir = std::env::temp_dir().join(format!("rnnlab-parallel-test-{}", std::process::id()));
    let (one, two) = (dir.join("one"), dir.join("two"));
    let mut serial = run("1", &one);
    let mut parallel = run("2", &two);
    let figures = |v: &Value| -> Vec<Option<f64>> {
        v["experiments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["val_mse"].as_f64())
            .collect()
    };
    // Four experiments, each trained (or forecast) with a figure, the same in both runs.
    assert_eq!(figures(&serial).len(), 4);
    assert!(figures(&serial).iter().all(Option::is_some), "{:?}", figures(&serial));
    assert_eq!(
        (serial["workers"].as_u64(), parallel["workers"].as_u64()),
        (Some(1), Some(2))
    );
    without_timings(&mut serial);
    without_timings(&mut parallel);
    assert_eq!(serial, parallel);
    // The first seed's plots, drawn by the workers into the same directory.
    for plot in serial["plots"].as_array().unwrap() {
        let file = plot[0].as_str().unwrap();
        let (a, b) = (
            std::fs::read(one.join(file)).unwrap(),
            std::fs::read(two.join(file)).unwrap(),
        );
        assert!(a == b, "{file} differs");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failing_worker_fails_the_run_and_says_which() {
    let dir = std::env::temp_dir().join(format!("rnnlab-parallel-fail-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_rnnlab-experiments"))
        .args(["linear", "seq2vec", "--quick", "--epochs", "0", "--jobs", "2", "--out"])
        .arg(&dir)
        .output()
        .expect("the experiments binary starts");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The worker's own error (what to change), then the parent's (which run, how to rerun).
    assert!(stderr.contains("--epochs must be at least 1"), "{stderr}");
    assert!(stderr.contains("worker for") && stderr.contains("--jobs 1"), "{stderr}");
    assert!(!dir.join("results.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
