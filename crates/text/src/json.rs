//! `Tokenizer.to_json()` / `tokenizer_from_json`, byte-compatible with Keras.

use std::fmt::Write;

use serde_json::{Map, Value};

use crate::tokenizer::{FxIndexMap, WordStats};
use crate::{TextError, Tokenizer, TokenizerConfig};

/// Appends `s` as Python's `json.dumps` writes it (`ensure_ascii=True`): every character outside
/// `' '..='~'` is escaped, astral characters as UTF-16 surrogate pairs, hex in lowercase.
pub(crate) fn push_py_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
        }
    }
    out.push('"');
}

fn py_dict<K, V>(
    entries: impl Iterator<Item = (K, V)>,
    key: impl Fn(&mut String, K),
    val: impl Fn(&mut String, V),
) -> String {
    let mut out = String::from("{");
    for (n, (k, v)) in entries.enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        key(&mut out, k);
        out.push_str(": ");
        val(&mut out, v);
    }
    out.push('}');
    out
}

fn str_key(out: &mut String, k: &str) {
    push_py_str(out, k);
}

fn int_key(out: &mut String, k: impl std::fmt::Display) {
    let _ = write!(out, "\"{k}\"");
}

fn int_val(out: &mut String, v: impl std::fmt::Display) {
    let _ = write!(out, "{v}");
}

impl Tokenizer {
    /// Keras's `Tokenizer.to_json()`, byte for byte: Python `json.dumps` separators and ASCII
    /// escaping, the five dictionaries double-encoded as strings, keys in Keras's order
    /// (`word_docs` / `index_docs` in first-seen order where Keras's follow Python's string hash).
    /// rnnlab's extension options are not written.
    ///
    /// ```
    /// use rnnlab_text::Tokenizer;
    /// let mut tok = Tokenizer::default();
    /// tok.fit_on_texts(["나는 학생"])?;
    /// let json = tok.to_json();
    /// assert!(json.starts_with(r#"{"class_name": "Tokenizer", "config": {"num_words": null, "#));
    /// assert!(json.contains(r#""word_index": "{\"\\ub098\\ub294\": 1, \"\\ud559\\uc0dd\": 2}""#));
    /// assert_eq!(Tokenizer::from_json(&json)?, tok);
    /// # Ok::<(), rnnlab_text::TextError>(())
    /// ```
    pub fn to_json(&self) -> String {
        let c = &self.config;
        let word_counts = py_dict(self.words.iter().map(|(w, s)| (w.as_str(), s.count)), str_key, int_val);
        let word_docs = py_dict(self.words.iter().map(|(w, s)| (w.as_str(), s.docs)), str_key, int_val);
        let index_docs = py_dict(self.index_docs.iter().map(|(&i, &d)| (i, d)), int_key, int_val);
        let index_word = py_dict(self.index_word.iter().map(|(&i, w)| (i, w.as_str())), int_key, str_key);
        let word_index = py_dict(self.word_index.iter().map(|(w, &i)| (w.as_str(), i)), str_key, int_val);
        let mut out = String::from("{\"class_name\": \"Tokenizer\", \"config\": {\"num_words\": ");
        match c.num_words {
            Some(n) => int_val(&mut out, n),
            None => out.push_str("null"),
        }
        out.push_str(", \"filters\": ");
        push_py_str(&mut out, &c.filters);
        let _ = write!(out, ", \"lower\": {}, \"split\": ", c.lower);
        push_py_str(&mut out, &c.split);
        let _ = write!(out, ", \"char_level\": {}, \"oov_token\": ", c.char_level);
        match &c.oov_token {
            Some(t) => push_py_str(&mut out, t),
            None => out.push_str("null"),
        }
        let _ = write!(out, ", \"document_count\": {}", self.document_count);
        for (key, inner) in [
            ("word_counts", word_counts),
            ("word_docs", word_docs),
            ("index_docs", index_docs),
            ("index_word", index_word),
            ("word_index", word_index),
        ] {
            let _ = write!(out, ", \"{key}\": ");
            push_py_str(&mut out, &inner);
        }
        out.push_str("}}");
        out
    }

