//! `keras/*.jsonl`: Tokenizer, pad_sequences, text_to_word_sequence, hashing_trick (md5).
//!
//! Each case runs the rnnlab-text API on the case's inputs and compares with Keras's outputs.
//! Three documented deviations (rnnlab validates eagerly where Keras fails late: padding /
//! truncating strings, `maxlen=0`, unknown matrix modes) make a case *skipped* with that reason
//! when Keras's lenient output was recorded; inputs that Rust's types cannot even express (a
//! non-list `sequences`, a negative `maxlen`, a string padding value for an integer dtype) are
//! skipped likewise.

use serde_json::Value;

use crate::Outcome;
use rnnlab_text::{
    AsText, MatrixMode, PadOptions, Side, TextError, TextRef, Tokenizer, TokenizerConfig, hashing_trick_md5,
    pad_sequences, pad_sequences_vectors, text_to_word_sequence,
};

/// A case result before it becomes an [`Outcome`]: `Err(Fail)` stops the case; a deviation is
/// remembered and reported as a skip if nothing failed.
type Check = Result<(), String>;

/// Runs one file of the `keras` family.
pub fn run_file(name: &str, text: &str) -> Result<Vec<(String, Outcome)>, String> {
    let runner: fn(&Value) -> Outcome = match name {
        "tokenizer.jsonl" => tokenizer_case,
        "pad_sequences.jsonl" => pad_case,
        "text_functions.jsonl" => text_function_case,
        other => {
            return Ok(vec![(
                other.to_string(),
                Outcome::Skip(format!("unknown keras fixture file {other:?}")),
            )]);
        }
    };
    let mut out = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let case: Value = serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", n + 1))?;
        let id = case
            .get("id")
            .and_then(Value::as_str)
            .ok_or(format!("line {}: no \"id\"", n + 1))?;
        if case.get("inputs").is_none() || case.get("expected").is_none() {
            return Err(format!("line {}: unexpected schema: no \"inputs\"/\"expected\"", n + 1));
        }
        out.push((id.to_string(), runner(&case)));
    }
    Ok(out)
}

fn expected_error(v: &Value) -> Option<&str> {
    v.get("error").and_then(|e| e.get("type")).and_then(Value::as_str)
}

/// Compares a fallible rnnlab result with an expected value-or-error.
fn compare<T>(
    what: &str,
    got: Result<T, TextError>,
    want: &Value,
    deviations: &mut Vec<String>,
    check: impl FnOnce(T, &Value) -> Check,
) -> Check {
    match (got, expected_error(want)) {
        (Ok(v), None) => check(v, want).map_err(|e| format!("{what}: {e}")),
        (Ok(_), Some(t)) => Err(format!("{what}: expected {t}, got a value")),
        (Err(e), Some(t)) if e.keras_exception() == t => Ok(()),
        (Err(e), Some(t)) => Err(format!("{what}: expected {t}, got {} ({e})", e.keras_exception())),
        (Err(e), None) if is_eager_deviation(&e) => {
            deviations.push(format!("{what}: documented deviation (rnnlab validates eagerly): {e}"));
            Ok(())
        }
        (Err(e), None) => Err(format!("{what}: unexpected error {e}")),
    }
}

fn is_eager_deviation(e: &TextError) -> bool {
    matches!(
        e,
        TextError::UnknownSide { .. } | TextError::ZeroMaxlen | TextError::UnknownMode(_)
    )
}

fn finish(result: Check, deviations: Vec<String>) -> Outcome {
    match result {
        Err(e) => Outcome::Fail(e),
        Ok(()) if deviations.is_empty() => Outcome::Pass,
        Ok(()) => Outcome::Skip(deviations.join("; ")),
    }
}

// ---------------------------------------------------------------- tokenizer

/// One text of a fixture: a string or a token list.
enum Txt {
    Raw(String),
    Tokens(Vec<String>),
}

impl AsText for Txt {
    fn as_text(&self) -> TextRef<'_> {
        match self {
            Txt::Raw(s) => TextRef::Raw(s),
            Txt::Tokens(t) => t.as_text(),
        }
    }
}

