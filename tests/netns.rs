//! The multi-host test: `deploy/netns-test.sh` runs four real `commons` nodes, one per Linux
//! network namespace (veth links to a bridge in a namespace of its own, addresses in
//! 10.231.X.0/24), founds a network of three agencies, lets a fourth in by endorsement, cuts
//! one host off and heals it, and checks that every node converges with nothing lost. This
//! test builds the binary (a no-op when it is up to date), runs the script with it, and fails
//! with the script's output when the script fails. It skips, saying why, when it is not root
//! or when network namespaces are unavailable (the script's exit status 77).
//!
//! Also here: every example config under `deploy/`, subdirectories included, is valid.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The script's own waits add up to a few minutes at most; this bounds a hung run.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(900);
/// How long a script sent SIGTERM at the timeout gets to clean up its namespaces.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(60);
/// The script's "skipped" exit status (automake's convention).
const SKIPPED: i32 = 77;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the workspace").to_owned()
}

/// Root is needed for `ip netns`. The owner of /proc/self is this process's effective uid.
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn ip_netns_available() -> bool {
    Command::new("ip")
        .args(["netns", "list"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The `commons` binary of this build. `CARGO_BIN_EXE_commons` exists only inside the
/// commons-node package, so: `$COMMONS_BIN` if set; else cargo builds the binary into the
/// target directory and profile this test was built in (nothing to do when `cargo test
/// --workspace` built it already) and names it in its JSON messages.
fn commons_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("COMMONS_BIN") {
        return PathBuf::from(bin);
    }
    // This test runs as <target>/[<triple>/]<profile dir>/deps/netns-<hash>.
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("<target>/<profile>/deps/<test>");
    let target_dir = profile_dir
        .ancestors()
        .find(|d| d.join("CACHEDIR.TAG").exists())
        .unwrap_or_else(|| profile_dir.parent().expect("a target directory"));
    let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    build
        .current_dir(workspace_root())
        .args(["build", "-p", "commons-node", "--bin", "commons", "--message-format=json-render-diagnostics"])
        .arg("--target-dir")
        .arg(target_dir);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            build.arg("--release");
        }
        Some(other) => {
            build.args(["--profile", other]);
        }
        None => {}
    }
    if let Some(triple) = profile_dir.parent().filter(|p| *p != target_dir).and_then(Path::file_name) {
        build.arg("--target").arg(triple);
    }
    println!("building the binary: {build:?}");
    let output = build.stderr(Stdio::inherit()).output().expect("running cargo build");
    assert!(output.status.success(), "cargo build of the commons binary failed: {}", output.status);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let executable = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "commons")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo's messages name the commons executable");
    assert!(executable.is_file(), "{} is not a file", executable.display());
    executable
}

/// Runs the script, printing its output line by line (shown when the test fails, or with
/// `--nocapture`), and returns its exit status and output.
fn run_script(script: &Path, binary: &Path) -> (ExitStatus, String) {
    let mut child = Command::new("bash")
        .arg(script)
        .arg(binary)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting bash");
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap_or_else(|e| format!("(unreadable output: {e})"));
            println!("{line}");
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the script") {
            break status;
        }
        if start.elapsed() > SCRIPT_TIMEOUT {
            // SIGTERM lets its trap stop the nodes and delete the namespaces.
            println!("the script ran over {SCRIPT_TIMEOUT:?}: sending it SIGTERM");
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let deadline = Instant::now() + CLEANUP_TIMEOUT;
            while child.try_wait().expect("waiting for the script").is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(200));
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!("deploy/netns-test.sh did not finish within {SCRIPT_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    (status, reader.join().expect("the output reader"))
}

#[test]
fn four_hosts_in_network_namespaces_found_join_partition_heal_and_converge() {
    // CI sets NETNS_REQUIRED where it can make namespaces: there a skip is a failure.
    let required = std::env::var_os("NETNS_REQUIRED").is_some_and(|v| v == "1");
    let skip = |why: &str| {
        assert!(!required, "NETNS_REQUIRED=1 but the netns test would skip: {why}");
        println!("SKIPPED: {why}");
    };
    if !is_root() {
        skip("the netns multi-host test needs root (ip netns); run as root to include it");
        return;
    }
    if !ip_netns_available() {
        skip("`ip netns` is not available (install iproute2; network namespaces needed)");
        return;
    }
    let script = workspace_root().join("deploy/netns-test.sh");
    let binary = commons_binary();
    let (status, output) = run_script(&script, &binary);
    if status.code() == Some(SKIPPED) {
        skip("deploy/netns-test.sh skipped (see its reason above)");
        return;
    }
    assert!(status.success(), "deploy/netns-test.sh failed ({status}); its output is above");
    assert!(
        output.lines().any(|l| l.contains("PASS: 4 hosts")),
        "the script exited 0 without reporting PASS; its output is above"
    );
}

/// Every `*.toml` under deploy/ (compose/ included) is a valid node config; the node's own
/// test covers deploy/*.toml only.
#[test]
fn every_example_config_under_deploy_is_valid() {
    fn tomls(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                tomls(&path, found);
            } else if path.extension().is_some_and(|e| e == "toml") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    tomls(&workspace_root().join("deploy"), &mut found);
    assert!(found.len() >= 4, "deploy/ holds the example config and the compose configs: {found:?}");
    for path in &found {
        node::config::Config::load(path).unwrap_or_else(|e| panic!("{e}"));
    }
}
