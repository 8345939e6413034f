//! Large products on AVX-512, in the order of [`super::gemm`]'s documentation.
//!
//! The `gemm` crate runs its AVX2 kernels on stable Rust (its AVX-512 ones are behind a feature
//! that would also change the order of its dot-product paths from one CPU to another), which
//! leaves half of an AVX-512 core's multiply-add width unused on the products of wide layers.
//! This kernel computes each element as `gemm` does — one chain of fused multiply-adds from zero
//! per slice of [`DEPTH_SLICE`] terms, the slice's sum added to `dst` (or written, for the first
//! slice when `dst` is not read) — so a CPU with AVX-512 and one without give the same bits.
//! Blocking: a tile of [`MR`] (or [`MR_SHORT`]) rows × [`NR`] columns lives in vector registers
//! while the slice runs, a block of [`MC`] rows at a time. Each term of a tile row is broadcast
//! straight from `lhs` wherever it lies (packing it first cost more than it saved: a broadcast
//! from memory is one load either way). `rhs` is read as panels of `NR` columns (two vector
//! loads per term): where it lies when its columns are contiguous and few tiles share it
//! ([`reads_rhs_in_place`]), else packed per slice, or once for a matrix that many products
//! share ([`pack_rhs`], [`gemm_packed`]: a recurrent kernel is the same matrix at every step).
//! How operands are read and the block sizes change speed only.

use std::arch::x86_64::{
    __m512, __mmask16, _MM_HINT_T0, _mm_prefetch, _mm512_add_ps, _mm512_fmadd_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

use std::cell::RefCell;

use super::{DEPTH_SLICE, Strided};

/// Rows of a register tile: 12 (24 accumulator registers), or 8 where that wastes fewer padded
/// rows (16 or 32 rows, the batch chunks of small layers); see [`tile_rows_for`].
const MR: usize = 12;
/// The shorter tile.
const MR_SHORT: usize = 8;
/// Columns of a register tile (and of a packed `rhs` panel): two 16-float vectors.
pub(super) const NR: usize = 32;
/// Rows of `lhs` whose tiles run over one block of `rhs` panels before the next rows (a
/// multiple of both tile heights): the rows (`MC × 512` floats, 192 KiB) and the panels stay in a
/// 1 MiB L2 cache meanwhile.
const MC: usize = 96;

/// The tile height for `m` rows: 12, or 8 for products of at most one `lhs` block whose rows it
/// pads fewer (16 or 32 rows; beyond a block the taller tile's fewer loads per multiply-add
/// win: 1600 × 512 × 2048 runs 10–20% faster on 12-row tiles than on 8-row ones, which would
/// pad no row). Speed only: each element's sum is the same chain whatever tile it is in.
fn tile_rows_for(m: usize) -> usize {
    let padding = |mr: usize| m.div_ceil(mr) * mr - m;
    if m <= MC && padding(MR_SHORT) < padding(MR) {
        MR_SHORT
    } else {
        MR
    }
}
/// How many terms ahead the kernel asks for its operands: the hardware prefetcher alone left
/// the tile waiting on the panel (a 1 600 × 512 × 2 048 product ran at 76 GFMA/s on one core of
/// an AVX-512 Xeon, 83–88 with this; 8 to 24 terms measured alike). Speed only.
const PREFETCH_TERMS: usize = 16;
/// Depth from which a tile asks for its operands ahead: below it the hints cost more than they
/// bring (timed interleaved in one process on an AVX-512 Xeon, without them: 16 × 20 × 20,
/// 16 × 20 × 80 and 1600 × 20 × 80 −4%, 1600 × 128 × 512 −2%; with them 128 × 512 × 2048 −2%,
/// 1600 × 512 × 2048 alike). Speed only.
const PREFETCH_FROM: usize = 256;
/// Columns of `rhs` one pass over an `lhs` block reads (`512 × NC` floats, 512 KiB).
const NC: usize = 8 * NR;

/// Whether this CPU runs the kernel.
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx512f")
}

