//! Baselines every model must beat.

use crate::{Array, SeriesError, TargetKind, Windows};

/// The naive forecast: every target step is predicted by the last observed value of the target
/// feature (for sequence targets, the value at each input step). Same shape as `windows.y`.
/// Windows whose arrays disagree with their spec are an error ([`Windows::validate`]).
///
/// ```
/// use rnnlab_series::{generate_time_series, naive_forecast, NumpyRandom, WindowSpec};
/// let w = generate_time_series(&mut NumpyRandom::new(1), 4, 11)?.windows(WindowSpec::vector(10, 1))?;
/// let pred = naive_forecast(&w)?;
/// assert_eq!(pred.get(&[2, 0]), w.x.get(&[2, 9, 0]));
/// # Ok::<(), rnnlab_series::SeriesError>(())
/// ```
pub fn naive_forecast(windows: &Windows) -> Result<Array, SeriesError> {
    windows.validate()?;
    let spec = windows.spec;
    let n = windows.len();
    let features = windows.x.shape()[2];
    let at = |s: usize, t: usize| windows.x.row(s)[t * features + spec.target_feature];
    let data: Vec<f32> = match spec.kind {
        TargetKind::Vector => (0..n)
            .flat_map(|s| std::iter::repeat_n(at(s, spec.window - 1), spec.horizon))
            .collect(),
        TargetKind::Sequence => (0..n)
            .flat_map(|s| (0..spec.window).flat_map(move |t| std::iter::repeat_n(at(s, t), spec.horizon)))
            .collect(),
    };
    Array::new(windows.y.shape().to_vec(), data)
}

/// Mean squared error between two arrays of the same shape (differences and squares in f32 as
/// Keras computes them, accumulated in f64, returned as f32).
///
/// ```
/// use rnnlab_series::{mse, Array};
/// let a = Array::new(vec![2], vec![1.0, 2.0])?;
/// let b = Array::new(vec![2], vec![1.0, 4.0])?;
/// assert_eq!(mse(&a, &b)?, 2.0);
/// # Ok::<(), rnnlab_series::SeriesError>(())
/// ```
pub fn mse(truth: &Array, prediction: &Array) -> Result<f32, SeriesError> {
    if truth.shape() != prediction.shape() {
        return Err(SeriesError::ShapesDiffer {
            what: "mse",
            left: truth.shape().to_vec(),
            right: prediction.shape().to_vec(),
        });
    }
    if truth.data().is_empty() {
        return Err(SeriesError::ZeroSize { what: "samples" });
    }
    let sum: f64 = truth
        .data()
        .iter()
        .zip(prediction.data())
        .map(|(&t, &p)| {
            let d = t - p;
            f64::from(d * d)
        })
        .sum();
    Ok((sum / truth.data().len() as f64) as f32)
}

/// MSE of the naive forecast on `windows` (the lecture's 0.020211367 one step ahead on the
/// seed-42 validation split).
pub fn naive_mse(windows: &Windows) -> Result<f32, SeriesError> {
    mse(&windows.y, &naive_forecast(windows)?)
}
