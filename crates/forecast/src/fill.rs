//! Missing values and gaps: a regular series from a [`RawSeries`], by a [`FillPolicy`].

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{ForecastError, Frequency, RawSeries, TimeFormat};

/// What to do with missing values and with time steps absent from the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FillPolicy {
    /// Refuse them: an error that counts them and shows where the first are (the default).
    #[default]
    Error,
    /// Repeat the last value before each; leading missing values are dropped.
    Ffill,
    /// Interpolate linearly, step by step, between the values around each; leading missing values are
    /// dropped, trailing ones repeat the last value.
    Linear,
    /// Remove the rows (the series then skips those steps).
    Drop,
}

impl FromStr for FillPolicy {
    type Err = ForecastError;
    fn from_str(s: &str) -> Result<Self, ForecastError> {
        match s {
            "error" => Ok(FillPolicy::Error),
            "ffill" => Ok(FillPolicy::Ffill),
            "linear" => Ok(FillPolicy::Linear),
            "drop" => Ok(FillPolicy::Drop),
            _ => Err(ForecastError::option(
                "--fill",
                s,
                "choose error, ffill, linear or drop",
            )),
        }
    }
}

impl FillPolicy {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            FillPolicy::Error => "error",
            FillPolicy::Ffill => "ffill",
            FillPolicy::Linear => "linear",
            FillPolicy::Drop => "drop",
        }
    }
}

/// What filling did, for `metrics.json` and the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillReport {
    /// The policy.
    pub policy: FillPolicy,
    /// Missing cells in the file.
    pub missing_cells: usize,
    /// Time steps absent from a regular time axis.
    pub absent_steps: usize,
    /// Values filled in (by ffill or linear).
    pub filled: usize,
    /// Steps removed (drop, or leading missing values that nothing precedes).
    pub dropped: usize,
}

/// A regular series ready to forecast: no missing values, one time per value.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    /// The target column.
    pub target: String,
    /// The time column (`None`: row order).
    pub time_column: Option<String>,
    /// How times are written.
    pub format: TimeFormat,
    /// The step between times.
    pub frequency: Frequency,
    /// Times.
    pub times: Vec<f64>,
    /// Values (finite).
    pub values: Vec<f64>,
    /// What filling did.
    pub fill: FillReport,
}

/// The most time steps [`prepare`] fills in for one file: a bigger gap is more likely a wrong
/// time column than missing data.
pub const MAX_ABSENT_STEPS: u64 = 10_000_000;

