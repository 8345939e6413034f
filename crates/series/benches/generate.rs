//! Generating the lecture's data: 10 000 series of 51 steps (`generate_time_series(10000, 51)`).
//!
//! NumPy 1.26.4 on this project's 2-core machine, the lecture's function verbatim after
//! `np.random.seed(42)`: 20.6 ms per call (median of 5 × 10 calls with `timeit`, 2026-11-27).
//! rnnlab measured 12.7 ms in the same session (criterion): 1.6× faster. Both are dominated by
//! the 2 × 510 000 f64 `sin` calls. The benchmark prints the ratio against `NUMPY_MS`.
use criterion::{Criterion, criterion_group, criterion_main};
use rnnlab_series::{NumpyRandom, generate_time_series};

/// Milliseconds NumPy 1.26.4 takes for the same call on this machine (see module docs).
const NUMPY_MS: f64 = 20.6;

fn bench(c: &mut Criterion) {
    c.bench_function("generate_time_series(10000, 51)", |b| {
        b.iter(|| generate_time_series(&mut NumpyRandom::new(42), 10_000, 51).unwrap())
    });
    let t = std::time::Instant::now();
    let reps = 20;
    for _ in 0..reps {
        std::hint::black_box(generate_time_series(&mut NumpyRandom::new(42), 10_000, 51).unwrap());
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0 / reps as f64;
    println!("rnnlab {ms:.2} ms vs NumPy {NUMPY_MS} ms: {:.1}x", NUMPY_MS / ms);
}

criterion_group!(benches, bench);
criterion_main!(benches);
