//! Windows cut on demand from one long series: a million-step series trains without a
//! `[n, lookback]` copy of itself.

use std::ops::Range;
use std::sync::Arc;

use crate::SeriesError;

/// How the values of one window are expressed before they reach a model, and how its outputs
/// are mapped back.
///
/// ```
/// use rnnlab_series::WindowNorm;
/// let norm = WindowNorm::RelativeToLast { scale: 2.0 };
/// let mut x = Vec::new();
/// norm.input(&[10.0, 12.0, 14.0], &mut x);
/// assert_eq!(x, [-2.0, -1.0, 0.0]);              // (v − 14) / 2
/// assert_eq!(norm.restore(14.0, 1.5), 17.0);      // 14 + 1.5 · 2
/// ```
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum WindowNorm {
    /// The values as they are.
    Identity,
    /// `(v − mean) / std` for every value: one scaler for the whole series.
    Standard {
        /// Subtracted.
        mean: f64,
        /// Divided by (finite, positive).
        std: f64,
    },
    /// `(v − last) / scale`, where `last` is the window's last input value: each window is
    /// expressed relative to where it ends, so a model can continue a trend beyond the levels it
    /// saw in training (a globally scaled level cannot).
    RelativeToLast {
        /// Divided by (finite, positive); e.g. the spread of the training part's differences.
        scale: f64,
    },
}

impl WindowNorm {
    /// Checks the parameters (finite, positive scales).
    pub fn validate(&self) -> Result<(), SeriesError> {
        let bad = |why: String| Err(SeriesError::BadScaler { why });
        match *self {
            WindowNorm::Identity => Ok(()),
            WindowNorm::Standard { mean, std } => {
                if !mean.is_finite() {
                    return bad(format!("window mean {mean} must be finite"));
                }
                if !(std.is_finite() && std > 0.0) {
                    return bad(format!("window standard deviation {std} must be finite and positive"));
                }
                Ok(())
            }
            WindowNorm::RelativeToLast { scale } => {
                if !(scale.is_finite() && scale > 0.0) {
                    return bad(format!("window scale {scale} must be finite and positive"));
                }
                Ok(())
            }
        }
    }

    fn shift_scale(&self, last: f64) -> (f64, f64) {
        match *self {
            WindowNorm::Identity => (0.0, 1.0),
            WindowNorm::Standard { mean, std } => (mean, std),
            WindowNorm::RelativeToLast { scale } => (last, scale),
        }
    }

    /// Appends the normalized `window` (its last value is the anchor of
    /// [`RelativeToLast`](Self::RelativeToLast)) to `out`.
    pub fn input(&self, window: &[f64], out: &mut Vec<f32>) {
        let (shift, scale) = self.shift_scale(window.last().copied().unwrap_or(0.0));
        out.extend(window.iter().map(|&v| ((v - shift) / scale) as f32));
    }

    /// Appends the normalized `targets` of a window whose last input value is `last` to `out`.
    pub fn target(&self, last: f64, targets: &[f64], out: &mut Vec<f32>) {
        let (shift, scale) = self.shift_scale(last);
        out.extend(targets.iter().map(|&v| ((v - shift) / scale) as f32));
    }

    /// Maps one model output back to the series' units, for a window whose last input is `last`.
    pub fn restore(&self, last: f64, output: f32) -> f64 {
        let (shift, scale) = self.shift_scale(last);
        f64::from(output) * scale + shift
    }
}

/// Forecasting samples cut from one series when asked: sample `i` has its origin at
/// `t = origins.start + i`, inputs `values[t − lookback .. t]` and targets `values[t .. t + horizon]`,
/// both expressed by a [`WindowNorm`]. Cloning shares the values.
///
/// ```
/// use rnnlab_series::{SlidingWindows, WindowNorm};
/// let values: Vec<f64> = (0..10).map(f64::from).collect();
/// let w = SlidingWindows::new(values.into(), 3, 2, 3..9, WindowNorm::RelativeToLast { scale: 1.0 })?;
/// assert_eq!(w.len(), 6);
/// let (mut x, mut y) = (Vec::new(), Vec::new());
/// w.input(0, &mut x);
/// w.target(0, &mut y);
/// assert_eq!((x, y), (vec![-2.0, -1.0, 0.0], vec![1.0, 2.0]));   // [0, 1, 2] → [3, 4]
/// assert!(SlidingWindows::new(vec![0.0; 4].into(), 3, 2, 3..4, WindowNorm::Identity).is_err());
/// # Ok::<(), rnnlab_series::SeriesError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SlidingWindows {
    values: Arc<[f64]>,
    lookback: usize,
    horizon: usize,
    origins: Range<usize>,
    norm: WindowNorm,
}

