//! `rnnlab`: forecast a series from a CSV. `rnnlab help` lists the commands.

use std::path::PathBuf;
use std::process::ExitCode;

use rnnlab_forecast::{Columns, ForecastError, ForecastOptions, future_csv, inspect, load_forecaster, write_outputs};
use rnnlab_layers::Backend;

const HELP: &str = "\
rnnlab: forecast a series from a CSV with recurrent networks, baselines and a backtest

USAGE:
  rnnlab inspect  DATA.csv [--target COL] [--time COL] [--horizon H]
      columns, length, time range, frequency, missing cells, the season guess and the
      lookback forecast would choose (and why)
  rnnlab forecast DATA.csv --horizon H [--target COL] [--time COL] [--lookback L]
                  [--season M|auto] [--model linear|simple-rnn|deep-rnn|lstm|gru]
                  [--fill error|ffill|linear|drop] [--epochs N] [--patience P]
                  [--batch-size B] [--learning-rate LR] [--seed S] [--backtest K]
                  [--backend flex|ndarray|wgpu|tch|cuda] [--out DIR] [--quiet]
      trains the network (default lstm, at most 100 epochs, early stopping), scores it and
      the naive, seasonal-naive, drift and mean baselines on the last 15% of the series from
      K rolling origins (default: every origin, at most 1000), forecasts the next H steps with
      the best one, and writes metrics.json, forecast.csv, report.md, plots, model.keras and
      forecaster.json to DIR (default forecast-out)
  rnnlab predict  DIR/model.keras DATA.csv [--horizon H]
      the next H values (default: the model's horizon) after the end of DATA.csv, as CSV on
      stdout, with the intervals saved at training time

Missing values (empty, NaN, NA, null, inf) and steps absent from a regular time axis are an
error unless --fill says how to fill them. The same command and seed give the same
metrics.json byte for byte.
";

fn main() -> ExitCode {
    // Large buffers are reused instead of mapped fresh at every step (see its docs).
    rnnlab_layers::tune_allocator_for_training();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

/// Arguments: positionals and `--flag value` pairs (`--quiet` takes no value).
struct Args {
    positional: Vec<String>,
    flags: Vec<(String, Option<String>)>,
}

impl Args {
    fn parse(args: &[String], allowed: &[&'static str]) -> Result<Args, ForecastError> {
        let mut out = Args {
            positional: Vec::new(),
            flags: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if let Some(name) = a.strip_prefix("--") {
                let (name, inline) = match name.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (name, None),
                };
                let Some(&known) = allowed.iter().find(|&&k| k == name) else {
                    return Err(ForecastError::option(
                        "option",
                        a,
                        format!("unknown; this command takes --{}", allowed.join(", --")),
                    ));
                };
                let value = if known == "quiet" {
                    None
                } else {
                    match inline.or_else(|| it.next().cloned()) {
                        Some(v) => Some(v),
                        None => return Err(ForecastError::option(format!("--{known}"), "", "needs a value")),
                    }
                };
                out.flags.push((name.to_string(), value));
            } else {
                out.positional.push(a.clone());
            }
        }
        Ok(out)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(n, _)| n == name)
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ForecastError>
    where
        T::Err: std::fmt::Display,
    {
        self.get(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|e| ForecastError::option(format!("--{name}"), v, e.to_string()))
            })
            .transpose()
    }

    fn columns(&self) -> Columns {
        Columns {
            target: self.get("target").map(str::to_string),
            time: self.get("time").map(str::to_string),
        }
    }

    fn one_file(&self, what: &'static str) -> Result<PathBuf, ForecastError> {
        match self.positional.as_slice() {
            [one] => Ok(PathBuf::from(one)),
            other => Err(ForecastError::option(
                what,
                other.join(" "),
                "give exactly one CSV file",
            )),
        }
    }
}