/// Floats of `rhs` packed: every slice of [`DEPTH_SLICE`] terms as panels of [`NR`] columns,
/// term-major, columns padded with zeros to a multiple of `NR`.
pub(super) fn packed_len(k: usize, n: usize) -> usize {
    k * n.div_ceil(NR) * NR
}

/// Packs `rhs` (`k × n`) in the layout of [`packed_len`]: the slice from term `d` with `kc` terms
/// starts at `d · n_pad`, its panel `p` at `p · kc · NR` within.
///
/// # Safety
/// `rhs` holds a `k × n` matrix in its strides; `out` has [`packed_len`] floats.
pub(super) unsafe fn pack_rhs(rhs: Strided<*const f32>, k: usize, n: usize, out: &mut [f32]) {
    let n_pad = n.div_ceil(NR) * NR;
    for (depth, kc) in slices(k) {
        // SAFETY: terms depth..depth + kc < k, columns < n.
        unsafe { pack_rhs_slice(rhs, depth, kc, n, &mut out[depth * n_pad..(depth + kc) * n_pad]) };
    }
}

/// Terms `depth..depth + kc` of `rhs` as `NR`-column panels (see [`pack_rhs`]).
unsafe fn pack_rhs_slice(rhs: Strided<*const f32>, depth: usize, kc: usize, n: usize, out: &mut [f32]) {
    for (p, panel) in out.chunks_exact_mut(kc * NR).enumerate() {
        let col0 = p * NR;
        let cols = NR.min(n - col0);
        for t in 0..kc {
            let to = &mut panel[t * NR..(t + 1) * NR];
            // SAFETY: term depth + t < k and columns col0 + c < n.
            let from = unsafe {
                rhs.ptr
                    .offset((depth + t) as isize * rhs.row_stride + col0 as isize * rhs.col_stride)
            };
            if rhs.col_stride == 1 {
                to[..cols].copy_from_slice(unsafe { std::slice::from_raw_parts(from, cols) });
            } else {
                for (c, v) in to[..cols].iter_mut().enumerate() {
                    *v = unsafe { *from.offset(c as isize * rhs.col_stride) };
                }
            }
            to[cols..].fill(0.0);
        }
    }
}

/// `dst = alpha·dst + lhs·rhs` for `alpha` 0 (dst not read) or 1, `k >= 1`; `rhs` read where it
/// lies when its columns are contiguous and `m` is small ([`reads_rhs_in_place`]), else packed a
/// slice at a time.
///
/// # Safety
/// As [`super::gemm`], and the CPU has AVX-512F ([`available`]).
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gemm(
    (m, k, n): (usize, usize, usize),
    lhs: Strided<*const f32>,
    rhs: Strided<*const f32>,
    alpha: f32,
    dst: Strided<*mut f32>,
) {
    let in_place = reads_rhs_in_place(m, rhs);
    let n_pad = n.div_ceil(NR) * NR;
    let rhs_len = if in_place { 0 } else { DEPTH_SLICE.min(k) * n_pad };
    with_scratch(rhs_len, |packed| {
        for (depth, kc) in slices(k) {
            let overwrite = depth == 0 && alpha == 0.0;
            // SAFETY: the caller's contract; the buffers are sized above.
            unsafe {
                let slice = if in_place {
                    SliceRhs::InPlace(rhs)
                } else {
                    let block = &mut packed[..kc * n_pad];
                    pack_rhs_slice(rhs, depth, kc, n, block);
                    SliceRhs::Packed(block)
                };
                slice_product((m, kc, n), lhs, depth, slice, overwrite, dst);
            }
        }
    });
}

