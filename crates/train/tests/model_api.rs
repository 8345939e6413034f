//! The model API end to end: a user's own cell in a Sequential trained with `fit`, token-id data
//! with class-id targets, and inference that is safe whatever state the model is passed in.
use rnnlab_layers::burn::module::{Module, Param};
use rnnlab_layers::burn::tensor::{Device, Tensor};
use rnnlab_layers::{
    Activation, AnyTensor, Backend, BatchNormalization, BatchNormalizationConfig, Cell, CellConfig, DenseConfig,
    EmbeddingConfig, KerasArray, Layer, LayersError, LstmConfig, RnnConfig, Sequential, Shape, SimpleRnnConfig,
    project_gates, recurrent_gates,
};
use rnnlab_train::{
    Dataset, Features, FitConfig, Loss, OptimizerConfig, Targets, TrainError, Verbosity, evaluate, fit, predict,
};

fn device() -> Device {
    Backend::Flex.device().unwrap().autodiff()
}

fn quiet(epochs: usize) -> FitConfig {
    FitConfig::new(epochs).with_verbosity(Verbosity::Quiet)
}

/// A cell written outside the library: a leaky recurrence `h' = (1 − a)·h + a·tanh(x·W + h·U)`.
#[derive(Module, Debug)]
struct LeakyCell {
    kernel: Param<Tensor<2>>,
    recurrent_kernel: Param<Tensor<2>>,
    leak: f64,
    input_size: usize,
    units: usize,
}

struct LeakyCellConfig {
    units: usize,
    leak: f64,
}

impl CellConfig for LeakyCellConfig {
    type Cell = LeakyCell;
    fn init_cell(&self, input_size: usize, device: &Device) -> Result<LeakyCell, LayersError> {
        let scale = |n: usize| (1.0 / n as f64).sqrt();
        let uniform = |shape: [usize; 2], s: f64| {
            Param::from_tensor(Tensor::random(
                shape,
                rnnlab_layers::burn::tensor::Distribution::Uniform(-s, s),
                device,
            ))
        };
        Ok(LeakyCell {
            kernel: uniform([input_size, self.units], scale(input_size)),
            recurrent_kernel: uniform([self.units, self.units], scale(self.units)),
            leak: self.leak,
            input_size,
            units: self.units,
        })
    }
}

impl Cell for LeakyCell {
    fn input_size(&self) -> usize {
        self.input_size
    }
    fn units(&self) -> usize {
        self.units
    }
    fn keras_class(&self) -> &'static str {
        "LeakyCell"
    }
    fn project_inputs(&self, inputs: &[Tensor<3>]) -> Tensor<3> {
        project_gates(inputs, self.kernel.val(), None, 1)
    }
    fn step(&self, xp: Tensor<2>, states: &[Tensor<2>], masks: Option<&[Tensor<2>]>) -> (Tensor<2>, Vec<Tensor<2>>) {
        let h = &states[0];
        let candidate = (xp + recurrent_gates(h, self.recurrent_kernel.val(), masks, 1)).tanh();
        let next = h.clone() * (1.0 - self.leak) + candidate * self.leak;
        (next.clone(), vec![next])
    }
    fn keras_weights(&self) -> Vec<AnyTensor> {
        vec![
            AnyTensor::D2(self.kernel.val()),
            AnyTensor::D2(self.recurrent_kernel.val()),
        ]
    }
    fn with_keras_weights(self, _: &[KerasArray], _: &Device) -> Result<Self, LayersError> {
        Ok(self)
    }
}

/// x: 40 sequences of 6 steps; y: the mean of the last three steps.
fn series() -> Dataset {
    let n = 40;
    let x: Vec<f32> = (0..n * 6).map(|i| ((i * 7919) % 101) as f32 / 101.0 - 0.5).collect();
    let y = x.chunks(6).map(|r| r[3..].iter().sum::<f32>() / 3.0).collect();
    Dataset::new(x, [n, 6, 1], y, 1).unwrap()
}

