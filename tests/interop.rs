//! Interop with another implementation: the js-libp2p client in `tests/interop/` (written from
//! `protocol/SPEC.md`) against a real node on 127.0.0.1. The client checks the golden vectors,
//! passes the gating handshake with its own `NodeBinding` (the genesis lists no peer id for its
//! agency, so only the presented binding can admit it), receives an update submitted at the
//! node, and publishes one it signed itself, which the node must accept, store and show.
//!
//! Needs `node` and `npm`, and `tests/interop/node_modules` (installed here with `npm ci` when
//! missing). Without them the tests say so and skip, unless `INTEROP_REQUIRED=1` (CI), where
//! a missing toolchain is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use commons_tests::*;
use node::api::SubmitRequest;
use node::core::SubmitSummary;
use protocol::envelope::Signer;
use protocol::genesis::{Founder, Genesis};
use serde_json::Value;

/// How long the client may take from start to finish (it also stops itself at this bound).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);
/// Client events queued for the test at most (a run prints a dozen).
const CLIENT_EVENTS: usize = 1024;
/// The JS agency's name in the genesis.
const JS_AGENCY_NAME: &str = "JS Agency";

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

fn vectors_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol/tests/vectors/updates.json")
}

/// The Node 22 runtime that `npm ci` installs (the `node` package), not the system's.
fn node_runtime() -> PathBuf {
    interop_dir().join("node_modules/.bin/node")
}

fn required() -> bool {
    std::env::var("INTEROP_REQUIRED").is_ok_and(|v| v == "1" || v == "true")
}

fn works(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether `node_modules` matches `package-lock.json` (npm's hidden lockfile is written last).
fn installed(dir: &Path) -> bool {
    let modified = |p: PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let (Some(lock), Some(hidden)) =
        (modified(dir.join("package-lock.json")), modified(dir.join("node_modules/.package-lock.json")))
    else {
        return false;
    };
    hidden >= lock && works(node_runtime().to_str().unwrap(), "--version")
}

/// Installs the client's packages once per test process: `Ok` when ready, `Err(why)` when
/// the toolchain or the packages cannot be had here.
fn ensure_installed() -> Result<(), String> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(|| {
            if !works("node", "--version") || !works("npm", "--version") {
                return Err("`node` and `npm` are not both on PATH".into());
            }
            let dir = interop_dir();
            if installed(&dir) {
                return Ok(());
            }
            eprintln!("interop: installing tests/interop packages with npm ci");
            let output = Command::new("npm")
                .args(["ci", "--prefer-offline", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("cannot run npm ci: {e}"))?;
            if !output.status.success() || !installed(&dir) {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let lines: Vec<&str> = stderr.lines().collect();
                return Err(format!(
                    "`npm ci` in tests/interop failed (no network?): {}",
                    lines[lines.len().saturating_sub(6)..].join(" | ")
                ));
            }
            Ok(())
        })
        .clone()
}

/// `true` when the test may run; otherwise prints why it skips (or fails, if required).
fn ready_or_skip(test: &str) -> bool {
    match ensure_installed() {
        Ok(()) => true,
        Err(why) => {
            assert!(!required(), "{test}: INTEROP_REQUIRED is set but {why}");
            eprintln!("SKIPPED {test}: {why} (needs Node.js and npm, and `npm ci` in tests/interop)");
            false
        }
    }
}

/// A running client process, killed if the test fails before it exits.
struct JsClient {
    child: Child,
    events: Receiver<Value>,
    seen: Vec<Value>,
    stderr: Arc<Mutex<String>>,
}

impl JsClient {
    fn spawn(args: &[&str], seed_hex: &str) -> JsClient {
        let mut child = Command::new(node_runtime())
            .arg("client.mjs")
            .args(args)
            .env("INTEROP_AGENCY_SEED", seed_hex)
            .current_dir(interop_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the client starts");
        let (tx, events) = mpsc::sync_channel(CLIENT_EVENTS);
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let value =
                    serde_json::from_str(&line).unwrap_or_else(|_| serde_json::json!({ "raw": line }));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        JsClient { child, events, seen: Vec::new(), stderr }
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the next event named `name`, failing on the client's own error report, on
    /// its exit, or after `timeout`.
    fn wait_event(&mut self, name: &str, timeout: Duration) -> Value {
        let start = Instant::now();
        loop {
            let left = timeout.saturating_sub(start.elapsed());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    self.seen.push(event.clone());
                    if event["event"] == name {
                        return event;
                    }
                    assert_ne!(
                        event["event"],
                        "error",
                        "the client failed: {event}\nclient log:\n{}",
                        self.log()
                    );
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "timed out after {timeout:?} waiting for the client's {name:?}\nclient log:\n{}",
                        self.log()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    panic!(
                        "the client exited ({status:?}) before {name:?}; events {:?}\nclient log:\n{}",
                        self.seen,
                        self.log()
                    )
                }
            }
        }
    }

    fn events_named(&self, name: &str) -> Vec<&Value> {
        self.seen.iter().filter(|e| e["event"] == name).collect()
    }

    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let mut status = None;
        wait_for("the client to exit", timeout, || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        status.unwrap()
    }
}

impl Drop for JsClient {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn random_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut seed)).expect("/dev/urandom");
    seed
}

