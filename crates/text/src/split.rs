//! Turning a text into tokens: Keras's `text_to_word_sequence` and the opt-in Unicode splitters.

use unicode_segmentation::UnicodeSegmentation;

use crate::TextError;
use crate::token::{PaddedText, Token};

/// Keras's default `filters`: ``!"#$%&()*+,-./:;<=>?@[\]^_`{|}~`` plus tab and newline.
pub const DEFAULT_FILTERS: &str = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";

/// A set of filter code points, fast for ASCII.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FilterSet {
    ascii: [bool; 128],
    other: Vec<char>,
}

impl FilterSet {
    pub(crate) fn new(filters: &str) -> Self {
        let mut ascii = [false; 128];
        let mut other: Vec<char> = Vec::new();
        for c in filters.chars() {
            if c.is_ascii() {
                ascii[c as usize] = true;
            } else {
                other.push(c);
            }
        }
        other.sort_unstable();
        other.dedup();
        Self { ascii, other }
    }

    #[inline]
    pub(crate) fn contains(&self, c: char) -> bool {
        if c.is_ascii() {
            self.ascii[c as usize]
        } else {
            self.other.binary_search(&c).is_ok()
        }
    }
}

/// The break bytes of a Keras split whose separator is one ASCII character and whose filters
/// are all ASCII (the default): every such byte ends a token, and no other byte does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AsciiBreaks {
    table: [bool; 256],
    /// The same set by nibbles, for the vector path: bit `h` of `by_low_nibble[l]` is set when
    /// byte `h << 4 | l` (`h < 8`: ASCII) is a break.
    by_low_nibble: [u8; 16],
    /// Whether [`Self::mask`] takes the vector kernel: SSSE3's byte shuffle, on every x86-64 CPU
    /// since 2006 (checked once here). Other CPUs take the table loop.
    ssse3: bool,
}

impl AsciiBreaks {
    /// The table for `filters` and `split`, when the split is that simple.
    pub(crate) fn new(filters: &FilterSet, split: &str) -> Option<Self> {
        let mut chars = split.chars();
        match (chars.next(), chars.next()) {
            (Some(sep), None) if sep.is_ascii() && filters.other.is_empty() => {
                let mut table = [false; 256];
                table[..128].copy_from_slice(&filters.ascii);
                table[sep as usize] = true;
                let mut by_low_nibble = [0u8; 16];
                for b in (0..128).filter(|&b| table[b]) {
                    by_low_nibble[b & 15] |= 1 << (b >> 4);
                }
                #[cfg(target_arch = "x86_64")]
                let ssse3 = std::is_x86_feature_detected!("ssse3");
                #[cfg(not(target_arch = "x86_64"))]
                let ssse3 = false;
                Some(Self {
                    table,
                    by_low_nibble,
                    ssse3,
                })
            }
            _ => None,
        }
    }

    /// Calls `emit` with each non-empty piece of `padded`'s text between break bytes: the same
    /// tokens as [`keras_split`]. Finds the breaks of 64 bytes at a time as a bit mask (no branch
    /// per byte), then walks the set bits.
    pub(crate) fn split<'a>(&self, padded: &'a PaddedText, mut emit: impl FnMut(Token<'a>)) {
        let bytes = padded.text().as_bytes();
        let mut start = 0;
        let chunks = bytes.chunks_exact(64);
        let mut tail = [0u8; 64];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        // The tail is padded with zero bytes; bits past the text are cleared.
        let tail_mask = self.mask(&tail) & ((1u64 << rest.len()) - 1);
        let masks = chunks.map(|c| self.mask(c.try_into().expect("64 bytes")));
        for (c, mut mask) in masks.chain(std::iter::once(tail_mask)).enumerate() {
            while mask != 0 {
                // Break bytes are ASCII, so every cut is on a character boundary.
                let i = c * 64 + mask.trailing_zeros() as usize;
                if i > start {
                    emit(padded.token(start, i));
                }
                start = i + 1;
                mask &= mask - 1;
            }
        }
        if bytes.len() > start {
            emit(padded.token(start, bytes.len()));
        }
    }

