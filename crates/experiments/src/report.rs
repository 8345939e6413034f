//! Result records, the band check, and the results files.

use std::path::Path;

use rnnlab_layers::Backend;
use rnnlab_train::History;
use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::machine_load::MachineLoad;

/// The lecture/HOML figure and the Keras-here figure for one metric, and whether rnnlab's value
/// lies in the band they span widened by 35% on each side (training noise).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Band {
    pub metric: Cow<'static, str>,
    pub lecture: Option<(f64, f64)>,
    pub keras: Option<f64>,
    pub exact: bool,
}

impl Band {
    pub fn new(metric: &'static str, lecture: Option<f64>, keras: Option<f64>) -> Self {
        Self {
            metric: Cow::Borrowed(metric),
            lecture: lecture.map(|v| (v, v)),
            keras,
            exact: false,
        }
    }

    /// A lecture figure given as a range (HOML's "0.008–0.010").
    pub fn range(metric: &'static str, lo: f64, hi: f64, keras: Option<f64>) -> Self {
        Self {
            metric: Cow::Borrowed(metric),
            lecture: Some((lo, hi)),
            keras,
            exact: false,
        }
    }

    /// A figure that must match to 1e-5 relative (the naive baseline).
    #[must_use]
    pub fn exact(mut self) -> Self {
        self.exact = true;
        self
    }

    /// `(low, high)` of the widened band.
    pub fn limits(&self) -> Option<(f64, f64)> {
        let mut vals: Vec<f64> = self.keras.into_iter().collect();
        if let Some((a, b)) = self.lecture {
            vals.extend([a, b]);
        }
        let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if vals.is_empty() {
            None
        } else if self.exact {
            Some((lo * (1.0 - 1e-5), hi * (1.0 + 1e-5)))
        } else {
            Some((lo / 1.35, hi * 1.35))
        }
    }

    fn figures(&self) -> (String, String) {
        let lecture = match self.lecture {
            Some((a, b)) if a == b => format!("{a}"),
            Some((a, b)) => format!("{a}–{b}"),
            None => "—".into(),
        };
        (
            lecture,
            self.keras.map(|k| format!("{k}")).unwrap_or_else(|| "—".into()),
        )
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    pub name: String,
    pub val_mse: Option<f64>,
    pub val_last_time_step_mse: Option<f64>,
    pub accuracy: Option<f64>,
    pub seconds_per_epoch: Option<f64>,
    pub epochs: usize,
    pub params: usize,
    pub history: History,
    pub bands: Vec<Band>,
    pub in_band: Option<bool>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// With `--seeds N > 1`: every figure's median, min and max over the seeds. The record's
    /// own figures are then the medians (the band check applies to them); its history is the
    /// first seed's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seeds: Option<SeedSpread>,
}

/// Median, min and max of one figure over the seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// One value per seed, in seed order.
    pub values: Vec<f64>,
}

impl Spread {
    /// `None` without values; the median of an even count is the mean of the middle two.
    pub fn of(values: Vec<f64>) -> Option<Self> {
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Some(Self {
            median,
            min: sorted[0],
            max: sorted[n - 1],
            values,
        })
    }
}

/// The spread of every figure of one experiment over the seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedSpread {
    pub seeds: Vec<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_mse: Option<Spread>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_last_time_step_mse: Option<Spread>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<Spread>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_per_epoch: Option<Spread>,
}

impl Record {
    pub fn trained(
        name: &str,
        val_mse: f64,
        last_step: Option<f64>,
        params: usize,
        history: History,
        bands: Vec<Band>,
    ) -> Self {
        let mut r = Record {
            name: name.into(),
            val_mse: Some(val_mse),
            val_last_time_step_mse: last_step,
            accuracy: None,
            seconds_per_epoch: history.median_seconds_per_epoch(),
            epochs: history.epochs(),
            params,
            history,
            bands,
            in_band: None,
            extra: Default::default(),
            seeds: None,
        };
        r.in_band = r.check();
        r
    }

    pub fn untrained(name: &str, val_mse: Option<f64>, bands: Vec<Band>) -> Self {
        let mut r = Record {
            name: name.into(),
            val_mse,
            val_last_time_step_mse: None,
            accuracy: None,
            seconds_per_epoch: None,
            epochs: 0,
            params: 0,
            history: History::default(),
            bands,
            in_band: None,
            extra: Default::default(),
            seeds: None,
        };
        r.in_band = r.check();
        r
    }

