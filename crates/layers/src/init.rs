//! Keras's default initializers, drawn on the host so that one seed gives the same initial
//! weights on every backend.
//!
//! Burn's `Tensor::random` draws on the device: flex and ndarray use a host `StdRng`, wgpu and
//! libtorch their own generators, so one seed would give different models per backend. The
//! initializers here draw every value from one process-wide `StdRng` (seeded by [`seed`]) and
//! upload the finished tensor. The orthogonal kernel is computed eagerly (Burn's is lazy: drawn at
//! the first `val()`, which made the draw order depend on which code path touched a weight first).

use std::cell::RefCell;
use std::sync::Mutex;

use burn::module::Param;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The generator of initial weights; `None` until [`seed`] is called.
static INIT_RNG: Mutex<Option<StdRng>> = Mutex::new(None);

/// Seeds Burn's generator on `device` (dropout masks, shuffles drawn on the device) and rnnlab's
/// generator of initial weights, which is the same on every backend.
///
/// Call it where a Keras user calls `keras.utils.set_random_seed(s)`: before building a model.
/// With the same seed, `SimpleRnnConfig::init` & co. return bit-identical weights on flex,
/// ndarray, wgpu and tch.
///
/// Without a call to `seed`, each initializer takes its own seed from `device`'s generator, so
/// `device.seed(s)` alone still makes a run reproducible on one backend.
///
/// ```
/// use rnnlab_layers::burn::tensor::Tensor;
/// use rnnlab_layers::{Backend, DenseConfig, LayerConfig, Shape};
///
/// let device = Backend::Flex.device()?;
/// let x = Tensor::<2>::ones([1, 3], &device);
/// rnnlab_layers::seed(&device, 42);
/// let a = DenseConfig::new(4).init(&Shape::vector(3), &device)?.forward2(x.clone()).into_data();
/// rnnlab_layers::seed(&device, 42);
/// let b = DenseConfig::new(4).init(&Shape::vector(3), &device)?.forward2(x).into_data();
/// assert_eq!(a, b);
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
pub fn seed(device: &Device, seed: u64) {
    device.seed(seed);
    *lock() = Some(StdRng::seed_from_u64(seed));
}

thread_local! {
    /// The generator of a [`seeded`] scope on this thread; it takes precedence over [`INIT_RNG`].
    static SCOPED_RNG: RefCell<Option<StdRng>> = const { RefCell::new(None) };
}

/// Runs `build` with initial weights drawn from a generator seeded with `seed` that belongs to
/// this thread alone: the same weights as [`seed`] followed by `build` in a single-threaded
/// program, and still the same when other threads build models at the same time (with
/// [`seed`], their draws would interleave with this thread's on the one process-wide generator).
/// Also seeds `device`'s own generator, as [`seed`] does.
///
/// ```
/// use rnnlab_layers::{Backend, DenseConfig, LayerConfig, Shape};
/// let device = Backend::Flex.device()?;
/// let build = || DenseConfig::new(4).init(&Shape::vector(3), &device);
/// let a = std::thread::scope(|s| {
///     let other = s.spawn(|| rnnlab_layers::seeded(&device, 7, build));
///     let mine = rnnlab_layers::seeded(&device, 7, build);
///     (mine, other.join().unwrap())
/// });
/// assert_eq!(a.0?.kernel.val().into_data(), a.1?.kernel.val().into_data());
/// # Ok::<(), rnnlab_layers::LayersError>(())
/// ```
pub fn seeded<T>(device: &Device, seed: u64, build: impl FnOnce() -> T) -> T {
    device.seed(seed);
    let outer = SCOPED_RNG.with(|r| r.replace(Some(StdRng::seed_from_u64(seed))));
    // Restores the enclosing scope's generator even if `build` panics.
    struct Restore(Option<Option<StdRng>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take().flatten();
            SCOPED_RNG.with(|r| *r.borrow_mut() = outer);
        }
    }
    let _restore = Restore(Some(outer));
    build()
}

