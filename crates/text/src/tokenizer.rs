//! Keras's `Tokenizer`.

use std::sync::OnceLock;

use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};

use crate::split::{AsciiBreaks, FilterSet, graphemes, keras_split, python_lower_into, unicode_words};
use crate::token::{PaddedText, Token};
use crate::vocab::VocabTable;
use crate::{AsText, DEFAULT_FILTERS, SplitMode, TextError, TextRef, WordId};

pub(crate) type FxIndexMap<K, V> = IndexMap<K, V, FxBuildHasher>;

/// The tokenizer's constructor arguments. [`Default`] is Keras's `Tokenizer()`.
///
/// ```
/// use rnnlab_text::TokenizerConfig;
/// let config = TokenizerConfig::default().num_words(4).oov_token("<OOV>");
/// assert_eq!(config.split, " ");
/// assert!(config.lower);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenizerConfig {
    /// Keep only indices `1..num_words` when converting (`None` or `Some(0)`: keep all). Default `None`.
    pub num_words: Option<usize>,
    /// Characters removed (replaced by `split`). Default [`DEFAULT_FILTERS`].
    pub filters: String,
    /// Lowercase with Python's `str.lower`. Default `true`.
    pub lower: bool,
    /// The separator (any non-empty string). Default `" "`.
    pub split: String,
    /// Every code point is a token (filters and split ignored). Default `false`.
    pub char_level: bool,
    /// Token for out-of-vocabulary words, given index 1. Default `None`.
    pub oov_token: Option<String>,
    /// rnnlab extension: how string texts are split. Default [`SplitMode::Keras`] (exact).
    pub split_mode: SplitMode,
    /// rnnlab extension: with `num_words`, also drop words with index `>= num_words` from
    /// `word_index` / `index_word` (Keras keeps them). Default `false`.
    pub trim_vocabulary: bool,
}

impl Default for TokenizerConfig {
    fn default() -> Self {
        Self {
            num_words: None,
            filters: DEFAULT_FILTERS.to_string(),
            lower: true,
            split: " ".to_string(),
            char_level: false,
            oov_token: None,
            split_mode: SplitMode::Keras,
            trim_vocabulary: false,
        }
    }
}

impl TokenizerConfig {
    /// Sets `num_words`.
    #[must_use]
    pub fn num_words(mut self, n: usize) -> Self {
        self.num_words = Some(n);
        self
    }
    /// Sets `filters`.
    #[must_use]
    pub fn filters(mut self, f: impl Into<String>) -> Self {
        self.filters = f.into();
        self
    }
    /// Sets `lower`.
    #[must_use]
    pub fn lower(mut self, yes: bool) -> Self {
        self.lower = yes;
        self
    }
    /// Sets `split`.
    #[must_use]
    pub fn split(mut self, s: impl Into<String>) -> Self {
        self.split = s.into();
        self
    }
    /// Sets `char_level`.
    #[must_use]
    pub fn char_level(mut self, yes: bool) -> Self {
        self.char_level = yes;
        self
    }
    /// Sets `oov_token`.
    #[must_use]
    pub fn oov_token(mut self, t: impl Into<String>) -> Self {
        self.oov_token = Some(t.into());
        self
    }
    /// Sets the split mode (rnnlab extension).
    #[must_use]
    pub fn split_mode(mut self, m: SplitMode) -> Self {
        self.split_mode = m;
        self
    }
    /// Trims the visible vocabulary to `num_words` (rnnlab extension).
    #[must_use]
    pub fn trim_vocabulary(mut self, yes: bool) -> Self {
        self.trim_vocabulary = yes;
        self
    }
    /// Builds the tokenizer.
    pub fn build(self) -> Tokenizer {
        Tokenizer::new(self)
    }
}

/// Counts of one vocabulary word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct WordStats {
    /// Occurrences (`word_counts`).
    pub(crate) count: u64,
    /// Documents containing it (`word_docs`).
    pub(crate) docs: u64,
}

/// What [`Tokenizer::count_block`] found in one block of texts.
struct BlockCounts {
    /// Words in first-seen order within the block; `stats[id]` belongs to word `id`.
    words: VocabTable,
    stats: Vec<(WordStats, u64)>,
    /// Texts counted (including one that failed).
    texts: u64,
    result: Result<(), TextError>,
}

