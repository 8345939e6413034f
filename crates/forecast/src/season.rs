//! Season and lookback chosen from the data, each with the reason in words.

use serde::{Deserialize, Serialize};

use crate::Frequency;

/// A season length and why it was chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeasonGuess {
    /// Steps per season (1: none found).
    pub season: usize,
    /// How it was found.
    pub reason: String,
}

/// Autocorrelation of the first differences at `lag` (differences remove a trend, which would
/// otherwise correlate every lag with every other).
fn acf(diffs: &[f64], mean: f64, var: f64, lag: usize) -> f64 {
    let n = diffs.len();
    let mut s = 0.0;
    for t in 0..n - lag {
        s += (diffs[t] - mean) * (diffs[t + lag] - mean);
    }
    s / var
}

/// The season of `values` (the training part): the calendar's season for the step (52 for weekly,
/// 12 for monthly, 7 for daily, 24 for hourly, …) when the differenced series correlates at that
/// lag (≥ 0.2); else the shortest lag whose autocorrelation peak is within 90% of the highest,
/// when that reaches 0.3; else 1 (no season). Looks at the last 20,000 values at most.
///
/// ```
/// use rnnlab_forecast::{guess_season, Frequency};
/// let monthly: Vec<f64> = (0..240).map(|t| (t as f64 * std::f64::consts::TAU / 12.0).sin() + 0.01 * t as f64).collect();
/// assert_eq!(guess_season(&monthly, Frequency::Months(1)).season, 12);
/// assert_eq!(guess_season(&monthly, Frequency::Rows).season, 12);      // found by autocorrelation alone
/// let line: Vec<f64> = (0..100).map(|t| t as f64).collect();
/// assert_eq!(guess_season(&line, Frequency::Rows).season, 1);
/// ```
pub fn guess_season(values: &[f64], frequency: Frequency) -> SeasonGuess {
    let tail = &values[values.len().saturating_sub(20_000)..];
    let diffs: Vec<f64> = tail.windows(2).map(|w| w[1] - w[0]).collect();
    let n = diffs.len();
    let calendar = frequency.calendar_season();
    let describe = frequency.describe();
    if n < 8 {
        return SeasonGuess {
            season: 1,
            reason: format!("{n} differences are too few to look for a season"),
        };
    }
    let mean = diffs.iter().sum::<f64>() / n as f64;
    let var: f64 = diffs.iter().map(|d| (d - mean).powi(2)).sum();
    if var <= 0.0 {
        return SeasonGuess {
            season: 1,
            reason: "the series changes by the same amount every step: no season".into(),
        };
    }
    let max_lag = (n / 3).min(400.max(calendar.unwrap_or(0) + 1));
    if let Some(c) = calendar.filter(|&c| c >= 2 && c <= max_lag) {
        let r = acf(&diffs, mean, var, c);
        if r >= 0.2 {
            return SeasonGuess {
                season: c,
                reason: format!(
                    "{describe} data suggest {c}; the differenced series' autocorrelation at lag {c} is {r:.2}"
                ),
            };
        }
    }
    let r: Vec<f64> = (0..=max_lag)
        .map(|lag| if lag < 2 { 0.0 } else { acf(&diffs, mean, var, lag) })
        .collect();
    let peaks: Vec<usize> = (2..max_lag).filter(|&l| r[l] > r[l - 1] && r[l] >= r[l + 1]).collect();
    let best = peaks.iter().map(|&l| r[l]).fold(f64::NEG_INFINITY, f64::max);
    if best >= 0.3
        && let Some(&lag) = peaks.iter().find(|&&l| r[l] >= 0.9 * best)
    {
        let calendar_note = match calendar {
            Some(c) => format!(" ({describe} data would suggest {c}, whose autocorrelation is lower)"),
            None => String::new(),
        };
        return SeasonGuess {
            season: lag,
            reason: format!(
                "the differenced series' autocorrelation peaks at lag {lag} ({:.2}){calendar_note}",
                r[lag]
            ),
        };
    }
    SeasonGuess {
        season: 1,
        reason: if best.is_finite() {
            format!("no autocorrelation peak reaches 0.3 (highest {best:.2}): no season")
        } else {
            "no autocorrelation peak: no season".into()
        },
    }
}

/// The default lookback: two seasons, at least three horizons and at least 10 steps, capped so
/// that the training part (`n_train` values) holds at least 50 windows — or half of its length
/// when it is too short for that — with the reason in words.
///
/// ```
/// use rnnlab_forecast::default_lookback;
/// assert_eq!(default_lookback(52, 12, 2000).0, 104);
/// assert_eq!(default_lookback(1, 1, 2000).0, 10);
/// assert_eq!(default_lookback(52, 12, 120).0, 59);   // capped: 120 − 12 − 59 + 1 = 50 windows
/// ```
pub fn default_lookback(season: usize, horizon: usize, n_train: usize) -> (usize, String) {
    let want = (2 * season).max(3 * horizon).max(10);
    let room = n_train.saturating_sub(horizon + 49);
    let cap = room.max(n_train.saturating_sub(horizon) / 2).max(2);
    if want <= cap {
        (want, format!("max(2 × season, 3 × horizon, 10) = {want}"))
    } else {
        (
            cap,
            format!("{cap}: max(2 × season, 3 × horizon, 10) = {want} leaves too few training windows"),
        )
    }
}
