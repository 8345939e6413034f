//! The fused recurrent scan: a whole layer's time loop as one Burn op on the CPU backends.
//!
//! [`Rnn`](crate::Rnn) has two ways to run a [`Cell`](crate::Cell) over time:
//!
//! - **generic**: one small tensor op after another per step, differentiated by Burn's autodiff.
//!   Runs on every backend and every cell, including user-defined ones.
//! - **fused**: for SimpleRNN, LSTM, GRU and the lecture's layer-normalized SimpleRNN cell
//!   (`LNSimpleRNNCell`: the normalization inside the step, `γ`/`β` gradients summed over steps
//!   and rows like the recurrent kernel's) on flex and ndarray, one backend-extension op runs
//!   all steps on contiguous host buffers (vectorized `tanh`/`sigmoid`, GEMMs by the `gemm`
//!   crate that Burn's flex backend uses) and its hand-written backward through time replays a
//!   tape of saved gate activations. Same results as generic (to `f32` round-off), several times
//!   faster at the lecture's sizes.
//!
//! From 32 batch rows a fused call runs in two halves on two cores: the second on one partner
//! thread that keeps polling for 2 ms after each job (so the next layer's call does not wait for
//! a wake-up), which shows as a busy thread while a model trains. Input projections and `Dense`
//! layers use a host `x·W + b` op split the same way, and `BatchNormalization` in training two
//! host ops (`batch_norm.rs`) that repeat its tensor ops' arithmetic bit for bit. One core, or
//! `RAYON_NUM_THREADS=1`, runs everything on the calling thread. The split depends only on the
//! shapes: same results on any machine with the same CPU features.
//!
//! [`ScanMode`] picks: `Auto` (the default) takes fused where it applies and generic elsewhere;
//! the `RNNLAB_SCAN` environment variable (`generic`, `fused`, `auto`) sets what `Auto` means
//! for a whole process, so either path can be forced without touching code.
//!
//! # What is tuned, and what each choice depends on
//!
//! Speed may differ between machines; numbers may not. Every choice below is made either from
//! the shapes of a call (so the same on every machine) or from what the CPU reports, and then
//! only where both options give the same bits:
//!
//! - **Instruction set** (`is_x86_feature_detected!`, at run time): the activations
//!   (`kernel/gate.rs`), the orthogonal initializer and the host predictor have AVX-512 and
//!   AVX2+FMA entry points of one portable loop. No sum is reordered by the vector width and both
//!   use fused multiply-adds, so they give the same bits; a CPU without FMA rounds each product
//!   apart (other bits) — the only numeric difference between machines that rnnlab makes.
//!   The activations' derivatives and the layer-normalized cell's per-row passes
//!   (`kernel/layer_norm/avx512.rs`: 16 rows transposed in registers, each lane running one
//!   row's sums in the portable order) have an AVX-512 entry point too; they round every product
//!   as the portable code does (no fused multiply-add), so every CPU gives their bits.
//! - **Batch chunks** (`kernel/chunks.rs`): from 32 rows a call runs in two chunks, above 256 in
//!   chunks of at most 128 rows; fixed from the batch size, never from the core count, and the
//!   chunks' weight-gradient sums are added in chunk order. The 32-row threshold was measured on
//!   2 cores (Zen 5: LSTM seq2seq −20% per epoch, SimpleRNN −9%); one core runs the same chunks
//!   one after the other.
//! - **The partner thread** (`pair.rs`) polls for 2 ms after each job before it parks: a
//!   latency choice (a wake-up costs tens of microseconds in a VM) that changes CPU use only.
//! - **Splitting a product over two cores** (`kernel/gemm.rs`, from 2¹⁶ multiply-adds): the rows
//!   of the result are split, or for a weight gradient of more than 192 rows and at least 64
//!   columns (`splits_columns`: a wide layer's `dU` and `dW`) its columns, so that each core
//!   packs half of the `time × batch`-row operand instead of all of it; each element is the same
//!   product either way.
//! - **Host op or Burn's matmul** for input projections and `Dense` (`linear.rs`): the host op
//!   at every size on flex and ndarray (Burn's matmul blocks its sums by the L1 cache, below);
//!   Burn's matmul on the other backends and with `RNNLAB_SCAN=generic`. The host op takes a
//!   rank-3 input as it is: a fused layer's output seen batch-major (`[B, T, U]` over its
//!   time-major buffer) is read a row of `U` at a time (`op.rs`, `copy_rows`) where a reshape
//!   would have flex copy it element by element; `TimeDistributed(Dense)` passes it so.
//! - **The `gemm` crate's blocking**: for results with a side above 64 it sizes its depth blocks
//!   from the L1 cache the CPU reports (`gemm-common`'s `kernel_params`: 1024 terms, evened out,
//!   on 48 KiB 12-way L1s like Zen 5's and Sapphire Rapids'; 512 on 32 KiB 8-way ones), which
//!   would make a product over more than 512 terms — the weight gradients sum `time × batch`
//!   rows — round differently on another CPU. Every product of the fused kernels, the host
//!   input projection and the predictor goes through [`crate::product`], which cuts such
//!   products into 512-term slices added in order, so the cache no longer matters (smaller
//!   results were already blocked by 512 on every machine: deep-rnn's figure did not move).
//!   The `gemm` kernels themselves are its AVX2+FMA ones on every x86-64 CPU that has them
//!   (its AVX-512 kernels are behind a feature rnnlab does not enable: they would also change
//!   the order of its dot-product paths); large products run on rnnlab's own AVX-512 kernel
//!   where the CPU has one, which sums in the same order (tested bit for bit). Burn's own
//!   matmul (the generic path, user cells) is not routed through it.
//! - **The AVX-512 kernel's tiles** (`product/avx512.rs`): 12 × 32 register tiles, 8 × 32 for
//!   products of 16 or 32 rows (the batch chunks' step products, where they pad no row); the
//!   recurrent kernel is packed once per call for every step, other right-hand sides per product
//!   into the thread's reusable buffers. Measured on an AVX-512 Xeon: 12-row tiles run the
//!   1 600-row input projection of a 512-unit LSTM 10–20% faster than 8-row ones. Speed only:
//!   each element is the same chain of multiply-adds in any tile.
//!
//! # Memory traffic
//!
//! On flex the ops read their input tensors where they lie (`op.rs`, `HostTensors`: no copy, where
//! Burn's `into_data` copies a tensor the autodiff graph or the optimizer also holds twice) and
//! hand their results over without a copy; the forward writes its output (outputs, states,
//! tape) without zeroing it first, each chunk's rows once (checked block by block). Without a
//! mask a step's output is also its carried `h` (and SimpleRNN's and the layer-normalized cell's
//! new `h`): the backward reads those from the output blocks instead of a second and third
//! copy on the tape (SimpleRNN's tape is then empty). The LSTM tape keeps the four gate
//! activations side by side (`[B, 4U]`), and in training the step computes them right there
//! (its `xp` copied in, products and activations in place): no copy to save them, read by rows
//! in the backward. The layer-normalized cell writes `LN(z)` and each row's `1/σ` to its tape
//! the same way; `1/σ` is kept once per row, a chunk's rows at the start of the chunk's part of
//! the block, so forward and backward must cut the batch into the same chunks (they do: the
//! chunks depend on the batch size only).

