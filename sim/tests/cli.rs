//! The command line: bad input is an error that names the setting, never a panic.

use std::process::Command;

fn sim(args: &[&str]) -> (i32, String) {
    let output =
        Command::new(env!("CARGO_BIN_EXE_commons-sim")).args(args).output().expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (output.status.code().unwrap_or(-1), stderr)
}

#[test]
fn bad_settings_are_refused_with_the_setting_named() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--nodes", "0"], "--nodes"),
        (&["run", "--nodes", "201"], "--nodes"),
        (&["run", "--faults", "meteor"], "unknown fault profile \"meteor\""),
        (&["run", "--ticks", "5"], "--ticks 5"),
        (&["run", "--seed=-3"], "--seed"),
        (&["run", "--nodes", "5", "--faults", "hostile"], "at least 13 nodes"),
        (&["run", "--bound-s", "10"], "--bound-s 10"),
        (&["run", "--catalogue", "moon"], "unknown catalogue"),
        (&["run", "--sabotage", "everything"], "unknown sabotage"),
    ];
    for (args, expected) in cases {
        let (code, stderr) = sim(args);
        assert_ne!(code, 0, "{args:?} was accepted");
        assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in: {stderr}");
    }
}

#[test]
fn help_documents_every_fault_profile() {
    let output =
        Command::new(env!("CARGO_BIN_EXE_commons-sim")).args(["run", "--help"]).output().expect("runs");
    let help = String::from_utf8_lossy(&output.stdout);
    for profile in ["none", "lossy", "partitions", "crashes", "hostile", "chaos"] {
        assert!(help.contains(&format!("  {profile} ")), "{profile} is not documented:\n{help}");
    }
}

#[test]
fn a_failing_run_prints_its_seed_and_the_command_that_replays_it() {
    let dir = std::env::temp_dir().join(format!("commons-sim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let json = dir.join("report.json");
    let args = [
        "run",
        "--seed",
        "12",
        "--nodes",
        "12",
        "--faults",
        "none",
        "--ticks",
        "2400",
        "--bound-s",
        "120",
        "--sync-interval-s",
        "15",
        "--sabotage",
        "ack-before-durable",
        "--json",
    ];
    let mut command = Command::new(env!("CARGO_BIN_EXE_commons-sim"));
    command.args(args).arg(&json);
    let output = command.output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("seed 12 failed; replay with:"), "{stderr}");
    assert!(stderr.contains("run --seed 12 --nodes 12 --faults none --ticks 2400"), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report written")).expect("JSON");
    assert_eq!(report["passed"], serde_json::Value::Bool(false));
    assert!(report["replay"].as_str().is_some_and(|r| r.contains("--sabotage ack-before-durable")));
    std::fs::remove_dir_all(&dir).ok();
}
