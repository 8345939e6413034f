//! Keras's `hashing_trick` with `hash_function='md5'`.

use md5::{Digest, Md5};

use crate::{TextError, text_to_word_sequence};

/// The md5 bucket of one word: `int(md5(word).hexdigest(), 16) % (n - 1) + 1` with Python's
/// floor modulo.
pub fn md5_bucket(word: &str, n: i64) -> Result<i64, TextError> {
    let digest = Md5::digest(word.as_bytes());
    let value = u128::from_be_bytes(digest.into());
    let m = i128::from(n) - 1;
    if m == 0 {
        return Err(TextError::ZeroBuckets);
    }
    let r = (value % m.unsigned_abs()) as i128;
    // Python's floor modulo takes the divisor's sign.
    let r = if m < 0 && r != 0 { r + m } else { r };
    Ok((r + 1) as i64)
}

/// Keras's `hashing_trick(text, n, hash_function='md5', filters, lower, split)`: each word of
/// [`text_to_word_sequence`] mapped to an md5 bucket in `1..n`.
///
/// ```
/// use rnnlab_text::{hashing_trick_md5, DEFAULT_FILTERS};
/// let idx = hashing_trick_md5("The cat, the hat", 10, DEFAULT_FILTERS, true, " ")?;
/// assert_eq!(idx.len(), 4);
/// assert_eq!(idx[0], idx[2]); // "the" twice
/// assert!(idx.iter().all(|&i| (1..10).contains(&i)));
/// # Ok::<(), rnnlab_text::TextError>(())
/// ```
pub fn hashing_trick_md5(text: &str, n: i64, filters: &str, lower: bool, split: &str) -> Result<Vec<i64>, TextError> {
    text_to_word_sequence(text, filters, lower, split)?
        .iter()
        .map(|w| md5_bucket(w, n))
        .collect()
}