mod batch_norm;
mod kernel;
mod linear;
pub(crate) mod math;
mod op;
mod pair;

use std::str::FromStr;
use std::sync::OnceLock;

use burn::tensor::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

pub(crate) use batch_norm::batch_norm_train;
pub use kernel::FusedKind;
use kernel::{GateFn, ScanSpec};
pub(crate) use linear::linear;

use crate::{Activation, LayersError, RnnOutput};

/// Which time loop a recurrent layer runs: **generic** (one tensor op after another per step, on
/// every backend and cell) or **fused** (the whole loop as one op with a hand-written backward, for
/// the built-in cells on flex and ndarray).
///
/// ```
/// use rnnlab_layers::{ScanMode, SimpleRnnConfig};
/// let config = SimpleRnnConfig::new(20).with_scan(ScanMode::Generic);
/// assert_eq!("fused".parse::<ScanMode>()?, ScanMode::Fused);
/// # let _ = config;
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanMode {
    /// Fused where the cell and backend allow it, generic elsewhere. `RNNLAB_SCAN=generic`
    /// makes it `Generic`; `RNNLAB_SCAN=fused` makes it `Fused` for every cell that has a fused
    /// form (user cells stay generic).
    #[default]
    Auto,
    /// Always the per-step tensor ops.
    Generic,
    /// Always the fused op; a cell, activation, dtype or backend it cannot run is an error.
    Fused,
}

