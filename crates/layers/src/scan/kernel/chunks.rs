//! The batch in chunks: rows of a batch are independent through a whole recurrence, so each
//! chunk runs every time step on its own, on this thread, the partner thread or the pool, and
//! writes its own rows of shared output buffers ([`SharedBlocks`], the one unsafe part).

use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::Range;
use std::ptr;

use rayon::prelude::*;

use super::super::pair;

/// Batches below this many rows run as one chunk. At and above it a call is split in at least
/// two chunks, run on two cores at once (see [`pair`](super::super::pair)): rows of a batch are
/// independent through the whole recurrence, so each chunk runs all time steps on its own.
/// Measured at the lecture's batch of 32 (2 cores): LSTM seq2seq −20% time per epoch, deep
/// SimpleRNN −9%.
pub(super) const SPLIT_ROWS: usize = 32;

/// Chunks have at most this many rows; a batch of more than two such chunks runs on the thread
/// pool (big inference batches, where a pool wake-up is small next to the work).
pub(super) const MAX_CHUNK_ROWS: usize = 128;

/// The batch split into near-equal chunks: fixed by the batch size alone, never by the machine,
/// so that results (summed in chunk order) do not depend on the number of cores. One empty
/// chunk for an empty batch.
pub(super) fn chunks(batch: usize) -> Vec<Range<usize>> {
    let n = if batch < SPLIT_ROWS {
        1
    } else {
        batch.div_ceil(MAX_CHUNK_ROWS).max(2)
    };
    (0..n).map(|i| i * batch / n..(i + 1) * batch / n).collect()
}

/// `work` on every chunk of the batch, results in chunk order: one chunk here, two on this
/// thread and the [`pair`](super::super::pair) partner, more on the thread pool.
pub(super) fn for_chunks<R: Send>(batch: usize, work: impl Fn(Range<usize>) -> R + Sync) -> Vec<R> {
    let chunks = chunks(batch);
    match chunks.as_slice() {
        [only] => vec![work(only.clone())],
        [first, second] => {
            let (a, b) = pair::join(|| work(first.clone()), || work(second.clone()));
            vec![a, b]
        }
        _ => chunks.into_par_iter().map(&work).collect(),
    }
}

/// Batch rows `rows` of block `block` of a `[blocks, batch, inner]` buffer.
pub(super) fn rows_of<'s>(
    buffer: &'s [f32],
    block: usize,
    batch: usize,
    inner: usize,
    rows: &Range<usize>,
) -> &'s [f32] {
    &buffer[region(block, 1, batch, inner, rows)]
}

/// The element range of batch rows `rows` of `count` blocks from `first`, read as one
/// `[batch, count · inner]` matrix (a recurrence's gates side by side, as the step computes
/// them). One block (`count` 1) is a `[batch, inner]` block.
pub(super) fn region(first: usize, count: usize, batch: usize, inner: usize, rows: &Range<usize>) -> Range<usize> {
    let base = first * batch * inner;
    base + rows.start * count * inner..base + rows.end * count * inner
}

/// A `[blocks, batch, inner]` buffer that the batch chunks fill at the same time, each only
/// its own batch rows of every block.
pub(super) struct SharedBlocks<'a> {
    ptr: *mut f32,
    len: usize,
    batch: usize,
    inner: usize,
    _buffer: PhantomData<&'a mut [f32]>,
}

// SAFETY: the chunks that share it write disjoint elements (see `rows_mut`).
unsafe impl Send for SharedBlocks<'_> {}
// SAFETY: as above.
unsafe impl Sync for SharedBlocks<'_> {}

impl<'a> SharedBlocks<'a> {
    pub(super) fn new(buffer: &'a mut [f32], batch: usize, inner: usize) -> Self {
        SharedBlocks {
            ptr: buffer.as_mut_ptr(),
            len: buffer.len(),
            batch,
            inner,
            _buffer: PhantomData,
        }
    }

    /// [`new`](Self::new) on memory not yet initialized, which the chunks only write with
    /// [`write_rows`](Self::write_rows) or [`zeroed_rows_mut`](Self::zeroed_rows_mut).
    pub(super) fn new_uninit(buffer: &'a mut [MaybeUninit<f32>], batch: usize, inner: usize) -> Self {
        SharedBlocks {
            ptr: buffer.as_mut_ptr().cast(),
            len: buffer.len(),
            batch,
            inner,
            _buffer: PhantomData,
        }
    }

    /// The element range of batch rows `rows` of `count` blocks from `first` ([`region`]).
    fn range(&self, first: usize, count: usize, rows: &Range<usize>) -> Range<usize> {
        let range = region(first, count, self.batch, self.inner, rows);
        assert!(
            range.start <= range.end && range.end <= self.len,
            "rows {rows:?} of blocks {first}..{} out of the buffer",
            first + count
        );
        range
    }

    /// Copies `values` to batch rows `rows` of `count` blocks from `first` (read as one
    /// `[batch, count · inner]` matrix, [`region`]), initialized or not (no reference to the
    /// destination is formed).
    ///
    /// # Safety
    /// No live reference may overlap the destination: concurrent callers pass disjoint `rows`.
    pub(super) unsafe fn write_rows(&self, first: usize, count: usize, rows: &Range<usize>, values: &[f32]) {
        let range = self.range(first, count, rows);
        assert_eq!(
            values.len(),
            range.len(),
            "rows {rows:?} of block {first}: wrong length"
        );
        // SAFETY: in bounds (checked by `range`), `values` is another allocation (borrowed
        // while the destination is only reachable through this pointer), no reference to the
        // destination is live (the caller's contract).
        unsafe { ptr::copy_nonoverlapping(values.as_ptr(), self.ptr.add(range.start), values.len()) };
    }

    /// Copies `values` to batch rows `rows` of `count` blocks from `first` (as
    /// [`write_rows`](Self::write_rows)) and returns those rows for writing.
    ///
    /// # Safety
    /// As [`rows_mut`](Self::rows_mut).
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn init_rows(
        &self,
        first: usize,
        count: usize,
        rows: &Range<usize>,
        values: &[f32],
    ) -> &mut [f32] {
        let range = self.range(first, count, rows);
        // SAFETY: as `write_rows`; then the range is initialized, in bounds and, by the caller's
        // contract, referenced by nothing else.
        unsafe {
            self.write_rows(first, count, rows, values);
            std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.len())
        }
    }

    /// Batch rows `rows` of block `block`, set to zero (initialized or not) and returned for
    /// writing.
    ///
    /// # Safety
    /// As [`rows_mut`](Self::rows_mut).
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn zeroed_rows_mut(&self, block: usize, rows: &Range<usize>) -> &mut [f32] {
        let range = self.range(block, 1, rows);
        // SAFETY: in bounds (checked by `range`); no other reference overlaps (the caller's
        // contract); zero bits are a valid `f32`, so the slice is initialized when formed.
        unsafe {
            let start = self.ptr.add(range.start);
            ptr::write_bytes(start, 0, range.len());
            std::slice::from_raw_parts_mut(start, range.len())
        }
    }

    /// Batch rows `rows` of block `block`, for writing (the buffer must be initialized).
    ///
    /// # Safety
    /// No other live reference may overlap the returned slice: concurrent callers pass disjoint
    /// `rows` (distinct chunks), and one caller drops the slice before asking for it again.
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn rows_mut(&self, block: usize, rows: &Range<usize>) -> &mut [f32] {
        let range = self.range(block, 1, rows);
        // SAFETY: in bounds (checked by `range`); exclusive by the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.len()) }
    }
}
