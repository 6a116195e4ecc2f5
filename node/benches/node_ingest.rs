//! One node's figures, through the real binary: durable ingest of the full catalogue with
//! `commons submit`, restart time and resident memory with 100 000 stored updates, and the
//! latency of `object ID` on the local API. Run with
//! `cargo bench -p commons-node --bench node_ingest`; prints a table. Uses the 2023-03-31
//! catalogue from ../shared/data when present, a synthetic one of the same size otherwise.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_commons");

/// Stored updates for the restart and memory figures.
const STORED: usize = 100_000;

fn commons(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN).arg("--data-dir").arg(dir).args(args).output().expect("commons runs");
    assert!(out.status.success(), "{:?} failed: {}", args, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn start(dir: &Path) -> (Child, Duration) {
    let _ = std::fs::remove_file(dir.join("api.addr"));
    let t = Instant::now();
    let child = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .args(["node", "run"])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts");
    while !dir.join("api.addr").exists() {
        assert!(t.elapsed() < Duration::from_secs(120), "node did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    let client = node::client::Client::for_data_dir(&node::datadir::DataDir::new(dir)).expect("client");
    let _: serde_json::Value =
        client.get("/v1/objects/90000").or_else(|_| client.get("/v1/status")).expect("serving");
    (child, t.elapsed())
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let _ = child.wait();
}

fn synthetic_file(dir: &Path, n: usize, hours: i64, seed: u64) -> PathBuf {
    let epoch = protocol::time::Epoch::from_civil(2023, 3, 31, 0).plus_micros(hours * 3_600_000_000);
    let sets = node::synthetic::catalogue(n, epoch, seed);
    let text = node::orbit::write_element_sets(&sets, node::orbit::OutputFormat::OmmJson).expect("writable");
    let path = dir.join(format!("synthetic-{n}-{hours}.json"));
    std::fs::write(&path, text).expect("write");
    path
}

fn main() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let genesis = tmp.path().join("genesis.json");
    let g = genesis.to_str().expect("utf-8");
    commons(&a, &["init", "--agency", "Bench A"]);
    commons(&b, &["init", "--agency", "Bench B"]);
    commons(&a, &["genesis", "new", "--name", "bench", "-o", g]);
    commons(&a, &["genesis", "add-founder", g]);
    commons(&b, &["genesis", "add-founder", g]);
    commons(&a, &["genesis", "seal", g]);
    commons(&a, &["init", "--genesis", g]);
    std::fs::write(
        a.join("config.toml"),
        "[api]\nlisten = \"127.0.0.1:0\"\n[network]\nenabled = false\n[screening]\nenabled = false\n",
    )
    .expect("config");

    let catalogue = node::data::data_file("catalog/full-catalog-3le-2023-03-31.txt")
        .unwrap_or_else(|| synthetic_file(tmp.path(), 24_548, 0, 1));
    let n_objects =
        node::orbit::read_element_sets(&std::fs::read_to_string(&catalogue).expect("read"), "catalogue")
            .sets
            .len();

    let (child, _) = start(&a);
    let t = Instant::now();
    commons(&a, &["submit", catalogue.to_str().expect("utf-8")]);
    let ingest = t.elapsed();
    // Grow the store to exactly 100 000 updates: later synthetic epochs add one estimate per
    // object (and, the first time, a metadata claim), the last file only as many as needed.
    let mut hours = 1;
    loop {
        let status: serde_json::Value =
            serde_json::from_str(&commons(&a, &["--json", "status"])).expect("json");
        let headers = status["core"]["headers"].as_u64().unwrap_or(0) as usize;
        if headers >= STORED {
            break;
        }
        let per_object = if hours == 1 { 2 } else { 1 };
        let n = ((STORED - headers) / per_object).min(24_548);
        let path = synthetic_file(tmp.path(), n, hours, 2);
        commons(&a, &["submit", path.to_str().expect("utf-8")]);
        hours += 1;
    }
    stop(child);

    let (child, restart) = start(&a);
    let status: serde_json::Value = serde_json::from_str(&commons(&a, &["--json", "status"])).expect("json");
    let stored = status["core"]["headers"].as_u64().unwrap_or(0);
    let rss = rss_mb(child.id());

    let client = node::client::Client::for_data_dir(&node::datadir::DataDir::new(&a)).expect("client");
    let objects: Vec<u32> = (90_000..90_000 + 1000).collect();
    let mut latencies_us: Vec<u128> = Vec::with_capacity(objects.len());
    for o in &objects {
        let t = Instant::now();
        let _: serde_json::Value = client.get(&format!("/v1/objects/{o}")).expect("object");
        latencies_us.push(t.elapsed().as_micros());
    }
    latencies_us.sort();
    let p = |q: f64| latencies_us[((latencies_us.len() as f64 - 1.0) * q) as usize] as f64 / 1000.0;
    stop(child);

    println!("| measure | value | goal |");
    println!("|---|---|---|");
    println!(
        "| durable ingest via `commons submit`, {n_objects} objects | {:.2} s ({:.0} objects/s) | < 2 s |",
        ingest.as_secs_f64(),
        n_objects as f64 / ingest.as_secs_f64()
    );
    println!("| restart to serving, {stored} stored updates | {:.2} s | < 2 s |", restart.as_secs_f64());
    println!("| resident memory after restart, {stored} stored updates | {rss:.0} MB | < 200 MB |");
    println!(
        "| `object ID` API latency, 1 000 sequential requests, p50 / p99 | {:.2} / {:.2} ms | p99 < 2 ms |",
        p(0.5),
        p(0.99)
    );
}
