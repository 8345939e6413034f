//! # rnnlab-forecast
//!
//! Forecast a real series from a CSV with the lecture's recurrent models, honestly: missing
//! values are refused until you say how to fill them, the scale is fitted on the training part
//! only, every network is compared with four baselines on a held-out test part, and the
//! forecast comes with intervals from its own backtest errors. The `rnnlab` command is a thin
//! layer over this crate:
//!
//! ```text
//! rnnlab inspect  data.csv
//! rnnlab forecast data.csv --target co2 --horizon 12 [--model lstm] [--fill linear] [--out DIR]
//! rnnlab predict  DIR/model.keras data.csv
//! ```
//!
//! ## The pipeline
//!
//! 1. [`RawSeries`]: the target column and the time column (ISO dates, datetimes, `YYYY-MM`,
//!    `YYYYMMDD` or numbers; or none). Times must increase; `NaN`, `NA`, `null`, `inf` and empty
//!    cells are missing values, never parsed into a float NaN.
//! 2. [`prepare`]: the time axis is made regular (absent steps become missing values), then a
//!    [`FillPolicy`] applies: `error` (the default: a message that counts them), `ffill`,
//!    `linear` or `drop`. Filling never changes a value that was present.
//! 3. [`Plan`]: training / validation / test parts in time order ([`TimeSplit`]: 70/15/15%), the
//!    season ([`guess_season`]: the calendar's, checked by autocorrelation), the lookback
//!    ([`default_lookback`]), and the window normalization: each window relative to its last value,
//!    divided by the training part's step spread, so that a trend continues beyond the range seen
//!    in training.
//! 4. [`forecast_series`]: the network ([`ModelKind`]) trains on windows cut batch by batch from
//!    the series ([`rnnlab_series::SlidingWindows`]: a million rows need memory near the series'
//!    size), with early stopping on the validation part; it and the four [`Baseline`]s forecast
//!    from rolling origins in the test part ([`Evaluation`]: MAE, RMSE, sMAPE, MASE, error by
//!    horizon step); the best by MASE forecasts the future, with 80% and 95% intervals from the
//!    empirical quantiles of its test residuals at each step ([`Intervals`]).
//! 5. [`write_outputs`]: `metrics.json` (byte-identical for the same data, options and seed),
//!    `forecast.csv`, `report.md` with plots, `model.keras` and [`Forecaster`]'s
//!    `forecaster.json`, which `predict` needs beside the model.
//!
//! ```
//! use rnnlab_forecast::{forecast_series, prepare, Columns, ForecastOptions, ModelKind, RawSeries};
//! // A trend with a 12-step season, 240 steps.
//! let mut csv = String::from("t,y\n");
//! for t in 0..240 {
//!     let y = 0.05 * t as f64 + (t as f64 * std::f64::consts::TAU / 12.0).sin();
//!     csv.push_str(&format!("{t},{y}\n"));
//! }
//! let raw = RawSeries::from_reader(csv.as_bytes(), &Columns { target: Some("y".into()), time: Some("t".into()) })?;
//! let series = prepare(&raw, Default::default())?;
//! let options = ForecastOptions::new(6).with_model(ModelKind::Linear).with_epochs(30).quiet();
//! let outcome = forecast_series(series, &options)?;
//! assert_eq!(outcome.plan.season.season, 12);
//! assert_eq!(outcome.future.values.len(), 6);
//! println!("{}", outcome.verdict());
//! # Ok::<(), rnnlab_forecast::ForecastError>(())
//! ```
//!
//! ## What bad input gets
//!
//! A [`ForecastError`] that names the value and what to do: an unknown column (with the
//! header's names), a non-numeric target cell (row and value), missing values under
//! `--fill error` (their count, the first rows or absent times, the fill options), a time cell
//! in another format than the column's first, times that repeat or go backwards, a step that is
//! not a whole number of the series' step, a series too short for the lookback and horizon
//! (with the minimum length), and a `forecaster.json` that does not fit its model.
#![warn(missing_docs)]

mod baselines;
mod error;
mod fill;
mod inspect;
mod load;
mod metrics;
mod model;
mod plan;
pub mod plot;
mod report;
mod run;
mod saved;
mod season;
mod time;

pub use baselines::{Baseline, Baselines};
pub use error::ForecastError;
pub use fill::{FillPolicy, FillReport, MAX_ABSENT_STEPS, Prepared, prepare};
pub use inspect::{Inspection, inspect, inspect_raw};
pub use load::{Columns, RawSeries, is_missing_marker};
pub use metrics::{Evaluation, Intervals, Scores, mase_scale, quantile};
pub use model::{ModelKind, UNITS};
pub use plan::{Plan, TimeSplit};
pub use report::{OutputFiles, forecast_csv, metrics_json, report_markdown, write_outputs};
pub use run::{
    DEFAULT_MAX_ORIGINS, ForecastOptions, ForecastOutcome, FutureForecast, ModelResult, forecast_file, forecast_series,
};
pub use saved::{FORECASTER_FILE, FORECASTER_FORMAT, Forecaster, future_csv, load_forecaster};
pub use season::{SeasonGuess, default_lookback, guess_season};
pub use time::{Frequency, TimeFormat};
