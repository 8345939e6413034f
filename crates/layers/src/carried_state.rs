//! The state a `stateful` recurrent layer carries from one call to the next (Keras
//! `stateful=True`).

use std::fmt;
use std::sync::{Mutex, MutexGuard};

use burn::tensor::{Device, Tensor};

use crate::LayersError;

/// The last states of a stateful layer's previous call, one tensor `[batch, units]` per state,
/// kept without autodiff (a call never differentiates through an earlier one — Keras stores them
/// in variables).
///
/// Layers run through `&self`, so the slot is behind a lock. A clone gets a copy of the state as
/// it is at that moment, not a shared slot: two clones of a model serve two independent streams.
#[derive(Default)]
pub(crate) struct CarriedState(Mutex<Option<Vec<Tensor<2>>>>);

impl CarriedState {
    fn lock(&self) -> MutexGuard<'_, Option<Vec<Tensor<2>>>> {
        // A panic while the lock was held cannot leave a half-written state: the slot is replaced
        // in one assignment. So a poisoned lock still holds a whole state.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The carried states on `device` for a call on `batch` rows, or `None` when nothing is
    /// carried (the first call, or after [`reset`](Self::reset)). A batch size other than the
    /// carried one is an error: each row continues its own sequence.
    pub(crate) fn take_for(
        &self,
        layer: &str,
        batch: usize,
        device: &Device,
    ) -> Result<Option<Vec<Tensor<2>>>, LayersError> {
        let carried = self.lock().clone();
        let Some(states) = carried else {
            return Ok(None);
        };
        let carried_batch = states.first().map_or(batch, |s| s.dims()[0]);
        if carried_batch != batch {
            return Err(LayersError::Config {
                what: format!("stateful {layer} input"),
                why: format!(
                    "it carries the state of {carried_batch} sequences from the previous call and got a batch of \
                     {batch}; feed batches of {carried_batch} rows (row i continues sequence i), or call \
                     reset_states() before starting over with another batch size"
                ),
            });
        }
        Ok(Some(
            states
                .into_iter()
                .map(|s| if s.device() == *device { s } else { s.to_device(device) })
                .collect(),
        ))
    }

    /// Keeps `states` (the call's final states) for the next call.
    pub(crate) fn keep(&self, states: &[Tensor<2>]) {
        *self.lock() = Some(states.iter().map(|s| s.clone().inner()).collect());
    }

    /// Forgets the carried state: the next call starts from zeros.
    pub(crate) fn reset(&self) {
        *self.lock() = None;
    }

    /// The carried states, if any.
    pub(crate) fn get(&self) -> Option<Vec<Tensor<2>>> {
        self.lock().clone()
    }
}

impl Clone for CarriedState {
    fn clone(&self) -> Self {
        Self(Mutex::new(self.lock().clone()))
    }
}

impl fmt::Debug for CarriedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.lock() {
            None => f.write_str("CarriedState(none)"),
            Some(states) => {
                let batch = states.first().map_or(0, |s| s.dims()[0]);
                write!(f, "CarriedState({} states of {batch} rows)", states.len())
            }
        }
    }
}
