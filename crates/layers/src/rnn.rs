//! The `Rnn<C>` driver: runs any [`Cell`] over a sequence with Keras's semantics.

use burn::module::{Flag, Module, Param};
use burn::tensor::{Bool, Device, Distribution, Tensor};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::carried_state::CarriedState;
use crate::cell::sealed::Sealed;
use crate::{
    AnyTensor, Cell, CellConfig, Input, KerasArray, Layer, LayerConfig, LayerOutput, LayersError, ScanMode, Shape, scan,
};

/// The [`RnnOptions`] of anything with the six option fields (layer configs and [`Rnn`]).
macro_rules! rnn_options_of {
    ($c:expr) => {
        $crate::RnnOptions {
            return_sequences: $c.return_sequences,
            return_state: $c.return_state,
            go_backwards: $c.go_backwards,
            dropout: $c.dropout,
            recurrent_dropout: $c.recurrent_dropout,
            stateful: $c.stateful,
            scan: $c.scan,
        }
    };
}
pub(crate) use rnn_options_of;

/// Sequence options shared by every recurrent layer (Keras's `RNN` arguments).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RnnOptions {
    /// Output every step `[batch, time, units]` instead of the last `[batch, units]`.
    pub return_sequences: bool,
    /// Keras's flag for also returning the final states. [`RnnOutput::states`] always has them;
    /// the flag tells containers ([`Sequential`](crate::Sequential), summaries) to expose them.
    pub return_state: bool,
    /// Process steps `T-1 … 0`; sequence outputs stay in processing order (Keras).
    pub go_backwards: bool,
    /// Input dropout rate (training only), one mask per sequence reused at every step.
    pub dropout: f64,
    /// Dropout rate on the previous `h` (training only), one mask per sequence; per gate for
    /// LSTM/GRU as Keras 3 does.
    pub recurrent_dropout: f64,
    /// Keras's `stateful=True`: each call starts from the final states of the previous call
    /// (row `i` of a batch continues row `i` of the last one) instead of zeros, until
    /// [`Rnn::reset_states`]. Batches must keep the size of the first call after a reset.
    /// An explicit `initial_state` still takes precedence, as in Keras.
    pub stateful: bool,
    /// Which time loop runs the layer (fused op or per-step tensor ops); see [`ScanMode`].
    pub scan: ScanMode,
}

impl RnnOptions {
    /// `return_sequences = true`, everything else default.
    pub fn sequences() -> Self {
        Self {
            return_sequences: true,
            ..Self::default()
        }
    }
}

/// What a recurrent layer returns.
#[derive(Clone, Debug)]
pub struct RnnOutput {
    /// Every step's output `[batch, time, units]`, in processing order (only with `return_sequences`).
    pub sequence: Option<Tensor<3>>,
    /// The last processed step's output `[batch, units]` (with masks: carried from the last real step).
    pub last: Tensor<2>,
    /// The final states (`[h]`, or `[h, c]` for LSTM), each `[batch, units]`.
    pub states: Vec<Tensor<2>>,
}

/// A recurrent layer: a [`Cell`] driven over time.
///
/// The input projection of every time step is one matmul before the loop. The loop itself runs
/// either as one fused op (built-in cells on flex/ndarray: hand-written backward through time) or
/// as per-step tensor ops (every other cell or backend); [`ScanMode`] picks, and both give the
/// same numbers.
///
/// The options are fixed when the layer is built ([`Rnn::new`] checks them); read them with
/// [`options`](Rnn::options), change them with [`with_options`](Rnn::with_options).
#[derive(Module, Debug)]
pub struct Rnn<C: Cell> {
    cell: C,
    return_sequences: bool,
    return_state: bool,
    go_backwards: bool,
    dropout: f64,
    recurrent_dropout: f64,
    stateful: bool,
    #[module(skip)]
    scan: ScanMode,
    /// The previous call's final states, when `stateful`.
    #[module(skip)]
    carried: CarriedState,
    /// Training flag: dropout is active only when set *and* the input is on an autodiff device.
    training: Param<Flag>,
}

