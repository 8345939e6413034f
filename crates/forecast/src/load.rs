//! Reading a target column (and a time column) from a CSV, missing cells kept as missing.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{ForecastError, TimeFormat};

/// Header names taken as the time column when `--time` is not given (compared without case).
const TIME_NAMES: [&str; 11] = [
    "date",
    "time",
    "timestamp",
    "datetime",
    "ds",
    "month",
    "week",
    "year",
    "period",
    "day",
    "quarter",
];

/// Cells that mean "no value" (compared without case): never parsed into a float NaN.
const MISSING_MARKERS: [&str; 12] = [
    "",
    "nan",
    "na",
    "n/a",
    "null",
    "none",
    "inf",
    "+inf",
    "-inf",
    "infinity",
    "+infinity",
    "-infinity",
];

/// True for a cell that marks a missing value: empty, `NaN`, `NA`, `N/A`, `null`, `None` or an
/// infinity, in any case.
///
/// ```
/// use rnnlab_forecast::is_missing_marker;
/// assert!(is_missing_marker(" NaN ") && is_missing_marker("") && is_missing_marker("-inf"));
/// assert!(!is_missing_marker("0") && !is_missing_marker("n.a."));
/// ```
pub fn is_missing_marker(cell: &str) -> bool {
    let c = cell.trim();
    MISSING_MARKERS.iter().any(|m| c.eq_ignore_ascii_case(m))
}

/// Which columns to read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Columns {
    /// The column to forecast; `None`: the only column besides the time column.
    pub target: Option<String>,
    /// The time column; `None`: a column named like `date`/`time`/`ds`/`month`/…, or the first
    /// column when its first cell is a date; otherwise row order.
    pub time: Option<String>,
}

/// One target column as read: values in file order, `None` where the cell was missing.
#[derive(Clone, Debug, PartialEq)]
pub struct RawSeries {
    /// The target column's name.
    pub target: String,
    /// The time column's name (`None`: row order).
    pub time_column: Option<String>,
    /// How times are written.
    pub format: TimeFormat,
    /// Each row's time (seconds since 1970 for dates; the row position without a time column).
    pub times: Vec<f64>,
    /// Each row's value, `None` for a missing cell.
    pub values: Vec<Option<f64>>,
    /// Each row's 1-based line in the file.
    pub lines: Vec<usize>,
    /// Every column of the header.
    pub header: Vec<String>,
}

impl RawSeries {
    /// Reads a CSV file.
    pub fn from_path(path: &Path, columns: &Columns) -> Result<RawSeries, ForecastError> {
        let file = std::fs::File::open(path).map_err(ForecastError::io(path))?;
        Self::from_reader(file, columns)
    }