fn texts(v: &Value) -> Result<Vec<Txt>, String> {
    v.as_array()
        .ok_or("texts must be an array")?
        .iter()
        .map(|t| match t {
            Value::String(s) => Ok(Txt::Raw(s.clone())),
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map(str::to_string).ok_or("token list with a non-string"))
                .collect::<Result<_, _>>()
                .map(Txt::Tokens)
                .map_err(str::to_string),
            other => Err(format!("text must be a string or a list, got {other}")),
        })
        .collect()
}

fn int_lists(v: &Value) -> Result<Vec<Vec<i64>>, String> {
    v.as_array()
        .ok_or("sequences must be an array")?
        .iter()
        .map(|s| {
            s.as_array()
                .ok_or("a sequence must be an array")?
                .iter()
                .map(|i| i.as_i64().ok_or("sequence element is not an integer"))
                .collect::<Result<Vec<_>, _>>()
                .map_err(str::to_string)
        })
        .collect()
}

fn config(v: &Value) -> Result<TokenizerConfig, String> {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or(format!("config.{k}"))
    };
    let b = |k: &str| v.get(k).and_then(Value::as_bool).ok_or(format!("config.{k}"));
    Ok(TokenizerConfig {
        num_words: match v.get("num_words") {
            Some(Value::Null) => None,
            Some(n) => Some(n.as_u64().ok_or("config.num_words")? as usize),
            None => return Err("config.num_words missing".into()),
        },
        filters: s("filters")?,
        lower: b("lower")?,
        split: s("split")?,
        char_level: b("char_level")?,
        oov_token: match v.get("oov_token") {
            Some(Value::Null) => None,
            Some(t) => Some(t.as_str().ok_or("config.oov_token")?.to_string()),
            None => return Err("config.oov_token missing".into()),
        },
        ..TokenizerConfig::default()
    })
}

fn tokenizer_case(case: &Value) -> Outcome {
    let mut deviations = Vec::new();
    let r = tokenizer_checks(case, &mut deviations);
    finish(r, deviations)
}

fn tokenizer_checks(case: &Value, dev: &mut Vec<String>) -> Check {
    let inputs = &case["inputs"];
    let want = &case["expected"];
    let mut tok = Tokenizer::new(config(&inputs["config"])?);
    let mut fit_result: Result<(), TextError> = Ok(());
    for op in inputs["fit"].as_array().ok_or("fit must be an array")? {
        fit_result = match op["op"].as_str() {
            Some("fit_on_texts") => tok.fit_on_texts(texts(&op["texts"])?),
            Some("fit_on_sequences") => {
                tok.fit_on_sequences(&int_lists(&op["sequences"])?);
                Ok(())
            }
            other => return Err(format!("unknown fit op {other:?}")),
        };
        if fit_result.is_err() {
            break;
        }
    }
    if let Some(fit_error) = want.get("fit_error") {
        return compare("fit", fit_result, fit_error, dev, |_, _| Ok(()));
    }
    fit_result.map_err(|e| format!("fit: unexpected error {e}"))?;
    check_tokenizer_outputs(&tok, inputs, want, dev)?;
    check_to_json(&tok, &want["to_json"])?;
    if let Some(rt) = want.get("roundtrip") {
        // Python → Rust: load what Keras wrote (re-serialized), and Rust → Rust.
        let keras_json = serde_json::to_string(&want["to_json"]).map_err(|e| e.to_string())?;
        let restored = Tokenizer::from_json(&keras_json).map_err(|e| format!("from_json(Keras JSON): {e}"))?;
        check_query_outputs(&restored, inputs, rt, dev).map_err(|e| format!("roundtrip: {e}"))?;
        check_to_json(&restored, &rt["to_json"]).map_err(|e| format!("roundtrip: {e}"))?;
        let ours = Tokenizer::from_json(&tok.to_json()).map_err(|e| format!("from_json(to_json()): {e}"))?;
        if ours != tok {
            return Err("from_json(to_json(t)) differs from t".into());
        }
    }
    Ok(())
}

