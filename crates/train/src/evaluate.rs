//! `evaluate` and `predict`: the model in inference mode, in batches.

use burn::tensor::Tensor;
use rnnlab_layers::AnyTensor;
use rnnlab_series::Array;
use serde::{Deserialize, Serialize};

use crate::fit::{check_metrics, check_model_against_targets};
use crate::{Dataset, Loss, Metric, Model, TrainError};

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
pub(crate) fn evaluate_unchecked<M: Model>(
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
    // Host copies of the targets only for metrics (sliding windows would be cut again).
    let metrics = if metrics.is_empty() {
        Vec::new()
    } else {
        let targets = data.targets().as_f32();
        metrics
            .iter()
            .map(|m| m.batch_sum(&pred, pw, &targets, data.y_width()) / n as f64)
            .collect()
    };
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