/// The environment variable that sets what [`ScanMode::Auto`] means.
pub const SCAN_ENV: &str = "RNNLAB_SCAN";

impl FromStr for ScanMode {
    type Err = LayersError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(ScanMode::Auto),
            "generic" => Ok(ScanMode::Generic),
            "fused" => Ok(ScanMode::Fused),
            other => Err(LayersError::Unsupported {
                kind: "scan mode",
                name: other.to_string(),
                supported: "auto, generic, fused",
            }),
        }
    }
}

impl ScanMode {
    /// What `Auto` stands for in this process: `RNNLAB_SCAN`, read once (an unknown value is an
    /// error, reported on every resolve rather than silently ignored).
    fn from_env() -> Result<ScanMode, LayersError> {
        static FROM_ENV: OnceLock<Result<ScanMode, String>> = OnceLock::new();
        let env = FROM_ENV.get_or_init(|| match std::env::var(SCAN_ENV) {
            Ok(v) => v.parse::<ScanMode>().map_err(|_| v),
            Err(_) => Ok(ScanMode::Auto),
        });
        env.clone().map_err(|value| LayersError::Config {
            what: SCAN_ENV.into(),
            why: format!("{value:?} is not one of auto, generic, fused"),
        })
    }
}

/// What a cell hands the fused op: its recurrence kind, activations and recurrent weights.
/// Cells return it from [`Cell::fused`](crate::Cell::fused); user cells keep the default `None`
/// and run generic.
#[derive(Clone, Debug)]
pub struct FusedCell {
    /// The recurrence.
    pub kind: FusedKind,
    /// Output / candidate activation.
    pub activation: Activation,
    /// Gate activation (ignored by SimpleRNN).
    pub recurrent_activation: Activation,
    /// `recurrent_kernel [units, gates·units]`.
    pub recurrent_kernel: Tensor<2>,
    /// GRU `reset_after`: the bias added to `h·U` (`[3·units]`); the layer-normalized cell:
    /// `[γ, β, ε]` (`[2·units + 1]`).
    pub recurrent_bias: Option<Tensor<1>>,
}

fn gate_fn(a: Activation) -> Option<GateFn> {
    match a {
        Activation::Tanh => Some(GateFn::Tanh),
        Activation::Sigmoid => Some(GateFn::Sigmoid),
        Activation::HardSigmoid => Some(GateFn::HardSigmoid),
        Activation::Relu => Some(GateFn::Relu),
        Activation::Linear => Some(GateFn::Linear),
        Activation::Softmax => None,
    }
}

/// Whether the fused op runs on this device's backend (flex, ndarray).
pub fn fused_available(device: &Device) -> bool {
    let inner = device.clone().inner();
    #[cfg(feature = "flex")]
    if inner == Device::flex() {
        return true;
    }
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)]
    if inner == Device::ndarray() {
        return true;
    }
    let _ = inner;
    false
}

/// Decides the path for one call: `Ok(None)` is generic.
pub(crate) fn plan(
    mode: ScanMode,
    class: &str,
    cell: Option<FusedCell>,
    device: &Device,
    dtype: DType,
) -> Result<Option<FusedCell>, LayersError> {
    let from_env = mode == ScanMode::Auto;
    let mode = if from_env { ScanMode::from_env()? } else { mode };
    if mode == ScanMode::Generic {
        return Ok(None);
    }
    let why_not = match &cell {
        None => Some(format!("{class} has no fused form (user cells run generic)")),
        Some(c) if gate_fn(c.activation).is_none() || gate_fn(c.recurrent_activation).is_none() => {
            Some("softmax activations run generic".to_string())
        }
        Some(_) if dtype != DType::F32 => Some(format!("the fused op is f32 only, got {dtype:?}")),
        Some(_) if !fused_available(device) => Some("the fused op runs on flex and ndarray only".to_string()),
        Some(_) => None,
    };
    match (mode, why_not) {
        (_, None) => Ok(cell),
        (ScanMode::Fused, Some(_)) if from_env && cell.is_none() => Ok(None),
        (ScanMode::Fused, Some(why)) => Err(LayersError::Config {
            what: "scan = fused".into(),
            why: format!("{why}; use ScanMode::Auto or Generic (or {SCAN_ENV}=auto)"),
        }),
        _ => Ok(None),
    }
}