fn lock() -> std::sync::MutexGuard<'static, Option<StdRng>> {
    // A panic while holding the lock cannot leave the generator half-updated: recover it.
    INIT_RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Draws `shape` values from `distribution` with the host generator (see [`seed`]).
fn draw(shape: [usize; 2], distribution: Distribution, device: &Device) -> TensorData {
    let scoped = SCOPED_RNG.with(|r| {
        r.borrow_mut()
            .as_mut()
            .map(|rng| TensorData::random::<f32, _, _>(shape, distribution, rng))
    });
    if let Some(data) = scoped {
        return data;
    }
    let mut guard = lock();
    match guard.as_mut() {
        Some(rng) => TensorData::random::<f32, _, _>(shape, distribution, rng),
        None => {
            drop(guard);
            let mut rng = StdRng::seed_from_u64(seed_from_device(device));
            TensorData::random::<f32, _, _>(shape, distribution, &mut rng)
        }
    }
}

/// 64 bits from the device's own generator: keeps `device.seed(s)` meaningful without [`seed`].
fn seed_from_device(device: &Device) -> u64 {
    let halves = Tensor::<1>::random([2], Distribution::Uniform(0.0, 1.0), device).into_data();
    halves
        .iter::<f32>()
        .fold(0u64, |acc, x| (acc << 32) | u64::from((x * 4_294_967_296.0) as u32))
}

/// `glorot_uniform` for a `[fan_in, fan_out]` kernel: U(±sqrt(6 / (fan_in + fan_out))).
pub fn glorot_uniform(fan_in: usize, fan_out: usize, device: &Device) -> Param<Tensor<2>> {
    let limit = (6.0 / (fan_in + fan_out).max(1) as f64).sqrt();
    let data = draw([fan_in, fan_out], Distribution::Uniform(-limit, limit), device);
    Param::from_data(data, device)
}

/// `orthogonal` for a recurrent kernel `[units, k * units]`, as Keras and PyTorch compute it: a
/// standard normal matrix of the taller orientation, its QR factorization, `Q · sign(diag R)`,
/// transposed back when `rows < cols` (so the rows are orthonormal).
pub fn orthogonal(rows: usize, cols: usize, device: &Device) -> Param<Tensor<2>> {
    let normal = draw([rows, cols], Distribution::Normal(0.0, 1.0), device);
    let values: Vec<f64> = normal.iter::<f32>().map(f64::from).collect();
    let q = orthonormal_factor(&values, rows, cols);
    Param::from_data(TensorData::new(q, [rows, cols]), device)
}

/// `Q · sign(diag R)` of the QR factorization of the `rows × cols` row-major matrix `a` (or of
/// its transpose when `rows < cols`), returned in `a`'s shape. Householder reflections in f64.
///
/// The `m × n` matrix (`m ≥ n`) is held column by column and factored in panels of
/// [`qr::PANEL`] columns. Within a panel each column receives the reflections `H_0, H_1, …` in
/// order, one dot product and one update each. Up to one panel (every recurrent kernel of the
/// lecture's 20-unit layers) that is the whole algorithm, and Q is built the same way, each
/// column taking the reflectors last first. Beyond one panel, the later columns take a panel's
/// reflectors at once in LAPACK's compact WY form, `I − V·T·Vᵀ`: two products, with 512-bit
/// vectors where the CPU has them; Q is built from the same block reflectors, last first.
/// Every sum is taken in an order fixed by the shapes alone (no fused multiply-add, the same
/// lanes in every vector width, columns split over threads without changing any column's
/// arithmetic), so the result does not depend on the machine or its cores. `LSTM(1, 1024)`
/// (a 4096 × 1024 factorization and its Q, ≈ 1.6·10¹⁰ flops) initializes in about 0.85 s on
/// two cores (87 s with the former row-major loops).
fn orthonormal_factor(a: &[f64], rows: usize, cols: usize) -> Vec<f32> {
    let transposed = rows < cols;
    let (m, n) = if transposed { (cols, rows) } else { (rows, cols) };
    // `work` holds the m × n matrix column-major: column c is work[c·m .. (c+1)·m].
    let mut work = vec![0.0; m * n];
    for i in 0..rows {
        for j in 0..cols {
            let (r, c) = if transposed { (j, i) } else { (i, j) };
            work[c * m + r] = a[i * cols + j];
        }
    }
    let reflectors = qr::factor(&mut work, m, n);
    let diag: Vec<f64> = (0..n).map(|k| work[k * m + k]).collect();
    let q = qr::q_columns(&reflectors, m, n);
    let mut out = vec![0.0f32; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            let (r, c) = if transposed { (j, i) } else { (i, j) };
            let sign = if diag[c] < 0.0 { -1.0 } else { 1.0 };
            out[i * cols + j] = (q[c * m + r] * sign) as f32;
        }
    }
    out
}

