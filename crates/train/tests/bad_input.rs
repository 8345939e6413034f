//! Bad input to the training loop gets a typed error before work starts, and a run that goes
//! non-finite stops with the last finite weights; nothing panics.
use proptest::prelude::*;
use rnnlab_layers::{Activation, Backend, DenseConfig, FlattenConfig, Sequential, Shape};
use rnnlab_train::{
    Dataset, EarlyStopping, FitConfig, Loss, LrSchedule, Metric, OptimizerConfig, TrainError, Verbosity, evaluate, fit,
};

fn device() -> rnnlab_layers::burn::tensor::Device {
    Backend::Flex.device().unwrap().autodiff()
}

fn data(n: usize, width: usize) -> Dataset {
    let x: Vec<f32> = (0..n * 4).map(|i| (i % 7) as f32 / 7.0).collect();
    Dataset::new(x, [n, 4, 1], vec![0.5; n * width], width).unwrap()
}

fn linear(units: usize, activation: Activation) -> Sequential {
    let d = device();
    Sequential::builder(Shape::sequence_of(4, 1))
        .add(FlattenConfig)
        .add(DenseConfig::new(units).with_activation(activation))
        .build(&d)
        .unwrap()
}

fn quiet(epochs: usize) -> FitConfig {
    FitConfig::new(epochs).with_verbosity(Verbosity::Quiet)
}

fn config_error(cfg: &FitConfig) -> &'static str {
    match fit(linear(1, Activation::Linear), &data(8, 1), None, cfg) {
        Err(TrainError::Config { what, .. }) => what,
        other => panic!("expected a configuration error, got {:?}", other.map(|(_, h)| h.loss)),
    }
}

#[test]
fn optimizer_and_schedule_values_that_cannot_train_are_refused() {
    for lr in [f64::INFINITY, f64::NAN, 0.0, -1.0] {
        assert_eq!(
            config_error(&quiet(1).with_optimizer(OptimizerConfig::sgd(lr))),
            "learning_rate"
        );
    }
    let adam = |beta_1: f32, beta_2: f32, epsilon: f32| OptimizerConfig::Adam {
        learning_rate: 0.001,
        beta_1,
        beta_2,
        epsilon,
    };
    assert_eq!(config_error(&quiet(1).with_optimizer(adam(1.0, 0.999, 1e-7))), "beta_1");
    assert_eq!(config_error(&quiet(1).with_optimizer(adam(0.9, 1.0, 0.0))), "beta_2");
    assert_eq!(
        config_error(&quiet(1).with_optimizer(adam(f32::NAN, 0.999, 1e-7))),
        "beta_1"
    );
    assert_eq!(
        config_error(&quiet(1).with_optimizer(adam(0.9, 0.999, -1.0))),
        "epsilon"
    );
    for schedule in [
        LrSchedule::PerEpoch(vec![1.0, f64::NAN]),
        LrSchedule::PerEpoch(vec![-0.5]),
        LrSchedule::ExponentialDecay {
            decay_rate: f64::NAN,
            decay_steps: 1,
            staircase: false,
        },
        LrSchedule::ExponentialDecay {
            decay_rate: 0.5,
            decay_steps: 0,
            staircase: true,
        },
    ] {
        assert_eq!(config_error(&quiet(1).with_lr_schedule(schedule)), "lr_schedule");
    }
    let nan_delta = EarlyStopping {
        patience: 1,
        min_delta: f64::NAN,
        restore_best_weights: false,
    };
    assert_eq!(
        config_error(&quiet(1).with_early_stopping(nan_delta)),
        "early_stopping.min_delta"
    );
    let no_horizon = quiet(1).with_metrics(vec![Metric::LastTimeStepMse { horizon: 0 }]);
    assert_eq!(config_error(&no_horizon), "last_time_step_mse horizon");
}

#[test]
fn an_output_width_that_differs_from_the_targets_is_refused() {
    // [b, 1] targets against [b, 10] outputs would broadcast silently.
    let err = fit(linear(10, Activation::Linear), &data(8, 1), None, &quiet(1)).unwrap_err();
    assert_eq!(
        err,
        TrainError::OutputWidth {
            model: 10,
            targets: 1,
            loss: "mse"
        }
    );
    // [b, 3] targets against [b, 2] outputs would panic inside Burn.
    assert!(matches!(
        fit(linear(2, Activation::Linear), &data(8, 3), None, &quiet(1)),
        Err(TrainError::OutputWidth {
            model: 2,
            targets: 3,
            ..
        })
    ));
    // The validation data is checked too.
    assert!(matches!(
        evaluate(
            &linear(2, Activation::Linear),
            &data(4, 1),
            32,
            Loss::Mse,
            &[Metric::Mae]
        ),
        Err(TrainError::OutputWidth { .. })
    ));
}

#[test]
fn class_ids_must_be_integers_below_the_number_of_classes() {
    let classes = |y: f32| {
        let x = vec![0.1; 2 * 4];
        let d = Dataset::new(x, [2, 4, 1], vec![0.0, y], 1).unwrap();
        let cfg = quiet(1).with_loss(Loss::SparseCategoricalCrossentropy);
        fit(linear(3, Activation::Softmax), &d, None, &cfg)
    };
    for bad in [3.0, 7.0, -1.0, 1.7] {
        match classes(bad) {
            Err(TrainError::ClassId { index, value, classes }) => assert_eq!((index, value, classes), (1, bad, 3)),
            other => panic!("{bad}: {:?}", other.map(|(_, h)| h.loss)),
        }
    }
    assert!(classes(2.0).is_ok());
}

