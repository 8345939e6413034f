//! Keras's `pad_sequences`.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::TextError;

/// Which end of a sequence is padded or truncated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The start (Keras's default for both padding and truncating).
    #[default]
    Pre,
    /// The end.
    Post,
}

impl Side {
    /// Parses `"pre"` / `"post"`; `what` (`"padding"` or `"truncating"`) names the argument in the error.
    ///
    /// ```
    /// use rnnlab_text::Side;
    /// assert_eq!(Side::parse("padding", "post")?, Side::Post);
    /// assert!(Side::parse("padding", "middle").is_err());
    /// # Ok::<(), rnnlab_text::TextError>(())
    /// ```
    pub fn parse(what: &'static str, value: &str) -> Result<Side, TextError> {
        match value {
            "pre" => Ok(Side::Pre),
            "post" => Ok(Side::Post),
            other => Err(TextError::UnknownSide {
                what,
                value: other.to_string(),
            }),
        }
    }
}

/// Arguments of [`pad_sequences`]. [`Default`] is Keras's `maxlen=None, padding='pre',
/// truncating='pre', value=0`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PadOptions<T> {
    /// Output length; `None` = the longest sequence. `Some(0)` is refused (see [`TextError::ZeroMaxlen`]).
    pub maxlen: Option<usize>,
    /// Where padding goes.
    pub padding: Side,
    /// Which end is cut from sequences longer than `maxlen`.
    pub truncating: Side,
    /// The padding value.
    pub value: T,
}

impl<T> PadOptions<T> {
    /// Options with Keras's defaults and the given padding value.
    pub fn with_value(value: T) -> Self {
        Self {
            maxlen: None,
            padding: Side::Pre,
            truncating: Side::Pre,
            value,
        }
    }
    /// Sets `maxlen`.
    #[must_use]
    pub fn maxlen(mut self, n: usize) -> Self {
        self.maxlen = Some(n);
        self
    }
    /// Sets `padding`.
    #[must_use]
    pub fn padding(mut self, side: Side) -> Self {
        self.padding = side;
        self
    }
    /// Sets `truncating`.
    #[must_use]
    pub fn truncating(mut self, side: Side) -> Self {
        self.truncating = side;
        self
    }
}

/// A padded batch: `rows × cols` timesteps of `features` values each (1 for scalar sequences),
/// row-major, plus what Keras does not give: each row's real length and its mask.
#[derive(Clone, Debug, PartialEq)]
pub struct Padded<T> {
    /// Number of sequences.
    pub rows: usize,
    /// `maxlen`.
    pub cols: usize,
    /// Values per timestep (1 for scalar sequences).
    pub features: usize,
    /// `rows * cols * features` values.
    pub data: Vec<T>,
    /// Real (kept) timesteps of each row, after truncation.
    pub lengths: Vec<usize>,
    /// Where padding went (the real values sit at the other end).
    pub padding: Side,
}

impl<T> Padded<T> {
    /// `[rows, cols]` for scalar sequences, `[rows, cols, features]` for vector timesteps.
    pub fn shape(&self) -> Vec<usize> {
        if self.features == 1 {
            vec![self.rows, self.cols]
        } else {
            vec![self.rows, self.cols, self.features]
        }
    }

    /// One row's values (`cols * features`).
    ///
    /// # Panics
    /// If `r >= rows`.
    pub fn row(&self, r: usize) -> &[T] {
        let w = self.cols * self.features;
        &self.data[r * w..(r + 1) * w]
    }

    /// Whether timestep `t` of row `r` holds a real value (not padding); `false` outside the
    /// batch (`r >= rows` or `t >= cols`).
    pub fn is_real(&self, r: usize, t: usize) -> bool {
        let Some(&len) = self.lengths.get(r) else {
            return false;
        };
        let len = len.min(self.cols);
        t < self.cols
            && match self.padding {
                Side::Post => t < len,
                Side::Pre => t >= self.cols - len,
            }
    }

    /// The mask `[rows * cols]`, row-major: `true` at real timesteps (what Keras's
    /// `Embedding(mask_zero=True)` would compute when 0 is only used for padding).
    pub fn mask(&self) -> Vec<bool> {
        (0..self.rows)
            .flat_map(|r| (0..self.cols).map(move |t| self.is_real(r, t)))
            .collect()
    }
}

