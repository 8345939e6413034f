//! Choosing the Burn backend and its device at run time.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::LayersError;

/// Which libtorch device the `tch` backend runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TchDevice {
    /// CUDA device 0 when libtorch can use it, else the CPU (the run says which).
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device `N`; an error when it cannot be used (never a silent CPU fallback).
    Cuda(usize),
}

/// A Burn backend rnnlab can run on. Every model runs on every backend through the same code;
/// the choice only picks the [`Device`]. Backends other than `flex` are cargo features.
///
/// Names on command lines and in result files: `flex`, `ndarray`, `wgpu`, `tch` (libtorch's
/// CUDA device 0 when it has a usable GPU, else its CPU), `tch-cpu`, `tch-cuda[:N]`, and
/// `cuda[:N]` (Burn's CubeCL CUDA backend).
///
/// ```
/// use rnnlab_layers::{Backend, TchDevice};
/// let b: Backend = "flex".parse()?;
/// assert_eq!(b, Backend::Flex);
/// let device = b.device()?; // the embedded CPU backend, always compiled by default
/// # let _ = device;
/// assert_eq!("tch-cuda:1".parse::<Backend>()?, Backend::Tch(TchDevice::Cuda(1)));
/// assert_eq!("cuda".parse::<Backend>()?, Backend::Cuda(0));
/// assert!("metal".parse::<Backend>().is_err());
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Backend {
    /// Burn's embedded pure-Rust CPU backend (cargo feature `flex`, the default).
    Flex,
    /// The ndarray CPU backend (cargo feature `ndarray`; deprecated upstream, still supported).
    Ndarray,
    /// wgpu: Vulkan/Metal/DX12 GPUs, or a CPU through Mesa's lavapipe (cargo feature `wgpu`).
    Wgpu,
    /// libtorch through `tch` (cargo feature `tch`; needs libtorch, see the README).
    Tch(TchDevice),
    /// Burn's CubeCL CUDA backend on NVIDIA device `N` (cargo feature `cuda`; needs a driver).
    Cuda(usize),
}

/// A backend resolved to a device: what [`Backend::select`] returns.
#[derive(Clone, Debug)]
pub struct SelectedDevice {
    /// The device to build models on (call `.autodiff()` on it to train).
    pub device: Device,
    /// Which device it is, in words, for the run's first line and its results
    /// (`"libtorch CPU (no usable CUDA device: …)"`).
    pub description: String,
}

/// What a GPU backend's device is, before it is built: the part of [`Backend::select`] that
/// does not need the GPU, so it is tested without one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Choice {
    Flex,
    Ndarray,
    Wgpu,
    TchCpu,
    TchCuda(usize),
    Cuda(usize),
}

impl Backend {
    /// One backend of each kind, in the order the docs list them (GPU indices 0).
    pub const ALL: [Backend; 5] = [
        Backend::Flex,
        Backend::Ndarray,
        Backend::Wgpu,
        Backend::Tch(TchDevice::Auto),
        Backend::Cuda(0),
    ];

    /// The name used on command lines and in result files (`tch-cuda:1`); the index is left out
    /// when it is 0.
    pub fn name(self) -> String {
        let indexed = |base: &str, n: usize| {
            if n == 0 {
                base.to_string()
            } else {
                format!("{base}:{n}")
            }
        };
        match self {
            Backend::Flex => "flex".into(),
            Backend::Ndarray => "ndarray".into(),
            Backend::Wgpu => "wgpu".into(),
            Backend::Tch(TchDevice::Auto) => "tch".into(),
            Backend::Tch(TchDevice::Cpu) => "tch-cpu".into(),
            Backend::Tch(TchDevice::Cuda(n)) => indexed("tch-cuda", n),
            Backend::Cuda(n) => indexed("cuda", n),
        }
    }

