//! # rnnlab-series
//!
//! The data side of *Hands-On ML* 2e chapter 15 in Rust, with the same numbers as NumPy:
//!
//! - [`NumpyRandom`]: NumPy's legacy MT19937 (`np.random.seed`, `np.random.rand`), bit-exact;
//! - [`generate_time_series`]: the lecture's two-sines-plus-noise generator, same draw order;
//! - [`WindowSpec`] / [`Series::windows`] / [`Windows::split`]: one-step, n-step-ahead vector and
//!   sequence-to-sequence datasets, split 7000/2000/1000 (or any counts / fractions);
//! - [`naive_forecast`] / [`naive_mse`]: the last-value baseline for any horizon;
//! - [`TimeSeries`]: a real series from CSV, split in time, scaled on the training part only
//!   ([`StandardScaler`]) and cut into the same [`Windows`];
//! - [`SlidingWindows`]: forecasting samples cut from one long series on demand, each expressed by a
//!   [`WindowNorm`] (e.g. relative to its last value, so that trends can be continued).
//!
//! The crate has no Burn dependency: arrays are plain row-major `f32` ([`Array`]).
//!
//! ## What bad input gets
//!
//! Every public function that takes data or sizes checks them before it works and returns a
//! [`SeriesError`] that names the bad value and what to do; none panics on user input (methods
//! that index, like [`Array::get`], document their panics as slice indexing does). In particular:
//! a CSV cell that is empty, not a number, `NaN`, infinite or beyond `f32`'s range is an error
//! naming its row and column (never a NaN in the data); a row wider or narrower than the header
//! is an error; a column selected by a name the header repeats is an error; sizes are multiplied
//! with overflow checks, and an array beyond [`MAX_ELEMENTS`] values (generated series, sliding
//! windows, sequence targets) is an error, not an abort;
//! [`StandardScaler`] parameters (also deserialized ones) are validated.
//!
//! ## The lecture's first cells
//!
//! ```python
//! np.random.seed(42)
//! series = generate_time_series(10000, n_steps + 1)
//! X_train, y_train = series[:7000, :n_steps], series[:7000, -1]
//! X_valid, y_valid = series[7000:9000, :n_steps], series[7000:9000, -1]
//! y_pred = X_valid[:, -1]
//! np.mean(keras.losses.mean_squared_error(y_valid, y_pred))   # 0.020211367
//! ```
//!
//! ```
//! use rnnlab_series::{generate_time_series, naive_mse, NumpyRandom, Split, WindowSpec};
//!
//! let n_steps = 50;
//! let mut rng = NumpyRandom::new(42);
//! let series = generate_time_series(&mut rng, 10_000, n_steps + 1)?;
//! let data = series.windows(WindowSpec::vector(n_steps, 1))?.split(Split::LECTURE)?;
//! assert_eq!(data.train.x.shape(), &[7000, 50, 1]);
//! assert_eq!(data.valid.y.shape(), &[2000, 1]);
//! let mse = naive_mse(&data.valid)?;
//! assert!((mse - 0.020211367).abs() < 1e-7, "{mse}");
//!
//! // Ten steps ahead (a fresh seed-42 draw of 60 steps): naive MSE 0.25697407.
//! let series = generate_time_series(&mut NumpyRandom::new(42), 10_000, n_steps + 10)?;
//! let data = series.windows(WindowSpec::vector(n_steps, 10))?.split(Split::LECTURE)?;
//! assert!((naive_mse(&data.valid)? - 0.25697407).abs() < 1e-6);
//! # Ok::<(), rnnlab_series::SeriesError>(())
//! ```
#![warn(missing_docs)]

mod array;
mod baseline;
mod error;
mod generate;
mod mt19937;
mod series;
mod sliding;
mod timeseries;
mod windows;

pub use array::Array;
pub use baseline::{mse, naive_forecast, naive_mse};
pub use error::SeriesError;
pub use generate::generate_time_series;
pub use mt19937::NumpyRandom;
pub use series::Series;
pub use sliding::{SlidingWindows, WindowNorm};
pub use timeseries::{Column, CsvOptions, StandardScaler, TimeSeries};
pub use windows::{Split, Splits, TargetKind, WindowSpec, Windows};

/// The most values one array may hold (2³¹ `f32`, 8 GiB). A size given by the user that would
/// allocate more is an error ([`SeriesError::TooLarge`]) rather than an abort of the process.
pub const MAX_ELEMENTS: usize = 1 << 31;
