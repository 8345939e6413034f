//! What the training loop itself costs: one epoch (7000 seed-42 series, batch 32, 219 steps) of a
//! near-no-op model — a single scalar weight on the last input value — against one epoch of the
//! lecture's deep RNN. The no-op epoch is all loop: batching, shuffling, loss, a trivial
//! backward, the optimizer step and metric bookkeeping. Prints the ratio (target < 5%).
use burn::module::{Module, Param};
use burn::tensor::{Tensor, TensorData};
use rnnlab_layers::{Backend, DenseConfig, Layer, Sequential, SimpleRnnConfig};
use rnnlab_series::{NumpyRandom, Split, WindowSpec, generate_time_series};
use rnnlab_train::{Dataset, FitConfig, Metric, OptimizerConfig, Regressor, TrainError, Verbosity, fit};

#[derive(Module, Debug)]
struct NoOp {
    w: Param<Tensor<1>>,
}

impl Regressor for NoOp {
    fn forward_batch(&self, x: Tensor<3>) -> Result<Tensor<2>, TrainError> {
        let [b, t, _] = x.dims();
        Ok(x.narrow(1, t - 1, 1).reshape([b, 1]) * self.w.val().unsqueeze::<2>())
    }
}

fn epoch_seconds<M: Regressor>(model: M, data: &Dataset) -> f64 {
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
    let deep = Sequential::new(vec![
        Layer::SimpleRnn(
            SimpleRnnConfig::new(1, 20)
                .with_return_sequences(true)
                .init(&device)
                .unwrap(),
        ),
        Layer::SimpleRnn(
            SimpleRnnConfig::new(20, 20)
                .with_return_sequences(true)
                .init(&device)
                .unwrap(),
        ),
        Layer::SimpleRnn(SimpleRnnConfig::new(20, 1).init(&device).unwrap()),
        Layer::Dense(DenseConfig::new(1, 1).init(&device).unwrap()),
    ]);
    let loop_only = epoch_seconds(noop, &train);
    let real = epoch_seconds(deep, &train);
    println!(
        "epoch: no-op model {:.3} s, deep RNN {:.3} s: the loop costs {:.1}% of a deep-RNN epoch",
        loop_only,
        real,
        100.0 * loop_only / real
    );
}
