//! [`ErrorSource`]: the underlying error of an I/O or file failure, kept for `source()`.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// The error underneath a failed file operation (an `std::io::Error`, Burn's record error, a
/// JSON error, or a message when a loader panicked), kept so that `Error::source` walks down
/// to it. Cheap to clone; two sources are equal when they say the same thing.
///
/// ```
/// use std::error::Error;
/// use rnnlab_layers::ErrorSource;
/// let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
/// let source = ErrorSource::new(io);
/// assert_eq!(source.to_string(), "no such file");
/// assert!(source.get().downcast_ref::<std::io::Error>().is_some());
/// ```
#[derive(Clone)]
pub struct ErrorSource(Arc<dyn Error + Send + Sync + 'static>);

/// A source that is only a message (a loader that panicked has no error value).
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Message {}

impl ErrorSource {
    /// Keeps `error`.
    pub fn new(error: impl Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }

    /// A source that is a message.
    pub fn message(message: impl Into<String>) -> Self {
        Self(Arc::new(Message(message.into())))
    }

    /// The error itself (to downcast).
    pub fn get(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl fmt::Debug for ErrorSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for ErrorSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Error for ErrorSource {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for ErrorSource {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}
