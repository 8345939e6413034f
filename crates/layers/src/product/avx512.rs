//! Large products on AVX-512, in the order of [`super::gemm`]'s documentation.
//!
//! The `gemm` crate runs its AVX2 kernels on stable Rust (its AVX-512 ones are behind a feature
//! that would also change the order of its dot-product paths from one CPU to another), which
//! leaves half of an AVX-512 core's multiply-add width unused on the products of wide layers.
//! This kernel computes each element as `gemm` does — one chain of fused multiply-adds from zero
//! per slice of [`DEPTH_SLICE`] terms, the slice's sum added to `dst` (or written, for the first
//! slice when `dst` is not read) — so a CPU with AVX-512 and one without give the same bits.
//! Blocking: a tile of [`MR`] (or [`MR_SHORT`]) rows × [`NR`] columns lives in vector registers
//! while the slice runs; `lhs` is packed a block of [`MC`] rows at a time (a tile's values per
//! term together, one broadcast each), `rhs` in panels of `NR` columns (two vector loads per
//! term) — per slice, or once for a matrix that many products share ([`pack_rhs`],
//! [`gemm_packed`]: a recurrent kernel is the same matrix at every step). The block sizes change
//! speed only.

use std::arch::x86_64::{
    __m512, __mmask16, _MM_HINT_T0, _mm_prefetch, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps,
    _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
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
/// Rows of `lhs` packed at a time (a multiple of both tile heights): its block (`MC × 512`
/// floats, 192 KiB) and a block of `rhs` panels stay in a 1 MiB L2 cache while every tile of the
/// block runs.
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

/// `dst = alpha·dst + lhs·rhs` for `alpha` 0 (dst not read) or 1, `k >= 1`.
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
    let n_pad = n.div_ceil(NR) * NR;
    with_scratch(lhs_len(m, k), DEPTH_SLICE.min(k) * n_pad, |packed_lhs, packed| {
        for (depth, kc) in slices(k) {
            let block = &mut packed[..kc * n_pad];
            let overwrite = depth == 0 && alpha == 0.0;
            // SAFETY: the caller's contract; the buffers are sized above.
            unsafe {
                pack_rhs_slice(rhs, depth, kc, n, block);
                slice_product((m, kc, n), lhs, depth, block, overwrite, dst, packed_lhs);
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
    with_scratch(lhs_len(m, k), 0, |packed_lhs, _| {
        for (depth, kc) in slices(k) {
            let block = &packed[depth * n_pad..(depth + kc) * n_pad];
            let overwrite = depth == 0 && alpha == 0.0;
            // SAFETY: the caller's contract; `packed` holds every slice.
            unsafe { slice_product((m, kc, n), lhs, depth, block, overwrite, dst, packed_lhs) };
        }
    });
}

/// Floats `pack_lhs` fills for an `m × k` `lhs`: one block of at most [`MC`] rows, padded to
/// whole tiles, of one slice (a recurrent step's 16-row product needs a sixth of a full block).
fn lhs_len(m: usize, k: usize) -> usize {
    m.min(MC).next_multiple_of(tile_rows_for(m)) * DEPTH_SLICE.min(k)
}

thread_local! {
    /// This thread's packing buffers, kept between products: a recurrent step's product runs at
    /// every step of every batch, and a fresh zeroed buffer each time showed in profiles of
    /// lecture-size epochs (allocator calls). Contents never carry over: the packers write
    /// every float the kernel then reads.
    static SCRATCH: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Runs `work` on packing buffers of `lhs` and `rhs` floats: this thread's [`SCRATCH`], grown
/// where needed (fresh buffers if it is in use).
fn with_scratch<R>(lhs: usize, rhs: usize, work: impl FnOnce(&mut [f32], &mut [f32]) -> R) -> R {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut buffers) => {
            let (a, b) = &mut *buffers;
            if a.len() < lhs {
                a.resize(lhs, 0.0);
            }
            if b.len() < rhs {
                b.resize(rhs, 0.0);
            }
            work(&mut a[..lhs], &mut b[..rhs])
        }
        Err(_) => work(&mut vec![0.0; lhs], &mut vec![0.0; rhs]),
    })
}

/// The slices of `k` terms: `(first term, terms)`, [`DEPTH_SLICE`] terms each but the last.
fn slices(k: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..k)
        .step_by(DEPTH_SLICE)
        .map(move |depth| (depth, DEPTH_SLICE.min(k - depth)))
}

/// One slice: `dst (=|+=) lhs[:, depth..depth + kc] · block`, `block` the slice's packed panels.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn slice_product(
    (m, kc, n): (usize, usize, usize),
    lhs: Strided<*const f32>,
    depth: usize,
    block: &[f32],
    overwrite: bool,
    dst: Strided<*mut f32>,
    packed_lhs: &mut [f32],
) {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        if tile_rows_for(m) == MR_SHORT {
            slice_tiles::<MR_SHORT>((m, kc, n), lhs, depth, block, overwrite, dst, packed_lhs)
        } else {
            slice_tiles::<MR>((m, kc, n), lhs, depth, block, overwrite, dst, packed_lhs)
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
    block: &[f32],
    overwrite: bool,
    dst: Strided<*mut f32>,
    packed_lhs: &mut [f32],
) {
    let mut spill = [[0.0f32; NR]; R];
    for row0 in (0..m).step_by(MC) {
        let rows = MC.min(m - row0);
        // SAFETY: rows row0.. < m, terms depth.. < k (the caller's contract).
        unsafe { pack_lhs::<R>(lhs, row0, rows, depth, kc, packed_lhs) };
        for col_block in (0..n).step_by(NC) {
            let block_cols = NC.min(n - col_block);
            for tile_row in (0..rows).step_by(R) {
                let tile_rows = R.min(rows - tile_row);
                for col0 in (col_block..col_block + block_cols).step_by(NR) {
                    let cols = NR.min(n - col0);
                    // SAFETY: the packed tiles and panels hold `kc` terms; the tile's corner and
                    // extent are inside `dst`.
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
                        kernel::<R>(
                            kc,
                            packed_lhs.as_ptr().add(tile_row * kc),
                            block.as_ptr().add(col0 * kc),
                            out,
                            &mut spill,
                        );
                    }
                }
            }
        }
    }
}