/// Puts absent time steps in as missing values, then applies `policy`. A time step that is not
/// a whole number of the series' step is an error (except under `drop`, which keeps row order).
///
/// ```
/// use rnnlab_forecast::{prepare, Columns, FillPolicy, RawSeries};
/// // 2024-01-03 is absent and 2024-01-04 is missing: two values to fill.
/// let csv = "date,v\n2024-01-01,1\n2024-01-02,2\n2024-01-04,NaN\n2024-01-05,5\n";
/// let raw = RawSeries::from_reader(csv.as_bytes(), &Columns::default())?;
/// assert!(prepare(&raw, FillPolicy::Error).is_err());
/// let p = prepare(&raw, FillPolicy::Linear)?;
/// assert_eq!(p.values, [1.0, 2.0, 3.0, 4.0, 5.0]);
/// assert_eq!((p.fill.missing_cells, p.fill.absent_steps, p.fill.filled), (1, 1, 2));
/// # Ok::<(), rnnlab_forecast::ForecastError>(())
/// ```
pub fn prepare(raw: &RawSeries, policy: FillPolicy) -> Result<Prepared, ForecastError> {
    let frequency = Frequency::infer(raw.format, &raw.times);
    let mut report = FillReport {
        policy,
        missing_cells: raw.missing(),
        ..FillReport::default()
    };
    // The regular axis: every step, absent ones as missing (row order under drop).
    let mut times = Vec::with_capacity(raw.len());
    let mut values: Vec<Option<f64>> = Vec::with_capacity(raw.len());
    let mut origin: Vec<Option<usize>> = Vec::with_capacity(raw.len());
    for i in 0..raw.len() {
        if i > 0 && policy != FillPolicy::Drop {
            let (a, b) = (raw.times[i - 1], raw.times[i]);
            let steps = frequency
                .steps_between(a, b)
                .ok_or_else(|| ForecastError::IrregularTime {
                    row: raw.lines[i],
                    value: raw.format.format(b),
                    previous: raw.format.format(a),
                    step: frequency.describe(),
                })?;
            if steps > MAX_ABSENT_STEPS || report.absent_steps as u64 + steps > MAX_ABSENT_STEPS {
                return Err(ForecastError::HugeGap {
                    row: raw.lines[i],
                    steps: steps - 1,
                    step: frequency.describe(),
                });
            }
            for k in 1..steps {
                times.push(frequency.advance(a, k));
                values.push(None);
                origin.push(None);
                report.absent_steps += 1;
            }
        }
        times.push(raw.times[i]);
        values.push(raw.values[i]);
        origin.push(Some(i));
    }
    let missing = report.missing_cells + report.absent_steps;
    if missing > 0 && policy == FillPolicy::Error {
        let first = values
            .iter()
            .zip(&origin)
            .zip(&times)
            .filter(|((v, _), _)| v.is_none())
            .take(5)
            .map(|((_, o), &t)| match o {
                Some(i) => format!("row {}", raw.lines[*i]),
                None => format!("absent time {}", raw.format.format(t)),
            })
            .collect();
        return Err(ForecastError::Missing {
            column: raw.target.clone(),
            missing,
            gaps: report.absent_steps,
            first,
        });
    }
    let lead = values.iter().take_while(|v| v.is_none()).count();
    let filled: Vec<f64> = match policy {
        FillPolicy::Error => values.iter().map(|v| v.expect("checked above")).collect(),
        FillPolicy::Drop => {
            let kept: Vec<(f64, f64)> = times
                .iter()
                .zip(&values)
                .filter_map(|(&t, v)| v.map(|v| (t, v)))
                .collect();
            report.dropped = values.len() - kept.len();
            times = kept.iter().map(|k| k.0).collect();
            kept.into_iter().map(|k| k.1).collect()
        }
        FillPolicy::Ffill | FillPolicy::Linear => {
            report.dropped = lead;
            times.drain(..lead);
            let rest = &values[lead..];
            report.filled = rest.iter().filter(|v| v.is_none()).count();
            if policy == FillPolicy::Ffill {
                forward_fill(rest)
            } else {
                linear_fill(rest)
            }
        }
    };
    Ok(Prepared {
        target: raw.target.clone(),
        time_column: raw.time_column.clone(),
        format: raw.format,
        frequency,
        times,
        values: filled,
        fill: report,
    })
}

/// Repeats the last value into each gap (`values[0]` must be present).
fn forward_fill(values: &[Option<f64>]) -> Vec<f64> {
    let mut last = 0.0;
    values
        .iter()
        .map(|v| {
            if let Some(v) = v {
                last = *v;
            }
            last
        })
        .collect()
}

/// Interpolates between the known neighbours by step (the axis is regular: calendar months and
/// quarters count as equal steps whatever their days); after the last known value, repeats it.
fn linear_fill(values: &[Option<f64>]) -> Vec<f64> {
    let mut out = forward_fill(values);
    let mut prev: Option<usize> = None;
    for i in 0..values.len() {
        if values[i].is_none() {
            continue;
        }
        if let Some(p) = prev
            && i > p + 1
        {
            let (v0, v1) = (out[p], out[i]);
            for (k, slot) in out[p + 1..i].iter_mut().enumerate() {
                let w = (k + 1) as f64 / (i - p) as f64;
                *slot = v0 + (v1 - v0) * w;
            }
        }
        prev = Some(i);
    }
    out
}
