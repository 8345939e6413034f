//! Every bad input gets a typed error with a message that says what to do; and the properties
//! the pipeline promises (filling keeps present values, MASE of seasonal naive is 1 in sample,
//! intervals widen with the horizon on random walks), checked on random data.

use proptest::prelude::*;
use rnnlab_forecast::{
    Baseline, Baselines, Columns, Evaluation, FillPolicy, ForecastError, ForecastOptions, Frequency, Plan, RawSeries,
    TimeFormat, TimeSplit, forecast_series, mase_scale, prepare,
};

fn read(csv: &str) -> Result<RawSeries, ForecastError> {
    RawSeries::from_reader(csv.as_bytes(), &Columns::default())
}

fn err(csv: &str) -> (ForecastError, String) {
    let e = read(csv).and_then(|r| prepare(&r, FillPolicy::Error)).unwrap_err();
    let msg = e.to_string();
    (e, msg)
}

#[test]
fn missing_values_are_counted_with_their_rows_and_the_options() {
    let (e, msg) =
        err("date,v\n2024-01-01,1\n2024-01-02,NaN\n2024-01-03,\n2024-01-04,inf\n2024-01-05,NA\n2024-01-06,6\n");
    assert!(
        matches!(
            e,
            ForecastError::Missing {
                missing: 4,
                gaps: 0,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(msg.contains("row 3, row 4, row 5, row 6"), "{msg}");
    assert!(
        msg.contains("--fill ffill") && msg.contains("--fill linear") && msg.contains("--fill drop"),
        "{msg}"
    );
    // Never a NaN in the data: markers are missing values, not floats.
    let raw = read("year,v\n1,nan\n2,-Infinity\n3,null\n4,N/A\n5,4\n").unwrap();
    assert_eq!(raw.values, [None, None, None, None, Some(4.0)]);
}

#[test]
fn gaps_in_a_regular_axis_are_missing_values() {
    let (e, msg) = err("month,v\n2024-01,1\n2024-02,2\n2024-05,5\n2024-06,6\n2024-07,7\n");
    assert!(
        matches!(
            e,
            ForecastError::Missing {
                missing: 2,
                gaps: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(msg.contains("absent time 2024-03, absent time 2024-04"), "{msg}");
}

#[test]
fn times_that_repeat_go_backwards_or_break_format_are_errors() {
    let (e, msg) = err("date,v\n2024-01-01,1\n2024-01-01,2\n");
    assert!(
        matches!(
            e,
            ForecastError::TimeOrder {
                row: 3,
                repeated: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(msg.contains("repeats") && msg.contains("sort"), "{msg}");
    let (e, _) = err("date,v\n2024-01-02,1\n2024-01-01,2\n");
    assert!(
        matches!(
            e,
            ForecastError::TimeOrder {
                row: 3,
                repeated: false,
                ..
            }
        ),
        "{e:?}"
    );
    let (e, msg) = err("date,v\n2024-01-01,1\n2024-13-01,2\n");
    assert!(matches!(e, ForecastError::BadTime { row: 3, .. }), "{e:?}");
    assert!(msg.contains("YYYY-MM-DD"), "{msg}");
    let (e, msg) = err("date,v\n2024-01-01,1\nyesterday,2\n");
    assert!(
        matches!(e, ForecastError::BadTime { row: 3, .. }) && msg.contains("yesterday"),
        "{msg}"
    );
}

#[test]
fn an_irregular_step_is_an_error_except_under_drop() {
    let csv = "t,v\n0,1\n2,2\n4,3\n5,4\n";
    let raw = RawSeries::from_reader(
        csv.as_bytes(),
        &Columns {
            target: Some("v".into()),
            time: Some("t".into()),
        },
    )
    .unwrap();
    let e = prepare(&raw, FillPolicy::Linear).unwrap_err();
    assert!(matches!(e, ForecastError::IrregularTime { row: 5, .. }), "{e:?}");
    assert!(e.to_string().contains("--fill drop"), "{e}");
    assert_eq!(prepare(&raw, FillPolicy::Drop).unwrap().values, [1.0, 2.0, 3.0, 4.0]);
}

#[test]
fn columns_cells_and_files_that_do_not_fit() {
    let e = RawSeries::from_reader(
        "a,b\n1,2\n".as_bytes(),
        &Columns {
            target: Some("c".into()),
            time: None,
        },
    )
    .unwrap_err();
    assert!(matches!(&e, ForecastError::UnknownColumn { name, available } if name == "c" && available == &["a", "b"]));
    let e = read("a,b,c\n1,2,3\n").unwrap_err();
    assert!(
        matches!(&e, ForecastError::NoTarget { candidates } if candidates.len() == 3),
        "{e:?}"
    );
    let e = read("date,v\n2024-01-01,12,5\n").unwrap_err();
    assert!(
        matches!(
            e,
            ForecastError::RaggedRow {
                row: 2,
                width: 3,
                expected: 2
            }
        ),
        "{e:?}"
    );
    let e = read("date,v\n2024-01-01,twelve\n").unwrap_err();
    assert!(
        matches!(&e, ForecastError::NonNumeric { row: 2, value, .. } if value == "twelve"),
        "{e:?}"
    );
    assert!(matches!(read("date,v\n").unwrap_err(), ForecastError::EmptyCsv));
    let e = read("1.5\n2.5\n3.5\n").unwrap_err();
    assert!(
        matches!(e, ForecastError::NoHeader { .. }) && e.to_string().contains("header"),
        "{e}"
    );
    assert!(matches!(
        read("2024-01-01,5\n2024-01-02,6\n").unwrap_err(),
        ForecastError::NoHeader { .. }
    ));
    assert!(matches!(read("").unwrap_err(), ForecastError::EmptyCsv));
    let e = RawSeries::from_path(std::path::Path::new("no/such/file.csv"), &Columns::default()).unwrap_err();
    assert!(matches!(e, ForecastError::Io { .. }) && std::error::Error::source(&e).is_some());
}

#[test]
fn a_series_too_short_says_the_minimum() {
    let values: Vec<f64> = (0..40).map(f64::from).collect();
    let e = Plan::new(&values, Frequency::Rows, 12, Some(24), None).unwrap_err();
    let ForecastError::TooShort { n: 40, minimum, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!(minimum, TimeSplit::minimum_length(24, 12));
    assert!(TimeSplit::new(minimum, 12).fits(24, 12) && !TimeSplit::new(minimum - 1, 12).fits(24, 12));
    assert!(e.to_string().contains(&format!("at least {minimum}")), "{e}");
    assert!(Plan::new(&values[..minimum.min(40)], Frequency::Rows, 12, Some(24), None).is_err());
    let ok: Vec<f64> = (0..minimum).map(|v| v as f64).collect();
    assert!(Plan::new(&ok, Frequency::Rows, 12, Some(24), None).is_ok());
}

#[test]
fn options_out_of_range() {
    let values: Vec<f64> = (0..200).map(|t| f64::from(t).sin()).collect();
    assert!(matches!(
        Plan::new(&values, Frequency::Rows, 0, None, None),
        Err(ForecastError::BadOption { .. })
    ));
    assert!(matches!(
        Plan::new(&values, Frequency::Rows, 3, Some(0), None),
        Err(ForecastError::BadOption { .. })
    ));
    assert!(matches!(
        Plan::new(&values, Frequency::Rows, 3, None, Some(0)),
        Err(ForecastError::BadOption { .. })
    ));
    let series = prepare(
        &RawSeries::from_reader(
            {
                let mut s = String::from("v\n");
                values.iter().for_each(|v| s.push_str(&format!("{v}\n")));
                s
            }
            .as_bytes(),
            &Columns::default(),
        )
        .unwrap(),
        FillPolicy::Error,
    )
    .unwrap();
    let too_many = ForecastOptions::new(3).with_backtest(1000).with_epochs(1).quiet();
    let e = forecast_series(series.clone(), &too_many).unwrap_err();
    assert!(e.to_string().contains("ask for at most 28"), "{e}");
    assert!("sometimes".parse::<FillPolicy>().is_err());
    assert!("transformer".parse::<rnnlab_forecast::ModelKind>().is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Filling never changes a value that was present, under every policy.
    #[test]
    fn filling_keeps_present_values(cells in prop::collection::vec(prop::option::weighted(0.7, -1e6f64..1e6), 1..60)) {
        let mut csv = String::from("t,v\n");
        for (t, c) in cells.iter().enumerate() {
            csv.push_str(&format!("{t},{}\n", c.map_or("NA".to_string(), |v| v.to_string())));
        }
        let cols = Columns { target: Some("v".into()), time: Some("t".into()) };
        let raw = RawSeries::from_reader(csv.as_bytes(), &cols).unwrap();
        for policy in [FillPolicy::Ffill, FillPolicy::Linear, FillPolicy::Drop] {
            let p = prepare(&raw, policy).unwrap();
            prop_assert!(p.values.iter().all(|v| v.is_finite()));
            for (t, v) in p.times.iter().zip(&p.values) {
                if let Some(orig) = cells[*t as usize] {
                    prop_assert_eq!(*v, orig);
                }
            }
            let present = cells.iter().filter(|c| c.is_some()).count();
            prop_assert_eq!(p.values.len() + p.fill.dropped, cells.len());
            prop_assert!(p.values.len() >= present);
        }
    }

    /// The seasonal-naive forecast of the training part, scored in sample, has MASE 1.
    #[test]
    fn seasonal_naive_in_sample_mase_is_one(train in prop::collection::vec(-100f64..100.0, 30..200), season in 1usize..13) {
        let scale = mase_scale(&train, season).unwrap();
        let b = Baselines::new(&train, season);
        let mut e = Evaluation::new(1);
        for t in season..train.len() {
            // One step ahead from origin t: the value one season before.
            let f = b.forecast(Baseline::SeasonalNaive, t, season.min(t));
            e.add(&f[..1], &train[t..t + 1]);
        }
        let mase = e.scores(Some(scale)).mase.unwrap();
        prop_assert!((mase - 1.0).abs() < 1e-9, "{}", mase);
    }

    /// On random walks the naive forecast's intervals widen with the horizon step.
    #[test]
    fn intervals_widen_with_the_step_on_random_walks(seed in any::<u64>()) {
        let mut state = seed | 1;
        let mut level = 0.0;
        let walk: Vec<f64> = (0..3000).map(|_| {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            level += (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            level
        }).collect();
        let h = 8;
        let b = Baselines::new(&walk, 1);
        let mut e = Evaluation::new(h);
        for t in (100..walk.len() - h).step_by(2) {
            e.add(&b.forecast(Baseline::Naive, t, h), &walk[t..t + h]);
        }
        let iv = e.intervals();
        let width = |k: usize| iv.upper95[k] - iv.lower95[k];
        let w80 = |k: usize| iv.upper80[k] - iv.lower80[k];
        prop_assert!(width(h - 1) > 1.8 * width(0), "{:?}", iv);
        prop_assert!(w80(h - 1) > 1.8 * w80(0));
        for k in 1..h {
            prop_assert!(width(k) > 0.9 * width(k - 1), "step {} {:?}", k, iv);
            prop_assert!(iv.lower95[k] <= iv.lower80[k] && iv.upper80[k] <= iv.upper95[k]);
        }
    }

    /// No CSV text panics the reader or the filling: each gives a series or a typed error.
    #[test]
    fn arbitrary_csv_text_never_panics(text in "[0-9a-zA-Z,.:\\- \n]{0,300}") {
        if let Ok(raw) = read(&text) {
            for policy in [FillPolicy::Error, FillPolicy::Ffill, FillPolicy::Linear, FillPolicy::Drop] {
                if let Ok(p) = prepare(&raw, policy) {
                    prop_assert!(p.values.iter().all(|v| v.is_finite()));
                    prop_assert_eq!(p.values.len(), p.times.len());
                }
            }
        }
    }

    /// Times parse back to themselves.
    #[test]
    fn dates_round_trip(days in 0i64..80_000) {
        let t = (days - 30_000) as f64 * 86_400.0;
        let s = TimeFormat::Date.format(t);
        prop_assert_eq!(TimeFormat::Date.parse(&s), Some(t));
        prop_assert_eq!(TimeFormat::CompactDate.parse(&TimeFormat::CompactDate.format(t)), Some(t));
    }
}