#[test]
fn the_js_encoder_reproduces_every_golden_vector() {
    if !ready_or_skip("the_js_encoder_reproduces_every_golden_vector") {
        return;
    }
    let output = Command::new(node_runtime())
        .arg("vectors.mjs")
        .arg(vectors_path())
        .current_dir(interop_dir())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "vectors.mjs failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("vectors: 1 passed, 0 failed"), "{stdout}");
}

#[test]
fn a_js_libp2p_client_is_admitted_by_its_binding_receives_gossip_and_publishes_an_accepted_update() {
    if !ready_or_skip(
        "a_js_libp2p_client_is_admitted_by_its_binding_receives_gossip_and_publishes_an_accepted_update",
    ) {
        return;
    }
    let (_tmp, root) = temp_root();
    let rust = agency_dir(&root, "Rust Agency");
    let seed = random_seed();
    let js_agency = Signer::from_seed(seed).agency();
    let rust_info = rust.agency().unwrap().unwrap();
    // The JS agency is a founder with no node peer ids: its client is admitted only by the
    // NodeBinding it presents in the handshake.
    let genesis = Genesis {
        network_name: "interop".into(),
        founders: vec![
            Founder {
                agency: rust_info.agency,
                name: rust_info.name.clone(),
                node_peer_ids: vec![rust.peer_id().unwrap().unwrap().to_bytes()],
            },
            Founder { agency: js_agency, name: JS_AGENCY_NAME.into(), node_peer_ids: vec![] },
        ],
        endorsement_threshold: 2,
        estimates_per_source: 3,
        shared_orbit_window_s: 3 * 86_400,
        max_epoch_ahead_s: 86_400,
    }
    .seal()
    .unwrap();
    std::fs::write(rust.genesis(), serde_json::to_string_pretty(&genesis).unwrap()).unwrap();
    let node = TestNode::start(&rust, &[]);
    let api = node.client();

    let genesis_path = rust.genesis();
    let vectors = vectors_path();
    let timeout_ms = CLIENT_TIMEOUT.as_millis().to_string();
    let mut client = JsClient::spawn(
        &[
            "--peer",
            &node.p2p,
            "--genesis",
            genesis_path.to_str().unwrap(),
            "--vectors",
            vectors.to_str().unwrap(),
            "--timeout-ms",
            &timeout_ms,
        ],
        &hex::encode(seed),
    );

    // The client checked the vectors, connected, handshook and saw itself admitted.
    let vectors_event = client.wait_event("vectors", CLIENT_TIMEOUT);
    assert!(vectors_event["checks"].as_u64().unwrap_or(0) > 100, "{vectors_event}");
    let ready = client.wait_event("ready", CLIENT_TIMEOUT);
    assert_eq!(ready["agency"], js_agency.to_hex());
    // Both sides handshook: the node's own request reached the client, which answered it.
    assert!(ready["node_handshake_requests"].as_u64().unwrap_or(0) >= 1, "{ready}");
    let js_peer = ready["peer_id"].as_str().unwrap().to_owned();
    let handshake = client.events_named("handshake")[0].clone();
    assert_eq!(handshake["binding_id"], ready["binding_id"]);
    // The node admitted the client's peer id for the JS agency, and holds its binding.
    wait_for("the node to list the client as admitted", Duration::from_secs(20), || {
        let peers: Value = api.get("/v1/peers").unwrap();
        peers.as_array().unwrap().iter().any(|p| {
            p["peer_id"] == js_peer.as_str() && p["state"] == "admitted" && p["agency"] == js_agency.to_hex()
        })
    });
    let binding: Value = api.get(&format!("/v1/updates/{}", ready["binding_id"].as_str().unwrap())).unwrap();
    assert!(binding["envelope_hex"].as_str().is_some_and(|h| !h.is_empty()), "{binding}");
    // The node knows the client's subscription (its mesh has the client) before it publishes.
    wait_for("the client in the node's gossip mesh", Duration::from_secs(30), || {
        node.status()["network"]["mesh_size"].as_u64().unwrap_or(0) >= 1
    });

    // An update submitted at the node reaches the client by gossip.
    let at = node::core::now_epoch().plus_micros(-3_600_000_000);
    let sets = node::synthetic::catalogue(1, at, 17);
    let norad = sets[0].estimate.object.norad().unwrap();
    let summary: SubmitSummary = api.post("/v1/submit", &SubmitRequest::of(&sets)).unwrap();
    assert_eq!(summary.accepted, 1, "{summary:?}");
    let history: Value = api.get(&format!("/v1/objects/{norad}/history")).unwrap();
    let node_estimate = history
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "orbit_estimate" && h["author"] == rust_info.agency.to_hex())
        .expect("the node's own estimate in its history")["update_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let node_envelope: Value = api.get(&format!("/v1/updates/{node_estimate}")).unwrap();

    let published = client.wait_event("published", CLIENT_TIMEOUT);
    let received = client.events_named("received");
    let got = received
        .iter()
        .find(|e| e["update_id"] == node_estimate.as_str())
        .unwrap_or_else(|| panic!("the client did not receive {node_estimate}: {received:?}"));
    assert_eq!(got["envelope_hex"], node_envelope["envelope_hex"], "the gossiped bytes are the node's");
    assert_eq!(got["author"], rust_info.agency.to_hex());
    assert_eq!(got["kind"], "orbit_estimate");
    assert!(client.events_named("received_invalid").is_empty(), "{:?}", client.seen);

    // The client's own update: same object, accepted, stored byte for byte, and shown.
    assert_eq!(published["object"], norad);
    assert!(published["recipients"].as_array().unwrap().iter().any(|p| *p == node.peer_id().as_str()));
    let js_update = published["update_id"].as_str().unwrap().to_owned();
    let stored = client.wait_event("stored", CLIENT_TIMEOUT);
    assert_eq!(stored["update_id"], js_update.as_str());
    client.wait_event("done", CLIENT_TIMEOUT);
    let status = client.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "client exit {status:?}\nclient log:\n{}", client.log());

    let held: Value = api.get(&format!("/v1/updates/{js_update}")).unwrap();
    assert_eq!(held["envelope_hex"], published["envelope_hex"], "the node stored the client's bytes");
    let view: Value = api.get(&format!("/v1/objects/{norad}")).unwrap();
    let current = view["view"]["current"].as_array().unwrap();
    assert_eq!(current.len(), 2, "both agencies' estimates are current: {view}");
    let js_current = current
        .iter()
        .find(|c| c["agency"] == js_agency.to_hex())
        .unwrap_or_else(|| panic!("no current estimate by the JS agency: {view}"));
    assert_eq!(js_current["update_id"], js_update.as_str());
    // Fields the node decoded from the client's encoding: text, an optional u32, a char.
    assert_eq!(js_current["estimate"]["source"], "js-libp2p interop client");
    assert_eq!(js_current["estimate"]["quality"]["n_observations"], 12, "{js_current}");
    let node_current = current.iter().find(|c| c["agency"] == rust_info.agency.to_hex()).unwrap();
    assert_eq!(js_current["estimate"]["classification"], node_current["estimate"]["classification"]);
    assert_eq!(view["view"]["defects"].as_array().map(Vec::len), Some(0), "{view}");
    assert_eq!(view["agency_names"][js_agency.to_hex()], JS_AGENCY_NAME);
    let js_history: Value = api.get(&format!("/v1/objects/{norad}/history")).unwrap();
    let entry = js_history.as_array().unwrap().iter().find(|h| h["update_id"] == js_update.as_str()).unwrap();
    assert_eq!(entry["in_state"], true, "{entry}");
    assert_eq!(entry["defect"], Value::Null, "{entry}");
}