    /// The cargo feature that compiles this backend in.
    pub fn feature(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
            Backend::Wgpu => "wgpu",
            Backend::Tch(_) => "tch",
            Backend::Cuda(_) => "cuda",
        }
    }

    /// Whether this build was compiled with the backend's feature.
    pub fn is_compiled(self) -> bool {
        match self {
            Backend::Flex => cfg!(feature = "flex"),
            Backend::Ndarray => cfg!(feature = "ndarray"),
            Backend::Wgpu => cfg!(feature = "wgpu"),
            Backend::Tch(_) => cfg!(feature = "tch"),
            Backend::Cuda(_) => cfg!(feature = "cuda"),
        }
    }

    /// The backends compiled into this build.
    pub fn compiled() -> Vec<Backend> {
        Self::ALL.into_iter().filter(|b| b.is_compiled()).collect()
    }

    /// The (inference) device of this backend; call `.autodiff()` on it to train. Same as
    /// [`select`](Self::select) without the description.
    pub fn device(self) -> Result<Device, LayersError> {
        self.select().map(|s| s.device)
    }

    /// Resolves the backend to a device: checks that it is compiled in, and for a CUDA device
    /// that the device can run an operation. `tch` falls back to the CPU (and says so in the
    /// description); an explicit `tch-cuda` or `cuda` without a usable GPU is
    /// [`LayersError::GpuUnavailable`], naming what is missing.
    pub fn select(self) -> Result<SelectedDevice, LayersError> {
        if !self.is_compiled() {
            return Err(LayersError::BackendNotCompiled {
                backend: self.feature(),
                feature: self.feature(),
            });
        }
        let (choice, description) = self.decide(probe_gpu)?;
        Ok(SelectedDevice {
            device: build(choice)?,
            description,
        })
    }

    /// The device this backend stands for, given `probe` (`Ok` when a CUDA device can run an
    /// operation, else the reason it cannot).
    pub(crate) fn decide(self, probe: impl Fn(Choice) -> Result<(), String>) -> Result<(Choice, String), LayersError> {
        let unavailable = |reason: String, hint: &'static str| LayersError::GpuUnavailable {
            backend: self.name(),
            reason,
            hint,
        };
        Ok(match self {
            Backend::Flex => (Choice::Flex, "flex (CPU)".into()),
            Backend::Ndarray => (Choice::Ndarray, "ndarray (CPU)".into()),
            Backend::Wgpu => (Choice::Wgpu, "wgpu (default adapter)".into()),
            Backend::Tch(TchDevice::Cpu) => (Choice::TchCpu, "libtorch CPU".into()),
            Backend::Tch(TchDevice::Auto) => match probe(Choice::TchCuda(0)) {
                Ok(()) => (Choice::TchCuda(0), "libtorch CUDA device 0".into()),
                Err(reason) => (
                    Choice::TchCpu,
                    format!("libtorch CPU (no usable CUDA device: {reason}; `tch-cuda` asks for the GPU explicitly)"),
                ),
            },
            Backend::Tch(TchDevice::Cuda(n)) => {
                probe(Choice::TchCuda(n)).map_err(|reason| unavailable(reason, TCH_CUDA_HINT))?;
                (Choice::TchCuda(n), format!("libtorch CUDA device {n}"))
            }
            Backend::Cuda(n) => {
                probe(Choice::Cuda(n)).map_err(|reason| unavailable(reason, CUBECL_CUDA_HINT))?;
                (Choice::Cuda(n), format!("CubeCL CUDA device {n}"))
            }
        })
    }
}

const TCH_CUDA_HINT: &str = "libtorch needs an NVIDIA driver (`nvidia-smi` lists the GPU), PyTorch's CUDA \
     wheel (`pip install torch==2.9.0`, not a `+cpu` build) and that wheel's `torch/lib` on LD_LIBRARY_PATH; \
     use `--backend tch-cpu` for libtorch's CPU";
const CUBECL_CUDA_HINT: &str = "Burn's cuda backend needs an NVIDIA driver (`libcuda.so.1` on the loader path, \
     `nvidia-smi` lists the GPU) and the CUDA runtime compiler (`libnvrtc`, from the CUDA toolkit or the \
     nvidia-cuda-nvrtc wheel, on LD_LIBRARY_PATH); the index must be below the number of GPUs";

/// Builds the device of a choice (the backend's feature is compiled in: checked by the caller).
fn build(choice: Choice) -> Result<Device, LayersError> {
    match choice {
        #[cfg(feature = "flex")]
        Choice::Flex => Ok(Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        // deprecated upstream in favour of flex; the design still names it
        Choice::Ndarray => Ok(Device::ndarray()),
        #[cfg(feature = "wgpu")]
        Choice::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        // deprecated upstream; kept as the libtorch reference backend
        Choice::TchCpu => Ok(Device::libtorch()),
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        Choice::TchCuda(n) => Ok(Device::libtorch_cuda(n)),
        #[cfg(feature = "cuda")]
        Choice::Cuda(n) => Ok(Device::cuda(n)),
        #[allow(unreachable_patterns)]
        other => Err(LayersError::Config {
            what: "backend".into(),
            why: format!("{other:?} is not compiled into this build"),
        }),
    }
}

/// Whether a CUDA device can run an operation: builds it and reads back one value. Backends
/// report a missing driver or device by panicking inside the first operation; that panic is
/// caught here (its message is the reason) and kept off stderr.
fn probe_gpu(choice: Choice) -> Result<(), String> {
    let device = build(choice).map_err(|e| e.to_string())?;
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(|| {
        burn::tensor::Tensor::<1>::ones([1], &device)
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|e| format!("{e:?}"))
    });
    std::panic::set_hook(quiet);
    match outcome {
        Ok(Ok(v)) if v == [1.0] => Ok(()),
        Ok(Ok(v)) => Err(format!("a test operation returned {v:?} instead of [1.0]")),
        Ok(Err(e)) => Err(e),
        Err(panic) => Err(panic
            .downcast_ref::<String>()
            .map(|s| concise(s))
            .or_else(|| panic.downcast_ref::<&str>().map(|s| concise(s)))
            .unwrap_or_else(|| "the backend failed to start".into())),
    }
}

