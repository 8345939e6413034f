//! `Sequential`: any layers stacked in order, with shape inference and a Keras-style `summary()`.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::layer::{DynLayer, DynLayerConfig, boxed_layer};
use crate::{AnyTensor, Input, KerasArray, Layer, LayerConfig, LayersError, Shape, ValueKind};

/// Layers applied in order, each to the previous one's first output, masks passed along —
/// Keras's `Sequential`. It holds any [`Layer`] (built-in or a user's, e.g. `Rnn<MyCell>`) and is
/// one Burn [`Module`]: `rnnlab_train::fit` trains it, `save_weights` stores it.
///
/// The model knows its input shape; every layer's input size follows from the layer before,
/// so a model names only what the Keras code names:
///
/// ```
/// use rnnlab_layers::{Backend, DenseConfig, Sequential, Shape, SimpleRnnConfig};
/// use rnnlab_layers::burn::tensor::Tensor;
/// let device = Backend::Flex.device()?;
/// // keras.models.Sequential([SimpleRNN(20, return_sequences=True, input_shape=[None, 1]),
/// //                          SimpleRNN(20), Dense(1)])
/// let model = Sequential::builder(Shape::sequence(1))
///     .add(SimpleRnnConfig::new(20).with_return_sequences(true))
///     .add(SimpleRnnConfig::new(20))
///     .add(DenseConfig::new(1))
///     .build(&device)?;
/// let y = model.forward1(Tensor::<3>::zeros([4, 50, 1], &device).into())?;
/// assert_eq!(y.dims(), [4, 1]);
/// assert_eq!(model.param_count(), 440 + 820 + 21);
/// assert!(model.summary().contains("Total params: 1,281"));
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Module, Debug)]
pub struct Sequential {
    layers: Vec<Box<dyn DynLayer>>,
    #[module(skip)]
    input_shape: Shape,
    #[module(skip)]
    output_shape: Shape,
    /// Keras's fixed batch size (`batch_shape=(2, …)`), when the model has one.
    #[module(skip)]
    batch_size: Option<usize>,
}

/// The layers of a [`Sequential`] before they are built: [`add`](SequentialBuilder::add) lists
/// layer configs, [`build`](SequentialBuilder::build) infers every input size from the model's
/// input shape and initializes the weights.
#[must_use]
pub struct SequentialBuilder {
    input_shape: Shape,
    batch_size: Option<usize>,
    layers: Vec<Box<dyn DynLayerConfig>>,
}

impl SequentialBuilder {
    /// Appends a layer (Keras's `model.add(layer)`).
    #[allow(clippy::should_implement_trait)] // named after Keras's `add`; not an addition
    pub fn add<C: LayerConfig + 'static>(mut self, layer: C) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// Fixes the batch size (Keras's `Input(batch_size=…)` / `batch_shape`), what stateful
    /// layers need: row `i` of each call continues sequence `i`, so a stateful model refuses other
    /// batch sizes. A model without stateful layers keeps the size (model files write it) and
    /// runs any batch, as Keras does.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = Some(batch_size);
        self
    }

    /// Builds every layer for the shape the layer before outputs; a layer that cannot take it
    /// is an error naming the layer and the shape.
    pub fn build(self, device: &Device) -> Result<Sequential, LayersError> {
        let mut model = Sequential::new(self.input_shape).with_batch_size(self.batch_size)?;
        for config in &self.layers {
            let layer = config.init_boxed(&model.output_shape, device)?;
            model.push_boxed(layer)?;
        }
        Ok(model)
    }
}

impl Sequential {
    /// Starts a model for inputs of shape `input_shape` (without the batch axis).
    pub fn builder(input_shape: Shape) -> SequentialBuilder {
        SequentialBuilder {
            input_shape,
            batch_size: None,
            layers: Vec::new(),
        }
    }

    /// An empty model for inputs of shape `input_shape`; [`push`](Sequential::push) adds built
    /// layers.
    pub fn new(input_shape: Shape) -> Self {
        Self {
            layers: Vec::new(),
            output_shape: input_shape.clone(),
            input_shape,
            batch_size: None,
        }
    }

