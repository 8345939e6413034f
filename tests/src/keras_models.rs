//! `keras-models/cases.jsonl`: whole models saved by Keras (`.keras` and legacy `.h5`) with an
//! input batch and Keras's `predict` output.
//!
//! Each case names two model files next to `cases.jsonl`; both are loaded with
//! `rnnlab_keras::load_model` and run on the case's input on every compiled CPU backend, and the
//! outputs are compared with Keras's within `1e-5·(1 + |want|)`. A case line that does not follow
//! the schema is a file error.

use std::path::Path;

use rnnlab_layers::burn::tensor::{Int, Tensor, TensorData};
use rnnlab_layers::{Backend, Input};
use serde::Deserialize;

use crate::layers::{TOLERANCE, backends};
use crate::{Outcome, close_slices};

/// The one text file of the family.
pub const CASES_FILE: &str = "cases.jsonl";

#[derive(Deserialize)]
struct Array {
    shape: Vec<usize>,
    dtype: String,
    data: Vec<f64>,
}

#[derive(Deserialize)]
struct Case {
    id: String,
    keras_file: String,
    legacy_h5_file: String,
    input: Array,
    expected: Array,
}

/// Runs `cases.jsonl` of the `keras-models` family in the folder `dir`.
pub fn run_file(dir: &Path, text: &str) -> Result<Vec<(String, Outcome)>, String> {
    let mut out = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let case: Case = serde_json::from_str(line).map_err(|e| format!("line {}: unexpected schema: {e}", n + 1))?;
        let mut outcome = Outcome::Pass;
        'files: for file in [&case.keras_file, &case.legacy_h5_file] {
            for backend in backends() {
                if let Err(e) = run_case(dir, file, &case, backend) {
                    outcome = Outcome::Fail(format!("{file} [{backend}]: {e}"));
                    break 'files;
                }
            }
        }
        out.push((case.id, outcome));
    }
    Ok(out)
}

fn run_case(dir: &Path, file: &str, case: &Case, backend: Backend) -> Result<(), String> {
    let device = backend.device().map_err(|e| e.to_string())?;
    let model = rnnlab_keras::load_model(dir.join(file), &device).map_err(|e| e.to_string())?;
    let x = &case.input;
    let input = match (x.dtype.starts_with("int"), x.shape.as_slice()) {
        (true, &[b, t]) => {
            let ids: Vec<i64> = x.data.iter().map(|&v| v as i64).collect();
            Input::Tokens(Tensor::<2, Int>::from_data(TensorData::new(ids, [b, t]), &device))
        }
        (false, &[b, t, f]) => {
            let values: Vec<f32> = x.data.iter().map(|&v| v as f32).collect();
            Input::from(Tensor::<3>::from_data(TensorData::new(values, [b, t, f]), &device))
        }
        (_, shape) => return Err(format!("input of shape {shape:?} ({})", x.dtype)),
    };
    let y = model.forward1(input).map_err(|e| e.to_string())?;
    if y.dims() != case.expected.shape {
        return Err(format!("output shape {:?}, want {:?}", y.dims(), case.expected.shape));
    }
    let got = y.to_vec().map_err(|e| e.to_string())?;
    close_slices("output", &got, &case.expected.data, TOLERANCE)
}
