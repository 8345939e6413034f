//! `parity --fixtures DIR`: runs the fixture harness and prints one line per file and a summary.
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut dir: Option<PathBuf> = None;
    let mut verbose = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--fixtures" => dir = args.next().map(PathBuf::from),
            "-v" | "--verbose" => verbose = true,
            "-h" | "--help" => {
                println!(
                    "usage: parity [--fixtures DIR] [--verbose]\nDIR defaults to the fixtures the repository carries (tests/fixtures)."
                );
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("parity: unknown argument {other:?} (try --help)");
                return ExitCode::from(2);
            }
        }
    }
    let dir = dir.unwrap_or_else(rnnlab_conformance::default_fixtures_dir);
    let report = match rnnlab_conformance::run_dir(&dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("parity: {e}");
            println!("parity: 0 passed, 0 failed, 0 skipped");
            return ExitCode::FAILURE;
        }
    };
    let backends: Vec<String> = rnnlab_conformance::layers::backends()
        .iter()
        .map(|b| b.name())
        .collect();
    println!("layer cases run on: {}", backends.join(", "));
    for f in &report.files {
        println!("{f}");
        if verbose {
            for (id, o) in &f.cases {
                println!("  {id}: {o:?}");
            }
        }
    }
    println!("{}", report.summary());
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
