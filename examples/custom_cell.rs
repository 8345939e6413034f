//! The lecture's layer-normalized SimpleRNN cell (`LNSimpleRNNCell`), written the way a user
//! writes a cell: outside the library, against the public `Cell` and `CellConfig` traits only.
//! `RnnConfig` turns it into a layer, so it stacks in a `Sequential` with built-in layers and
//! trains with `fit` — the lecture's seq2seq model with layer normalization:
//!
//! ```text
//! model = keras.models.Sequential([
//!     keras.layers.RNN(LNSimpleRNNCell(20), return_sequences=True, input_shape=[None, 1]),
//!     keras.layers.RNN(LNSimpleRNNCell(20), return_sequences=True),
//!     keras.layers.TimeDistributed(keras.layers.Dense(10))])
//! ```
//!
//! Run: `cargo run --release --example custom_cell [EPOCHS]` (default 2).

use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Tensor};
use rnnlab_layers::{
    AnyTensor, Backend, Cell, CellConfig, DenseConfig, KerasArray, LayersError, RnnConfig, Sequential, Shape,
    TimeDistributedConfig, project_gates, recurrent_gates,
};
use rnnlab_series::{NumpyRandom, Split, WindowSpec, generate_time_series};
use rnnlab_train::{Dataset, FitConfig, Metric, evaluate, fit};

/// `h' = tanh(LayerNorm(x·W + h·U + b))`, the normalization with learned `γ`, `β`.
#[derive(Module, Debug)]
struct LnSimpleRnnCell {
    kernel: Param<Tensor<2>>,
    recurrent_kernel: Param<Tensor<2>>,
    bias: Param<Tensor<1>>,
    gamma: Param<Tensor<1>>,
    beta: Param<Tensor<1>>,
    input_size: usize,
    units: usize,
}

/// `LNSimpleRNNCell(units)`; the input size comes from the model.
struct LnSimpleRnnCellConfig {
    units: usize,
}

impl CellConfig for LnSimpleRnnCellConfig {
    type Cell = LnSimpleRnnCell;

    fn init_cell(&self, input_size: usize, device: &Device) -> Result<LnSimpleRnnCell, LayersError> {
        if input_size == 0 || self.units == 0 {
            return Err(LayersError::Config {
                what: "LNSimpleRNNCell".into(),
                why: "needs at least one input feature and one unit".into(),
            });
        }
        let u = self.units;
        // Glorot-uniform input kernel, a small random recurrent kernel; Keras's orthogonal one
        // would do as well (the built-in cell uses it).
        let limit = (6.0 / (input_size + u) as f64).sqrt();
        let uniform = |shape: [usize; 2], limit: f64| {
            Param::from_tensor(Tensor::random(shape, Distribution::Uniform(-limit, limit), device))
        };
        Ok(LnSimpleRnnCell {
            kernel: uniform([input_size, u], limit),
            recurrent_kernel: uniform([u, u], (1.0 / u as f64).sqrt()),
            bias: Param::from_tensor(Tensor::zeros([u], device)),
            gamma: Param::from_tensor(Tensor::ones([u], device)),
            beta: Param::from_tensor(Tensor::zeros([u], device)),
            input_size,
            units: u,
        })
    }
}

impl Cell for LnSimpleRnnCell {
    fn input_size(&self) -> usize {
        self.input_size
    }

    fn units(&self) -> usize {
        self.units
    }

    fn keras_class(&self) -> &'static str {
        "LNSimpleRNNCell"
    }

    /// Every step's `x·W + b` in one product, before the time loop.
    fn project_inputs(&self, inputs: &[Tensor<3>]) -> Tensor<3> {
        project_gates(inputs, self.kernel.val(), Some(self.bias.val()), 1)
    }

    fn step(&self, xp: Tensor<2>, states: &[Tensor<2>], masks: Option<&[Tensor<2>]>) -> (Tensor<2>, Vec<Tensor<2>>) {
        let s = xp + recurrent_gates(&states[0], self.recurrent_kernel.val(), masks, 1);
        // LayerNormalization over the units (biased variance, epsilon 1e-3 as in Keras).
        let (var, mean) = s.clone().var_mean_bias(1);
        let normed = (s - mean) / (var + 1e-3).sqrt();
        let h = (normed * self.gamma.val().unsqueeze::<2>() + self.beta.val().unsqueeze::<2>()).tanh();
        (h.clone(), vec![h])
    }

    fn keras_weights(&self) -> Vec<AnyTensor> {
        vec![
            AnyTensor::D2(self.kernel.val()),
            AnyTensor::D2(self.recurrent_kernel.val()),
            AnyTensor::D1(self.bias.val()),
            AnyTensor::D1(self.gamma.val()),
            AnyTensor::D1(self.beta.val()),
        ]
    }

    fn with_keras_weights(mut self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError> {
        let (f, u) = (self.input_size, self.units);
        let [kernel, recurrent, bias, gamma, beta] = arrays else {
            return Err(LayersError::Count {
                what: "LNSimpleRNNCell weight arrays".into(),
                expected: 5,
                got: arrays.len(),
            });
        };
        self.kernel = kernel.param("kernel", [f, u], device)?;
        self.recurrent_kernel = recurrent.param("recurrent_kernel", [u, u], device)?;
        self.bias = bias.param("bias", [u], device)?;
        self.gamma = gamma.param("gamma", [u], device)?;
        self.beta = beta.param("beta", [u], device)?;
        Ok(self)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(2);
    // The lecture's data: 50 steps in, the next 10 values predicted at every step.
    let series = generate_time_series(&mut NumpyRandom::new(42), 2_000, 60)?;
    let parts = series
        .windows(WindowSpec::sequence(50, 10))?
        .split(Split::Fractions { train: 0.7, valid: 0.2 })?;
    let (train, valid) = (
        Dataset::from_windows(&parts.train)?,
        Dataset::from_windows(&parts.valid)?,
    );

    let plain = Backend::Flex.device()?;
    rnnlab_layers::seed(&plain, 42);
    let device = plain.autodiff();
    let model = Sequential::builder(Shape::sequence(1))
        .add(RnnConfig::new(LnSimpleRnnCellConfig { units: 20 }).with_return_sequences(true))
        .add(RnnConfig::new(LnSimpleRnnCellConfig { units: 20 }).with_return_sequences(true))
        .add(TimeDistributedConfig::new(DenseConfig::new(10)))
        .build(&device)?;
    println!("{}", model.summary());

    let metrics = vec![Metric::LastTimeStepMse { horizon: 10 }];
    let cfg = FitConfig::new(epochs).with_metrics(metrics.clone());
    let (model, history) = fit(model, &train, Some(&valid), &cfg)?;
    let eval = evaluate(&model, &valid, 32, cfg.loss, &metrics)?;
    println!(
        "after {} epochs: val_loss {:.4}, val_last_time_step_mse {:.4}",
        history.epochs(),
        eval.loss,
        eval.metrics[0]
    );
    Ok(())
}
