//! The whole pipeline on the CSVs in `tests/data`: library and `rnnlab` binary, outputs,
//! reproducibility, and `predict` from the saved model.

use std::path::{Path, PathBuf};
use std::process::Command;

use rnnlab_forecast::{
    Columns, FillPolicy, ForecastOptions, Forecaster, ModelKind, RawSeries, TimeFormat, forecast_file, load_forecaster,
    prepare, write_outputs,
};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rnnlab-forecast-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn sales() -> Columns {
    Columns {
        target: Some("sales".into()),
        time: None,
    }
}

#[test]
fn daily_series_with_a_missing_cell_and_an_absent_day() {
    let raw = RawSeries::from_path(&data("daily_gappy.csv"), &sales()).unwrap();
    assert_eq!(raw.format, TimeFormat::Date);
    assert_eq!(raw.time_column.as_deref(), Some("date"));
    assert_eq!((raw.len(), raw.missing()), (239, 1));
    let filled = prepare(&raw, FillPolicy::Linear).unwrap();
    assert_eq!(filled.values.len(), 240);
    assert_eq!(
        (filled.fill.missing_cells, filled.fill.absent_steps, filled.fill.filled),
        (1, 1, 2)
    );
    assert_eq!(TimeFormat::Date.format(filled.times[100]), "2023-04-11");
    // The absent day is interpolated between its neighbours.
    let expected = (filled.values[99] + filled.values[101]) / 2.0;
    assert!((filled.values[100] - expected).abs() < 1e-9);
    let dropped = prepare(&raw, FillPolicy::Drop).unwrap();
    assert_eq!((dropped.values.len(), dropped.fill.dropped), (238, 1));
}

#[test]
fn forecast_writes_every_output_reproducibly_and_predict_matches_it() {
    let options = ForecastOptions::new(7)
        .with_columns(sales())
        .with_fill(FillPolicy::Linear)
        .with_model(ModelKind::Gru)
        .with_epochs(4)
        .quiet();
    let outcome = forecast_file(&data("daily_gappy.csv"), &options).unwrap();
    assert_eq!(outcome.plan.season.season, 7, "{}", outcome.plan.season.reason);
    assert_eq!(outcome.plan.lookback, 21);
    assert_eq!(outcome.results.len(), 5);
    let dir = scratch("daily");
    let files = write_outputs(&outcome, &dir).unwrap();
    for f in [
        &files.metrics,
        &files.forecast,
        &files.report,
        &files.model,
        &files.forecaster,
    ] {
        assert!(std::fs::metadata(f).unwrap().len() > 0, "{}", f.display());
    }
    assert_eq!(files.plots.len(), 3);

    let metrics: serde_json::Value = serde_json::from_slice(&std::fs::read(&files.metrics).unwrap()).unwrap();
    for key in [
        "target", "horizon", "lookback", "season", "n_train", "n_valid", "n_test", "filled", "models", "best",
    ] {
        assert!(metrics.get(key).is_some(), "metrics.json lacks {key}");
    }
    assert_eq!(
        metrics["n_train"].as_u64().unwrap()
            + metrics["n_valid"].as_u64().unwrap()
            + metrics["n_test"].as_u64().unwrap(),
        240
    );
    let models = metrics["models"].as_object().unwrap();
    assert_eq!(
        models.keys().collect::<Vec<_>>(),
        ["gru", "naive", "seasonal-naive", "drift", "mean"]
    );
    for m in models.values() {
        for k in ["mae", "rmse", "smape", "mase"] {
            assert!(m[k].as_f64().unwrap().is_finite(), "{m}");
        }
    }
    assert!(models.contains_key(metrics["best"].as_str().unwrap()));

    // forecast.csv: the seven days after the last one, intervals nested.
    let csv = std::fs::read_to_string(&files.forecast).unwrap();
    let rows: Vec<Vec<f64>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').skip(1).map(|v| v.parse().unwrap()).collect())
        .collect();
    let times: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(
        times,
        [
            "2023-08-29",
            "2023-08-30",
            "2023-08-31",
            "2023-09-01",
            "2023-09-02",
            "2023-09-03",
            "2023-09-04"
        ]
    );
    for r in &rows {
        let [f, l80, u80, l95, u95] = r[..] else {
            panic!("{r:?}")
        };
        assert!(l95 <= l80 && l80 <= u80 && u80 <= u95, "{r:?}");
        assert!(f.is_finite());
    }

    // The same command and seed: metrics.json byte for byte.
    let again = forecast_file(&data("daily_gappy.csv"), &options).unwrap();
    let dir2 = scratch("daily-again");
    let files2 = write_outputs(&again, &dir2).unwrap();
    assert_eq!(
        std::fs::read(&files.metrics).unwrap(),
        std::fs::read(&files2.metrics).unwrap()
    );

    // predict: the saved model and forecaster.json give the in-memory network's forecast.
    let device = rnnlab_layers::Backend::Flex.device().unwrap();
    let (saved, model) = load_forecaster(&files.model, &device).unwrap();
    assert_eq!(saved, Forecaster::from_outcome(&outcome));
    let from_file = saved.forecast_csv(&model, &data("daily_gappy.csv"), None).unwrap();
    let in_memory = saved
        .forecast_values(
            &outcome.model,
            &outcome.series.values,
            *outcome.series.times.last().unwrap(),
            None,
        )
        .unwrap();
    assert_eq!(from_file.times, in_memory.times);
    for (a, b) in from_file.values.iter().zip(&in_memory.values) {
        assert!((a - b).abs() < 1e-4 * b.abs().max(1.0), "{a} vs {b}");
    }
    if outcome.best == "gru" {
        assert_eq!(from_file.values.len(), outcome.future.values.len());
    }
    let short = saved.forecast_csv(&model, &data("daily_gappy.csv"), Some(3)).unwrap();
    assert_eq!(short.values.len(), 3);
    assert!(saved.forecast_csv(&model, &data("daily_gappy.csv"), Some(8)).is_err());
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&dir2);
}

