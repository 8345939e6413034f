//! `series/*.json`: NumPy's generator, `generate_time_series` and the naive baseline.

use serde::Deserialize;

use crate::Outcome;
use rnnlab_series::{NumpyRandom, Split, WindowSpec, generate_time_series, naive_mse};

#[derive(Deserialize)]
struct File<C> {
    cases: Vec<C>,
}

#[derive(Deserialize)]
struct RandCase {
    id: String,
    seed: u32,
    draws: Vec<f64>,
}

#[derive(Deserialize)]
struct GenCase {
    id: String,
    seed: u32,
    prior_rand_draws: usize,
    batch_size: usize,
    n_steps: usize,
    shape: Vec<usize>,
    rows: std::collections::BTreeMap<String, Vec<f64>>,
    sum_f64: f64,
    sum_sq_f64: f64,
    tolerance_abs: f64,
}

#[derive(Deserialize)]
struct NaiveCase {
    id: String,
    seed: u32,
    n_steps: usize,
    ahead: usize,
    split: [usize; 3],
    naive_last_value_mse_valid: f64,
    tolerance_rel: f64,
}

/// Runs one file of the `series` family.
pub fn run_file(name: &str, text: &str) -> Result<Vec<(String, Outcome)>, String> {
    let parse_err = |e: serde_json::Error| format!("unexpected schema: {e}");
    Ok(match name {
        "numpy_rand.json" => {
            let f: File<RandCase> = serde_json::from_str(text).map_err(parse_err)?;
            f.cases.into_iter().map(|c| (c.id.clone(), rand_case(&c))).collect()
        }
        "generate_time_series.json" => {
            let f: File<GenCase> = serde_json::from_str(text).map_err(parse_err)?;
            f.cases.into_iter().map(|c| (c.id.clone(), gen_case(&c))).collect()
        }
        "naive_forecast.json" => {
            let f: File<NaiveCase> = serde_json::from_str(text).map_err(parse_err)?;
            f.cases.into_iter().map(|c| (c.id.clone(), naive_case(&c))).collect()
        }
        other => vec![(
            other.to_string(),
            Outcome::Skip(format!("unknown series fixture file {other:?}")),
        )],
    })
}

fn rand_case(c: &RandCase) -> Outcome {
    let mut rng = NumpyRandom::new(c.seed);
    for (i, &want) in c.draws.iter().enumerate() {
        let got = rng.next_f64();
        if got.to_bits() != want.to_bits() {
            return Outcome::Fail(format!("draw {i}: got {got:e}, want {want:e}"));
        }
    }
    Outcome::Pass
}

fn gen_case(c: &GenCase) -> Outcome {
    let mut rng = NumpyRandom::new(c.seed);
    rng.rand(c.prior_rand_draws);
    let s = match generate_time_series(&mut rng, c.batch_size, c.n_steps) {
        Ok(s) => s,
        Err(e) => return Outcome::Fail(e.to_string()),
    };
    if s.shape().as_slice() != [c.batch_size, c.n_steps, 1] || c.shape != s.shape() {
        return Outcome::Fail(format!("shape {:?}, want {:?}", s.shape(), c.shape));
    }
    for (r, want) in &c.rows {
        let Ok(r) = r.parse::<usize>() else {
            return Outcome::Fail(format!("row key {r:?} is not an index"));
        };
        if r >= s.batch() {
            return Outcome::Fail(format!("row {r} out of range"));
        }
        let got: Vec<f64> = s.series(r).iter().map(|&v| f64::from(v)).collect();
        if got.len() != want.len() {
            return Outcome::Fail(format!("row {r}: {} values, want {}", got.len(), want.len()));
        }
        if let Some((i, (g, w))) = got
            .iter()
            .zip(want)
            .enumerate()
            .find(|(_, (g, w))| (*g - *w).abs() > c.tolerance_abs)
        {
            return Outcome::Fail(format!("row {r}[{i}]: got {g}, want {w}"));
        }
    }
    let sum: f64 = s.data().iter().map(|&v| f64::from(v)).sum();
    let sum_sq: f64 = s.data().iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    // Sums over many f32 values: allow the row tolerance per value, relative to the magnitude.
    let slack = |want: f64| c.tolerance_abs * (1.0 + want.abs());
    if (sum - c.sum_f64).abs() > slack(c.sum_f64) {
        return Outcome::Fail(format!("sum {sum}, want {}", c.sum_f64));
    }
    if (sum_sq - c.sum_sq_f64).abs() > slack(c.sum_sq_f64) {
        return Outcome::Fail(format!("sum of squares {sum_sq}, want {}", c.sum_sq_f64));
    }
    Outcome::Pass
}

fn naive_case(c: &NaiveCase) -> Outcome {
    let series = match generate_time_series(&mut NumpyRandom::new(c.seed), c.split.iter().sum(), c.n_steps + c.ahead) {
        Ok(s) => s,
        Err(e) => return Outcome::Fail(e.to_string()),
    };
    let split = Split::Counts {
        train: c.split[0],
        valid: c.split[1],
        test: c.split[2],
    };
    let parts = match series
        .windows(WindowSpec::vector(c.n_steps, c.ahead))
        .and_then(|w| w.split(split))
    {
        Ok(p) => p,
        Err(e) => return Outcome::Fail(e.to_string()),
    };
    match naive_mse(&parts.valid) {
        Ok(got) => {
            let want = c.naive_last_value_mse_valid;
            if (f64::from(got) - want).abs() <= c.tolerance_rel * want.abs() {
                Outcome::Pass
            } else {
                Outcome::Fail(format!("naive MSE {got}, want {want}"))
            }
        }
        Err(e) => Outcome::Fail(e.to_string()),
    }
}
