//! One long, real (multivariate) series: load from CSV, split in time, scale, window.

use std::io::Read;
use std::path::Path;

use crate::{Series, SeriesError, Split, Splits};

/// Which CSV column to load.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Column {
    /// By header name (needs a header).
    Name(String),
    /// By 0-based position.
    Index(usize),
}

impl From<&str> for Column {
    fn from(s: &str) -> Self {
        Column::Name(s.to_string())
    }
}

impl From<usize> for Column {
    fn from(i: usize) -> Self {
        Column::Index(i)
    }
}

/// How to read a CSV file into a [`TimeSeries`].
///
/// ```
/// use rnnlab_series::CsvOptions;
/// let opts = CsvOptions::new().columns(["temp", "humidity"]);
/// assert!(opts.has_header);
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CsvOptions {
    /// The first row names the columns (default `true`).
    pub has_header: bool,
    /// Field delimiter (default `b','`).
    pub delimiter: u8,
    /// Columns to load, in this order (default: every column).
    pub columns: Vec<Column>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            has_header: true,
            delimiter: b',',
            columns: Vec::new(),
        }
    }
}

impl CsvOptions {
    /// Defaults: header, comma, every column.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets whether the first row is a header.
    pub fn has_header(mut self, yes: bool) -> Self {
        self.has_header = yes;
        self
    }

    /// Sets the delimiter.
    pub fn delimiter(mut self, d: u8) -> Self {
        self.delimiter = d;
        self
    }

    /// Selects columns by name or index.
    pub fn columns<C: Into<Column>>(mut self, cols: impl IntoIterator<Item = C>) -> Self {
        self.columns = cols.into_iter().map(Into::into).collect();
        self
    }
}

/// A single long series `[n_steps, features]` in time order, with feature names.
///
/// ```
/// use rnnlab_series::{CsvOptions, TimeSeries, WindowSpec};
/// let csv = "t,load\n0,1.0\n1,2.0\n2,3.0\n3,4.0\n4,5.0\n";
/// let ts = TimeSeries::from_csv_reader(csv.as_bytes(), &CsvOptions::new().columns(["load"]))?;
/// let batch = ts.sliding_windows(3, 1)?;          // every 3-step window
/// let w = batch.windows(WindowSpec::vector(2, 1))?; // 2 in, 1 out
/// assert_eq!(w.y.data(), &[3.0, 4.0, 5.0]);
/// # Ok::<(), rnnlab_series::SeriesError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TimeSeries {
    names: Vec<String>,
    n_steps: usize,
    data: Vec<f32>,
}

impl TimeSeries {
    /// Wraps row-major `[n_steps, names.len()]` data.
    pub fn new(names: Vec<String>, data: Vec<f32>) -> Result<Self, SeriesError> {
        if names.is_empty() {
            return Err(SeriesError::NoColumns);
        }
        if !data.len().is_multiple_of(names.len()) {
            let steps = data.len() / names.len() + 1;
            return Err(SeriesError::ShapeMismatch {
                shape: vec![steps, names.len()],
                expected: steps * names.len(),
                got: data.len(),
            });
        }
        Ok(Self {
            n_steps: data.len() / names.len(),
            names,
            data,
        })
    }