/// Keras's `RNN(cell, …)`: a recurrent layer of any [`CellConfig`], with the input size taken
/// from the model.
///
/// ```
/// use rnnlab_layers::{Backend, LayerNormSimpleRnnCellConfig, RnnConfig, Sequential, Shape};
/// // keras.layers.RNN(LNSimpleRNNCell(20), return_sequences=True, input_shape=[None, 1])
/// let model = Sequential::builder(Shape::sequence(1))
///     .add(RnnConfig::new(LayerNormSimpleRnnCellConfig::new(20)).with_return_sequences(true))
///     .build(&Backend::Flex.device()?)?;
/// assert_eq!(model.output_shape(), Shape::sequence(20));
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RnnConfig<C> {
    /// The cell's config.
    pub cell: C,
    /// The layer options (Keras's `RNN` arguments).
    pub options: RnnOptions,
}

impl<C> RnnConfig<C> {
    /// A layer of `cell` with Keras's default options.
    pub fn new(cell: C) -> Self {
        Self {
            cell,
            options: RnnOptions::default(),
        }
    }
    /// Sets all options.
    pub fn with_options(mut self, options: RnnOptions) -> Self {
        self.options = options;
        self
    }
    /// See [`RnnOptions::return_sequences`].
    pub fn with_return_sequences(mut self, on: bool) -> Self {
        self.options.return_sequences = on;
        self
    }
    /// See [`RnnOptions::return_state`].
    pub fn with_return_state(mut self, on: bool) -> Self {
        self.options.return_state = on;
        self
    }
    /// See [`RnnOptions::go_backwards`].
    pub fn with_go_backwards(mut self, on: bool) -> Self {
        self.options.go_backwards = on;
        self
    }
    /// See [`RnnOptions::dropout`].
    pub fn with_dropout(mut self, rate: f64) -> Self {
        self.options.dropout = rate;
        self
    }
    /// See [`RnnOptions::recurrent_dropout`].
    pub fn with_recurrent_dropout(mut self, rate: f64) -> Self {
        self.options.recurrent_dropout = rate;
        self
    }
    /// See [`RnnOptions::stateful`].
    pub fn with_stateful(mut self, on: bool) -> Self {
        self.options.stateful = on;
        self
    }
    /// See [`RnnOptions::scan`].
    pub fn with_scan(mut self, scan: ScanMode) -> Self {
        self.options.scan = scan;
        self
    }
}

impl<C: CellConfig> LayerConfig for RnnConfig<C> {
    type Layer = Rnn<C::Cell>;

    fn init(&self, input: &Shape, device: &Device) -> Result<Rnn<C::Cell>, LayersError> {
        let features = input.sequence_features("RNN")?;
        Rnn::new(self.cell.init_cell(features, device)?, self.options)
    }
}

/// The built-in layer configs (`SimpleRnnConfig`, …) are cell configs with the layer options
/// inside; this makes each one a [`LayerConfig`] too.
macro_rules! recurrent_layer_config {
    ($config:ty, $class:literal) => {
        impl $crate::LayerConfig for $config {
            type Layer = $crate::Rnn<<$config as $crate::CellConfig>::Cell>;

            fn init(
                &self,
                input: &$crate::Shape,
                device: &burn::tensor::Device,
            ) -> Result<Self::Layer, $crate::LayersError> {
                let features = input.sequence_features($class)?;
                $crate::Rnn::new(
                    $crate::CellConfig::init_cell(self, features, device)?,
                    self.options(),
                )
            }
        }
    };
}
pub(crate) use recurrent_layer_config;

fn check_rate(what: &str, rate: f64) -> Result<(), LayersError> {
    if !(0.0..1.0).contains(&rate) {
        return Err(LayersError::Config {
            what: what.into(),
            why: format!("{rate} is not in [0, 1)"),
        });
    }
    Ok(())
}

/// An inverted-dropout mask: 0 or `1 / (1 - rate)`.
pub(crate) fn dropout_mask(shape: [usize; 2], rate: f64, device: &Device) -> Tensor<2> {
    Tensor::<2>::random(shape, Distribution::Bernoulli(1.0 - rate), device) * (1.0 / (1.0 - rate))
}