#[test]
fn a_user_cell_stacks_in_sequential_and_trains_with_fit() {
    let d = device();
    rnnlab_layers::seed(&d, 5);
    let model = Sequential::builder(Shape::sequence(1))
        .add(RnnConfig::new(LeakyCellConfig { units: 8, leak: 0.5 }).with_return_sequences(true))
        .add(RnnConfig::new(LeakyCellConfig { units: 8, leak: 0.5 }))
        .add(DenseConfig::new(1))
        .build(&d)
        .unwrap();
    assert_eq!(model.param_count(), (8 + 64) + (64 + 64) + 9);
    assert!(model.summary().contains("layer0 (RNN)"), "{}", model.summary());
    let cfg = quiet(30).with_optimizer(OptimizerConfig::adam(0.02));
    let (model, history) = fit(model, &series(), None, &cfg).unwrap();
    assert!(history.loss[29] < history.loss[0] * 0.5, "{:?}", history.loss);
    let y = predict(&model, &series(), 16).unwrap();
    assert_eq!(y.shape(), &[40, 1]);
}

#[test]
fn predict_and_evaluate_run_in_inference_mode_whatever_the_model_state() {
    let d = device();
    rnnlab_layers::seed(&d, 9);
    // Dropout on the recurrent layer and BatchNormalization: training behaviour would differ.
    let model = Sequential::builder(Shape::sequence(1))
        .add(SimpleRnnConfig::new(6).with_return_sequences(true).with_dropout(0.5))
        .add(BatchNormalizationConfig::new())
        .add(SimpleRnnConfig::new(4))
        .add(DenseConfig::new(1))
        .build(&d)
        .unwrap();
    let (model, _) = fit(model, &series(), None, &quiet(2)).unwrap();
    let statistics = |m: &Sequential| -> Vec<Vec<f64>> {
        let bn = m.layer::<BatchNormalization>(1).unwrap();
        bn.keras_weights()[2..].iter().map(|w| w.to_vec().unwrap()).collect()
    };
    let before = statistics(&model);
    // The training model itself (autodiff device, training flags on) is passed in.
    let a = predict(&model, &series(), 8).unwrap();
    let b = predict(&model, &series(), 40).unwrap();
    assert_eq!(a, b, "dropout or batch statistics changed the predictions");
    let e1 = evaluate(&model, &series(), 8, Loss::Mse, &[]).unwrap();
    let e2 = evaluate(&model, &series(), 8, Loss::Mse, &[]).unwrap();
    assert_eq!(e1, e2);
    assert_eq!(
        statistics(&model),
        before,
        "inference moved BatchNormalization's statistics"
    );
    // ... and the model still trains afterwards.
    let (_, history) = fit(model, &series(), None, &quiet(1)).unwrap();
    assert!(history.loss[0].is_finite());
}

/// 60 sequences of token ids (vocabulary 1..=4, 0 pads); the class is the first token's parity
/// class: 0 for ids 1–2, 1 for 3, 2 for 4.
fn token_data() -> Dataset {
    let n = 60;
    let mut ids = Vec::new();
    let mut classes = Vec::new();
    for i in 0..n {
        let first = 1 + (i * 7 % 4) as u32;
        let len = 2 + i % 3;
        for t in 0..4 {
            ids.push(if t == 0 {
                first
            } else if t < len {
                1 + ((i + t) % 4) as u32
            } else {
                0
            });
        }
        classes.push(match first {
            1 | 2 => 0,
            3 => 1,
            _ => 2,
        });
    }
    Dataset::from_parts(Features::Tokens { ids, shape: [n, 4] }, Targets::Classes(classes)).unwrap()
}

#[test]
fn token_ids_and_class_ids_train_evaluate_and_predict() {
    let d = device();
    rnnlab_layers::seed(&d, 3);
    let model = Sequential::builder(Shape::tokens(None))
        .add(EmbeddingConfig::new(5, 8).with_mask_zero(true))
        .add(LstmConfig::new(8).with_go_backwards(true))
        .add(DenseConfig::new(3).with_activation(Activation::Softmax))
        .build(&d)
        .unwrap();
    let cfg = quiet(40)
        .with_loss(Loss::SparseCategoricalCrossentropy)
        .with_metrics(vec![rnnlab_train::Metric::SparseCategoricalAccuracy])
        .with_optimizer(OptimizerConfig::adam(0.02));
    let (model, history) = fit(model, &token_data(), None, &cfg).unwrap();
    assert!(history.loss[39] < history.loss[0] * 0.5, "{:?}", history.loss);
    let eval = evaluate(&model, &token_data(), 16, cfg.loss, &cfg.metrics).unwrap();
    assert!(eval.metrics[0] > 0.9, "accuracy {}", eval.metrics[0]);
    let probabilities = predict(&model, &token_data(), 16).unwrap();
    assert_eq!(probabilities.shape(), &[60, 3]);
}