    /// Bit `i` set when `chunk[i]` is a break byte.
    #[inline]
    fn mask(&self, chunk: &[u8; 64]) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if self.ssse3 {
            // SAFETY: `ssse3` is set only when the CPU has SSSE3 (see `new`).
            return unsafe { mask_ssse3(&self.by_low_nibble, chunk) };
        }
        chunk
            .iter()
            .enumerate()
            .fold(0u64, |m, (i, &b)| m | (u64::from(self.table[b as usize]) << i))
    }
}

/// [`AsciiBreaks::mask`] 16 bytes at a time: two table lookups by shuffle (the byte's row of
/// breaks by its low nibble, the bit of its high nibble; bytes of 0x80 and above get no bit) and
/// a test of their AND.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
fn mask_ssse3(by_low_nibble: &[u8; 16], chunk: &[u8; 64]) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8, _mm_setr_epi8,
        _mm_setzero_si128, _mm_shuffle_epi8, _mm_srli_epi16,
    };
    // SAFETY: both loads read 16 bytes inside their arrays (`chunk` has 64; the offsets are at
    // most 48), unaligned loads are allowed for any address.
    unsafe {
        let rows = _mm_loadu_si128(by_low_nibble.as_ptr().cast::<__m128i>());
        let high_bit = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 0, 0, 0, 0, 0, 0, 0, 0);
        let nibble = _mm_set1_epi8(0x0F);
        let mut mask = 0u64;
        for q in 0..4 {
            let v = _mm_loadu_si128(chunk.as_ptr().add(16 * q).cast::<__m128i>());
            let row = _mm_shuffle_epi8(rows, _mm_and_si128(v, nibble));
            let bit = _mm_shuffle_epi8(high_bit, _mm_and_si128(_mm_srli_epi16(v, 4), nibble));
            let no_break = _mm_cmpeq_epi8(_mm_and_si128(row, bit), _mm_setzero_si128());
            let breaks = !(_mm_movemask_epi8(no_break) as u32) & 0xFFFF;
            mask |= u64::from(breaks) << (16 * q);
        }
        mask
    }
}

/// Python's `str.lower()`: full Unicode lowercasing with the context-dependent final sigma.
///
/// ```
/// assert_eq!(rnnlab_text::python_lower("ΟΔΟΣ ΟΔΟΣ.ΑΒ"), "οδος οδοσ.αβ");
/// assert_eq!(rnnlab_text::python_lower("İ").chars().count(), 2);
/// assert_eq!(rnnlab_text::python_lower("나는 Rust를"), "나는 rust를");
/// ```
pub fn python_lower(text: &str) -> String {
    let mut out = String::new();
    python_lower_into(text, &mut out);
    out
}

/// Code points with no case mapping that are common in this crate's users' text (Hangul, kana,
/// CJK ideographs and punctuation): lowering can copy them without the Unicode tables.
#[inline]
fn is_caseless_fast(c: char) -> bool {
    matches!(c as u32, 0x1100..=0x11FF | 0x3000..=0x30FF | 0x3130..=0x318F | 0x4E00..=0x9FFF | 0xAC00..=0xD7A3)
}

/// Whether lowering `text` only needs ASCII lowercasing: every non-ASCII code point is one of
/// the caseless blocks above. Scans bytes; 3-byte sequences led by 0xE4–0xE9 (U+4000–U+9FFF, CJK)
/// or 0xEB–0xED (U+B000–U+DFFF, Hangul) are skipped without decoding.
fn only_ascii_case(text: &str) -> bool {
    screen_caseless(text.as_bytes()) || only_ascii_case_exact(text.as_bytes(), text)
}

