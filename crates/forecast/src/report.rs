//! What `forecast` writes to its output folder: `metrics.json`, `forecast.csv`, `report.md`
//! with PNG plots, and the trained model with what `predict` needs beside it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::plot::{BLUE, GREEN, Line, ORANGE, PURPLE, Panel, RED, render};
use crate::{ForecastError, ForecastOutcome, Forecaster, TimeFormat};

/// The files [`write_outputs`] writes, by role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFiles {
    /// Scores of every model (byte-identical for the same command and seed).
    pub metrics: PathBuf,
    /// The future forecast with its intervals.
    pub forecast: PathBuf,
    /// The readable report.
    pub report: PathBuf,
    /// The trained network (Keras 3 format).
    pub model: PathBuf,
    /// What `predict` needs beside the model.
    pub forecaster: PathBuf,
    /// The plots.
    pub plots: Vec<PathBuf>,
}

/// The content of `metrics.json`: the fields the issue names first, then the details.
pub fn metrics_json(o: &ForecastOutcome) -> Value {
    let mut models = Map::new();
    let mut by_step = Map::new();
    for r in &o.results {
        models.insert(
            r.name.clone(),
            json!({"mae": r.scores.mae, "rmse": r.scores.rmse, "smape": r.scores.smape, "mase": r.scores.mase}),
        );
        by_step.insert(r.name.clone(), json!(r.evaluation.mae_by_step()));
    }
    let s = &o.series;
    json!({
        "target": s.target,
        "horizon": o.plan.horizon,
        "lookback": o.plan.lookback,
        "season": o.plan.season.season,
        "n_train": o.plan.split.n_train,
        "n_valid": o.plan.split.n_valid,
        "n_test": o.plan.split.n_test,
        "filled": s.fill,
        "models": models,
        "best": o.best,
        "model": o.options.model.name(),
        "seed": o.options.seed,
        "backtest_origins": o.origins.len(),
        "epochs_trained": o.history.epochs(),
        "frequency": s.frequency.describe(),
        "first_time": s.format.format(s.times[0]),
        "last_time": s.format.format(*s.times.last().expect("a plan needs values")),
        "mae_by_step": by_step,
    })
}

/// `forecast.csv`: one row per future step.
pub fn forecast_csv(o: &ForecastOutcome) -> String {
    crate::future_csv(&o.future, o.series.format)
}

/// Writes every output into `dir` (created if needed), each file atomically.
pub fn write_outputs(o: &ForecastOutcome, dir: &Path) -> Result<OutputFiles, ForecastError> {
    std::fs::create_dir_all(dir).map_err(ForecastError::io(dir))?;
    let write = |name: &str, bytes: &[u8]| -> Result<PathBuf, ForecastError> {
        let path = dir.join(name);
        rnnlab_layers::atomic_file::write(&path, bytes).map_err(ForecastError::io(&path))?;
        Ok(path)
    };
    let mut metrics = serde_json::to_string_pretty(&metrics_json(o)).expect("JSON values serialize");
    metrics.push('\n');
    let metrics = write("metrics.json", metrics.as_bytes())?;
    let forecast = write("forecast.csv", forecast_csv(o).as_bytes())?;
    let model = dir.join("model.keras");
    rnnlab_keras::save_model(&o.model, &model)?;
    let forecaster = Forecaster::from_outcome(o).save(dir)?;
    let plots = draw_plots(o, dir)?;
    let report = write("report.md", report_markdown(o, &plots).as_bytes())?;
    Ok(OutputFiles {
        metrics,
        forecast,
        report,
        model,
        forecaster,
        plots,
    })
}

/// x positions of a plot: the time itself for numbers, decimal years for calendar times.
fn x_of(format: TimeFormat, t: f64) -> f64 {
    if format.is_calendar() {
        1970.0 + t / (365.2425 * 86_400.0)
    } else {
        t
    }
}

fn x_label(format: TimeFormat) -> &'static str {
    match format {
        TimeFormat::Row => "row",
        TimeFormat::Number => "time",
        _ => "year",
    }
}

