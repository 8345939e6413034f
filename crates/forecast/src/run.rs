//! `forecast`: train the network, backtest it and the baselines over the test part, forecast
//! the future with intervals.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rnnlab_layers::{Backend, Predictor, Sequential};
use rnnlab_series::{SlidingWindows, WindowNorm};
use rnnlab_train::{Dataset, EarlyStopping, FitConfig, History, OptimizerConfig, Verbosity, fit, predict};
use serde::{Deserialize, Serialize};

use crate::{
    Baseline, Baselines, Columns, Evaluation, FillPolicy, ForecastError, Intervals, ModelKind, Plan, Prepared,
    RawSeries, Scores, mase_scale, prepare,
};

/// Most test origins scored when `--backtest` is not given (evenly spaced over the test part).
pub const DEFAULT_MAX_ORIGINS: usize = 1000;

/// Everything `rnnlab forecast` can be told, with its defaults.
///
/// ```
/// use rnnlab_forecast::{ForecastOptions, ModelKind};
/// let opts = ForecastOptions::new(12).with_model(ModelKind::Gru).with_epochs(5);
/// assert_eq!((opts.horizon, opts.seed, opts.patience), (12, 42, 10));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastOptions {
    /// Target and time columns.
    pub columns: Columns,
    /// Steps to forecast.
    pub horizon: usize,
    /// Input steps (`None`: [`default_lookback`](crate::default_lookback)).
    pub lookback: Option<usize>,
    /// Steps per season (`None`: [`guess_season`](crate::guess_season)).
    pub season: Option<usize>,
    /// The network.
    pub model: ModelKind,
    /// Missing values and gaps.
    pub fill: FillPolicy,
    /// Most training epochs (early stopping on the validation part usually ends sooner). Default 100.
    pub epochs: usize,
    /// Epochs without a better validation loss before stopping (the best weights are kept). Default 10.
    pub patience: usize,
    /// Windows per training batch. Default 32.
    pub batch_size: usize,
    /// Adam's learning rate. Default 0.001.
    pub learning_rate: f64,
    /// Initial weights and batch order. Default 42.
    pub seed: u64,
    /// Rolling origins scored in the test part (`None`: every origin, at most
    /// [`DEFAULT_MAX_ORIGINS`], evenly spaced).
    pub backtest: Option<usize>,
    /// The Burn backend.
    pub backend: Backend,
    /// No epoch lines or progress bar.
    pub quiet: bool,
}

impl ForecastOptions {
    /// `horizon` steps with every other setting at its default.
    pub fn new(horizon: usize) -> Self {
        Self {
            columns: Columns::default(),
            horizon,
            lookback: None,
            season: None,
            model: ModelKind::default(),
            fill: FillPolicy::default(),
            epochs: 100,
            patience: 10,
            batch_size: 32,
            learning_rate: 1e-3,
            seed: 42,
            backtest: None,
            backend: Backend::Flex,
            quiet: false,
        }
    }

    /// Sets the network.
    #[must_use]
    pub fn with_model(mut self, model: ModelKind) -> Self {
        self.model = model;
        self
    }

    /// Sets the most epochs.
    #[must_use]
    pub fn with_epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Sets the fill policy.
    #[must_use]
    pub fn with_fill(mut self, fill: FillPolicy) -> Self {
        self.fill = fill;
        self
    }

    /// Sets the columns.
    #[must_use]
    pub fn with_columns(mut self, columns: Columns) -> Self {
        self.columns = columns;
        self
    }

    /// Sets the seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the lookback.
    #[must_use]
    pub fn with_lookback(mut self, lookback: usize) -> Self {
        self.lookback = Some(lookback);
        self
    }

    /// Sets the season.
    #[must_use]
    pub fn with_season(mut self, season: usize) -> Self {
        self.season = Some(season);
        self
    }

