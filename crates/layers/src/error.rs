use thiserror::Error;

/// Everything that can go wrong in `rnnlab-layers`.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum LayersError {
    /// A backend name that rnnlab does not know.
    #[error("unknown backend {name:?}: expected one of flex, ndarray, wgpu, tch, tch-cpu, tch-cuda[:N], cuda[:N]")]
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
    /// A CUDA device was asked for explicitly and cannot be used (no driver, no device, no
    /// CUDA libraries); rnnlab never falls back to the CPU silently.
    #[error("backend {backend}: no usable CUDA device ({reason}). {hint}")]
    GpuUnavailable {
        /// The backend asked for (`tch-cuda`, `cuda:1`).
        backend: String,
        /// What the backend reported.
        reason: String,
        /// What it needs, and the CPU alternative.
        hint: &'static str,
    },
    /// An input, state, mask or weight with the wrong shape.
    #[error("{what}: expected shape {expected}, got {got:?}")]
    Shape {
        /// What was checked (`"SimpleRNN input"`, `"LSTM initial state 1"`, …).
        what: String,
        /// The expected shape, in words (`[batch, time, 3]`).
        expected: String,
        /// The shape given.
        got: Vec<usize>,
    },
    /// The wrong number of initial states or weight arrays.
    #[error("{what}: expected {expected}, got {got}")]
    Count {
        /// What was counted.
        what: String,
        /// How many were expected.
        expected: usize,
        /// How many were given.
        got: usize,
    },
    /// A layer configuration that cannot work (zero units, a rate outside `[0, 1)`, …).
    #[error("invalid {what}: {why}")]
    Config {
        /// The parameter.
        what: String,
        /// Why it is invalid and what to use instead.
        why: String,
    },
    /// A layer or activation name rnnlab does not implement.
    #[error("unsupported {kind} {name:?}; supported: {supported}")]
    Unsupported {
        /// `"layer"` or `"activation"`.
        kind: &'static str,
        /// The name given.
        name: String,
        /// What is supported.
        supported: &'static str,
    },
    /// A Keras option rnnlab does not implement (refused, never ignored).
    #[error("{layer}: {option} is not supported; {hint}")]
    UnsupportedOption {
        /// The layer class (`"LSTM"`).
        layer: String,
        /// The option and its value (`"stateful=true"`).
        option: String,
        /// What rnnlab does instead, or how to get there.
        hint: &'static str,
    },
    /// The layer needs an input of another kind (token ids vs floats, rank 2 vs 3).
    #[error("{layer} cannot take {got}: {hint}")]
    InputKind {
        /// The layer.
        layer: String,
        /// What it was given.
        got: String,
        /// What to do.
        hint: String,
    },
    /// A tensor could not be read back to the host.
    #[error("reading a tensor back from the device failed")]
    TensorRead {
        /// Burn's reason.
        #[source]
        source: std::sync::Arc<burn::tensor::DataError>,
    },
    /// Saving or loading weights failed.
    #[error("weights file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong underneath (an I/O error, Burn's record error, …).
        #[source]
        source: crate::ErrorSource,
    },
}

impl LayersError {
    pub(crate) fn shape(what: impl Into<String>, expected: impl Into<String>, got: &[usize]) -> Self {
        LayersError::Shape {
            what: what.into(),
            expected: expected.into(),
            got: got.to_vec(),
        }
    }
}
