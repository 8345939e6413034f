//! `fit`, `evaluate`, `predict`.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use burn::optim::GradientsParams;
use burn::tensor::Tensor;

use crate::callbacks::{EarlyStoppingCallback, LearningRateScheduler, ModelCheckpoint, TerminateOnNaN};
use crate::evaluate::evaluate_unchecked;
use crate::model::flat;
use crate::{
    Callback, Control, Dataset, FitConfig, History, Loss, Metric, Model, SplitMix64, TrainError, TrainState, Verbosity,
};

fn validate(train: &Dataset, valid: Option<&Dataset>, cfg: &FitConfig) -> Result<(), TrainError> {
    if train.is_empty() {
        return Err(TrainError::Empty("the training data"));
    }
    if cfg.batch_size == 0 {
        return Err(TrainError::Config {
            what: "batch_size",
            why: "must be at least 1 (Keras default 32)".into(),
        });
    }
    cfg.optimizer.validate()?;
    if let Some(s) = &cfg.lr_schedule {
        s.validate()?;
    }
    if let Some(es) = &cfg.early_stopping
        && !(es.min_delta.is_finite() && es.min_delta >= 0.0)
    {
        return Err(TrainError::Config {
            what: "early_stopping.min_delta",
            why: format!("{} must be finite and at least 0", es.min_delta),
        });
    }
    check_metrics(&cfg.metrics, train.y_width())?;
    if let Some(v) = valid {
        if v.is_empty() {
            return Err(TrainError::Empty("the validation data"));
        }
        let (vs, ts) = (v.x_dims(), train.x_dims());
        if vs.len() != ts.len() || vs.last() != ts.last() || v.y_width() != train.y_width() {
            return Err(TrainError::ValidationShape {
                valid_x: vs[1..].to_vec(),
                valid_y: v.y_width(),
                train_x: ts[1..].to_vec(),
                train_y: train.y_width(),
            });
        }
    }
    Ok(())
}

/// Checks that every metric can be computed on targets `y_width` wide.
pub(crate) fn check_metrics(metrics: &[Metric], y_width: usize) -> Result<(), TrainError> {
    for m in metrics {
        if let Metric::LastTimeStepMse { horizon } = *m
            && (horizon == 0 || horizon > y_width || !y_width.is_multiple_of(horizon))
        {
            return Err(TrainError::Config {
                what: "last_time_step_mse horizon",
                why: format!("{horizon} must be at least 1 and divide the target width {y_width}"),
            });
        }
    }
    Ok(())
}

/// Runs the model on one sample and checks its output against what the loss needs of the
/// targets: the same width, or for a class-id loss one target per sample holding an integer id
/// below the output width. Done before the first step, so a mismatch is a typed error instead of
/// silent broadcasting or a panic inside Burn.
pub(crate) fn check_model_against_targets<M: Model>(
    model: &M,
    data: &Dataset,
    loss: Loss,
    device: &burn::tensor::Device,
) -> Result<(), TrainError> {
    let (x, _) = data.batch(&[0], device)?;
    let width = flat(model.forward_batch(x)?).dims()[1];
    if loss == Loss::SparseCategoricalCrossentropy {
        if data.y_width() != 1 {
            return Err(TrainError::OutputWidth {
                model: width,
                targets: data.y_width(),
                loss: loss.name(),
            });
        }
        let targets = data.targets().as_f32();
        let bad = targets
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.fract() == 0.0 && **v >= 0.0 && (**v as usize) < width));
        if let Some((index, &value)) = bad {
            return Err(TrainError::ClassId {
                index,
                value,
                classes: width,
            });
        }
    } else if width != data.y_width() {
        return Err(TrainError::OutputWidth {
            model: width,
            targets: data.y_width(),
            loss: loss.name(),
        });
    }
    Ok(())
}

