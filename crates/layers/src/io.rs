//! Saving and loading weights through Burn's record format, atomically.

use std::path::Path;

use burn::module::Module;

use crate::ErrorSource;
use crate::{LayersError, atomic_file};

/// Saves `module`'s weights to `path` (Burn's burnpack record), atomically and durably (see
/// [`atomic_file`]): a crash leaves the old file or the new one, never a torn one.
///
/// ```
/// use rnnlab_layers::{load_weights, save_weights, Backend, LayerConfig, LstmConfig, Shape};
/// let device = Backend::Flex.device()?;
/// let layer = LstmConfig::new(3).init(&Shape::sequence(2), &device)?;
/// let path = std::env::temp_dir().join(format!("rnnlab-doc-{}.bpk", std::process::id()));
/// save_weights(&layer, &path)?;
/// let fresh = load_weights(LstmConfig::new(3).init(&Shape::sequence(2), &device)?, &path)?;
/// assert_eq!(fresh.cell().kernel.val().to_data(), layer.cell().kernel.val().to_data());
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
pub fn save_weights<M: Module>(module: &M, path: impl AsRef<Path>) -> Result<(), LayersError> {
    let path = path.as_ref();
    let io = |source: ErrorSource| LayersError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io(ErrorSource::new(e)))?;
    }
    let tmp = atomic_file::temp_path(path);
    module.clone().save_file(&tmp).map_err(|e| {
        std::fs::remove_file(&tmp).ok();
        io(ErrorSource::new(e))
    })?;
    atomic_file::commit(&tmp, path).map_err(|e| io(ErrorSource::new(e)))
}

/// Loads weights saved by [`save_weights`] into a module of the same structure; a missing,
/// truncated, corrupt or foreign file is an [`LayersError::Io`].
pub fn load_weights<M: Module>(module: M, path: impl AsRef<Path>) -> Result<M, LayersError> {
    let path = path.as_ref();
    let io = |source: ErrorSource| LayersError::Io {
        path: path.display().to_string(),
        source,
    };
    // Some corrupt files make Burn's loader panic rather than fail: that is an error here too.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| module.try_load_file(path))) {
        Ok(loaded) => loaded.map_err(|e| io(ErrorSource::new(e))),
        Err(_) => Err(io(ErrorSource::message(
            "the file is corrupt (its records do not match the module)",
        ))),
    }
}