/// [`gemm`] with `rhs` packed beforehand by [`pack_rhs`] (for a matrix used by many products).
///
/// # Safety
/// As [`gemm`], with `packed` from [`pack_rhs`] of a `k × n` matrix.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gemm_packed(
    (m, k, n): (usize, usize, usize),
    lhs: Strided<*const f32>,
    packed: &[f32],
    alpha: f32,
    dst: Strided<*mut f32>,
) {
    let n_pad = n.div_ceil(NR) * NR;
    for (depth, kc) in slices(k) {
        let block = &packed[depth * n_pad..(depth + kc) * n_pad];
        let overwrite = depth == 0 && alpha == 0.0;
        // SAFETY: the caller's contract; `packed` holds every slice.
        unsafe { slice_product((m, kc, n), lhs, depth, SliceRhs::Packed(block), overwrite, dst) };
    }
}

/// Whether [`gemm`] reads `rhs` where it lies: when its columns are contiguous and `lhs` has
/// at most one block of rows, so that one pass of tiles reads each panel (packing would read
/// and write it once more). With more rows, packed panels win: a 1600 × 512 × 2048 product ran
/// 2–4× slower reading a 2048-column `rhs` in place (a page per term), while products of 10 to
/// 96 rows ran 15–160% faster in place (AVX-512 Xeon, one core). Speed only.
pub(super) fn reads_rhs_in_place(m: usize, rhs: Strided<*const f32>) -> bool {
    rhs.col_stride == 1 && m <= MC
}

thread_local! {
    /// This thread's buffer for packed `rhs` slices, kept between products (a fresh zeroed
    /// buffer per product showed in profiles of lecture-size epochs: allocator calls). Contents
    /// never carry over: the packer writes every float the kernel then reads.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` on a packing buffer of `len` floats: this thread's [`SCRATCH`], grown where
/// needed (a fresh buffer if it is in use).
fn with_scratch<R>(len: usize, work: impl FnOnce(&mut [f32]) -> R) -> R {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut buffer) => {
            if buffer.len() < len {
                buffer.resize(len, 0.0);
            }
            work(&mut buffer[..len])
        }
        Err(_) => work(&mut vec![0.0; len]),
    })
}

/// The slices of `k` terms: `(first term, terms)`, [`DEPTH_SLICE`] terms each but the last.
fn slices(k: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..k)
        .step_by(DEPTH_SLICE)
        .map(move |depth| (depth, DEPTH_SLICE.min(k - depth)))
}

/// One slice's `rhs`: packed panels ([`pack_rhs`]'s layout for the slice), or the operand itself
/// (columns contiguous), read from term `depth` of the slice.
#[derive(Clone, Copy)]
enum SliceRhs<'a> {
    Packed(&'a [f32]),
    InPlace(Strided<*const f32>),
}

/// One slice: `dst (=|+=) lhs[:, depth..depth + kc] · rhs[depth..depth + kc, :]`.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn slice_product(
    (m, kc, n): (usize, usize, usize),
    lhs: Strided<*const f32>,
    depth: usize,
    rhs: SliceRhs<'_>,
    overwrite: bool,
    dst: Strided<*mut f32>,
) {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        if tile_rows_for(m) == MR_SHORT {
            slice_tiles::<MR_SHORT>((m, kc, n), lhs, depth, rhs, overwrite, dst)
        } else {
            slice_tiles::<MR>((m, kc, n), lhs, depth, rhs, overwrite, dst)
        }
    }
}

