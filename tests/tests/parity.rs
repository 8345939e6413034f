//! Runs the whole fixture harness over `../shared/fixtures` (resolved from the workspace root).
use rnnlab_conformance::{default_fixtures_dir, run_dir};

#[test]
fn every_fixture_case_passes_or_is_skipped_with_a_reason() {
    let dir = default_fixtures_dir();
    let report = run_dir(&dir).unwrap_or_else(|e| panic!("{e}: the fixtures must sit beside the workspace"));
    for f in &report.files {
        println!("{f}");
    }
    println!("{}", report.summary());
    assert!(report.ok(), "{}", report.summary());
}

#[test]
fn series_family_passes_completely() {
    let report = run_dir(&default_fixtures_dir()).expect("fixtures");
    for name in [
        "series/numpy_rand.json",
        "series/generate_time_series.json",
        "series/naive_forecast.json",
    ] {
        let f = report.file(name).unwrap_or_else(|| panic!("{name} missing"));
        assert!(f.error.is_none(), "{f}");
        assert!(f.passed() > 0 && f.failed() == 0 && f.skipped() == 0, "{f}");
    }
}