fn check_tokenizer_outputs(tok: &Tokenizer, inputs: &Value, want: &Value, dev: &mut Vec<String>) -> Check {
    let pairs_str_int = |v: &Value| -> Result<Vec<(String, i64)>, String> {
        v.as_array()
            .ok_or("expected a list of pairs")?
            .iter()
            .map(|p| {
                Ok((
                    p[0].as_str().ok_or("pair key")?.to_string(),
                    p[1].as_i64().ok_or("pair value")?,
                ))
            })
            .collect()
    };
    let got_counts: Vec<(String, i64)> = tok.word_counts().map(|(w, c)| (w.to_string(), c as i64)).collect();
    if got_counts != pairs_str_int(&want["word_counts"])? {
        return Err(format!("word_counts differ: got {got_counts:?}"));
    }
    let mut got_docs: Vec<(String, i64)> = tok.word_docs().map(|(w, c)| (w.to_string(), c as i64)).collect();
    let mut want_docs = pairs_str_int(&want["word_docs"])?;
    got_docs.sort();
    want_docs.sort();
    if got_docs != want_docs {
        return Err(format!("word_docs differ (as maps): got {got_docs:?}"));
    }
    let mut got_idocs: Vec<(i64, i64)> = tok.index_docs().map(|(i, d)| (i, d as i64)).collect();
    let mut want_idocs: Vec<(i64, i64)> = want["index_docs"]
        .as_array()
        .ok_or("index_docs")?
        .iter()
        .map(|p| {
            Ok((
                p[0].as_i64().ok_or("index_docs key")?,
                p[1].as_i64().ok_or("index_docs value")?,
            ))
        })
        .collect::<Result<_, String>>()?;
    got_idocs.sort();
    want_idocs.sort();
    if got_idocs != want_idocs {
        return Err(format!(
            "index_docs differ (as maps): got {got_idocs:?}, want {want_idocs:?}"
        ));
    }
    let got_wi: Vec<(String, i64)> = tok.word_index().map(|(w, i)| (w.to_string(), i64::from(i))).collect();
    if got_wi != pairs_str_int(&want["word_index"])? {
        return Err(format!("word_index differs: got {got_wi:?}"));
    }
    let got_iw: Vec<(i64, String)> = tok.index_word().map(|(i, w)| (i64::from(i), w.to_string())).collect();
    let want_iw: Vec<(i64, String)> = want["index_word"]
        .as_array()
        .ok_or("index_word")?
        .iter()
        .map(|p| {
            Ok((
                p[0].as_i64().ok_or("index_word key")?,
                p[1].as_str().ok_or("index_word value")?.to_string(),
            ))
        })
        .collect::<Result<_, String>>()?;
    if got_iw != want_iw {
        return Err(format!("index_word differs: got {got_iw:?}"));
    }
    check_query_outputs(tok, inputs, want, dev)
}

fn check_query_outputs(tok: &Tokenizer, inputs: &Value, want: &Value, dev: &mut Vec<String>) -> Check {
    if want["document_count"].as_u64() != Some(tok.document_count()) {
        return Err(format!(
            "document_count {} != {}",
            tok.document_count(),
            want["document_count"]
        ));
    }
    let query = texts(&inputs["query_texts"])?;
    let qseq = int_lists(&inputs["query_sequences"])?;
    compare(
        "texts_to_sequences",
        tok.texts_to_sequences(&query),
        &want["texts_to_sequences"],
        dev,
        |got, w| {
            let w = int_lists(w)?;
            let got: Vec<Vec<i64>> = got
                .into_iter()
                .map(|s| s.into_iter().map(i64::from).collect())
                .collect();
            if got == w {
                Ok(())
            } else {
                Err(format!("got {got:?}, want {w:?}"))
            }
        },
    )?;
    compare(
        "sequences_to_texts",
        tok.sequences_to_texts(&qseq),
        &want["sequences_to_texts"],
        dev,
        |got, w| {
            let w: Vec<&str> = w
                .as_array()
                .ok_or("list")?
                .iter()
                .map(|s| s.as_str().unwrap_or("\u{0}"))
                .collect();
            if got == w {
                Ok(())
            } else {
                Err(format!("got {got:?}, want {w:?}"))
            }
        },
    )?;
    let modes: Vec<&str> = inputs["matrix_modes"]
        .as_array()
        .ok_or("matrix_modes")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for mode in modes {
        let parsed: Result<MatrixMode, TextError> = mode.parse();
        let t2m = parsed.clone().and_then(|m| tok.texts_to_matrix(&query, m));
        compare(
            &format!("texts_to_matrix[{mode}]"),
            t2m,
            &want["texts_to_matrix"][mode],
            dev,
            |m, w| check_matrix(&m, w, mode),
        )?;
        let s2m = parsed.and_then(|m| tok.sequences_to_matrix(&qseq, m));
        compare(
            &format!("sequences_to_matrix[{mode}]"),
            s2m,
            &want["sequences_to_matrix"][mode],
            dev,
            |m, w| check_matrix(&m, w, mode),
        )?;
    }
    Ok(())
}

