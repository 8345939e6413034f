//! Data sets: float features `[n, time, features]` or token ids `[n, time]` with float targets
//! `[n, width]` or integer class ids `[n]` in memory, or forecasting windows cut from one series
//! batch by batch.

use std::borrow::Cow;

use burn::tensor::{Device, Int, Tensor, TensorData};
use rnnlab_layers::Input;
use rnnlab_series::SlidingWindows;

use crate::TrainError;

/// The inputs of a [`Dataset`].
#[derive(Clone, Debug, PartialEq)]
pub enum Features {
    /// Float features, row-major `[n, time, features]`.
    Floats {
        /// The values.
        values: Vec<f32>,
        /// `[n, time, features]`.
        shape: [usize; 3],
    },
    /// Token ids, row-major `[n, time]` (the input of an `Embedding`).
    Tokens {
        /// The ids.
        ids: Vec<u32>,
        /// `[n, time]`.
        shape: [usize; 2],
    },
    /// The inputs of forecasting windows cut from one series when a batch asks for them
    /// (`[n, lookback, 1]`): memory stays near the series' size whatever the lookback.
    Sliding(SlidingWindows),
}

impl Features {
    /// Samples.
    pub fn len(&self) -> usize {
        match self {
            Features::Floats { shape, .. } => shape[0],
            Features::Tokens { shape, .. } => shape[0],
            Features::Sliding(w) => w.len(),
        }
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape, sample axis first.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Features::Floats { shape, .. } => shape.to_vec(),
            Features::Tokens { shape, .. } => shape.to_vec(),
            Features::Sliding(w) => vec![w.len(), w.lookback(), 1],
        }
    }

    /// The float values, when these are float features held in memory.
    pub fn floats(&self) -> Option<&[f32]> {
        match self {
            Features::Floats { values, .. } => Some(values),
            Features::Tokens { .. } | Features::Sliding(_) => None,
        }
    }

    /// Values per sample.
    fn row(&self) -> usize {
        self.dims()[1..].iter().product()
    }

    fn rows(&self, a: usize, b: usize) -> Features {
        let row = self.row();
        match self {
            Features::Floats { values, shape } => Features::Floats {
                values: values[a * row..b * row].to_vec(),
                shape: [b - a, shape[1], shape[2]],
            },
            Features::Tokens { ids, shape } => Features::Tokens {
                ids: ids[a * row..b * row].to_vec(),
                shape: [b - a, shape[1]],
            },
            Features::Sliding(w) => Features::Sliding(w.slice(a..b)),
        }
    }

    fn check(&self) -> Result<(), TrainError> {
        let (len, dims) = match self {
            Features::Floats { values, shape } => (values.len(), shape.to_vec()),
            Features::Tokens { ids, shape } => (ids.len(), shape.to_vec()),
            // Checked when it was made (finite values, windows inside the series).
            Features::Sliding(_) => return Ok(()),
        };
        let expected = dims
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| TrainError::Config {
                what: "x shape",
                why: format!("{dims:?} has more elements than fit in memory"),
            })?;
        if len != expected {
            return Err(TrainError::Shape {
                what: "x",
                shape: dims,
                expected,
                got: len,
            });
        }
        if let Features::Floats { values, .. } = self
            && let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite())
        {
            return Err(TrainError::NonFiniteData {
                what: "x",
                index,
                value,
            });
        }
        Ok(())
    }
}

/// The targets of a [`Dataset`].
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// Float targets, row-major `[n, width]` (sequence targets flattened: `[n, time·horizon]`).
    Floats {
        /// The values.
        values: Vec<f32>,
        /// Values per sample.
        width: usize,
    },
    /// One integer class id per sample (for `SparseCategoricalCrossentropy`, or 0/1 labels for
    /// `BinaryCrossentropy`).
    Classes(Vec<u32>),
    /// The targets of forecasting windows cut from one series when a batch asks for them
    /// (`[n, horizon]`).
    Sliding(SlidingWindows),
}

impl Targets {
    /// Samples.
    pub fn len(&self) -> usize {
        match self {
            Targets::Floats { values, width } => values.len() / (*width).max(1),
            Targets::Classes(ids) => ids.len(),
            Targets::Sliding(w) => w.len(),
        }
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per sample (1 for class ids).
    pub fn width(&self) -> usize {
        match self {
            Targets::Floats { width, .. } => *width,
            Targets::Classes(_) => 1,
            Targets::Sliding(w) => w.horizon(),
        }
    }

    /// The float values, when these are float targets held in memory.
    pub fn floats(&self) -> Option<&[f32]> {
        match self {
            Targets::Floats { values, .. } => Some(values),
            Targets::Classes(_) | Targets::Sliding(_) => None,
        }
    }

    /// Every target as `f32` on the host (exact for class ids below 2²⁴), for host-side metrics.
    pub(crate) fn as_f32(&self) -> Cow<'_, [f32]> {
        match self {
            Targets::Floats { values, .. } => Cow::Borrowed(values),
            Targets::Classes(ids) => Cow::Owned(ids.iter().map(|&c| c as f32).collect()),
            Targets::Sliding(w) => {
                let mut out = Vec::with_capacity(w.len() * w.horizon());
                (0..w.len()).for_each(|i| w.target(i, &mut out));
                Cow::Owned(out)
            }
        }
    }

