//! `Layer` (any rnnlab layer) and `Sequential`, with a Keras-style `summary()`.

use burn::module::Module;
use burn::tensor::{Bool, Device, Int, Tensor};

use crate::{
    AnyTensor, BatchNormalization, Bidirectional, Cell, Dense, Embedding, GruCell, KerasArray, LayerNormSimpleRnnCell,
    LayerNormalization, LayersError, LstmCell, MergeMode, Rnn, SimpleRnnCell,
};

/// Any rnnlab layer, so that models can be stacked as data (the lecture's `Sequential([...])`).
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Layer {
    /// `SimpleRNN`.
    SimpleRnn(Rnn<SimpleRnnCell>),
    /// `LSTM`.
    Lstm(Rnn<LstmCell>),
    /// `GRU`.
    Gru(Rnn<GruCell>),
    /// `RNN(LNSimpleRNNCell)`.
    LayerNormSimpleRnn(Rnn<LayerNormSimpleRnnCell>),
    /// `Bidirectional(SimpleRNN)`.
    BidirectionalSimpleRnn(Bidirectional<SimpleRnnCell>),
    /// `Bidirectional(LSTM)`.
    BidirectionalLstm(Bidirectional<LstmCell>),
    /// `Bidirectional(GRU)`.
    BidirectionalGru(Bidirectional<GruCell>),
    /// `Dense` (any rank).
    Dense(Dense),
    /// `TimeDistributed(Dense)` (the same numbers as `Dense` on `[batch, time, features]`).
    TimeDistributed(Dense),
    /// `Embedding`.
    Embedding(Embedding),
    /// `LayerNormalization`.
    LayerNorm(LayerNormalization),
    /// `BatchNormalization`.
    BatchNorm(BatchNormalization),
    /// `Flatten`: `[batch, time, features] -> [batch, time·features]`.
    Flatten(Flatten),
}

/// Keras `Flatten`.
#[derive(Module, Debug)]
pub struct Flatten {
    /// Unused marker (a module needs a field).
    pub start_dim: usize,
}

impl Default for Flatten {
    fn default() -> Self {
        Self { start_dim: 1 }
    }
}

/// What flows into a layer: floats, or token ids for `Embedding`.
#[derive(Clone, Debug)]
pub enum Input {
    /// Float features.
    Float(AnyTensor),
    /// Token ids `[batch, time]`.
    Tokens(Tensor<2, Int>),
}

impl From<Tensor<3>> for Input {
    fn from(t: Tensor<3>) -> Self {
        Input::Float(AnyTensor::D3(t))
    }
}

impl From<Tensor<2>> for Input {
    fn from(t: Tensor<2>) -> Self {
        Input::Float(AnyTensor::D2(t))
    }
}

impl From<Tensor<2, Int>> for Input {
    fn from(t: Tensor<2, Int>) -> Self {
        Input::Tokens(t)
    }
}

/// A layer's outputs (Keras order: output(s), then states) and the mask it passes on.
#[derive(Clone, Debug)]
pub struct LayerOutput {
    /// `[output]`, `[output, states…]` with `return_state`, two outputs for `merge_mode=None`.
    pub outputs: Vec<AnyTensor>,
    /// The mask for the next layer.
    pub mask: Option<Tensor<2, Bool>>,
}

fn float(input: Input, layer: &str) -> Result<AnyTensor, LayersError> {
    match input {
        Input::Float(t) => Ok(t),
        Input::Tokens(_) => Err(LayersError::InputKind {
            layer: layer.into(),
            got: "token ids".into(),
            hint: "put an Embedding first".into(),
        }),
    }
}

fn rnn_out<C: Module + Cell>(
    layer: &Rnn<C>,
    x: AnyTensor,
    init: Option<Vec<Tensor<2>>>,
    mask: Option<Tensor<2, Bool>>,
) -> Result<LayerOutput, LayersError> {
    let class = layer.cell.keras_class();
    let out = layer.forward(x.into_3d(class)?, init, mask.clone())?;
    let mut outputs = vec![match out.sequence {
        Some(s) => AnyTensor::D3(s),
        None => AnyTensor::D2(out.last),
    }];
    if layer.return_state {
        outputs.extend(out.states.into_iter().map(AnyTensor::D2));
    }
    Ok(LayerOutput {
        outputs,
        mask: if layer.return_sequences { mask } else { None },
    })
}

