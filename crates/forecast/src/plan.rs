//! Splitting in time and the sizes chosen from the data: train / validation / test, season,
//! lookback and the window normalization.

use rnnlab_series::WindowNorm;
use serde::{Deserialize, Serialize};

use crate::{ForecastError, Frequency, SeasonGuess, default_lookback, guess_season};

/// The three parts of a series, in time order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeSplit {
    /// The first `n_train` values: the model's training windows, the scale, the season and MASE.
    pub n_train: usize,
    /// The next `n_valid`: early stopping (windows' inputs may reach back into training).
    pub n_valid: usize,
    /// The last `n_test`: the scores and the backtest.
    pub n_test: usize,
}

impl TimeSplit {
    /// Validation and test parts of 15% each (at least `horizon` values), the rest training.
    ///
    /// ```
    /// use rnnlab_forecast::TimeSplit;
    /// let s = TimeSplit::new(1000, 12);
    /// assert_eq!((s.n_train, s.n_valid, s.n_test), (700, 150, 150));
    /// assert_eq!(TimeSplit::new(40, 12).n_test, 12);
    /// ```
    pub fn new(n: usize, horizon: usize) -> TimeSplit {
        let part = ((n as f64 * 0.15).round() as usize).max(horizon);
        TimeSplit {
            n_train: n.saturating_sub(2 * part),
            n_valid: part,
            n_test: part,
        }
    }

    /// True when every part holds at least one window of `lookback` inputs and `horizon` targets.
    pub fn fits(&self, lookback: usize, horizon: usize) -> bool {
        self.n_train >= lookback + horizon && self.n_valid >= horizon && self.n_test >= horizon
    }

    /// The shortest series that [`fits`](Self::fits) `lookback` and `horizon`.
    pub fn minimum_length(lookback: usize, horizon: usize) -> usize {
        let mut n = lookback + 3 * horizon;
        while !TimeSplit::new(n, horizon).fits(lookback, horizon) {
            n += 1;
        }
        n
    }
}

/// Every size a forecast uses, with how each was chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Steps forecast.
    pub horizon: usize,
    /// Input steps.
    pub lookback: usize,
    /// How the lookback was chosen.
    pub lookback_reason: String,
    /// Steps per season and how they were found.
    pub season: SeasonGuess,
    /// The parts.
    pub split: TimeSplit,
    /// How each window reaches the model.
    pub norm: WindowNorm,
}

impl Plan {
    /// Sizes for forecasting `values` `horizon` steps ahead; `lookback` and `season` are chosen
    /// from the training part unless given. A series too short for them is an error naming the
    /// minimum length.
    ///
    /// ```
    /// use rnnlab_forecast::{Frequency, Plan};
    /// let y: Vec<f64> = (0..500).map(|t| (t as f64 * std::f64::consts::TAU / 7.0).sin() + t as f64).collect();
    /// let plan = Plan::new(&y, Frequency::Seconds(86_400.0), 7, None, None)?;
    /// assert_eq!((plan.season.season, plan.lookback), (7, 21));   // daily: season 7; 3 × horizon
    /// assert!(Plan::new(&y[..30], Frequency::Rows, 7, Some(20), None).is_err());
    /// # Ok::<(), rnnlab_forecast::ForecastError>(())
    /// ```
    pub fn new(
        values: &[f64],
        frequency: Frequency,
        horizon: usize,
        lookback: Option<usize>,
        season: Option<usize>,
    ) -> Result<Plan, ForecastError> {
        if horizon == 0 {
            return Err(ForecastError::option("--horizon", 0, "forecast at least 1 step"));
        }
        if lookback == Some(0) {
            return Err(ForecastError::option("--lookback", 0, "use at least 1 input step"));
        }
        if season == Some(0) {
            return Err(ForecastError::option(
                "--season",
                0,
                "use 1 for no season, or the steps per season",
            ));
        }
        let n = values.len();
        let split = TimeSplit::new(n, horizon);
        let too_short = |lookback: usize| ForecastError::TooShort {
            n,
            lookback,
            horizon,
            minimum: TimeSplit::minimum_length(lookback, horizon),
        };
        if !split.fits(lookback.unwrap_or(2), horizon) {
            return Err(too_short(lookback.unwrap_or(2)));
        }
        let train = &values[..split.n_train];
        let season = match season {
            Some(s) => SeasonGuess {
                season: s,
                reason: "given with --season".into(),
            },
            None => guess_season(train, frequency),
        };
        let (lookback, lookback_reason) = match lookback {
            Some(l) => (l, "given with --lookback".to_string()),
            None => default_lookback(season.season, horizon, split.n_train),
        };
        if !split.fits(lookback, horizon) {
            return Err(too_short(lookback));
        }
        Ok(Plan {
            horizon,
            lookback,
            lookback_reason,
            season,
            split,
            norm: window_norm(train),
        })
    }
}

/// Each window relative to its last value, divided by the spread (population standard
/// deviation) of the training part's one-step differences — or of its values when those never
/// change, or 1 for a constant series.
fn window_norm(train: &[f64]) -> WindowNorm {
    fn std(v: impl Iterator<Item = f64> + Clone) -> f64 {
        let n = v.clone().count().max(1) as f64;
        let mean = v.clone().sum::<f64>() / n;
        (v.map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt()
    }
    let diffs = train.windows(2).map(|w| w[1] - w[0]);
    let scale = [std(diffs), std(train.iter().copied())]
        .into_iter()
        .find(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(1.0);
    WindowNorm::RelativeToLast { scale }
}