    fn value(&self, metric: &str) -> Option<f64> {
        match metric {
            "val_mse" => self.val_mse,
            "val_last_time_step_mse" => self.val_last_time_step_mse,
            _ => None,
        }
    }

    /// The value `band` checks: the figure (the median over seeds), but for an exact band the
    /// first seed's own value (an exact figure belongs to its seed's data).
    fn checked_value(&self, band: &Band) -> Option<f64> {
        let first_seed = || {
            let seeds = self.seeds.as_ref()?;
            let spread = match &*band.metric {
                "val_mse" => seeds.val_mse.as_ref(),
                "val_last_time_step_mse" => seeds.val_last_time_step_mse.as_ref(),
                _ => None,
            }?;
            spread.values.first().copied()
        };
        match band.exact {
            true => first_seed().or_else(|| self.value(&band.metric)),
            false => self.value(&band.metric),
        }
    }

    fn check(&self) -> Option<bool> {
        self.check_with(|b| self.value(&b.metric))
    }

    /// The band check with the value each band is compared with.
    fn check_with(&self, value: impl Fn(&Band) -> Option<f64>) -> Option<bool> {
        let checks: Vec<bool> = self
            .bands
            .iter()
            .filter_map(|b| Some((value(b)?, b.limits()?)))
            .map(|(v, (lo, hi))| (lo..=hi).contains(&v))
            .collect();
        (!checks.is_empty()).then(|| checks.iter().all(|&c| c))
    }

    /// One experiment's records, one per seed, as one record of medians with the spread (a
    /// single seed's record is returned as it is).
    pub fn over_seeds(mut runs: Vec<Record>, seeds: &[u32]) -> Record {
        if runs.len() < 2 {
            return runs.pop().expect("at least one seed ran");
        }
        let spread = |f: fn(&Record) -> Option<f64>| Spread::of(runs.iter().filter_map(f).collect());
        let spread = SeedSpread {
            seeds: seeds.to_vec(),
            val_mse: spread(|r| r.val_mse),
            val_last_time_step_mse: spread(|r| r.val_last_time_step_mse),
            accuracy: spread(|r| r.accuracy),
            seconds_per_epoch: spread(|r| r.seconds_per_epoch),
        };
        let mut first = runs.swap_remove(0);
        let median = |s: &Option<Spread>| s.as_ref().map(|s| s.median);
        first.val_mse = median(&spread.val_mse);
        first.val_last_time_step_mse = median(&spread.val_last_time_step_mse);
        first.accuracy = median(&spread.accuracy);
        first.seconds_per_epoch = median(&spread.seconds_per_epoch);
        first.seeds = Some(spread);
        // An exact figure (the naive baseline, NumPy's numbers) belongs to its seed: the first
        // seed's value is checked; every other band checks the median.
        first.in_band = first.check_with(|b| first.checked_value(b));
        first
    }

    /// `median (min–max)` of a figure over the seeds, or the single value.
    fn shown(&self, metric: &str) -> String {
        let spread = self.seeds.as_ref().and_then(|s| match metric {
            "val_mse" => s.val_mse.as_ref(),
            "val_last_time_step_mse" => s.val_last_time_step_mse.as_ref(),
            _ => None,
        });
        match spread {
            Some(s) => format!("{:.6} ({:.6}–{:.6})", s.median, s.min, s.max),
            None => fmt(self.value(metric)),
        }
    }

    pub fn one_line(&self) -> String {
        let mut s = format!("{}: val_mse {}", self.name, fmt(self.val_mse));
        if let Some(v) = self.val_last_time_step_mse {
            s.push_str(&format!(", last-step {v:.4}"));
        }
        if let Some(spe) = self.seconds_per_epoch {
            s.push_str(&format!(", {spe:.2} s/epoch"));
        }
        if let Some(ok) = self.in_band {
            s.push_str(if ok {
                ", within the lecture/Keras band"
            } else {
                ", OUTSIDE the lecture/Keras band"
            });
        }
        s
    }
}

fn fmt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.6}")).unwrap_or_else(|| "—".into())
}