/// Trains `model` (on an autodiff device) and returns it with its [`History`].
///
/// ```
/// use rnnlab_layers::{Backend, DenseConfig, FlattenConfig, Sequential, Shape};
/// use rnnlab_train::{evaluate, fit, Dataset, FitConfig, Loss, LrSchedule, OptimizerConfig, Verbosity};
/// // y = 2x + 1 with a linear model.
/// let plain = Backend::Flex.device()?;
/// rnnlab_layers::seed(&plain, 3); // reproducible initial weights, the same on every backend
/// let device = plain.autodiff();
/// let xs: Vec<f32> = (0..64).map(|i| i as f32 / 64.0).collect();
/// let ys: Vec<f32> = xs.iter().map(|x| 2.0 * x + 1.0).collect();
/// let data = Dataset::new(xs, [64, 1, 1], ys, 1)?;
/// let model = Sequential::builder(Shape::sequence_of(1, 1)).add(FlattenConfig).add(DenseConfig::new(1)).build(&device)?;
/// let cfg = FitConfig::new(1000)
///     .with_optimizer(OptimizerConfig::adam(0.05))
///     .with_lr_schedule(LrSchedule::ExponentialDecay { decay_rate: 0.5, decay_steps: 500, staircase: false })
///     .with_verbosity(Verbosity::Quiet);
/// let (model, history) = fit(model, &data, None, &cfg)?;
/// let mse = evaluate(&model, &data, 32, Loss::Mse, &[])?.loss;
/// assert!(mse < 1e-6, "{mse}");
/// assert!(*history.lr.last().unwrap() < 0.01);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fit<M: Model>(
    model: M,
    train: &Dataset,
    valid: Option<&Dataset>,
    cfg: &FitConfig,
) -> Result<(M, History), TrainError> {
    fit_with(model, train, valid, cfg, &mut [])
}

/// [`fit`] with callbacks of your own, run after the ones `cfg` switches on (TerminateOnNaN,
/// the learning-rate schedule, ModelCheckpoint, EarlyStopping, in that order).
pub fn fit_with<M: Model>(
    model: M,
    train: &Dataset,
    valid: Option<&Dataset>,
    cfg: &FitConfig,
    callbacks: &mut [&mut dyn Callback<M>],
) -> Result<(M, History), TrainError> {
    let mut model = model;
    let history = fit_in_place_with(&mut model, train, valid, cfg, callbacks)?;
    Ok((model, history))
}

/// [`fit`] that updates `model` in place, as Keras does. When training stops with an error
/// (TerminateOnNaN: [`TrainError::NonFinite`]), `model` holds the last finite weights — the ones
/// it had when the epoch that went non-finite began.
///
/// ```
/// use rnnlab_layers::{Backend, DenseConfig, FlattenConfig, Sequential, Shape};
/// use rnnlab_train::{fit_in_place, Dataset, FitConfig, OptimizerConfig, TrainError, Verbosity};
/// let device = Backend::Flex.device()?.autodiff();
/// let data = Dataset::new((0..64).map(|i| i as f32).collect(), [64, 1, 1], vec![1e3; 64], 1)?;
/// let mut model = Sequential::builder(Shape::sequence_of(1, 1)).add(FlattenConfig).add(DenseConfig::new(1)).build(&device)?;
/// let cfg = FitConfig::new(5).with_optimizer(OptimizerConfig::sgd(1e6)).with_verbosity(Verbosity::Quiet);
/// assert!(matches!(fit_in_place(&mut model, &data, None, &cfg), Err(TrainError::NonFinite { .. })));
/// let w = model.layers()[1].keras_weights()[0].to_vec()?;
/// assert!(w.iter().all(|v| v.is_finite()), "the last finite weights are kept");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fit_in_place<M: Model>(
    model: &mut M,
    train: &Dataset,
    valid: Option<&Dataset>,
    cfg: &FitConfig,
) -> Result<History, TrainError> {
    fit_in_place_with(model, train, valid, cfg, &mut [])
}

