//! A token as the tokenizer's hot loops see it: its text and its first 16 bytes as two words.
//!
//! Hashing a short key and comparing it with a table slot both use those two words. Read from a
//! working copy of the text that ends in [`WINDOW`] zero bytes, they are two loads and a mask
//! whatever the token's length; measured on the bench corpus, the per-length branches of
//! assembling them from the token alone (lengths vary at random, so the branches mispredict) cost
//! more than the splitting itself.

/// Bytes read at a token's start: the words of [`Token::head`].
pub(crate) const WINDOW: usize = 16;

/// One token and its first [`WINDOW`] bytes, zero past its end.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token<'a> {
    text: &'a str,
    head: [u64; 2],
}

impl<'a> Token<'a> {
    /// `text` with its head copied out (any source; the slower path).
    pub(crate) fn new(text: &'a str) -> Self {
        let mut window = [0u8; WINDOW];
        let n = text.len().min(WINDOW);
        window[..n].copy_from_slice(&text.as_bytes()[..n]);
        Self::in_window(text, &window)
    }

    /// `text`, whose bytes start `window`: `window` holds at least [`WINDOW`] bytes (those past
    /// the token are masked off).
    #[inline]
    pub(crate) fn in_window(text: &'a str, window: &[u8]) -> Self {
        let word = |at: usize| u64::from_le_bytes(window[at..at + 8].try_into().expect("8 bytes"));
        // Keep the token's bytes of each word: all 8, some, or none (a shift of 64 or more
        // keeps none).
        let bits = 8 * text.len().min(WINDOW) as u32;
        let keep = |bits: u32| u64::MAX.checked_shr(64u32.saturating_sub(bits)).unwrap_or(0);
        let head = [word(0) & keep(bits), word(8) & keep(bits.saturating_sub(64))];
        Self { text, head }
    }

    pub(crate) fn as_str(&self) -> &'a str {
        self.text
    }

    /// The first [`WINDOW`] bytes, little-endian, zero past the end of the token.
    #[inline]
    pub(crate) fn head(&self) -> [u64; 2] {
        self.head
    }
}

/// A reusable working copy of one text, followed by [`WINDOW`] zero bytes so that every token in
/// it can be read as a [`Token::in_window`].
#[derive(Debug, Default)]
pub(crate) struct PaddedText {
    buf: String,
    len: usize,
}

impl PaddedText {
    /// Replaces the contents with what `write` puts in the (cleared) buffer.
    #[inline]
    pub(crate) fn fill(&mut self, write: impl FnOnce(&mut String)) -> &str {
        self.buf.clear();
        write(&mut self.buf);
        self.len = self.buf.len();
        self.buf.push_str("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        &self.buf[..self.len]
    }

    /// The text last filled in (without the padding).
    pub(crate) fn text(&self) -> &str {
        &self.buf[..self.len]
    }

    /// The token at `start..end` of [`Self::text`] (on character boundaries).
    #[inline]
    pub(crate) fn token(&self, start: usize, end: usize) -> Token<'_> {
        Token::in_window(&self.buf[start..end], &self.buf.as_bytes()[start..start + WINDOW])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_agree_whichever_way_a_token_is_made() {
        let text = "a bb ccc 12345678 123456789 가나다라마바 0123456789abcdef 0123456789abcdefg";
        let mut padded = PaddedText::default();
        padded.fill(|b| b.push_str(text));
        let mut start = 0;
        for piece in text.split(' ') {
            let from_buffer = padded.token(start, start + piece.len());
            let copied = Token::new(piece);
            assert_eq!(from_buffer.as_str(), piece);
            assert_eq!(from_buffer.head(), copied.head(), "{piece}");
            // Zero past the end of the token: the next bytes of the text do not leak in.
            let mut expected = [0u8; WINDOW];
            let n = piece.len().min(WINDOW);
            expected[..n].copy_from_slice(&piece.as_bytes()[..n]);
            let words = [
                u64::from_le_bytes(expected[..8].try_into().unwrap()),
                u64::from_le_bytes(expected[8..].try_into().unwrap()),
            ];
            assert_eq!(copied.head(), words, "{piece}");
            start += piece.len() + 1;
        }
        assert_eq!(Token::new("").head(), [0, 0]);
    }
}
