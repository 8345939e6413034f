//! Bad input gets a typed error, never a panic, an abort or a silent wrong number.
use proptest::prelude::*;
use rnnlab_series::{
    Array, CsvOptions, NumpyRandom, Series, SeriesError, Split, StandardScaler, TimeSeries, WindowSpec, Windows,
    generate_time_series, naive_forecast,
};

fn csv(text: &str) -> Result<TimeSeries, SeriesError> {
    TimeSeries::from_csv_reader(text.as_bytes(), &CsvOptions::new())
}

#[test]
fn non_finite_cells_are_refused_with_row_and_column() {
    for cell in [
        "NaN", "nan", "-NaN", "inf", "-inf", "infinity", "Infinity", "1e40", "-1e39",
    ] {
        let err = csv(&format!("t,v\n0,1\n1,{cell}\n")).unwrap_err();
        match &err {
            SeriesError::NonFinite { row, column, value } => {
                assert_eq!((*row, column.as_str(), value.as_str()), (3, "v", cell));
            }
            other => panic!("{cell}: {other:?}"),
        }
        assert!(err.to_string().contains("fill or drop"), "{err}");
    }
    // Tiny values underflow to a finite number and load.
    assert!(csv("t,v\n0,1e-50\n").is_ok());
}

#[test]
fn rows_wider_or_narrower_than_the_header_are_refused() {
    let err = csv("t,v\n0,1,5\n").unwrap_err();
    assert_eq!(
        err,
        SeriesError::RaggedRow {
            row: 2,
            width: 3,
            expected: 2,
            reference: "header"
        }
    );
    assert!(err.to_string().contains("decimal comma"), "{err}");
    assert!(matches!(
        csv("t,v\n0,1\n1\n").unwrap_err(),
        SeriesError::RaggedRow { row: 3, width: 1, .. }
    ));
    let no_header = TimeSeries::from_csv_reader("1,2\n3,4,5\n".as_bytes(), &CsvOptions::new().has_header(false));
    assert!(matches!(
        no_header.unwrap_err(),
        SeriesError::RaggedRow {
            row: 2,
            reference: "first row",
            ..
        }
    ));
}

#[test]
fn repeated_header_names_are_ambiguous() {
    let by_name = TimeSeries::from_csv_reader("v,v\n1,2\n".as_bytes(), &CsvOptions::new().columns(["v"]));
    assert_eq!(
        by_name.unwrap_err(),
        SeriesError::DuplicateColumn {
            name: "v".into(),
            count: 2
        }
    );
    assert!(matches!(
        csv("a,v,v\n0,1,2\n").unwrap_err(),
        SeriesError::DuplicateColumn { .. }
    ));
    // By index it is not ambiguous.
    let by_index = TimeSeries::from_csv_reader("v,v\n1,2\n".as_bytes(), &CsvOptions::new().columns([1usize]));
    assert_eq!(by_index.unwrap().data(), &[2.0]);
}

#[test]
fn sizes_that_overflow_are_errors() {
    let series = generate_time_series(&mut NumpyRandom::new(1), 2, 11).unwrap();
    assert!(matches!(
        series.windows(WindowSpec::vector(usize::MAX, 1)).unwrap_err(),
        SeriesError::TooShort { needed: usize::MAX, .. }
    ));
    assert!(matches!(
        Split::Counts {
            train: usize::MAX,
            valid: 2,
            test: 0
        }
        .counts(10)
        .unwrap_err(),
        SeriesError::Overflow { .. }
    ));
    assert!(matches!(
        Series::new(usize::MAX, 2, 2, vec![]).unwrap_err(),
        SeriesError::Overflow { .. }
    ));
    assert!(matches!(
        Array::new(vec![usize::MAX, 3], vec![]).unwrap_err(),
        SeriesError::Overflow { .. }
    ));
}

#[test]
fn sequence_targets_beyond_the_allocation_limit_are_an_error() {
    // 3 series of 100 000 steps: [3, 50 000, 50 000] targets would be 7.5e9 values.
    let long = Series::new(3, 100_000, 1, vec![0.0; 300_000]).unwrap();
    let err = long.windows(WindowSpec::sequence(50_000, 50_000)).unwrap_err();
    assert!(matches!(err, SeriesError::TooLarge { .. }), "{err:?}");
}

