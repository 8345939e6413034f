//! A batch of equally long (possibly multivariate) series: `[batch, n_steps, features]`.

use crate::{Array, SeriesError};

/// A batch of series shaped `[batch, n_steps, features]`, f32, row-major — what the lecture's
/// `generate_time_series` returns, and what [`TimeSeries::sliding_windows`](crate::TimeSeries::sliding_windows)
/// cuts a long series into.
///
/// ```
/// use rnnlab_series::Series;
/// let s = Series::new(2, 3, 1, vec![0., 1., 2., 10., 11., 12.])?;
/// assert_eq!(s.value(1, 2, 0), 12.0);
/// # Ok::<(), rnnlab_series::SeriesError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    batch: usize,
    n_steps: usize,
    features: usize,
    data: Vec<f32>,
}

impl Series {
    /// Wraps row-major data `[batch, n_steps, features]`.
    pub fn new(batch: usize, n_steps: usize, features: usize, data: Vec<f32>) -> Result<Self, SeriesError> {
        let expected = SeriesError::checked_product("series shape", &[batch, n_steps, features])?;
        if data.len() != expected {
            return Err(SeriesError::ShapeMismatch {
                shape: vec![batch, n_steps, features],
                expected,
                got: data.len(),
            });
        }
        Ok(Self::from_parts(batch, n_steps, features, data))
    }

    pub(crate) fn from_parts(batch: usize, n_steps: usize, features: usize, data: Vec<f32>) -> Self {
        debug_assert_eq!(data.len(), batch * n_steps * features);
        Self {
            batch,
            n_steps,
            features,
            data,
        }
    }

    /// `[batch, n_steps, features]`.
    pub fn shape(&self) -> [usize; 3] {
        [self.batch, self.n_steps, self.features]
    }

    /// Number of series.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Time steps per series.
    pub fn n_steps(&self) -> usize {
        self.n_steps
    }

    /// Features per time step.
    pub fn features(&self) -> usize {
        self.features
    }

    /// All values, row-major.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// One value.
    ///
    /// # Panics
    /// If an index is out of bounds.
    pub fn value(&self, series: usize, step: usize, feature: usize) -> f32 {
        assert!(series < self.batch && step < self.n_steps && feature < self.features);
        self.data[(series * self.n_steps + step) * self.features + feature]
    }

    /// One series, `[n_steps * features]`.
    ///
    /// # Panics
    /// If `series >= batch`.
    pub fn series(&self, series: usize) -> &[f32] {
        let w = self.n_steps * self.features;
        &self.data[series * w..(series + 1) * w]
    }

    /// The whole batch as an [`Array`] `[batch, n_steps, features]`.
    pub fn to_array(&self) -> Array {
        Array::new(self.shape().to_vec(), self.data.clone()).expect("shape agrees with data by construction")
    }
}
