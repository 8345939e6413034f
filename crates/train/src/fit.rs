//! `fit`, `evaluate`, `predict`.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use rnnlab_layers::{AnyTensor, Input, Sequential};
use rnnlab_series::Array;
use serde::{Deserialize, Serialize};

use crate::{Dataset, History, Loss, Metric, OptimizerConfig, SplitMix64, TrainError, checkpoint};

/// A model the training loop can drive: a batch of inputs (floats `[batch, time, features]` or
/// token ids `[batch, time]`) to its output (any rank, batch axis first). [`Sequential`]
/// implements it; so can any Burn module with a forward pass.
pub trait Model: Module {
    /// The forward pass.
    fn forward_batch(&self, x: Input) -> Result<AnyTensor, TrainError>;
}

impl Model for Sequential {
    fn forward_batch(&self, x: Input) -> Result<AnyTensor, TrainError> {
        Ok(self.forward1(x)?)
    }
}

/// A model output as `[batch, width]`: sequence outputs flattened row-major, as the targets are.
fn flat(output: AnyTensor) -> Tensor<2> {
    match output {
        AnyTensor::D2(t) => t,
        AnyTensor::D3(t) => {
            let [b, s, f] = t.dims();
            t.reshape([b, s * f])
        }
        AnyTensor::D1(t) => {
            let n = t.dims()[0];
            t.reshape([n, 1])
        }
    }
}

/// The host targets of the samples `idx`, as `f32` (for host-side metrics).
fn host_targets(data: &Dataset, idx: &[usize]) -> Vec<f32> {
    let (all, w) = (data.targets().as_f32(), data.y_width());
    idx.iter()
        .flat_map(|&i| all[i * w..(i + 1) * w].iter().copied())
        .collect()
}

/// How much `fit` prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verbosity {
    /// Nothing.
    Quiet,
    /// One Keras-like line per epoch.
    #[default]
    Epoch,
}

/// `fit`'s arguments, with Keras's defaults.
///
/// ```
/// use rnnlab_train::{FitConfig, OptimizerConfig};
/// let cfg = FitConfig::new(20).with_optimizer(OptimizerConfig::adam(0.005));
/// assert_eq!(cfg.batch_size, 32);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitConfig {
    /// Epochs.
    pub epochs: usize,
    /// Samples per batch (Keras default 32).
    pub batch_size: usize,
    /// Shuffle the samples (never the time steps) each epoch. Default `true`.
    pub shuffle: bool,
    /// Seed of the shuffling and of Burn's random draws (dropout).
    pub seed: u64,
    /// Loss (default MSE).
    pub loss: Loss,
    /// Metrics reported per epoch.
    pub metrics: Vec<Metric>,
    /// Optimizer (default Keras Adam, lr 0.001).
    pub optimizer: OptimizerConfig,
    /// Progress output.
    pub verbosity: Verbosity,
    /// Stop with [`TrainError::NonFinite`] when the loss is NaN/inf, keeping the last finite
    /// weights (Keras's `TerminateOnNaN`). Default `true`.
    pub terminate_on_nan: bool,
    /// Early stopping on `val_loss` (or `loss` without validation data).
    pub early_stopping: Option<EarlyStopping>,
    /// ModelCheckpoint + resume: after every epoch the weights, the optimizer state and the
    /// history are written here (each file to a temporary name, then renamed; `state.json`
    /// last). When the directory already holds a checkpoint, `fit` resumes after its epoch.
    pub checkpoint_dir: Option<std::path::PathBuf>,
    /// Learning-rate schedule (default: constant).
    pub lr_schedule: Option<LrSchedule>,
    /// Keras's `validation_split`: hold out this fraction of the training samples — the last
    /// ones, taken before any shuffling — as validation data (ignored when validation data is given).
    pub validation_split: Option<f64>,
}