/// [`slice_product`] with tiles of `R` rows.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn slice_tiles<const R: usize>(
    (m, kc, n): (usize, usize, usize),
    lhs: Strided<*const f32>,
    depth: usize,
    rhs: SliceRhs<'_>,
    overwrite: bool,
    dst: Strided<*mut f32>,
) {
    let mut spill = [[0.0f32; NR]; R];
    for row0 in (0..m).step_by(MC) {
        let rows = MC.min(m - row0);
        for col_block in (0..n).step_by(NC) {
            let block_cols = NC.min(n - col_block);
            for tile_row in (0..rows).step_by(R) {
                let tile_rows = R.min(rows - tile_row);
                // Rows past the product's last repeat it: read in bounds, their sums never stored.
                let tile = Tile {
                    ptr: lhs
                        .ptr
                        .wrapping_offset((row0 + tile_row) as isize * lhs.row_stride + depth as isize * lhs.col_stride),
                    term: lhs.col_stride,
                    rows: std::array::from_fn(|r| r.min(tile_rows - 1) as isize * lhs.row_stride),
                };
                for col0 in (col_block..col_block + block_cols).step_by(NR) {
                    let cols = NR.min(n - col0);
                    let panel = match rhs {
                        SliceRhs::Packed(block) => Panel {
                            ptr: block[col0 * kc..].as_ptr(),
                            term: NR as isize,
                            low: 0xFFFF,
                            high: 0xFFFF,
                        },
                        SliceRhs::InPlace(rhs) => Panel {
                            ptr: rhs.ptr.wrapping_offset(depth as isize * rhs.row_stride + col0 as isize),
                            term: rhs.row_stride,
                            low: lanes(cols),
                            high: lanes(cols.saturating_sub(16)),
                        },
                    };
                    // SAFETY: the tile and panel hold `kc` terms; the tile's corner and extent
                    // are inside `dst`.
                    unsafe {
                        let corner = dst
                            .ptr
                            .offset((row0 + tile_row) as isize * dst.row_stride + col0 as isize * dst.col_stride);
                        let out = TileOut {
                            corner,
                            dst,
                            rows: tile_rows,
                            cols,
                            overwrite,
                        };
                        if kc >= PREFETCH_FROM {
                            kernel::<R, true>(kc, tile, panel, out, &mut spill);
                        } else {
                            kernel::<R, false>(kc, tile, panel, out, &mut spill);
                        }
                    }
                }
            }
        }
    }
}

/// A tile's `lhs` values, read where `lhs` lies: row `r`'s term `t` at `ptr + t·term + rows[r]`.
#[derive(Clone, Copy)]
struct Tile<const R: usize> {
    ptr: *const f32,
    term: isize,
    rows: [isize; R],
}

/// A panel's `rhs` values: term `t`'s columns at `ptr + t·term`, the two vectors' lanes `low`
/// and `high` (columns past the panel's last are not read: zero).
#[derive(Clone, Copy)]
struct Panel {
    ptr: *const f32,
    term: isize,
    low: __mmask16,
    high: __mmask16,
}

/// Where a tile's sums go: `rows × cols` elements of `dst` from `corner`.
struct TileOut {
    corner: *mut f32,
    dst: Strided<*mut f32>,
    rows: usize,
    cols: usize,
    /// Write the sums (the first slice when `dst` is not read); else add them.
    overwrite: bool,
}

