//! Serving a trained model on the CPU: [`Predictor`], a host engine compiled once from a
//! [`Sequential`] (no autodiff, no tensors, weights laid out for the products), with a carried
//! state for streaming — Keras's `stateful=True` — and a one-step update.

mod compile;
mod engine;
mod lanes;

use compile::{HostLayer, compile};
use engine::Dims;

use crate::{LayersError, Sequential};

/// Rows per chunk when a batch is split over threads: a fixed size, so that each row's
/// arithmetic never depends on the number of cores.
const CHUNK_ROWS: usize = 256;

/// What one chunk of a large batch returns: its place, its output and its rows' states.
struct ChunkOutput {
    index: usize,
    output: Vec<f32>,
    states: Vec<Vec<f32>>,
}

/// A [`Sequential`] of `SimpleRNN`, `LSTM`, `GRU`, `Dense`, `TimeDistributed(Dense)`, `Flatten`
/// and `Dropout` layers, compiled for fast inference on the host.
///
/// - [`predict`](Self::predict) runs whole windows `[batch, time, features]` (the model's
///   forward in inference mode; the numbers agree with [`Sequential::forward`] to float
///   round-off);
/// - [`predict_from`](Self::predict_from) runs a window from a carried [`State`] and leaves the
///   last states in it: two calls on consecutive pieces of a sequence give what one call on the
///   joined sequence gives (Keras's `stateful=True`);
/// - [`step`](Self::step) feeds one new observation per batch row and returns the model's output
///   after it, without re-running the window.
///
/// A batch of one row (or a few) runs as matrix-vector products vectorized over each layer's
/// columns; from 16 rows on, the rows fill the vector lanes instead (blocks of 16 rows, weights
/// broadcast, no padding of small layers) — the same sums in the same order, so a row's numbers
/// never depend on its batch. Batches of more than 256 rows are cut into chunks of 256 that run
/// on every core (each row's numbers are the same whatever the number of cores).
///
/// ```
/// use rnnlab_layers::{Backend, DenseConfig, Predictor, Sequential, Shape, SimpleRnnConfig};
/// let device = Backend::Flex.device()?;
/// rnnlab_layers::seed(&device, 1);
/// let model = Sequential::builder(Shape::sequence(1))
///     .add(SimpleRnnConfig::new(8).with_return_sequences(true))
///     .add(SimpleRnnConfig::new(8))
///     .add(DenseConfig::new(1))
///     .build(&device)?;
/// let predictor = Predictor::new(&model)?;
/// let window: Vec<f32> = (0..50).map(|t| (t as f32 * 0.3).sin()).collect();
/// let y = predictor.predict(&window, 1, 50)?;            // [1, 1]
///
/// // The same output, one observation at a time.
/// let mut state = predictor.state(1);
/// let mut last = Vec::new();
/// for v in &window {
///     last = predictor.step(&mut state, &[*v])?;
/// }
/// assert!((last[0] - y[0]).abs() < 1e-5);
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Predictor {
    layers: Vec<HostLayer>,
    features: usize,
    /// Time steps the model requires (a `Flatten` fixes them), `None` for any.
    time: Option<usize>,
}

/// The carried states of a [`Predictor`]'s recurrent layers for `batch` rows: zeros when made,
/// updated by [`Predictor::predict_from`] and [`Predictor::step`].
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    batch: usize,
    /// One buffer per recurrent layer, `[batch, states·units]` (`[h]` or `[h, c]` per row).
    layers: Vec<Vec<f32>>,
}

impl State {
    /// The rows it carries.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Back to zeros (Keras's `reset_states()`).
    pub fn reset(&mut self) {
        self.layers.iter_mut().for_each(|l| l.fill(0.0));
    }

    /// The carried vectors of recurrent layer `i` (0-based among the recurrent layers), row-major
    /// `[batch, states·units]`: `h`, or `h` then `c` for an LSTM.
    pub fn layer(&self, i: usize) -> Option<&[f32]> {
        self.layers.get(i).map(Vec::as_slice)
    }
}

impl Predictor {
    /// Compiles `model`; a layer or option the engine does not run is an error that names it.
    pub fn new(model: &Sequential) -> Result<Predictor, LayersError> {
        let input = model.input_shape();
        let features = match input.dims() {
            [_, Some(f)] if input.kind() == crate::ValueKind::Float => *f,
            _ => {
                return Err(LayersError::InputKind {
                    layer: "Predictor".into(),
                    got: format!("input shape {input}"),
                    hint: "the host predictor takes float sequences [batch, time, features]".into(),
                });
            }
        };
        let time = input.dims()[0];
        Ok(Predictor {
            layers: compile(model)?,
            features,
            time,
        })
    }

    /// Features per time step.
    pub fn features(&self) -> usize {
        self.features
    }

    /// Zero states for `batch` rows.
    pub fn state(&self, batch: usize) -> State {
        State {
            batch,
            layers: self
                .layers
                .iter()
                .filter_map(|l| match l {
                    HostLayer::Recurrent(r) => Some(vec![0.0; batch * r.kind.states() * r.units]),
                    _ => None,
                })
                .collect(),
        }
    }