    /// Sets the number of backtest origins.
    #[must_use]
    pub fn with_backtest(mut self, origins: usize) -> Self {
        self.backtest = Some(origins);
        self
    }

    /// No epoch lines.
    #[must_use]
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }
}

/// One model's (network's or baseline's) backtest.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelResult {
    /// `lstm`, `naive`, `seasonal-naive`, ….
    pub name: String,
    /// The scores over the backtest origins.
    pub scores: Scores,
    /// Forecasts and actual values at each origin.
    pub evaluation: Evaluation,
    /// Forecasts at each origin, origin-major `[origins, horizon]`.
    pub forecasts: Vec<f64>,
}

/// The future forecast with its intervals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FutureForecast {
    /// Which model made it (the best in the backtest).
    pub model: String,
    /// The times forecast.
    pub times: Vec<f64>,
    /// The forecast.
    pub values: Vec<f64>,
    /// 80% interval, lower end.
    pub lower80: Vec<f64>,
    /// 80% interval, upper end.
    pub upper80: Vec<f64>,
    /// 95% interval, lower end.
    pub lower95: Vec<f64>,
    /// 95% interval, upper end.
    pub upper95: Vec<f64>,
}

/// What a forecast run found.
#[derive(Debug)]
pub struct ForecastOutcome {
    /// The options it ran with.
    pub options: ForecastOptions,
    /// The series after filling.
    pub series: Prepared,
    /// Sizes and how they were chosen.
    pub plan: Plan,
    /// The trained network (inference device).
    pub model: Sequential,
    /// Its training history.
    pub history: History,
    /// Series positions of the backtest origins (each one's first target).
    pub origins: Vec<usize>,
    /// The network first, then the baselines.
    pub results: Vec<ModelResult>,
    /// The network's interval offsets per step (saved with the model for `predict`).
    pub model_intervals: Intervals,
    /// The best model by MASE (MAE when MASE is undefined).
    pub best: String,
    /// The future.
    pub future: FutureForecast,
    /// Wall-clock seconds of training.
    pub train_seconds: f64,
    /// The device, in words.
    pub device: String,
}

impl ForecastOutcome {
    /// The result named `name`.
    pub fn result(&self, name: &str) -> Option<&ModelResult> {
        self.results.iter().find(|r| r.name == name)
    }

    /// Scores by model name.
    pub fn scores(&self) -> BTreeMap<String, Scores> {
        self.results.iter().map(|r| (r.name.clone(), r.scores)).collect()
    }

    /// One line: which model won and by how much MASE over seasonal naive.
    pub fn verdict(&self) -> String {
        let best = self.result(&self.best).expect("best is one of the results");
        let reference = self
            .result(Baseline::SeasonalNaive.name())
            .expect("baselines always run");
        match (best.scores.mase, reference.scores.mase) {
            (Some(b), Some(r)) if self.best != reference.name => format!(
                "best: {} with MASE {b:.3}, {:.1}% lower than seasonal naive ({r:.3}) over {} test origins",
                self.best,
                100.0 * (r - b) / r,
                self.origins.len()
            ),
            (Some(b), _) => {
                let net = &self.results[0];
                let gap = net
                    .scores
                    .mase
                    .map(|m| format!("; the {} scored {m:.3}", net.name))
                    .unwrap_or_default();
                format!(
                    "best: seasonal naive with MASE {b:.3}{gap}: the network does not beat the baseline on this series"
                )
            }
            _ => format!(
                "best: {} with MAE {:.4} (MASE undefined: the training part does not vary)",
                self.best, best.scores.mae
            ),
        }
    }
}

/// Reads `csv`, fills it, trains the network and scores it against the baselines.
pub fn forecast_file(csv: &Path, options: &ForecastOptions) -> Result<ForecastOutcome, ForecastError> {
    let raw = RawSeries::from_path(csv, &options.columns)?;
    let series = prepare(&raw, options.fill)?;
    forecast_series(series, options)
}

