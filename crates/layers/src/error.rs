use thiserror::Error;

/// Everything that can go wrong in `rnnlab-layers`.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum LayersError {
    /// A backend name that rnnlab does not know.
    #[error("unknown backend {name:?}: expected one of flex, ndarray, wgpu, tch")]
    UnknownBackend {
        /// The name given.
        name: String,
    },
    /// A backend that exists but was not compiled into this build.
    #[error("backend {backend} is not compiled in: rebuild with `--features {feature}`")]
    BackendNotCompiled {
        /// The backend.
        backend: &'static str,
        /// The cargo feature that enables it.
        feature: &'static str,
    },
}
