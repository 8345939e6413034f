//! `layers/*.json`: Keras layer outputs and gradients.

use crate::{NOT_IMPLEMENTED, Outcome};

/// Runs one file of the `layers` family. Until rnnlab-layers lands, every case is skipped.
pub fn run_file(_name: &str, text: &str) -> Result<Vec<(String, Outcome)>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("unexpected schema: {e}"))?;
    let cases = v
        .get("cases")
        .and_then(|c| c.as_array())
        .ok_or("unexpected schema: no \"cases\" array")?;
    cases
        .iter()
        .map(|c| {
            let id = c
                .get("id")
                .and_then(|i| i.as_str())
                .ok_or("unexpected schema: case without \"id\"")?;
            Ok((
                id.to_string(),
                Outcome::Skip(format!("{NOT_IMPLEMENTED}: rnnlab-layers")),
            ))
        })
        .collect()
}