/// Trains the network on a prepared series and scores it against the baselines.
pub fn forecast_series(series: Prepared, options: &ForecastOptions) -> Result<ForecastOutcome, ForecastError> {
    if options.batch_size == 0 {
        return Err(ForecastError::option("--batch-size", 0, "use at least 1"));
    }
    if options.epochs == 0 {
        return Err(ForecastError::option("--epochs", 0, "train at least 1 epoch"));
    }
    let values = &series.values;
    let plan = Plan::new(
        values,
        series.frequency,
        options.horizon,
        options.lookback,
        options.season,
    )?;
    let (n, h, lookback) = (values.len(), plan.horizon, plan.lookback);
    let split = plan.split;
    let shared: Arc<[f64]> = values.clone().into();
    let windows = |from: usize, to: usize| SlidingWindows::new(shared.clone(), lookback, h, from..to, plan.norm);
    let train = Dataset::from_sliding(windows(lookback, split.n_train - h + 1)?);
    let valid_start = split.n_train;
    let valid = Dataset::from_sliding(windows(valid_start, valid_start + split.n_valid - h + 1)?);

    // Checked before training, which it would otherwise waste.
    let origins = backtest_origins(n, h, split.n_test, options.backtest)?;
    let selected = options.backend.select()?;
    let device = selected.device.clone().autodiff();
    // A generator of this thread's own: forecasts run side by side draw the same weights.
    let model = rnnlab_layers::seeded(&selected.device, options.seed, || {
        options.model.build(lookback, h, &device)
    })?;
    let cfg = FitConfig::new(options.epochs)
        .with_batch_size(options.batch_size)
        .with_seed(options.seed)
        .with_optimizer(OptimizerConfig::adam(options.learning_rate))
        .with_early_stopping(EarlyStopping {
            patience: options.patience,
            min_delta: 0.0,
            restore_best_weights: true,
        })
        .with_verbosity(if options.quiet {
            Verbosity::Quiet
        } else {
            Verbosity::Epoch
        });
    let started = Instant::now();
    let (model, history) = fit(model, &train, Some(&valid), &cfg)?;
    let train_seconds = started.elapsed().as_secs_f64();
    let model = burn::module::Module::valid(&model);

    let scale = mase_scale(&values[..split.n_train], plan.season.season);
    let mut results = Vec::new();
    let net_forecasts = network_forecasts(&model, values, (lookback, h, plan.norm), &origins, options.model.name())?;
    results.push(score(options.model.name(), net_forecasts, values, &origins, h, scale));
    let baselines = Baselines::new(values, plan.season.season);
    for b in Baseline::ALL {
        let f: Vec<f64> = origins.iter().flat_map(|&t| baselines.forecast(b, t, h)).collect();
        results.push(score(b.name(), f, values, &origins, h, scale));
    }
    let key = |r: &ModelResult| r.scores.mase.unwrap_or(r.scores.mae);
    let best = results
        .iter()
        .fold(None::<&ModelResult>, |b, r| match b {
            Some(b) if key(b) <= key(r) => Some(b),
            _ => Some(r),
        })
        .expect("five results")
        .name
        .clone();
    let model_intervals = results[0].evaluation.intervals();
    let best_result = results.iter().find(|r| r.name == best).expect("best is a result");
    let intervals = best_result.evaluation.intervals();
    let point = if best == options.model.name() {
        network_forecasts(&model, values, (lookback, h, plan.norm), &[n], &best)?
    } else {
        let b = Baseline::ALL
            .into_iter()
            .find(|b| b.name() == best)
            .expect("a baseline");
        baselines.forecast(b, n, h)
    };
    let last = *series.times.last().expect("the plan checked the length");
    let future = FutureForecast {
        model: best.clone(),
        times: (1..=h as u64).map(|k| series.frequency.advance(last, k)).collect(),
        lower80: offset(&point, &intervals.lower80),
        upper80: offset(&point, &intervals.upper80),
        lower95: offset(&point, &intervals.lower95),
        upper95: offset(&point, &intervals.upper95),
        values: point,
    };
    Ok(ForecastOutcome {
        options: options.clone(),
        series,
        plan,
        model,
        history,
        origins,
        results,
        model_intervals,
        best,
        future,
        train_seconds,
        device: selected.description,
    })
}