#[derive(Serialize)]
pub struct Results {
    pub backend: String,
    /// The device the backend resolved to, in words (`libtorch CPU (no usable CUDA device: …)`).
    pub device: String,
    /// Built with Burn's kernel fusion (cargo feature `fusion`; changes only GPU backends).
    pub fusion: bool,
    pub git_rev: String,
    pub seed: u32,
    /// Every seed run (`--seeds N`: seed, seed + 1, …); figures are medians over them.
    pub seeds: Vec<u32>,
    pub quick: bool,
    pub total_seconds: f64,
    /// Worker processes the runs went to (`--jobs`), each on one core; 1: one process, whose
    /// fused kernels use two cores. Seconds per epoch are those of the process that ran it.
    pub workers: usize,
    pub experiments: Vec<Record>,
    /// How quiet the machine was during the run (`null` where `/proc` is missing or the run was
    /// too short to judge): busy or overcommitted machines make the seconds unreliable.
    pub machine: Option<MachineLoad>,
    /// PNG files next to results.md, with captions.
    pub plots: Vec<(String, String)>,
}

/// How a run was made: what the results say besides the records.
pub struct RunInfo {
    pub backend: Backend,
    /// The device the backend resolved to, in words.
    pub device: String,
    /// Every seed run; the first is the run's seed.
    pub seeds: Vec<u32>,
    pub quick: bool,
    /// Worker processes (`--jobs`); 1 for a run in one process.
    pub workers: usize,
}

impl Results {
    pub fn new(run: RunInfo, experiments: Vec<Record>, plots: Vec<(String, String)>, total_seconds: f64) -> Self {
        Self {
            backend: run.backend.name(),
            device: run.device,
            fusion: cfg!(feature = "fusion"),
            git_rev: git_rev(),
            seed: run.seeds.first().copied().unwrap_or_default(),
            seeds: run.seeds,
            quick: run.quick,
            total_seconds,
            workers: run.workers,
            experiments,
            machine: None,
            plots,
        }
    }

    fn markdown(&self) -> String {
        let seeds = match self.seeds.as_slice() {
            [first, .., last] => format!(
                "seeds {first}–{last} (rnnlab figures: median (min–max) over the {} seeds; the band check applies \
                 to the median, or for an exact figure such as the naive baseline to seed {first}'s own value; \
                 plots and histories from seed {first})",
                self.seeds.len()
            ),
            _ => format!("seed {}", self.seed),
        };
        let mut md = format!(
            "# rnnlab results — backend `{}`{}\n\nDevice: {}. Git revision `{}`, {}, total wall time {:.0} s{}{}{}.\n\n\
             Bands: the lecture/HOML figure and the Keras-3.15-here figure, widened by 35% on each side.\n\n\
             | name | metric | rnnlab | lecture / HOML | Keras 3.15 here | in band | s/epoch | params |\n\
             | --- | --- | --- | --- | --- | --- | --- | --- |\n",
            self.backend,
            if self.fusion { " with Burn's kernel fusion" } else { "" },
            self.device,
            self.git_rev,
            seeds,
            self.total_seconds,
            match self.workers {
                0 | 1 => String::new(),
                n => format!(" on {n} single-threaded worker processes (s/epoch: one worker's, on one core)"),
            },
            match self.machine {
                Some(m) => format!(
                    "; during the run {:.0}% of the machine's CPU time was stolen by the hypervisor and {:.0}% used \
                     by other processes{}",
                    100.0 * m.steal,
                    100.0 * m.other_processes,
                    if m.warning().is_some() {
                        " (not a quiet machine: seconds are unreliable)"
                    } else {
                        ""
                    }
                ),
                None => String::new(),
            },
            if self.quick {
                " — quick smoke run (2 epochs, 1 000 series): not comparable"
            } else {
                ""
            }
        );
        for r in &self.experiments {
            let spe = r
                .seconds_per_epoch
                .map(|s| format!("{s:.2}"))
                .unwrap_or_else(|| "—".into());
            if r.bands.is_empty() {
                let (metric, value) = match r.accuracy {
                    Some(a) => ("accuracy", format!("{a:.3}")),
                    None => ("—", "—".to_string()),
                };
                md.push_str(&format!(
                    "| {} | {metric} | {value} | — | — | — | {spe} | {} |\n",
                    r.name, r.params
                ));
            }
            for b in &r.bands {
                let (lecture, keras) = b.figures();
                let v = r.checked_value(b);
                let ok = match (v, b.limits()) {
                    (Some(v), Some((lo, hi))) if (lo..=hi).contains(&v) => "yes",
                    (Some(v), Some((lo, _))) if v < lo => "**no** (lower)",
                    (Some(_), Some(_)) => "**no** (higher)",
                    _ => "—",
                };
                md.push_str(&format!(
                    "| {} | {} | {} | {lecture} | {keras} | {ok} | {spe} | {} |\n",
                    r.name,
                    b.metric,
                    r.shown(&b.metric),
                    r.params
                ));
            }
        }
        md.push_str(
            "\nFigures: the lecture notebook and Hands-On ML 2e ch. 15; Keras 3.15 (TensorFlow CPU) on this \
             project's 2-core machine as recorded in the experiments issue. `forecast-iterative` applies the \
             `deep-rnn-dense` model ten times; the naive ten-step MSE is in `results.json` (`val_mse_10_ahead`).\n",
        );
        if !self.plots.is_empty() {
            md.push_str("\n## Plots\n");
            for (file, caption) in &self.plots {
                md.push_str(&format!("\n{caption}\n\n![{caption}]({file})\n"));
            }
        }
        md
    }
}

