//! What the training loop itself costs: one epoch (7000 seed-42 series, batch 32, 219 steps) of a
//! near-no-op model — a single scalar weight on the last input value — against one epoch of the
//! lecture's deep RNN. The no-op epoch is all loop: batching, shuffling, loss, a trivial
//! backward, the optimizer step and metric bookkeeping. Prints the ratio (target < 5%).
use burn::module::{Module, Param};
use burn::tensor::{Tensor, TensorData};
use rnnlab_layers::{AnyTensor, Backend, DenseConfig, Input, Sequential, Shape, SimpleRnnConfig};
use rnnlab_series::{NumpyRandom, Split, WindowSpec, generate_time_series};
use rnnlab_train::{Dataset, FitConfig, Metric, Model, OptimizerConfig, TrainError, Verbosity, fit};

#[derive(Module, Debug)]
struct NoOp {
    w: Param<Tensor<1>>,
}

impl Model for NoOp {
    fn forward_batch(&self, x: Input) -> Result<AnyTensor, TrainError> {
        let x: Tensor<3> = x.into_float("NoOp")?.into_3d("NoOp")?;
        let [b, t, _] = x.dims();
        Ok(AnyTensor::D2(
            x.narrow(1, t - 1, 1).reshape([b, 1]) * self.w.val().unsqueeze::<2>(),
        ))
    }
}

fn epoch_seconds<M: Model>(model: M, data: &Dataset) -> f64 {
    let cfg = FitConfig::new(3)
        .with_verbosity(Verbosity::Quiet)
        .with_metrics(vec![Metric::Mse])
        .with_optimizer(OptimizerConfig::adam(0.005));
    let (_, history) = fit(model, data, None, &cfg).expect("training runs");
    history.median_seconds_per_epoch().expect("three epochs")
}

fn main() {
    let series = generate_time_series(&mut NumpyRandom::new(42), 10_000, 51).unwrap();
    let parts = series
        .windows(WindowSpec::vector(50, 1))
        .unwrap()
        .split(Split::LECTURE)
        .unwrap();
    let train = Dataset::from_windows(&parts.train).unwrap();
    let device = Backend::Flex.device().unwrap().autodiff();
    let noop = NoOp {
        w: Param::from_data(TensorData::new(vec![1.0f32], [1]), &device),
    };
    let deep = Sequential::builder(Shape::sequence(1))
        .add(SimpleRnnConfig::new(20).with_return_sequences(true))
        .add(SimpleRnnConfig::new(20).with_return_sequences(true))
        .add(SimpleRnnConfig::new(1))
        .add(DenseConfig::new(1))
        .build(&device)
        .unwrap();
    let loop_only = epoch_seconds(noop, &train);
    let real = epoch_seconds(deep, &train);
    println!(
        "epoch: no-op model {:.3} s, deep RNN {:.3} s: the loop costs {:.1}% of a deep-RNN epoch",
        loop_only,
        real,
        100.0 * loop_only / real
    );
}