/// One tile: `Σ_t lhs[r, t]·rhs[t, c]` over `kc` terms, each a chain of fused multiply-adds from
/// zero in term order, written or added to `out` straight from the registers when its rows are
/// contiguous, else through `spill`.
#[target_feature(enable = "avx512f")]
unsafe fn kernel<const R: usize, const PREFETCH: bool>(
    kc: usize,
    lhs: Tile<R>,
    rhs: Panel,
    out: TileOut,
    spill: &mut [[f32; NR]; R],
) {
    let mut acc: [[__m512; 2]; R] = [[_mm512_setzero_ps(); 2]; R];
    for t in 0..kc {
        // SAFETY: term t < kc of the tile and the panel; masked-off lanes are not read.
        unsafe {
            if PREFETCH {
                // The panel's and the tile's terms `PREFETCH_TERMS` ahead (a hint: never faults).
                let ahead = (t + PREFETCH_TERMS) as isize;
                let b_ahead = rhs.ptr.wrapping_offset(ahead * rhs.term);
                _mm_prefetch::<_MM_HINT_T0>(b_ahead.cast());
                _mm_prefetch::<_MM_HINT_T0>(b_ahead.wrapping_add(16).cast());
                _mm_prefetch::<_MM_HINT_T0>(lhs.ptr.wrapping_offset(ahead * lhs.term).cast());
            }
            let b = rhs.ptr.offset(t as isize * rhs.term);
            let b0 = _mm512_maskz_loadu_ps(rhs.low, b);
            let b1 = _mm512_maskz_loadu_ps(rhs.high, b.add(16));
            let a = lhs.ptr.offset(t as isize * lhs.term);
            for (r, sums) in acc.iter_mut().enumerate() {
                let ar = _mm512_set1_ps(*a.offset(lhs.rows[r]));
                sums[0] = _mm512_fmadd_ps(ar, b0, sums[0]);
                sums[1] = _mm512_fmadd_ps(ar, b1, sums[1]);
            }
        }
    }
    if out.dst.col_stride == 1 {
        let (low, high) = (lanes(out.cols), lanes(out.cols.saturating_sub(16)));
        let row = |r: usize| out.corner.wrapping_offset(r as isize * out.dst.row_stride);
        if !out.overwrite {
            // Every row's load before the first store: with rows closer than 32 floats (a
            // 20-unit layer's) one row's masked store covers the next row's load, which then
            // waits until the store retires. Measured in one process on an AVX-512 Xeon,
            // `dst += lhs·rhs`: 32 × 20 × 20 1.24 → 0.99 µs, 64 × 20 × 20 2.43 → 1.92 µs,
            // 32 × 80 × 20 2.77 → 2.49 µs; 32 and more columns unchanged. Speed only.
            for (r, sums) in acc.iter_mut().enumerate().take(out.rows) {
                // SAFETY: row r < rows and the masked lanes are columns < cols, inside `dst`.
                unsafe {
                    sums[0] = _mm512_add_ps(_mm512_maskz_loadu_ps(low, row(r)), sums[0]);
                    sums[1] = _mm512_add_ps(_mm512_maskz_loadu_ps(high, row(r).add(16)), sums[1]);
                }
            }
        }
        for (r, sums) in acc.iter().enumerate().take(out.rows) {
            // SAFETY: as above.
            unsafe {
                _mm512_mask_storeu_ps(row(r), low, sums[0]);
                _mm512_mask_storeu_ps(row(r).add(16), high, sums[1]);
            }
        }
        return;
    }
    for (row, sums) in spill.iter_mut().zip(&acc) {
        // SAFETY: each row of the spill holds 32 floats.
        unsafe {
            _mm512_storeu_ps(row.as_mut_ptr(), sums[0]);
            _mm512_storeu_ps(row.as_mut_ptr().add(16), sums[1]);
        }
    }
    // SAFETY: the caller's tile is inside `dst`.
    unsafe { store(spill, out) };
}

/// Lanes `0..count` of a 16-lane mask (all 16 from 16 on).
pub(crate) fn lanes(count: usize) -> __mmask16 {
    if count >= 16 {
        0xFFFF
    } else {
        ((1u32 << count) - 1) as __mmask16
    }
}

/// Writes (`overwrite`) or adds a spilled tile's corner into `out`, as `gemm` does: `dst + sum`,
/// one rounding.
#[target_feature(enable = "avx512f")]
unsafe fn store<const R: usize>(tile: &[[f32; NR]; R], out: TileOut) {
    for (r, sums) in tile.iter().enumerate().take(out.rows) {
        for (c, &sum) in sums.iter().enumerate().take(out.cols) {
            // SAFETY: the element is inside `dst` (row and column within the product's shape).
            unsafe {
                let d = out
                    .corner
                    .offset(r as isize * out.dst.row_stride + c as isize * out.dst.col_stride);
                *d = if out.overwrite { sum } else { *d + sum };
            }
        }
    }
}
