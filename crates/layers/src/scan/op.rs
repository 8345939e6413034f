//! The fused recurrence as a Burn backend extension: one autodiff node per layer call, with the
//! backward through time written by hand ([`kernel::backward`]).
//!
//! The kernels run on host `f32` buffers, so the op is listed for the CPU backends (flex, ndarray);
//! [`super::fused_available`] keeps every other backend on the generic tensor path.

// Without a host backend (a wgpu- or tch-only build) the op has no implementation to call.
#![cfg_attr(not(any(feature = "flex", feature = "ndarray")), allow(unused))]
// Burn 0.22 deprecates its ndarray backend; the op still serves it while the feature exists (the
// extension macro names the type in code an item-level `allow` does not reach).
#![cfg_attr(feature = "ndarray", allow(deprecated))]

use std::borrow::Cow;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

#[cfg(feature = "flex")]
use burn::backend::Flex;
#[cfg(feature = "ndarray")]
#[allow(deprecated)]
use burn::backend::NdArray;
use burn::backend::autodiff::{
    Autodiff,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Shape, Slice, TensorMetadata, backend_extension};
use burn::tensor::TensorData;

use super::kernel::{self, Dims, Inputs, ScanSpec};

/// The fused recurrence of one layer call (see [`kernel`] for the layouts).
#[backend_extension(Autodiff, Flex: cfg(feature = "flex"), NdArray: cfg(feature = "ndarray"))]
pub trait FusedRecurrence: Backend {
    /// Forward over all steps; returns `[rows, B, U]`: outputs, final states and (with
    /// `spec.save_tape`) the tape.
    #[allow(clippy::too_many_arguments)]
    fn fused_recurrence(
        spec: ScanSpec,
        xp: FloatTensor<Self>,
        recurrent: FloatTensor<Self>,
        recurrent_bias: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
        mask: FloatTensor<Self>,
        recurrent_masks: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// Waits for a backend future; the CPU backends' data futures are ready at once.
fn block_on<T>(future: impl Future<Output = T>) -> T {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

/// A tensor's elements on the host, moved out of the tensor (no copy for an unshared contiguous
/// flex tensor; Burn copies a shared one, twice).
fn host<B: Backend>(t: FloatTensor<B>) -> TensorData {
    block_on(B::float_into_data(t)).expect("reading a CPU tensor cannot fail")
}

/// A CPU backend whose `f32` tensors the host kernels read where they lie.
pub(super) trait HostTensors: Backend {
    /// The elements of an `f32` tensor in row-major order: borrowed where the backend stores
    /// them so already, copied otherwise.
    fn host_f32(t: &FloatTensor<Self>) -> Cow<'_, [f32]>;

    /// `t`, or a tensor of the same elements that [`Self::host_f32`] reads in place, where that
    /// costs no more than one read: for a view that an op and its backward both read.
    fn host_readable(t: FloatTensor<Self>) -> FloatTensor<Self> {
        t
    }
}

/// A tensor of `values` on `device`.
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
fn tensor_of<B: Backend>(values: Vec<f32>, shape: Shape, device: &B::Device) -> FloatTensor<B> {
    B::float_from_data(TensorData::new(values, shape), device)
}

/// An owned copy of a tensor's elements.
fn owned<B: Backend>(t: &FloatTensor<B>) -> Cow<'static, [f32]> {
    Cow::Owned(
        host::<B>(t.clone())
            .try_into_vec::<f32>()
            .expect("the fused path is only selected for f32 tensors"),
    )
}

/// Flex keeps a contiguous tensor in one buffer, shared or not (the weights the optimizer holds,
/// the outputs the autodiff graph keeps): read in place, where `into_data` would copy a shared
/// buffer twice (a copy, then another for alignment) — 8% of a deep-rnn epoch. A view whose
/// last axis is contiguous (a time-major output seen batch-major, `[B, T, U]` over `[T, B, U]`)
/// is copied a row at a time ([`copy_rows`]): flex's own copy moves such a view element by
/// element, 5% of a seq2seq epoch for the two per batch.
#[cfg(feature = "flex")]
impl HostTensors for Flex {
    fn host_f32(t: &FloatTensor<Self>) -> Cow<'_, [f32]> {
        if let Some(values) = t.as_slice::<f32>() {
            return Cow::Borrowed(values);
        }
        let layout = t.layout();
        let rows = (t.dtype() == burn::tensor::DType::F32)
            .then(|| {
                copy_rows(
                    t.storage::<f32>(),
                    layout.shape(),
                    layout.strides(),
                    layout.start_offset(),
                )
            })
            .flatten();
        match rows {
            Some(values) => Cow::Owned(values),
            None => owned::<Self>(t),
        }
    }

    fn host_readable(t: FloatTensor<Self>) -> FloatTensor<Self> {
        if t.as_slice::<f32>().is_some() {
            return t;
        }
        let values = Self::host_f32(&t).into_owned();
        tensor_of::<Self>(values, t.shape(), &t.device())
    }
}

/// The elements of the view `shape`/`strides` from `offset` into `storage`, in row-major order,
/// copied a run of the last axis at a time; `None` (the caller copies otherwise) unless the last
/// axis is contiguous, the other strides are not negative and the view lies inside `storage`.
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
fn copy_rows(storage: &[f32], shape: &[usize], strides: &[isize], offset: usize) -> Option<Vec<f32>> {
    let (&run, outer) = shape.split_last()?;
    let (&run_stride, outer_strides) = strides.split_last()?;
    let len: usize = shape.iter().product();
    // Runs of one element are flex's tiled copy's job.
    if len == 0 || run < 2 || run_stride != 1 || outer_strides.iter().any(|&s| s < 0) {
        return None;
    }
    // The last element the view reads must lie in the buffer: then so does every run.
    let last = outer
        .iter()
        .zip(outer_strides)
        .try_fold(offset + run - 1, |end, (&n, &s)| {
            end.checked_add((n - 1).checked_mul(s as usize)?)
        })?;
    if last >= storage.len() {
        return None;
    }
    let mut out = Vec::with_capacity(len);
    let mut index = vec![0usize; outer.len()];
    let mut start = offset;
    loop {
        out.extend_from_slice(&storage[start..start + run]);
        // The next outer index, odometer-wise (the last outer axis fastest).
        let mut axis = outer.len();
        loop {
            if axis == 0 {
                return Some(out);
            }
            axis -= 1;
            index[axis] += 1;
            start += outer_strides[axis] as usize;
            if index[axis] < outer[axis] {
                break;
            }
            start -= outer[axis] * outer_strides[axis] as usize;
            index[axis] = 0;
        }
    }
}

#[cfg(feature = "ndarray")]
#[allow(deprecated)]
impl HostTensors for NdArray {
    fn host_f32(t: &FloatTensor<Self>) -> Cow<'_, [f32]> {
        owned::<Self>(t)
    }
}