    /// The model's output for `x` (`[batch, time, features]`, row-major) from zero states:
    /// `[batch, …]` as [`Sequential::output_shape`] says, flattened.
    pub fn predict(&self, x: &[f32], batch: usize, time: usize) -> Result<Vec<f32>, LayersError> {
        let mut state = self.state(batch);
        self.predict_from(&mut state, x, batch, time)
    }

    /// [`predict`](Self::predict) from the carried `state`, which is left holding the states
    /// after the last step.
    pub fn predict_from(
        &self,
        state: &mut State,
        x: &[f32],
        batch: usize,
        time: usize,
    ) -> Result<Vec<f32>, LayersError> {
        self.check(state, x.len(), batch, time)?;
        Ok(self.run_chunked(state, x, batch, time))
    }

    /// One new observation per row (`[batch, features]`): the model's output after it (for a
    /// sequence model, its output at this step), with `state` advanced by one step. Models with
    /// `Flatten` need whole windows and refuse this.
    pub fn step(&self, state: &mut State, x: &[f32]) -> Result<Vec<f32>, LayersError> {
        if self.layers.iter().any(|l| matches!(l, HostLayer::Flatten)) {
            return Err(LayersError::UnsupportedOption {
                layer: "Flatten".into(),
                option: "a one-step update".into(),
                hint: "a Flatten over time needs the whole window: use predict",
            });
        }
        self.check_state(state, state.batch)?;
        if x.len() != state.batch * self.features {
            return Err(LayersError::Shape {
                what: "Predictor::step input".into(),
                expected: format!("[{}, {}]", state.batch, self.features),
                got: vec![x.len()],
            });
        }
        let dims = Dims {
            rows: state.batch,
            time: None,
            width: self.features,
        };
        Ok(engine::run(&self.layers, x, dims, &mut state.layers).0)
    }

    fn check_state(&self, state: &State, batch: usize) -> Result<(), LayersError> {
        // Counted, not built: this runs on every step.
        let recurrent = self
            .layers
            .iter()
            .filter(|l| matches!(l, HostLayer::Recurrent(_)))
            .count();
        if state.batch != batch || state.layers.len() != recurrent {
            return Err(LayersError::Shape {
                what: "Predictor state".into(),
                expected: format!("a state for {batch} rows made by this predictor"),
                got: vec![state.batch],
            });
        }
        Ok(())
    }

    fn check(&self, state: &State, len: usize, batch: usize, time: usize) -> Result<(), LayersError> {
        self.check_state(state, batch)?;
        let want = [batch, time, self.features];
        if time == 0 || batch == 0 || self.time.is_some_and(|t| t != time) || len != want.iter().product::<usize>() {
            return Err(LayersError::Shape {
                what: "Predictor input".into(),
                expected: match self.time {
                    Some(t) => format!("[batch ≥ 1, {t}, {}]", self.features),
                    None => format!("[batch ≥ 1, time ≥ 1, {}]", self.features),
                },
                got: vec![batch, time, len],
            });
        }
        Ok(())
    }

    /// Runs chunks of [`CHUNK_ROWS`] rows on scoped threads (one chunk: the calling thread).
    fn run_chunked(&self, state: &mut State, x: &[f32], batch: usize, time: usize) -> Vec<f32> {
        let per_row = time * self.features;
        let run = |rows: usize, xs: &[f32], states: &mut [Vec<f32>]| {
            engine::run(
                &self.layers,
                xs,
                Dims {
                    rows,
                    time: Some(time),
                    width: self.features,
                },
                states,
            )
            .0
        };
        if batch <= CHUNK_ROWS {
            return run(batch, x, &mut state.layers);
        }
        // Each chunk gets its rows of every layer's state, and returns them with its output.
        let chunks: Vec<(usize, usize)> = (0..batch)
            .step_by(CHUNK_ROWS)
            .map(|a| (a, (a + CHUNK_ROWS).min(batch)))
            .collect();
        let widths: Vec<usize> = state.layers.iter().map(|l| l.len() / batch).collect();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(chunks.len());
        let next = std::sync::atomic::AtomicUsize::new(0);
        let layers = &state.layers;
        let done: Vec<ChunkOutput> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(&(a, b)) = chunks.get(i) else { break };
                            let mut states: Vec<Vec<f32>> = layers
                                .iter()
                                .zip(&widths)
                                .map(|(l, &w)| l[a * w..b * w].to_vec())
                                .collect();
                            let out = run(b - a, &x[a * per_row..b * per_row], &mut states);
                            mine.push(ChunkOutput {
                                index: i,
                                output: out,
                                states,
                            });
                        }
                        mine
                    })
                })
                .collect();
            let mut all: Vec<ChunkOutput> = workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect();
            all.sort_by_key(|c| c.index);
            all
        });
        let mut out = Vec::new();
        for chunk in done {
            let (a, b) = chunks[chunk.index];
            out.extend_from_slice(&chunk.output);
            for ((dst, src), &w) in state.layers.iter_mut().zip(chunk.states).zip(&widths) {
                dst[a * w..b * w].copy_from_slice(&src);
            }
        }
        out
    }
}