/// [`fit_with`] that updates `model` in place.
pub fn fit_in_place_with<M: Model>(
    model: &mut M,
    train: &Dataset,
    valid: Option<&Dataset>,
    cfg: &FitConfig,
    callbacks: &mut [&mut dyn Callback<M>],
) -> Result<History, TrainError> {
    let split;
    let (train, valid) = match (valid, cfg.validation_split) {
        (None, Some(fraction)) => {
            if !(fraction > 0.0 && fraction < 1.0) {
                return Err(TrainError::Config {
                    what: "validation_split",
                    why: format!("{fraction} is not in (0, 1)"),
                });
            }
            let held_out = ((train.len() as f64) * fraction).floor() as usize;
            if held_out == 0 || held_out == train.len() {
                return Err(TrainError::Config {
                    what: "validation_split",
                    why: format!("{fraction} of {} samples leaves an empty part", train.len()),
                });
            }
            split = train.split_at(train.len() - held_out);
            (&split.0, Some(&split.1))
        }
        _ => (train, valid),
    };
    validate(train, valid, cfg)?;
    let device = model.devices().into_iter().next().ok_or(TrainError::Config {
        what: "model",
        why: "has no parameters on any device".into(),
    })?;
    if !device.is_autodiff() {
        return Err(TrainError::Config {
            what: "device",
            why: "fit needs the model on an autodiff device: build it on `device.autodiff()`".into(),
        });
    }
    check_model_against_targets(&model.valid(), train, cfg.loss, &device.clone().inner())?;
    if let Some(v) = valid {
        check_model_against_targets(&model.valid(), v, cfg.loss, &device.clone().inner())?;
    }

    // The callbacks FitConfig switches on, then the caller's.
    let mut terminate_on_nan = TerminateOnNaN::new();
    let mut scheduler = cfg.lr_schedule.clone().map(LearningRateScheduler::new);
    let mut checkpoint = cfg.checkpoint_dir.clone().map(ModelCheckpoint::new);
    let mut early_stopping = cfg.early_stopping.map(EarlyStoppingCallback::new);
    let mut all: Vec<&mut dyn Callback<M>> = Vec::new();
    if cfg.terminate_on_nan {
        all.push(&mut terminate_on_nan);
    }
    if let Some(s) = scheduler.as_mut() {
        all.push(s);
    }
    if let Some(c) = checkpoint.as_mut() {
        all.push(c);
    }
    if let Some(e) = early_stopping.as_mut() {
        all.push(e);
    }
    all.extend(callbacks.iter_mut().map(|c| &mut **c));

    device.seed(cfg.seed);
    let mut optimizer = cfg.optimizer.init();
    let lr = cfg.optimizer.learning_rate();
    let mut history = History::default();
    let mut state = TrainState {
        model,
        optimizer: &mut optimizer,
        history: &mut history,
        next_epoch: 1,
    };
    for c in all.iter_mut() {
        c.on_train_begin(&mut state)?;
    }
    let steps = train.len().div_ceil(cfg.batch_size);
    'epochs: for epoch in state.next_epoch..=cfg.epochs {
        let start = Instant::now();
        for c in all.iter_mut() {
            c.on_epoch_begin(epoch, &mut state)?;
        }
        // Burn's generator (dropout masks) restarts from (seed, epoch) too, so a resumed run
        // draws the same masks as an uninterrupted one.
        device.seed(cfg.seed.wrapping_add(epoch as u64));
        // Each epoch's order depends only on (seed, epoch), so a resumed run shuffles the same.
        let mut order: Vec<usize> = (0..train.len()).collect();
        if cfg.shuffle {
            SplitMix64::new(cfg.seed ^ (epoch as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)).shuffle(&mut order);
        }
        // Each batch's loss (mean over the batch) and metric sums stay on the device until the
        // epoch ends: one read per epoch instead of a synchronization per step.
        let mut losses: Vec<Tensor<1>> = Vec::with_capacity(steps);
        let mut metric_sums: Vec<Vec<Tensor<1>>> = vec![Vec::with_capacity(steps); cfg.metrics.len()];
        let mut lr_now = lr;
        let mut progress = Progress::new(cfg.verbosity, steps);
        let mut stop = false;
        for (bi, idx) in order.chunks(cfg.batch_size).enumerate() {
            let step = (epoch - 1) * steps + bi;
            lr_now = all.iter_mut().fold(lr, |rate, c| c.learning_rate(rate, step, epoch));
            let (x, y) = train.batch(idx, &device)?;
            let pred = flat(state.model.forward_batch(x)?);
            if !cfg.metrics.is_empty() {
                // Metrics need no gradient: computed once per batch on the tensors without autodiff.
                let (pred, y) = (pred.clone().inner(), y.clone().inner());
                for (sums, m) in metric_sums.iter_mut().zip(&cfg.metrics) {
                    sums.push(m.batch_sum_tensor(pred.clone(), &y));
                }
            }
            let loss = cfg.loss.compute(pred, y);
            losses.push(loss.clone().inner());
            progress.batch(bi + 1, losses.last());
            let grads = GradientsParams::from_grads(loss.backward(), &*state.model);
            *state.model = state.optimizer.step(lr_now, state.model.clone(), grads);
            for c in all.iter_mut() {
                stop |= c.on_batch_end(epoch, bi + 1)? == Control::Stop;
            }
            if stop {
                break;
            }
        }
        progress.finish();
        // The epoch's figures, read once; summed on the host in batch order (weighted by the
        // batch sizes, as the per-batch losses are means).
        let batch_sizes: Vec<f64> = order.chunks(cfg.batch_size).map(|c| c.len() as f64).collect();
        let seen: f64 = batch_sizes.iter().take(losses.len()).sum();
        let loss_values = read_all(losses)?;
        let loss_sum: f64 = loss_values.iter().zip(&batch_sizes).map(|(l, n)| l * n).sum();
        state.history.loss.push(loss_sum / seen);
        state.history.lr.push(lr_now);
        for (m, sums) in cfg.metrics.iter().zip(metric_sums) {
            let total: f64 = read_all(sums)?.iter().sum();
            state
                .history
                .metrics
                .entry(m.name().into())
                .or_default()
                .push(total / seen);
        }
        if let Some(v) = valid {
            // Checked against the model once, before the first epoch.
            let eval = evaluate_unchecked(&state.model.valid(), v, cfg.batch_size, cfg.loss, &cfg.metrics)?;
            state.history.val_loss.push(eval.loss);
            for (m, val) in cfg.metrics.iter().zip(&eval.metrics) {
                state.history.val_metrics.entry(m.name().into()).or_default().push(*val);
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        state.history.seconds.push(seconds);
        if cfg.verbosity == Verbosity::Epoch {
            print_epoch(epoch, cfg, steps, seconds, state.history);
        }
        for c in all.iter_mut() {
            stop |= c.on_epoch_end(epoch, &mut state)? == Control::Stop;
        }
        if stop {
            break 'epochs;
        }
    }
    for c in all.iter_mut() {
        c.on_train_end(&mut state)?;
    }
    Ok(history)
}

/// One-element tensors read back in one transfer.
fn read_all(values: Vec<Tensor<1>>) -> Result<Vec<f64>, TrainError> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let all = Tensor::cat(values, 0).into_data().convert::<f64>();
    all.try_into_vec::<f64>().map_err(|e| TrainError::TensorRead {
        what: "the epoch's losses",
        source: std::sync::Arc::new(e),
    })
}

