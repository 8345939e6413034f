//! The host predictor gives the model's numbers: whole windows against `Sequential::forward`,
//! one step at a time against whole windows, carried state against joined sequences, chunked
//! large batches against single rows; and it refuses what it cannot run.

use rnnlab_layers::burn::tensor::{Device, Tensor, TensorData};
use rnnlab_layers::{
    Activation, Backend, BidirectionalConfig, DenseConfig, FlattenConfig, GruConfig, KerasArray, LayersError,
    LstmConfig, Predictor, Sequential, SequentialBuilder, Shape, SimpleRnnConfig, TimeDistributedConfig,
};

fn device() -> Device {
    Backend::Flex.device().unwrap()
}

/// Deterministic values in about [-0.5, 0.5].
fn values(n: usize, salt: u64) -> Vec<f32> {
    let mut s = salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

/// The model with every weight (biases included) replaced by random values.
fn randomized(model: Sequential, device: &Device) -> Sequential {
    let weights: Vec<Vec<KerasArray>> = model
        .layers()
        .iter()
        .enumerate()
        .map(|(i, l)| {
            l.keras_weights()
                .iter()
                .enumerate()
                .map(|(j, w)| {
                    let dims = w.dims();
                    let n = dims.iter().product();
                    let v = values(n, (i * 10 + j) as u64 + 1)
                        .into_iter()
                        .map(|v| f64::from(v) * 1.2)
                        .collect();
                    KerasArray::new(format!("w{i}_{j}"), dims, v)
                })
                .collect()
        })
        .collect();
    model.with_keras_weights(&weights, device).unwrap()
}

fn build(b: SequentialBuilder, device: &Device) -> Sequential {
    randomized(b.build(device).unwrap(), device)
}

fn forward(model: &Sequential, x: &[f32], shape: [usize; 3], device: &Device) -> Vec<f32> {
    let t = Tensor::<3>::from_data(TensorData::new(x.to_vec(), shape), device);
    model
        .forward1(t.into())
        .unwrap()
        .to_vec()
        .unwrap()
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

fn close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(worst < 2e-5, "{what}: differs by {worst}");
}

fn models(device: &Device) -> Vec<(&'static str, Sequential)> {
    let seq = |f| Sequential::builder(Shape::sequence(f));
    vec![
        (
            "deep-rnn-dense",
            build(
                seq(2)
                    .add(SimpleRnnConfig::new(20).with_return_sequences(true))
                    .add(SimpleRnnConfig::new(20))
                    .add(DenseConfig::new(1)),
                device,
            ),
        ),
        (
            "seq2seq-lstm",
            build(
                seq(2)
                    .add(LstmConfig::new(12).with_return_sequences(true))
                    .add(LstmConfig::new(9).with_return_sequences(true))
                    .add(TimeDistributedConfig::new(DenseConfig::new(4))),
                device,
            ),
        ),
        (
            "gru-reset-after",
            build(
                seq(2)
                    .add(GruConfig::new(11))
                    .add(DenseConfig::new(3).with_activation(Activation::Softmax)),
                device,
            ),
        ),
        (
            "gru-reset-before",
            build(
                seq(2)
                    .add(GruConfig::new(7).with_reset_after(false).with_return_sequences(true))
                    .add(GruConfig::new(5).with_reset_after(false).with_use_bias(false))
                    .add(DenseConfig::new(2)),
                device,
            ),
        ),
        (
            "relu-hard-sigmoid",
            build(
                seq(2)
                    .add(
                        SimpleRnnConfig::new(6)
                            .with_activation(Activation::Relu)
                            .with_return_sequences(true),
                    )
                    .add(LstmConfig::new(6).with_recurrent_activation(Activation::HardSigmoid))
                    .add(DenseConfig::new(2).with_activation(Activation::Sigmoid)),
                device,
            ),
        ),
    ]
}

#[test]
fn windows_give_the_models_numbers() {
    let d = device();
    for (name, model) in models(&d) {
        let p = Predictor::new(&model).unwrap();
        for (batch, time) in [(1, 1), (1, 17), (3, 9), (40, 6)] {
            let x = values(batch * time * 2, batch as u64 * 31 + time as u64);
            close(
                &p.predict(&x, batch, time).unwrap(),
                &forward(&model, &x, [batch, time, 2], &d),
                name,
            );
        }
    }
}

#[test]
fn large_batches_in_chunks_give_each_rows_numbers() {
    let d = device();
    for (name, model) in models(&d) {
        let p = Predictor::new(&model).unwrap();
        let (batch, time) = (600, 5);
        let x = values(batch * time * 2, 7);
        let all = p.predict(&x, batch, time).unwrap();
        let width = all.len() / batch;
        for row in [0, 255, 256, 511, 512, 599] {
            let one = p.predict(&x[row * time * 2..(row + 1) * time * 2], 1, time).unwrap();
            close(&all[row * width..(row + 1) * width], &one, name);
        }
        close(&all, &forward(&model, &x, [batch, time, 2], &d), name);
    }
}

#[test]
fn a_rows_numbers_do_not_depend_on_its_batch() {
    // Batches of 16 rows and more run with the rows in the vector lanes, smaller ones with the
    // columns in them: the same sums in the same order, so the same bits.
    let d = device();
    for (name, model) in models(&d) {
        let p = Predictor::new(&model).unwrap();
        for (batch, time) in [(16, 4), (45, 7), (300, 3)] {
            let x = values(batch * time * 2, batch as u64);
            let all = p.predict(&x, batch, time).unwrap();
            let width = all.len() / batch;
            for row in 0..batch {
                let one = p.predict(&x[row * time * 2..(row + 1) * time * 2], 1, time).unwrap();
                assert_eq!(
                    all[row * width..(row + 1) * width],
                    one[..],
                    "{name}, batch {batch}, row {row}"
                );
            }
            // One step for the whole batch, too, and the states it leaves.
            let mut state = p.state(batch);
            let stepped = p.step(&mut state, &x[..batch * 2]).unwrap();
            for row in [0, batch / 2, batch - 1] {
                let mut alone = p.state(1);
                let one = p.step(&mut alone, &x[row * 2..row * 2 + 2]).unwrap();
                let w = one.len();
                assert_eq!(stepped[row * w..(row + 1) * w], one[..], "{name}: step, row {row}");
            }
        }
    }
}

#[test]
fn one_step_at_a_time_and_carried_state_match_whole_windows() {
    let d = device();
    for (name, model) in models(&d) {
        let p = Predictor::new(&model).unwrap();
        let (batch, time) = (2, 12);
        let x = values(batch * time * 2, 99);
        let whole = p.predict(&x, batch, time).unwrap();
        let per_step = whole.len() / batch;
        // Row b, step t of the [batch, time, 2] input.
        let at = |t: usize| -> Vec<f32> {
            (0..batch)
                .flat_map(|b| x[(b * time + t) * 2..(b * time + t) * 2 + 2].to_vec())
                .collect()
        };
        let mut state = p.state(batch);
        let mut outputs = Vec::new();
        for t in 0..time {
            outputs.push(p.step(&mut state, &at(t)).unwrap());
        }
        let sequence_model = per_step == outputs[0].len() / batch * time;
        if sequence_model && time > 1 {
            // Every step's output is the sequence output at that step.
            for (t, out) in outputs.iter().enumerate() {
                let width = out.len() / batch;
                for b in 0..batch {
                    let from_window = &whole[b * per_step + t * width..b * per_step + (t + 1) * width];
                    close(&out[b * width..(b + 1) * width], from_window, name);
                }
            }
        } else {
            close(outputs.last().unwrap(), &whole, name);
        }
        // Two calls with a carried state equal one call on the joined sequence.
        let split = 5;
        let first: Vec<f32> = (0..batch)
            .flat_map(|b| x[b * time * 2..(b * time + split) * 2].to_vec())
            .collect();
        let second: Vec<f32> = (0..batch)
            .flat_map(|b| x[(b * time + split) * 2..(b + 1) * time * 2].to_vec())
            .collect();
        let mut carried = p.state(batch);
        p.predict_from(&mut carried, &first, batch, split).unwrap();
        let rest = p.predict_from(&mut carried, &second, batch, time - split).unwrap();
        assert_eq!(carried, state, "{name}: the same final states");
        let tail: Vec<f32> = if sequence_model {
            let width = per_step / time;
            (0..batch)
                .flat_map(|b| whole[b * per_step + split * width..(b + 1) * per_step].to_vec())
                .collect()
        } else {
            whole.clone()
        };
        close(&rest, &tail, name);
        carried.reset();
        assert_eq!(carried, p.state(batch));
    }
}

#[test]
fn what_the_predictor_cannot_run_is_refused_by_name() {
    let d = device();
    let bidirectional = Sequential::builder(Shape::sequence(1))
        .add(BidirectionalConfig::new(LstmConfig::new(3)))
        .build(&d)
        .unwrap();
    let e = Predictor::new(&bidirectional).unwrap_err();
    assert!(
        matches!(&e, LayersError::Unsupported { name, .. } if name == "Bidirectional"),
        "{e}"
    );
    let backwards = Sequential::builder(Shape::sequence(1))
        .add(SimpleRnnConfig::new(3).with_go_backwards(true))
        .build(&d)
        .unwrap();
    let e = Predictor::new(&backwards).unwrap_err();
    assert!(e.to_string().contains("go_backwards"), "{e}");

    let flat = Sequential::builder(Shape::sequence_of(4, 1))
        .add(FlattenConfig)
        .add(DenseConfig::new(2))
        .build(&d)
        .unwrap();
    let p = Predictor::new(&flat).unwrap();
    let x = values(8, 3);
    close(
        &p.predict(&x, 2, 4).unwrap(),
        &forward(&flat, &x, [2, 4, 1], &d),
        "flatten",
    );
    assert!(p.predict(&x, 1, 8).is_err(), "Flatten fixes the time steps");
    assert!(p.step(&mut p.state(1), &[0.5]).is_err(), "Flatten needs whole windows");

    let model = build(Sequential::builder(Shape::sequence(2)).add(LstmConfig::new(3)), &d);
    let p = Predictor::new(&model).unwrap();
    assert!(matches!(p.predict(&[0.0; 5], 1, 3), Err(LayersError::Shape { .. })));
    assert!(matches!(p.predict(&[], 0, 3), Err(LayersError::Shape { .. })));
    assert!(matches!(
        p.predict_from(&mut p.state(2), &[0.0; 6], 1, 3),
        Err(LayersError::Shape { .. })
    ));
    assert!(matches!(
        p.step(&mut p.state(1), &[0.0; 3]),
        Err(LayersError::Shape { .. })
    ));
    let tokens = Sequential::builder(Shape::tokens(None))
        .add(rnnlab_layers::EmbeddingConfig::new(5, 2))
        .build(&d)
        .unwrap();
    assert!(matches!(Predictor::new(&tokens), Err(LayersError::InputKind { .. })));
}