impl<C: Cell> Rnn<C> {
    /// Wraps a cell.
    pub fn new(cell: C, options: RnnOptions) -> Result<Self, LayersError> {
        check_rate("dropout", options.dropout)?;
        check_rate("recurrent_dropout", options.recurrent_dropout)?;
        if cell.units() == 0 {
            return Err(LayersError::Config {
                what: "units".into(),
                why: "must be at least 1".into(),
            });
        }
        Ok(Self {
            cell,
            return_sequences: options.return_sequences,
            return_state: options.return_state,
            go_backwards: options.go_backwards,
            dropout: options.dropout,
            recurrent_dropout: options.recurrent_dropout,
            stateful: options.stateful,
            scan: options.scan,
            carried: CarriedState::default(),
            training: Param::from_bool(true),
        })
    }

    /// The options this layer was built with.
    pub fn options(&self) -> RnnOptions {
        rnn_options_of!(self)
    }

    /// The same layer with other options, checked as [`Rnn::new`] checks them.
    pub fn with_options(self, options: RnnOptions) -> Result<Self, LayersError> {
        let training = self.training.clone();
        let carried = self.carried;
        let mut layer = Self::new(self.cell, options)?;
        layer.training = training;
        if options.stateful {
            layer.carried = carried;
        }
        Ok(layer)
    }

    /// The cell (its weights).
    pub fn cell(&self) -> &C {
        &self.cell
    }

    /// The cell, to change its weights.
    pub fn cell_mut(&mut self) -> &mut C {
        &mut self.cell
    }

    /// Runs the layer.
    ///
    /// - `x`: `[batch, time, features]`;
    /// - `initial_state`: `state_count` tensors `[batch, units]` (zeros when `None`);
    /// - `mask`: `[batch, time]`, `true` where a step is real (Keras masking: masked steps carry
    ///   the state and repeat the previous output).
    ///
    /// Shape mistakes are typed errors.
    pub fn forward(
        &self,
        x: Tensor<3>,
        initial_state: Option<Vec<Tensor<2>>>,
        mask: Option<Tensor<2, Bool>>,
    ) -> Result<RnnOutput, LayersError> {
        self.run(x, initial_state, mask, false)
    }

    /// [`forward`](Self::forward) with Keras's `zero_output_for_mask`: masked steps output 0
    /// (what `Bidirectional` does when it returns sequences).
    pub fn run(
        &self,
        x: Tensor<3>,
        initial_state: Option<Vec<Tensor<2>>>,
        mask: Option<Tensor<2, Bool>>,
        zero_output_for_mask: bool,
    ) -> Result<RnnOutput, LayersError> {
        self.run_reading_states(x, initial_state, mask, zero_output_for_mask, true)
    }

    /// [`run`](Self::run), where `final_states` says whether the caller reads
    /// [`RnnOutput::states`]: without, they may be left empty (a stateful layer keeps them
    /// anyway), which spares the fused op their rows.
    fn run_reading_states(
        &self,
        x: Tensor<3>,
        initial_state: Option<Vec<Tensor<2>>>,
        mask: Option<Tensor<2, Bool>>,
        zero_output_for_mask: bool,
        final_states: bool,
    ) -> Result<RnnOutput, LayersError> {
        if !self.stateful {
            return self.run_from(x, initial_state, mask, zero_output_for_mask, final_states);
        }
        let initial_state = match initial_state {
            Some(states) => Some(states),
            None => self
                .carried
                .take_for(self.cell.keras_class(), x.dims()[0], &x.device())?,
        };
        let out = self.run_from(x, initial_state, mask, zero_output_for_mask, true)?;
        self.carried.keep(&out.states);
        Ok(out)
    }

    /// Whether the layer carries its state between calls ([`RnnOptions::stateful`]).
    pub fn is_stateful(&self) -> bool {
        self.stateful
    }

    /// Keras's `reset_states()`: the next call of a stateful layer starts from zeros (and may
    /// take another batch size).
    ///
    /// ```
    /// use rnnlab_layers::{Backend, LayerConfig, Shape, SimpleRnnConfig};
    /// use rnnlab_layers::burn::tensor::Tensor;
    /// let device = Backend::Flex.device()?;
    /// let layer = SimpleRnnConfig::new(4).with_stateful(true).init(&Shape::sequence(1), &device)?;
    /// let x = Tensor::<3>::ones([2, 5, 1], &device);
    /// let first = layer.forward(x.clone(), None, None)?.last;
    /// let carried_on = layer.forward(x.clone(), None, None)?.last; // starts where `first` ended
    /// assert!(first.clone().sub(carried_on).abs().max().into_scalar::<f32>() > 1e-4);
    /// layer.reset_states();
    /// let again = layer.forward(x, None, None)?.last;
    /// assert_eq!(first.into_data(), again.into_data());
    /// # Ok::<(), rnnlab_layers::LayersError>(())
    /// ```
    pub fn reset_states(&self) {
        self.carried.reset();
    }

