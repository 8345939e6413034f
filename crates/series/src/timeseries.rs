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
    #[must_use]
    pub fn has_header(mut self, yes: bool) -> Self {
        self.has_header = yes;
        self
    }

    /// Sets the delimiter.
    #[must_use]
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

    /// Reads CSV from any reader. Every selected cell must be a finite number (an empty, `NaN` or
    /// infinite cell, or one beyond `f32`'s range, is an error), and every row must have as many
    /// fields as the header (or, without a header, the first row); errors name the 1-based line
    /// and the column.
    ///
    /// ```
    /// use rnnlab_series::{CsvOptions, SeriesError, TimeSeries};
    /// let nan = TimeSeries::from_csv_reader("t,v\n0,1\n1,NaN\n".as_bytes(), &CsvOptions::new());
    /// assert!(matches!(nan, Err(SeriesError::NonFinite { row: 3, .. })));
    /// let ragged = TimeSeries::from_csv_reader("t,v\n0,1,5\n".as_bytes(), &CsvOptions::new());
    /// assert!(matches!(ragged, Err(SeriesError::RaggedRow { row: 2, width: 3, expected: 2, .. })));
    /// ```
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
        // Every row must be as wide as the header (or the first row): the reader is flexible only
        // so that a ragged row gets this error with its line number.
        let mut width: Option<(usize, &'static str)> = None;
        if let Some(h) = &header {
            picked = Some(resolve_columns(&opts.columns, Some(h), h.len(), 1)?);
            width = Some((h.len(), "header"));
        }
        let mut data = Vec::new();
        let mut n_steps = 0;
        for rec in records {
            let rec = rec?;
            let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
            let (expected, reference) = *width.get_or_insert((rec.len(), "first row"));
            if rec.len() != expected {
                return Err(SeriesError::RaggedRow {
                    row: line,
                    width: rec.len(),
                    expected,
                    reference,
                });
            }
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
                if !v.is_finite() {
                    return Err(SeriesError::NonFinite {
                        row: line,
                        column: name.clone(),
                        value: cell.to_string(),
                    });
                }
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
        let windows = (self.n_steps - length) / stride + 1;
        let elements = SeriesError::checked_elements("sliding windows", &[windows, length, f])?;
        let starts: Vec<usize> = (0..=self.n_steps - length).step_by(stride).collect();
        let mut data = Vec::with_capacity(elements);
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
        // Every column, by position; a repeated header name would make the loaded names ambiguous.
        if let Some(h) = header {
            h.iter().try_for_each(|name| unique_in_header(h, name))?;
        }
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
                Some(h) => {
                    unique_in_header(h, n)?;
                    h.iter()
                        .position(|x| x == n)
                        .ok_or_else(|| SeriesError::UnknownColumn {
                            name: n.clone(),
                            available: h.clone(),
                        })?
                }
            },
        };
        idx.push(i);
    }
    let names = idx.iter().map(|&i| label(i)).collect();
    Ok((idx, names))
}

/// A header name that appears more than once cannot select a column.
fn unique_in_header(header: &[String], name: &str) -> Result<(), SeriesError> {
    match header.iter().filter(|x| *x == name).count() {
        count @ 2.. => Err(SeriesError::DuplicateColumn {
            name: name.to_string(),
            count,
        }),
        _ => Ok(()),
    }
}

/// Per-feature standardization `(v - mean) / std`, fitted on training data only.
///
/// The parameters are checked wherever a scaler comes from ([`fit`](Self::fit),
/// [`new`](Self::new), deserialization): as many means as standard deviations, every mean finite,
/// every standard deviation finite and positive.
///
/// ```
/// use rnnlab_series::{StandardScaler, TimeSeries};
/// let train = TimeSeries::new(vec!["x".into()], vec![1.0, 3.0])?;
/// let scaler = StandardScaler::fit(&train)?;
/// let scaled = scaler.transform(&train)?;
/// assert_eq!(scaled.data(), &[-1.0, 1.0]);
/// assert_eq!(scaler.inverse(0, 1.0)?, 3.0);
/// assert!(StandardScaler::new(vec![0.0], vec![0.0]).is_err());
/// # Ok::<(), rnnlab_series::SeriesError>(())
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "ScalerParams")]
pub struct StandardScaler {
    mean: Vec<f64>,
    std: Vec<f64>,
}

/// The serialized form, checked by [`StandardScaler::new`] on the way in.
#[derive(serde::Deserialize)]
struct ScalerParams {
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl TryFrom<ScalerParams> for StandardScaler {
    type Error = SeriesError;
    fn try_from(p: ScalerParams) -> Result<Self, SeriesError> {
        StandardScaler::new(p.mean, p.std)
    }
}

impl StandardScaler {
    /// A scaler with the given per-feature means and standard deviations.
    pub fn new(mean: Vec<f64>, std: Vec<f64>) -> Result<Self, SeriesError> {
        let bad = |why: String| Err(SeriesError::BadScaler { why });
        if mean.is_empty() || mean.len() != std.len() {
            return bad(format!(
                "{} mean(s) and {} standard deviation(s); give one of each per feature",
                mean.len(),
                std.len()
            ));
        }
        if let Some((i, m)) = mean.iter().enumerate().find(|(_, m)| !m.is_finite()) {
            return bad(format!("mean of feature {i} is {m}; it must be finite"));
        }
        if let Some((i, s)) = std.iter().enumerate().find(|(_, s)| !(s.is_finite() && **s > 0.0)) {
            return bad(format!(
                "standard deviation of feature {i} is {s}; it must be finite and positive"
            ));
        }
        Ok(Self { mean, std })
    }

    /// Fits means and (population) standard deviations on `train` (a constant feature gets a
    /// standard deviation of 1, so it maps to 0).
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
        // A series built with `TimeSeries::new` may hold NaN or infinite values: refuse them here.
        Self::new(mean, std)
    }

    /// Mean of each feature.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Standard deviation of each feature.
    pub fn std(&self) -> &[f64] {
        &self.std
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
    pub fn inverse(&self, feature: usize, v: f32) -> Result<f32, SeriesError> {
        match (self.mean.get(feature), self.std.get(feature)) {
            (Some(m), Some(s)) => Ok((f64::from(v) * s + m) as f32),
            _ => Err(SeriesError::BadTargetFeature {
                index: feature,
                features: self.mean.len(),
            }),
        }
    }
}
