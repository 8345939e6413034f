//! NumPy's legacy global generator: MT19937 seeded like `np.random.seed(s)`, doubles like `np.random.rand`.

/// The Mersenne Twister MT19937 as NumPy's legacy `RandomState` uses it.
///
/// `NumpyRandom::new(seed)` is `np.random.seed(seed)`; [`NumpyRandom::next_f64`] is one draw of
/// `np.random.rand()` (53-bit double from two 32-bit outputs), bit-exact.
///
/// ```
/// use rnnlab_series::NumpyRandom;
/// let mut rng = NumpyRandom::new(42);
/// assert_eq!(rng.next_f64(), 0.3745401188473625); // np.random.seed(42); np.random.rand()
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumpyRandom {
    state: [u32; N],
    index: usize,
}

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

impl NumpyRandom {
    /// Seeds the generator exactly as `np.random.seed(seed)` does for a 32-bit integer seed
    /// (Matsumoto and Nishimura's `init_genrand`).
    pub fn new(seed: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self { state, index: N }
    }

    fn regenerate(&mut self) {
        let mt = &mut self.state;
        for kk in 0..N {
            let y = (mt[kk] & UPPER_MASK) | (mt[(kk + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            mt[kk] = mt[(kk + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// One tempered 32-bit output.
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.regenerate();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// One `np.random.rand()` draw in `[0, 1)`: `((a >> 5) * 2^26 + (b >> 6)) / 2^53`.
    pub fn next_f64(&mut self) -> f64 {
        let a = u64::from(self.next_u32() >> 5);
        let b = u64::from(self.next_u32() >> 6);
        (a as f64 * 67_108_864.0 + b as f64) / 9_007_199_254_740_992.0
    }

    /// `np.random.rand(n)`: `n` draws in order (C order for any shape with `n` elements).
    pub fn rand(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.next_f64()).collect()
    }
}