fn check_matrix(m: &rnnlab_text::Matrix, want: &Value, mode: &str) -> Check {
    let shape = want["shape"].as_array().ok_or("matrix shape")?;
    let (rows, cols) = (
        shape[0].as_u64().ok_or("rows")? as usize,
        shape[1].as_u64().ok_or("cols")? as usize,
    );
    if (m.rows, m.cols) != (rows, cols) {
        return Err(format!("shape ({}, {}), want ({rows}, {cols})", m.rows, m.cols));
    }
    let mut dense = vec![0.0f64; rows * cols];
    for e in want["nonzero"].as_array().ok_or("nonzero")? {
        let (r, c) = (
            e[0].as_u64().ok_or("row")? as usize,
            e[1].as_u64().ok_or("col")? as usize,
        );
        dense[r * cols + c] = e[2].as_f64().ok_or("value")?;
    }
    let tol = if matches!(mode, "tfidf" | "freq") { 1e-6 } else { 0.0 };
    for (i, (g, w)) in m.data.iter().zip(&dense).enumerate() {
        let within = (g - w).abs() <= tol;
        if !within {
            return Err(format!("cell ({}, {}): got {g}, want {w}", i / cols, i % cols));
        }
    }
    Ok(())
}

/// `to_json` after one parse: same outer structure and key order; `word_counts`, `word_index`
/// and `index_word` strings byte for byte; `word_docs` and `index_docs` as maps (Keras's order
/// there follows Python's string hash).
fn check_to_json(tok: &Tokenizer, want: &Value) -> Check {
    let ours = tok.to_json();
    let got: Value = serde_json::from_str(&ours).map_err(|e| format!("to_json is not JSON: {e}"))?;
    let (g, w) = (&got["config"], &want["config"]);
    let keys = |v: &Value| {
        v.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    if keys(&got) != keys(want) || keys(g) != keys(w) {
        return Err(format!(
            "to_json keys {:?}/{:?}, want {:?}/{:?}",
            keys(&got),
            keys(g),
            keys(want),
            keys(w)
        ));
    }
    for (k, gv) in g.as_object().ok_or("config")? {
        let wv = &w[k.as_str()];
        let same = match k.as_str() {
            "word_docs" | "index_docs" => {
                let parse = |v: &Value| -> Result<serde_json::Map<String, Value>, String> {
                    serde_json::from_str(v.as_str().ok_or("not a string")?).map_err(|e| e.to_string())
                };
                let (mut a, mut b): (Vec<_>, Vec<_>) =
                    (parse(gv)?.into_iter().collect(), parse(wv)?.into_iter().collect());
                a.sort_by(|x, y| x.0.cmp(&y.0));
                b.sort_by(|x, y| x.0.cmp(&y.0));
                a == b
            }
            _ => gv == wv,
        };
        if !same {
            return Err(format!("to_json config.{k}: got {gv}, want {wv}"));
        }
    }
    if got["class_name"] != want["class_name"] {
        return Err("to_json class_name differs".into());
    }
    Ok(())
}

// ---------------------------------------------------------------- pad_sequences

/// One element of a padded array in the dtype the case asks for.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Int(i64),
    F32(f32),
    F64(f64),
    Str(String),
    Obj(Value),
}