/// The kernels of [`orthonormal_factor`]: Householder reflections `x ← x − 2·(v·x)/(v·v)·v`.
mod qr {
    use rayon::prelude::*;

    /// Columns factored together before the later columns take their reflectors.
    pub(super) const PANEL: usize = 32;
    /// Columns of Q that take the reflectors together (they stay in L2 while reflectors stream).
    const Q_BLOCK: usize = 16;
    /// Elements below which one thread does the work (the pool's hand-off costs more).
    const PARALLEL_ELEMENTS: usize = 1 << 16;

    /// Reflector `k`: `v` covers rows `k..m`; `norm2 = v·v`.
    pub(super) struct Reflector {
        v: Vec<f64>,
        norm2: f64,
    }

    impl Reflector {
        /// Reflects `column` (a whole column of `m` rows); a zero reflector is the identity.
        fn apply(&self, column: &mut [f64]) {
            if self.norm2 > 0.0 {
                let rows = column.len();
                let x = &mut column[rows - self.v.len()..];
                axpy(2.0 * dot(&self.v, x) / self.norm2, &self.v, x);
            }
        }
    }

    /// Triangularizes the column-major `m × n` matrix in place (R's diagonal ends on the
    /// diagonal) and returns the reflectors.
    pub(super) fn factor(work: &mut [f64], m: usize, n: usize) -> Vec<Reflector> {
        let mut reflectors: Vec<Reflector> = Vec::with_capacity(n);
        for start in (0..n).step_by(PANEL) {
            let end = (start + PANEL).min(n);
            for k in start..end {
                let column = &mut work[k * m..(k + 1) * m];
                // The panel's earlier reflectors reach column k only now.
                for r in &reflectors[start..k] {
                    r.apply(column);
                }
                let x = &column[k..];
                let norm = dot(x, x).sqrt();
                let alpha = if x[0] > 0.0 { -norm } else { norm };
                let mut v = x.to_vec();
                v[0] -= alpha;
                let reflector = Reflector { norm2: dot(&v, &v), v };
                // Column k becomes (alpha, 0, …); only its diagonal is read again.
                reflector.apply(column);
                reflectors.push(reflector);
            }
            if end < n {
                // Hᵀ = (H_start ⋯ H_end-1)ᵀ applied to the later columns at once.
                BlockReflector::new(&reflectors[start..end], m, start).apply(&mut work[end * m..], m, true);
            }
        }
        reflectors
    }