    /// Reads CSV text with a header line (delimited by `,`, `;` or tab). The time column (when there is one) must be in one
    /// format, strictly increasing; target cells are numbers or missing markers
    /// ([`is_missing_marker`]); anything else is an error naming the row.
    ///
    /// ```
    /// use rnnlab_forecast::{Columns, RawSeries, TimeFormat};
    /// let csv = "date,co2\n2024-01-01,420.5\n2024-01-02,NA\n2024-01-03,421.0\n";
    /// let raw = RawSeries::from_reader(csv.as_bytes(), &Columns::default())?;
    /// assert_eq!(raw.format, TimeFormat::Date);
    /// assert_eq!(raw.values, [Some(420.5), None, Some(421.0)]);
    /// # Ok::<(), rnnlab_forecast::ForecastError>(())
    /// ```
    pub fn from_reader(reader: impl Read, columns: &Columns) -> Result<RawSeries, ForecastError> {
        // The delimiter is the one of `,`, `;` and tab that the header line holds most of
        // (European spreadsheets write `;`); the line is then read again by the CSV reader.
        let mut reader = BufReader::new(reader);
        let mut first = Vec::new();
        reader
            .read_until(b'\n', &mut first)
            .map_err(|e| ForecastError::Csv(e.into()))?;
        let delimiter = [b',', b';', b'\t']
            .into_iter()
            .max_by_key(|d| (first.iter().filter(|b| *b == d).count(), *d == b','))
            .unwrap_or(b',');
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(std::io::Cursor::new(first).chain(reader));
        let mut records = rdr.records();
        let header: Vec<String> = match records.next() {
            None => return Err(ForecastError::EmptyCsv),
            Some(r) => r?.iter().map(|s| s.trim().to_string()).collect(),
        };
        // A first line of numbers or times is data, not names: refuse it rather than lose it.
        if header
            .iter()
            .all(|h| !h.is_empty() && (h.parse::<f64>().is_ok() || TimeFormat::detect(h).is_some()))
        {
            return Err(ForecastError::NoHeader { line: header.join(",") });
        }
        let find = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| ForecastError::UnknownColumn {
                    name: name.to_string(),
                    available: header.clone(),
                })
        };
        // The first data row settles the columns (a time column may be guessed from it); every
        // row is then read as it comes, so a long file is never held as text.
        let mut first: Option<csv::StringRecord> = None;
        for rec in records.by_ref() {
            let rec = rec?;
            if !is_blank(&rec) {
                first = Some(rec);
                break;
            }
        }
        let first = first.ok_or(ForecastError::EmptyCsv)?;
        let time_index = match &columns.time {
            Some(name) => Some(find(name)?),
            None => guess_time_column(&header, &first),
        };
        let target_index = match &columns.target {
            Some(name) => find(name)?,
            None => {
                let candidates: Vec<usize> = (0..header.len()).filter(|&i| Some(i) != time_index).collect();
                match candidates.as_slice() {
                    [only] => *only,
                    _ => {
                        return Err(ForecastError::NoTarget {
                            candidates: candidates.iter().map(|&i| header[i].clone()).collect(),
                        });
                    }
                }
            }
        };
        if Some(target_index) == time_index {
            return Err(ForecastError::option(
                "--target",
                &header[target_index],
                "is the time column; name another column to forecast",
            ));
        }
        let target = header[target_index].clone();
        let mut times = TimeReader::new(time_index.map(|i| (header[i].clone(), i)));
        let mut series = RawSeries {
            target,
            time_column: time_index.map(|i| header[i].clone()),
            format: TimeFormat::Row,
            times: Vec::new(),
            values: Vec::new(),
            lines: Vec::new(),
            header: header.clone(),
        };
        for rec in std::iter::once(Ok(first)).chain(records) {
            let rec = rec?;
            let line = rec.position().map_or(0, |p| p.line() as usize);
            if rec.len() != header.len() {
                // A blank line reads as one empty field: not a row.
                if is_blank(&rec) {
                    continue;
                }
                return Err(ForecastError::RaggedRow {
                    row: line,
                    width: rec.len(),
                    expected: header.len(),
                });
            }
            let cell = rec[target_index].trim();
            let value = if is_missing_marker(cell) {
                None
            } else {
                let v: f64 = cell.parse().map_err(|_| ForecastError::NonNumeric {
                    row: line,
                    column: series.target.clone(),
                    value: cell.to_string(),
                })?;
                // "1e999" parses to infinity: a missing value by the rule above, not a number.
                v.is_finite().then_some(v)
            };
            series.times.push(times.read(&rec, line, series.values.len())?);
            series.values.push(value);
            series.lines.push(line);
        }
        series.format = times.format.unwrap_or(TimeFormat::Row);
        Ok(series)
    }

    /// Rows read.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Missing target cells.
    pub fn missing(&self) -> usize {
        self.values.iter().filter(|v| v.is_none()).count()
    }
}

fn guess_time_column(header: &[String], first: &csv::StringRecord) -> Option<usize> {
    if let Some(i) = header
        .iter()
        .position(|h| TIME_NAMES.iter().any(|n| h.eq_ignore_ascii_case(n)))
    {
        return Some(i);
    }
    // An unnamed first column holding dates (not plain numbers, which may be values).
    let cell = first.get(0)?;
    TimeFormat::detect(cell)
        .filter(|f| f.is_calendar())
        .filter(|_| header.len() > 1)
        .map(|_| 0)
}

fn is_blank(rec: &csv::StringRecord) -> bool {
    rec.len() == 1 && rec[0].trim().is_empty()
}

/// Parses a time column row by row: the first cell sets the format, times must increase.
struct TimeReader {
    column: Option<(String, usize)>,
    format: Option<TimeFormat>,
    previous: Option<f64>,
}

impl TimeReader {
    fn new(column: Option<(String, usize)>) -> Self {
        Self {
            format: column.is_none().then_some(TimeFormat::Row),
            column,
            previous: None,
        }
    }

    /// The time of `rec` (its row position `index` without a time column).
    fn read(&mut self, rec: &csv::StringRecord, line: usize, index: usize) -> Result<f64, ForecastError> {
        let Some((name, col)) = &self.column else {
            return Ok(index as f64);
        };
        let cell = rec[*col].trim();
        let bad = |expected: &str| ForecastError::BadTime {
            row: line,
            column: name.clone(),
            value: cell.to_string(),
            expected: expected.to_string(),
        };
        let format = match self.format {
            Some(f) => f,
            None => *self
                .format
                .insert(TimeFormat::detect(cell).ok_or_else(|| bad("a time"))?),
        };
        let t = format.parse(cell).ok_or_else(|| bad(format.describe()))?;
        if let Some(previous) = self.previous
            && t <= previous
        {
            return Err(ForecastError::TimeOrder {
                row: line,
                value: cell.to_string(),
                previous: format.format(previous),
                repeated: t == previous,
            });
        }
        self.previous = Some(t);
        Ok(t)
    }
}
