//! Property tests: windows and splits keep every value exactly once, in order; the generator's
//! stream continues across calls.
use proptest::prelude::*;
use rnnlab_series::{NumpyRandom, Series, Split, TimeSeries, WindowSpec, generate_time_series};

fn series_strategy() -> impl Strategy<Value = Series> {
    (1usize..6, 2usize..12, 1usize..3).prop_flat_map(|(b, t, f)| {
        prop::collection::vec(-100.0f32..100.0, b * t * f).prop_map(move |d| Series::new(b, t, f, d).unwrap())
    })
}

proptest! {
    #[test]
    fn vector_windows_copy_the_right_values(s in series_strategy(), w in 1usize..6, h in 1usize..4) {
        let spec = WindowSpec::vector(w, h);
        match s.windows(spec) {
            Err(_) => prop_assert!(s.n_steps() < w + h),
            Ok(win) => {
                prop_assert_eq!(win.x.shape(), &[s.batch(), w, s.features()]);
                prop_assert_eq!(win.y.shape(), &[s.batch(), h]);
                for b in 0..s.batch() {
                    for t in 0..w {
                        for f in 0..s.features() {
                            prop_assert_eq!(win.x.get(&[b, t, f]), s.value(b, t, f));
                        }
                    }
                    for k in 0..h {
                        prop_assert_eq!(win.y.get(&[b, k]), s.value(b, w + k, 0));
                    }
                }
            }
        }
    }

    #[test]
    fn sequence_targets_follow_the_definition(s in series_strategy(), w in 1usize..6, h in 1usize..4) {
        if let Ok(win) = s.windows(WindowSpec::sequence(w, h)) {
            prop_assert_eq!(win.y.shape(), &[s.batch(), w, h]);
            for b in 0..s.batch() {
                for t in 0..w {
                    for k in 1..=h {
                        prop_assert_eq!(win.y.get(&[b, t, k - 1]), s.value(b, t + k, 0));
                    }
                }
            }
        }
    }

    #[test]
    fn splits_keep_every_sample_once_in_order(s in series_strategy(), a in 0usize..6, b in 0usize..6) {
        let win = s.windows(WindowSpec::vector(1, 1)).unwrap();
        let n = win.len();
        let (train, valid) = (a.min(n), b.min(n - a.min(n)));
        let parts = win.split(Split::Counts { train, valid, test: n - train - valid }).unwrap();
        let mut x = parts.train.x.data().to_vec();
        x.extend_from_slice(parts.valid.x.data());
        x.extend_from_slice(parts.test.x.data());
        prop_assert_eq!(x.as_slice(), win.x.data());
        let mut y = parts.train.y.data().to_vec();
        y.extend_from_slice(parts.valid.y.data());
        y.extend_from_slice(parts.test.y.data());
        prop_assert_eq!(y.as_slice(), win.y.data());
        let too_many = Split::Counts { train, valid, test: n - train - valid + 1 };
        prop_assert!(win.split(too_many).is_err());
    }

    #[test]
    fn chronological_split_and_sliding_windows(values in prop::collection::vec(-5.0f32..5.0, 3..40),
                                              stride in 1usize..4, len in 1usize..5) {
        let ts = TimeSeries::new(vec!["v".into()], values.clone()).unwrap();
        let parts = ts.split_chronological(Split::Fractions { train: 0.6, valid: 0.2 }).unwrap();
        let joined: Vec<f32> =
            [parts.train.data(), parts.valid.data(), parts.test.data()].concat();
        prop_assert_eq!(&joined, &values);
        if let Ok(batch) = ts.sliding_windows(len, stride) {
            prop_assert_eq!(batch.batch(), (values.len() - len) / stride + 1);
            for i in 0..batch.batch() {
                prop_assert_eq!(batch.series(i), &values[i * stride..i * stride + len]);
            }
        } else {
            prop_assert!(values.len() < len);
        }
    }

    #[test]
    fn the_stream_continues_across_calls(seed in any::<u32>(), a in 0usize..700, b in 0usize..700) {
        let mut one = NumpyRandom::new(seed);
        let mut first = one.rand(a);
        first.extend(one.rand(b));
        prop_assert_eq!(first, NumpyRandom::new(seed).rand(a + b));
    }
}

#[test]
fn prior_draws_shift_the_generated_series() {
    let mut shifted = NumpyRandom::new(7);
    shifted.rand(3);
    let with_prior = generate_time_series(&mut shifted, 4, 10).unwrap();
    let fresh = generate_time_series(&mut NumpyRandom::new(7), 4, 10).unwrap();
    assert_ne!(with_prior, fresh);
    // Two calls on one generator continue the stream: the second equals a generator that skipped
    // the first call's 4*b + b*t draws.
    let mut rng = NumpyRandom::new(7);
    let _ = generate_time_series(&mut rng, 2, 5).unwrap();
    let second = generate_time_series(&mut rng, 2, 5).unwrap();
    let mut skip = NumpyRandom::new(7);
    skip.rand(4 * 2 + 2 * 5);
    assert_eq!(second, generate_time_series(&mut skip, 2, 5).unwrap());
}
