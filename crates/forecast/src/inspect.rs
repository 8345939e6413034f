//! `inspect`: what a CSV holds and what `forecast` would choose for it, without training.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Columns, FillPolicy, ForecastError, Plan, RawSeries, SeasonGuess, TimeSplit, prepare};

/// A CSV described: columns, length, time range, frequency, missing values, season and lookback.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    /// Every column of the header.
    pub columns: Vec<String>,
    /// The column forecast.
    pub target: String,
    /// The time column (`None`: row order).
    pub time_column: Option<String>,
    /// How times are written, in words.
    pub time_format: String,
    /// Rows in the file.
    pub rows: usize,
    /// First and last time.
    pub first_time: String,
    /// Last time.
    pub last_time: String,
    /// The step, in words, or why there is none.
    pub frequency: String,
    /// Missing target cells.
    pub missing_cells: usize,
    /// The first rows with a missing cell (1-based lines).
    pub first_missing_rows: Vec<usize>,
    /// Time steps absent from a regular axis (`None`: the axis is irregular).
    pub absent_steps: Option<usize>,
    /// The season found (on the series with missing values interpolated).
    pub season: SeasonGuess,
    /// The horizon the lookback below is for.
    pub horizon: usize,
    /// The default lookback for that horizon, and why (`None` with the reason when too short).
    pub lookback: Result<(usize, String), String>,
}

/// Describes the CSV at `path`; `horizon` is the one the default lookback is computed for.
///
/// ```no_run
/// let i = rnnlab_forecast::inspect(std::path::Path::new("co2.csv"), &Default::default(), 12)?;
/// println!("{}", i.text());
/// # Ok::<(), rnnlab_forecast::ForecastError>(())
/// ```
pub fn inspect(path: &Path, columns: &Columns, horizon: usize) -> Result<Inspection, ForecastError> {
    let raw = RawSeries::from_path(path, columns)?;
    inspect_raw(&raw, horizon)
}

/// [`inspect`] on a series already read.
pub fn inspect_raw(raw: &RawSeries, horizon: usize) -> Result<Inspection, ForecastError> {
    let horizon = horizon.max(1);
    // Season and lookback on the series interpolated as `--fill linear` would; an irregular
    // axis is described by row order, as `--fill drop` would.
    let (prepared, irregular) = match prepare(raw, FillPolicy::Linear) {
        Ok(p) => (p, None),
        Err(e @ ForecastError::IrregularTime { .. }) => (prepare(raw, FillPolicy::Drop)?, Some(e.to_string())),
        Err(e) => return Err(e),
    };
    // The plan guesses the season on the training part; a series too short for a plan still
    // gets a guess on what there is.
    let (lookback, season) = match Plan::new(&prepared.values, prepared.frequency, horizon, None, None) {
        Ok(plan) => (Ok((plan.lookback, plan.lookback_reason)), plan.season),
        Err(e) => {
            let split = TimeSplit::new(prepared.values.len(), horizon);
            let part = &prepared.values[..split.n_train.max(2).min(prepared.values.len())];
            (Err(e.to_string()), crate::guess_season(part, prepared.frequency))
        }
    };
    let format = raw.format;
    Ok(Inspection {
        columns: raw.header.clone(),
        target: raw.target.clone(),
        time_column: raw.time_column.clone(),
        time_format: format.describe().to_string(),
        rows: raw.len(),
        first_time: format.format(raw.times[0]),
        last_time: format.format(*raw.times.last().expect("a RawSeries has rows")),
        frequency: match irregular {
            Some(why) => format!("irregular: {why}"),
            None => prepared.frequency.describe(),
        },
        missing_cells: raw.missing(),
        first_missing_rows: raw
            .values
            .iter()
            .zip(&raw.lines)
            .filter(|(v, _)| v.is_none())
            .map(|(_, &l)| l)
            .take(5)
            .collect(),
        absent_steps: (prepared.fill.policy != FillPolicy::Drop).then_some(prepared.fill.absent_steps),
        season,
        horizon,
        lookback,
    })
}

impl Inspection {
    /// The description as lines of text.
    pub fn text(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "columns:   {}", self.columns.join(", "));
        let _ = writeln!(t, "target:    {}", self.target);
        let _ = writeln!(
            t,
            "time:      {} ({})",
            self.time_column.as_deref().unwrap_or("none: row order"),
            self.time_format
        );
        let _ = writeln!(
            t,
            "rows:      {}, from {} to {}",
            self.rows, self.first_time, self.last_time
        );
        let _ = writeln!(t, "frequency: {}", self.frequency);
        let rows: Vec<String> = self.first_missing_rows.iter().map(|r| r.to_string()).collect();
        let _ = writeln!(
            t,
            "missing:   {} cell(s){}{}",
            self.missing_cells,
            if rows.is_empty() {
                String::new()
            } else {
                format!(" (rows {})", rows.join(", "))
            },
            match self.absent_steps {
                Some(0) | None => String::new(),
                Some(a) => format!(", {a} time step(s) absent"),
            }
        );
        if self.missing_cells > 0 || self.absent_steps.unwrap_or(0) > 0 {
            let _ = writeln!(t, "           forecast refuses them unless --fill ffill|linear|drop");
        }
        let _ = writeln!(t, "season:    {} ({})", self.season.season, self.season.reason);
        match &self.lookback {
            Ok((l, why)) => {
                let _ = writeln!(t, "lookback:  {l} for horizon {} ({why})", self.horizon);
            }
            Err(why) => {
                let _ = writeln!(t, "lookback:  none fits horizon {}: {why}", self.horizon);
            }
        }
        t
    }
}
