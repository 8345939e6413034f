//! The training loop: convergence, determinism, TerminateOnNaN, typed configuration errors.
use rnnlab_layers::{Backend, DenseConfig, FlattenConfig, Sequential, Shape, SimpleRnnConfig};
use rnnlab_train::{Dataset, FitConfig, OptimizerConfig, TrainError, Verbosity, fit};

fn device() -> rnnlab_layers::burn::tensor::Device {
    Backend::Flex.device().unwrap().autodiff()
}

fn toy(n: usize) -> Dataset {
    let x: Vec<f32> = (0..n * 4).map(|i| ((i * 7919) % 97) as f32 / 97.0).collect();
    let y: Vec<f32> = x.chunks(4).map(|r| r.iter().sum::<f32>() / 4.0).collect();
    Dataset::new(x, [n, 4, 1], y, 1).unwrap()
}

fn rnn_model() -> Sequential {
    let d = device();
    Sequential::builder(Shape::sequence(1))
        .add(SimpleRnnConfig::new(5))
        .add(DenseConfig::new(1))
        .build(&d)
        .unwrap()
}

#[test]
fn same_seed_same_history_bit_for_bit() {
    let data = toy(100);
    let cfg = FitConfig::new(3).with_verbosity(Verbosity::Quiet).with_seed(7);
    let model = rnn_model();
    let (_, a) = fit(model.clone(), &data, Some(&toy(20)), &cfg).unwrap();
    let (_, b) = fit(model, &data, Some(&toy(20)), &cfg).unwrap();
    assert_eq!(a.loss, b.loss);
    assert_eq!(a.val_loss, b.val_loss);
    assert!(a.loss[2] < a.loss[0], "{:?}", a.loss);
}

#[test]
fn terminate_on_nan_stops_with_a_typed_error() {
    let cfg = FitConfig::new(50)
        .with_verbosity(Verbosity::Quiet)
        .with_optimizer(OptimizerConfig::sgd(1e6));
    match fit(rnn_model(), &toy(64), None, &cfg) {
        Err(TrainError::NonFinite { epoch, .. }) => assert!(epoch >= 1),
        other => panic!("expected NonFinite, got {:?}", other.map(|(_, h)| h.loss)),
    }
}

#[test]
fn configuration_mistakes_fail_before_training() {
    let d = device();
    let model = || {
        Sequential::builder(Shape::sequence_of(4, 1))
            .add(FlattenConfig)
            .add(DenseConfig::new(1))
            .build(&d)
            .unwrap()
    };
    let quiet = FitConfig::new(1).with_verbosity(Verbosity::Quiet);
    assert!(matches!(
        fit(model(), &toy(8), None, &quiet.clone().with_batch_size(0)),
        Err(TrainError::Config { .. })
    ));
    let other_width = Dataset::new(vec![0.0; 8], [2, 4, 1], vec![0.0; 4], 2).unwrap();
    assert!(matches!(
        fit(model(), &toy(8), Some(&other_width), &quiet),
        Err(TrainError::ValidationShape { .. })
    ));
    assert!(matches!(
        Dataset::new(vec![0.0; 8], [2, 4, 1], vec![0.0; 3], 1),
        Err(TrainError::LengthMismatch { .. })
    ));
    let plain = Sequential::builder(Shape::sequence(1))
        .add(SimpleRnnConfig::new(1))
        .build(&Backend::Flex.device().unwrap())
        .unwrap();
    assert!(matches!(
        fit(plain, &toy(8), None, &quiet),
        Err(TrainError::Config { what: "device", .. })
    ));
}

#[test]
fn sparse_categorical_crossentropy_learns_three_classes() {
    use rnnlab_layers::Activation;
    use rnnlab_train::{Loss, Metric, evaluate};
    let n = 300;
    let x: Vec<f32> = (0..n).map(|i| ((i * 37) % n) as f32 / n as f32).collect();
    let y: Vec<f32> = x.iter().map(|v| (v * 3.0).floor().min(2.0)).collect();
    let data = Dataset::new(x, [n, 1, 1], y, 1).unwrap();
    let d = device();
    let model = Sequential::builder(Shape::sequence_of(1, 1))
        .add(FlattenConfig)
        .add(DenseConfig::new(16).with_activation(Activation::Tanh))
        .add(DenseConfig::new(3).with_activation(Activation::Softmax))
        .build(&d)
        .unwrap();
    let cfg = FitConfig::new(60)
        .with_verbosity(Verbosity::Quiet)
        .with_loss(Loss::SparseCategoricalCrossentropy)
        .with_metrics(vec![Metric::SparseCategoricalAccuracy])
        .with_optimizer(OptimizerConfig::adam(0.02));
    let (model, history) = fit(model, &data, None, &cfg).unwrap();
    assert!(history.loss.last().unwrap() < &history.loss[0]);
    let eval = evaluate(&model, &data, 32, cfg.loss, &cfg.metrics).unwrap();
    assert!(eval.metrics[0] > 0.9, "accuracy {}", eval.metrics[0]);
}

#[test]
fn validation_split_and_early_stopping() {
    use rnnlab_train::EarlyStopping;
    let cfg = FitConfig::new(40)
        .with_verbosity(Verbosity::Quiet)
        .with_validation_split(0.25)
        .with_optimizer(OptimizerConfig::adam(0.05))
        .with_early_stopping(EarlyStopping {
            patience: 2,
            min_delta: 1e-3,
            restore_best_weights: true,
        });
    let (_, history) = fit(rnn_model(), &toy(80), None, &cfg).unwrap();
    assert_eq!(history.val_loss.len(), history.loss.len(), "validation ran every epoch");
    assert!(
        history.epochs() < 40,
        "early stopping never triggered: {:?}",
        history.val_loss
    );
    let bad = FitConfig::new(1)
        .with_verbosity(Verbosity::Quiet)
        .with_validation_split(1.5);
    assert!(matches!(
        fit(rnn_model(), &toy(8), None, &bad),
        Err(TrainError::Config {
            what: "validation_split",
            ..
        })
    ));
}