    /// Reads a CSV file.
    pub fn from_csv_path(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<Self, SeriesError> {
        let file = std::fs::File::open(path.as_ref())
            .map_err(|e| SeriesError::Csv(format!("{}: {e}", path.as_ref().display())))?;
        Self::from_csv_reader(file, opts)
    }

    /// Reads CSV from any reader. Every selected cell must be a number; errors name the 1-based
    /// line and the column.
    pub fn from_csv_reader(reader: impl Read, opts: &CsvOptions) -> Result<Self, SeriesError> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(opts.delimiter)
            .flexible(true)
            .from_reader(reader);
        let mut records = rdr.records();
        let header: Option<Vec<String>> = if opts.has_header {
            match records.next() {
                None => return Err(SeriesError::EmptyCsv { header_only: false }),
                Some(r) => Some(r?.iter().map(|s| s.trim().to_string()).collect()),
            }
        } else {
            None
        };
        let mut picked: Option<(Vec<usize>, Vec<String>)> = None;
        if let Some(h) = &header {
            picked = Some(resolve_columns(&opts.columns, Some(h), h.len(), 1)?);
        }
        let mut data = Vec::new();
        let mut n_steps = 0;
        for rec in records {
            let rec = rec?;
            let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
            if picked.is_none() {
                picked = Some(resolve_columns(&opts.columns, None, rec.len(), line)?);
            }
            let (idx, names) = picked.as_ref().expect("resolved above");
            for (&c, name) in idx.iter().zip(names) {
                let cell = rec
                    .get(c)
                    .ok_or(SeriesError::ColumnOutOfRange {
                        index: c,
                        row: line,
                        width: rec.len(),
                    })?
                    .trim();
                if cell.is_empty() {
                    return Err(SeriesError::MissingValue {
                        row: line,
                        column: name.clone(),
                    });
                }
                let v: f32 = cell.parse().map_err(|_| SeriesError::NonNumeric {
                    row: line,
                    column: name.clone(),
                    value: cell.to_string(),
                })?;
                data.push(v);
            }
            n_steps += 1;
        }
        if n_steps == 0 {
            return Err(SeriesError::EmptyCsv {
                header_only: header.is_some(),
            });
        }
        let (_, names) = picked.expect("at least one row");
        Ok(Self { names, n_steps, data })
    }

    /// Feature names (header names, or column indices as text).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Time steps.
    pub fn n_steps(&self) -> usize {
        self.n_steps
    }

    /// Features per step.
    pub fn features(&self) -> usize {
        self.names.len()
    }

    /// Values, row-major `[n_steps, features]`.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    fn steps(&self, start: usize, end: usize) -> TimeSeries {
        let f = self.features();
        TimeSeries {
            names: self.names.clone(),
            n_steps: end - start,
            data: self.data[start * f..end * f].to_vec(),
        }
    }

    /// Splits the time axis in order: first part train, then validation, then test. Never
    /// shuffles across time.
    ///
    /// ```
    /// use rnnlab_series::{Split, TimeSeries};
    /// let ts = TimeSeries::new(vec!["x".into()], (0..10).map(|v| v as f32).collect())?;
    /// let p = ts.split_chronological(Split::Counts { train: 6, valid: 2, test: 2 })?;
    /// assert_eq!(p.valid.data(), &[6.0, 7.0]);
    /// # Ok::<(), rnnlab_series::SeriesError>(())
    /// ```
    pub fn split_chronological(&self, split: Split) -> Result<Splits<TimeSeries>, SeriesError> {
        let (tr, va, _) = split.counts(self.n_steps)?;
        Ok(Splits {
            train: self.steps(0, tr),
            valid: self.steps(tr, tr + va),
            test: self.steps(tr + va, self.n_steps),
        })
    }

    /// Every window of `length` consecutive steps, starting every `stride` steps, as a batch
    /// `[n_windows, length, features]` ready for [`Series::windows`].
    pub fn sliding_windows(&self, length: usize, stride: usize) -> Result<Series, SeriesError> {
        if length == 0 {
            return Err(SeriesError::ZeroSize { what: "window length" });
        }
        if stride == 0 {
            return Err(SeriesError::ZeroSize { what: "stride" });
        }
        if self.n_steps < length {
            return Err(SeriesError::TooShort {
                len: self.n_steps,
                window: length,
                horizon: 0,
                needed: length,
            });
        }
        let f = self.features();
        let starts: Vec<usize> = (0..=self.n_steps - length).step_by(stride).collect();
        let mut data = Vec::with_capacity(starts.len() * length * f);
        for &s in &starts {
            data.extend_from_slice(&self.data[s * f..(s + length) * f]);
        }
        Ok(Series::from_parts(starts.len(), length, f, data))
    }
}

