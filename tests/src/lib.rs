//! The fixture parity harness: runs every golden case under a fixtures directory
//! (`keras/*.jsonl`, `series/*.json`, `layers/*.json`, `keras-models/cases.jsonl`; schemas in
//! each family's README) against rnnlab and reports one line per file plus `parity: N passed, M failed, K skipped`.
//!
//! `cargo xtask parity [--fixtures DIR]` and the `parity` test both run it; the repository's own
//! copy of the fixtures is `tests/fixtures` ([`default_fixtures_dir`]).

use std::fmt;
use std::path::{Path, PathBuf};

pub mod keras;
pub mod keras_models;
pub mod layers;
pub mod series;
pub mod stateful;

/// Why a whole file could not be run.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The fixtures directory is missing or unreadable.
    #[error("cannot read fixtures directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Output matched.
    Pass,
    /// Output differed; the message says where.
    Fail(String),
    /// Not run, with the reason.
    Skip(String),
}

/// One file's results.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    /// Path relative to the fixtures directory.
    pub name: String,
    /// Case ids with their outcome.
    pub cases: Vec<(String, Outcome)>,
    /// Set when the file could not be read or has an unexpected schema.
    pub error: Option<String>,
}

impl FileReport {
    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.cases.iter().filter(|(_, o)| f(o)).count()
    }
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Pass))
    }
    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Fail(_)))
    }
    /// Cases skipped.
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skip(_)))
    }
}

impl fmt::Display for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = &self.error {
            return write!(f, "{}: ERROR {e}", self.name);
        }
        write!(
            f,
            "{}: {} passed, {} failed, {} skipped",
            self.name,
            self.passed(),
            self.failed(),
            self.skipped()
        )?;
        for (id, o) in &self.cases {
            match o {
                Outcome::Fail(m) => write!(f, "\n  FAIL {id}: {m}")?,
                Outcome::Skip(m) if !m.starts_with(NOT_IMPLEMENTED) => write!(f, "\n  skip {id}: {m}")?,
                _ => {}
            }
        }
        Ok(())
    }
}

/// Prefix of the skip reason for families that rnnlab does not implement yet.
pub const NOT_IMPLEMENTED: &str = "not implemented yet";

/// The whole run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One entry per file (and per unknown family).
    pub files: Vec<FileReport>,
}

impl Report {
    /// Total passed cases.
    pub fn passed(&self) -> usize {
        self.files.iter().map(FileReport::passed).sum()
    }
    /// Total failed cases.
    pub fn failed(&self) -> usize {
        self.files.iter().map(FileReport::failed).sum()
    }
    /// Total skipped cases.
    pub fn skipped(&self) -> usize {
        self.files.iter().map(FileReport::skipped).sum()
    }
    /// Files that could not be read or had an unexpected schema.
    pub fn file_errors(&self) -> usize {
        self.files.iter().filter(|f| f.error.is_some()).count()
    }
    /// True when nothing failed and every file was readable.
    pub fn ok(&self) -> bool {
        self.failed() == 0 && self.file_errors() == 0
    }
    /// The closing line, `parity: N passed, M failed, K skipped`.
    pub fn summary(&self) -> String {
        format!(
            "parity: {} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }
    /// The report of one file by its relative name.
    pub fn file(&self, name: &str) -> Option<&FileReport> {
        self.files.iter().find(|f| f.name == name)
    }
}

/// A family's runner: (file name, file text) to the file's cases, or why the file is unusable.
type FileRunner = fn(&str, &str) -> Result<Vec<(String, Outcome)>, String>;

/// Runs every case found under `dir`. A family is found by its folder name: `keras`, `series`,
/// `layers` and `stateful` hold text case files (every file but the README); `keras-models` holds binary
/// model files next to `cases.jsonl`, of which only `cases.jsonl` is read. Any other folder is
/// reported as one skipped entry with the reason, without reading its files.
pub fn run_dir(dir: &Path) -> Result<Report, HarnessError> {
    let mut report = Report::default();
    for fam in sorted_entries(dir)? {
        if !fam.is_dir() {
            continue; // READMEs and other loose files
        }
        let fam_name = file_name(&fam);
        let runner: FileRunner = match fam_name.as_str() {
            "series" => series::run_file,
            "keras" => keras::run_file,
            "layers" => layers::run_file,
            "stateful" => stateful::run_file,
            "keras-models" => {
                let fam_dir = fam.clone();
                let mut file = FileReport {
                    name: format!("{}/{}", file_name(&fam), keras_models::CASES_FILE),
                    ..Default::default()
                };
                match std::fs::read_to_string(fam.join(keras_models::CASES_FILE)) {
                    Ok(text) => match keras_models::run_file(&fam_dir, &text) {
                        Ok(cases) => file.cases = cases,
                        Err(e) => file.error = Some(e),
                    },
                    Err(e) => file.error = Some(format!("unreadable: {e}")),
                }
                report.files.push(file);
                continue;
            }
            other => {
                report.files.push(FileReport {
                    name: format!("{other}/"),
                    cases: vec![(
                        other.to_string(),
                        Outcome::Skip(format!("unknown fixture family {other:?}")),
                    )],
                    error: None,
                });
                continue;
            }
        };
        for file in sorted_entries(&fam)? {
            let fname = file_name(&file);
            if file.is_dir() || fname.ends_with(".md") {
                continue;
            }
            report.files.push(run_text_file(&fam, &fname, runner));
        }
    }
    Ok(report)
}

/// Runs one text case file `fname` of the family folder `fam`.
fn run_text_file(fam: &Path, fname: &str, runner: FileRunner) -> FileReport {
    let mut report = FileReport {
        name: format!("{}/{fname}", file_name(fam)),
        ..Default::default()
    };
    match std::fs::read_to_string(fam.join(fname)) {
        Ok(text) => match runner(fname, &text) {
            Ok(cases) => report.cases = cases,
            Err(e) => report.error = Some(e),
        },
        Err(e) => report.error = Some(format!("unreadable: {e}")),
    }
    report
}

/// The entries of a directory, sorted by path so reports are in a stable order.
fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, HarnessError> {
    let entries = std::fs::read_dir(dir).map_err(|source| HarnessError::Dir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Ok(paths)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `|got - want| <= tol * (1 + |want|)` for every element; the message names the first offender.
pub fn close_slices(what: &str, got: &[f64], want: &[f64], tol: f64) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{what}: {} values, expected {}", got.len(), want.len()));
    }
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        // Written so that a NaN on either side fails.
        let within = (g - w).abs() <= tol * (1.0 + w.abs());
        if !within {
            return Err(format!("{what}[{i}]: got {g}, want {w}"));
        }
    }
    Ok(())
}

/// The fixtures the repository carries: `tests/fixtures` (this crate's `fixtures` folder).
///
/// Cargo sets `CARGO_MANIFEST_DIR` when it runs a test or binary; that run-time value wins over
/// the compile-time one, which may name another checkout sharing the target directory.
pub fn default_fixtures_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("fixtures")
}
