//! `layers/*.json`: Keras layer outputs and gradients, on every compiled CPU backend.
//!
//! Each case's model is built from its layer specs, loaded with its weights, switched to
//! inference (the fixtures are inference passes) on an autodiff device, and run; then
//! `loss = Σ_k Σ outputs[k] ⊙ R[k]` is backpropagated and the gradients of the input, the initial
//! states and every weight array are compared, `|got − want| ≤ 1e-5·(1 + |want|)`.

use serde::Deserialize;

use crate::{Outcome, close_slices};
use rnnlab_layers::burn::tensor::{Device, Int, Tensor, TensorData};
use rnnlab_layers::{AnyTensor, Backend, Input, KerasArray, Sequential, Shape, ValueKind, set_training};

/// f32 tolerance of the fixtures' README.
pub const TOLERANCE: f64 = 1e-5;

#[derive(Deserialize)]
struct File {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    name: String,
    shape: Vec<usize>,
    data: Vec<f64>,
}

#[derive(Deserialize)]
struct XInput {
    dtype: String,
    shape: Vec<usize>,
    data: Vec<f64>,
}

#[derive(Deserialize)]
struct Inputs {
    x: XInput,
    #[serde(default)]
    initial_state: Vec<Named>,
}

#[derive(Deserialize)]
struct Grads {
    #[serde(rename = "R")]
    r: Vec<Named>,
    x: Option<Named>,
    #[serde(default)]
    initial_state: Vec<Named>,
    weights: Vec<Vec<Named>>,
}

#[derive(Deserialize)]
struct Case {
    id: String,
    model: Vec<serde_json::Value>,
    weights: Vec<Vec<KerasArray>>,
    inputs: Inputs,
    outputs: Vec<Named>,
    grads: Grads,
}

/// The CPU backends this build checks layer cases on.
pub fn backends() -> Vec<Backend> {
    [Backend::Flex, Backend::Ndarray]
        .into_iter()
        .filter(|b| b.is_compiled())
        .collect()
}

/// Runs one file of the `layers` family.
pub fn run_file(_name: &str, text: &str) -> Result<Vec<(String, Outcome)>, String> {
    let file: File = serde_json::from_str(text).map_err(|e| format!("unexpected schema: {e}"))?;
    Ok(file
        .cases
        .iter()
        .map(|case| {
            let mut outcome = Outcome::Pass;
            for backend in backends() {
                if let Err(e) = run_case(case, backend) {
                    outcome = Outcome::Fail(format!("[{backend}] {e}"));
                    break;
                }
            }
            (case.id.clone(), outcome)
        })
        .collect())
}

fn tensor_any(n: &Named, device: &Device) -> Result<AnyTensor, String> {
    let data: Vec<f32> = n.data.iter().map(|&v| v as f32).collect();
    Ok(match n.shape.len() {
        1 => AnyTensor::D1(Tensor::from_data(TensorData::new(data, [n.shape[0]]), device)),
        2 => AnyTensor::D2(Tensor::from_data(
            TensorData::new(data, [n.shape[0], n.shape[1]]),
            device,
        )),
        3 => AnyTensor::D3(Tensor::from_data(
            TensorData::new(data, [n.shape[0], n.shape[1], n.shape[2]]),
            device,
        )),
        r => return Err(format!("{}: rank {r} is not supported", n.name)),
    })
}

fn track(t: AnyTensor) -> AnyTensor {
    match t {
        AnyTensor::D1(t) => AnyTensor::D1(t.require_grad()),
        AnyTensor::D2(t) => AnyTensor::D2(t.require_grad()),
        AnyTensor::D3(t) => AnyTensor::D3(t.require_grad()),
    }
}

fn compare(what: &str, got: Option<&AnyTensor>, want: &Named) -> Result<(), String> {
    let n: usize = want.shape.iter().product();
    let values = match got {
        Some(t) => {
            // Element counts must agree; GRU without reset_after stores its [3u] bias as [1, 3u].
            let dims = t.dims();
            if dims.iter().product::<usize>() != n {
                return Err(format!("{what}: shape {dims:?}, want {:?}", want.shape));
            }
            t.to_vec().map_err(|e| format!("{what}: {e}"))?
        }
        None => vec![0.0; n], // no gradient reached it: Keras's is then exactly zero
    };
    close_slices(what, &values, &want.data, TOLERANCE)
}