/// The fast screen of [`only_ascii_case`], branch-free over fixed blocks of 64 (byte, next byte)
/// pairs so that it vectorizes whole (the text's last, partial block is copied into a zero-padded
/// one: zero is ASCII): every byte is ASCII, a continuation byte, or a lead byte of
/// U+4000–U+9FFF / U+B000–U+DFFF, or 0xEA followed by 0xB0–0xBF (U+AC00–U+AFFF, the first Hangul
/// syllables; the rest of 0xEA's block has cased letters). All of those are caseless. `false`
/// sends the text to the exact scan.
fn screen_caseless(bytes: &[u8]) -> bool {
    const BLOCK: usize = 64;
    let lead_ok = |b: u8| (b < 0xC0) | (b.wrapping_sub(0xE4) <= 0xED - 0xE4);
    let pair_ok = |a: u8, next: u8| (a != 0xEA) | (next >= 0xB0);
    let block_ok = |a: &[u8; BLOCK], next: &[u8; BLOCK]| {
        a.iter()
            .zip(next)
            .fold(true, |ok, (&a, &next)| ok & lead_ok(a) & pair_ok(a, next))
    };
    let mut at = 0;
    while at + BLOCK < bytes.len() {
        let (a, next) = (&bytes[at..at + BLOCK], &bytes[at + 1..at + BLOCK + 1]);
        if !block_ok(a.try_into().expect("a block"), next.try_into().expect("a block")) {
            return false;
        }
        at += BLOCK;
    }
    let mut last = [0u8; BLOCK + 1];
    last[..bytes.len() - at].copy_from_slice(&bytes[at..]);
    block_ok(
        last[..BLOCK].try_into().expect("a block"),
        last[1..].try_into().expect("a block"),
    )
}

/// [`only_ascii_case`] character by character (the caseless blocks with other lead bytes).
fn only_ascii_case_exact(bytes: &[u8], text: &str) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        // Skip ASCII eight bytes at a time.
        if let Some(chunk) = bytes.get(i..i + 8) {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            if word & 0x8080_8080_8080_8080 == 0 {
                i += 8;
                continue;
            }
        }
        match bytes[i] {
            0x00..=0x7F => i += 1,
            0xE4..=0xE9 | 0xEB..=0xED => i += 3,
            0xEA if bytes[i + 1] >= 0xB0 => i += 3,
            _ => match text[i..].chars().next() {
                Some(c) if is_caseless_fast(c) => i += c.len_utf8(),
                _ => return false,
            },
        }
    }
    true
}

/// [`python_lower`] into a reused buffer.
pub(crate) fn python_lower_into(text: &str, out: &mut String) {
    out.clear();
    if only_ascii_case(text) {
        out.push_str(text);
        out.make_ascii_lowercase();
    } else {
        // Anything else goes through std, which applies the final-sigma rule over the whole
        // text exactly as Python does.
        out.push_str(&text.to_lowercase());
    }
}

/// Splits `text` as Keras does after lowering: every filter character becomes the `split` string
/// (one pass, like `str.translate`), the result is split on `split`, empty pieces are dropped.
/// Calls `emit` for each token.
pub(crate) fn keras_split(
    text: &str,
    filters: &FilterSet,
    split: &str,
    mut emit: impl FnMut(&str),
) -> Result<(), TextError> {
    let mut sep_chars = split.chars();
    match (sep_chars.next(), sep_chars.next()) {
        (None, _) => Err(TextError::EmptySeparator),
        // One-character separator: a filter character and the separator split alike, so one pass
        // over the text with no intermediate string gives the same tokens.
        // ASCII separator and ASCII filters: scan bytes; UTF-8 continuation and lead bytes are
        // >= 0x80 and never match.
        (Some(sep), None) if sep.is_ascii() && filters.other.is_empty() => {
            let bytes = text.as_bytes();
            let sep = sep as u8;
            let mut start = 0;
            for (i, &b) in bytes.iter().enumerate() {
                if b < 0x80 && (b == sep || filters.ascii[b as usize]) {
                    if i > start {
                        emit(&text[start..i]);
                    }
                    start = i + 1;
                }
            }
            if bytes.len() > start {
                emit(&text[start..]);
            }
            Ok(())
        }
        (Some(sep), None) => {
            let mut start = 0;
            for (i, c) in text.char_indices() {
                if c == sep || filters.contains(c) {
                    if i > start {
                        emit(&text[start..i]);
                    }
                    start = i + c.len_utf8();
                }
            }
            if text.len() > start {
                emit(&text[start..]);
            }
            Ok(())
        }
        // Longer separators: materialise the translated text, because an inserted separator can
        // overlap a neighbouring one (split "aa": "xa!" becomes "xaaa" and splits as "x", "a").
        _ => {
            let mut translated = String::with_capacity(text.len());
            for c in text.chars() {
                if filters.contains(c) {
                    translated.push_str(split);
                } else {
                    translated.push(c);
                }
            }
            translated.split(split).filter(|t| !t.is_empty()).for_each(emit);
            Ok(())
        }
    }
}

