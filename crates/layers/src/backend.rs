//! Choosing the Burn backend at run time.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::LayersError;

/// A Burn backend rnnlab can run on. Every model runs on every backend through the same code;
/// the choice only picks the [`Device`]. Backends other than `flex` are cargo features.
///
/// ```
/// use rnnlab_layers::Backend;
/// let b: Backend = "flex".parse()?;
/// assert_eq!(b, Backend::Flex);
/// let device = b.device()?; // the embedded CPU backend, always compiled by default
/// # let _ = device;
/// assert!("cuda".parse::<Backend>().is_err());
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Burn's embedded pure-Rust CPU backend (cargo feature `flex`, the default).
    Flex,
    /// The ndarray CPU backend (cargo feature `ndarray`; deprecated upstream, still supported).
    Ndarray,
    /// wgpu: Vulkan/Metal/DX12 GPUs, or a CPU through Mesa's lavapipe (cargo feature `wgpu`).
    Wgpu,
    /// libtorch through `tch` (cargo feature `tch`; needs libtorch, see the README).
    Tch,
}

impl Backend {
    /// Every backend, in the order the docs list them.
    pub const ALL: [Backend; 4] = [Backend::Flex, Backend::Ndarray, Backend::Wgpu, Backend::Tch];

    /// The lowercase name used on command lines and in result files.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
            Backend::Wgpu => "wgpu",
            Backend::Tch => "tch",
        }
    }

    /// The cargo feature that compiles this backend in.
    pub fn feature(self) -> &'static str {
        self.name()
    }

    /// Whether this build was compiled with the backend's feature.
    pub fn is_compiled(self) -> bool {
        match self {
            Backend::Flex => cfg!(feature = "flex"),
            Backend::Ndarray => cfg!(feature = "ndarray"),
            Backend::Wgpu => cfg!(feature = "wgpu"),
            Backend::Tch => cfg!(feature = "tch"),
        }
    }

    /// The backends compiled into this build.
    pub fn compiled() -> Vec<Backend> {
        Self::ALL.into_iter().filter(|b| b.is_compiled()).collect()
    }

    /// The (inference) device of this backend; call `.autodiff()` on it to train.
    pub fn device(self) -> Result<Device, LayersError> {
        match self {
            #[cfg(feature = "flex")]
            Backend::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            // deprecated upstream in favour of flex; the design still names it
            Backend::Ndarray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            // deprecated upstream; kept as the libtorch reference backend
            Backend::Tch => Ok(Device::libtorch()),
            #[allow(unreachable_patterns)]
            other => Err(LayersError::BackendNotCompiled {
                backend: other.name(),
                feature: other.feature(),
            }),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = LayersError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| LayersError::UnknownBackend { name: s.to_string() })
    }
}
