//! Checkpoints: weights, optimizer state and history after an epoch, written so that a crash
//! never leaves a torn checkpoint (each file to a temporary name and renamed; `state.json`, the
//! commit record naming the other two, last).

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
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

fn err(path: &Path, e: impl std::fmt::Display) -> TrainError {
    TrainError::Checkpoint {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn rename_into_place(tmp: &Path, path: &Path) -> Result<(), TrainError> {
    std::fs::rename(tmp, path).map_err(|e| err(path, e))
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
    let tmp_model = dir.join(format!(".{model_file}.tmp"));
    model.clone().save_file(&tmp_model).map_err(|e| err(&tmp_model, e))?;
    rename_into_place(&tmp_model, &dir.join(&model_file))?;
    let tmp_optim = dir.join(format!(".{optimizer_file}.tmp"));
    optim.save(&tmp_optim).map_err(|e| err(&tmp_optim, e))?;
    rename_into_place(&tmp_optim, &dir.join(&optimizer_file))?;
    let state = State {
        epoch,
        model_file,
        optimizer_file,
        history: history.clone(),
    };
    let json = serde_json::to_vec_pretty(&state).map_err(|e| err(dir, e))?;
    let tmp_state = dir.join(".state.json.tmp");
    std::fs::write(&tmp_state, json).map_err(|e| err(&tmp_state, e))?;
    rename_into_place(&tmp_state, &dir.join("state.json"))?;
    // Only now is the new checkpoint committed: drop the previous epoch's files.
    if let Some(old) = previous.filter(|old| old.epoch != epoch) {
        std::fs::remove_file(dir.join(old.model_file)).ok();
        std::fs::remove_file(dir.join(old.optimizer_file)).ok();
    }
    Ok(())
}

pub(crate) fn read(dir: &Path) -> Result<Option<State>, TrainError> {
    let path = dir.join("state.json");
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| err(&path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(&path, e)),
    }
}

pub(crate) fn load_model<M: Module>(model: M, dir: &Path, state: &State) -> Result<M, TrainError> {
    let path = dir.join(&state.model_file);
    model.try_load_file(&path).map_err(|e| err(&path, e))
}

pub(crate) fn load_optimizer(optim: ModuleOptimizer, dir: &Path, state: &State) -> Result<ModuleOptimizer, TrainError> {
    let path = dir.join(&state.optimizer_file);
    optim.load(&path).map_err(|e| err(&path, e))
}