fn offset(point: &[f64], by: &[f64]) -> Vec<f64> {
    point.iter().zip(by).map(|(p, o)| p + o).collect()
}

fn score(
    name: &str,
    forecasts: Vec<f64>,
    values: &[f64],
    origins: &[usize],
    h: usize,
    scale: Option<f64>,
) -> ModelResult {
    let mut evaluation = Evaluation::new(h);
    for (f, &t) in forecasts.chunks(h).zip(origins) {
        evaluation.add(f, &values[t..t + h]);
    }
    ModelResult {
        name: name.to_string(),
        scores: evaluation.scores(scale),
        evaluation,
        forecasts,
    }
}

/// `count` origins (default: all, at most [`DEFAULT_MAX_ORIGINS`]) evenly spaced over the test
/// part, the last at `n − h` so that its targets end the series.
fn backtest_origins(n: usize, h: usize, n_test: usize, count: Option<usize>) -> Result<Vec<usize>, ForecastError> {
    let first = n - n_test;
    let available = n_test - h + 1;
    let k = match count {
        Some(0) => return Err(ForecastError::option("--backtest", 0, "score at least 1 origin")),
        Some(k) if k > available => {
            return Err(ForecastError::option(
                "--backtest",
                k,
                format!(
                    "the test part ({n_test} values) holds {available} origins of a {h}-step forecast; ask for at most {available}"
                ),
            ));
        }
        Some(k) => k,
        None => available.min(DEFAULT_MAX_ORIGINS),
    };
    if k == 1 {
        return Ok(vec![n - h]);
    }
    Ok((0..k)
        .map(|i| first + ((i * (available - 1)) as f64 / (k - 1) as f64).round() as usize)
        .collect())
}

/// The network's forecasts (in the series' units) from each origin, origin-major: windows of
/// `lookback` values expressed by `norm`, `h` outputs each. Every built-in model runs on
/// [`Predictor`] (the host inference engine: no autodiff, its numbers those of the model's
/// forward to `f32` round-off); a model it cannot run takes `rnnlab_train::predict`.
pub(crate) fn network_forecasts(
    model: &Sequential,
    values: &[f64],
    (lookback, h, norm): (usize, usize, WindowNorm),
    origins: &[usize],
    name: &str,
) -> Result<Vec<f64>, ForecastError> {
    let mut out = Vec::with_capacity(origins.len() * h);
    let predictor = Predictor::new(model).ok();
    // Chunks keep the materialized windows small whatever the number of origins.
    for chunk in origins.chunks(4096) {
        let mut x = Vec::with_capacity(chunk.len() * lookback);
        for &t in chunk {
            norm.input(&values[t - lookback..t], &mut x);
        }
        let pred = match &predictor {
            Some(p) => p.predict(&x, chunk.len(), lookback)?,
            None => {
                let data = Dataset::new(x, [chunk.len(), lookback, 1], vec![0.0; chunk.len() * h], h)?;
                predict(model, &data, 256)?.data().to_vec()
            }
        };
        for (row, &t) in pred.chunks(h).zip(chunk) {
            let last = values[t - 1];
            for (step, &p) in row.iter().enumerate() {
                let v = norm.restore(last, p);
                if !v.is_finite() {
                    return Err(ForecastError::NonFiniteForecast {
                        model: name.to_string(),
                        origin: t,
                        step: step + 1,
                        value: v,
                    });
                }
                out.push(v);
            }
        }
    }
    Ok(out)
}
