//! The lecture's `generate_time_series`.

use crate::{NumpyRandom, Series, SeriesError};

/// The lecture's `generate_time_series(batch_size, n_steps)`: two sine waves with random
/// frequencies and offsets plus uniform noise, drawn from `rng` in NumPy's order (one
/// `rand(4, batch, 1)`, then `rand(batch, n_steps)`), computed in f64, returned as f32
/// `[batch_size, n_steps, 1]`. Sizes whose values would exceed [`MAX_ELEMENTS`](crate::MAX_ELEMENTS)
/// are an error (NumPy raises `MemoryError`), not an abort.
///
/// ```
/// use rnnlab_series::{generate_time_series, NumpyRandom};
/// let mut rng = NumpyRandom::new(42); // np.random.seed(42)
/// let series = generate_time_series(&mut rng, 10_000, 51)?;
/// assert_eq!(series.shape(), [10_000, 51, 1]);
/// assert!(generate_time_series(&mut rng, usize::MAX, 2).is_err());
/// # Ok::<(), rnnlab_series::SeriesError>(())
/// ```
pub fn generate_time_series(rng: &mut NumpyRandom, batch_size: usize, n_steps: usize) -> Result<Series, SeriesError> {
    SeriesError::checked_elements("generated series", &[batch_size, n_steps])?;
    SeriesError::checked_elements("generator parameters", &[4, batch_size])?;
    let params = rng.rand(4 * batch_size);
    let (freq1, rest) = params.split_at(batch_size);
    let (freq2, rest) = rest.split_at(batch_size);
    let (offsets1, offsets2) = rest.split_at(batch_size);
    let time = linspace01(n_steps);
    let mut data = Vec::with_capacity(batch_size * n_steps);
    for b in 0..batch_size {
        for &t in &time {
            let mut v = 0.5 * ((t - offsets1[b]) * (freq1[b] * 10.0 + 10.0)).sin();
            v += 0.2 * ((t - offsets2[b]) * (freq2[b] * 20.0 + 20.0)).sin();
            data.push(v);
        }
    }
    // Noise comes from a second, separate draw, exactly as NumPy's `series += 0.1 * (rand(...) - 0.5)`.
    for v in data.iter_mut() {
        *v += 0.1 * (rng.next_f64() - 0.5);
    }
    let data = data.into_iter().map(|v| v as f32).collect();
    Ok(Series::from_parts(batch_size, n_steps, 1, data))
}

/// `np.linspace(0, 1, n)` for the cases the generator needs, with NumPy's formula
/// (`i * step`, the last point set to exactly 1).
fn linspace01(n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![0.0],
        _ => {
            let step = 1.0 / (n - 1) as f64;
            let mut v: Vec<f64> = (0..n).map(|i| i as f64 * step).collect();
            v[n - 1] = 1.0;
            v
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_matches_numpy_endpoints() {
        let v = linspace01(51);
        assert_eq!(v[0], 0.0);
        assert_eq!(v[50], 1.0);
        assert_eq!(v[25], 0.5);
        assert_eq!(linspace01(1), vec![0.0]);
    }
}
