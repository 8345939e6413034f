//! Result records, the band check, and the results files.

use std::path::Path;

use rnnlab_layers::Backend;
use rnnlab_train::History;
use serde::Serialize;

/// The lecture/HOML figure and the Keras-here figure for one metric, and whether rnnlab's value
/// lies in the band they span widened by 35% on each side (training noise).
#[derive(Clone, Debug, Serialize)]
pub struct Band {
    pub metric: &'static str,
    pub lecture: Option<(f64, f64)>,
    pub keras: Option<f64>,
    pub exact: bool,
}

impl Band {
    pub fn new(metric: &'static str, lecture: Option<f64>, keras: Option<f64>) -> Self {
        Self {
            metric,
            lecture: lecture.map(|v| (v, v)),
            keras,
            exact: false,
        }
    }

    /// A lecture figure given as a range (HOML's "0.008–0.010").
    pub fn range(metric: &'static str, lo: f64, hi: f64, keras: Option<f64>) -> Self {
        Self {
            metric,
            lecture: Some((lo, hi)),
            keras,
            exact: false,
        }
    }

    /// A figure that must match to 1e-5 relative (the naive baseline).
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

#[derive(Clone, Debug, Serialize)]
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
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
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

    fn check(&self) -> Option<bool> {
        let checks: Vec<bool> = self
            .bands
            .iter()
            .filter_map(|b| Some((self.value(b.metric)?, b.limits()?)))
            .map(|(v, (lo, hi))| (lo..=hi).contains(&v))
            .collect();
        (!checks.is_empty()).then(|| checks.iter().all(|&c| c))
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
    pub quick: bool,
    pub total_seconds: f64,
    pub experiments: Vec<Record>,
    /// PNG files next to results.md, with captions.
    pub plots: Vec<(String, String)>,
}

impl Results {
    pub fn new(
        backend: Backend,
        device: String,
        seed: u32,
        quick: bool,
        experiments: Vec<Record>,
        plots: Vec<(String, String)>,
        total_seconds: f64,
    ) -> Self {
        Self {
            backend: backend.name(),
            device,
            fusion: cfg!(feature = "fusion"),
            git_rev: git_rev(),
            seed,
            quick,
            total_seconds,
            experiments,
            plots,
        }
    }

    fn markdown(&self) -> String {
        let mut md = format!(
            "# rnnlab results — backend `{}`{}\n\nDevice: {}. Git revision `{}`, seed {}, total wall time {:.0} s{}.\n\n\
             Bands: the lecture/HOML figure and the Keras-3.15-here figure, widened by 35% on each side.\n\n\
             | name | metric | rnnlab | lecture / HOML | Keras 3.15 here | in band | s/epoch | params |\n\
             | --- | --- | --- | --- | --- | --- | --- | --- |\n",
            self.backend,
            if self.fusion { " with Burn's kernel fusion" } else { "" },
            self.device,
            self.git_rev,
            self.seed,
            self.total_seconds,
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
                let v = r.value(b.metric);
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
                    fmt(v),
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
