//! The networks `rnnlab forecast` trains: the lecture's models with `horizon` outputs.

use std::str::FromStr;

use burn::tensor::Device;
use rnnlab_layers::{DenseConfig, FlattenConfig, GruConfig, LstmConfig, Sequential, Shape, SimpleRnnConfig};
use serde::{Deserialize, Serialize};

use crate::ForecastError;

/// Which network forecasts: each reads `lookback` steps of one feature and outputs all `horizon`
/// steps at once (the lecture's sequence-to-vector model), 32 units per recurrent layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// `Flatten` + `Dense(horizon)`: a linear autoregression.
    Linear,
    /// `SimpleRNN(32)` + `Dense(horizon)`.
    SimpleRnn,
    /// `SimpleRNN(32, return_sequences)` + `SimpleRNN(32)` + `Dense(horizon)` (the lecture's deep RNN).
    DeepRnn,
    /// `LSTM(32)` + `Dense(horizon)` (the default).
    #[default]
    Lstm,
    /// `GRU(32)` + `Dense(horizon)`.
    Gru,
}

impl FromStr for ModelKind {
    type Err = ForecastError;
    fn from_str(s: &str) -> Result<Self, ForecastError> {
        match s {
            "linear" => Ok(ModelKind::Linear),
            "simple-rnn" => Ok(ModelKind::SimpleRnn),
            "deep-rnn" => Ok(ModelKind::DeepRnn),
            "lstm" => Ok(ModelKind::Lstm),
            "gru" => Ok(ModelKind::Gru),
            _ => Err(ForecastError::option(
                "--model",
                s,
                "choose linear, simple-rnn, deep-rnn, lstm or gru",
            )),
        }
    }
}

/// Units of each recurrent layer.
pub const UNITS: usize = 32;

impl ModelKind {
    /// The name used on the command line and in `metrics.json`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Linear => "linear",
            ModelKind::SimpleRnn => "simple-rnn",
            ModelKind::DeepRnn => "deep-rnn",
            ModelKind::Lstm => "lstm",
            ModelKind::Gru => "gru",
        }
    }

    /// The untrained network for `lookback` input steps and `horizon` outputs.
    ///
    /// ```
    /// use rnnlab_forecast::ModelKind;
    /// let device = rnnlab_layers::Backend::Flex.device()?;
    /// let model = ModelKind::Gru.build(24, 6, &device)?;
    /// assert_eq!(model.output_shape().dims(), [Some(6)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(self, lookback: usize, horizon: usize, device: &Device) -> Result<Sequential, ForecastError> {
        let input = Shape::sequence_of(lookback, 1);
        let b = Sequential::builder(input);
        let b = match self {
            ModelKind::Linear => b.add(FlattenConfig),
            ModelKind::SimpleRnn => b.add(SimpleRnnConfig::new(UNITS)),
            ModelKind::DeepRnn => b
                .add(SimpleRnnConfig::new(UNITS).with_return_sequences(true))
                .add(SimpleRnnConfig::new(UNITS)),
            ModelKind::Lstm => b.add(LstmConfig::new(UNITS)),
            ModelKind::Gru => b.add(GruConfig::new(UNITS)),
        };
        Ok(b.add(DenseConfig::new(horizon)).build(device)?)
    }
}