fn run(args: &[String]) -> Result<(), ForecastError> {
    let Some((command, rest)) = args.split_first() else {
        print!("{HELP}");
        return Ok(());
    };
    match command.as_str() {
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        "inspect" => {
            let a = Args::parse(rest, &["target", "time", "horizon"])?;
            let path = a.one_file("inspect")?;
            let horizon = a.number::<usize>("horizon")?.unwrap_or(1);
            print!("{}", inspect(&path, &a.columns(), horizon)?.text());
            Ok(())
        }
        "forecast" => forecast(rest),
        "predict" => {
            let a = Args::parse(rest, &["horizon", "backend"])?;
            let [model, data] = a.positional.as_slice() else {
                return Err(ForecastError::option(
                    "predict",
                    a.positional.join(" "),
                    "give the model file and the CSV: rnnlab predict DIR/model.keras DATA.csv",
                ));
            };
            let backend: Backend = a.get("backend").unwrap_or("flex").parse()?;
            let device = backend.device()?;
            let (forecaster, network) = load_forecaster(model.as_ref(), &device)?;
            let future = forecaster.forecast_csv(&network, data.as_ref(), a.number("horizon")?)?;
            print!("{}", future_csv(&future, forecaster.time_format));
            Ok(())
        }
        other => Err(ForecastError::option(
            "command",
            other,
            "choose inspect, forecast or predict (rnnlab help lists them)",
        )),
    }
}

fn forecast(rest: &[String]) -> Result<(), ForecastError> {
    let a = Args::parse(
        rest,
        &[
            "target",
            "time",
            "horizon",
            "lookback",
            "season",
            "model",
            "fill",
            "epochs",
            "patience",
            "batch-size",
            "learning-rate",
            "seed",
            "backtest",
            "backend",
            "out",
            "quiet",
        ],
    )?;
    let path = a.one_file("forecast")?;
    let horizon = a
        .number::<usize>("horizon")?
        .ok_or_else(|| ForecastError::option("--horizon", "", "say how many steps to forecast, e.g. --horizon 12"))?;
    let mut o = ForecastOptions::new(horizon).with_columns(a.columns());
    o.lookback = a.number("lookback")?;
    o.season = match a.get("season") {
        None | Some("auto") => None,
        Some(_) => a.number("season")?,
    };
    if let Some(m) = a.get("model") {
        o.model = m.parse()?;
    }
    if let Some(f) = a.get("fill") {
        o.fill = f.parse()?;
    }
    o.epochs = a.number("epochs")?.unwrap_or(o.epochs);
    o.patience = a.number("patience")?.unwrap_or(o.patience);
    o.batch_size = a.number("batch-size")?.unwrap_or(o.batch_size);
    o.learning_rate = a.number("learning-rate")?.unwrap_or(o.learning_rate);
    if !(o.learning_rate.is_finite() && o.learning_rate > 0.0) {
        return Err(ForecastError::option(
            "--learning-rate",
            o.learning_rate,
            "must be a positive number",
        ));
    }
    o.seed = a.number("seed")?.unwrap_or(o.seed);
    o.backtest = a.number("backtest")?;
    if let Some(b) = a.get("backend") {
        o.backend = b.parse()?;
    }
    o.quiet = a.has("quiet");
    let out = PathBuf::from(a.get("out").unwrap_or("forecast-out"));
    let outcome = rnnlab_forecast::forecast_file(&path, &o)?;
    let files = write_outputs(&outcome, &out)?;
    if !o.quiet {
        println!();
        println!(
            "{:<16} {:>12} {:>12} {:>9} {:>8}",
            "model", "MAE", "RMSE", "sMAPE %", "MASE"
        );
        for r in &outcome.results {
            println!(
                "{:<16} {:>12.4} {:>12.4} {:>9.2} {:>8}",
                r.name,
                r.scores.mae,
                r.scores.rmse,
                r.scores.smape,
                r.scores.mase.map_or("–".into(), |m| format!("{m:.3}"))
            );
        }
        println!("report: {}", files.report.display());
    }
    println!("{}", outcome.verdict());
    Ok(())
}
