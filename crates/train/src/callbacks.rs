//! The fit loop's extension point: a [`Callback`] sees training begin and end, every epoch and
//! every batch, may change the learning rate and may stop training. Keras's TerminateOnNaN,
//! ModelCheckpoint, EarlyStopping and learning-rate schedules are implementations of it, and
//! [`FitConfig`](crate::FitConfig)'s fields switch them on; a user's callback plugs in the same
//! way through [`fit_with`](crate::fit_with).

use std::path::PathBuf;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::Tensor;

use crate::{EarlyStopping, History, LrSchedule, TrainError, checkpoint};

/// What a callback tells the loop after an epoch or a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    #[default]
    Continue,
    /// Stop training after this epoch or batch (`fit` returns normally, Keras's
    /// `model.stop_training = True`).
    Stop,
}

/// The training state a callback may read and change.
pub struct TrainState<'a, M> {
    /// The model being trained.
    pub model: &'a mut M,
    /// The optimizer (its state is saved and restored by checkpoints).
    pub optimizer: &'a mut ModuleOptimizer,
    /// Every finished epoch so far.
    pub history: &'a mut History,
    /// The next epoch to run (1-based); a callback that resumes from a checkpoint moves it.
    pub next_epoch: usize,
}

/// A hook into the fit loop (Keras's `keras.callbacks.Callback`). Every method has a default
/// that does nothing.
///
/// ```
/// use rnnlab_layers::{Backend, DenseConfig, FlattenConfig, Sequential, Shape};
/// use rnnlab_train::{fit_with, Callback, Control, Dataset, FitConfig, OptimizerConfig, TrainError, TrainState, Verbosity};
///
/// /// Stops once the training loss is below a target.
/// struct StopAt(f64);
/// impl<M> Callback<M> for StopAt {
///     fn on_epoch_end(&mut self, _epoch: usize, state: &mut TrainState<'_, M>) -> Result<Control, TrainError> {
///         Ok(if state.history.loss.last().is_some_and(|&l| l < self.0) { Control::Stop } else { Control::Continue })
///     }
/// }
///
/// let device = Backend::Flex.device()?.autodiff();
/// let data = Dataset::new((0..32).map(|i| i as f32 / 32.0).collect(), [32, 1, 1], vec![0.5; 32], 1)?;
/// let model = Sequential::builder(Shape::sequence_of(1, 1)).add(FlattenConfig).add(DenseConfig::new(1)).build(&device)?;
/// let cfg = FitConfig::new(500).with_optimizer(OptimizerConfig::adam(0.05)).with_verbosity(Verbosity::Quiet);
/// let (_, history) = fit_with(model, &data, None, &cfg, &mut [&mut StopAt(0.01)])?;
/// assert!(history.epochs() < 500, "{:?}", history.loss);
/// assert!(*history.loss.last().unwrap() < 0.01);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Callback<M> {
    /// Before the first epoch (a checkpoint resumes here).
    fn on_train_begin(&mut self, _state: &mut TrainState<'_, M>) -> Result<(), TrainError> {
        Ok(())
    }

    /// Before epoch `epoch` (1-based).
    fn on_epoch_begin(&mut self, _epoch: usize, _state: &mut TrainState<'_, M>) -> Result<(), TrainError> {
        Ok(())
    }

    /// The learning rate of optimizer step `step` (0-based, over the whole run) in `epoch`,
    /// given the rate so far (the optimizer's, or what callbacks before this one made of it).
    fn learning_rate(&mut self, lr: f64, _step: usize, _epoch: usize) -> f64 {
        lr
    }

    /// After batch `batch` (1-based) of `epoch`. The batch's loss stays on the device (reading
    /// it would synchronize every step); the epoch's figures come in
    /// [`on_epoch_end`](Callback::on_epoch_end).
    fn on_batch_end(&mut self, _epoch: usize, _batch: usize) -> Result<Control, TrainError> {
        Ok(Control::Continue)
    }

    /// After epoch `epoch`, with its loss, metrics and validation figures in `state.history`.
    fn on_epoch_end(&mut self, _epoch: usize, _state: &mut TrainState<'_, M>) -> Result<Control, TrainError> {
        Ok(Control::Continue)
    }

    /// After the last epoch (also after a stop); not called when training fails.
    fn on_train_end(&mut self, _state: &mut TrainState<'_, M>) -> Result<(), TrainError> {
        Ok(())
    }
}

/// Keras's `TerminateOnNaN`: when an epoch's loss, validation loss or weights are not finite,
/// training stops with [`TrainError::NonFinite`] and the model gets back the weights it had when
/// the epoch began (finite, and what the last finite epoch produced). Checked once per epoch:
/// the losses are read from the device once per epoch, not after every step.
#[derive(Clone, Debug, Default)]
pub struct TerminateOnNaN<M> {
    epoch_start: Option<M>,
}