fn bi_out<C: Module + Cell>(
    layer: &Bidirectional<C>,
    x: AnyTensor,
    init: Option<Vec<Tensor<2>>>,
    mask: Option<Tensor<2, Bool>>,
) -> Result<LayerOutput, LayersError> {
    let out = layer.forward(x.into_3d("Bidirectional")?, init, mask.clone())?;
    let mut outputs = out.outputs;
    if layer.forward_layer.return_state {
        outputs.extend(
            out.forward_states
                .into_iter()
                .chain(out.backward_states)
                .map(AnyTensor::D2),
        );
    }
    Ok(LayerOutput {
        outputs,
        mask: if layer.forward_layer.return_sequences {
            mask
        } else {
            None
        },
    })
}

impl Layer {
    /// Keras's class name.
    pub fn keras_class(&self) -> String {
        match self {
            Layer::SimpleRnn(_) => "SimpleRNN".into(),
            Layer::Lstm(_) => "LSTM".into(),
            Layer::Gru(_) => "GRU".into(),
            Layer::LayerNormSimpleRnn(_) => "RNN".into(),
            Layer::BidirectionalSimpleRnn(_) | Layer::BidirectionalLstm(_) | Layer::BidirectionalGru(_) => {
                "Bidirectional".into()
            }
            Layer::Dense(_) => "Dense".into(),
            Layer::TimeDistributed(_) => "TimeDistributed".into(),
            Layer::Embedding(_) => "Embedding".into(),
            Layer::LayerNorm(_) => "LayerNormalization".into(),
            Layer::BatchNorm(_) => "BatchNormalization".into(),
            Layer::Flatten(_) => "Flatten".into(),
        }
    }

    /// Runs the layer. `initial_state` is only for recurrent layers.
    pub fn forward(
        &self,
        input: Input,
        mask: Option<Tensor<2, Bool>>,
        initial_state: Option<Vec<Tensor<2>>>,
    ) -> Result<LayerOutput, LayersError> {
        let class = self.keras_class();
        let same = |outputs: Vec<AnyTensor>, mask| Ok(LayerOutput { outputs, mask });
        match self {
            Layer::Embedding(e) => match input {
                Input::Tokens(ids) => {
                    let mask = e.mask(&ids);
                    same(vec![AnyTensor::D3(e.forward(ids)?)], mask)
                }
                Input::Float(_) => Err(LayersError::InputKind {
                    layer: class,
                    got: "float features".into(),
                    hint: "give it token ids (Tensor<2, Int>)".into(),
                }),
            },
            Layer::SimpleRnn(l) => rnn_out(l, float(input, &class)?, initial_state, mask),
            Layer::Lstm(l) => rnn_out(l, float(input, &class)?, initial_state, mask),
            Layer::Gru(l) => rnn_out(l, float(input, &class)?, initial_state, mask),
            Layer::LayerNormSimpleRnn(l) => rnn_out(l, float(input, &class)?, initial_state, mask),
            Layer::BidirectionalSimpleRnn(l) => bi_out(l, float(input, &class)?, initial_state, mask),
            Layer::BidirectionalLstm(l) => bi_out(l, float(input, &class)?, initial_state, mask),
            Layer::BidirectionalGru(l) => bi_out(l, float(input, &class)?, initial_state, mask),
            Layer::Dense(d) | Layer::TimeDistributed(d) => same(vec![d.forward_any(float(input, &class)?)?], mask),
            Layer::LayerNorm(n) => same(vec![n.forward_any(float(input, &class)?)?], mask),
            Layer::BatchNorm(n) => same(vec![n.forward_any(float(input, &class)?)?], mask),
            Layer::Flatten(_) => {
                let x = float(input, &class)?;
                let out = match x {
                    AnyTensor::D3(t) => {
                        let [b, s, f] = t.dims();
                        AnyTensor::D2(t.reshape([b, s * f]))
                    }
                    other => other,
                };
                same(vec![out], None)
            }
        }
    }

