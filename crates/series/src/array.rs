//! A minimal owned, row-major f32 array: enough to hand data to a training crate without a Burn dependency.

use crate::SeriesError;

/// A dense row-major `f32` array with a shape.
///
/// ```
/// use rnnlab_series::Array;
/// let a = Array::new(vec![2, 3], (0..6).map(|v| v as f32).collect())?;
/// assert_eq!(a.shape(), &[2, 3]);
/// assert_eq!(a.get(&[1, 2]), 5.0);
/// # Ok::<(), rnnlab_series::SeriesError>(())
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Array {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl Array {
    /// Wraps `data` with `shape`; the element count must match.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Self, SeriesError> {
        let expected = SeriesError::checked_product("array shape", &shape)?;
        if expected != data.len() {
            return Err(SeriesError::ShapeMismatch {
                shape,
                expected,
                got: data.len(),
            });
        }
        Ok(Self { shape, data })
    }

    /// The shape, outermost axis first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The values in row-major order.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// Takes the values out.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// Number of rows (length of the first axis).
    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }

    /// Elements per row.
    pub fn row_len(&self) -> usize {
        self.shape.iter().skip(1).product()
    }

    /// One row's values.
    ///
    /// # Panics
    /// If `r >= self.rows()` (an indexing bug, like slice indexing).
    pub fn row(&self, r: usize) -> &[f32] {
        let w = self.row_len();
        &self.data[r * w..(r + 1) * w]
    }

    /// The element at a full index.
    ///
    /// # Panics
    /// If the index has the wrong rank or is out of bounds.
    pub fn get(&self, index: &[usize]) -> f32 {
        assert_eq!(index.len(), self.shape.len(), "index rank");
        let mut flat = 0;
        for (i, (&ix, &dim)) in index.iter().zip(&self.shape).enumerate() {
            assert!(ix < dim, "index {ix} out of bounds for axis {i} of size {dim}");
            flat = flat * dim + ix;
        }
        self.data[flat]
    }

    /// Rows `start..end` as a new array.
    ///
    /// # Panics
    /// If the range is out of bounds.
    pub fn rows_range(&self, start: usize, end: usize) -> Array {
        let w = self.row_len();
        let mut shape = self.shape.clone();
        shape[0] = end - start;
        Array {
            shape,
            data: self.data[start * w..end * w].to_vec(),
        }
    }
}