    /// Q's first `n` columns, column-major: `H_0 ⋯ H_{n-1}` applied to the first `n` columns of
    /// I. Column `j` is `e_j` until reflector `j`, so it takes reflectors `j, j-1, …, 0`.
    pub(super) fn q_columns(reflectors: &[Reflector], m: usize, n: usize) -> Vec<f64> {
        if n > PANEL {
            return q_columns_blocked(reflectors, m, n);
        }
        let mut q = vec![0.0; m * n];
        let block = |(b, columns): (usize, &mut [f64])| {
            let first = b * Q_BLOCK;
            for (i, column) in columns.chunks_mut(m).enumerate() {
                column[first + i] = 1.0;
            }
            let last = first + columns.len() / m - 1;
            for k in (0..=last).rev() {
                // Columns before k are still unit vectors that reflector k leaves alone.
                let skip = k.saturating_sub(first);
                for column in columns.chunks_mut(m).skip(skip) {
                    reflectors[k].apply(column);
                }
            }
        };
        if m * n * n >= PARALLEL_ELEMENTS * Q_BLOCK {
            q.par_chunks_mut(Q_BLOCK * m).enumerate().for_each(block);
        } else {
            q.chunks_mut(Q_BLOCK * m).enumerate().for_each(block);
        }
        q
    }

    /// [`q_columns`] for more than one panel: the panels' block reflectors, last first, applied
    /// to the columns they reach (columns before a panel's first row are still unit vectors).
    fn q_columns_blocked(reflectors: &[Reflector], m: usize, n: usize) -> Vec<f64> {
        let mut q = vec![0.0; m * n];
        for j in 0..n {
            q[j * m + j] = 1.0;
        }
        let starts: Vec<usize> = (0..n).step_by(PANEL).collect();
        for &start in starts.iter().rev() {
            let end = (start + PANEL).min(n);
            BlockReflector::new(&reflectors[start..end], m, start).apply(&mut q[start * m..], m, false);
        }
        q
    }

    /// A panel's reflectors `H_0 ⋯ H_{b-1} = I − V·T·Vᵀ` (LAPACK's compact WY form): `V` the
    /// reflectors as the dense columns of a `(m − start) × b` matrix (zeros above each one's first
    /// row), `T` upper triangular. Applying it costs two products instead of `b` passes over each
    /// column, and each column's arithmetic is fixed by the shapes alone.
    struct BlockReflector {
        /// Rows covered: `start..m`.
        start: usize,
        /// `V`, column-major, `rows × b`.
        v: Vec<f64>,
        /// `T`, row-major, `b × b`.
        t: Vec<f64>,
        b: usize,
    }

    impl BlockReflector {
        fn new(panel: &[Reflector], m: usize, start: usize) -> Self {
            let (rows, b) = (m - start, panel.len());
            let mut v = vec![0.0; rows * b];
            for (i, r) in panel.iter().enumerate() {
                v[i * rows + rows - r.v.len()..(i + 1) * rows].copy_from_slice(&r.v);
            }
            // T[i][i] = τ_i = 2 / (v_i·v_i); T[0..i][i] = −τ_i · T[0..i][0..i] · (V[:, 0..i]ᵀ v_i).
            let mut t = vec![0.0; b * b];
            for i in 0..b {
                let tau = if panel[i].norm2 > 0.0 {
                    2.0 / panel[i].norm2
                } else {
                    0.0
                };
                let vi = &v[i * rows..(i + 1) * rows];
                let y: Vec<f64> = (0..i).map(|l| dot(&v[l * rows..(l + 1) * rows], vi)).collect();
                for j in 0..i {
                    let ty: f64 = (j..i).map(|l| t[j * b + l] * y[l]).sum();
                    t[j * b + i] = -tau * ty;
                }
                t[i * b + i] = tau;
            }
            Self { start, v, t, b }
        }

        /// `columns ← (I − V·T·Vᵀ)·columns`, or with `Tᵀ` when `transpose` (what the factorization
        /// needs: `H_{b-1} ⋯ H_0 = (I − V·T·Vᵀ)ᵀ`). `columns` are whole columns of `m` rows.
        fn apply(&self, columns: &mut [f64], m: usize, transpose: bool) {
            let one_block = |block: &mut [f64]| {
                let mut cols: Vec<&mut [f64]> = block.chunks_mut(m).map(|c| &mut c[self.start..]).collect();
                match cols.as_mut_slice() {
                    [a, b, c, d, e, f, g, h] => self.apply_columns::<8>([a, b, c, d, e, f, g, h], transpose),
                    rest => rest.iter_mut().for_each(|c| self.apply_columns::<1>([c], transpose)),
                }
            };
            if columns.len() * self.b >= PARALLEL_ELEMENTS {
                columns.par_chunks_mut(8 * m).for_each(one_block);
            } else {
                columns.chunks_mut(8 * m).for_each(one_block);
            }
        }

