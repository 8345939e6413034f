use thiserror::Error;

/// Everything that can go wrong in `rnnlab-series`.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SeriesError {
    /// A shape argument was zero where at least one element is needed.
    #[error("{what} must be at least 1, got 0")]
    ZeroSize {
        /// Which argument.
        what: &'static str,
    },
    /// The series is too short for the requested window and horizon.
    #[error(
        "series has {len} time steps but a window of {window} plus a horizon of {horizon} needs {needed}; \
         use a shorter window or horizon, or a longer series"
    )]
    TooShort {
        /// Time steps available.
        len: usize,
        /// Window length asked for.
        window: usize,
        /// Horizon asked for.
        horizon: usize,
        /// Time steps needed.
        needed: usize,
    },
    /// Split counts do not add up to the number of samples.
    #[error(
        "split {train}+{valid}+{test} = {sum} does not cover the {n} samples exactly; \
         give counts that add up to {n} (no sample is silently dropped)"
    )]
    SplitMismatch {
        /// Train count.
        train: usize,
        /// Validation count.
        valid: usize,
        /// Test count.
        test: usize,
        /// Their sum.
        sum: usize,
        /// Samples available.
        n: usize,
    },
    /// Split fractions are not in `[0, 1]` or add up to more than 1.
    #[error("split fractions train={train}, valid={valid} must be in [0, 1] and add up to at most 1")]
    BadFractions {
        /// Train fraction.
        train: f64,
        /// Validation fraction.
        valid: f64,
    },
    /// The target feature index is out of range.
    #[error("target feature {index} does not exist: the series has {features} feature(s)")]
    BadTargetFeature {
        /// Index asked for.
        index: usize,
        /// Features available.
        features: usize,
    },
    /// A buffer does not have the number of elements its shape implies.
    #[error("shape {shape:?} needs {expected} values but {got} were given")]
    ShapeMismatch {
        /// The shape.
        shape: Vec<usize>,
        /// Elements implied by the shape.
        expected: usize,
        /// Elements given.
        got: usize,
    },
    /// Two arrays that must agree in shape do not.
    #[error("{what}: shapes {left:?} and {right:?} differ")]
    ShapesDiffer {
        /// What was compared.
        what: &'static str,
        /// First shape.
        left: Vec<usize>,
        /// Second shape.
        right: Vec<usize>,
    },
    /// The CSV file (or reader) holds no data rows.
    #[error("the CSV input has no data rows{}", if *.header_only { " (only a header)" } else { "" })]
    EmptyCsv {
        /// A header was present but nothing after it.
        header_only: bool,
    },
    /// A requested column is not in the CSV header.
    #[error("column {name:?} is not in the CSV header (columns: {available:?})")]
    UnknownColumn {
        /// Name asked for.
        name: String,
        /// Names in the header.
        available: Vec<String>,
    },
    /// A column index past the end of a row.
    #[error("column index {index} is out of range: row {row} has {width} column(s)")]
    ColumnOutOfRange {
        /// Index asked for.
        index: usize,
        /// 1-based line number in the file.
        row: usize,
        /// Columns in that row.
        width: usize,
    },
    /// A column was selected by name but the file has no header.
    #[error("column {name:?} was selected by name but `has_header` is false; select it by index instead")]
    NameWithoutHeader {
        /// Name asked for.
        name: String,
    },
    /// An empty cell.
    #[error("missing value at row {row}, column {column:?}; fill or drop it before loading")]
    MissingValue {
        /// 1-based line number in the file.
        row: usize,
        /// Column name (or index as text).
        column: String,
    },
    /// A cell that is not a number.
    #[error("non-numeric value {value:?} at row {row}, column {column:?}")]
    NonNumeric {
        /// 1-based line number in the file.
        row: usize,
        /// Column name (or index as text).
        column: String,
        /// The cell's text.
        value: String,
    },
    /// The CSV reader failed (I/O, malformed quoting, ragged rows).
    #[error("could not read CSV: {0}")]
    Csv(String),
    /// No columns selected.
    #[error("no columns selected; name at least one column to load")]
    NoColumns,
    /// A cell that parses as a number but not a finite one (`NaN`, `inf`, or beyond `f32`'s range
    /// such as `1e40`).
    #[error(
        "value {value:?} at row {row}, column {column:?} is not a finite number; \
         NaN and infinite cells are missing values: fill or drop them before loading"
    )]
    NonFinite {
        /// 1-based line number in the file.
        row: usize,
        /// Column name (or index as text).
        column: String,
        /// The cell's text.
        value: String,
    },
    /// A row with another number of fields than the header (or the first row).
    #[error(
        "row {row} has {width} field(s) but the {reference} has {expected}; check the delimiter \
         and quoting (a decimal comma splits a field in two)"
    )]
    RaggedRow {
        /// 1-based line number in the file.
        row: usize,
        /// Fields in that row.
        width: usize,
        /// Fields expected.
        expected: usize,
        /// `"header"` or `"first row"`.
        reference: &'static str,
    },
    /// A header name that appears more than once among the columns asked for.
    #[error("column name {name:?} appears {count} times in the CSV header; select the column by index instead")]
    DuplicateColumn {
        /// The repeated name.
        name: String,
        /// How often it appears.
        count: usize,
    },
    /// A size computed from the arguments does not fit in `usize`.
    #[error("{what} overflows: the sizes given are too large to compute")]
    Overflow {
        /// What was being computed.
        what: &'static str,
    },
    /// An allocation beyond [`MAX_ELEMENTS`](crate::MAX_ELEMENTS) would be needed.
    #[error("{what} would need {elements} values, more than the limit of {limit}; use smaller sizes")]
    TooLarge {
        /// What would be allocated.
        what: &'static str,
        /// Values it would hold.
        elements: usize,
        /// The limit.
        limit: usize,
    },
    /// Scaler parameters that cannot scale (lengths differ, a non-finite mean, a standard
    /// deviation that is not finite and positive).
    #[error("invalid scaler: {why}")]
    BadScaler {
        /// What is wrong.
        why: String,
    },
    /// Windows whose arrays do not have the shapes their spec implies.
    #[error("windows: {why}")]
    BadWindows {
        /// What is wrong.
        why: String,
    },
}

impl SeriesError {
    /// The product of `dims`, or [`SeriesError::Overflow`] naming `what`.
    pub(crate) fn checked_product(what: &'static str, dims: &[usize]) -> Result<usize, SeriesError> {
        dims.iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or(SeriesError::Overflow { what })
    }

    /// [`checked_product`](Self::checked_product) for an allocation: also
    /// [`SeriesError::TooLarge`] beyond [`MAX_ELEMENTS`](crate::MAX_ELEMENTS).
    pub(crate) fn checked_elements(what: &'static str, dims: &[usize]) -> Result<usize, SeriesError> {
        let elements = Self::checked_product(what, dims)?;
        if elements > crate::MAX_ELEMENTS {
            return Err(SeriesError::TooLarge {
                what,
                elements,
                limit: crate::MAX_ELEMENTS,
            });
        }
        Ok(elements)
    }
}

impl From<csv::Error> for SeriesError {
    fn from(e: csv::Error) -> Self {
        SeriesError::Csv(e.to_string())
    }
}
