//! What the fixtures cannot show: dropout, user-defined cells, typed shape errors.
use rnnlab_layers::burn::module::{Module, Param};
use rnnlab_layers::burn::tensor::{Bool, Device, Tensor, TensorData};
use rnnlab_layers::{
    Activation, AnyTensor, Backend, Bidirectional, Cell, KerasArray, Layer, LayerConfig, LayersError, LstmConfig,
    MergeMode, Rnn, RnnOptions, ScanMode, Shape, SimpleRnnConfig, project_gates, set_training,
};

fn device() -> Device {
    Backend::Flex.device().unwrap()
}

fn eye(n: usize) -> KerasArray {
    let data = (0..n * n).map(|i| if i / n == i % n { 1.0 } else { 0.0 }).collect();
    KerasArray::new("eye", vec![n, n], data)
}

fn zeros(shape: Vec<usize>) -> KerasArray {
    let n = shape.iter().product();
    KerasArray::new("zeros", shape, vec![0.0; n])
}

/// SimpleRNN(u) on u features, linear, with the given kernels.
fn linear_rnn(
    u: usize,
    recurrent: KerasArray,
    options: RnnOptions,
    device: &Device,
) -> Rnn<rnnlab_layers::SimpleRnnCell> {
    SimpleRnnConfig::new(u)
        .with_activation(Activation::Linear)
        .with_return_sequences(true)
        .with_dropout(options.dropout)
        .with_recurrent_dropout(options.recurrent_dropout)
        .init(&Shape::sequence(u), device)
        .unwrap()
        .with_keras_weights(&[eye(u), recurrent, zeros(vec![u])], device)
        .unwrap()
}

fn values(t: Tensor<3>) -> (Vec<f32>, [usize; 3]) {
    let dims = t.dims();
    (t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap(), dims)
}

#[test]
fn input_dropout_mask_is_constant_over_time_and_rescaled() {
    let device = device().autodiff();
    let (b, t, u) = (8, 6, 16);
    let layer = linear_rnn(
        u,
        zeros(vec![u, u]),
        RnnOptions {
            dropout: 0.5,
            ..RnnOptions::sequences()
        },
        &device,
    );
    let out = layer.forward(Tensor::ones([b, t, u], &device), None, None).unwrap();
    let (v, _) = values(out.sequence.unwrap());
    let mut dropped = 0;
    for bi in 0..b {
        for k in 0..u {
            let first = v[bi * t * u + k];
            assert!(
                first == 0.0 || (first - 2.0).abs() < 1e-6,
                "mask value {first} is not 0 or 1/(1-0.5)"
            );
            dropped += usize::from(first == 0.0);
            for ti in 1..t {
                assert_eq!(v[(bi * t + ti) * u + k], first, "mask changed over time");
            }
        }
    }
    assert!(dropped > 0 && dropped < b * u, "{dropped} of {} dropped", b * u);
    // A second call draws new masks.
    let again = values(
        layer
            .forward(Tensor::ones([b, t, u], &device), None, None)
            .unwrap()
            .sequence
            .unwrap(),
    )
    .0;
    assert_ne!(again, v);
}

#[test]
fn recurrent_dropout_mask_is_constant_over_time() {
    let device = device().autodiff();
    let (b, t, u) = (4, 5, 12);
    let layer = linear_rnn(
        u,
        eye(u),
        RnnOptions {
            recurrent_dropout: 0.5,
            ..RnnOptions::sequences()
        },
        &device,
    );
    let (v, _) = values(
        layer
            .forward(Tensor::ones([b, t, u], &device), None, None)
            .unwrap()
            .sequence
            .unwrap(),
    );
    for bi in 0..b {
        for k in 0..u {
            let seq: Vec<f32> = (0..t).map(|ti| v[(bi * t + ti) * u + k]).collect();
            // h_t = 1 + m·h_{t-1} with one m in {0, 2} for the whole sequence
            let kept: Vec<f32> = (0..t).map(|i| 2f32.powi(i as i32 + 1) - 1.0).collect();
            assert!(seq.iter().all(|&x| x == 1.0) || seq == kept, "unit {k}: {seq:?}");
        }
    }
}

#[test]
fn inference_ignores_dropout() {
    let device = device();
    let opts = RnnOptions {
        dropout: 0.5,
        recurrent_dropout: 0.5,
        ..RnnOptions::sequences()
    };
    // A plain (non-autodiff) device, and an autodiff device with training off.
    for (layer, dev) in [
        (linear_rnn(4, zeros(vec![4, 4]), opts, &device), device.clone()),
        (
            set_training(
                linear_rnn(4, zeros(vec![4, 4]), opts, &device.clone().autodiff()),
                false,
            ),
            device.clone().autodiff(),
        ),
    ] {
        let (v, _) = values(
            layer
                .forward(Tensor::ones([2, 3, 4], &dev), None, None)
                .unwrap()
                .sequence
                .unwrap(),
        );
        assert!(v.iter().all(|&x| x == 1.0), "{v:?}");
    }
}