    /// The same model with a fixed batch size (`Some`) or any (`None`); see
    /// [`SequentialBuilder::batch_size`]. A batch size of 0 is an error.
    pub fn with_batch_size(mut self, batch_size: Option<usize>) -> Result<Self, LayersError> {
        if batch_size == Some(0) {
            return Err(LayersError::Config {
                what: "Sequential batch size".into(),
                why: "must be at least 1 (or None for any)".into(),
            });
        }
        self.batch_size = batch_size;
        Ok(self)
    }

    /// The fixed batch size, if the model has one.
    pub fn batch_size(&self) -> Option<usize> {
        self.batch_size
    }

    /// Whether any layer carries state between calls (Keras `stateful=True`).
    pub fn is_stateful(&self) -> bool {
        self.layers.iter().any(|l| l.is_stateful())
    }

    /// Keras's `reset_states()` on every layer: the next call of the stateful layers starts
    /// from zeros.
    ///
    /// ```
    /// use rnnlab_layers::{Backend, DenseConfig, LstmConfig, Sequential, Shape};
    /// use rnnlab_layers::burn::tensor::Tensor;
    /// let device = Backend::Flex.device()?;
    /// // Sequential([Input(batch_shape=(2, None, 1)), LSTM(8, stateful=True), Dense(1)])
    /// let model = Sequential::builder(Shape::sequence(1))
    ///     .batch_size(2)
    ///     .add(LstmConfig::new(8).with_stateful(true))
    ///     .add(DenseConfig::new(1))
    ///     .build(&device)?;
    /// let x = || Tensor::<3>::ones([2, 10, 1], &device) * 0.5;
    /// let first = model.forward1(x().into())?.to_vec()?;
    /// let next = model.forward1(x().into())?.to_vec()?; // continues both rows: not `first`
    /// assert_ne!(next, first);
    /// model.reset_states();
    /// assert_eq!(model.forward1(x().into())?.to_vec()?, first);
    /// assert!(model.forward1(Tensor::<3>::zeros([3, 10, 1], &device).into()).is_err()); // batch 2 only
    /// # Ok::<(), rnnlab_layers::LayersError>(())
    /// ```
    pub fn reset_states(&self) {
        for layer in &self.layers {
            layer.reset_states();
        }
    }

    /// Appends a built layer after checking that it takes what the model outputs so far.
    pub fn push<L: Layer>(&mut self, layer: L) -> Result<(), LayersError> {
        self.push_boxed(boxed_layer(layer)?)
    }

    /// [`push`](Sequential::push) for a layer already behind a pointer.
    pub fn push_boxed(&mut self, layer: Box<dyn DynLayer>) -> Result<(), LayersError> {
        self.output_shape = layer.output_shape(&self.output_shape)?;
        self.layers.push(layer);
        Ok(())
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn DynLayer>] {
        &self.layers
    }

    /// Layer `index` as its concrete type, when it is one.
    ///
    /// ```
    /// use rnnlab_layers::{Backend, Dense, DenseConfig, FlattenConfig, Sequential, Shape};
    /// let model = Sequential::builder(Shape::sequence_of(50, 1))
    ///     .add(FlattenConfig)
    ///     .add(DenseConfig::new(1))
    ///     .build(&Backend::Flex.device()?)?;
    /// assert_eq!(model.layer::<Dense>(1).map(|d| d.kernel.dims()), Some([50, 1]));
    /// assert!(model.layer::<Dense>(0).is_none());
    /// # Ok::<(), rnnlab_layers::LayersError>(())
    /// ```
    pub fn layer<L: Layer>(&self, index: usize) -> Option<&L> {
        self.layers.get(index)?.as_any().downcast_ref::<L>()
    }

    /// The input shape, without the batch axis.
    pub fn input_shape(&self) -> &Shape {
        &self.input_shape
    }

    /// The output shape of the first output, without the batch axis.
    pub fn output_shape(&self) -> Shape {
        self.output_shape.clone()
    }