enum Dtype {
    Int,
    F32,
    F64,
    Object,
    Unicode(usize),
}

/// Python's `str()` of a JSON number, for numbers cast to a numpy unicode dtype.
fn py_str_number(v: &Value) -> String {
    match v.as_i64() {
        Some(i) if !v.is_f64() => i.to_string(),
        _ => {
            let f = v.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() < 1e16 {
                format!("{f:.1}")
            } else {
                format!("{f}")
            }
        }
    }
}

/// numpy's cast of a Python value to `dtype`; `None` where numpy would refuse.
fn cast(v: &Value, dtype: &Dtype) -> Option<Cell> {
    Some(match dtype {
        Dtype::Int => match v.as_i64() {
            Some(i) if !v.is_f64() => Cell::Int(i),
            _ => Cell::Int(v.as_f64()?.trunc() as i64),
        },
        Dtype::F32 => Cell::F32(v.as_f64()? as f32),
        Dtype::F64 => Cell::F64(v.as_f64()?),
        Dtype::Object => Cell::Obj(v.clone()),
        Dtype::Unicode(n) => {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(_) => py_str_number(v),
                _ => return None,
            };
            Cell::Str(s.chars().take(*n).collect())
        }
    })
}

fn pad_case(case: &Value) -> Outcome {
    let mut deviations = Vec::new();
    let r = pad_checks(&case["inputs"], &case["expected"], &mut deviations);
    match r {
        Err(e) if e.starts_with("SKIP ") => Outcome::Skip(e[5..].to_string()),
        r => finish(r, deviations),
    }
}

fn pad_checks(inputs: &Value, want: &Value, dev: &mut Vec<String>) -> Check {
    let skip_unless_error = |why: &str| -> Check {
        match expected_error(want) {
            Some(_) => Err(format!(
                "SKIP Keras raises here; in rnnlab the input cannot be expressed: {why}"
            )),
            None => Err(format!("Keras accepted an input rnnlab cannot express: {why}")),
        }
    };
    let dtype_name = inputs["dtype"].as_str().ok_or("dtype")?;
    let dtype = match dtype_name {
        "int32" | "int64" => Dtype::Int,
        "float32" => Dtype::F32,
        "float64" => Dtype::F64,
        "object" => Dtype::Object,
        u if u.starts_with("<U") => Dtype::Unicode(u[2..].parse().map_err(|_| format!("dtype {u}"))?),
        other => return Err(format!("SKIP dtype {other} is not modelled")),
    };
    let Some(seqs) = inputs["sequences"].as_array() else {
        return skip_unless_error("`sequences` must be a slice");
    };
    if seqs.iter().any(|s| !s.is_array()) {
        return skip_unless_error("every sequence must be a slice");
    }
    let maxlen = match &inputs["maxlen"] {
        Value::Null => None,
        v => match v.as_i64() {
            Some(m) if m < 0 => return skip_unless_error("maxlen is a usize"),
            Some(m) => Some(m as usize),
            None => return Err(format!("maxlen {v}")),
        },
    };
    let value = &inputs["value"];
    if value.is_string() && matches!(dtype, Dtype::Int | Dtype::F32 | Dtype::F64) {
        return skip_unless_error("a string padding value for a numeric element type");
    }
    let value = cast(value, &dtype).ok_or("value cannot be cast")?;
    let sides = Side::parse("truncating", inputs["truncating"].as_str().unwrap_or(""))
        .and_then(|t| Side::parse("padding", inputs["padding"].as_str().unwrap_or("")).map(|p| (t, p)));
    let result = sides.and_then(|(truncating, padding)| {
        let opts = PadOptions {
            maxlen,
            padding,
            truncating,
            value,
        };
        let vector_samples = seqs
            .iter()
            .find_map(|s| s.as_array().and_then(|a| a.first()))
            .is_some_and(Value::is_array);
        let cell = |v: &Value| cast(v, &dtype).unwrap_or(Cell::Obj(Value::Null));
        if vector_samples {
            let rows: Vec<Vec<Vec<Cell>>> = seqs
                .iter()
                .map(|s| {
                    let steps = s.as_array().map(Vec::as_slice).unwrap_or_default();
                    steps
                        .iter()
                        .map(|v| v.as_array().map(|a| a.iter().map(cell).collect()).unwrap_or_default())
                        .collect()
                })
                .collect();
            pad_sequences_vectors(&rows, &opts)
        } else {
            let rows: Vec<Vec<Cell>> = seqs
                .iter()
                .map(|s| s.as_array().map(|a| a.iter().map(cell).collect()).unwrap_or_default())
                .collect();
            pad_sequences(&rows, &opts)
        }
    });
    compare("pad_sequences", result, want, dev, |p, w| {
        let shape: Vec<usize> = w["shape"]
            .as_array()
            .ok_or("shape")?
            .iter()
            .map(|d| d.as_u64().unwrap_or(0) as usize)
            .collect();
        // Vector timesteps of length 1 are still 3-D in numpy.
        let got_shape = if shape.len() == 2 {
            p.shape()
        } else {
            vec![p.rows, p.cols, p.features]
        };
        if got_shape != shape {
            return Err(format!("shape {got_shape:?}, want {shape:?}"));
        }
        if w["dtype"].as_str() != Some(dtype_name) {
            return Err(format!("dtype {dtype_name}, want {}", w["dtype"]));
        }
        let mut flat = Vec::new();
        flatten(&w["array"], &mut flat);
        if flat.len() != p.data.len() {
            return Err(format!("{} values, want {}", p.data.len(), flat.len()));
        }
        for (i, (g, wv)) in p.data.iter().zip(flat).enumerate() {
            let ok = match g {
                Cell::Int(x) => wv.as_i64() == Some(*x),
                Cell::F32(x) => wv.as_f64().map(|f| f as f32) == Some(*x),
                Cell::F64(x) => wv.as_f64() == Some(*x),
                Cell::Str(s) => wv.as_str() == Some(s.as_str()),
                Cell::Obj(v) => v == wv,
            };
            if !ok {
                return Err(format!("element {i}: got {g:?}, want {wv}"));
            }
        }
        Ok(())
    })
}