/// The first line of a backend's panic message, without the `unwrap` wrapper around it
/// (libtorch appends a C++ backtrace of thirty frames).
fn concise(message: &str) -> String {
    let inner = message.split_once("Torch(\"").map_or(message, |(_, rest)| rest);
    let line = inner.split(['\n']).next().unwrap_or(inner);
    let line = line.split("\\n").next().unwrap_or(line);
    line.trim_end_matches(['"', ')']).trim().to_string()
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl From<Backend> for String {
    fn from(b: Backend) -> String {
        b.name()
    }
}

impl TryFrom<String> for Backend {
    type Error = LayersError;
    fn try_from(s: String) -> Result<Self, LayersError> {
        s.parse()
    }
}

impl FromStr for Backend {
    type Err = LayersError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || LayersError::UnknownBackend { name: s.to_string() };
        let lower = s.trim().to_ascii_lowercase();
        let (base, index) = match lower.split_once(':') {
            Some((base, n)) => (base, Some(n.parse::<usize>().map_err(|_| unknown())?)),
            None => (lower.as_str(), None),
        };
        let n = index.unwrap_or(0);
        Ok(match (base, index) {
            ("flex", None) => Backend::Flex,
            ("ndarray", None) => Backend::Ndarray,
            ("wgpu", None) => Backend::Wgpu,
            ("tch", None) => Backend::Tch(TchDevice::Auto),
            ("tch-cpu", None) => Backend::Tch(TchDevice::Cpu),
            ("tch-cuda", _) => Backend::Tch(TchDevice::Cuda(n)),
            ("cuda", _) => Backend::Cuda(n),
            _ => return Err(unknown()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in [
            "flex",
            "ndarray",
            "wgpu",
            "tch",
            "tch-cpu",
            "tch-cuda",
            "tch-cuda:2",
            "cuda",
            "cuda:1",
        ] {
            let b: Backend = name.parse().unwrap();
            assert_eq!(b.name(), name);
            let json = serde_json::to_string(&b).unwrap();
            assert_eq!(serde_json::from_str::<Backend>(&json).unwrap(), b);
        }
        assert_eq!(
            "TCH-CUDA:0".parse::<Backend>().unwrap(),
            Backend::Tch(TchDevice::Cuda(0))
        );
        for bad in ["gpu", "tch-cpu:1", "flex:0", "cuda:x", "cuda:-1", ""] {
            assert!(
                matches!(bad.parse::<Backend>(), Err(LayersError::UnknownBackend { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn tch_uses_the_gpu_when_the_probe_finds_one_and_says_so_otherwise() {
        let with_gpu = Backend::Tch(TchDevice::Auto).decide(|_| Ok(())).unwrap();
        assert_eq!(with_gpu, (Choice::TchCuda(0), "libtorch CUDA device 0".into()));
        let (choice, said) = Backend::Tch(TchDevice::Auto)
            .decide(|_| Err("no NVIDIA driver".into()))
            .unwrap();
        assert_eq!(choice, Choice::TchCpu);
        assert!(
            said.starts_with("libtorch CPU") && said.contains("no NVIDIA driver"),
            "{said}"
        );
    }

    #[test]
    fn an_explicit_gpu_request_without_a_gpu_is_an_error_never_a_cpu_fallback() {
        for backend in [Backend::Tch(TchDevice::Cuda(0)), Backend::Cuda(1)] {
            let err = backend.decide(|_| Err("CUDA driver not found".into())).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, LayersError::GpuUnavailable { .. }));
            assert!(
                text.contains("CUDA driver not found") && text.contains("driver"),
                "{text}"
            );
        }
        assert!(
            Backend::Tch(TchDevice::Cuda(0))
                .decide(|_| Err(String::new()))
                .unwrap_err()
                .to_string()
                .contains("LD_LIBRARY_PATH")
        );
        // The probe is asked about the device that was named.
        let asked = std::cell::Cell::new(None);
        let _ = Backend::Cuda(3).decide(|c| {
            asked.set(Some(c));
            Ok(())
        });
        assert_eq!(asked.get(), Some(Choice::Cuda(3)));
    }

    #[test]
    fn a_panic_message_is_cut_to_its_first_line() {
        let libtorch = "called `Result::unwrap()` on an `Err` value: Torch(\"Found no NVIDIA driver on your system. \
                        Please check that you have an NVIDIA GPU\\nException raised from device_count_impl\\nframe #0: …\")";
        assert_eq!(
            concise(libtorch),
            "Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU"
        );
        assert_eq!(concise("CUDA_ERROR_NO_DEVICE\nmore"), "CUDA_ERROR_NO_DEVICE");
    }

    #[test]
    fn cpu_backends_never_probe() {
        for b in [Backend::Flex, Backend::Ndarray, Backend::Tch(TchDevice::Cpu)] {
            assert!(b.decide(|_| panic!("probed {b}")).is_ok());
        }
    }

    #[test]
    fn a_backend_that_is_not_compiled_names_its_feature() {
        if !Backend::Cuda(0).is_compiled() {
            assert_eq!(
                Backend::Cuda(0).select().unwrap_err(),
                LayersError::BackendNotCompiled {
                    backend: "cuda",
                    feature: "cuda"
                }
            );
        }
    }
}