/// Rows `row0..row0 + rows` of `lhs`, terms `depth..depth + kc`, as tiles of `R` rows: tile `t`
/// at `t·R·kc`, term-major (`R` values per term), missing rows zero.
#[target_feature(enable = "avx512f")]
unsafe fn pack_lhs<const R: usize>(
    lhs: Strided<*const f32>,
    row0: usize,
    rows: usize,
    depth: usize,
    kc: usize,
    out: &mut [f32],
) {
    for tile in 0..rows.div_ceil(R) {
        let block = &mut out[tile * R * kc..(tile + 1) * R * kc];
        for r in 0..R {
            let row = tile * R + r;
            if row >= rows {
                (0..kc).for_each(|t| block[t * R + r] = 0.0);
                continue;
            }
            // SAFETY: row `row0 + row` < m and terms `depth + t` < k.
            let src = unsafe {
                lhs.ptr
                    .offset((row0 + row) as isize * lhs.row_stride + depth as isize * lhs.col_stride)
            };
            for t in 0..kc {
                block[t * R + r] = unsafe { *src.offset(t as isize * lhs.col_stride) };
            }
        }
    }
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
/// zero in term order (`lhs` a packed tile, `rhs` a packed panel), written or added to `out`
/// straight from the registers when its rows are contiguous, else through `spill`.
#[target_feature(enable = "avx512f")]
unsafe fn kernel<const R: usize>(
    kc: usize,
    lhs: *const f32,
    rhs: *const f32,
    out: TileOut,
    spill: &mut [[f32; NR]; R],
) {
    let mut acc: [[__m512; 2]; R] = [[_mm512_setzero_ps(); 2]; R];
    for t in 0..kc {
        // SAFETY: term t < kc of a packed tile (`R` floats per term) and panel (`NR`).
        unsafe {
            // The panel's and the tile's terms `PREFETCH_TERMS` ahead (a hint: never faults).
            let ahead = t + PREFETCH_TERMS;
            _mm_prefetch::<_MM_HINT_T0>(rhs.wrapping_add(ahead * NR).cast());
            _mm_prefetch::<_MM_HINT_T0>(rhs.wrapping_add(ahead * NR + 16).cast());
            _mm_prefetch::<_MM_HINT_T0>(lhs.wrapping_add(ahead * R).cast());
            let b0 = _mm512_loadu_ps(rhs.add(t * NR));
            let b1 = _mm512_loadu_ps(rhs.add(t * NR + 16));
            let a = lhs.add(t * R);
            for (r, sums) in acc.iter_mut().enumerate() {
                let ar = _mm512_set1_ps(*a.add(r));
                sums[0] = _mm512_fmadd_ps(ar, b0, sums[0]);
                sums[1] = _mm512_fmadd_ps(ar, b1, sums[1]);
            }
        }
    }
    if out.dst.col_stride == 1 {
        let (low, high) = (lanes(out.cols), lanes(out.cols.saturating_sub(16)));
        for (r, &[mut sum0, mut sum1]) in acc.iter().enumerate().take(out.rows) {
            // SAFETY: row r < rows and the masked lanes are columns < cols, inside `dst`.
            unsafe {
                let row = out.corner.offset(r as isize * out.dst.row_stride);
                if !out.overwrite {
                    sum0 = _mm512_add_ps(_mm512_maskz_loadu_ps(low, row), sum0);
                    sum1 = _mm512_add_ps(_mm512_maskz_loadu_ps(high, row.add(16)), sum1);
                }
                _mm512_mask_storeu_ps(row, low, sum0);
                _mm512_mask_storeu_ps(row.add(16), high, sum1);
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

/// Lanes `0..count` of a 16-lane mask.
fn lanes(count: usize) -> __mmask16 {
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