    /// The weights in Keras's `get_weights()` order.
    pub fn keras_weights(&self) -> Vec<AnyTensor> {
        match self {
            Layer::SimpleRnn(l) => l.cell.keras_weights(),
            Layer::Lstm(l) => l.cell.keras_weights(),
            Layer::Gru(l) => l.cell.keras_weights(),
            Layer::LayerNormSimpleRnn(l) => l.cell.keras_weights(),
            Layer::BidirectionalSimpleRnn(l) => bi_weights(l),
            Layer::BidirectionalLstm(l) => bi_weights(l),
            Layer::BidirectionalGru(l) => bi_weights(l),
            Layer::Dense(d) | Layer::TimeDistributed(d) => d.keras_weights(),
            Layer::Embedding(e) => e.keras_weights(),
            Layer::LayerNorm(n) => n.keras_weights(),
            Layer::BatchNorm(n) => n.keras_weights(),
            Layer::Flatten(_) => Vec::new(),
        }
    }

    /// Replaces the weights with Keras arrays in `get_weights()` order.
    pub fn with_keras_weights(self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError> {
        Ok(match self {
            Layer::SimpleRnn(mut l) => {
                l.cell = l.cell.with_keras_weights(arrays, device)?;
                Layer::SimpleRnn(l)
            }
            Layer::Lstm(mut l) => {
                l.cell = l.cell.with_keras_weights(arrays, device)?;
                Layer::Lstm(l)
            }
            Layer::Gru(mut l) => {
                l.cell = l.cell.with_keras_weights(arrays, device)?;
                Layer::Gru(l)
            }
            Layer::LayerNormSimpleRnn(mut l) => {
                l.cell = l.cell.with_keras_weights(arrays, device)?;
                Layer::LayerNormSimpleRnn(l)
            }
            Layer::BidirectionalSimpleRnn(l) => Layer::BidirectionalSimpleRnn(bi_set(l, arrays, device)?),
            Layer::BidirectionalLstm(l) => Layer::BidirectionalLstm(bi_set(l, arrays, device)?),
            Layer::BidirectionalGru(l) => Layer::BidirectionalGru(bi_set(l, arrays, device)?),
            Layer::Dense(d) => Layer::Dense(d.with_keras_weights(arrays, device)?),
            Layer::TimeDistributed(d) => Layer::TimeDistributed(d.with_keras_weights(arrays, device)?),
            Layer::Embedding(e) => Layer::Embedding(e.with_keras_weights(arrays, device)?),
            Layer::LayerNorm(n) => Layer::LayerNorm(n.with_keras_weights(arrays, device)?),
            Layer::BatchNorm(n) => Layer::BatchNorm(n.with_keras_weights(arrays, device)?),
            Layer::Flatten(f) => {
                crate::tensor::expect_arrays("Flatten", arrays, 0)?;
                Layer::Flatten(f)
            }
        })
    }

    /// Trainable parameters (Keras's `Param #`, which also counts BatchNormalization's moving statistics).
    pub fn param_count(&self) -> usize {
        match self {
            Layer::BatchNorm(n) => 4 * n.gamma.val().dims()[0],
            other => other.num_params(),
        }
    }

    /// The output feature size and whether the output still has a time axis, given the input's.
    pub(crate) fn output_shape(&self, features: usize, has_time: bool) -> (usize, bool) {
        match self {
            Layer::SimpleRnn(l) => (l.cell.units(), l.return_sequences),
            Layer::Lstm(l) => (l.cell.units(), l.return_sequences),
            Layer::Gru(l) => (l.cell.units(), l.return_sequences),
            Layer::LayerNormSimpleRnn(l) => (l.cell.units(), l.return_sequences),
            Layer::BidirectionalSimpleRnn(l) => bi_shape(l),
            Layer::BidirectionalLstm(l) => bi_shape(l),
            Layer::BidirectionalGru(l) => bi_shape(l),
            Layer::Dense(d) | Layer::TimeDistributed(d) => (d.kernel.val().dims()[1], has_time),
            Layer::Embedding(e) => (e.embeddings.val().dims()[1], true),
            Layer::LayerNorm(_) | Layer::BatchNorm(_) => (features, has_time),
            Layer::Flatten(_) => (features, false),
        }
    }
}

fn bi_shape<C: Module + Cell>(l: &Bidirectional<C>) -> (usize, bool) {
    let u = l.forward_layer.cell.units();
    let f = if l.merge_mode == MergeMode::Concat { 2 * u } else { u };
    (f, l.forward_layer.return_sequences)
}

fn bi_weights<C: Module + Cell>(l: &Bidirectional<C>) -> Vec<AnyTensor> {
    let mut w = l.forward_layer.cell.keras_weights();
    w.extend(l.backward_layer.cell.keras_weights());
    w
}

fn bi_set<C: Module + Cell>(
    mut l: Bidirectional<C>,
    arrays: &[KerasArray],
    device: &Device,
) -> Result<Bidirectional<C>, LayersError> {
    let n = arrays.len() / 2;
    if !arrays.len().is_multiple_of(2) {
        return Err(LayersError::Count {
            what: "Bidirectional weight arrays (even)".into(),
            expected: 2 * n,
            got: arrays.len(),
        });
    }
    l.forward_layer.cell = l.forward_layer.cell.with_keras_weights(&arrays[..n], device)?;
    l.backward_layer.cell = l.backward_layer.cell.with_keras_weights(&arrays[n..], device)?;
    Ok(l)
}

/// Layers applied in order, each to the previous one's first output, masks passed along.
///
/// ```
/// use rnnlab_layers::{Backend, DenseConfig, Layer, Sequential, SimpleRnnConfig};
/// use rnnlab_layers::burn::tensor::Tensor;
/// let device = Backend::Flex.device()?;
/// // The lecture's deep RNN: SimpleRNN(20, rs) · SimpleRNN(20) · Dense(1).
/// let model = Sequential::new(vec![
///     Layer::SimpleRnn(SimpleRnnConfig::new(1, 20).with_return_sequences(true).init(&device)?),
///     Layer::SimpleRnn(SimpleRnnConfig::new(20, 20).init(&device)?),
///     Layer::Dense(DenseConfig::new(20, 1).init(&device)?),
/// ]);
/// let y = model.forward1(Tensor::<3>::zeros([4, 50, 1], &device).into())?;
/// assert_eq!(y.dims(), [4, 1]);
/// assert_eq!(model.param_count(), 440 + 820 + 21);
/// assert!(model.summary(1).contains("Total params: 1,281"));
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Module, Debug)]
pub struct Sequential {
    /// The layers, in order.
    pub layers: Vec<Layer>,
}