        /// The product for `C` columns at once, with the widest vectors the CPU has (the same
        /// operations in the same order on every CPU: no fused multiply-add).
        fn apply_columns<const C: usize>(&self, x: [&mut &mut [f64]; C], transpose: bool) {
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx512f") {
                // SAFETY: AVX-512F is present (checked just above).
                return unsafe { self.apply_columns_avx512(x, transpose) };
            }
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is present (checked just above).
                return unsafe { self.apply_columns_avx2(x, transpose) };
            }
            self.apply_columns_portable(x, transpose);
        }

        /// [`Self::apply_columns_portable`] with explicit 512-bit vectors: lane `l` of every
        /// vector does exactly what element `l` of the portable loop does (a product, then a
        /// sum or difference; no fused multiply-add), so the results are the same bits.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        fn apply_columns_avx512<const C: usize>(&self, x: [&mut &mut [f64]; C], transpose: bool) {
            use std::arch::x86_64::{
                _mm512_add_pd, _mm512_loadu_pd, _mm512_mul_pd, _mm512_set1_pd, _mm512_setzero_pd, _mm512_storeu_pd,
                _mm512_sub_pd,
            };
            const R: usize = 8;
            let (rows, b) = (self.v.len() / self.b, self.b);
            let body = rows / R * R;
            let mut w = vec![[0.0f64; C]; b];
            for (i, wi) in w.iter_mut().enumerate() {
                let vi = &self.v[i * rows..(i + 1) * rows];
                let mut acc = [_mm512_setzero_pd(); C];
                for k in (0..body).step_by(R) {
                    // SAFETY: k + R <= body <= rows, the length of `vi` and of every column.
                    unsafe {
                        let vv = _mm512_loadu_pd(vi.as_ptr().add(k));
                        for c in 0..C {
                            let xx = _mm512_loadu_pd(x[c].as_ptr().add(k));
                            acc[c] = _mm512_add_pd(acc[c], _mm512_mul_pd(vv, xx));
                        }
                    }
                }
                for c in 0..C {
                    let mut a = [0.0f64; R];
                    // SAFETY: `a` holds R values.
                    unsafe { _mm512_storeu_pd(a.as_mut_ptr(), acc[c]) };
                    let tail: f64 = (body..rows).map(|r| vi[r] * x[c][r]).sum();
                    wi[c] = (((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))) + tail;
                }
            }
            let tw = self.times_t(&w, transpose);
            for k in (0..body).step_by(R) {
                // SAFETY: k + R <= body <= rows, the length of every column and of each V column.
                unsafe {
                    let mut xs: [_; C] = std::array::from_fn(|c| _mm512_loadu_pd(x[c].as_ptr().add(k)));
                    for (i, twi) in tw.iter().enumerate() {
                        let vv = _mm512_loadu_pd(self.v.as_ptr().add(i * rows + k));
                        for c in 0..C {
                            xs[c] = _mm512_sub_pd(xs[c], _mm512_mul_pd(_mm512_set1_pd(twi[c]), vv));
                        }
                    }
                    for c in 0..C {
                        _mm512_storeu_pd(x[c].as_mut_ptr().add(k), xs[c]);
                    }
                }
            }
            self.update_tail(x, &tw, body);
        }

        /// `T·W` or `Tᵀ·W` (small, b × b).
        fn times_t<const C: usize>(&self, w: &[[f64; C]], transpose: bool) -> Vec<[f64; C]> {
            let b = self.b;
            (0..b)
                .map(|i| {
                    std::array::from_fn(|c| {
                        (0..b)
                            .map(|l| if transpose { self.t[l * b + i] } else { self.t[i * b + l] } * w[l][c])
                            .sum()
                    })
                })
                .collect()
        }

        /// The rows after the last whole vector of the update `X ← X − V·W`.
        #[inline(always)]
        fn update_tail<const C: usize>(&self, x: [&mut &mut [f64]; C], tw: &[[f64; C]], body: usize) {
            let rows = self.v.len() / self.b;
            for (c, column) in x.into_iter().enumerate() {
                for (r, xr) in column.iter_mut().enumerate().take(rows).skip(body) {
                    for (i, twi) in tw.iter().enumerate() {
                        *xr -= twi[c] * self.v[i * rows + r];
                    }
                }
            }
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn apply_columns_avx2<const C: usize>(&self, x: [&mut &mut [f64]; C], transpose: bool) {
            self.apply_columns_portable(x, transpose);
        }

        #[inline(always)]
        fn apply_columns_portable<const C: usize>(&self, x: [&mut &mut [f64]; C], transpose: bool) {
            const R: usize = 8;
            let (rows, b) = (self.v.len() / self.b, self.b);
            let body = rows / R * R;
            // W = Vᵀ·X (b × C): R interleaved partial sums per column, combined pairwise, then
            // the tail; each V element is loaded once for the C columns.
            let mut w = vec![[0.0f64; C]; b];
            {
                let xr: [&[f64]; C] = std::array::from_fn(|c| &x[c][..rows]);
                for (i, wi) in w.iter_mut().enumerate() {
                    let vi = &self.v[i * rows..(i + 1) * rows];
                    let mut acc = [[0.0f64; R]; C];
                    for (k, vv) in vi[..body].chunks_exact(R).enumerate() {
                        let vv: &[f64; R] = vv.try_into().expect("R values");
                        for c in 0..C {
                            let xx: &[f64; R] = xr[c][k * R..(k + 1) * R].try_into().expect("R values");
                            for l in 0..R {
                                acc[c][l] += vv[l] * xx[l];
                            }
                        }
                    }
                    for c in 0..C {
                        let a = &acc[c];
                        let tail: f64 = (body..rows).map(|r| vi[r] * xr[c][r]).sum();
                        wi[c] = (((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))) + tail;
                    }
                }
            }
            let tw = self.times_t(&w, transpose);
            // X ← X − V·W: each element takes the b products in order, held in registers.
            for k in 0..body / R {
                let mut xs = [[0.0f64; R]; C];
                for c in 0..C {
                    xs[c].copy_from_slice(&x[c][k * R..(k + 1) * R]);
                }
                for (i, twi) in tw.iter().enumerate() {
                    let vv: &[f64; R] = self.v[i * rows + k * R..i * rows + (k + 1) * R]
                        .try_into()
                        .expect("R values");
                    for c in 0..C {
                        for l in 0..R {
                            xs[c][l] -= twi[c] * vv[l];
                        }
                    }
                }
                for c in 0..C {
                    x[c][k * R..(k + 1) * R].copy_from_slice(&xs[c]);
                }
            }
            self.update_tail(x, &tw, body);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The vectorized block update gives the same bits as the portable loops (so results do
        /// not depend on which vector unit the CPU has).
        #[test]
        fn every_vector_width_gives_the_same_bits() {
            let (m, start, b) = (75, 3, 5);
            let mut state = 0x2545_f491_4f6c_dd1du64;
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            };
            let panel: Vec<Reflector> = (0..b)
                .map(|i| {
                    let v: Vec<f64> = (0..m - start - i).map(|_| next()).collect();
                    Reflector { norm2: dot(&v, &v), v }
                })
                .collect();
            let block = BlockReflector::new(&panel, m, start);
            let columns: Vec<f64> = (0..8 * m).map(|_| next()).collect();
            for transpose in [false, true] {
                let (mut a, mut p) = (columns.clone(), columns.clone());
                {
                    let mut cols: Vec<&mut [f64]> = a.chunks_mut(m).map(|c| &mut c[start..]).collect();
                    let [c0, c1, c2, c3, c4, c5, c6, c7] = cols.as_mut_slice() else {
                        unreachable!()
                    };
                    block.apply_columns::<8>([c0, c1, c2, c3, c4, c5, c6, c7], transpose);
                }
                {
                    let mut cols: Vec<&mut [f64]> = p.chunks_mut(m).map(|c| &mut c[start..]).collect();
                    let [c0, c1, c2, c3, c4, c5, c6, c7] = cols.as_mut_slice() else {
                        unreachable!()
                    };
                    block.apply_columns_portable::<8>([c0, c1, c2, c3, c4, c5, c6, c7], transpose);
                }
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&a), bits(&p), "transpose {transpose}");
                assert_ne!(bits(&a), bits(&columns));
            }
        }
    }

    /// `Σ a[i]·b[i]` in one fixed order on every machine: 32 interleaved partial sums (enough
    /// independent additions to keep vector units busy), combined pairwise, then the tail. No
    /// fused multiply-add (it would round differently on CPUs without one), so wider vectors
    /// change only the speed.
    pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F is present (checked just above).
            return unsafe { dot_avx512(a, b) };
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is present (checked just above).
            return unsafe { dot_avx2(a, b) };
        }
        dot_portable(a, b)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn dot_avx512(a: &[f64], b: &[f64]) -> f64 {
        dot_portable(a, b)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn dot_avx2(a: &[f64], b: &[f64]) -> f64 {
        dot_portable(a, b)
    }

    const LANES: usize = 32;

    #[inline(always)]
    fn dot_portable(a: &[f64], b: &[f64]) -> f64 {
        let mut acc = [0.0f64; LANES];
        let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
        for (x, y) in ca.zip(cb) {
            for l in 0..LANES {
                acc[l] += x[l] * y[l];
            }
        }
        let mut width = LANES;
        while width > 1 {
            width /= 2;
            for l in 0..width {
                acc[l] += acc[l + width];
            }
        }
        acc[0] + tail
    }

    /// `x[i] -= s·v[i]`.
    fn axpy(s: f64, v: &[f64], x: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F is present (checked just above).
            return unsafe { axpy_avx512(s, v, x) };
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is present (checked just above).
            return unsafe { axpy_avx2(s, v, x) };
        }
        axpy_portable(s, v, x);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn axpy_avx512(s: f64, v: &[f64], x: &mut [f64]) {
        axpy_portable(s, v, x);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn axpy_avx2(s: f64, v: &[f64], x: &mut [f64]) {
        axpy_portable(s, v, x);
    }

    #[inline(always)]
    fn axpy_portable(s: f64, v: &[f64], x: &mut [f64]) {
        for (xi, vi) in x.iter_mut().zip(v) {
            *xi -= s * vi;
        }
    }
}

/// A constant vector (zeros for biases; LSTM's `unit_forget_bias` sets one block to 1).
pub fn vector(values: Vec<f32>, device: &Device) -> Param<Tensor<1>> {
    let n = values.len();
    Param::from_data(TensorData::new(values, [n]), device)
}

/// `RandomUniform(-0.05, 0.05)`, Keras's `Embedding` initializer.
pub fn uniform_005(rows: usize, cols: usize, device: &Device) -> Param<Tensor<2>> {
    Param::from_data(draw([rows, cols], Distribution::Uniform(-0.05, 0.05), device), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_weights_are_host_draws_independent_of_the_device_generator() {
        // After `seed(s)` the values are exactly what a host StdRng seeded with `s` draws, so no
        // backend's own generator takes part (the same model on flex, ndarray, wgpu and tch).
        let device = crate::Backend::Flex.device().unwrap();
        seed(&device, 42);
        device.seed(7); // moving the device generator must not change the weights
        let got = glorot_uniform(3, 4, &device).val().into_data();
        let limit = (6.0f64 / 7.0).sqrt();
        let want = TensorData::random::<f32, _, _>(
            [3, 4],
            Distribution::Uniform(-limit, limit),
            &mut StdRng::seed_from_u64(42),
        );
        assert_eq!(got, want);
        // The next initializer continues the same stream.
        let mut rng = StdRng::seed_from_u64(42);
        let _ = TensorData::random::<f32, _, _>([3, 4], Distribution::Uniform(-limit, limit), &mut rng);
        let want_next = TensorData::random::<f32, _, _>([2, 5], Distribution::Uniform(-0.05, 0.05), &mut rng);
        assert_eq!(uniform_005(2, 5, &device).val().into_data(), want_next);
    }

    fn product(a: &[f32], rows: usize, cols: usize, rows_of_a: bool) -> Vec<f64> {
        // a·aᵀ (rows_of_a) or aᵀ·a.
        let k = if rows_of_a { rows } else { cols };
        let mut out = vec![0.0; k * k];
        for i in 0..k {
            for j in 0..k {
                out[i * k + j] = if rows_of_a {
                    (0..cols)
                        .map(|c| f64::from(a[i * cols + c]) * f64::from(a[j * cols + c]))
                        .sum()
                } else {
                    (0..rows)
                        .map(|r| f64::from(a[r * cols + i]) * f64::from(a[r * cols + j]))
                        .sum()
                };
            }
        }
        out
    }

    #[test]
    fn orthogonal_factor_has_orthonormal_rows_or_columns() {
        let mut rng = StdRng::seed_from_u64(3);
        // The last three take the blocked path (more than one panel of 32 columns).
        for (rows, cols) in [
            (20, 80),
            (20, 20),
            (7, 3),
            (1, 4),
            (5, 1),
            (100, 70),
            (70, 100),
            (65, 65),
        ] {
            let a = TensorData::random::<f32, _, _>([rows, cols], Distribution::Normal(0.0, 1.0), &mut rng);
            let a: Vec<f64> = a.iter::<f32>().map(f64::from).collect();
            let q = orthonormal_factor(&a, rows, cols);
            let wide = rows < cols;
            let k = rows.min(cols);
            let gram = product(&q, rows, cols, wide);
            for i in 0..k {
                for j in 0..k {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((gram[i * k + j] - want).abs() < 1e-5, "{rows}x{cols} gram[{i},{j}]");
                }
            }
        }
    }

    #[test]
    fn blocked_factor_is_the_qr_factor_with_a_positive_diagonal() {
        // Qᵀ·A must be upper triangular with a positive diagonal (R·sign(diag R)), on the
        // blocked path too.
        let mut rng = StdRng::seed_from_u64(5);
        let (m, n) = (90, 70);
        let a = TensorData::random::<f32, _, _>([m, n], Distribution::Normal(0.0, 1.0), &mut rng);
        let a: Vec<f64> = a.iter::<f32>().map(f64::from).collect();
        let q = orthonormal_factor(&a, m, n);
        for i in 0..n {
            for j in 0..n {
                let r: f64 = (0..m).map(|k| f64::from(q[k * n + i]) * a[k * n + j]).sum();
                if i > j {
                    assert!(r.abs() < 1e-4, "R[{i},{j}] = {r}");
                } else if i == j {
                    assert!(r > 0.0, "R[{i},{i}] = {r}");
                }
            }
        }
    }

    #[test]
    fn orthogonal_factor_is_the_qr_factor_with_a_positive_diagonal() {
        // A = [[-2, 1], [0, 3]] = Q·R with R's diagonal positive: Q = diag(-1, 1), R = [[2, -1], [0, 3]].
        let a = [-2.0, 1.0, 0.0, 3.0];
        let q = orthonormal_factor(&a, 2, 2);
        let want = [-1.0, 0.0, 0.0, 1.0];
        for (got, want) in q.iter().zip(want) {
            assert!((f64::from(*got) - want).abs() < 1e-12, "{q:?}");
        }
    }
}
