//! The four baselines every forecast is compared with.

use serde::{Deserialize, Serialize};

/// A forecasting rule that needs no training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// The last value, repeated.
    Naive,
    /// The value one season before each target step.
    SeasonalNaive,
    /// The last value plus the average step since the first value (a straight line through
    /// the first and last values, continued).
    Drift,
    /// The mean of the history.
    Mean,
}

impl Baseline {
    /// All four, in report order.
    pub const ALL: [Baseline; 4] = [
        Baseline::Naive,
        Baseline::SeasonalNaive,
        Baseline::Drift,
        Baseline::Mean,
    ];

    /// The name used in `metrics.json`.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::Naive => "naive",
            Baseline::SeasonalNaive => "seasonal-naive",
            Baseline::Drift => "drift",
            Baseline::Mean => "mean",
        }
    }
}

/// Baseline forecasts from many origins of one series, with the history's running sums kept
/// so that each origin costs O(horizon).
///
/// ```
/// use rnnlab_forecast::{Baseline, Baselines};
/// let y = [1.0, 2.0, 3.0, 10.0, 20.0, 30.0];          // season 3
/// let b = Baselines::new(&y, 3);
/// assert_eq!(b.forecast(Baseline::Naive, 6, 2), [30.0, 30.0]);
/// assert_eq!(b.forecast(Baseline::SeasonalNaive, 6, 4), [10.0, 20.0, 30.0, 10.0]);
/// assert_eq!(b.forecast(Baseline::Drift, 6, 1), [35.8]);
/// assert_eq!(b.forecast(Baseline::Mean, 3, 1), [2.0]);
/// ```
#[derive(Clone, Debug)]
pub struct Baselines<'a> {
    values: &'a [f64],
    season: usize,
    prefix: Vec<f64>,
}

impl<'a> Baselines<'a> {
    /// Over `values` with `season` (1: seasonal naive is naive).
    pub fn new(values: &'a [f64], season: usize) -> Self {
        let mut prefix = Vec::with_capacity(values.len() + 1);
        prefix.push(0.0);
        let mut s = 0.0;
        for v in values {
            s += v;
            prefix.push(s);
        }
        Self {
            values,
            season: season.max(1),
            prefix,
        }
    }

    /// The `horizon` values after `origin`, knowing `values[..origin]`.
    ///
    /// # Panics
    /// If `origin` is 0 or beyond the series, as slice indexing does.
    pub fn forecast(&self, baseline: Baseline, origin: usize, horizon: usize) -> Vec<f64> {
        assert!(origin >= 1 && origin <= self.values.len(), "origin {origin}");
        let last = self.values[origin - 1];
        (1..=horizon)
            .map(|h| match baseline {
                Baseline::Naive => last,
                Baseline::SeasonalNaive => {
                    let m = self.season.min(origin);
                    self.values[origin - m + (h - 1) % m]
                }
                Baseline::Drift => {
                    if origin < 2 {
                        last
                    } else {
                        let slope = (last - self.values[0]) / (origin - 1) as f64;
                        last + slope * h as f64
                    }
                }
                Baseline::Mean => self.prefix[origin] / origin as f64,
            })
            .collect()
    }
}
