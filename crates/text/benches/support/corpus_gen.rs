//! The benchmark corpus, shared by `benches/corpus.rs`, `examples/phase_timing.rs` and
//! (re-implemented verbatim) `benches/keras_corpus.py`.

/// The corpus generator shared with `keras_corpus.py` (a 64-bit LCG; both sides use it verbatim).
pub struct Lcg(u64);

impl Lcg {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

pub fn corpus(docs: usize) -> Vec<String> {
    let mut rng = Lcg(20261127);
    let pool: Vec<String> = (0..5000)
        .map(|i| {
            if i % 2 == 0 {
                let n = 2 + rng.next_u64() % 3;
                (0..n)
                    .map(|_| char::from_u32(0xAC00 + (rng.next_u64() % 11172) as u32).unwrap())
                    .collect()
            } else {
                let n = 3 + rng.next_u64() % 6;
                (0..n)
                    .map(|_| {
                        let c = (b'a' + (rng.next_u64() % 26) as u8) as char;
                        if rng.next_u64().is_multiple_of(5) {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        }
                    })
                    .collect()
            }
        })
        .collect();
    (0..docs)
        .map(|_| {
            let n = 5 + rng.next_u64() % 36;
            let mut doc = String::new();
            for k in 0..n {
                let idx = ((rng.next_u64() % 5000) * (rng.next_u64() % 5000) / 5000) as usize;
                if k > 0 {
                    doc.push(' ');
                }
                doc.push_str(&pool[idx]);
                match rng.next_u64() % 10 {
                    0 => doc.push(','),
                    1 => doc.push('.'),
                    _ => {}
                }
            }
            doc
        })
        .collect()
}