/// How `texts_to_matrix` / `sequences_to_matrix` fill a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatrixMode {
    /// 1 where the word occurs.
    Binary,
    /// Occurrences.
    Count,
    /// Occurrences divided by the sequence length.
    Freq,
    /// `(1 + ln c) · ln(1 + documents / (1 + documents containing the word))`.
    Tfidf,
}

impl std::str::FromStr for MatrixMode {
    type Err = TextError;
    fn from_str(s: &str) -> Result<Self, TextError> {
        match s {
            "binary" => Ok(Self::Binary),
            "count" => Ok(Self::Count),
            "freq" => Ok(Self::Freq),
            "tfidf" => Ok(Self::Tfidf),
            other => Err(TextError::UnknownMode(other.to_string())),
        }
    }
}

/// A dense row-major `f64` matrix (`texts_to_matrix` output).
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    /// Rows (one per text).
    pub rows: usize,
    /// Columns (the vocabulary width).
    pub cols: usize,
    /// Values, row-major.
    pub data: Vec<f64>,
}

impl Matrix {
    /// One cell.
    ///
    /// # Panics
    /// If out of bounds.
    pub fn get(&self, row: usize, col: usize) -> f64 {
        assert!(row < self.rows && col < self.cols, "({row}, {col}) out of bounds");
        self.data[row * self.cols + col]
    }
    /// One row.
    ///
    /// # Panics
    /// If out of bounds.
    pub fn row(&self, row: usize) -> &[f64] {
        &self.data[row * self.cols..(row + 1) * self.cols]
    }
}

/// Keras's `Tokenizer`: builds a vocabulary ranked by frequency and maps texts to index
/// sequences, matrices and back, with outputs identical to keras-preprocessing 1.1.2.
///
/// ```
/// use rnnlab_text::{Tokenizer, TokenizerConfig};
/// let mut tok = Tokenizer::new(TokenizerConfig::default().oov_token("<OOV>"));
/// tok.fit_on_texts(["the cat sat", "the dog"])?;
/// assert_eq!(tok.index_of("<OOV>"), Some(1));
/// assert_eq!(tok.index_of("the"), Some(2));
/// assert_eq!(tok.texts_to_sequences(["the bird sat"])?, vec![vec![2, 1, 4]]);
/// assert_eq!(tok.sequences_to_texts(&[vec![2u32, 5]])?, ["the dog"]);
/// # Ok::<(), rnnlab_text::TextError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Tokenizer {
    pub(crate) config: TokenizerConfig,
    filter_set: FilterSet,
    /// The byte table of the common split (one ASCII separator, ASCII filters).
    ascii_breaks: Option<AsciiBreaks>,
    pub(crate) document_count: u64,
    /// `word_counts` in first-seen order, with `word_docs` alongside.
    pub(crate) words: FxIndexMap<String, WordStats>,
    pub(crate) index_docs: FxIndexMap<i64, u64>,
    pub(crate) word_index: FxIndexMap<String, u32>,
    pub(crate) index_word: FxIndexMap<u32, String>,
    /// `word_index` as a [`VocabTable`] for encoding, built on first use.
    encode_index: EncodeIndex,
}

/// `word_index` as the table encoding reads (each word's index is its value). Derived data:
/// equal for any two tokenizers (it follows `word_index`), cleared whenever that changes.
#[derive(Clone, Default)]
struct EncodeIndex(OnceLock<VocabTable>);

impl EncodeIndex {
    fn get(&self, word_index: &FxIndexMap<String, u32>) -> &VocabTable {
        self.0.get_or_init(|| {
            let mut table = VocabTable::default();
            for (w, &i) in word_index {
                table.insert_value(w, i);
            }
            table
        })
    }
}

impl PartialEq for EncodeIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for EncodeIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncodeIndex")
    }
}

impl Default for Tokenizer {
    fn default() -> Self {
        Self::new(TokenizerConfig::default())
    }
}