fn git_rev() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Writes `bytes` to `path` atomically and durably ([`rnnlab_layers::atomic_file`]): a reader
/// never sees a half-written file, and a power cut leaves the old file or the new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    rnnlab_layers::atomic_file::write(path, bytes)
}

pub fn write_results(out: &Path, results: &Results) -> std::io::Result<()> {
    let json = serde_json::to_string_pretty(results).map_err(std::io::Error::other)?;
    write_atomic(&out.join("results.json"), json.as_bytes())?;
    write_atomic(&out.join("results.md"), results.markdown().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(val_mse: f64, seconds: f64) -> Record {
        let history = History {
            seconds: vec![seconds],
            loss: vec![val_mse],
            ..Default::default()
        };
        Record::trained(
            "x",
            val_mse,
            None,
            10,
            history,
            vec![Band::new("val_mse", Some(0.01), None)],
        )
    }

    #[test]
    fn spread_is_median_min_max_in_seed_order() {
        let s = Spread::of(vec![0.3, 0.1, 0.2]).unwrap();
        assert_eq!((s.median, s.min, s.max), (0.2, 0.1, 0.3));
        assert_eq!(s.values, vec![0.3, 0.1, 0.2]);
        assert_eq!(Spread::of(vec![4.0, 1.0, 3.0, 2.0]).unwrap().median, 2.5);
        assert_eq!(Spread::of(vec![]), None);
    }

    #[test]
    fn the_band_check_applies_to_the_median_over_seeds() {
        // Band: 0.01 widened to [0.0074, 0.0135]. One lucky seed in band, the median outside.
        let runs = vec![run(0.010, 1.0), run(0.030, 2.0), run(0.020, 3.0)];
        assert_eq!(runs[0].in_band, Some(true));
        let r = Record::over_seeds(runs, &[42, 43, 44]);
        assert_eq!(r.val_mse, Some(0.020));
        assert_eq!(r.in_band, Some(false));
        assert_eq!(r.seconds_per_epoch, Some(2.0));
        let spread = r.seeds.as_ref().unwrap();
        assert_eq!(spread.seeds, vec![42, 43, 44]);
        assert_eq!(spread.val_mse.as_ref().unwrap().min, 0.010);
        assert_eq!(r.shown("val_mse"), "0.020000 (0.010000–0.030000)");
        // An exact band checks the first seed's own value, not the median.
        let exact = |v: f64| {
            Record::trained(
                "n",
                v,
                None,
                0,
                History::default(),
                vec![Band::new("val_mse", Some(0.02), None).exact()],
            )
        };
        let r = Record::over_seeds(vec![exact(0.02), exact(0.03), exact(0.01)], &[42, 43, 44]);
        assert_eq!((r.val_mse, r.in_band), (Some(0.02), Some(true)));
        let r = Record::over_seeds(vec![exact(0.03), exact(0.02), exact(0.02)], &[1, 2, 3]);
        assert_eq!((r.val_mse, r.in_band), (Some(0.02), Some(false)));
        // results.md's "in band" column shows the same check (it showed the median's).
        assert_eq!(r.checked_value(&r.bands[0]), Some(0.03));
        // One seed: the record as it is.
        let single = Record::over_seeds(vec![run(0.010, 1.0)], &[42]);
        assert!(single.seeds.is_none() && single.in_band == Some(true));
    }
}