fn draw_plots(o: &ForecastOutcome, dir: &Path) -> Result<Vec<PathBuf>, ForecastError> {
    let s = &o.series;
    let (n, h) = (s.values.len(), o.plan.horizon);
    let x = |i: usize| x_of(s.format, s.times[i]);
    let xl = x_label(s.format).to_string();
    let mut paths = Vec::new();

    // The test period: the series, the network's one-step forecasts, and both forecasts from
    // the last origin.
    let from = n - o.plan.split.n_test - o.plan.lookback.min(n - o.plan.split.n_test);
    let net = &o.results[0];
    let one_step: Vec<(f64, f64)> = o
        .origins
        .iter()
        .zip(net.forecasts.chunks(h))
        .map(|(&t, f)| (x(t), f[0]))
        .collect();
    let last_origin = *o.origins.last().expect("at least one origin");
    let path_of = |r: &crate::ModelResult| -> Vec<(f64, f64)> {
        let f = &r.forecasts[r.forecasts.len() - h..];
        (0..h).map(|k| (x(last_origin + k), f[k])).collect()
    };
    let snaive = o.result("seasonal-naive").expect("baselines always run");
    let test_panel = Panel {
        title: format!("Test period: {} forecasts", net.name),
        x_label: xl.clone(),
        y_label: s.target.clone(),
        lines: vec![
            Line::new("actual", BLUE, (from..n).map(|i| (x(i), s.values[i])).collect()),
            Line::new(&format!("{} 1 step ahead", net.name), ORANGE, one_step),
            Line::new(&format!("{} from the last origin", net.name), RED, path_of(net)),
            Line::new("seasonal naive from the last origin", GREEN, path_of(snaive)),
        ],
    };
    let path = dir.join("test_forecasts.png");
    render(&path, &[test_panel], 900, 380)?;
    paths.push(path);

    // The future with its intervals.
    let f = &o.future;
    let history_from = n.saturating_sub((4 * h).max(o.plan.lookback));
    let fx: Vec<f64> = f.times.iter().map(|&t| x_of(s.format, t)).collect();
    let series_of = |v: &[f64]| -> Vec<(f64, f64)> { fx.iter().copied().zip(v.iter().copied()).collect() };
    let mut lines = vec![
        Line::new(
            "history",
            BLUE,
            (history_from..n).map(|i| (x(i), s.values[i])).collect(),
        ),
        Line::new(&format!("forecast ({})", f.model), RED, series_of(&f.values)),
        Line::new("80% interval", ORANGE, series_of(&f.lower80)),
        Line::new("", ORANGE, series_of(&f.upper80)),
        Line::new("95% interval", GREEN, series_of(&f.lower95)),
        Line::new("", GREEN, series_of(&f.upper95)),
    ];
    if h == 1 {
        lines.iter_mut().skip(1).for_each(|l| l.markers = true);
    }
    let path = dir.join("future.png");
    render(
        &path,
        &[Panel {
            title: format!("Next {h} steps"),
            x_label: xl,
            y_label: s.target.clone(),
            lines,
        }],
        900,
        380,
    )?;
    paths.push(path);

    // Learning curve and error by horizon step.
    let epochs = |v: &[f64]| -> Vec<(f64, f64)> { v.iter().enumerate().map(|(i, &l)| ((i + 1) as f64, l)).collect() };
    let learning = Panel {
        title: format!("{} learning curve", net.name),
        x_label: "epoch".into(),
        y_label: "MSE (normalized windows)".into(),
        lines: vec![
            Line::new("training", BLUE, epochs(&o.history.loss)),
            Line::new("validation", RED, epochs(&o.history.val_loss)),
        ],
    };
    let colors = [RED, BLUE, GREEN, ORANGE, PURPLE];
    // A model far off the others' scale (often `mean` on a trending series) would flatten them.
    let lowest = o.results.iter().map(|r| r.scores.mae).fold(f64::INFINITY, f64::min);
    let (shown, omitted): (Vec<_>, Vec<_>) = o
        .results
        .iter()
        .zip(colors)
        .partition(|(r, _)| r.scores.mae <= 4.0 * lowest || lowest == 0.0);
    let omitted: Vec<&str> = omitted.iter().map(|(r, _)| r.name.as_str()).collect();
    let by_step = Panel {
        title: if omitted.is_empty() {
            "MAE by horizon step (test part)".into()
        } else {
            format!("MAE by horizon step (test part; off scale: {})", omitted.join(", "))
        },
        x_label: "step".into(),
        y_label: "MAE".into(),
        lines: shown
            .into_iter()
            .map(|(r, c)| {
                let pts = r
                    .evaluation
                    .mae_by_step()
                    .iter()
                    .enumerate()
                    .map(|(i, &m)| ((i + 1) as f64, m))
                    .collect();
                let line = Line::new(&r.name, c, pts);
                if h == 1 { line.markers() } else { line }
            })
            .collect(),
    };
    let path = dir.join("training.png");
    render(&path, &[learning, by_step], 1100, 380)?;
    paths.push(path);
    Ok(paths)
}