fn flatten<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flatten(x, out)),
        other => out.push(other),
    }
}

// ---------------------------------------------------------------- text functions

fn text_function_case(case: &Value) -> Outcome {
    let i = &case["inputs"];
    let want = &case["expected"];
    let mut dev = Vec::new();
    let s = |k: &str| i[k].as_str().unwrap_or_default();
    let lower = i["lower"].as_bool().unwrap_or(true);
    let r = match case["function"].as_str().or_else(|| i["function"].as_str()) {
        Some("text_to_word_sequence") => compare(
            "text_to_word_sequence",
            text_to_word_sequence(s("text"), s("filters"), lower, s("split")),
            want,
            &mut dev,
            |got, w| {
                let w: Vec<&str> = w["tokens"]
                    .as_array()
                    .ok_or("tokens")?
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                if got == w {
                    Ok(())
                } else {
                    Err(format!("got {got:?}, want {w:?}"))
                }
            },
        ),
        Some("hashing_trick") => {
            if i["hash_function"].as_str() != Some("md5") {
                return Outcome::Skip("only hash_function='md5' is reproducible".into());
            }
            let Some(n) = i["n"].as_i64() else {
                return Outcome::Fail("n is not an integer".into());
            };
            compare(
                "hashing_trick",
                hashing_trick_md5(s("text"), n, s("filters"), lower, s("split")),
                want,
                &mut dev,
                |got, w| {
                    let w: Vec<i64> = w["indices"]
                        .as_array()
                        .ok_or("indices")?
                        .iter()
                        .filter_map(Value::as_i64)
                        .collect();
                    if got == w {
                        Ok(())
                    } else {
                        Err(format!("got {got:?}, want {w:?}"))
                    }
                },
            )
        }
        other => return Outcome::Skip(format!("unknown text function {other:?}")),
    };
    finish(r, dev)
}