#[test]
fn scaler_parameters_are_checked_wherever_they_come_from() {
    for (mean, std) in [
        (vec![], vec![]),
        (vec![0.0], vec![]),
        (vec![0.0], vec![0.0]),
        (vec![0.0], vec![-1.0]),
        (vec![f64::NAN], vec![1.0]),
        (vec![0.0], vec![f64::INFINITY]),
    ] {
        let err = StandardScaler::new(mean.clone(), std.clone()).unwrap_err();
        assert!(
            matches!(err, SeriesError::BadScaler { .. }),
            "{mean:?} {std:?}: {err:?}"
        );
    }
    for json in [r#"{"mean":[0.0],"std":[]}"#, r#"{"mean":[0.0],"std":[0.0]}"#] {
        assert!(serde_json::from_str::<StandardScaler>(json).is_err(), "{json}");
    }
    let ok: StandardScaler = serde_json::from_str(r#"{"mean":[1.0],"std":[2.0]}"#).unwrap();
    assert_eq!(ok.inverse(0, 1.0).unwrap(), 3.0);
    assert!(matches!(
        ok.inverse(1, 1.0).unwrap_err(),
        SeriesError::BadTargetFeature { .. }
    ));
    // A series holding NaN (built by hand) cannot be fitted into a NaN scaler.
    let nan = TimeSeries::new(vec!["x".into()], vec![1.0, f32::NAN]).unwrap();
    assert!(matches!(
        StandardScaler::fit(&nan).unwrap_err(),
        SeriesError::BadScaler { .. }
    ));
}

#[test]
fn hand_built_windows_are_checked_before_use() {
    let flat = Windows {
        x: Array::new(vec![2, 3], vec![0.0; 6]).unwrap(),
        y: Array::new(vec![2, 1], vec![0.0; 2]).unwrap(),
        spec: WindowSpec::vector(3, 1),
    };
    assert!(matches!(
        naive_forecast(&flat).unwrap_err(),
        SeriesError::BadWindows { .. }
    ));
    let wrong_y = Windows {
        x: Array::new(vec![2, 3, 1], vec![0.0; 6]).unwrap(),
        y: Array::new(vec![2, 2], vec![0.0; 4]).unwrap(),
        spec: WindowSpec::vector(3, 1),
    };
    assert!(matches!(
        naive_forecast(&wrong_y).unwrap_err(),
        SeriesError::BadWindows { .. }
    ));
    let bad_feature = Windows {
        x: Array::new(vec![2, 3, 1], vec![0.0; 6]).unwrap(),
        y: Array::new(vec![2, 1], vec![0.0; 2]).unwrap(),
        spec: WindowSpec::vector(3, 1).with_target_feature(4),
    };
    assert!(naive_forecast(&bad_feature).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary bytes: `Ok` with finite values, or a typed error; never a panic.
    #[test]
    fn csv_from_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200), header in any::<bool>()) {
        let opts = CsvOptions::new().has_header(header);
        if let Ok(ts) = TimeSeries::from_csv_reader(bytes.as_slice(), &opts) {
            prop_assert!(ts.data().iter().all(|v| v.is_finite()));
            prop_assert_eq!(ts.data().len(), ts.n_steps() * ts.features());
        }
    }

    /// A valid file with one cell replaced by CSV-ish junk.
    #[test]
    fn csv_with_a_mutated_cell(
        rows in proptest::collection::vec((-1e6f32..1e6, -1e6f32..1e6), 1..20),
        at in any::<prop::sample::Index>(),
        junk in prop::sample::select(vec!["", "NaN", "inf", "-inf", "1e40", "1,5", "\"", "x", "1;2", " ", "0x10", "--1"]),
    ) {
        let mut cells: Vec<String> = rows.iter().flat_map(|(a, b)| [a.to_string(), b.to_string()]).collect();
        let i = at.index(cells.len());
        cells[i] = junk.to_string();
        let body: Vec<String> = cells.chunks(2).map(|c| c.join(",")).collect();
        let text = format!("a,b\n{}\n", body.join("\n"));
        match TimeSeries::from_csv_reader(text.as_bytes(), &CsvOptions::new()) {
            Ok(ts) => prop_assert!(ts.data().iter().all(|v| v.is_finite())),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

#[test]
fn generated_and_sliding_sizes_beyond_the_limit_are_errors() {
    let mut rng = NumpyRandom::new(1);
    assert!(matches!(
        generate_time_series(&mut rng, usize::MAX, 2).unwrap_err(),
        SeriesError::Overflow { .. }
    ));
    assert!(matches!(
        generate_time_series(&mut rng, 1 << 20, 1 << 20).unwrap_err(),
        SeriesError::TooLarge { .. }
    ));
    // 500 001 windows of 500 000 steps would be 2.5e11 values.
    let long = TimeSeries::new(vec!["x".into()], vec![0.0; 1_000_000]).unwrap();
    assert!(matches!(
        long.sliding_windows(500_000, 1).unwrap_err(),
        SeriesError::TooLarge { .. }
    ));
    assert_eq!(long.sliding_windows(999_999, 1).unwrap().shape(), [2, 999_999, 1]);
}
