//! The `Rnn<C>` driver: runs any [`Cell`] over a sequence with Keras's semantics.

use burn::module::{Flag, Module, Param};
use burn::tensor::{Bool, Device, Distribution, Tensor};
use serde::{Deserialize, Serialize};

use crate::{Cell, LayersError, ScanMode, scan};

/// The [`RnnOptions`] of anything with the five option fields (layer configs and [`Rnn`]).
macro_rules! rnn_options_of {
    ($c:expr) => {
        $crate::RnnOptions {
            return_sequences: $c.return_sequences,
            return_state: $c.return_state,
            go_backwards: $c.go_backwards,
            dropout: $c.dropout,
            recurrent_dropout: $c.recurrent_dropout,
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
#[derive(Module, Debug)]
pub struct Rnn<C: Module + Cell> {
    /// The cell (its weights).
    pub cell: C,
    /// See [`RnnOptions::return_sequences`].
    pub return_sequences: bool,
    /// See [`RnnOptions::return_state`].
    pub return_state: bool,
    /// See [`RnnOptions::go_backwards`].
    pub go_backwards: bool,
    /// See [`RnnOptions::dropout`].
    pub dropout: f64,
    /// See [`RnnOptions::recurrent_dropout`].
    pub recurrent_dropout: f64,
    /// See [`RnnOptions::scan`].
    #[module(skip)]
    pub scan: ScanMode,
    /// Training flag: dropout is active only when set *and* the input is on an autodiff device.
    pub training: Param<Flag>,
}

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

impl<C: Module + Cell> Rnn<C> {
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
            scan: options.scan,
            training: Param::from_bool(true),
        })
    }

    /// The options this layer was built with.
    pub fn options(&self) -> RnnOptions {
        rnn_options_of!(self)
    }

    /// Trainable parameters (Keras's `count_params`).
    pub fn param_count(&self) -> usize {
        self.num_params()
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
        if let Some(fused) = scan::plan(self.scan, class, self.cell.fused(), &device, projected.dtype())? {
            return Ok(scan::run(
                fused,
                projected,
                states,
                time_major_mask,
                recurrent_masks,
                self.go_backwards,
                zero_output_for_mask,
                self.return_sequences,
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
