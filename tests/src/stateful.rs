//! `stateful/cases.json`: recurrent models that Keras ran with `stateful=True` on two
//! consecutive pieces of a batch (the state of each row carried from the first call into the
//! second), and without it on the joined sequence (`tests/oracle/stateful.py`).
//!
//! Each model is built from Keras's layer specs (with `stateful` off: rnnlab carries state in
//! [`Predictor`]'s [`State`](rnnlab_layers::State), not in the layers) and Keras's weights,
//! compiled into a [`Predictor`], and checked within [`TOLERANCE`]`·(1 + |want|)`:
//! `predict_from` on x1 then x2 with one carried state gives Keras's two stateful outputs; one
//! window over the joined sequence gives the same x2 part; one-step updates through both pieces
//! end on the same output.

use rnnlab_layers::{Backend, KerasArray, Predictor, Sequential, Shape};
use serde::Deserialize;
use serde_json::Value;

use crate::layers::TOLERANCE;
use crate::{Outcome, close_slices};

#[derive(Deserialize)]
struct Array {
    shape: Vec<usize>,
    data: Vec<f64>,
}

impl Array {
    fn floats(&self) -> Vec<f32> {
        self.data.iter().map(|&v| v as f32).collect()
    }
}

#[derive(Deserialize)]
struct Case {
    name: String,
    features: usize,
    layers: Vec<Value>,
    weights: Vec<Vec<Array>>,
    x1: Array,
    x2: Array,
    y1: Array,
    y2: Array,
    joined_tail: Array,
}

#[derive(Deserialize)]
struct File {
    cases: Vec<Case>,
}

/// Runs one `stateful` case file.
pub fn run_file(_name: &str, text: &str) -> Result<Vec<(String, Outcome)>, String> {
    let file: File = serde_json::from_str(text).map_err(|e| format!("unexpected schema: {e}"))?;
    Ok(file
        .cases
        .iter()
        .map(|case| {
            let outcome = match run_case(case) {
                Ok(()) => Outcome::Pass,
                Err(e) => Outcome::Fail(e),
            };
            (case.name.clone(), outcome)
        })
        .collect())
}

fn model(case: &Case) -> Result<Sequential, String> {
    let device = Backend::Flex.device().map_err(|e| e.to_string())?;
    let specs: Vec<Value> = case
        .layers
        .iter()
        .cloned()
        .map(|mut spec| {
            if let Some(config) = spec.get_mut("config").and_then(Value::as_object_mut) {
                config.insert("stateful".into(), Value::Bool(false));
            }
            spec
        })
        .collect();
    let weights: Vec<Vec<KerasArray>> = case
        .weights
        .iter()
        .map(|layer| {
            layer
                .iter()
                .enumerate()
                .map(|(i, a)| KerasArray::new(format!("w{i}"), a.shape.clone(), a.data.clone()))
                .collect()
        })
        .collect();
    Sequential::from_keras_specs(Shape::sequence(case.features), &specs, &device)
        .and_then(|m| m.with_keras_weights(&weights, &device))
        .map_err(|e| e.to_string())
}

fn run_case(case: &Case) -> Result<(), String> {
    let p = Predictor::new(&model(case)?).map_err(|e| e.to_string())?;
    let (batch, t1, t2, f) = (case.x1.shape[0], case.x1.shape[1], case.x2.shape[1], case.features);
    let wide = |v: Vec<f32>| -> Vec<f64> { v.into_iter().map(f64::from).collect() };
    let err = |e: rnnlab_layers::LayersError| e.to_string();
    let mut state = p.state(batch);
    let y1 = p.predict_from(&mut state, &case.x1.floats(), batch, t1).map_err(err)?;
    close_slices("first call", &wide(y1), &case.y1.data, TOLERANCE)?;
    let y2 = p.predict_from(&mut state, &case.x2.floats(), batch, t2).map_err(err)?;
    close_slices(
        "second call (carried state)",
        &wide(y2.clone()),
        &case.y2.data,
        TOLERANCE,
    )?;

    // The joined sequence in one window, batch-major [batch, t1 + t2, f].
    let (x1, x2) = (case.x1.floats(), case.x2.floats());
    let joined: Vec<f32> = (0..batch)
        .flat_map(|b| {
            let first = &x1[b * t1 * f..(b + 1) * t1 * f];
            let second = &x2[b * t2 * f..(b + 1) * t2 * f];
            first.iter().chain(second).copied().collect::<Vec<_>>()
        })
        .collect();
    let whole = p.predict(&joined, batch, t1 + t2).map_err(err)?;
    let per_row = whole.len() / batch;
    let tail: Vec<f32> = if per_row == y2.len() / batch {
        whole
    } else {
        // A sequence output: keep the x2 steps.
        let width = per_row / (t1 + t2);
        (0..batch)
            .flat_map(|b| whole[b * per_row + t1 * width..(b + 1) * per_row].to_vec())
            .collect()
    };
    close_slices(
        "joined sequence, x2 part",
        &wide(tail),
        &case.joined_tail.data,
        TOLERANCE,
    )?;

    // One observation at a time through both pieces ends on the last output.
    let mut stepped = p.state(batch);
    let mut last = Vec::new();
    for (x, t) in [(&x1, t1), (&x2, t2)] {
        for s in 0..t {
            let obs: Vec<f32> = (0..batch)
                .flat_map(|b| x[(b * t + s) * f..(b * t + s + 1) * f].to_vec())
                .collect();
            last = p.step(&mut stepped, &obs).map_err(err)?;
        }
    }
    let width = last.len() / batch;
    let want: Vec<f64> = (0..batch)
        .flat_map(|b| {
            let row = &case.y2.data[b * (case.y2.data.len() / batch)..(b + 1) * (case.y2.data.len() / batch)];
            row[row.len() - width..].to_vec()
        })
        .collect();
    close_slices("one-step updates", &wide(last), &want, TOLERANCE)
}
