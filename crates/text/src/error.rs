use thiserror::Error;

/// Everything that can go wrong in `rnnlab-text`.
///
/// [`TextError::keras_exception`] names the Python exception Keras raises in the same situation,
/// so code ported from Python can keep its error handling.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextError {
    /// `split` is the empty string and a text had to be split (Python: `ValueError("empty separator")`).
    #[error("empty separator: `split` must be a non-empty string (or use char_level / pre-split tokens)")]
    EmptySeparator,
    /// A matrix was asked of a tokenizer with neither `num_words` nor a vocabulary.
    #[error("Specify a dimension (`num_words` argument), or fit on some text data first.")]
    NoDimension,
    /// tfidf needs document counts.
    #[error("Fit the Tokenizer on some data before using tfidf mode.")]
    TfidfNotFitted,
    /// A vectorization mode other than binary, count, freq, tfidf.
    #[error("unknown vectorization mode {0:?}: expected \"binary\", \"count\", \"freq\" or \"tfidf\"")]
    UnknownMode(String),
    /// A padding or truncating side other than `pre` / `post`.
    #[error("{what} type {value:?} not understood: expected \"pre\" or \"post\"")]
    UnknownSide {
        /// `padding` or `truncating`.
        what: &'static str,
        /// The value given.
        value: String,
    },
    /// `maxlen = 0` (Keras fails only with `truncating="pre"` on non-empty input; rnnlab always refuses).
    #[error("maxlen must be at least 1 (maxlen = 0 would drop every value); pass None to use the longest sequence")]
    ZeroMaxlen,
    /// `maxlen = None` with no sequences: there is no longest sequence.
    #[error("cannot infer maxlen from zero sequences: pass maxlen explicitly")]
    NoSequences,
    /// A vector-valued timestep whose length differs from the first non-empty sequence's.
    #[error(
        "shape of sample ({got},) of sequence at position {sequence} is different from expected shape ({expected},)"
    )]
    SampleShape {
        /// Which sequence.
        sequence: usize,
        /// Feature length of the first non-empty sequence.
        expected: usize,
        /// Feature length found.
        got: usize,
    },
    /// The padding value has the wrong feature length for vector timesteps.
    #[error("the padding value has {got} features but the samples have {expected}")]
    ValueShape {
        /// Feature length of the samples.
        expected: usize,
        /// Feature length of the value.
        got: usize,
    },
    /// `hashing_trick` with `n = 1`: every index would be `x % 0`.
    #[error("integer modulo by zero: hashing_trick needs n >= 2 (n - 1 buckets)")]
    ZeroBuckets,
    /// A negative word index (Keras would silently index from the end of the row).
    #[error("negative word index {0}: indices must be >= 0")]
    NegativeIndex(i64),
    /// `texts_to_sequences` with an `oov_token` on a tokenizer that was never fitted (Keras emits `None`).
    #[error("the tokenizer has an oov_token but was never fitted, so the token has no index: fit it first")]
    OovNotIndexed,
    /// Tokenizer JSON that is malformed or not what `Tokenizer.to_json()` writes.
    #[error("invalid tokenizer JSON: {0}")]
    Json(String),
    /// An output that would hold more than [`MAX_ELEMENTS`](crate::MAX_ELEMENTS) values.
    #[error(
        "{what} of shape {dims:?} would hold more than {limit} values; \
         use a smaller num_words / maxlen or fewer texts per call"
    )]
    TooLarge {
        /// `"matrix"` or `"padded batch"`.
        what: &'static str,
        /// The shape it would have.
        dims: Vec<usize>,
        /// The limit.
        limit: usize,
    },
}

impl TextError {
    /// The Python exception class Keras raises for the same mistake (`"ValueError"`,
    /// `"ZeroDivisionError"`, …).
    ///
    /// ```
    /// use rnnlab_text::TextError;
    /// assert_eq!(TextError::ZeroBuckets.keras_exception(), "ZeroDivisionError");
    /// ```
    pub fn keras_exception(&self) -> &'static str {
        match self {
            TextError::ZeroBuckets => "ZeroDivisionError",
            TextError::OovNotIndexed => "TypeError",
            TextError::Json(_) => "JSONDecodeError",
            TextError::TooLarge { .. } => "MemoryError",
            _ => "ValueError",
        }
    }
}