/// Keras's `text_to_word_sequence(text, filters, lower, split)`.
///
/// ```
/// use rnnlab_text::{text_to_word_sequence, DEFAULT_FILTERS};
/// let words = text_to_word_sequence("Hello, World! It's me.", DEFAULT_FILTERS, true, " ")?;
/// assert_eq!(words, ["hello", "world", "it's", "me"]);
/// // A multi-character split string; filtered characters become the separator first.
/// assert_eq!(text_to_word_sequence("one!two<>three", DEFAULT_FILTERS, true, "<>")?, ["one", "two", "three"]);
/// # Ok::<(), rnnlab_text::TextError>(())
/// ```
pub fn text_to_word_sequence(text: &str, filters: &str, lower: bool, split: &str) -> Result<Vec<String>, TextError> {
    let lowered;
    let text = if lower {
        lowered = python_lower(text);
        lowered.as_str()
    } else {
        text
    };
    let mut out = Vec::new();
    keras_split(text, &FilterSet::new(filters), split, |t| out.push(t.to_string()))?;
    Ok(out)
}

/// How a tokenizer turns a string text into tokens.
///
/// [`SplitMode::Keras`] is the default and is exact; the others are rnnlab extensions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitMode {
    /// Keras: filters become the `split` string, then split on it (or code points when `char_level`).
    #[default]
    Keras,
    /// Unicode word boundaries (UAX #29) after lowering; `filters` still removes characters.
    /// Punctuation-only segments are dropped. Good for text without spaces between all words.
    UnicodeWords,
    /// Character level by extended grapheme cluster (a ZWJ emoji or a decomposed Hangul syllable
    /// is one token) instead of Keras's code points.
    Graphemes,
}

pub(crate) fn unicode_words(text: &str, filters: &FilterSet, mut emit: impl FnMut(&str)) {
    for w in text.unicode_words() {
        if w.chars().any(|c| filters.contains(c)) {
            let kept: String = w.chars().filter(|&c| !filters.contains(c)).collect();
            if !kept.is_empty() {
                emit(&kept);
            }
        } else {
            emit(w);
        }
    }
}

