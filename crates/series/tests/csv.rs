//! CSV loading: typed errors name the row and column; nothing panics.
use rnnlab_series::{CsvOptions, SeriesError, Split, StandardScaler, TimeSeries, WindowSpec};

fn load(text: &str, opts: &CsvOptions) -> Result<TimeSeries, SeriesError> {
    TimeSeries::from_csv_reader(text.as_bytes(), opts)
}

#[test]
fn multivariate_by_name_and_index() {
    let csv = "date,temp,rain\n1,10.5,0\n2,11.0,1.5\n3,9.5,0.25\n";
    let by_name = load(csv, &CsvOptions::new().columns(["rain", "temp"])).unwrap();
    assert_eq!(by_name.names(), &["rain", "temp"]);
    assert_eq!(by_name.data(), &[0.0, 10.5, 1.5, 11.0, 0.25, 9.5]);
    let by_index = load(
        "10.5;0\n11;1.5\n",
        &CsvOptions::new().has_header(false).delimiter(b';').columns([1usize]),
    )
    .unwrap();
    assert_eq!(by_index.names(), &["1"]);
    assert_eq!(by_index.data(), &[0.0, 1.5]);
    let all = load(csv, &CsvOptions::new()).unwrap();
    assert_eq!(all.features(), 3);
}

#[test]
fn errors_name_row_and_column() {
    let opts = CsvOptions::new().columns(["x"]);
    assert_eq!(
        load("x\n1\nabc\n", &opts),
        Err(SeriesError::NonNumeric {
            row: 3,
            column: "x".into(),
            value: "abc".into()
        })
    );
    assert_eq!(
        load("x,y\n1,2\n,3\n", &opts),
        Err(SeriesError::MissingValue {
            row: 3,
            column: "x".into()
        })
    );
    assert_eq!(load("", &opts), Err(SeriesError::EmptyCsv { header_only: false }));
    assert_eq!(load("x\n", &opts), Err(SeriesError::EmptyCsv { header_only: true }));
    assert!(matches!(load("a\n1\n", &opts), Err(SeriesError::UnknownColumn { .. })));
    assert!(matches!(
        load("1\n2\n", &CsvOptions::new().has_header(false).columns(["x"])),
        Err(SeriesError::NameWithoutHeader { .. })
    ));
    // A short row is ragged whichever column is selected.
    assert!(matches!(
        load("1,2\n3\n", &CsvOptions::new().has_header(false).columns([1usize])),
        Err(SeriesError::RaggedRow { row: 2, .. })
    ));
    assert!(matches!(
        load("1,2\n3,4\n", &CsvOptions::new().has_header(false).columns([2usize])),
        Err(SeriesError::ColumnOutOfRange { row: 1, .. })
    ));
    let msg = load("x\n1\nabc\n", &opts).unwrap_err().to_string();
    assert!(msg.contains("row 3") && msg.contains("\"x\""), "{msg}");
}

#[test]
fn too_short_for_window_and_horizon() {
    let ts = load("x\n1\n2\n3\n", &CsvOptions::new()).unwrap();
    let err = ts.sliding_windows(5, 1).unwrap_err();
    assert!(matches!(err, SeriesError::TooShort { len: 3, needed: 5, .. }), "{err}");
    let batch = ts.sliding_windows(3, 1).unwrap();
    assert!(matches!(
        batch.windows(WindowSpec::vector(3, 1)),
        Err(SeriesError::TooShort { .. })
    ));
}

#[test]
fn scaling_uses_training_statistics_only() {
    let text: String = std::iter::once("v\n".to_string())
        .chain((0..10).map(|i| format!("{}\n", i * i)))
        .collect();
    let ts = load(&text, &CsvOptions::new()).unwrap();
    let parts = ts
        .split_chronological(Split::Counts {
            train: 6,
            valid: 2,
            test: 2,
        })
        .unwrap();
    let scaler = StandardScaler::fit(&parts.train).unwrap();
    let train_mean = (0..6).map(|i| (i * i) as f64).sum::<f64>() / 6.0;
    assert!((scaler.mean()[0] - train_mean).abs() < 1e-12);
    let valid = scaler.transform(&parts.valid).unwrap();
    let back = scaler.inverse(0, valid.data()[0]).unwrap();
    assert!((back - 36.0).abs() < 1e-4);
    // Validation values lie beyond the training range: scaled values above the training maximum.
    assert!(valid.data().iter().all(|&v| v > 1.0));
}