fn dims<B: Backend>(xp: &FloatTensor<B>, h0: &FloatTensor<B>) -> Dims {
    let [time, batch, _] = xp.shape().dims::<3>();
    let units = h0.shape().dims::<2>()[1];
    Dims { time, batch, units }
}

/// The forward on any backend whose tensors can be read on the host.
#[allow(clippy::too_many_arguments)]
fn host_forward<B: HostTensors>(
    spec: ScanSpec,
    xp: FloatTensor<B>,
    recurrent: FloatTensor<B>,
    recurrent_bias: FloatTensor<B>,
    h0: FloatTensor<B>,
    c0: FloatTensor<B>,
    mask: FloatTensor<B>,
    recurrent_masks: FloatTensor<B>,
) -> FloatTensor<B> {
    let device = xp.device();
    let d = dims::<B>(&xp, &h0);
    let rest = [recurrent, recurrent_bias, h0, c0, mask, recurrent_masks];
    let rest = rest.each_ref().map(B::host_f32);
    let xp = B::host_f32(&xp);
    let inputs = inputs_of(&spec, &xp, &rest);
    let rows = d.forward_rows(&spec);
    let out = kernel::forward(&spec, d, &inputs);
    B::float_from_data(TensorData::new(out, [rows, d.batch, d.units]), &device)
}

