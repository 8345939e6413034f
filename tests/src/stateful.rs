//! `stateful/cases.json`: recurrent models that Keras ran with `stateful=True` on two
//! consecutive pieces of a batch (the state of each row carried from the first call into the
//! second), and without it on the joined sequence (`tests/oracle/stateful.py`).
//!
//! Each model is built from Keras's layer specs (`stateful` as Keras wrote it, the batch size
//! fixed as Keras requires) and Keras's weights, and checked within
//! [`TOLERANCE`]`·(1 + |want|)` twice:
//! - the layers themselves: two `Sequential::forward` calls give Keras's two stateful outputs,
//!   and after `reset_states()` the first call's again;
//! - compiled into a [`Predictor`]: `predict_from` on x1 then x2 with one carried
//!   [`State`](rnnlab_layers::State) gives the same two outputs; one window over the joined
//!   sequence gives the same x2 part; one-step updates through both pieces end on the same
//!   output. (Not for Bidirectional models, `"joined_tail": null`: the Predictor refuses them.)

use rnnlab_layers::burn::tensor::{Device, Tensor, TensorData};
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
    /// `None` where two calls are not one joined call (Bidirectional: the backward copy).
    joined_tail: Option<Array>,
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

fn model(case: &Case, device: &Device) -> Result<Sequential, String> {
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
    Sequential::from_keras_specs(Shape::sequence(case.features), &case.layers, device)
        .and_then(|m| m.with_keras_weights(&weights, device))
        .and_then(|m| m.with_batch_size(case.x1.shape.first().copied()))
        .map_err(|e| e.to_string())
}

fn run_case(case: &Case) -> Result<(), String> {
    let device = Backend::Flex.device().map_err(|e| e.to_string())?;
    let model = model(case, &device)?;
    if !model.is_stateful() {
        return Err("the model built from the specs is not stateful".into());
    }
    let err = |e: rnnlab_layers::LayersError| e.to_string();

    // The layers carry the state themselves.
    let forward = |x: &Array| -> Result<Vec<f64>, String> {
        let input = Tensor::<3>::from_data(TensorData::new(x.floats(), x.shape.clone()), &device);
        model.forward1(input.into()).and_then(|y| y.to_vec()).map_err(err)
    };
    close_slices(
        "stateful layers, first call",
        &forward(&case.x1)?,
        &case.y1.data,
        TOLERANCE,
    )?;
    close_slices(
        "stateful layers, second call",
        &forward(&case.x2)?,
        &case.y2.data,
        TOLERANCE,
    )?;
    model.reset_states();
    close_slices(
        "stateful layers after reset_states()",
        &forward(&case.x1)?,
        &case.y1.data,
        TOLERANCE,
    )?;

    let Some(joined_tail) = &case.joined_tail else {
        return Ok(()); // Bidirectional, which the Predictor does not run
    };
    let p = Predictor::new(&model).map_err(err)?;
    let (batch, t1, t2, f) = (case.x1.shape[0], case.x1.shape[1], case.x2.shape[1], case.features);
    let wide = |v: Vec<f32>| -> Vec<f64> { v.into_iter().map(f64::from).collect() };
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
    close_slices("joined sequence, x2 part", &wide(tail), &joined_tail.data, TOLERANCE)?;

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