#[test]
fn a_trend_is_continued_beyond_the_training_range() {
    // A straight line: every test value lies above anything seen in training. Windows taken
    // relative to their last value let even the linear network continue it.
    let mut csv = String::from("t,y\n");
    for t in 0..300 {
        csv.push_str(&format!("{t},{}\n", 10.0 + 0.5 * f64::from(t)));
    }
    let y_only = Columns {
        target: Some("y".into()),
        time: None,
    };
    let raw = RawSeries::from_reader(csv.as_bytes(), &y_only).unwrap();
    assert_eq!(
        raw.format,
        TimeFormat::Row,
        "a plain-number column named t is not taken for time"
    );
    let raw = RawSeries::from_reader(
        csv.as_bytes(),
        &Columns {
            target: Some("y".into()),
            time: Some("t".into()),
        },
    )
    .unwrap();
    let series = prepare(&raw, FillPolicy::Error).unwrap();
    let options = ForecastOptions::new(5)
        .with_model(ModelKind::Linear)
        .with_epochs(40)
        .quiet();
    let outcome = rnnlab_forecast::forecast_series(series, &options).unwrap();
    let net = outcome.result("linear").unwrap();
    let max_train = 10.0 + 0.5 * (outcome.plan.split.n_train - 1) as f64;
    // Step 300 of the line is 160, far above the training part's largest value.
    assert!(max_train < 115.0);
    assert!(
        (outcome.future.values[0] - 160.0).abs() < 1.0,
        "{:?}",
        outcome.future.values
    );
    assert!(net.scores.mae < 0.5, "{:?}", net.scores);
    assert!(net.scores.mae < outcome.result("naive").unwrap().scores.mae / 2.0);
}

