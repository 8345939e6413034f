//! The one small generator rnnlab uses outside Burn: shuffles, synthetic corpora.

/// SplitMix64: a small, fast, seedable generator (same seed, same sequence on every machine).
/// `fit` shuffles with it; the experiments draw their synthetic reviews from it.
///
/// ```
/// use rnnlab_train::SplitMix64;
/// let mut a = SplitMix64::new(7);
/// let mut b = SplitMix64::new(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// let mut order: Vec<usize> = (0..5).collect();
/// a.shuffle(&mut order);
/// order.sort();
/// assert_eq!(order, [0, 1, 2, 3, 4]);
/// assert!(b.below(3) < 3);
/// ```
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`next_u64() % n`, so reproducible rather than perfectly uniform);
    /// 0 when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        match n {
            0 => 0,
            _ => (self.next_u64() % n as u64) as usize,
        }
    }

    /// Fisher–Yates, from the last element down.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}