fn resolve_columns(
    wanted: &[Column],
    header: Option<&Vec<String>>,
    width: usize,
    line: usize,
) -> Result<(Vec<usize>, Vec<String>), SeriesError> {
    let label = |i: usize| header.and_then(|h| h.get(i).cloned()).unwrap_or_else(|| i.to_string());
    if wanted.is_empty() {
        return Ok(((0..width).collect(), (0..width).map(label).collect()));
    }
    let mut idx = Vec::with_capacity(wanted.len());
    for c in wanted {
        let i = match c {
            Column::Index(i) => {
                if *i >= width {
                    return Err(SeriesError::ColumnOutOfRange {
                        index: *i,
                        row: line,
                        width,
                    });
                }
                *i
            }
            Column::Name(n) => match header {
                None => return Err(SeriesError::NameWithoutHeader { name: n.clone() }),
                Some(h) => h
                    .iter()
                    .position(|x| x == n)
                    .ok_or_else(|| SeriesError::UnknownColumn {
                        name: n.clone(),
                        available: h.clone(),
                    })?,
            },
        };
        idx.push(i);
    }
    let names = idx.iter().map(|&i| label(i)).collect();
    Ok((idx, names))
}

/// Per-feature standardization `(v - mean) / std`, fitted on training data only.
///
/// ```
/// use rnnlab_series::{StandardScaler, TimeSeries};
/// let train = TimeSeries::new(vec!["x".into()], vec![1.0, 3.0])?;
/// let scaler = StandardScaler::fit(&train)?;
/// let scaled = scaler.transform(&train)?;
/// assert_eq!(scaled.data(), &[-1.0, 1.0]);
/// assert_eq!(scaler.inverse(0, 1.0), 3.0);
/// # Ok::<(), rnnlab_series::SeriesError>(())
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StandardScaler {
    /// Mean of each feature.
    pub mean: Vec<f64>,
    /// Standard deviation of each feature (1 where it was 0, so constants map to 0).
    pub std: Vec<f64>,
}

impl StandardScaler {
    /// Fits means and (population) standard deviations on `train`.
    pub fn fit(train: &TimeSeries) -> Result<Self, SeriesError> {
        let (n, f) = (train.n_steps(), train.features());
        if n == 0 {
            return Err(SeriesError::ZeroSize { what: "training steps" });
        }
        let mut mean = vec![0.0f64; f];
        for row in train.data.chunks_exact(f) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += f64::from(v);
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0.0f64; f];
        for row in train.data.chunks_exact(f) {
            for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (f64::from(v) - m).powi(2);
            }
        }
        let std = var
            .into_iter()
            .map(|s| (s / n as f64).sqrt())
            .map(|s| if s > 0.0 { s } else { 1.0 })
            .collect();
        Ok(Self { mean, std })
    }

    /// Applies the fitted scaling to a series with the same features.
    pub fn transform(&self, ts: &TimeSeries) -> Result<TimeSeries, SeriesError> {
        if ts.features() != self.mean.len() {
            return Err(SeriesError::ShapesDiffer {
                what: "scaler features vs series features",
                left: vec![self.mean.len()],
                right: vec![ts.features()],
            });
        }
        let f = ts.features();
        let data = ts
            .data
            .iter()
            .enumerate()
            .map(|(i, &v)| ((f64::from(v) - self.mean[i % f]) / self.std[i % f]) as f32)
            .collect();
        Ok(TimeSeries {
            names: ts.names.clone(),
            n_steps: ts.n_steps,
            data,
        })
    }

    /// Maps one scaled value of `feature` back to the original units.
    ///
    /// # Panics
    /// If `feature` is out of range.
    pub fn inverse(&self, feature: usize, v: f32) -> f32 {
        (f64::from(v) * self.std[feature] + self.mean[feature]) as f32
    }
}