fn pad_core<T: Clone + Send + Sync>(
    n: usize,
    features: usize,
    row: impl Fn(usize, &mut Vec<T>) + Sync,
    lens: &[usize],
    opts: &PadOptions<T>,
) -> Result<Padded<T>, TextError> {
    let cols = match opts.maxlen {
        Some(0) => return Err(TextError::ZeroMaxlen),
        Some(m) => m,
        None => *lens.iter().max().ok_or(TextError::NoSequences)?,
    };
    let total = crate::checked_elements("padded batch", &[n, cols, features])?;
    let w = cols * features;
    let mut data = vec![opts.value.clone(); total];
    let lengths: Vec<usize> = lens.iter().map(|&len| len.min(cols)).collect();
    // Rows are independent: filled on all cores (this also spreads the first-touch page faults
    // of a large fresh matrix).
    let fill = |values: &mut Vec<T>, (i, out): (usize, &mut [T])| {
        let (len, keep) = (lens[i], lengths[i]);
        if keep == 0 {
            return;
        }
        values.clear();
        row(i, values);
        let kept = match opts.truncating {
            Side::Pre => &values[(len - keep) * features..],
            Side::Post => &values[..keep * features],
        };
        match opts.padding {
            Side::Post => out[..keep * features].clone_from_slice(kept),
            Side::Pre => out[w - keep * features..].clone_from_slice(kept),
        }
    };
    if w > 0 {
        data.par_chunks_mut(w)
            .enumerate()
            .with_min_len(1024)
            .for_each_init(Vec::new, fill);
    }
    Ok(Padded {
        rows: n,
        cols,
        features,
        data,
        lengths,
        padding: opts.padding,
    })
}

/// Keras's `pad_sequences` for scalar sequences of any element type (`i32`, `i64`, `u32`,
/// `f32`, `f64`, `String`, …).
///
/// ```
/// use rnnlab_text::{pad_sequences, PadOptions, Side};
/// let seqs = vec![vec![1, 2, 3], vec![4, 5], vec![6, 7, 8, 9, 10]];
/// let p = pad_sequences(&seqs, &PadOptions::default().maxlen(4))?;
/// assert_eq!(p.data, [0, 1, 2, 3, 0, 0, 4, 5, 7, 8, 9, 10]);
/// assert_eq!(p.lengths, [3, 2, 4]);
/// let p = pad_sequences(&seqs, &PadOptions::default().padding(Side::Post).truncating(Side::Post))?;
/// assert_eq!(p.row(1), &[4, 5, 0, 0, 0]);
/// # Ok::<(), rnnlab_text::TextError>(())
/// ```
pub fn pad_sequences<T: Clone + Send + Sync, S: AsRef<[T]> + Sync>(
    sequences: &[S],
    opts: &PadOptions<T>,
) -> Result<Padded<T>, TextError> {
    let lens: Vec<usize> = sequences.iter().map(|s| s.as_ref().len()).collect();
    pad_core(
        sequences.len(),
        1,
        |i, out| out.extend_from_slice(sequences[i].as_ref()),
        &lens,
        opts,
    )
}

/// `pad_sequences` for sequences whose timesteps are vectors (a 3-D result). Every timestep must
/// have the feature length of the first non-empty sequence; the scalar `value` fills padding.
///
/// ```
/// use rnnlab_text::{pad_sequences_vectors, PadOptions};
/// let seqs = vec![vec![vec![1.0, 2.0]], vec![vec![3.0, 4.0], vec![5.0, 6.0]]];
/// let p = pad_sequences_vectors(&seqs, &PadOptions::with_value(0.0))?;
/// assert_eq!(p.shape(), [2, 2, 2]);
/// assert_eq!(p.row(0), &[0.0, 0.0, 1.0, 2.0]);
/// # Ok::<(), rnnlab_text::TextError>(())
/// ```
pub fn pad_sequences_vectors<T, V, S>(sequences: &[S], opts: &PadOptions<T>) -> Result<Padded<T>, TextError>
where
    T: Clone + Send + Sync,
    V: AsRef<[T]> + Sync,
    S: AsRef<[V]> + Sync,
{
    let features = sequences
        .iter()
        .find_map(|s| s.as_ref().first().map(|v| v.as_ref().len()))
        .unwrap_or(0);
    for (i, s) in sequences.iter().enumerate() {
        if let Some(v) = s.as_ref().iter().find(|v| v.as_ref().len() != features) {
            return Err(TextError::SampleShape {
                sequence: i,
                expected: features,
                got: v.as_ref().len(),
            });
        }
    }
    let lens: Vec<usize> = sequences.iter().map(|s| s.as_ref().len()).collect();
    let row =
        |i: usize, out: &mut Vec<T>| out.extend(sequences[i].as_ref().iter().flat_map(|v| v.as_ref().iter().cloned()));
    pad_core(sequences.len(), features, row, &lens, opts)
}
