//! The real cluster runner, end to end: `commons-sim cluster` with 4 real `commons` nodes of
//! 2 agencies, one kill -9 and restart and one partition healed, must deliver every
//! acknowledged update everywhere, converge after each fault and at the end, write a plot
//! marking both faults, and leave no process and no directory behind. Bad settings are
//! refused with the setting named.
//!
//! It needs the `commons` binary, which another package builds: it is looked for in this
//! test's own target profile directory (then the other profile's), or at $COMMONS_BIN; the
//! test is skipped with a message when it is absent. Build it with
//! `cargo build -p commons-node --bin commons` (or `--release`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/<profile>/commons` (or the other profile's), from this test's executable in
/// `target/<profile>/deps/`.
fn commons_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("COMMONS_BIN").map(PathBuf::from) {
        return path.is_file().then_some(path);
    }
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let target = profile_dir.parent()?;
    [profile_dir.join("commons"), target.join("debug/commons"), target.join("release/commons")]
        .into_iter()
        .find(|p| p.is_file())
}

fn sim(args: &[&str]) -> (i32, String, String) {
    let output =
        Command::new(env!("CARGO_BIN_EXE_commons-sim")).args(args).output().expect("commons-sim runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (output.status.code().unwrap_or(-1), stdout, stderr)
}

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains(needle) {
                found.push(format!("{}: {text}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

#[test]
fn four_real_nodes_survive_a_kill_and_a_partition() {
    let Some(commons) = commons_binary() else {
        eprintln!(
            "SKIPPED: no `commons` binary next to this test (or at $COMMONS_BIN); build it with \
             `cargo build -p commons-node --bin commons` into the same target directory"
        );
        return;
    };
    let out = tempfile_dir("cluster-test");
    let json = out.join("report.json");
    let svg = out.join("plot.svg");
    let (code, _, stderr) = sim(&[
        "cluster",
        "--nodes",
        "4",
        "--agencies",
        "2",
        "--rate",
        "5",
        "--objects",
        "200",
        "--kills",
        "1",
        "--down-s",
        "2",
        "--partitions",
        "1",
        "--partition-size",
        "2",
        "--partition-s",
        "3",
        "--warmup-s",
        "3",
        "--settle-s",
        "2",
        "--tail-s",
        "2",
        "--idle-s",
        "0",
        "--heartbeat-ms",
        "100",
        "--sync-interval-s",
        "1",
        "--sample-ms",
        "250",
        "--converge-timeout-s",
        "60",
        "--commons",
        commons.to_str().expect("UTF-8 path"),
        "--dir",
        out.to_str().expect("UTF-8 path"),
        "--json",
        json.to_str().expect("UTF-8 path"),
        "--svg",
        svg.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(code, 0, "the run failed:\n{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the report is written")).expect("JSON");
    assert_eq!(report["passed"], true, "{stderr}");

    let delivery = &report["delivery"];
    let acknowledged = delivery["acknowledged"].as_u64().expect("a count");
    assert!(acknowledged >= 10, "the stream ran: {delivery}");
    assert_eq!(delivery["delivered_everywhere"].as_u64(), Some(acknowledged), "100 % delivery: {delivery}");
    assert!(delivery["latency_ms"]["p50"].as_f64().is_some(), "latency measured: {delivery}");

    let faults = report["faults"].as_array().expect("faults");
    let kinds: Vec<&str> = faults.iter().filter_map(|f| f["kind"].as_str()).collect();
    assert_eq!(kinds, ["kill", "partition"], "{faults:?}");
    for f in faults {
        assert!(f["digests_equal_s"].as_f64().is_some(), "all digests equal after {f}");
        assert!(f["caught_up_s"].as_f64().is_some(), "every earlier update everywhere after {f}");
    }
    let victim = faults[0]["nodes"][0].as_u64().expect("the victim") as usize;
    assert_eq!(report["nodes"][victim]["restarts"], 1, "the killed node was restarted");
    assert_eq!(report["final_convergence"]["converged"], true);
    assert!(report["resources"]["rss_mib_idle"]["mean"].as_f64().is_some_and(|m| m > 1.0), "memory measured");

    let plot = std::fs::read_to_string(&svg).expect("the plot is written");
    assert!(plot.contains("fault fault-kill") && plot.contains("fault fault-partition"), "faults marked");

    // Nothing left behind: the nodes' directory is gone and no process names it.
    let root = report["settings"]["data_root"].as_str().expect("the data root");
    assert!(!Path::new(root).exists(), "{root} was removed");
    assert!(processes_mentioning(root).is_empty(), "nodes left running: {:?}", processes_mentioning(root));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn bad_cluster_settings_are_refused_with_the_setting_named() {
    let cases: &[(&[&str], &str)] = &[
        (&["cluster", "--nodes", "1"], "--nodes"),
        (&["cluster", "--nodes", "3", "--agencies", "5"], "--agencies 5"),
        (&["cluster", "--rate", "0"], "--rate 0"),
        (&["cluster", "--rate", "fast"], "--rate"),
        (&["cluster", "--objects", "0"], "--objects"),
        (&["cluster", "--down-s=-1"], "--down-s"),
        (&["cluster", "--down-s", "soon"], "--down-s"),
        (&["cluster", "--nodes", "4", "--partition-size", "4"], "--partition-size 4"),
        (&["cluster", "--seeds", "0"], "--seeds"),
        (&["cluster", "--commons", "/nonexistent/commons"], "/nonexistent/commons"),
    ];
    for (args, expected) in cases {
        let (code, _, stderr) = sim(args);
        assert_ne!(code, 0, "{args:?} was accepted");
        assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in: {stderr}");
    }
}

fn tempfile_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("commons-sim-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}
