//! Per-epoch results.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What `fit` returns: per-epoch loss, validation loss and metrics (Keras's `history.history`),
/// plus wall seconds per epoch.
///
/// ```
/// use rnnlab_train::History;
/// let mut h = History::default();
/// h.loss.push(0.5);
/// let json = serde_json::to_string(&h).unwrap();
/// assert_eq!(serde_json::from_str::<History>(&json).unwrap(), h);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Training loss per epoch (sample-weighted mean over the epoch's batches).
    pub loss: Vec<f64>,
    /// Validation loss per epoch (empty without validation data).
    pub val_loss: Vec<f64>,
    /// Training metrics by name.
    pub metrics: BTreeMap<String, Vec<f64>>,
    /// Validation metrics by name (`val_` + name in Keras).
    pub val_metrics: BTreeMap<String, Vec<f64>>,
    /// Wall seconds per epoch (training and validation).
    pub seconds: Vec<f64>,
    /// Learning rate at the end of each epoch.
    #[serde(default)]
    pub lr: Vec<f64>,
}

impl History {
    /// Epochs run.
    pub fn epochs(&self) -> usize {
        self.loss.len()
    }

    /// Median seconds per epoch.
    pub fn median_seconds_per_epoch(&self) -> Option<f64> {
        let mut s = self.seconds.clone();
        s.sort_by(f64::total_cmp);
        (!s.is_empty()).then(|| s[s.len() / 2])
    }
}