/// `report.md`: the data, the choices and why, the scores, the verdict, the plots.
pub fn report_markdown(o: &ForecastOutcome, plots: &[PathBuf]) -> String {
    let s = &o.series;
    let p = &o.plan;
    let mut r = String::new();
    let _ = writeln!(r, "# Forecast of `{}`\n", s.target);
    let _ = writeln!(r, "**{}**\n", o.verdict());
    let _ = writeln!(r, "## Data\n");
    let _ = writeln!(
        r,
        "- {} values from {} to {}, {}",
        s.values.len(),
        s.format.format(s.times[0]),
        s.format.format(*s.times.last().expect("values")),
        s.frequency.describe()
    );
    let fill = &s.fill;
    let _ = writeln!(
        r,
        "- missing cells: {}, absent time steps: {}; `--fill {}` filled {} and dropped {}",
        fill.missing_cells,
        fill.absent_steps,
        fill.policy.name(),
        fill.filled,
        fill.dropped
    );
    let _ = writeln!(
        r,
        "- parts in time order: training {}, validation {}, test {} values",
        p.split.n_train, p.split.n_valid, p.split.n_test
    );
    let _ = writeln!(r, "- season {}: {}", p.season.season, p.season.reason);
    let _ = writeln!(r, "- lookback {}: {}", p.lookback, p.lookback_reason);
    let _ = writeln!(
        r,
        "- each window is taken relative to its last value and divided by {:.6} (the spread of the training part's steps), so the network can continue a trend beyond the training range\n",
        match p.norm {
            rnnlab_series::WindowNorm::RelativeToLast { scale } => scale,
            _ => 1.0,
        }
    );
    let _ = writeln!(r, "## Scores on the test part\n");
    let _ = writeln!(
        r,
        "{} rolling origins in the last {} values, {} steps ahead each (the network is trained once, on the training part; MASE divides by the in-sample seasonal-naive MAE of the training part, season {}).\n",
        o.origins.len(),
        p.split.n_test,
        p.horizon,
        p.season.season
    );
    let _ = writeln!(
        r,
        "| model | MAE | RMSE | sMAPE % | MASE |\n| --- | --- | --- | --- | --- |"
    );
    for m in &o.results {
        let mark = if m.name == o.best { " (best)" } else { "" };
        let _ = writeln!(
            r,
            "| {}{mark} | {:.4} | {:.4} | {:.2} | {} |",
            m.name,
            m.scores.mae,
            m.scores.rmse,
            m.scores.smape,
            m.scores.mase.map_or("–".into(), |v| format!("{v:.3}"))
        );
    }
    let _ = writeln!(r, "\n## Forecast\n");
    let _ = writeln!(
        r,
        "By {}; intervals from the empirical quantiles of its test residuals at each step (`forecast.csv`).\n",
        o.future.model
    );
    let _ = writeln!(r, "| time | forecast | 80% | 95% |\n| --- | --- | --- | --- |");
    let f = &o.future;
    for i in 0..f.values.len() {
        let _ = writeln!(
            r,
            "| {} | {:.4} | {:.4} – {:.4} | {:.4} – {:.4} |",
            s.format.format(f.times[i]),
            f.values[i],
            f.lower80[i],
            f.upper80[i],
            f.lower95[i],
            f.upper95[i]
        );
    }
    let _ = writeln!(r, "\n## Training\n");
    let _ = writeln!(
        r,
        "{} (32 units), {} epochs of at most {} (early stopping on the validation part, patience {}, best weights kept), batch {}, Adam {}, seed {}; {:.1} s on {}.\n",
        o.options.model.name(),
        o.history.epochs(),
        o.options.epochs,
        o.options.patience,
        o.options.batch_size,
        o.options.learning_rate,
        o.options.seed,
        o.train_seconds,
        o.device
    );
    for path in plots {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(r, "![{name}]({name})\n");
    }
    let _ = writeln!(
        r,
        "## Reuse\n\n`model.keras` loads in Keras 3 and in `rnnlab_keras::load_model`; `forecaster.json` holds what its inputs need (lookback, scaling, fill). `rnnlab predict model.keras data.csv` forecasts from the end of any later version of the series."
    );
    r
}
