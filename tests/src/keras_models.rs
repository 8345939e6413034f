//! `keras-models/cases.jsonl`: whole models saved by Keras (`.keras` and legacy `.h5`) with an
//! input batch and Keras's `predict` output.
//!
//! Only the case file is read here; the model files are binary. rnnlab does not load Keras model
//! files yet, so every well-formed case is reported as skipped with that reason (never passed); a
//! case line that does not follow the schema is a file error.

use serde_json::Value;

use crate::{NOT_IMPLEMENTED, Outcome};

/// The one text file of the family.
pub const CASES_FILE: &str = "cases.jsonl";

/// Runs `cases.jsonl` of the `keras-models` family.
pub fn run_file(_name: &str, text: &str) -> Result<Vec<(String, Outcome)>, String> {
    let mut out = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let case: Value = serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", n + 1))?;
        let field = |key: &str| {
            case.get(key)
                .ok_or_else(|| format!("line {}: unexpected schema: no {key:?}", n + 1))
        };
        let id = field("id")?
            .as_str()
            .ok_or(format!("line {}: \"id\" is not a string", n + 1))?;
        for key in ["keras_file", "legacy_h5_file", "input", "expected"] {
            field(key)?;
        }
        out.push((
            id.to_string(),
            Outcome::Skip(format!("{NOT_IMPLEMENTED}: loading Keras model files")),
        ));
    }
    Ok(out)
}