    /// The states a stateful layer carries into its next call (`None` before the first call,
    /// after [`reset_states`](Self::reset_states), or when the layer is not stateful).
    pub fn carried_states(&self) -> Option<Vec<Tensor<2>>> {
        self.carried.get()
    }

    /// [`run`](Self::run) from explicit initial states, without touching the carried ones
    /// (`final_states`: see [`run_reading_states`](Self::run_reading_states)).
    fn run_from(
        &self,
        x: Tensor<3>,
        initial_state: Option<Vec<Tensor<2>>>,
        mask: Option<Tensor<2, Bool>>,
        zero_output_for_mask: bool,
        final_states: bool,
    ) -> Result<RnnOutput, LayersError> {
        let class = self.cell.keras_class();
        let [b, t, f] = x.dims();
        let u = self.cell.units();
        if f != self.cell.input_size() || t == 0 || b == 0 {
            return Err(LayersError::shape(
                format!("{class} input"),
                format!("[batch >= 1, time >= 1, {}]", self.cell.input_size()),
                &[b, t, f],
            ));
        }
        let device = x.device();
        let states = match initial_state {
            None => self.cell.zero_states(b, &device),
            Some(s) => {
                if s.len() != self.cell.state_count() {
                    return Err(LayersError::Count {
                        what: format!("{class} initial states"),
                        expected: self.cell.state_count(),
                        got: s.len(),
                    });
                }
                for (i, st) in s.iter().enumerate() {
                    if st.dims() != [b, u] {
                        return Err(LayersError::shape(
                            format!("{class} initial state {i}"),
                            format!("[{b}, {u}]"),
                            &st.dims(),
                        ));
                    }
                }
                s
            }
        };
        // [T, B] float, 1 where the step is real.
        let time_major_mask: Option<Tensor<2>> = match mask {
            None => None,
            Some(m) => {
                if m.dims() != [b, t] {
                    return Err(LayersError::shape(
                        format!("{class} mask"),
                        format!("[{b}, {t}]"),
                        &m.dims(),
                    ));
                }
                Some(m.float().swap_dims(0, 1))
            }
        };

        let training = self.training.is_enabled() && device.is_autodiff();
        let gates = self.cell.gate_count();
        let per_gate = training && self.recurrent_dropout > 0.0 && gates > 1;
        let masks_needed = if per_gate { gates } else { 1 };
        let time_major = x.swap_dims(0, 1); // [T, B, F]: each step's rows are contiguous
        let inputs: Vec<Tensor<3>> = if training && self.dropout > 0.0 {
            (0..masks_needed)
                .map(|_| time_major.clone() * dropout_mask([b, f], self.dropout, &device).unsqueeze::<3>())
                .collect()
        } else {
            vec![time_major]
        };
        let recurrent_masks: Option<Vec<Tensor<2>>> = (training && self.recurrent_dropout > 0.0).then(|| {
            (0..masks_needed)
                .map(|_| dropout_mask([b, u], self.recurrent_dropout, &device))
                .collect()
        });

        let projected = self.cell.project_inputs(&inputs);
        if let Some(fused) = scan::plan(self.scan, class, self.cell.fused(Sealed), &device, projected.dtype())? {
            return Ok(scan::run(
                fused,
                projected,
                states,
                time_major_mask,
                recurrent_masks,
                self.go_backwards,
                zero_output_for_mask,
                self.return_sequences,
                final_states,
            ));
        }
        let mask_steps: Option<Vec<Tensor<2>>> =
            time_major_mask.map(|m| m.chunk(t, 0).into_iter().map(|s| s.reshape([b, 1])).collect());
        let width = projected.dims()[2];
        let steps: Vec<Tensor<2>> = projected
            .chunk(t, 0)
            .into_iter()
            .map(|s| s.reshape([b, width]))
            .collect();

        let mut states = states;
        let mut outputs = Vec::with_capacity(if self.return_sequences { t } else { 0 });
        let mut previous: Option<Tensor<2>> = None;
        let order: Box<dyn Iterator<Item = usize>> = if self.go_backwards {
            Box::new((0..t).rev())
        } else {
            Box::new(0..t)
        };
        for ti in order {
            let (y, new_states) = self.cell.step(steps[ti].clone(), &states, recurrent_masks.as_deref());
            let y = match &mask_steps {
                None => {
                    states = new_states;
                    y
                }
                Some(ms) => {
                    let m = &ms[ti];
                    states = new_states
                        .into_iter()
                        .zip(states)
                        .map(|(new, old)| old.clone() + (new - old) * m.clone())
                        .collect();
                    if zero_output_for_mask {
                        y * m.clone()
                    } else {
                        let prev = previous.take().unwrap_or_else(|| Tensor::zeros([b, u], &device));
                        prev.clone() + (y - prev) * m.clone()
                    }
                }
            };
            if self.return_sequences {
                outputs.push(y.clone());
            }
            previous = Some(y);
        }
        let last = previous.expect("at least one step");
        let sequence = self.return_sequences.then(|| Tensor::stack::<3>(outputs, 1));
        Ok(RnnOutput { sequence, last, states })
    }
}