impl Sequential {
    /// Stacks layers.
    pub fn new(layers: Vec<Layer>) -> Self {
        Self { layers }
    }

    /// Runs every layer; returns the last layer's outputs (Keras order).
    pub fn forward(&self, input: Input, initial_state: Option<Vec<Tensor<2>>>) -> Result<Vec<AnyTensor>, LayersError> {
        let mut input = input;
        let mut mask = None;
        let mut init = initial_state;
        let mut outputs = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let out = layer.forward(input, mask, init.take())?;
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

    /// Trainable parameters.
    pub fn param_count(&self) -> usize {
        self.layers.iter().map(Layer::param_count).sum()
    }

    /// Keras's `model.summary()` for an input with `input_features` features per step.
    pub fn summary(&self, input_features: usize) -> String {
        let mut lines = vec![
            "Model: \"sequential\"".to_string(),
            format!("{:<32}{:<26}{:>10}", "Layer (type)", "Output Shape", "Param #"),
            "=".repeat(68),
        ];
        let (mut features, mut has_time) = (input_features, true);
        for (i, layer) in self.layers.iter().enumerate() {
            (features, has_time) = layer.output_shape(features, has_time);
            let shape = if has_time {
                format!("(None, None, {features})")
            } else {
                format!("(None, {features})")
            };
            let name = format!("layer{i} ({})", layer.keras_class());
            lines.push(format!(
                "{name:<32}{shape:<26}{:>10}",
                group_thousands(layer.param_count())
            ));
        }
        lines.push("=".repeat(68));
        lines.push(format!("Total params: {}", group_thousands(self.param_count())));
        lines.join("\n")
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

impl Layer {
    /// For gradient checks: BatchNormalization's moving statistics become tracked leaves.
    pub fn with_tracked_statistics(self) -> Self {
        match self {
            Layer::BatchNorm(n) => Layer::BatchNorm(n.with_tracked_statistics()),
            other => other,
        }
    }
}
