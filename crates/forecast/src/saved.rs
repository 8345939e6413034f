//! `forecaster.json`: what a saved network needs to forecast from a CSV again (`rnnlab predict`).

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use rnnlab_layers::Sequential;
use rnnlab_series::WindowNorm;
use serde::{Deserialize, Serialize};

use crate::run::network_forecasts;
use crate::{
    Columns, FillPolicy, ForecastError, ForecastOutcome, Frequency, FutureForecast, Intervals, ModelKind, RawSeries,
    TimeFormat, prepare,
};

/// The file name beside `model.keras`.
pub const FORECASTER_FILE: &str = "forecaster.json";

/// The version of `forecaster.json` this crate writes and reads.
pub const FORECASTER_FORMAT: u32 = 1;

/// Everything between a CSV and the network's inputs, and back: saved beside `model.keras`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forecaster {
    /// [`FORECASTER_FORMAT`].
    pub format: u32,
    /// The target column.
    pub target: String,
    /// The time column (`None`: row order).
    pub time_column: Option<String>,
    /// How times are written.
    pub time_format: TimeFormat,
    /// The step between times.
    pub frequency: Frequency,
    /// Missing values and gaps.
    pub fill: FillPolicy,
    /// Input steps.
    pub lookback: usize,
    /// Steps the network outputs.
    pub horizon: usize,
    /// Steps per season.
    pub season: usize,
    /// The network.
    pub model: ModelKind,
    /// How windows reach the network.
    pub norm: WindowNorm,
    /// The network's interval offsets per step (from its test residuals).
    pub intervals: Intervals,
}

impl Forecaster {
    /// What `outcome`'s network needs.
    pub fn from_outcome(outcome: &ForecastOutcome) -> Forecaster {
        let s = &outcome.series;
        Forecaster {
            format: FORECASTER_FORMAT,
            target: s.target.clone(),
            time_column: s.time_column.clone(),
            time_format: s.format,
            frequency: s.frequency,
            fill: outcome.options.fill,
            lookback: outcome.plan.lookback,
            horizon: outcome.plan.horizon,
            season: outcome.plan.season.season,
            model: outcome.options.model,
            norm: outcome.plan.norm,
            intervals: outcome.model_intervals.clone(),
        }
    }

    /// Writes `dir/forecaster.json` atomically.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, ForecastError> {
        let path = dir.join(FORECASTER_FILE);
        let mut json = serde_json::to_string_pretty(self).expect("plain data serializes");
        json.push('\n');
        rnnlab_layers::atomic_file::write(&path, json.as_bytes()).map_err(ForecastError::io(&path))?;
        Ok(path)
    }

    /// Reads and checks a `forecaster.json`.
    pub fn load(path: &Path) -> Result<Forecaster, ForecastError> {
        let bad = |why: String| ForecastError::BadForecaster {
            path: path.to_path_buf(),
            why,
        };
        let text = std::fs::read_to_string(path).map_err(ForecastError::io(path))?;
        let f: Forecaster = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if f.format != FORECASTER_FORMAT {
            return Err(bad(format!(
                "format {} is not {FORECASTER_FORMAT}; write it again with this version of rnnlab forecast",
                f.format
            )));
        }
        if f.lookback == 0 || f.horizon == 0 || f.season == 0 {
            return Err(bad("lookback, horizon and season must be at least 1".into()));
        }
        let lens = [
            f.intervals.lower80.len(),
            f.intervals.upper80.len(),
            f.intervals.lower95.len(),
            f.intervals.upper95.len(),
        ];
        if lens.iter().any(|&l| l != f.horizon) {
            return Err(bad(format!(
                "interval offsets {lens:?} do not match horizon {}",
                f.horizon
            )));
        }
        if f.intervals
            .lower95
            .iter()
            .chain(&f.intervals.upper95)
            .any(|v| !v.is_finite())
        {
            return Err(bad("interval offsets must be finite".into()));
        }
        f.norm.validate().map_err(|e| bad(e.to_string()))?;
        Ok(f)
    }

    /// The next `horizon` values (at most the network's) after the end of the series in `csv`,
    /// read and filled as in training, with the saved intervals.
    pub fn forecast_csv(
        &self,
        model: &Sequential,
        csv: &Path,
        horizon: Option<usize>,
    ) -> Result<FutureForecast, ForecastError> {
        let columns = Columns {
            target: Some(self.target.clone()),
            time: self.time_column.clone(),
        };
        let raw = RawSeries::from_path(csv, &columns)?;
        if raw.format != self.time_format {
            return Err(ForecastError::option(
                "time column",
                raw.format.describe(),
                format!(
                    "the model was trained on times written as {}",
                    self.time_format.describe()
                ),
            ));
        }
        let series = prepare(&raw, self.fill)?;
        self.forecast_values(model, &series.values, *series.times.last().expect("prepared"), horizon)
    }

    /// The next `horizon` values after `values` (whose last time is `last_time`).
    pub fn forecast_values(
        &self,
        model: &Sequential,
        values: &[f64],
        last_time: f64,
        horizon: Option<usize>,
    ) -> Result<FutureForecast, ForecastError> {
        let h = horizon.unwrap_or(self.horizon);
        if h == 0 || h > self.horizon {
            return Err(ForecastError::option(
                "--horizon",
                h,
                format!("this model forecasts 1 to {} steps at once", self.horizon),
            ));
        }
        let expected_output = [Some(self.horizon)];
        if model.output_shape().dims() != expected_output {
            return Err(ForecastError::option(
                "model",
                model.output_shape(),
                format!("{FORECASTER_FILE} says it outputs {} values", self.horizon),
            ));
        }
        if values.len() < self.lookback {
            return Err(ForecastError::TooShort {
                n: values.len(),
                lookback: self.lookback,
                horizon: self.horizon,
                minimum: self.lookback,
            });
        }
        let windows = (self.lookback, self.horizon, self.norm);
        let point = network_forecasts(model, values, windows, &[values.len()], self.model.name())?;
        let take = |v: &[f64]| -> Vec<f64> { point.iter().zip(v).take(h).map(|(p, o)| p + o).collect() };
        Ok(FutureForecast {
            model: self.model.name().to_string(),
            times: (1..=h as u64).map(|k| self.frequency.advance(last_time, k)).collect(),
            lower80: take(&self.intervals.lower80),
            upper80: take(&self.intervals.upper80),
            lower95: take(&self.intervals.lower95),
            upper95: take(&self.intervals.upper95),
            values: point[..h].to_vec(),
        })
    }
}

/// Loads `model.keras` and the `forecaster.json` beside it.
pub fn load_forecaster(model_path: &Path, device: &Device) -> Result<(Forecaster, Sequential), ForecastError> {
    let dir = model_path.parent().unwrap_or(Path::new("."));
    let forecaster = Forecaster::load(&dir.join(FORECASTER_FILE))?;
    let model = rnnlab_keras::load_model(model_path, device)?;
    Ok((forecaster, model))
}

/// A future forecast as CSV (`time,forecast,lower80,upper80,lower95,upper95`).
pub fn future_csv(future: &FutureForecast, format: TimeFormat) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("time,forecast,lower80,upper80,lower95,upper95\n");
    for i in 0..future.values.len() {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            format.format(future.times[i]),
            future.values[i],
            future.lower80[i],
            future.upper80[i],
            future.lower95[i],
            future.upper95[i]
        );
    }
    out
}