impl<M> TerminateOnNaN<M> {
    /// The callback.
    pub fn new() -> Self {
        Self { epoch_start: None }
    }
}

/// Whether every float parameter of `model` is finite.
fn weights_finite<M: Module>(model: &M) -> bool {
    struct AllFinite(bool);
    impl burn::module::ModuleVisitor for AllFinite {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            if self.0 {
                self.0 = param.val().is_finite().all().into_scalar::<bool>();
            }
        }
    }
    let mut visitor = AllFinite(true);
    model.visit(&mut visitor);
    visitor.0
}

impl<M: Module> Callback<M> for TerminateOnNaN<M> {
    fn on_epoch_begin(&mut self, _epoch: usize, state: &mut TrainState<'_, M>) -> Result<(), TrainError> {
        self.epoch_start = Some(state.model.clone()); // cheap: parameters are reference-counted
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, state: &mut TrainState<'_, M>) -> Result<Control, TrainError> {
        let last = |v: &[f64]| v.last().copied().unwrap_or(0.0);
        let bad = [
            ("loss", last(&state.history.loss)),
            ("val_loss", last(&state.history.val_loss)),
        ]
        .into_iter()
        .find(|(_, v)| !v.is_finite())
        .or_else(|| (!weights_finite(&*state.model)).then_some(("weights", f64::NAN)));
        match bad {
            None => Ok(Control::Continue),
            Some((what, value)) => {
                if let Some(start) = self.epoch_start.take() {
                    *state.model = start;
                }
                Err(TrainError::NonFinite { what, epoch, value })
            }
        }
    }
}

/// Keras's `ModelCheckpoint` with resume: after every epoch the weights, the optimizer state and
/// the history are written to `dir` (each file to a temporary name, synced, then renamed;
/// `state.json` last). When `dir` already holds a checkpoint, training resumes after its epoch
/// with its weights, optimizer state and history — the same numbers as an uninterrupted run.
#[derive(Clone, Debug)]
pub struct ModelCheckpoint {
    dir: PathBuf,
}

impl ModelCheckpoint {
    /// Checkpoints into `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

impl<M: Module> Callback<M> for ModelCheckpoint {
    fn on_train_begin(&mut self, state: &mut TrainState<'_, M>) -> Result<(), TrainError> {
        if let Some(saved) = checkpoint::read(&self.dir)? {
            *state.model = checkpoint::load_model(state.model.clone(), &self.dir, &saved)?;
            *state.optimizer = checkpoint::load_optimizer(state.optimizer.clone(), &self.dir, &saved)?;
            state.next_epoch = saved.epoch + 1; // one history entry per epoch, so below usize::MAX
            *state.history = saved.history;
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, state: &mut TrainState<'_, M>) -> Result<Control, TrainError> {
        checkpoint::write(&self.dir, epoch, &*state.model, state.optimizer, state.history)?;
        Ok(Control::Continue)
    }
}

/// [`EarlyStopping`] as a callback: monitors `val_loss` (or `loss` without validation data).
#[derive(Clone, Debug)]
pub struct EarlyStoppingCallback<M> {
    config: EarlyStopping,
    best: f64,
    waited: usize,
    best_model: Option<M>,
}

impl<M> EarlyStoppingCallback<M> {
    /// The callback for `config`.
    pub fn new(config: EarlyStopping) -> Self {
        Self {
            config,
            best: f64::INFINITY,
            waited: 0,
            best_model: None,
        }
    }
}

impl<M: Module> Callback<M> for EarlyStoppingCallback<M> {
    fn on_epoch_end(&mut self, _epoch: usize, state: &mut TrainState<'_, M>) -> Result<Control, TrainError> {
        let history = &*state.history;
        let Some(&monitored) = history.val_loss.last().or(history.loss.last()) else {
            return Ok(Control::Continue);
        };
        if monitored < self.best - self.config.min_delta {
            self.best = monitored;
            self.waited = 0;
            if self.config.restore_best_weights {
                self.best_model = Some(state.model.clone());
            }
            return Ok(Control::Continue);
        }
        self.waited += 1;
        if self.waited <= self.config.patience {
            return Ok(Control::Continue);
        }
        if let Some(best) = self.best_model.take() {
            *state.model = best;
        }
        Ok(Control::Stop)
    }
}

/// Keras's `LearningRateScheduler`: the optimizer's rate through an [`LrSchedule`].
#[derive(Clone, Debug)]
pub struct LearningRateScheduler {
    schedule: LrSchedule,
}

impl LearningRateScheduler {
    /// The callback for `schedule`.
    pub fn new(schedule: LrSchedule) -> Self {
        Self { schedule }
    }
}

impl<M> Callback<M> for LearningRateScheduler {
    fn learning_rate(&mut self, lr: f64, step: usize, epoch: usize) -> f64 {
        self.schedule.learning_rate(lr, step, epoch)
    }
}
