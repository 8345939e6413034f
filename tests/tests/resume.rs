//! Kill a training process in the middle of an epoch, resume it from its checkpoint, and get
//! bit-identical final weights to an uninterrupted run.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const CHILD: &str = env!("CARGO_BIN_EXE_resume_child");
const EPOCHS: &str = "6";

fn tmpdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("rnnlab-resume-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn weights(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("WEIGHTS "))
        .expect("child printed its weights")
        .to_string()
}

#[test]
fn killed_and_resumed_training_matches_an_uninterrupted_run() {
    let straight_dir = tmpdir("straight");
    let out = Command::new(CHILD)
        .args([straight_dir.to_str().unwrap(), EPOCHS])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let straight = weights(&String::from_utf8_lossy(&out.stdout));

    let dir = tmpdir("killed");
    let mut child = Command::new(CHILD)
        .args([dir.to_str().unwrap(), EPOCHS])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Wait for the end of epoch 3, then kill it while epoch 4 runs.
    loop {
        let line = lines.next().expect("child ended before epoch 3").unwrap();
        if line.starts_with("Epoch 3/") {
            break;
        }
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child must have been killed, not finished");
    let resumed = Command::new(CHILD)
        .args([dir.to_str().unwrap(), EPOCHS])
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let text = String::from_utf8_lossy(&resumed.stdout);
    assert!(!text.contains("Epoch 1/"), "the resumed run started over:\n{text}");
    assert!(text.contains("EPOCHS 6"), "{text}");
    assert_eq!(weights(&text), straight);
    let _ = std::fs::remove_dir_all(&straight_dir);
    let _ = std::fs::remove_dir_all(&dir);
}