/// A user-defined cell: an exponential moving average `h' = a·h + (1 − a)·x·w`.
#[derive(Module, Debug)]
struct EmaCell {
    w: Param<Tensor<2>>,
    alpha: f64,
    units: usize,
}

impl Cell for EmaCell {
    fn input_size(&self) -> usize {
        self.units
    }
    fn units(&self) -> usize {
        self.units
    }
    fn keras_class(&self) -> &'static str {
        "EMA"
    }
    fn project_inputs(&self, inputs: &[Tensor<3>]) -> Tensor<3> {
        project_gates(inputs, self.w.val(), None, 1)
    }
    fn step(&self, xp: Tensor<2>, states: &[Tensor<2>], _: Option<&[Tensor<2>]>) -> (Tensor<2>, Vec<Tensor<2>>) {
        let h = states[0].clone() * self.alpha + xp * (1.0 - self.alpha);
        (h.clone(), vec![h])
    }
    fn keras_weights(&self) -> Vec<AnyTensor> {
        vec![AnyTensor::D2(self.w.val())]
    }
    fn with_keras_weights(self, _: &[KerasArray], _: &Device) -> Result<Self, LayersError> {
        Ok(self)
    }
}

fn ema(device: &Device) -> EmaCell {
    EmaCell {
        w: Param::from_data(TensorData::new(vec![1.0f32], [1, 1]), device),
        alpha: 0.5,
        units: 1,
    }
}

#[test]
fn forcing_fused_on_a_cell_without_a_fused_form_is_an_error() {
    let device = device();
    let options = RnnOptions {
        scan: ScanMode::Fused,
        ..RnnOptions::sequences()
    };
    let layer = Rnn::new(ema(&device), options).unwrap();
    let err = layer
        .forward(Tensor::<3>::zeros([1, 2, 1], &device), None, None)
        .unwrap_err();
    assert!(err.to_string().contains("fused"), "{err}");
}

#[test]
fn a_user_defined_cell_gets_the_driver_and_bidirectional() {
    let device = device();
    let x = Tensor::<3>::from_data(TensorData::new(vec![1.0f32, 1.0, 1.0, 1.0], [1, 4, 1]), &device);
    let fwd = Rnn::new(ema(&device), RnnOptions::sequences()).unwrap();
    let (v, _) = values(fwd.forward(x.clone(), None, None).unwrap().sequence.unwrap());
    assert_eq!(v, [0.5, 0.75, 0.875, 0.9375]);
    // A mask on the last two steps: the state is carried and the output repeated.
    let mask = Tensor::<2, Bool>::from_data(TensorData::new(vec![true, true, false, false], [1, 4]), &device);
    let (v, _) = values(fwd.forward(x.clone(), None, Some(mask)).unwrap().sequence.unwrap());
    assert_eq!(v, [0.5, 0.75, 0.75, 0.75]);
    let bi = Bidirectional::new(
        fwd,
        Rnn::new(ema(&device), RnnOptions::sequences()).unwrap(),
        MergeMode::Sum,
    )
    .unwrap();
    let out = bi.forward(x, None, None).unwrap();
    let AnyTensor::D3(merged) = &out.outputs[0] else {
        panic!("rank 3")
    };
    let (v, _) = values(merged.clone());
    // backward pass flipped back to input order: [0.9375, 0.875, 0.75, 0.5]
    assert_eq!(v, [1.4375, 1.625, 1.625, 1.4375]);
}

#[test]
fn shape_mistakes_are_typed_errors() {
    let device = device();
    let layer = LstmConfig::new(4).init(&Shape::sequence(3), &device).unwrap();
    let err = layer
        .forward(Tensor::zeros([2, 5, 2], &device), None, None)
        .unwrap_err();
    assert!(matches!(err, LayersError::Shape { .. }), "{err}");
    assert!(err.to_string().contains("[batch >= 1, time >= 1, 3]"), "{err}");
    let err = layer.forward(
        Tensor::zeros([2, 5, 3], &device),
        Some(vec![Tensor::zeros([2, 4], &device)]),
        None,
    );
    assert!(matches!(
        err,
        Err(LayersError::Count {
            expected: 2,
            got: 1,
            ..
        })
    ));
    let bad_state = vec![Tensor::zeros([2, 4], &device), Tensor::zeros([3, 4], &device)];
    assert!(matches!(
        layer.forward(Tensor::zeros([2, 5, 3], &device), Some(bad_state), None),
        Err(LayersError::Shape { .. })
    ));
    let mask = Tensor::<2, Bool>::from_data(TensorData::new(vec![true; 8], [2, 4]), &device);
    assert!(matches!(
        layer.forward(Tensor::zeros([2, 5, 3], &device), None, Some(mask)),
        Err(LayersError::Shape { .. })
    ));
    assert!(matches!(
        SimpleRnnConfig::new(2)
            .with_dropout(1.0)
            .init(&Shape::sequence(1), &device),
        Err(LayersError::Config { .. })
    ));
}