#[test]
fn non_finite_data_and_empty_evaluation_are_refused() {
    // NaN != NaN: the carried value is checked with is_nan.
    match Dataset::new(vec![0.5, f32::NAN, 0.5], [1, 3, 1], vec![1.0], 1) {
        Err(TrainError::NonFiniteData {
            what: "x",
            index: 1,
            value,
        }) => assert!(value.is_nan()),
        other => panic!("{other:?}"),
    }
    let inf_y = Dataset::new(vec![0.0; 3], [1, 3, 1], vec![f32::INFINITY], 1).unwrap_err();
    assert!(matches!(
        inf_y,
        TrainError::NonFiniteData {
            what: "y",
            index: 0,
            ..
        }
    ));
    let empty = Dataset::new(vec![], [0, 4, 1], vec![], 1).unwrap();
    let plain = Sequential::builder(Shape::sequence_of(4, 1))
        .add(FlattenConfig)
        .add(DenseConfig::new(1))
        .build(&Backend::Flex.device().unwrap())
        .unwrap();
    assert_eq!(
        evaluate(&plain, &empty, 32, Loss::Mse, &[]).unwrap_err(),
        TrainError::Empty("the data to evaluate")
    );
}

#[test]
fn a_sample_index_past_the_end_is_an_error() {
    let d = data(2, 1);
    let device = Backend::Flex.device().unwrap();
    assert_eq!(
        d.batch(&[0, 99], &device).unwrap_err(),
        TrainError::SampleIndex { index: 99, len: 2 }
    );
}

#[test]
fn a_checkpoint_naming_a_file_outside_its_directory_is_refused_and_nothing_is_deleted() {
    let dir = std::env::temp_dir().join(format!("rnnlab-bad-ckpt-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let cfg = quiet(1).with_checkpoint_dir(&dir);
    fit(linear(1, Activation::Linear), &data(8, 1), None, &cfg).unwrap();
    let state_path = dir.join("state.json");
    let state = std::fs::read_to_string(&state_path).unwrap();
    let outside = dir.with_extension("victim");
    std::fs::write(&outside, b"keep me").unwrap();
    for name in [
        outside.display().to_string(),
        "../victim".into(),
        "a/b.bpk".into(),
        ".hidden".into(),
    ] {
        let forged = state.replace("model-1.bpk", &name.replace('\\', "\\\\"));
        std::fs::write(&state_path, forged).unwrap();
        let again = quiet(2).with_checkpoint_dir(&dir);
        match fit(linear(1, Activation::Linear), &data(8, 1), None, &again) {
            Err(TrainError::Checkpoint { source, .. }) => {
                assert!(source.to_string().contains("plain file names"), "{source}")
            }
            other => panic!("{name}: {:?}", other.map(|(_, h)| h.loss)),
        }
    }
    assert_eq!(std::fs::read(&outside).unwrap(), b"keep me");
    let huge_epoch = state.replace("\"epoch\": 1", &format!("\"epoch\": {}", u64::MAX));
    std::fs::write(&state_path, huge_epoch).unwrap();
    assert!(matches!(
        fit(
            linear(1, Activation::Linear),
            &data(8, 1),
            None,
            &quiet(2).with_checkpoint_dir(&dir)
        ),
        Err(TrainError::Checkpoint { .. })
    ));
    std::fs::remove_file(&outside).ok();
    std::fs::remove_dir_all(&dir).ok();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A checkpoint whose `state.json` or weight files have bytes overwritten or cut: resuming
    /// gives a typed error or trains on; it never panics.
    #[test]
    fn corrupted_checkpoints_resume_or_fail_typed(
        file in 0usize..3,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        truncate in any::<Option<prop::sample::Index>>(),
    ) {
        let dir = std::env::temp_dir().join(format!("rnnlab-fuzz-ckpt-{}-{file}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        fit(linear(1, Activation::Linear), &data(8, 1), None, &quiet(1).with_checkpoint_dir(&dir)).unwrap();
        let path = dir.join(["state.json", "model-1.bpk", "optimizer-1.bpk"][file]);
        let mut bytes = std::fs::read(&path).unwrap();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Some(at) = truncate {
            bytes.truncate(at.index(bytes.len()));
        }
        std::fs::write(&path, bytes).unwrap();
        let result = fit(linear(1, Activation::Linear), &data(8, 1), None, &quiet(2).with_checkpoint_dir(&dir));
        std::fs::remove_dir_all(&dir).ok();
        match result {
            Ok((_, h)) => prop_assert!(h.loss.iter().all(|l| l.is_finite())),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

#[test]
fn hand_built_windows_and_metrics_are_checked() {
    let flat = rnnlab_series::Windows {
        x: rnnlab_series::Array::new(vec![2, 3], vec![0.0; 6]).unwrap(),
        y: rnnlab_series::Array::new(vec![2, 1], vec![0.0; 2]).unwrap(),
        spec: rnnlab_series::WindowSpec::vector(3, 1),
    };
    assert!(matches!(
        Dataset::from_windows(&flat),
        Err(TrainError::Config { what: "windows", .. })
    ));
    let plain = Sequential::builder(Shape::sequence_of(4, 1))
        .add(FlattenConfig)
        .add(DenseConfig::new(1))
        .build(&Backend::Flex.device().unwrap())
        .unwrap();
    assert!(matches!(
        evaluate(
            &plain,
            &data(4, 1),
            32,
            Loss::Mse,
            &[Metric::LastTimeStepMse { horizon: 0 }]
        ),
        Err(TrainError::Config { .. })
    ));
}