    fn rows(&self, a: usize, b: usize) -> Targets {
        match self {
            Targets::Floats { values, width } => Targets::Floats {
                values: values[a * width..b * width].to_vec(),
                width: *width,
            },
            Targets::Classes(ids) => Targets::Classes(ids[a..b].to_vec()),
            Targets::Sliding(w) => Targets::Sliding(w.slice(a..b)),
        }
    }

    fn check(&self) -> Result<(), TrainError> {
        if let Targets::Floats { values, width } = self {
            if *width == 0 || !values.len().is_multiple_of(*width) {
                return Err(TrainError::Shape {
                    what: "y",
                    shape: vec![values.len() / (*width).max(1), *width],
                    expected: values.len(),
                    got: values.len(),
                });
            }
            if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(TrainError::NonFiniteData {
                    what: "y",
                    index,
                    value,
                });
            }
        }
        Ok(())
    }
}

/// One batch of targets on a device.
#[derive(Clone, Debug)]
pub enum BatchTargets {
    /// `[batch, width]` floats.
    Floats(Tensor<2>),
    /// `[batch, 1]` class ids.
    Classes(Tensor<2, Int>),
}

impl BatchTargets {
    /// The same targets without autodiff (for metrics, which need no gradient).
    pub(crate) fn inner(self) -> BatchTargets {
        match self {
            BatchTargets::Floats(t) => BatchTargets::Floats(t.inner()),
            BatchTargets::Classes(t) => BatchTargets::Classes(t.inner()),
        }
    }
}

/// Inputs and targets, checked once when the data set is made.
///
/// ```
/// use rnnlab_train::{Dataset, Features, Targets};
/// let d = Dataset::new(vec![0.0; 2 * 3], [2, 3, 1], vec![1.0, 2.0], 1)?;
/// assert_eq!(d.len(), 2);
/// assert!(Dataset::new(vec![0.0; 6], [2, 3, 1], vec![1.0], 1).is_err());
/// // Token ids [n, time] with class ids: no float round trip.
/// let tokens = Dataset::from_parts(
///     Features::Tokens { ids: vec![3, 1, 0, 2, 2, 0], shape: [2, 3] },
///     Targets::Classes(vec![1, 0]),
/// )?;
/// assert_eq!(tokens.x_dims(), vec![2, 3]);
/// # Ok::<(), rnnlab_train::TrainError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    x: Features,
    y: Targets,
}

impl Dataset {
    /// Float features `x [n, time, features]` and float targets `y [n, y_width]`, row-major,
    /// after checking them: lengths that agree with the shapes, and only finite values (a NaN
    /// would make the loss NaN from the first batch on).
    pub fn new(x: Vec<f32>, x_shape: [usize; 3], y: Vec<f32>, y_width: usize) -> Result<Self, TrainError> {
        Self::from_parts(
            Features::Floats {
                values: x,
                shape: x_shape,
            },
            Targets::Floats {
                values: y,
                width: y_width,
            },
        )
    }

    /// Any features with any targets, checked as [`Dataset::new`] checks them.
    pub fn from_parts(x: Features, y: Targets) -> Result<Self, TrainError> {
        x.check()?;
        y.check()?;
        if y.len() != x.len() {
            return Err(TrainError::LengthMismatch {
                what: "dataset",
                x: x.len(),
                y: y.len(),
            });
        }
        Ok(Self { x, y })
    }