    /// Keras's `tokenizer_from_json`: restores every field of a tokenizer saved by
    /// [`to_json`](Self::to_json) or by Python's `Tokenizer.to_json()`.
    pub fn from_json(json: &str) -> Result<Tokenizer, TextError> {
        let bad = |m: String| TextError::Json(m);
        let root: Value = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        let config = root
            .get("config")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("no \"config\" object".into()))?;
        let defaults = TokenizerConfig::default();
        let num_words = match config.get("num_words") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .ok_or_else(|| bad(format!("num_words must be an integer or null, got {v}")))?
                    as usize,
            ),
        };
        let string = |k: &str, d: &str| -> Result<String, TextError> {
            match config.get(k) {
                None => Ok(d.to_string()),
                Some(v) => v
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("{k} must be a string, got {v}"))),
            }
        };
        let boolean = |k: &str, d: bool| -> Result<bool, TextError> {
            match config.get(k) {
                None => Ok(d),
                Some(v) => v
                    .as_bool()
                    .ok_or_else(|| bad(format!("{k} must be a boolean, got {v}"))),
            }
        };
        let oov_token = match config.get("oov_token") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_str()
                    .ok_or_else(|| bad(format!("oov_token must be a string or null, got {v}")))?
                    .to_string(),
            ),
        };
        let tok_config = TokenizerConfig {
            num_words,
            filters: string("filters", &defaults.filters)?,
            lower: boolean("lower", defaults.lower)?,
            split: string("split", &defaults.split)?,
            char_level: boolean("char_level", defaults.char_level)?,
            oov_token,
            ..defaults
        };
        let mut tok = Tokenizer::new(tok_config);
        tok.document_count = match config.get("document_count") {
            None => 0,
            Some(v) => v
                .as_u64()
                .ok_or_else(|| bad(format!("document_count must be an integer, got {v}")))?,
        };
        let inner = |k: &str| -> Result<Map<String, Value>, TextError> {
            let s = config
                .get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("{k} must be a JSON string")))?;
            match serde_json::from_str(s).map_err(|e| bad(format!("{k}: {e}")))? {
                Value::Object(m) => Ok(m),
                other => Err(bad(format!("{k} must encode an object, got {other}"))),
            }
        };
        let uint = |k: &str, v: &Value| {
            v.as_u64()
                .ok_or_else(|| bad(format!("{k}: {v} is not a non-negative integer")))
        };
        let int_key = |k: &str, key: &str| {
            key.parse::<i64>()
                .map_err(|_| bad(format!("{k}: key {key:?} is not an integer")))
        };
        let counts = inner("word_counts")?;
        let docs = inner("word_docs")?;
        let mut words: FxIndexMap<String, WordStats> = FxIndexMap::default();
        for (w, c) in &counts {
            let d = docs
                .get(w)
                .ok_or_else(|| bad(format!("word_docs lacks {w:?}, which word_counts has")))?;
            words.insert(
                w.clone(),
                WordStats {
                    count: uint("word_counts", c)?,
                    docs: uint("word_docs", d)?,
                },
            );
        }
        if let Some(w) = docs.keys().find(|w| !counts.contains_key(*w)) {
            return Err(bad(format!("word_docs has {w:?}, which word_counts lacks")));
        }
        tok.words = words;
        for (k, v) in inner("index_docs")? {
            tok.index_docs
                .insert(int_key("index_docs", &k)?, uint("index_docs", &v)?);
        }
        let to_u32 = |k: &str, v: u64| u32::try_from(v).map_err(|_| bad(format!("{k}: index {v} is too large")));
        for (k, v) in inner("index_word")? {
            let i = int_key("index_word", &k)?;
            let i = to_u32(
                "index_word",
                u64::try_from(i).map_err(|_| bad(format!("index_word: negative key {i}")))?,
            )?;
            let w = v
                .as_str()
                .ok_or_else(|| bad(format!("index_word: {v} is not a string")))?;
            tok.index_word.insert(i, w.to_string());
        }
        for (w, v) in inner("word_index")? {
            tok.word_index.insert(w, to_u32("word_index", uint("word_index", &v)?)?);
        }
        check_vocabulary(&mut tok)?;
        Ok(tok)
    }
}

/// Refuses a vocabulary that contradicts itself (Keras would load it and encode wrongly): an
/// index 0 (the padding id), one index for two words, an `index_word` that is not the inverse of
/// `word_index`, counts for a word without an index. The last is what a vocabulary trimmed to
/// `num_words` looks like (every index below `num_words`): then it loads with
/// [`TokenizerConfig::trim_vocabulary`] set.
fn check_vocabulary(tok: &mut Tokenizer) -> Result<(), TextError> {
    let bad = |m: String| Err(TextError::Json(m));
    let mut owner: rustc_hash::FxHashMap<u32, &str> = rustc_hash::FxHashMap::default();
    for (w, &i) in &tok.word_index {
        if i == 0 {
            return bad(format!(
                "word_index gives {w:?} index 0, which is reserved for padding; indices start at 1"
            ));
        }
        if let Some(other) = owner.insert(i, w) {
            return bad(format!("word_index gives {other:?} and {w:?} the same index {i}"));
        }
    }
    if tok.index_word.len() != tok.word_index.len() {
        return bad(format!(
            "index_word has {} entries but word_index {}; one must be the inverse of the other",
            tok.index_word.len(),
            tok.word_index.len()
        ));
    }
    for (&i, w) in &tok.index_word {
        if owner.get(&i) != Some(&w.as_str()) {
            return bad(format!(
                "index_word maps {i} to {w:?} but word_index maps {w:?} to {:?}",
                tok.word_index.get(w)
            ));
        }
    }
    let unindexed = tok.words.keys().find(|w| !tok.word_index.contains_key(*w));
    if let Some(w) = unindexed {
        let limit = tok.config.num_words.filter(|&n| n > 0);
        let trimmed = limit.is_some_and(|n| tok.word_index.values().all(|&i| (i as usize) < n));
        if !trimmed {
            return bad(format!("word_counts has {w:?}, which word_index lacks"));
        }
        tok.config.trim_vocabulary = true;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_escapes() {
        let mut s = String::new();
        push_py_str(&mut s, "a\"\\\n\u{7f}é😀\u{1}");
        assert_eq!(s, r#""a\"\\\n\u007f\u00e9\ud83d\ude00\u0001""#);
    }
}