/// `rest` is `[recurrent, recurrent_bias, h0, c0, mask, recurrent_masks]`; unused ones are ignored.
fn inputs_of<'a>(spec: &ScanSpec, xp: &'a [f32], rest: &'a [Cow<'_, [f32]>; 6]) -> Inputs<'a> {
    let optional = |used: bool, d: &'a Cow<'_, [f32]>| if used { &d[..] } else { &[][..] };
    Inputs {
        xp,
        recurrent: &rest[0],
        recurrent_bias: optional(
            matches!(
                spec.kind,
                kernel::FusedKind::GruResetAfter | kernel::FusedKind::LayerNormSimple
            ),
            &rest[1],
        ),
        h0: &rest[2],
        c0: optional(spec.kind == kernel::FusedKind::Lstm, &rest[3]),
        mask: optional(spec.masked, &rest[4]),
        recurrent_masks: optional(spec.recurrent_masks > 0, &rest[5]),
    }
}

/// The CPU backends' forward: the same host kernel for each.
macro_rules! host_backend {
    ($backend:ty) => {
        impl FusedRecurrence for $backend {
            fn fused_recurrence(
                spec: ScanSpec,
                xp: FloatTensor<Self>,
                recurrent: FloatTensor<Self>,
                recurrent_bias: FloatTensor<Self>,
                h0: FloatTensor<Self>,
                c0: FloatTensor<Self>,
                mask: FloatTensor<Self>,
                recurrent_masks: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host_forward::<Self>(spec, xp, recurrent, recurrent_bias, h0, c0, mask, recurrent_masks)
            }
        }
    };
}

#[cfg(feature = "flex")]
host_backend!(Flex);
#[cfg(feature = "ndarray")]
#[allow(deprecated)]
mod ndarray_impl {
    use super::*;
    host_backend!(NdArray);
}

/// What the backward keeps: the forward's full output (with the tape) and the inputs it reads
/// (not `xp`: the tape replaces it).
#[derive(Clone, Debug)]
struct Saved<B: Backend> {
    spec: ScanSpec,
    dims: Dims,
    xp_shape: Shape,
    forward_out: FloatTensor<B>,
    /// `[recurrent, recurrent_bias, h0, c0, mask, recurrent_masks]`.
    rest: [FloatTensor<B>; 6],
}

#[derive(Debug)]
struct FusedRecurrenceBackward;

impl<B: HostTensors> Backward<B, 5> for FusedRecurrenceBackward {
    type State = Saved<B>;

    fn backward(self, ops: Ops<Self::State, 5>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_xp, node_recurrent, node_bias, node_h0, node_c0] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let Saved {
            spec,
            dims,
            xp_shape,
            forward_out,
            rest,
        } = ops.state;
        let device = forward_out.device();
        let mut shapes: Vec<Shape> = vec![xp_shape];
        shapes.extend(rest.iter().map(|t| t.shape()));
        let rest = rest.each_ref().map(B::host_f32);
        let (forward_out, grad) = (B::host_f32(&forward_out), B::host_f32(&grad));
        let g = kernel::backward(&spec, dims, &inputs_of(&spec, &[], &rest), &forward_out, &grad);
        let tensor =
            |values: Vec<f32>, shape: &Shape| B::float_from_data(TensorData::new(values, shape.clone()), &device);
        if let Some(node) = node_xp {
            grads.register::<B>(node.id, tensor(g.xp, &shapes[0]));
        }
        if let Some(node) = node_recurrent {
            grads.register::<B>(node.id, tensor(g.recurrent, &shapes[1]));
        }
        if let Some(node) = node_bias {
            grads.register::<B>(node.id, tensor(g.recurrent_bias, &shapes[2]));
        }
        if let Some(node) = node_h0 {
            grads.register::<B>(node.id, tensor(g.h0, &shapes[3]));
        }
        if let Some(node) = node_c0 {
            grads.register::<B>(node.id, tensor(g.c0, &shapes[4]));
        }
    }
}