#[test]
fn every_layer_writes_a_keras_config_it_can_be_rebuilt_from() {
    let device = device();
    let specs = serde_json::json!([
        {"class": "SimpleRNN", "config": {"units": 3, "activation": "relu", "return_sequences": true, "go_backwards": true}},
        {"class": "LSTM", "config": {"units": 4, "recurrent_activation": "hard_sigmoid", "return_sequences": true, "dropout": 0.25}},
        {"class": "GRU", "config": {"units": 5, "reset_after": false, "return_sequences": true}},
        {"class": "RNN", "config": {"cell": {"class": "LNSimpleRNNCell", "config": {"units": 4}}, "return_sequences": true}},
        {"class": "Bidirectional", "config": {"layer": {"class": "LSTM", "config": {"units": 3, "return_sequences": true}}, "merge_mode": "ave"}},
        {"class": "LayerNormalization", "config": {"epsilon": 0.01}},
        {"class": "BatchNormalization", "config": {"momentum": 0.9, "epsilon": 0.001}},
        {"class": "TimeDistributed", "config": {"layer": {"class": "Dense", "config": {"units": 2, "activation": "tanh"}}}},
        {"class": "Flatten", "config": {}},
        {"class": "Dense", "config": {"units": 1, "use_bias": false}},
    ]);
    let specs = specs.as_array().unwrap();
    let model = rnnlab_layers::Sequential::from_keras_specs(Shape::sequence_of(7, 2), specs, &device).unwrap();
    assert_eq!(model.output_shape(), Shape::vector(1));
    let written: Vec<serde_json::Value> = model
        .layers()
        .iter()
        .map(|l| serde_json::json!({"class": l.keras_class(), "config": l.keras_config()}))
        .collect();
    let again = rnnlab_layers::Sequential::from_keras_specs(Shape::sequence_of(7, 2), &written, &device).unwrap();
    for (a, b) in model.layers().iter().zip(again.layers()) {
        assert_eq!(a.keras_config(), b.keras_config());
        assert_eq!(a.param_count(), b.param_count());
    }
    // The options given in the specs survive.
    assert_eq!(written[0]["config"]["activation"], "relu");
    assert_eq!(written[1]["config"]["recurrent_activation"], "hard_sigmoid");
    assert_eq!(written[2]["config"]["reset_after"], false);
    assert_eq!(written[4]["config"]["merge_mode"], "ave");
    assert_eq!(written[4]["config"]["layer"]["config"]["units"], 3);
    assert_eq!(written[9]["config"]["use_bias"], false);
}

#[test]
fn a_user_cell_and_the_builtin_layers_share_one_layer_api() {
    let device = device();
    let x = Tensor::<3>::from_data(TensorData::new(vec![1.0f32, 1.0, 1.0, 1.0], [1, 4, 1]), &device);
    let mut model = rnnlab_layers::Sequential::new(Shape::sequence(1));
    model
        .push(Rnn::new(ema(&device), RnnOptions::sequences()).unwrap())
        .unwrap();
    // A layer built for another input is refused when it is added, not when it runs.
    let wrong = LstmConfig::new(2).init(&Shape::sequence(3), &device).unwrap();
    assert!(model.push(wrong).is_err());
    let lstm = LstmConfig::new(2).init(&Shape::sequence(1), &device).unwrap();
    model.push(lstm).unwrap();
    assert_eq!(model.layers().len(), 2);
    assert_eq!(model.layers()[0].keras_class(), "RNN");
    assert_eq!(model.layers()[0].keras_config()["cell"]["class"], "EMA");
    assert!(model.layer::<Rnn<EmaCell>>(0).is_some());
    let y = model.forward1(x.into()).unwrap();
    assert_eq!(y.dims(), [1, 2]);
    // Layers that take no state refuse one.
    let dense = rnnlab_layers::DenseConfig::new(1)
        .init(&Shape::vector(2), &device)
        .unwrap();
    let err = dense
        .forward(
            Tensor::<2>::zeros([1, 2], &device).into(),
            Some(vec![Tensor::zeros([1, 1], &device)]),
            None,
        )
        .unwrap_err();
    assert!(matches!(err, LayersError::Count { expected: 0, .. }), "{err}");
}