impl<C: Cell> Layer for Rnn<C> {
    fn keras_class(&self) -> String {
        if self.cell.is_keras_layer(Sealed) {
            self.cell.keras_class().into()
        } else {
            "RNN".into()
        }
    }

    fn keras_config(&self) -> serde_json::Value {
        let options = json!({
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "stateful": self.stateful,
        });
        let builtin = self.cell.is_keras_layer(Sealed);
        let mut config = if builtin {
            self.cell.keras_config()
        } else {
            json!({ "cell": { "class": self.cell.keras_class(), "config": self.cell.keras_config() } })
        };
        if let (Some(config), Some(options)) = (config.as_object_mut(), options.as_object()) {
            // Keras's RNN(cell) takes no dropout arguments (its cells do): written only when set,
            // so that a model without dropout loads in Keras.
            config.extend(
                options
                    .iter()
                    .filter(|(key, value)| {
                        builtin || !key.contains("dropout") || value.as_f64().is_some_and(|rate| rate > 0.0)
                    })
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
        config
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape, LayersError> {
        let class = Layer::keras_class(self);
        let features = input.sequence_features(&class)?;
        if features != self.cell.input_size() {
            return Err(input.refused(&class, &format!("{} features per step", self.cell.input_size())));
        }
        let units = self.cell.units();
        Ok(if self.return_sequences {
            Shape::new(vec![input.dims()[0], Some(units)], crate::ValueKind::Float)
        } else {
            Shape::vector(units)
        })
    }

    fn forward(
        &self,
        input: Input,
        initial_state: Option<Vec<Tensor<2>>>,
        mask: Option<Tensor<2, Bool>>,
    ) -> Result<LayerOutput, LayersError> {
        let class = Layer::keras_class(self);
        let x = input.into_float(&class)?.into_3d(&class)?;
        // The states are read only to return them.
        let out = self.run_reading_states(x, initial_state, mask.clone(), false, self.return_state)?;
        let mut outputs = vec![match out.sequence {
            Some(s) => AnyTensor::D3(s),
            None => AnyTensor::D2(out.last),
        }];
        if self.return_state {
            outputs.extend(out.states.into_iter().map(AnyTensor::D2));
        }
        Ok(LayerOutput {
            outputs,
            mask: if self.return_sequences { mask } else { None },
        })
    }

    fn keras_weights(&self) -> Vec<AnyTensor> {
        self.cell.keras_weights()
    }

    fn is_stateful(&self) -> bool {
        self.stateful
    }

    fn reset_states(&self) {
        self.carried.reset();
    }

    fn with_keras_weights(mut self, arrays: &[KerasArray], device: &Device) -> Result<Self, LayersError> {
        self.cell = self.cell.with_keras_weights(arrays, device)?;
        Ok(self)
    }
}
