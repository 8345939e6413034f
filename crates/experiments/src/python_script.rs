//! The Python halves of the benches: run `xtask/<script>` with the user's interpreter and read
//! the JSON it prints (its stderr is passed through). Shared by `bench_rnn` and `bench_infer`.

use std::process::Command;

use serde_json::Value;

use crate::error::ExperimentError;

/// Runs `python xtask/<script> <args>`; a failed run or output that is not JSON is an error
/// naming `experiment`.
pub fn run_script(
    python: &str,
    script: &str,
    args: &[String],
    experiment: &'static str,
) -> Result<Value, ExperimentError> {
    // The run-time value (set by `cargo run`) names this checkout even when the binary was built
    // by another one sharing the target directory.
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let script = format!("{crate_dir}/../../xtask/{script}");
    let out = Command::new(python)
        .arg(&script)
        .args(args)
        .output()
        .map_err(|source| ExperimentError::Io {
            path: python.into(),
            source,
        })?;
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(ExperimentError::Mismatch {
            experiment,
            why: format!("{python} {script} failed ({})", out.status),
        });
    }
    serde_json::from_slice(&out.stdout).map_err(|e| ExperimentError::Mismatch {
        experiment,
        why: format!("{script} printed no JSON: {e}"),
    })
}
