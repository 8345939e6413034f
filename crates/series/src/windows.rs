//! Forecasting datasets: inputs and targets cut from each series, and row splits.

use crate::{Array, Series, SeriesError};

/// What to predict after the input window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TargetKind {
    /// Sequence-to-vector: `y[n, k] = series[n, window + k, target]` for `k < horizon`
    /// (the lecture's one-step `series[:, -1]` and ten-step `series[:, -10:, 0]`). Shape `[n, horizon]`.
    Vector,
    /// Sequence-to-sequence: at every input step `t`, the next `horizon` values,
    /// `y[n, t, k-1] = series[n, t + k, target]` for `k = 1..=horizon`. Shape `[n, window, horizon]`.
    Sequence,
}

/// How to cut inputs and targets from a batch of series.
///
/// ```
/// use rnnlab_series::{WindowSpec, TargetKind};
/// let one_step = WindowSpec::vector(50, 1);
/// let seq2seq = WindowSpec::sequence(50, 10);
/// assert_eq!(seq2seq.kind, TargetKind::Sequence);
/// assert_eq!(one_step.needed_steps(), 51);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WindowSpec {
    /// Input time steps.
    pub window: usize,
    /// Steps ahead to predict.
    pub horizon: usize,
    /// Vector or sequence targets.
    pub kind: TargetKind,
    /// Which feature is forecast (0 for a univariate series).
    pub target_feature: usize,
}

impl WindowSpec {
    /// Sequence-to-vector targets for feature 0.
    pub fn vector(window: usize, horizon: usize) -> Self {
        Self {
            window,
            horizon,
            kind: TargetKind::Vector,
            target_feature: 0,
        }
    }

    /// Sequence-to-sequence targets for feature 0.
    pub fn sequence(window: usize, horizon: usize) -> Self {
        Self {
            window,
            horizon,
            kind: TargetKind::Sequence,
            target_feature: 0,
        }
    }

    /// Forecast another feature.
    #[must_use]
    pub fn with_target_feature(mut self, feature: usize) -> Self {
        self.target_feature = feature;
        self
    }

    /// Time steps each series must have: `window + horizon` (saturating at `usize::MAX`, which no
    /// series reaches).
    pub fn needed_steps(&self) -> usize {
        self.window.saturating_add(self.horizon)
    }
}

/// Inputs `x` `[n, window, features]` and targets `y` (see [`TargetKind`]) of a forecasting task.
#[derive(Clone, Debug, PartialEq)]
pub struct Windows {
    /// Inputs `[n, window, features]`.
    pub x: Array,
    /// Targets `[n, horizon]` or `[n, window, horizon]`.
    pub y: Array,
    /// How they were cut.
    pub spec: WindowSpec,
}

impl Series {
    /// Cuts one input window and its targets from the start of every series.
    ///
    /// ```
    /// use rnnlab_series::{generate_time_series, NumpyRandom, WindowSpec};
    /// let series = generate_time_series(&mut NumpyRandom::new(42), 100, 60)?;
    /// let w = series.windows(WindowSpec::vector(50, 10))?; // X = series[:, :50], Y = series[:, -10:, 0]
    /// assert_eq!(w.x.shape(), &[100, 50, 1]);
    /// assert_eq!(w.y.shape(), &[100, 10]);
    /// assert_eq!(w.y.get(&[3, 9]), series.value(3, 59, 0));
    /// # Ok::<(), rnnlab_series::SeriesError>(())
    /// ```
    pub fn windows(&self, spec: WindowSpec) -> Result<Windows, SeriesError> {
        let [batch, n_steps, features] = self.shape();
        if spec.window == 0 {
            return Err(SeriesError::ZeroSize { what: "window" });
        }
        if spec.horizon == 0 {
            return Err(SeriesError::ZeroSize { what: "horizon" });
        }
        if spec.target_feature >= features {
            return Err(SeriesError::BadTargetFeature {
                index: spec.target_feature,
                features,
            });
        }
        if n_steps < spec.needed_steps() {
            return Err(SeriesError::TooShort {
                len: n_steps,
                window: spec.window,
                horizon: spec.horizon,
                needed: spec.needed_steps(),
            });
        }
        let (w, h, f) = (spec.window, spec.horizon, spec.target_feature);
        let y_elements = match spec.kind {
            TargetKind::Vector => SeriesError::checked_elements("targets", &[batch, h])?,
            TargetKind::Sequence => SeriesError::checked_elements("sequence targets", &[batch, w, h])?,
        };
        let mut x = Vec::with_capacity(batch * w * features);
        for b in 0..batch {
            x.extend_from_slice(&self.series(b)[..w * features]);
        }
        let y = match spec.kind {
            TargetKind::Vector => {
                let mut y = Vec::with_capacity(y_elements);
                for b in 0..batch {
                    y.extend((0..h).map(|k| self.value(b, w + k, f)));
                }
                Array::new(vec![batch, h], y)?
            }
            TargetKind::Sequence => {
                let mut y = Vec::with_capacity(y_elements);
                for b in 0..batch {
                    for t in 0..w {
                        y.extend((1..=h).map(|k| self.value(b, t + k, f)));
                    }
                }
                Array::new(vec![batch, w, h], y)?
            }
        };
        Ok(Windows {
            x: Array::new(vec![batch, w, features], x)?,
            y,
            spec,
        })
    }
}