#[test]
fn other_spellings_of_time_and_delimiters() {
    // statsmodels' elec_equip style: month names, and a semicolon-delimited file.
    let mut csv = String::from("DATE;orders\n");
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    for i in 0..48 {
        csv.push_str(&format!("{}-1-{};{}\n", months[i % 12], 1995 + i / 12, 60 + i % 12));
    }
    let raw = RawSeries::from_reader(csv.as_bytes(), &Columns::default()).unwrap();
    assert_eq!(
        (raw.format, raw.time_column.as_deref(), raw.len()),
        (TimeFormat::MonthName, Some("DATE"), 48)
    );
    let p = prepare(&raw, FillPolicy::Error).unwrap();
    assert_eq!(p.frequency, rnnlab_forecast::Frequency::Months(1));
    let quarters = "quarter\tgdp\n1959Q1\t1\n1959Q2\t2\n1959Q4\t4\n1960Q1\t5\n";
    let raw = RawSeries::from_reader(quarters.as_bytes(), &Columns::default()).unwrap();
    let p = prepare(&raw, FillPolicy::Linear).unwrap();
    assert_eq!(p.frequency, rnnlab_forecast::Frequency::Months(3));
    assert_eq!(p.values, [1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(TimeFormat::Quarter.format(p.times[2]), "1959Q3");
}

#[test]
fn monthly_months_and_a_yearly_season() {
    let options = ForecastOptions::new(6)
        .with_model(ModelKind::Linear)
        .with_epochs(5)
        .quiet();
    let o = forecast_file(&data("monthly.csv"), &options).unwrap();
    assert_eq!(o.series.format, TimeFormat::Month);
    assert_eq!(o.plan.season.season, 12, "{}", o.plan.season.reason);
    let next: Vec<String> = o.future.times.iter().map(|&t| TimeFormat::Month.format(t)).collect();
    assert_eq!(next, ["2015-01", "2015-02", "2015-03", "2015-04", "2015-05", "2015-06"]);
}

#[test]
fn real_weekly_co2_with_missing_weeks() {
    // Public-domain Mauna Loa data (see tests/data/README.md).
    let path = data("co2_weekly.csv");
    let refused = forecast_file(&path, &ForecastOptions::new(12).quiet())
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("59 missing value(s)") && refused.contains("--fill"),
        "{refused}"
    );
    let options = ForecastOptions::new(12)
        .with_fill(FillPolicy::Linear)
        .with_model(ModelKind::Linear)
        .with_epochs(10)
        .quiet();
    let o = forecast_file(&path, &options).unwrap();
    assert_eq!(
        (o.series.format, o.plan.season.season, o.plan.lookback),
        (TimeFormat::CompactDate, 52, 104)
    );
    let snaive = o.result("seasonal-naive").unwrap().scores.mase.unwrap();
    let net = o.result("linear").unwrap().scores.mase.unwrap();
    assert!(net < snaive, "linear {net} vs seasonal naive {snaive}");
    assert!(o.verdict().starts_with("best: "), "{}", o.verdict());
}

fn rnnlab(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rnnlab")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_rnnlab_command() {
    let (ok, help, _) = rnnlab(&[]);
    assert!(ok && help.contains("rnnlab forecast"));
    let csv = data("daily_gappy.csv");
    let csv = csv.to_str().unwrap();
    let (ok, text, _) = rnnlab(&["inspect", csv, "--target", "sales", "--horizon", "7"]);
    assert!(ok);
    assert!(text.contains("frequency: daily"), "{text}");
    assert!(text.contains("1 cell(s) (rows 59), 1 time step(s) absent"), "{text}");
    assert!(text.contains("season:    7"), "{text}");
    let (ok, _, err) = rnnlab(&["forecast", csv, "--horizon", "7"]);
    assert!(!ok && err.contains("--target") && err.contains("sales"), "{err}");
    let (ok, _, err) = rnnlab(&["forecast", csv, "--target", "sales", "--horizon", "7"]);
    assert!(
        !ok && err.contains("2 missing value(s)") && err.contains("absent time 2023-04-11"),
        "{err}"
    );
    let out = scratch("cli");
    let out_s = out.to_str().unwrap();
    let (ok, stdout, err) = rnnlab(&[
        "forecast",
        csv,
        "--target",
        "sales",
        "--horizon",
        "7",
        "--fill",
        "linear",
        "--model",
        "linear",
        "--epochs",
        "3",
        "--backtest",
        "20",
        "--out",
        out_s,
        "--quiet",
    ]);
    assert!(ok, "{err}");
    assert!(stdout.starts_with("best: "), "{stdout}");
    let metrics = std::fs::read_to_string(out.join("metrics.json")).unwrap();
    assert!(metrics.contains("\"backtest_origins\": 20"), "{metrics}");
    let model = out.join("model.keras");
    let (ok, stdout, err) = rnnlab(&["predict", model.to_str().unwrap(), csv, "--horizon", "2"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "time,forecast,lower80,upper80,lower95,upper95");
    assert!(
        lines[1].starts_with("2023-08-29,") && lines[2].starts_with("2023-08-30,") && lines.len() == 3,
        "{stdout}"
    );
    let (ok, _, err) = rnnlab(&[
        "forecast",
        csv,
        "--target",
        "sales",
        "--horizon",
        "7",
        "--frobnicate",
        "1",
    ]);
    assert!(!ok && err.contains("--frobnicate"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}
