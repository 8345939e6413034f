//! `keras/*.jsonl`: Tokenizer, pad_sequences, text_to_word_sequence, hashing_trick.

use crate::{NOT_IMPLEMENTED, Outcome};

/// Runs one file of the `keras` family. Until rnnlab-text lands, every case is skipped.
pub fn run_file(_name: &str, text: &str) -> Result<Vec<(String, Outcome)>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("line {}: unexpected schema: {e}", n + 1))?;
            let id = v
                .get("id")
                .and_then(|i| i.as_str())
                .ok_or(format!("line {}: no \"id\"", n + 1))?;
            Ok((id.to_string(), Outcome::Skip(format!("{NOT_IMPLEMENTED}: rnnlab-text"))))
        })
        .collect()
}