/// Runs the fused op.
///
/// - `projected`: `[T, B, G·U]` time-major projected inputs (bias included);
/// - `states`: the initial states (`[h]` or `[h, c]`), each `[B, U]`;
/// - `mask`: `[T, B]` float, 1 for real steps;
/// - `recurrent_masks`: one `[B, U]` mask, or one per gate;
/// - `final_states`: whether the caller reads [`RnnOutput::states`] (left empty otherwise).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    cell: FusedCell,
    projected: Tensor<3>,
    states: Vec<Tensor<2>>,
    mask: Option<Tensor<2>>,
    recurrent_masks: Option<Vec<Tensor<2>>>,
    go_backwards: bool,
    zero_output_for_mask: bool,
    return_sequences: bool,
    final_states: bool,
) -> RnnOutput {
    let [t, b, w] = projected.dims();
    let u = states[0].dims()[1];
    let device = projected.device();
    let dummy = || Tensor::<1>::zeros([1], &device);
    let spec = ScanSpec {
        kind: cell.kind,
        activation: gate_fn(cell.activation).expect("checked by plan"),
        recurrent_activation: gate_fn(cell.recurrent_activation).expect("checked by plan"),
        go_backwards,
        zero_output_for_mask,
        masked: mask.is_some(),
        recurrent_masks: recurrent_masks.as_ref().map_or(0, Vec::len),
        save_tape: false, // the autodiff impl turns it on when gradients are tracked
        final_states,
    };
    let recurrent_bias = match (cell.kind, cell.recurrent_bias) {
        (FusedKind::GruResetAfter | FusedKind::LayerNormSimple, Some(bias)) => bias,
        (FusedKind::GruResetAfter, None) => Tensor::zeros([w], &device),
        _ => dummy(),
    };
    let h0 = states[0].clone();
    let c0 = if cell.kind == FusedKind::Lstm {
        states[1].clone().reshape([b * u])
    } else {
        dummy()
    };
    let mask = mask.map_or_else(dummy, |m| m.reshape([t * b]));
    let recurrent_masks = recurrent_masks.map_or_else(dummy, |ms| Tensor::stack::<3>(ms, 0).reshape([-1]));
    let full = Tensor::<3>::from_dispatch(<burn::backend::Dispatch as op::FusedRecurrence>::fused_recurrence(
        spec,
        projected.into_dispatch(),
        cell.recurrent_kernel.into_dispatch(),
        recurrent_bias.into_dispatch(),
        h0.into_dispatch(),
        c0.into_dispatch(),
        mask.into_dispatch(),
        recurrent_masks.into_dispatch(),
    ));
    // `full` is `[T + state rows, B, U]`: the outputs, then the final states unless the one state
    // is the last output (`ScanSpec::state_rows`).
    let row = |i: usize| full.clone().narrow(0, i, 1).reshape([b, u]);
    let last = row(t - 1);
    let states: Vec<Tensor<2>> = match spec.state_rows() {
        _ if !final_states => Vec::new(),
        0 => vec![last.clone()],
        n => (0..n).map(|s| row(t + s)).collect(),
    };
    let sequence = return_sequences.then(|| match spec.state_rows() {
        // The whole output: no slice, whose backward would zero-fill a buffer of its size.
        0 => full.clone().swap_dims(0, 1),
        _ => full.clone().narrow(0, 0, t).swap_dims(0, 1),
    });
    RnnOutput { sequence, last, states }
}
