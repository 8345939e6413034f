//! Error measures of a set of forecasts, overall and by horizon step, and interval widths from
//! their residuals.

use serde::{Deserialize, Serialize};

/// The mean absolute error of the seasonal-naive forecast inside `train` (the MASE
/// denominator): `mean |y[t] − y[t − season]|`. `None` when it is zero or undefined (a constant
/// training part, or one no longer than a season).
///
/// ```
/// use rnnlab_forecast::mase_scale;
/// assert_eq!(mase_scale(&[1.0, 3.0, 2.0, 4.0], 1), Some(5.0 / 3.0));
/// assert_eq!(mase_scale(&[1.0, 3.0, 2.0, 4.0], 2), Some(1.0));
/// assert_eq!(mase_scale(&[5.0; 10], 1), None);
/// ```
pub fn mase_scale(train: &[f64], season: usize) -> Option<f64> {
    let m = season.max(1);
    if train.len() <= m {
        return None;
    }
    let sum: f64 = train.windows(m + 1).map(|w| (w[m] - w[0]).abs()).sum();
    let scale = sum / (train.len() - m) as f64;
    (scale > 0.0 && scale.is_finite()).then_some(scale)
}

/// MAE, RMSE, sMAPE (percent, 0–200) and MASE of a set of forecasts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Mean absolute error.
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Symmetric mean absolute percentage error: `100 · mean(2|F − A| / (|A| + |F|))`, a term
    /// with `A = F = 0` counting 0.
    pub smape: f64,
    /// Mean absolute scaled error: MAE over [`mase_scale`]; `null` when that scale is undefined.
    pub mase: Option<f64>,
}

/// Forecasts and what happened, collected origin by origin.
///
/// ```
/// use rnnlab_forecast::Evaluation;
/// let mut e = Evaluation::new(2);
/// e.add(&[1.0, 2.0], &[1.5, 1.0]);
/// e.add(&[0.0, 0.0], &[0.0, 1.0]);
/// let s = e.scores(Some(0.5));
/// assert_eq!(s.mae, 0.625);
/// assert_eq!(s.mase, Some(1.25));
/// assert_eq!(e.mae_by_step(), [0.25, 1.0]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evaluation {
    horizon: usize,
    /// `actual − forecast`, origin-major `[origins, horizon]`.
    residuals: Vec<f64>,
    forecasts: Vec<f64>,
    actuals: Vec<f64>,
}

impl Evaluation {
    /// Empty, for forecasts of `horizon` steps.
    pub fn new(horizon: usize) -> Self {
        Self {
            horizon,
            ..Self::default()
        }
    }

    /// One origin's forecast and the actual values (both `horizon` long).
    pub fn add(&mut self, forecast: &[f64], actual: &[f64]) {
        debug_assert_eq!(forecast.len(), self.horizon);
        debug_assert_eq!(actual.len(), self.horizon);
        self.forecasts.extend_from_slice(forecast);
        self.actuals.extend_from_slice(actual);
        self.residuals.extend(actual.iter().zip(forecast).map(|(a, f)| a - f));
    }

    /// Origins added.
    pub fn origins(&self) -> usize {
        self.residuals.len() / self.horizon.max(1)
    }

    /// The scores over every origin and step, MASE divided by `scale`.
    pub fn scores(&self, scale: Option<f64>) -> Scores {
        let n = self.residuals.len().max(1) as f64;
        let mae = self.residuals.iter().map(|r| r.abs()).sum::<f64>() / n;
        let rmse = (self.residuals.iter().map(|r| r * r).sum::<f64>() / n).sqrt();
        let smape = 100.0
            * self
                .forecasts
                .iter()
                .zip(&self.actuals)
                .map(|(f, a)| {
                    let d = a.abs() + f.abs();
                    if d == 0.0 { 0.0 } else { 2.0 * (f - a).abs() / d }
                })
                .sum::<f64>()
            / n;
        Scores {
            mae,
            rmse,
            smape,
            mase: scale.map(|s| mae / s),
        }
    }

    /// MAE at each horizon step.
    pub fn mae_by_step(&self) -> Vec<f64> {
        (0..self.horizon)
            .map(|h| {
                let col: Vec<f64> = self.step_residuals(h);
                col.iter().map(|r| r.abs()).sum::<f64>() / col.len().max(1) as f64
            })
            .collect()
    }

    /// The residuals (`actual − forecast`) at 0-based horizon step `h`, one per origin.
    pub fn step_residuals(&self, h: usize) -> Vec<f64> {
        self.residuals
            .iter()
            .skip(h)
            .step_by(self.horizon.max(1))
            .copied()
            .collect()
    }

    /// Interval offsets per horizon step from the residuals' empirical quantiles: adding
    /// `lower80`/`upper80` (10% and 90%) and `lower95`/`upper95` (2.5% and 97.5%) to a forecast
    /// gives its 80% and 95% intervals.
    pub fn intervals(&self) -> Intervals {
        let mut out = Intervals::default();
        for h in 0..self.horizon {
            let mut r = self.step_residuals(h);
            r.sort_by(f64::total_cmp);
            out.lower95.push(quantile(&r, 0.025));
            out.lower80.push(quantile(&r, 0.10));
            out.upper80.push(quantile(&r, 0.90));
            out.upper95.push(quantile(&r, 0.975));
        }
        out
    }
}

/// Offsets added to a forecast at each horizon step for its prediction intervals.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Intervals {
    /// 2.5% residual quantile per step.
    pub lower95: Vec<f64>,
    /// 10% residual quantile per step.
    pub lower80: Vec<f64>,
    /// 90% residual quantile per step.
    pub upper80: Vec<f64>,
    /// 97.5% residual quantile per step.
    pub upper95: Vec<f64>,
}

/// The `q` quantile of sorted values, linearly interpolated (NumPy's default); 0 when empty.
///
/// ```
/// use rnnlab_forecast::quantile;
/// assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
/// assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75);
/// ```
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let (lo, frac) = (pos.floor() as usize, pos - pos.floor());
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (sorted[hi] - sorted[lo]) * frac
        }
    }
}