fn run_case(case: &Case, backend: Backend) -> Result<(), String> {
    let device = backend.device().map_err(|e| e.to_string())?.autodiff();
    if case.model.len() != case.weights.len() || case.grads.weights.len() != case.weights.len() {
        return Err("model, weights and weight gradients differ in length".into());
    }
    let x = &case.inputs.x;
    // The model's input shape: any batch and number of steps, the fixture's feature size.
    let input_shape = if x.dtype.starts_with("int") {
        Shape::tokens(None)
    } else {
        let mut dims: Vec<Option<usize>> = x.shape[1..].iter().map(|&d| Some(d)).collect();
        if dims.len() == 2 {
            dims[0] = None;
        }
        Shape::new(dims, ValueKind::Float)
    };
    let model = Sequential::from_keras_specs(input_shape, &case.model, &device)
        .and_then(|m| m.with_keras_weights(&case.weights, &device))
        .map_err(|e| e.to_string())?;
    // Inference mode first: mapping the module re-creates its running statistics untracked.
    let model = set_training(model, false).with_tracked_statistics();

    let (input, x_tensor) = if x.dtype.starts_with("int") {
        let ids: Vec<i64> = x.data.iter().map(|&v| v as i64).collect();
        let [b, t] = <[usize; 2]>::try_from(x.shape.as_slice()).map_err(|_| "token ids must be [batch, time]")?;
        (
            Input::Tokens(Tensor::<2, Int>::from_data(TensorData::new(ids, [b, t]), &device)),
            None,
        )
    } else {
        let t = track(tensor_any(
            &Named {
                name: "x".into(),
                shape: x.shape.clone(),
                data: x.data.clone(),
            },
            &device,
        )?);
        (Input::Float(t.clone()), Some(t))
    };
    let states: Vec<Tensor<2>> = case
        .inputs
        .initial_state
        .iter()
        .map(|s| match track(tensor_any(s, &device)?) {
            AnyTensor::D2(t) => Ok(t),
            _ => Err(format!("initial state {} is not [batch, units]", s.name)),
        })
        .collect::<Result<_, String>>()?;
    let init = (!states.is_empty()).then(|| states.clone());

    let outputs = model.forward(input, init).map_err(|e| e.to_string())?;
    if outputs.len() != case.outputs.len() {
        return Err(format!("{} outputs, want {}", outputs.len(), case.outputs.len()));
    }
    for (k, (got, want)) in outputs.iter().zip(&case.outputs).enumerate() {
        if got.dims() != want.shape {
            return Err(format!(
                "output {k} ({}): shape {:?}, want {:?}",
                want.name,
                got.dims(),
                want.shape
            ));
        }
        close_slices(
            &format!("output {k} ({})", want.name),
            &got.to_vec().map_err(|e| e.to_string())?,
            &want.data,
            TOLERANCE,
        )?;
    }

    let mut loss: Option<Tensor<1>> = None;
    for (out, r) in outputs.iter().zip(&case.grads.r) {
        let term = out.dot(&tensor_any(r, &device)?).map_err(|e| e.to_string())?;
        loss = Some(match loss {
            Some(l) => l + term,
            None => term,
        });
    }
    let grads = loss.ok_or("no outputs")?.backward();
    if let (Some(want), Some(xt)) = (&case.grads.x, &x_tensor) {
        compare("d loss / d x", xt.grad(&grads).as_ref(), want)?;
    }
    for (i, (st, want)) in states.iter().zip(&case.grads.initial_state).enumerate() {
        compare(
            &format!("d loss / d initial_state[{i}]"),
            st.grad(&grads).map(AnyTensor::D2).as_ref(),
            want,
        )?;
    }
    for (l, (layer, wants)) in model.layers().iter().zip(&case.grads.weights).enumerate() {
        let weights = layer.keras_weights();
        if weights.len() != wants.len() {
            return Err(format!(
                "layer {l}: {} weight arrays, want {}",
                weights.len(),
                wants.len()
            ));
        }
        for (w, want) in weights.iter().zip(wants) {
            compare(&format!("d loss / d {}", want.name), w.grad(&grads).as_ref(), want)?;
        }
    }
    Ok(())
}