    /// Runs every layer; returns the last layer's outputs (Keras order). An input whose shape
    /// or kind differs from the model's input shape is an error.
    pub fn forward(&self, input: Input, initial_state: Option<Vec<Tensor<2>>>) -> Result<Vec<AnyTensor>, LayersError> {
        let dims = input.dims();
        let kind = match input {
            Input::Float(_) => ValueKind::Float,
            Input::Tokens(_) => ValueKind::TokenIds,
        };
        // Enforced where it matters: a stateful model's rows continue its sequences.
        let batch_ok = self.batch_size.is_none_or(|b| dims.first() == Some(&b)) || !self.is_stateful();
        if kind != self.input_shape.kind() || !self.input_shape.accepts(&dims) || !batch_ok {
            return Err(LayersError::Shape {
                what: format!("Sequential input ({kind:?})"),
                expected: match self.batch_size {
                    None => format!("{} ({:?})", self.input_shape, self.input_shape.kind()),
                    Some(b) => format!(
                        "{} ({:?}) with a batch of exactly {b} (the model's fixed batch size)",
                        self.input_shape,
                        self.input_shape.kind()
                    ),
                },
                got: dims,
            });
        }
        let mut input = input;
        let mut mask = None;
        let mut init = initial_state;
        let mut outputs = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let out = layer.forward(input, init.take(), mask)?;
            mask = out.mask;
            outputs = out.outputs;
            if i + 1 < self.layers.len() {
                input = Input::Float(outputs[0].clone());
            } else {
                break;
            }
        }
        Ok(outputs)
    }

    /// The single output of a model that has one (the common case).
    pub fn forward1(&self, input: Input) -> Result<AnyTensor, LayersError> {
        self.forward(input, None)?
            .into_iter()
            .next()
            .ok_or(LayersError::Config {
                what: "Sequential".into(),
                why: "has no layers".into(),
            })
    }

    /// Keras's `count_params()`.
    pub fn param_count(&self) -> usize {
        self.layers.iter().map(|l| l.param_count()).sum()
    }

    /// Replaces every layer's weights with Keras arrays, one list per layer in
    /// `get_weights()` order.
    pub fn with_keras_weights(self, weights: &[Vec<KerasArray>], device: &Device) -> Result<Self, LayersError> {
        if weights.len() != self.layers.len() {
            return Err(LayersError::Count {
                what: "weight lists (one per layer)".into(),
                expected: self.layers.len(),
                got: weights.len(),
            });
        }
        let Sequential {
            layers,
            input_shape,
            output_shape,
            batch_size,
        } = self;
        let layers = layers
            .into_iter()
            .zip(weights)
            .map(|(layer, arrays)| layer.with_keras_weights(arrays, device))
            .collect::<Result<_, _>>()?;
        Ok(Sequential {
            layers,
            input_shape,
            output_shape,
            batch_size,
        })
    }

    /// Keras's `model.summary()`.
    pub fn summary(&self) -> String {
        let mut lines = vec![
            "Model: \"sequential\"".to_string(),
            format!("{:<32}{:<26}{:>10}", "Layer (type)", "Output Shape", "Param #"),
            "=".repeat(68),
        ];
        let mut shape = self.input_shape.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            // Every layer was checked against this shape when it was added.
            shape = layer.output_shape(&shape).unwrap_or_else(|_| shape.clone());
            let name = format!("layer{i} ({})", layer.keras_class());
            lines.push(format!(
                "{name:<32}{:<26}{:>10}",
                shape.to_string(),
                group_thousands(layer.param_count())
            ));
        }
        lines.push("=".repeat(68));
        lines.push(format!("Total params: {}", group_thousands(self.param_count())));
        lines.join("\n")
    }

    /// For gradient checks: BatchNormalization's moving statistics become tracked leaves.
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn with_tracked_statistics(mut self) -> Self {
        self.layers = self
            .layers
            .into_iter()
            .map(
                |layer| match layer.as_any().downcast_ref::<crate::BatchNormalization>() {
                    Some(bn) => Box::new(bn.clone().with_tracked_statistics()) as Box<dyn DynLayer>,
                    None => layer,
                },
            )
            .collect();
        self
    }
}

fn group_thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Sets every training flag in `module` (dropout, BatchNormalization) on or off, keeping the
/// device: `set_training(model, false)` gives inference behaviour on an autodiff device, e.g. to
/// take gradients of an inference pass. ([`Module::valid`] also drops autodiff.)
pub fn set_training<M: Module>(module: M, training: bool) -> M {
    struct FlagMapper(bool);
    impl burn::module::ModuleMapper for FlagMapper {
        fn map_flag(
            &mut self,
            flag: burn::module::Param<burn::module::Flag>,
        ) -> burn::module::Param<burn::module::Flag> {
            flag.with_value(self.0)
        }
    }
    module.map(&mut FlagMapper(training))
}
