//! [`ForecastError`]: every way a forecast can be refused, with what to do about it.

use std::path::PathBuf;

use rnnlab_keras::KerasError;
use rnnlab_layers::LayersError;
use rnnlab_series::SeriesError;
use rnnlab_train::TrainError;

/// What went wrong, naming the value and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForecastError {
    /// Reading or writing a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The CSV reader failed (bad UTF-8, an unterminated quote).
    #[error("could not read the CSV: {0}")]
    Csv(#[from] csv::Error),
    /// A CSV without data rows.
    #[error("the CSV has no data rows; it needs a header line and one row per time step")]
    EmptyCsv,
    /// A first line that holds values rather than column names.
    #[error("the first line {line:?} looks like data, not column names; add a header line (e.g. `date,value`)")]
    NoHeader {
        /// The first line's cells.
        line: String,
    },
    /// A column named on the command line that the header does not have.
    #[error("the CSV has no column {name:?}; its columns are {available:?}")]
    UnknownColumn {
        /// The name asked for.
        name: String,
        /// The header.
        available: Vec<String>,
    },
    /// No target column given and more than one candidate.
    #[error("say which column to forecast with --target: the candidates are {candidates:?}")]
    NoTarget {
        /// The columns that could be the target.
        candidates: Vec<String>,
    },
    /// A row with another number of fields than the header.
    #[error("row {row} has {width} field(s) but the header has {expected}; check the delimiter and quoting")]
    RaggedRow {
        /// 1-based line.
        row: usize,
        /// Fields on it.
        width: usize,
        /// Fields in the header.
        expected: usize,
    },
    /// A target cell that is neither a number nor a missing-value marker.
    #[error(
        "row {row}, column {column:?}: {value:?} is not a number; missing values may be empty, NaN, NA, \
         null or inf (then choose --fill)"
    )]
    NonNumeric {
        /// 1-based line.
        row: usize,
        /// The column.
        column: String,
        /// The cell.
        value: String,
    },
    /// Missing values (and gaps in a regular time axis) under `--fill error`.
    #[error(
        "{missing} missing value(s) in {column:?}{} (first: {}); choose how to fill them: \
         --fill ffill (repeat the last value), --fill linear (interpolate) or --fill drop (remove the rows)",
        if *gaps > 0 { format!(" including {gaps} step(s) absent from the time axis") } else { String::new() },
        first.join(", ")
    )]
    Missing {
        /// The target column.
        column: String,
        /// Missing cells plus absent time steps.
        missing: usize,
        /// Of these, time steps absent from the file.
        gaps: usize,
        /// Where the first few are: `row N` for cells, `time T` for absent steps.
        first: Vec<String>,
    },
    /// A time cell that does not parse as the column's time format.
    #[error(
        "row {row}, time column {column:?}: {value:?} is not {expected}; times may be ISO dates \
         (2024-01-31), datetimes (2024-01-31T12:00:00), months (2024-01), YYYYMMDD integers or plain numbers"
    )]
    BadTime {
        /// 1-based line.
        row: usize,
        /// The time column.
        column: String,
        /// The cell.
        value: String,
        /// The format the column's first cell set.
        expected: String,
    },
    /// Times that repeat or go backwards.
    #[error(
        "row {row}: time {value} {} the previous row's {previous}; sort the file by time and remove duplicates",
        if *repeated { "repeats" } else { "comes before" }
    )]
    TimeOrder {
        /// 1-based line.
        row: usize,
        /// This row's time.
        value: String,
        /// The row before.
        previous: String,
        /// Equal rather than earlier.
        repeated: bool,
    },
    /// A step in the time axis that is not a whole number of the series' step.
    #[error(
        "row {row}: the step from {previous} to {value} is not a whole number of the series' step ({step}); \
         resample the series to a regular step, or use --fill drop to use row order"
    )]
    IrregularTime {
        /// 1-based line.
        row: usize,
        /// This row's time.
        value: String,
        /// The row before.
        previous: String,
        /// The most common step.
        step: String,
    },
    /// A gap in the time axis of more steps than [`MAX_ABSENT_STEPS`](crate::MAX_ABSENT_STEPS).
    #[error(
        "row {row}: {steps} time steps ({step}) are absent before this row, too many to fill; check the \
         time column (--time), or use --fill drop to use row order"
    )]
    HugeGap {
        /// 1-based line.
        row: usize,
        /// Absent steps.
        steps: u64,
        /// The series' step, in words.
        step: String,
    },
    /// A series too short for the windows asked for.
    #[error(
        "the series has {n} values but lookback {lookback} and horizon {horizon} need at least {minimum} \
         (training, validation and test parts); use a shorter --lookback or --horizon, or more data"
    )]
    TooShort {
        /// Values after filling.
        n: usize,
        /// Input steps.
        lookback: usize,
        /// Forecast steps.
        horizon: usize,
        /// The least length that works.
        minimum: usize,
    },
    /// A command-line option or setting with a bad value.
    #[error("{option} {value:?}: {why}")]
    BadOption {
        /// The option.
        option: String,
        /// Its value.
        value: String,
        /// What is allowed.
        why: String,
    },
    /// A saved forecaster (`forecaster.json`) that cannot be used.
    #[error("{}: {why}", path.display())]
    BadForecaster {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// Drawing a plot (plotters and the PNG encoder report errors as text).
    #[error("plot {}: {why}", path.display())]
    Plot {
        /// The plot file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
    /// The model produced a non-finite forecast (diverged training).
    #[error(
        "the {model} model forecast {value} at origin {origin}, step {step}; try fewer epochs, another --model or --seed"
    )]
    NonFiniteForecast {
        /// The model.
        model: String,
        /// Series position of the origin.
        origin: usize,
        /// 1-based horizon step.
        step: usize,
        /// The value.
        value: f64,
    },
    /// From the windows (rnnlab-series).
    #[error(transparent)]
    Series(#[from] SeriesError),
    /// From building the model (rnnlab-layers).
    #[error(transparent)]
    Layers(#[from] LayersError),
    /// From training (rnnlab-train).
    #[error(transparent)]
    Train(#[from] TrainError),
    /// From reading or writing the model file (rnnlab-keras).
    #[error(transparent)]
    Keras(#[from] KerasError),
}

impl ForecastError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ForecastError {
        let path = path.into();
        move |source| ForecastError::Io { path, source }
    }

    /// A [`BadOption`](ForecastError::BadOption) error.
    pub fn option(option: impl Into<String>, value: impl ToString, why: impl Into<String>) -> ForecastError {
        ForecastError::BadOption {
            option: option.into(),
            value: value.to_string(),
            why: why.into(),
        }
    }
}
