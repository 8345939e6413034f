//! Checkpoints: weights, optimizer state and history after an epoch, written so that a crash or
//! power cut never leaves a torn checkpoint: each file is written to a temporary name, synced and
//! renamed, and the directory synced ([`rnnlab_layers::atomic_file`]); `state.json`, the commit
//! record naming the other two, goes last.

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use rnnlab_layers::{ErrorSource, atomic_file};
use serde::{Deserialize, Serialize};

use crate::{History, TrainError};

/// `state.json`: which epoch the files hold.
#[derive(Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) epoch: usize,
    pub(crate) model_file: String,
    pub(crate) optimizer_file: String,
    pub(crate) history: History,
}

fn err(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> TrainError {
    TrainError::Checkpoint {
        path: path.display().to_string(),
        source: ErrorSource::new(e),
    }
}

/// What is wrong with a checkpoint's contents (no error value underneath).
fn invalid(path: &Path, why: String) -> TrainError {
    TrainError::Checkpoint {
        path: path.display().to_string(),
        source: ErrorSource::message(why),
    }
}

fn commit(tmp: &Path, path: &Path) -> Result<(), TrainError> {
    atomic_file::commit(tmp, path).map_err(|e| err(path, e))
}

pub(crate) fn write<M: Module>(
    dir: &Path,
    epoch: usize,
    model: &M,
    optim: &ModuleOptimizer,
    history: &History,
) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
    let previous = read(dir)?;
    let model_file = format!("model-{epoch}.bpk");
    let optimizer_file = format!("optimizer-{epoch}.bpk");
    let model_path = dir.join(&model_file);
    let tmp_model = atomic_file::temp_path(&model_path);
    model.clone().save_file(&tmp_model).map_err(|e| err(&tmp_model, e))?;
    commit(&tmp_model, &model_path)?;
    let optimizer_path = dir.join(&optimizer_file);
    let tmp_optim = atomic_file::temp_path(&optimizer_path);
    optim.save(&tmp_optim).map_err(|e| err(&tmp_optim, e))?;
    commit(&tmp_optim, &optimizer_path)?;
    let state = State {
        epoch,
        model_file,
        optimizer_file,
        history: history.clone(),
    };
    let json = serde_json::to_vec_pretty(&state).map_err(|e| err(dir, e))?;
    let state_path = dir.join("state.json");
    atomic_file::write(&state_path, &json).map_err(|e| err(&state_path, e))?;
    // Only now is the new checkpoint committed: drop the previous epoch's files.
    if let Some(old) = previous.filter(|old| old.epoch != epoch) {
        std::fs::remove_file(dir.join(old.model_file)).ok();
        std::fs::remove_file(dir.join(old.optimizer_file)).ok();
    }
    Ok(())
}

/// A file name `state.json` may name: a plain name inside the checkpoint directory, never a
/// path (the previous checkpoint's files are deleted after the next one is written).
fn check_plain_name(state_path: &Path, name: &str) -> Result<(), TrainError> {
    let mut parts = Path::new(name).components();
    let plain = matches!(
        (parts.next(), parts.next()),
        (Some(std::path::Component::Normal(n)), None) if n == std::ffi::OsStr::new(name)
    );
    if plain && !name.starts_with('.') {
        Ok(())
    } else {
        Err(invalid(
            state_path,
            format!("names {name:?}; checkpoint files must be plain file names inside the checkpoint directory"),
        ))
    }
}

pub(crate) fn read(dir: &Path) -> Result<Option<State>, TrainError> {
    let path = dir.join("state.json");
    match std::fs::read(&path) {
        Ok(bytes) => {
            let state: State = serde_json::from_slice(&bytes).map_err(|e| err(&path, e))?;
            check_plain_name(&path, &state.model_file)?;
            check_plain_name(&path, &state.optimizer_file)?;
            // Each epoch appends one entry to the history it records: an epoch count that
            // disagrees (a hand-edited or foreign state) cannot be resumed from.
            if state.history.loss.len() != state.epoch {
                return Err(invalid(
                    &path,
                    format!(
                        "says epoch {} but holds {} epoch(s) of history",
                        state.epoch,
                        state.history.loss.len()
                    ),
                ));
            }
            Ok(Some(state))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(&path, e)),
    }
}

/// Runs one of Burn's record loaders on `path`. Some corrupt files make them panic (an `expect`
/// on a missing parameter id) instead of returning an error: that panic becomes a typed error too.
fn load_guarded<T, E: std::error::Error + Send + Sync + 'static>(
    path: &Path,
    load: impl FnOnce() -> Result<T, E>,
) -> Result<T, TrainError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(load)) {
        Ok(loaded) => loaded.map_err(|e| err(path, e)),
        Err(_) => Err(invalid(
            path,
            "the file is corrupt (its records do not match the model)".into(),
        )),
    }
}

pub(crate) fn load_model<M: Module>(model: M, dir: &Path, state: &State) -> Result<M, TrainError> {
    let path = dir.join(&state.model_file);
    load_guarded(&path, || model.try_load_file(&path))
}

pub(crate) fn load_optimizer(optim: ModuleOptimizer, dir: &Path, state: &State) -> Result<ModuleOptimizer, TrainError> {
    let path = dir.join(&state.optimizer_file);
    load_guarded(&path, || optim.load(&path))
}