pub(crate) fn graphemes(text: &str, emit: impl FnMut(&str)) {
    text.graphemes(true).for_each(emit);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_lowering_agrees_with_std() {
        for t in [
            "Hello 세계",
            "ÀB",
            "ΣΑΣ",
            "中文ABC",
            "ꙀA",
            "가힣\u{d7b0}Z",
            "ǅ",
            "\u{a000}A",
            "\u{a722}A",
            "\u{ac00}\u{afff}A",
        ] {
            assert_eq!(python_lower(t), t.to_lowercase(), "{t}");
        }
    }

    #[test]
    fn fast_lowering_agrees_with_std_for_every_code_point() {
        // Each code point between ASCII letters, so a wrong fast-path screen shows either way.
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let t = format!("A{c}Z");
            assert_eq!(python_lower(&t), t.to_lowercase(), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn fast_lowering_finds_a_cased_character_anywhere_in_a_long_text() {
        // The screen reads 64-byte blocks and each byte's successor: a cased character (two- or
        // three-byte, one led by 0xEA) at every offset of a text spanning several blocks,
        // between caseless ASCII, Hangul and CJK.
        let filler = "ab 가나 中文 Q";
        for cased in ["À", "Σ", "\u{a640}", "\u{a722}"] {
            for at in 0..filler.len() * 12 {
                let base: String = filler.repeat(12);
                let Some(at) = (at..base.len()).find(|&i| base.is_char_boundary(i)) else {
                    continue;
                };
                let text = format!("{}{cased}{}", &base[..at], &base[at..]);
                assert_eq!(python_lower(&text), text.to_lowercase(), "{cased} at byte {at}");
            }
        }
    }

    #[test]
    fn overlapping_multichar_separator_matches_python() {
        // Python: "xa!".translate({ord('!'): 'aa'}) == "xaaa"; "xaaa".split("aa") == ['x', 'a']
        let f = FilterSet::new("!");
        let mut got = Vec::new();
        keras_split("xa!", &f, "aa", |t| got.push(t.to_string())).unwrap();
        assert_eq!(got, ["x", "a"]);
    }

    #[test]
    fn single_char_fast_path_keeps_unfiltered_whitespace() {
        let f = FilterSet::new(DEFAULT_FILTERS);
        let mut got = Vec::new();
        keras_split("a\u{a0}b  c\rd", &f, " ", |t| got.push(t.to_string())).unwrap();
        assert_eq!(got, ["a\u{a0}b", "c\rd"]);
    }

    proptest::proptest! {
        #[test]
        fn ascii_break_table_splits_like_keras_split(
            text in "[a-c !.,\n가é\u{0}]{0,150}",
            filters in "[!., a\u{0}]{0,4}",
            sep in "[ a.]",
        ) {
            let f = FilterSet::new(&filters);
            let breaks = AsciiBreaks::new(&f, &sep).expect("ASCII filters and separator");
            let (mut want, mut got) = (Vec::new(), Vec::new());
            keras_split(&text, &f, &sep, |t| want.push(t.to_string())).unwrap();
            let mut padded = PaddedText::default();
            padded.fill(|b| b.push_str(&text));
            breaks.split(&padded, |t| got.push(t.as_str().to_string()));
            proptest::prop_assert_eq!(got, want);
        }
    }

    proptest::proptest! {
        #[test]
        fn vector_and_table_masks_agree(
            chunk in proptest::array::uniform32(proptest::num::u8::ANY),
            more in proptest::array::uniform32(proptest::num::u8::ANY),
            filters in "[ -~\t\n\u{0}\u{7f}]{0,12}",
            sep in "[ -~]",
        ) {
            let breaks = AsciiBreaks::new(&FilterSet::new(&filters), &sep).expect("ASCII filters and separator");
            let table_only = AsciiBreaks { ssse3: false, ..breaks.clone() };
            let mut bytes = [0u8; 64];
            bytes[..32].copy_from_slice(&chunk);
            bytes[32..].copy_from_slice(&more);
            let want = table_only.mask(&bytes);
            proptest::prop_assert_eq!(breaks.mask(&bytes), want);
            for (i, &b) in bytes.iter().enumerate() {
                proptest::prop_assert_eq!(want >> i & 1 == 1, breaks.table[b as usize]);
            }
        }
    }

    #[test]
    fn no_break_table_for_non_ascii_filters_or_long_separators() {
        assert!(AsciiBreaks::new(&FilterSet::new("!é"), " ").is_none());
        assert!(AsciiBreaks::new(&FilterSet::new("!"), "ab").is_none());
        assert!(AsciiBreaks::new(&FilterSet::new("!"), "가").is_none());
    }
}