    /// Forecasting windows cut from one series batch by batch: inputs `[n, lookback, 1]`,
    /// targets `[n, horizon]`, never all in memory at once.
    ///
    /// ```
    /// use rnnlab_series::{SlidingWindows, WindowNorm};
    /// use rnnlab_train::Dataset;
    /// let series: Vec<f64> = (0..1000).map(|t| (f64::from(t) * 0.1).sin()).collect();
    /// let windows = SlidingWindows::new(series.into(), 20, 5, 20..996, WindowNorm::Identity)?;
    /// let data = Dataset::from_sliding(windows);
    /// assert_eq!((data.len(), data.x_dims(), data.y_width()), (976, vec![976, 20, 1], 5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_sliding(windows: SlidingWindows) -> Dataset {
        Dataset {
            x: Features::Sliding(windows.clone()),
            y: Targets::Sliding(windows),
        }
    }

    /// From forecasting windows of `rnnlab-series`.
    pub fn from_windows(w: &rnnlab_series::Windows) -> Result<Self, TrainError> {
        // The fields are public: hand-built windows may disagree with their spec.
        w.validate().map_err(|e| TrainError::Config {
            what: "windows",
            why: e.to_string(),
        })?;
        let s = w.x.shape();
        let n = s[0];
        let width = w.y.data().len().checked_div(n).unwrap_or(1);
        Self::new(
            w.x.data().to_vec(),
            [s[0], s[1], s[2]],
            w.y.data().to_vec(),
            width.max(1),
        )
    }

    /// Samples.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The inputs.
    pub fn features(&self) -> &Features {
        &self.x
    }

    /// The targets.
    pub fn targets(&self) -> &Targets {
        &self.y
    }

    /// The input shape, sample axis first (`[n, time, features]` or `[n, time]`).
    pub fn x_dims(&self) -> Vec<usize> {
        self.x.dims()
    }

    /// Target values per sample (1 for class ids).
    pub fn y_width(&self) -> usize {
        self.y.width()
    }

    /// The first `n` samples (for quick runs).
    pub fn head(&self, n: usize) -> Dataset {
        self.split_at(n).0
    }

    /// The first `n` samples and the rest.
    pub fn split_at(&self, n: usize) -> (Dataset, Dataset) {
        let n = n.min(self.len());
        let part = |a: usize, b: usize| Dataset {
            x: self.x.rows(a, b),
            y: self.y.rows(a, b),
        };
        (part(0, n), part(n, self.len()))
    }

    /// Gathers the samples `idx` into tensors on `device`; an index past the end is an error.
    ///
    /// ```
    /// use rnnlab_train::{BatchTargets, Dataset, TrainError};
    /// let d = Dataset::new(vec![0.0; 6], [2, 3, 1], vec![1.0, 2.0], 1)?;
    /// let device = rnnlab_layers::Backend::Flex.device()?;
    /// let (x, y) = d.batch(&[1, 0], &device)?;
    /// assert_eq!(x.dims(), [2, 3, 1]);
    /// assert!(matches!(y, BatchTargets::Floats(t) if t.dims() == [2, 1]));
    /// assert!(matches!(d.batch(&[99], &device), Err(TrainError::SampleIndex { index: 99, len: 2 })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn batch(&self, idx: &[usize], device: &Device) -> Result<(Input, BatchTargets), TrainError> {
        if let Some(&index) = idx.iter().find(|&&i| i >= self.len()) {
            return Err(TrainError::SampleIndex { index, len: self.len() });
        }
        let row = self.x.row();
        let x = match &self.x {
            Features::Floats { values, shape } => {
                let x = gather(values, row, idx, |&v| v);
                Input::from(Tensor::<3>::from_data(
                    TensorData::new(x, [idx.len(), shape[1], shape[2]]),
                    device,
                ))
            }
            Features::Tokens { ids, shape } => {
                let x = gather(ids, row, idx, |&v| i64::from(v));
                Input::Tokens(Tensor::from_data(TensorData::new(x, [idx.len(), shape[1]]), device))
            }
            Features::Sliding(w) => {
                let mut x = Vec::with_capacity(idx.len() * w.lookback());
                idx.iter().for_each(|&i| w.input(i, &mut x));
                Input::from(Tensor::<3>::from_data(
                    TensorData::new(x, [idx.len(), w.lookback(), 1]),
                    device,
                ))
            }
        };
        Ok((x, self.target_batch(idx, device)))
    }

    /// The targets of the samples `idx` (checked indices) on `device`.
    pub(crate) fn target_batch(&self, idx: &[usize], device: &Device) -> BatchTargets {
        match &self.y {
            Targets::Floats { values, width } => {
                let y = gather(values, *width, idx, |&v| v);
                BatchTargets::Floats(Tensor::from_data(TensorData::new(y, [idx.len(), *width]), device))
            }
            Targets::Classes(ids) => {
                let y = gather(ids, 1, idx, |&v| i64::from(v));
                BatchTargets::Classes(Tensor::from_data(TensorData::new(y, [idx.len(), 1]), device))
            }
            Targets::Sliding(w) => {
                let mut y = Vec::with_capacity(idx.len() * w.horizon());
                idx.iter().for_each(|&i| w.target(i, &mut y));
                BatchTargets::Floats(Tensor::from_data(TensorData::new(y, [idx.len(), w.horizon()]), device))
            }
        }
    }
}

/// Rows `idx` of a row-major buffer with `row` values per sample.
fn gather<T, U>(values: &[T], row: usize, idx: &[usize], convert: impl Fn(&T) -> U) -> Vec<U> {
    let mut out = Vec::with_capacity(idx.len() * row);
    for &i in idx {
        out.extend(values[i * row..(i + 1) * row].iter().map(&convert));
    }
    out
}