/// The live progress bar on a terminal: its loss is read from the device at most four times a
/// second (each read waits for the device).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last_read: Instant,
}

impl Progress {
    fn new(verbosity: Verbosity, steps: usize) -> Self {
        let bar = (verbosity == Verbosity::Epoch && std::io::stdout().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(steps as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{pos}/{len} [{bar:30}] {elapsed} - {msg}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar
        });
        Self {
            bar,
            last_read: Instant::now(),
        }
    }

    fn batch(&mut self, done: usize, loss: Option<&Tensor<1>>) {
        let Some(bar) = &self.bar else { return };
        bar.set_position(done as u64);
        if let Some(loss) = loss
            && self.last_read.elapsed().as_millis() >= 250
        {
            self.last_read = Instant::now();
            bar.set_message(format!("loss: {:.4}", loss.clone().into_scalar::<f32>()));
        }
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

fn print_epoch(epoch: usize, cfg: &FitConfig, steps: usize, seconds: f64, h: &History) {
    let mut line = format!(
        "Epoch {epoch}/{} - {steps}/{steps} - {:.1}s {:.0}ms/step - loss: {:.4}",
        cfg.epochs,
        seconds,
        seconds * 1000.0 / steps as f64,
        h.loss.last().copied().unwrap_or(f64::NAN)
    );
    for (name, v) in &h.metrics {
        line.push_str(&format!(" - {name}: {:.4}", v.last().copied().unwrap_or(f64::NAN)));
    }
    if let Some(v) = h.val_loss.last() {
        line.push_str(&format!(" - val_loss: {v:.4}"));
    }
    for (name, v) in &h.val_metrics {
        line.push_str(&format!(" - val_{name}: {:.4}", v.last().copied().unwrap_or(f64::NAN)));
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