impl<B: FusedRecurrence + HostTensors, C: CheckpointStrategy> FusedRecurrence for Autodiff<B, C> {
    fn fused_recurrence(
        spec: ScanSpec,
        xp: FloatTensor<Self>,
        recurrent: FloatTensor<Self>,
        recurrent_bias: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
        mask: FloatTensor<Self>,
        recurrent_masks: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [xp.node(), recurrent.node(), recurrent_bias.node(), h0.node(), c0.node()];
        let xp = xp.into_primitive();
        let rest = [recurrent, recurrent_bias, h0, c0, mask, recurrent_masks].map(|t| t.into_primitive());
        match FusedRecurrenceBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let spec = ScanSpec {
                    save_tape: true,
                    ..spec
                };
                let (dims, xp_shape) = (dims::<B>(&xp, &rest[2]), xp.shape());
                let [r, rb, h0, c0, m, rm] = rest.clone();
                let full = B::fused_recurrence(spec, xp, r, rb, h0, c0, m, rm);
                let visible = dims.time + spec.state_rows();
                let out = B::float_slice(
                    full.clone(),
                    &[Slice::from(0..visible), Slice::from(..), Slice::from(..)],
                );
                prep.finish(
                    Saved {
                        spec,
                        dims,
                        xp_shape,
                        forward_out: full,
                        rest,
                    },
                    out,
                )
            }
            OpsKind::UnTracked(prep) => {
                let spec = ScanSpec {
                    save_tape: false,
                    ..spec
                };
                let [r, rb, h0, c0, m, rm] = rest;
                prep.finish(B::fused_recurrence(spec, xp, r, rb, h0, c0, m, rm))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Element `index` of the view, read one by one.
    fn element(storage: &[f32], strides: &[isize], offset: usize, index: &[usize]) -> f32 {
        let at = index.iter().zip(strides).map(|(&i, &s)| i as isize * s).sum::<isize>();
        storage[(offset as isize + at) as usize]
    }

    #[test]
    fn copy_rows_reads_permuted_and_sliced_views_in_row_major_order() {
        let storage: Vec<f32> = (0..2000).map(|i| i as f32).collect();
        // [T, B, U] = [5, 3, 4] stored time-major, seen as [B, T, U]; then a slice of it from
        // offset 7; then a rank-4 view with a size-1 axis.
        let cases: [(&[usize], &[isize], usize); 3] = [
            (&[3, 5, 4], &[4, 12, 1], 0),
            (&[2, 5, 3], &[4, 12, 1], 7),
            (&[2, 1, 3, 6], &[6, 500, 100, 1], 11),
        ];
        for (shape, strides, offset) in cases {
            let got = copy_rows(&storage, shape, strides, offset).expect("a contiguous last axis");
            let mut want = Vec::new();
            for i in 0..shape.iter().product::<usize>() {
                let mut rest = i;
                let mut index = vec![0; shape.len()];
                for axis in (0..shape.len()).rev() {
                    index[axis] = rest % shape[axis];
                    rest /= shape[axis];
                }
                want.push(element(&storage, strides, offset, &index));
            }
            assert_eq!(got, want, "{shape:?} {strides:?} {offset}");
        }
    }

    #[test]
    fn copy_rows_leaves_other_layouts_to_the_backend() {
        let storage = vec![0.0f32; 100];
        // A strided last axis, runs of one, a negative stride, a view past the buffer, no elements.
        assert_eq!(copy_rows(&storage, &[4, 5], &[1, 4], 0), None);
        assert_eq!(copy_rows(&storage, &[4, 1], &[1, 1], 0), None);
        assert_eq!(copy_rows(&storage, &[4, 5], &[-5, 1], 15), None);
        assert_eq!(copy_rows(&storage, &[4, 5], &[40, 1], 0), None);
        assert_eq!(copy_rows(&storage, &[0, 5], &[5, 1], 0), None);
        assert!(copy_rows(&storage, &[4, 5], &[20, 1], 0).is_some());
    }
}