/// How many samples go to train, validation and test.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Split {
    /// Exact counts; they must add up to the number of samples.
    Counts {
        /// Training samples (taken first).
        train: usize,
        /// Validation samples (next).
        valid: usize,
        /// Test samples (last).
        test: usize,
    },
    /// Fractions of the samples for train and validation; test gets the rest. Counts are
    /// `floor(n * fraction)`.
    Fractions {
        /// Fraction for training.
        train: f64,
        /// Fraction for validation.
        valid: f64,
    },
}

impl Split {
    /// The lecture's 7000/2000/1000 split of 10 000 series.
    pub const LECTURE: Split = Split::Counts {
        train: 7000,
        valid: 2000,
        test: 1000,
    };

    /// Resolves to counts for `n` samples.
    ///
    /// ```
    /// use rnnlab_series::Split;
    /// assert_eq!(Split::Fractions { train: 0.7, valid: 0.2 }.counts(10)?, (7, 2, 1));
    /// assert!(Split::Counts { train: 7, valid: 2, test: 2 }.counts(10).is_err());
    /// # Ok::<(), rnnlab_series::SeriesError>(())
    /// ```
    pub fn counts(&self, n: usize) -> Result<(usize, usize, usize), SeriesError> {
        match *self {
            Split::Counts { train, valid, test } => {
                let sum = train
                    .checked_add(valid)
                    .and_then(|s| s.checked_add(test))
                    .ok_or(SeriesError::Overflow { what: "split counts" })?;
                if sum != n {
                    return Err(SeriesError::SplitMismatch {
                        train,
                        valid,
                        test,
                        sum,
                        n,
                    });
                }
                Ok((train, valid, test))
            }
            Split::Fractions { train, valid } => {
                let ok = (0.0..=1.0).contains(&train) && (0.0..=1.0).contains(&valid) && train + valid <= 1.0 + 1e-12;
                if !ok {
                    return Err(SeriesError::BadFractions { train, valid });
                }
                let tr = ((n as f64) * train).floor() as usize;
                let va = (((n as f64) * valid).floor() as usize).min(n - tr);
                Ok((tr, va, n - tr - va))
            }
        }
    }
}

/// Train, validation and test parts, in that order.
#[derive(Clone, Debug, PartialEq)]
pub struct Splits<T> {
    /// The first part.
    pub train: T,
    /// The middle part.
    pub valid: T,
    /// The last part.
    pub test: T,
}

impl Windows {
    /// Checks that `x` is `[n, window, features]` with `target_feature < features` and `y` has
    /// the shape `spec` implies (the fields are public, so a hand-built value may not).
    pub fn validate(&self) -> Result<(), SeriesError> {
        let bad = |why: String| Err(SeriesError::BadWindows { why });
        let spec = self.spec;
        let &[n, window, features] = self.x.shape() else {
            return bad(format!(
                "x must be [n, window, features], got shape {:?}",
                self.x.shape()
            ));
        };
        if window != spec.window || spec.horizon == 0 {
            return bad(format!(
                "x has {window} steps and the spec a window of {} and a horizon of {}",
                spec.window, spec.horizon
            ));
        }
        if spec.target_feature >= features {
            return bad(format!(
                "target feature {} but x has {features} feature(s)",
                spec.target_feature
            ));
        }
        let y_shape = match spec.kind {
            TargetKind::Vector => vec![n, spec.horizon],
            TargetKind::Sequence => vec![n, window, spec.horizon],
        };
        if self.y.shape() != y_shape {
            return bad(format!(
                "y has shape {:?}, the spec implies {y_shape:?}",
                self.y.shape()
            ));
        }
        Ok(())
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.rows()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Samples `start..end`.
    ///
    /// # Panics
    /// If the range is out of bounds.
    pub fn slice(&self, start: usize, end: usize) -> Windows {
        Windows {
            x: self.x.rows_range(start, end),
            y: self.y.rows_range(start, end),
            spec: self.spec,
        }
    }

    /// Splits the samples in order (no shuffling): the first `train`, the next `valid`, the rest.
    ///
    /// ```
    /// use rnnlab_series::{generate_time_series, NumpyRandom, Split, WindowSpec};
    /// let series = generate_time_series(&mut NumpyRandom::new(42), 10_000, 51)?;
    /// let parts = series.windows(WindowSpec::vector(50, 1))?.split(Split::LECTURE)?;
    /// assert_eq!((parts.train.len(), parts.valid.len(), parts.test.len()), (7000, 2000, 1000));
    /// # Ok::<(), rnnlab_series::SeriesError>(())
    /// ```
    pub fn split(&self, split: Split) -> Result<Splits<Windows>, SeriesError> {
        let (tr, va, _) = split.counts(self.len())?;
        Ok(Splits {
            train: self.slice(0, tr),
            valid: self.slice(tr, tr + va),
            test: self.slice(tr + va, self.len()),
        })
    }
}