impl SlidingWindows {
    /// Samples for every origin in `origins`, after checking that each has `lookback` inputs
    /// before it and `horizon` targets after it, and that the values they read are finite.
    pub fn new(
        values: Arc<[f64]>,
        lookback: usize,
        horizon: usize,
        origins: Range<usize>,
        norm: WindowNorm,
    ) -> Result<Self, SeriesError> {
        if lookback == 0 {
            return Err(SeriesError::ZeroSize { what: "lookback" });
        }
        if horizon == 0 {
            return Err(SeriesError::ZeroSize { what: "horizon" });
        }
        norm.validate()?;
        let bad = |why: String| Err(SeriesError::BadWindows { why });
        if origins.start > origins.end {
            return bad(format!("origins {origins:?} run backwards"));
        }
        if origins.start < lookback {
            return bad(format!(
                "the first origin {} has fewer than lookback = {lookback} values before it",
                origins.start
            ));
        }
        let last_needed = origins
            .end
            .checked_add(horizon - 1)
            .ok_or(SeriesError::Overflow { what: "window origins" })?;
        if !origins.is_empty() && last_needed > values.len() {
            return bad(format!(
                "the last origin {} needs {horizon} values after it but the series has {} values",
                origins.end - 1,
                values.len()
            ));
        }
        let read = if origins.is_empty() {
            0..0
        } else {
            origins.start - lookback..last_needed
        };
        if let Some((i, v)) = values[read.clone()].iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return bad(format!(
                "value {v} at position {} is not finite; fill or drop missing values first",
                read.start + i
            ));
        }
        Ok(Self {
            values,
            lookback,
            horizon,
            origins,
            norm,
        })
    }

    /// Samples.
    pub fn len(&self) -> usize {
        self.origins.len()
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    /// Input steps per sample.
    pub fn lookback(&self) -> usize {
        self.lookback
    }

    /// Target steps per sample.
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// The origins (series positions of each sample's first target).
    pub fn origins(&self) -> Range<usize> {
        self.origins.clone()
    }

    /// How windows are normalized.
    pub fn norm(&self) -> WindowNorm {
        self.norm
    }

    /// The whole series.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The last input value of sample `i` (the anchor of [`WindowNorm::RelativeToLast`]).
    ///
    /// # Panics
    /// If `i >= len()`, as slice indexing does.
    pub fn last_input(&self, i: usize) -> f64 {
        assert!(i < self.len(), "sample {i} of {}", self.len());
        self.values[self.origins.start + i - 1]
    }

    /// Appends the normalized inputs of sample `i` (`lookback` values) to `out`.
    ///
    /// # Panics
    /// If `i >= len()`, as slice indexing does.
    pub fn input(&self, i: usize, out: &mut Vec<f32>) {
        assert!(i < self.len(), "sample {i} of {}", self.len());
        let t = self.origins.start + i;
        self.norm.input(&self.values[t - self.lookback..t], out);
    }

    /// Appends the normalized targets of sample `i` (`horizon` values) to `out`.
    ///
    /// # Panics
    /// If `i >= len()`, as slice indexing does.
    pub fn target(&self, i: usize, out: &mut Vec<f32>) {
        let last = self.last_input(i);
        let t = self.origins.start + i;
        self.norm.target(last, &self.values[t..t + self.horizon], out);
    }

    /// Samples `range` (relative to this set) as a set of their own; out-of-range ends are clamped.
    pub fn slice(&self, range: Range<usize>) -> SlidingWindows {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        SlidingWindows {
            origins: self.origins.start + start..self.origins.start + end,
            ..self.clone()
        }
    }
}
