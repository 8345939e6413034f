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
    /// Wraps row-major buffers after checking them.
    pub fn new(x: Vec<f32>, x_shape: [usize; 3], y: Vec<f32>, y_width: usize) -> Result<Self, TrainError> {
        let expected = x_shape.iter().product();
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
        Ok(Self { x, x_shape, y, y_width })
    }

    /// From forecasting windows of `rnnlab-series`.
    pub fn from_windows(w: &rnnlab_series::Windows) -> Result<Self, TrainError> {
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

    /// Gathers the samples `idx` into tensors on `device`.
    pub fn batch(&self, idx: &[usize], device: &Device) -> (Tensor<3>, Tensor<2>) {
        let [_, t, f] = self.x_shape;
        let row = t * f;
        let mut x = Vec::with_capacity(idx.len() * row);
        let mut y = Vec::with_capacity(idx.len() * self.y_width);
        for &i in idx {
            x.extend_from_slice(&self.x[i * row..(i + 1) * row]);
            y.extend_from_slice(&self.y[i * self.y_width..(i + 1) * self.y_width]);
        }
        (
            Tensor::from_data(TensorData::new(x, [idx.len(), t, f]), device),
            Tensor::from_data(TensorData::new(y, [idx.len(), self.y_width]), device),
        )
    }
}
