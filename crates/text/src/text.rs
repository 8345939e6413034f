//! What the tokenizer accepts as one text: a string, or a list of already-split tokens.

/// One text as Keras accepts it: a string (lowered, filtered and split) or a list of tokens
/// (lowered only, never filtered or split).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextRef<'a> {
    /// A string to tokenize.
    Raw(&'a str),
    /// Tokens that are already split.
    Tokens(Vec<&'a str>),
}

/// Anything that can be read as one [`TextRef`]: `&str`, `String`, `Vec<String>`, `Vec<&str>`,
/// `[String]`, `[&str]`.
///
/// ```
/// use rnnlab_text::{AsText, TextRef};
/// assert_eq!("a b".as_text(), TextRef::Raw("a b"));
/// assert_eq!(vec!["a b", "c"].as_text(), TextRef::Tokens(vec!["a b", "c"]));
/// ```
pub trait AsText {
    /// Borrows `self` as one text.
    fn as_text(&self) -> TextRef<'_>;
}

impl AsText for str {
    fn as_text(&self) -> TextRef<'_> {
        TextRef::Raw(self)
    }
}

impl AsText for String {
    fn as_text(&self) -> TextRef<'_> {
        TextRef::Raw(self)
    }
}

impl AsText for [String] {
    fn as_text(&self) -> TextRef<'_> {
        TextRef::Tokens(self.iter().map(String::as_str).collect())
    }
}

impl AsText for Vec<String> {
    fn as_text(&self) -> TextRef<'_> {
        self.as_slice().as_text()
    }
}

impl AsText for [&str] {
    fn as_text(&self) -> TextRef<'_> {
        TextRef::Tokens(self.to_vec())
    }
}

impl AsText for Vec<&str> {
    fn as_text(&self) -> TextRef<'_> {
        self.as_slice().as_text()
    }
}

impl AsText for TextRef<'_> {
    fn as_text(&self) -> TextRef<'_> {
        self.clone()
    }
}

impl<T: AsText + ?Sized> AsText for &T {
    fn as_text(&self) -> TextRef<'_> {
        (**self).as_text()
    }
}

/// An integer that can name a word index (`u32`, `usize`, `i32`, `i64`, …) in
/// `sequences_to_texts` and `sequences_to_matrix`.
pub trait WordId: Copy {
    /// The value as `i64` (saturating for huge unsigned values).
    fn to_i64(self) -> i64;
}

macro_rules! word_id {
    ($($t:ty),*) => {$(
        impl WordId for $t {
            fn to_i64(self) -> i64 {
                i64::try_from(self).unwrap_or(i64::MAX)
            }
        }
    )*};
}
word_id!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);