impl Tokenizer {
    /// An unfitted tokenizer.
    pub fn new(config: TokenizerConfig) -> Self {
        let filter_set = FilterSet::new(&config.filters);
        Self {
            ascii_breaks: AsciiBreaks::new(&filter_set, &config.split),
            filter_set,
            config,
            document_count: 0,
            words: FxIndexMap::default(),
            index_docs: FxIndexMap::default(),
            word_index: FxIndexMap::default(),
            index_word: FxIndexMap::default(),
            encode_index: EncodeIndex::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TokenizerConfig {
        &self.config
    }

    /// Texts (and sequences) fitted so far.
    pub fn document_count(&self) -> u64 {
        self.document_count
    }

    /// `word_counts`: every word with its number of occurrences, in first-seen order.
    pub fn word_counts(&self) -> impl ExactSizeIterator<Item = (&str, u64)> {
        self.words.iter().map(|(w, s)| (w.as_str(), s.count))
    }

    /// `word_docs`: every word with the number of texts containing it.
    pub fn word_docs(&self) -> impl ExactSizeIterator<Item = (&str, u64)> {
        self.words.iter().map(|(w, s)| (w.as_str(), s.docs))
    }

    /// `index_docs`: word index → number of texts (or sequences) containing it.
    pub fn index_docs(&self) -> impl ExactSizeIterator<Item = (i64, u64)> + '_ {
        self.index_docs.iter().map(|(&i, &d)| (i, d))
    }

    /// `word_index` in Keras's order: the oov token first, then by descending count.
    pub fn word_index(&self) -> impl ExactSizeIterator<Item = (&str, u32)> {
        self.word_index.iter().map(|(w, &i)| (w.as_str(), i))
    }

    /// `index_word`, the inverse of `word_index`, in the same order.
    pub fn index_word(&self) -> impl ExactSizeIterator<Item = (u32, &str)> {
        self.index_word.iter().map(|(&i, w)| (i, w.as_str()))
    }

    /// `word_index[word]`.
    pub fn index_of(&self, word: &str) -> Option<u32> {
        self.word_index.get(word).copied()
    }

    /// `index_word[index]`.
    pub fn word_at(&self, index: u32) -> Option<&str> {
        self.index_word.get(&index).map(String::as_str)
    }

    /// Keras's truthiness of `num_words`: `Some(0)` means no limit.
    fn limit(&self) -> Option<u32> {
        self.config
            .num_words
            .filter(|&n| n > 0)
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn oov_index(&self) -> Option<u32> {
        self.config.oov_token.as_deref().and_then(|t| self.index_of(t))
    }

    /// Calls `emit` with each token of `text`, exactly as Keras tokenizes it. `buf` is reused
    /// working space.
    pub(crate) fn for_each_token(
        &self,
        text: TextRef<'_>,
        buf: &mut PaddedText,
        mut emit: impl FnMut(Token<'_>),
    ) -> Result<(), TextError> {
        let c = &self.config;
        match text {
            TextRef::Tokens(tokens) => {
                for t in tokens {
                    if c.lower {
                        emit(Token::new(buf.fill(|b| python_lower_into(t, b))));
                    } else {
                        emit(Token::new(t));
                    }
                }
                Ok(())
            }
            TextRef::Raw(s) => {
                if let (SplitMode::Keras, false, Some(breaks)) = (c.split_mode, c.char_level, &self.ascii_breaks) {
                    // The common case: split a padded working copy, whose tokens are read in one go.
                    if c.lower {
                        buf.fill(|b| python_lower_into(s, b));
                    } else {
                        buf.fill(|b| b.push_str(s));
                    }
                    breaks.split(buf, emit);
                    return Ok(());
                }
                let s = if c.lower {
                    buf.fill(|b| python_lower_into(s, b))
                } else {
                    s
                };
                let mut emit_str = |t: &str| emit(Token::new(t));
                match c.split_mode {
                    SplitMode::Keras if c.char_level => {
                        for (i, ch) in s.char_indices() {
                            emit_str(&s[i..i + ch.len_utf8()]);
                        }
                        Ok(())
                    }
                    SplitMode::Keras => keras_split(s, &self.filter_set, &c.split, emit_str),
                    SplitMode::UnicodeWords => {
                        unicode_words(s, &self.filter_set, emit_str);
                        Ok(())
                    }
                    SplitMode::Graphemes => {
                        graphemes(s, emit_str);
                        Ok(())
                    }
                }
            }
        }
    }

    /// The tokens of one text (lowered, filtered and split as the configuration says).
    ///
    /// ```
    /// let tok = rnnlab_text::Tokenizer::default();
    /// assert_eq!(tok.tokenize("Hi, there!")?, ["hi", "there"]);
    /// # Ok::<(), rnnlab_text::TextError>(())
    /// ```
    pub fn tokenize<T: AsText + ?Sized>(&self, text: &T) -> Result<Vec<String>, TextError> {
        let mut out = Vec::new();
        self.for_each_token(text.as_text(), &mut PaddedText::default(), |t| {
            out.push(t.as_str().to_string())
        })?;
        Ok(out)
    }

    /// `fit_on_texts`: counts words over any iterator of texts (strings or token lists) without
    /// holding them, then re-ranks the vocabulary. Calls accumulate.
    ///
    /// Texts are taken in blocks; a large block is counted in two halves on two cores and the
    /// halves are merged in order, so counts and first-seen order equal a serial pass.
    ///
    /// On an error (only `split = ""` with a string text) the texts before it stay counted, as in
    /// Keras, but the index is not rebuilt.
    pub fn fit_on_texts<I>(&mut self, texts: I) -> Result<(), TextError>
    where
        I: IntoIterator,
        I::Item: AsText + Send,
    {
        const BLOCK: usize = 65_536;
        const PARALLEL_FROM: usize = 1_024;
        let mut texts = texts.into_iter();
        loop {
            let mut block: Vec<I::Item> = texts.by_ref().take(BLOCK).collect();
            if block.is_empty() {
                break;
            }
            let parts = if block.len() >= PARALLEL_FROM {
                let second = block.split_off(block.len() / 2);
                let this = &*self;
                let (a, b) = rayon::join(move || this.count_block(&block), move || this.count_block(&second));
                vec![a, b]
            } else {
                vec![self.count_block(&block)]
            };
            for part in parts {
                self.document_count += part.texts;
                for (id, (stats, _)) in part.stats.iter().enumerate() {
                    let word = part.words.key(id as u32);
                    match self.words.get_mut(word) {
                        Some(total) => {
                            total.count += stats.count;
                            total.docs += stats.docs;
                        }
                        None => {
                            self.words.insert(word.to_string(), *stats);
                        }
                    }
                }
                part.result?;
            }
        }
        self.rebuild_index();
        Ok(())
    }

    /// Counts one block of texts on its own, stopping at the first error.
    fn count_block<T: AsText>(&self, texts: &[T]) -> BlockCounts {
        let mut buf = PaddedText::default();
        let mut words = VocabTable::default();
        // Counts, with a per-word "last document seen" stamp that gives word_docs without a set
        // per text.
        let mut stats: Vec<(WordStats, u64)> = Vec::new();
        for (n, text) in texts.iter().enumerate() {
            let doc = n as u64 + 1;
            let r = self.for_each_token(text.as_text(), &mut buf, |tok| {
                let (id, inserted) = words.get_or_insert(tok);
                if inserted {
                    stats.push((WordStats::default(), 0));
                }
                // The stamp beside the counts: one cache line per token.
                let (s, stamp) = &mut stats[id as usize];
                s.count += 1;
                if *stamp != doc {
                    *stamp = doc;
                    s.docs += 1;
                }
            });
            if let Err(e) = r {
                return BlockCounts {
                    words,
                    stats,
                    texts: doc,
                    result: Err(e),
                };
            }
        }
        BlockCounts {
            words,
            stats,
            texts: texts.len() as u64,
            result: Ok(()),
        }
    }

    /// Rebuilds `word_index`, `index_word` and `index_docs` from the counts, as Keras does at the
    /// end of every `fit_on_texts`.
    fn rebuild_index(&mut self) {
        self.encode_index = EncodeIndex::default();
        let mut ranked: Vec<usize> = (0..self.words.len()).collect();
        // Stable: ties keep first-seen order.
        ranked.sort_by(|&a, &b| self.words[b].count.cmp(&self.words[a].count));
        self.word_index.clear();
        let first = match &self.config.oov_token {
            Some(oov) => {
                self.word_index.insert(oov.clone(), 1);
                2
            }
            None => 1,
        };
        for (rank, &i) in ranked.iter().enumerate() {
            let (w, _) = self.words.get_index(i).expect("ranked indices are valid");
            // A word equal to the oov token overwrites its index but keeps its first position,
            // like Keras's dict: index 1 is then unused.
            self.word_index.insert(w.clone(), (rank + first) as u32);
        }
        if let (Some(limit), true) = (self.limit(), self.config.trim_vocabulary) {
            self.word_index.retain(|_, i| *i < limit);
        }
        self.index_word = self.word_index.iter().map(|(w, &i)| (i, w.clone())).collect();
        for (w, s) in &self.words {
            if let Some(&i) = self.word_index.get(w) {
                self.index_docs.insert(i64::from(i), s.docs);
            }
        }
    }

    /// `fit_on_sequences`: counts, for each index, the sequences containing it (for tfidf).
    pub fn fit_on_sequences<S, I>(&mut self, sequences: &[S])
    where
        S: AsRef<[I]>,
        I: WordId,
    {
        self.document_count += sequences.len() as u64;
        let mut seen: Vec<i64> = Vec::new();
        for seq in sequences {
            seen.clear();
            seen.extend(seq.as_ref().iter().map(|i| i.to_i64()));
            seen.sort_unstable();
            seen.dedup();
            for &i in &seen {
                *self.index_docs.entry(i).or_insert(0) += 1;
            }
        }
    }

    /// Maps one text to indices, appending to `out`.
    fn encode_into(&self, text: TextRef<'_>, buf: &mut PaddedText, out: &mut Vec<u32>) -> Result<(), TextError> {
        let limit = self.limit();
        let oov = self.oov_index();
        let has_oov = self.config.oov_token.is_some();
        let mut missing_oov = false;
        let table = self.encode_index.get(&self.word_index);
        self.for_each_token(text, buf, |tok| match table.get_value(tok) {
            Some(i) if limit.is_none_or(|n| i < n) => out.push(i),
            _ if has_oov => match oov {
                Some(o) => out.push(o),
                None => missing_oov = true,
            },
            _ => {}
        })?;
        if missing_oov {
            Err(TextError::OovNotIndexed)
        } else {
            Ok(())
        }
    }

    /// One text's indices in a vector of exactly their length (one allocation: the indices are
    /// gathered in the reused `scratch` first).
    fn encode_exact(
        &self,
        text: TextRef<'_>,
        buf: &mut PaddedText,
        scratch: &mut Vec<u32>,
    ) -> Result<Vec<u32>, TextError> {
        scratch.clear();
        self.encode_into(text, buf, scratch)?;
        Ok(scratch.as_slice().to_vec())
    }

    /// `texts_to_sequences`: each text as word indices. Unknown words (and, with `num_words`,
    /// rare ones) become the oov index, or are dropped without an oov token.
    pub fn texts_to_sequences<I>(&self, texts: I) -> Result<Vec<Vec<u32>>, TextError>
    where
        I: IntoIterator,
        I::Item: AsText,
    {
        let (mut buf, mut scratch) = (PaddedText::default(), Vec::new());
        texts
            .into_iter()
            .map(|t| self.encode_exact(t.as_text(), &mut buf, &mut scratch))
            .collect()
    }

    /// [`texts_to_sequences`](Self::texts_to_sequences) on all cores (rayon), same output.
    pub fn texts_to_sequences_par<T: AsText + Sync>(&self, texts: &[T]) -> Result<Vec<Vec<u32>>, TextError> {
        use rayon::prelude::*;
        texts
            .par_iter()
            .map_init(
                || (PaddedText::default(), Vec::new()),
                |(buf, scratch), t| self.encode_exact(t.as_text(), buf, scratch),
            )
            .collect()
    }

    /// `sequences_to_texts`: indices back to words joined by one space. Indices that are
    /// unknown (or `>= num_words`) become the oov token, or are dropped without one.
    pub fn sequences_to_texts<S, I>(&self, sequences: &[S]) -> Result<Vec<String>, TextError>
    where
        S: AsRef<[I]>,
        I: WordId,
    {
        let limit = self.limit().map(i64::from);
        let oov_word = self.oov_index().and_then(|i| self.word_at(i));
        let has_oov = self.config.oov_token.is_some();
        sequences
            .iter()
            .map(|seq| {
                let mut words: Vec<&str> = Vec::with_capacity(seq.as_ref().len());
                for &n in seq.as_ref() {
                    let n = n.to_i64();
                    let word = u32::try_from(n).ok().and_then(|i| self.word_at(i));
                    match word {
                        Some(w) if limit.is_none_or(|l| n < l) => words.push(w),
                        _ if has_oov => words.push(oov_word.ok_or(TextError::OovNotIndexed)?),
                        _ => {}
                    }
                }
                Ok(words.join(" "))
            })
            .collect()
    }

    /// The matrix width: `num_words`, else the vocabulary size + 1.
    fn matrix_width(&self) -> Result<usize, TextError> {
        match self.limit() {
            Some(n) => Ok(n as usize),
            None if !self.word_index.is_empty() => Ok(self.word_index.len() + 1),
            None => Err(TextError::NoDimension),
        }
    }

    /// `sequences_to_matrix`: one row per sequence, one column per index below the width
    /// (`num_words`, else vocabulary size + 1); larger indices are skipped.
    pub fn sequences_to_matrix<S, I>(&self, sequences: &[S], mode: MatrixMode) -> Result<Matrix, TextError>
    where
        S: AsRef<[I]>,
        I: WordId,
    {
        let cols = self.matrix_width()?;
        if mode == MatrixMode::Tfidf && self.document_count == 0 {
            return Err(TextError::TfidfNotFitted);
        }
        let rows = sequences.len();
        let mut data = vec![0.0f64; crate::checked_elements("matrix", &[rows, cols])?];
        let mut touched: Vec<usize> = Vec::new();
        for (r, seq) in sequences.iter().enumerate() {
            let seq = seq.as_ref();
            let row = &mut data[r * cols..(r + 1) * cols];
            touched.clear();
            for &j in seq {
                let j = j.to_i64();
                if j < 0 {
                    return Err(TextError::NegativeIndex(j));
                }
                let j = j as u64;
                if j >= cols as u64 {
                    continue;
                }
                let j = j as usize;
                if row[j] == 0.0 {
                    touched.push(j);
                }
                row[j] += 1.0;
            }
            for &j in &touched {
                let c = row[j];
                row[j] = match mode {
                    MatrixMode::Count => c,
                    MatrixMode::Binary => 1.0,
                    MatrixMode::Freq => c / seq.len() as f64,
                    MatrixMode::Tfidf => {
                        let df = self.index_docs.get(&(j as i64)).copied().unwrap_or(0);
                        let idf = (1.0 + self.document_count as f64 / (1.0 + df as f64)).ln();
                        (1.0 + c.ln()) * idf
                    }
                };
            }
        }
        Ok(Matrix { rows, cols, data })
    }

    /// `texts_to_matrix`: [`texts_to_sequences`](Self::texts_to_sequences) then
    /// [`sequences_to_matrix`](Self::sequences_to_matrix).
    ///
    /// ```
    /// use rnnlab_text::{MatrixMode, Tokenizer};
    /// let mut tok = Tokenizer::default();
    /// tok.fit_on_texts(["a a b", "b c"])?;
    /// let m = tok.texts_to_matrix(["a a c"], MatrixMode::Count)?;
    /// assert_eq!(m.row(0), &[0.0, 2.0, 0.0, 1.0]); // columns: -, a(1)… b and a tie: a first
    /// # Ok::<(), rnnlab_text::TextError>(())
    /// ```
    pub fn texts_to_matrix<I>(&self, texts: I, mode: MatrixMode) -> Result<Matrix, TextError>
    where
        I: IntoIterator,
        I::Item: AsText,
    {
        let seqs = self.texts_to_sequences(texts)?;
        self.sequences_to_matrix(&seqs, mode)
    }
}