/// A learning-rate schedule (Keras's `LearningRateSchedule` / `LearningRateScheduler`).
///
/// ```
/// use rnnlab_train::LrSchedule;
/// let s = LrSchedule::ExponentialDecay { decay_rate: 0.5, decay_steps: 10, staircase: true };
/// assert_eq!(s.learning_rate(0.01, 25, 1), 0.0025);
/// assert_eq!(LrSchedule::PerEpoch(vec![1.0, 0.1]).learning_rate(0.01, 0, 5), 0.001);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LrSchedule {
    /// `lr · decay_rate^(step / decay_steps)`, the exponent floored with `staircase`.
    ExponentialDecay {
        /// Factor per `decay_steps`.
        decay_rate: f64,
        /// Optimizer steps per decay.
        decay_steps: usize,
        /// Decay in whole steps.
        staircase: bool,
    },
    /// `lr · factors[epoch − 1]` (the last factor holds for later epochs).
    PerEpoch(Vec<f64>),
}

impl LrSchedule {
    /// Checks that the schedule can only produce finite positive rates: a decay rate or factors
    /// that are finite and positive, at least one decay step.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |why: String| {
            Err(TrainError::Config {
                what: "lr_schedule",
                why,
            })
        };
        match self {
            LrSchedule::ExponentialDecay {
                decay_rate,
                decay_steps,
                ..
            } => {
                if !(decay_rate.is_finite() && *decay_rate > 0.0) {
                    return bad(format!("decay_rate {decay_rate} must be finite and positive"));
                }
                if *decay_steps == 0 {
                    return bad("decay_steps must be at least 1".into());
                }
            }
            LrSchedule::PerEpoch(factors) => {
                if let Some((i, f)) = factors.iter().enumerate().find(|(_, f)| !(f.is_finite() && **f > 0.0)) {
                    return bad(format!("factor {i} is {f}; every factor must be finite and positive"));
                }
            }
        }
        Ok(())
    }

    /// The rate for a 0-based optimizer `step` in a 1-based `epoch`.
    pub fn learning_rate(&self, base: f64, step: usize, epoch: usize) -> f64 {
        match self {
            LrSchedule::ExponentialDecay {
                decay_rate,
                decay_steps,
                staircase,
            } => {
                let p = step as f64 / (*decay_steps).max(1) as f64;
                base * decay_rate.powf(if *staircase { p.floor() } else { p })
            }
            LrSchedule::PerEpoch(f) => base * f.get(epoch.saturating_sub(1)).or(f.last()).copied().unwrap_or(1.0),
        }
    }
}

/// Keras's `EarlyStopping(monitor="val_loss")`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Minimum decrease that counts as an improvement.
    pub min_delta: f64,
    /// Return the best epoch's weights instead of the last.
    pub restore_best_weights: bool,
}

