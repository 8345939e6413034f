//! Runs the whole fixture harness over the repository's own `tests/fixtures`.
use rnnlab_conformance::{default_fixtures_dir, run_dir};

#[test]
fn every_fixture_case_passes_or_is_skipped_with_a_reason() {
    let dir = default_fixtures_dir();
    let report = run_dir(&dir).unwrap_or_else(|e| panic!("{e}: tests/fixtures is part of the repository"));
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

#[test]
fn keras_family_skips_only_documented_deviations() {
    let report = run_dir(&default_fixtures_dir()).expect("fixtures");
    let mut passed = 0;
    for name in [
        "keras/tokenizer.jsonl",
        "keras/pad_sequences.jsonl",
        "keras/text_functions.jsonl",
    ] {
        let f = report.file(name).unwrap_or_else(|| panic!("{name} missing"));
        assert!(f.error.is_none() && f.failed() == 0, "{f}");
        passed += f.passed();
        for (id, o) in &f.cases {
            if let rnnlab_conformance::Outcome::Skip(why) = o {
                assert!(
                    why.contains("documented deviation") || why.contains("cannot be expressed"),
                    "{id} skipped without a documented reason: {why}"
                );
            }
        }
    }
    // 326 visible cases: all but the documented deviations pass.
    assert!(passed >= 300, "only {passed} keras cases passed");
}

#[test]
fn every_keras_model_file_loads_and_predicts_as_keras() {
    let report = run_dir(&default_fixtures_dir()).expect("fixtures");
    let f = report.file("keras-models/cases.jsonl").expect("keras-models family");
    assert!(f.error.is_none(), "{f}");
    assert_eq!((f.cases.len(), f.passed()), (8, 8), "{f}");
    // The binary model files are never read as case files.
    assert!(
        report
            .files
            .iter()
            .all(|f| !f.name.ends_with(".keras") && !f.name.ends_with(".h5"))
    );
}

#[test]
fn a_directory_laid_out_the_same_way_is_found_by_family_name() {
    let dir = std::env::temp_dir().join(format!("rnnlab-parity-layout-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("series")).unwrap();
    std::fs::create_dir_all(dir.join("unknown-family")).unwrap();
    std::fs::copy(
        default_fixtures_dir().join("series/naive_forecast.json"),
        dir.join("series/naive_forecast.json"),
    )
    .unwrap();
    // A binary file in a family the runner does not know is not read.
    std::fs::write(dir.join("unknown-family/blob.bin"), [0xff, 0xfe, 0x00]).unwrap();
    let report = run_dir(&dir).expect("fixtures");
    std::fs::remove_dir_all(&dir).ok();
    assert!(report.ok(), "{}", report.summary());
    assert!(report.file("series/naive_forecast.json").unwrap().passed() > 0);
    assert_eq!(report.file("unknown-family/").unwrap().skipped(), 1);
    assert_eq!(report.files.len(), 2);
}