#[test]
fn class_ids_beyond_the_output_width_are_refused_before_training() {
    let d = device();
    let model = Sequential::builder(Shape::tokens(None))
        .add(EmbeddingConfig::new(5, 4))
        .add(LstmConfig::new(4))
        .add(DenseConfig::new(3).with_activation(Activation::Softmax))
        .build(&d)
        .unwrap();
    let data = Dataset::from_parts(
        Features::Tokens {
            ids: vec![1, 2, 3, 4],
            shape: [2, 2],
        },
        Targets::Classes(vec![2, 3]),
    )
    .unwrap();
    let cfg = quiet(1).with_loss(Loss::SparseCategoricalCrossentropy);
    match fit(model, &data, None, &cfg) {
        Err(TrainError::ClassId { index, classes, .. }) => assert_eq!((index, classes), (1, 3)),
        other => panic!("expected ClassId, got {:?}", other.map(|(_, h)| h.loss)),
    }
}

#[test]
fn a_model_built_for_other_inputs_is_a_typed_error() {
    let d = device();
    // A recurrent layer cannot follow a layer that dropped the time axis.
    let err = Sequential::builder(Shape::sequence(1))
        .add(SimpleRnnConfig::new(4))
        .add(SimpleRnnConfig::new(4))
        .build(&d)
        .unwrap_err();
    assert!(matches!(err, LayersError::InputKind { .. }), "{err}");
    assert!(err.to_string().contains("return_sequences"), "{err}");
    // Token ids into a float model: refused by the model before any layer runs.
    let model = Sequential::builder(Shape::sequence(1))
        .add(SimpleRnnConfig::new(4))
        .build(&d)
        .unwrap();
    let (x, _) = token_data().batch(&[0, 1], &d).unwrap();
    assert!(matches!(model.forward1(x), Err(LayersError::Shape { .. })));
}

/// Counts what the loop reports and stops after the second batch of epoch 2.
#[derive(Default)]
struct Recorder {
    events: Vec<String>,
}

impl<M> rnnlab_train::Callback<M> for Recorder {
    fn on_train_begin(&mut self, state: &mut rnnlab_train::TrainState<'_, M>) -> Result<(), TrainError> {
        self.events.push(format!("begin {}", state.next_epoch));
        Ok(())
    }
    fn on_epoch_begin(&mut self, epoch: usize, _: &mut rnnlab_train::TrainState<'_, M>) -> Result<(), TrainError> {
        self.events.push(format!("epoch {epoch}"));
        Ok(())
    }
    fn learning_rate(&mut self, lr: f64, step: usize, _epoch: usize) -> f64 {
        lr / (1 + step) as f64
    }
    fn on_batch_end(&mut self, epoch: usize, batch: usize) -> Result<rnnlab_train::Control, TrainError> {
        self.events.push(format!("batch {epoch}.{batch}"));
        Ok(if (epoch, batch) == (2, 2) {
            rnnlab_train::Control::Stop
        } else {
            rnnlab_train::Control::Continue
        })
    }
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        state: &mut rnnlab_train::TrainState<'_, M>,
    ) -> Result<rnnlab_train::Control, TrainError> {
        self.events
            .push(format!("end {epoch} ({} losses)", state.history.loss.len()));
        Ok(rnnlab_train::Control::Continue)
    }
    fn on_train_end(&mut self, _: &mut rnnlab_train::TrainState<'_, M>) -> Result<(), TrainError> {
        self.events.push("done".into());
        Ok(())
    }
}

#[test]
fn a_user_callback_sees_every_event_sets_the_rate_and_can_stop() {
    let d = device();
    let model = Sequential::builder(Shape::sequence(1))
        .add(SimpleRnnConfig::new(2))
        .add(DenseConfig::new(1))
        .build(&d)
        .unwrap();
    let mut recorder = Recorder::default();
    let cfg = quiet(5).with_batch_size(16); // 40 samples: 3 batches per epoch
    let (_, history) = rnnlab_train::fit_with(model, &series(), None, &cfg, &mut [&mut recorder]).unwrap();
    assert_eq!(
        recorder.events,
        [
            "begin 1",
            "epoch 1",
            "batch 1.1",
            "batch 1.2",
            "batch 1.3",
            "end 1 (1 losses)",
            "epoch 2",
            "batch 2.1",
            "batch 2.2",
            "end 2 (2 losses)",
            "done"
        ]
    );
    assert_eq!(history.epochs(), 2);
    // The rate of the last step taken (step 4, 0-based): 0.001 / 5.
    assert!((history.lr[1] - 0.001 / 5.0).abs() < 1e-12, "{:?}", history.lr);
}