impl FitConfig {
    /// `epochs` with every other setting at its default.
    pub fn new(epochs: usize) -> Self {
        Self {
            epochs,
            batch_size: 32,
            shuffle: true,
            seed: 42,
            loss: Loss::Mse,
            metrics: Vec::new(),
            optimizer: OptimizerConfig::adam(0.001),
            verbosity: Verbosity::Epoch,
            terminate_on_nan: true,
            early_stopping: None,
            checkpoint_dir: None,
            lr_schedule: None,
            validation_split: None,
        }
    }
    /// Holds out the last `fraction` of the training samples for validation.
    pub fn with_validation_split(mut self, fraction: f64) -> Self {
        self.validation_split = Some(fraction);
        self
    }
    /// Sets a learning-rate schedule.
    pub fn with_lr_schedule(mut self, s: LrSchedule) -> Self {
        self.lr_schedule = Some(s);
        self
    }
    /// Checkpoints every epoch into `dir` and resumes from it (see [`FitConfig::checkpoint_dir`]).
    pub fn with_checkpoint_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.checkpoint_dir = Some(dir.into());
        self
    }
    /// Sets the optimizer.
    pub fn with_optimizer(mut self, o: OptimizerConfig) -> Self {
        self.optimizer = o;
        self
    }
    /// Sets the metrics.
    pub fn with_metrics(mut self, m: Vec<Metric>) -> Self {
        self.metrics = m;
        self
    }
    /// Sets the loss.
    pub fn with_loss(mut self, l: Loss) -> Self {
        self.loss = l;
        self
    }
    /// Sets the batch size.
    pub fn with_batch_size(mut self, b: usize) -> Self {
        self.batch_size = b;
        self
    }
    /// Sets the seed.
    pub fn with_seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }
    /// Sets the verbosity.
    pub fn with_verbosity(mut self, v: Verbosity) -> Self {
        self.verbosity = v;
        self
    }
    /// Sets early stopping.
    pub fn with_early_stopping(mut self, e: EarlyStopping) -> Self {
        self.early_stopping = Some(e);
        self
    }
}

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
fn check_metrics(metrics: &[Metric], y_width: usize) -> Result<(), TrainError> {
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
fn check_model_against_targets<M: Model>(
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

/// TerminateOnNaN: puts back the weights from before the last optimizer step (when there was
/// one) and returns the error naming what went non-finite.
fn stop_non_finite<M>(
    model: &mut M,
    last_good: &mut Option<M>,
    what: &'static str,
    (epoch, batch): (usize, usize),
    value: f64,
) -> TrainError {
    if let Some(good) = last_good.take() {
        *model = good;
    }
    TrainError::NonFinite {
        what,
        epoch,
        batch,
        value,
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
    let mut model = model;
    let history = fit_in_place(&mut model, train, valid, cfg)?;
    Ok((model, history))
}

/// [`fit`] that updates `model` in place, as Keras does. When training stops with an error
/// (TerminateOnNaN: [`TrainError::NonFinite`]), `model` holds the last finite weights — the ones
/// from before the batch whose loss was not finite.
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
    device.seed(cfg.seed);
    let mut optim = cfg.optimizer.init();
    let lr = cfg.optimizer.learning_rate();
    let mut history = History::default();
    let mut last_good: Option<M> = None;
    let mut first_epoch = 1;
    if let Some(dir) = &cfg.checkpoint_dir
        && let Some(state) = checkpoint::read(dir)?
    {
        *model = checkpoint::load_model(model.clone(), dir, &state)?;
        optim = checkpoint::load_optimizer(optim, dir, &state)?;
        first_epoch = state.epoch + 1; // below usize::MAX: one history entry per epoch
        history = state.history;
    }
    let steps = train.len().div_ceil(cfg.batch_size);
    let (mut best, mut best_model, mut waited) = (f64::INFINITY, None, 0usize);
    for epoch in first_epoch..=cfg.epochs {
        let start = Instant::now();
        // Burn's generator (dropout masks) restarts from (seed, epoch) too, so a resumed run
        // draws the same masks as an uninterrupted one.
        device.seed(cfg.seed.wrapping_add(epoch as u64));
        // Each epoch's order depends only on (seed, epoch), so a resumed run shuffles the same.
        let mut order: Vec<usize> = (0..train.len()).collect();
        if cfg.shuffle {
            SplitMix64::new(cfg.seed ^ (epoch as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)).shuffle(&mut order);
        }
        let mut loss_sum = 0.0;
        let mut metric_sums = vec![0.0; cfg.metrics.len()];
        let mut lr_now = lr;
        // A live bar on a terminal; plain lines (below) otherwise.
        let bar = (cfg.verbosity == Verbosity::Epoch && std::io::stdout().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(steps as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{pos}/{len} [{bar:30}] {elapsed} - {msg}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar
        });
        for (bi, idx) in order.chunks(cfg.batch_size).enumerate() {
            lr_now = match &cfg.lr_schedule {
                Some(s) => s.learning_rate(lr, (epoch - 1) * steps + bi, epoch),
                None => lr,
            };
            let (x, y) = train.batch(idx, &device)?;
            let pred = flat(model.forward_batch(x)?);
            let loss = cfg.loss.compute(pred.clone(), y);
            let value = f64::from(loss.clone().into_scalar::<f32>());
            if cfg.terminate_on_nan && !value.is_finite() {
                // The current weights produced a non-finite loss: go back to the ones before the
                // last update, which produced a finite one.
                return Err(stop_non_finite(model, &mut last_good, "loss", (epoch, bi + 1), value));
            }
            if !cfg.metrics.is_empty() {
                let pred_width = pred.dims()[1];
                let p = read_f32(pred.detach(), "predictions")?;
                let t = host_targets(train, idx);
                for (s, m) in metric_sums.iter_mut().zip(&cfg.metrics) {
                    *s += m.batch_sum(&p, pred_width, &t, train.y_width());
                }
            }
            loss_sum += value * idx.len() as f64;
            if let Some(bar) = &bar {
                let seen = (bi * cfg.batch_size + idx.len()) as f64;
                bar.set_message(format!("loss: {:.4}", loss_sum / seen));
                bar.inc(1);
            }
            let grads = GradientsParams::from_grads(loss.backward(), &*model);
            last_good = Some(model.clone()); // cheap: parameters are reference-counted
            *model = optim.step(lr_now, model.clone(), grads);
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        // A step can leave non-finite weights without a non-finite loss in this epoch (the
        // epoch's last step): check them once per epoch, before anything is written.
        if cfg.terminate_on_nan && !weights_finite(&*model) {
            return Err(stop_non_finite(
                model,
                &mut last_good,
                "weights",
                (epoch, steps),
                f64::NAN,
            ));
        }
        history.loss.push(loss_sum / train.len() as f64);
        history.lr.push(lr_now);
        for (m, s) in cfg.metrics.iter().zip(&metric_sums) {
            history
                .metrics
                .entry(m.name().into())
                .or_default()
                .push(s / train.len() as f64);
        }
        if let Some(v) = valid {
            // Checked against the model once, before the first epoch.
            let eval = evaluate_unchecked(&model.valid(), v, cfg.batch_size, cfg.loss, &cfg.metrics)?;
            if cfg.terminate_on_nan && !eval.loss.is_finite() {
                return Err(stop_non_finite(
                    model,
                    &mut last_good,
                    "val_loss",
                    (epoch, steps),
                    eval.loss,
                ));
            }
            history.val_loss.push(eval.loss);
            for (m, val) in cfg.metrics.iter().zip(&eval.metrics) {
                history.val_metrics.entry(m.name().into()).or_default().push(*val);
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        history.seconds.push(seconds);
        if cfg.verbosity == Verbosity::Epoch {
            print_epoch(epoch, cfg, steps, seconds, &history);
        }
        if let Some(dir) = &cfg.checkpoint_dir {
            checkpoint::write(dir, epoch, &*model, &optim, &history)?;
        }
        if let Some(es) = cfg.early_stopping {
            let monitored = *history.val_loss.last().or(history.loss.last()).expect("one epoch ran");
            if monitored < best - es.min_delta {
                best = monitored;
                waited = 0;
                if es.restore_best_weights {
                    best_model = Some(model.clone());
                }
            } else {
                waited += 1;
                if waited > es.patience {
                    if let Some(m) = best_model.take() {
                        *model = m;
                    }
                    break;
                }
            }
        }
    }
    Ok(history)
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

/// Loss and metrics over a data set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The loss.
    pub loss: f64,
    /// The metrics, in the order asked for.
    pub metrics: Vec<f64>,
}

/// Keras's `evaluate`: the loss and metrics in batches. The model runs in inference mode
/// whatever state it is given in (dropout off, BatchNormalization on its moving statistics, no
/// statistic updates, no autodiff), so passing the training model is safe.
///
/// ```
/// use rnnlab_layers::{Backend, DenseConfig, FlattenConfig, Sequential, Shape};
/// use rnnlab_train::{evaluate, Dataset, Loss};
/// let device = Backend::Flex.device()?.autodiff();
/// let model = Sequential::builder(Shape::sequence_of(2, 1)).add(FlattenConfig).add(DenseConfig::new(1)).build(&device)?;
/// let data = Dataset::new(vec![1.0, 2.0, 3.0, 4.0], [2, 2, 1], vec![0.0, 0.0], 1)?;
/// let once = evaluate(&model, &data, 32, Loss::Mse, &[])?;
/// assert_eq!(once, evaluate(&model, &data, 32, Loss::Mse, &[])?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn evaluate<M: Model>(
    model: &M,
    data: &Dataset,
    batch_size: usize,
    loss: Loss,
    metrics: &[Metric],
) -> Result<Evaluation, TrainError> {
    if data.is_empty() {
        return Err(TrainError::Empty("the data to evaluate"));
    }
    check_metrics(metrics, data.y_width())?;
    let model = model.valid();
    let device = model.devices().into_iter().next().unwrap_or_default();
    check_model_against_targets(&model, data, loss, &device)?;
    evaluate_unchecked(&model, data, batch_size, loss, metrics)
}

/// [`evaluate`] of a model already in inference mode, on data already checked against it and
/// the metrics (`fit`'s validation data, every epoch).
fn evaluate_unchecked<M: Model>(
    model: &M,
    data: &Dataset,
    batch_size: usize,
    loss: Loss,
    metrics: &[Metric],
) -> Result<Evaluation, TrainError> {
    let device = model.devices().into_iter().next().unwrap_or_default();
    let pred = predict_rows(model, data, batch_size)?;
    let n = data.len();
    let pw = pred.len() / n;
    let p = Tensor::<2>::from_data(burn::tensor::TensorData::new(pred.clone(), [n, pw]), &device);
    let idx: Vec<usize> = (0..n).collect();
    let t = data.target_batch(&idx, &device);
    let loss = f64::from(loss.compute(p, t).into_scalar::<f32>());
    let targets = data.targets().as_f32();
    let metrics = metrics
        .iter()
        .map(|m| m.batch_sum(&pred, pw, &targets, data.y_width()) / n as f64)
        .collect();
    Ok(Evaluation { loss, metrics })
}

/// Keras's `predict`: the model's outputs for every sample, in batches, as an array of shape
/// `[n, …]` (the model's output shape). Like [`evaluate`], it runs the model in inference mode
/// whatever state it is given in.
///
/// ```
/// use rnnlab_layers::{Backend, DenseConfig, Sequential, Shape, TimeDistributedConfig};
/// use rnnlab_train::{predict, Dataset};
/// let device = Backend::Flex.device()?;
/// let model = Sequential::builder(Shape::sequence(1)).add(TimeDistributedConfig::new(DenseConfig::new(3))).build(&device)?;
/// let data = Dataset::new(vec![0.5; 2 * 4], [2, 4, 1], vec![0.0; 2 * 12], 12)?;
/// let y = predict(&model, &data, 32)?;
/// assert_eq!(y.shape(), &[2, 4, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn predict<M: Model>(model: &M, data: &Dataset, batch_size: usize) -> Result<Array, TrainError> {
    let model = model.valid();
    let mut shape = Vec::new();
    let values = predict_batches(&model, data, batch_size, &mut shape)?;
    Array::new(shape, values).map_err(|e| TrainError::Config {
        what: "model output",
        why: format!("batches of different shapes: {e}"),
    })
}

/// Every sample's output flattened to one row (the model is already in inference mode).
fn predict_rows<M: Model>(model: &M, data: &Dataset, batch_size: usize) -> Result<Vec<f32>, TrainError> {
    predict_batches(model, data, batch_size, &mut Vec::new())
}

/// Runs `model` over `data` in batches; `shape` gets the output shape with the sample axis.
fn predict_batches<M: Model>(
    model: &M,
    data: &Dataset,
    batch_size: usize,
    shape: &mut Vec<usize>,
) -> Result<Vec<f32>, TrainError> {
    if batch_size == 0 {
        return Err(TrainError::Config {
            what: "batch_size",
            why: "must be at least 1".into(),
        });
    }
    let device = model.devices().into_iter().next().unwrap_or_default();
    let idx: Vec<usize> = (0..data.len()).collect();
    let mut out = Vec::with_capacity(data.len() * data.y_width());
    for chunk in idx.chunks(batch_size) {
        let (x, _) = data.batch(chunk, &device)?;
        let y = model.forward_batch(x)?;
        if shape.is_empty() {
            *shape = y.dims();
            shape[0] = data.len();
        }
        out.extend(match y {
            AnyTensor::D1(t) => read_f32(t, "predictions")?,
            AnyTensor::D2(t) => read_f32(t, "predictions")?,
            AnyTensor::D3(t) => read_f32(t, "predictions")?,
        });
    }
    Ok(out)
}

/// A tensor's values as `f32` on the host; a read failure is an error, never an empty vector.
fn read_f32<const D: usize>(t: Tensor<D>, what: &'static str) -> Result<Vec<f32>, TrainError> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| TrainError::TensorRead {
            what,
            source: std::sync::Arc::new(e),
        })
}
