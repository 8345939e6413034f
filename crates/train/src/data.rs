//! In-memory data sets: inputs `[n, time, features]`, targets `[n, width]`.

use burn::tensor::{Device, Tensor, TensorData};

use crate::TrainError;

/// Inputs `x [n, time, features]` and targets `y [n, width]` (sequence targets are flattened
/// row-major, so `[n, time, horizon]` becomes `[n, time·horizon]`).
///
/// ```
/// use rnnlab_train::Dataset;
/// let d = Dataset::new(vec![0.0; 2 * 3], [2, 3, 1], vec![1.0, 2.0], 1)?;
/// assert_eq!(d.len(), 2);
/// assert!(Dataset::new(vec![0.0; 6], [2, 3, 1], vec![1.0], 1).is_err());
/// # Ok::<(), rnnlab_train::TrainError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    x: Vec<f32>,
    x_shape: [usize; 3],
    y: Vec<f32>,
    y_width: usize,
}

impl Dataset {
    /// Wraps row-major buffers after checking them: lengths that agree with the shapes, and
    /// only finite values (a NaN would make the loss NaN from the first batch on).
    pub fn new(x: Vec<f32>, x_shape: [usize; 3], y: Vec<f32>, y_width: usize) -> Result<Self, TrainError> {
        let expected = x_shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or(TrainError::Config {
                what: "x shape",
                why: format!("{x_shape:?} has more elements than fit in memory"),
            })?;
        if x.len() != expected {
            return Err(TrainError::Shape {
                what: "x",
                shape: x_shape.to_vec(),
                expected,
                got: x.len(),
            });
        }
        if y_width == 0 || !y.len().is_multiple_of(y_width) {
            return Err(TrainError::Shape {
                what: "y",
                shape: vec![y.len() / y_width.max(1), y_width],
                expected: y.len(),
                got: y.len(),
            });
        }
        if y.len() / y_width != x_shape[0] {
            return Err(TrainError::LengthMismatch {
                what: "dataset",
                x: x_shape[0],
                y: y.len() / y_width,
            });
        }
        for (what, values) in [("x", &x), ("y", &y)] {
            if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(TrainError::NonFiniteData { what, index, value });
            }
        }
        Ok(Self { x, x_shape, y, y_width })
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
        self.x_shape[0]
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `[n, time, features]`.
    pub fn x_shape(&self) -> [usize; 3] {
        self.x_shape
    }

    /// Target width per sample.
    pub fn y_width(&self) -> usize {
        self.y_width
    }

    /// Targets, row-major `[n, width]`.
    pub fn y(&self) -> &[f32] {
        &self.y
    }

    /// Inputs, row-major.
    pub fn x(&self) -> &[f32] {
        &self.x
    }

    /// The first `n` samples (for quick runs).
    pub fn head(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        let row = self.x_shape[1] * self.x_shape[2];
        Dataset {
            x: self.x[..n * row].to_vec(),
            x_shape: [n, self.x_shape[1], self.x_shape[2]],
            y: self.y[..n * self.y_width].to_vec(),
            y_width: self.y_width,
        }
    }

    /// The first `n` samples and the rest.
    pub fn split_at(&self, n: usize) -> (Dataset, Dataset) {
        let n = n.min(self.len());
        let row = self.x_shape[1] * self.x_shape[2];
        let part = |a: usize, b: usize| Dataset {
            x: self.x[a * row..b * row].to_vec(),
            x_shape: [b - a, self.x_shape[1], self.x_shape[2]],
            y: self.y[a * self.y_width..b * self.y_width].to_vec(),
            y_width: self.y_width,
        };
        (part(0, n), part(n, self.len()))
    }

    /// Gathers the samples `idx` into tensors on `device`; an index past the end is an error.
    ///
    /// ```
    /// use rnnlab_train::{Dataset, TrainError};
    /// let d = Dataset::new(vec![0.0; 6], [2, 3, 1], vec![1.0, 2.0], 1)?;
    /// let device = rnnlab_layers::Backend::Flex.device()?;
    /// let (x, y) = d.batch(&[1, 0], &device)?;
    /// assert_eq!((x.dims(), y.dims()), ([2, 3, 1], [2, 1]));
    /// assert!(matches!(d.batch(&[99], &device), Err(TrainError::SampleIndex { index: 99, len: 2 })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn batch(&self, idx: &[usize], device: &Device) -> Result<(Tensor<3>, Tensor<2>), TrainError> {
        if let Some(&index) = idx.iter().find(|&&i| i >= self.len()) {
            return Err(TrainError::SampleIndex { index, len: self.len() });
        }
        let [_, t, f] = self.x_shape;
        let row = t * f;
        let mut x = Vec::with_capacity(idx.len() * row);
        let mut y = Vec::with_capacity(idx.len() * self.y_width);
        for &i in idx {
            x.extend_from_slice(&self.x[i * row..(i + 1) * row]);
            y.extend_from_slice(&self.y[i * self.y_width..(i + 1) * self.y_width]);
        }
        Ok((
            Tensor::from_data(TensorData::new(x, [idx.len(), t, f]), device),
            Tensor::from_data(TensorData::new(y, [idx.len(), self.y_width]), device),
        ))
    }
}
