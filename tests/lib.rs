//! Shared helpers for the integration tests: real nodes (the daemon's own `run`, each on its
//! own runtime thread) with real sockets on 127.0.0.1 and port 0, and waiting on conditions
//! with timeouts, never on bare sleeps.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly on purpose

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use node::client::Client;
use node::config::Config;
use node::datadir::DataDir;
use protocol::genesis::{Founder, Genesis};

/// Waits for a condition, failing after `timeout` with `what` (never a bare sleep).
pub fn wait_for(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A data directory for an agency's signing node, or a relay.
pub fn agency_dir(root: &Path, name: &str) -> DataDir {
    let dir = DataDir::new(root.join(name));
    dir.init(Some(name), false, None).unwrap();
    dir
}

pub fn relay_dir(root: &Path, name: &str) -> DataDir {
    let dir = DataDir::new(root.join(name));
    dir.init(None, true, None).unwrap();
    dir
}

/// Two founding agencies, "Agency A" and "Agency B", each with one signing node, sealed into
/// a genesis with endorsement threshold 2.
pub fn two_founders(root: &Path) -> (DataDir, DataDir) {
    let a = agency_dir(root, "Agency A");
    let b = agency_dir(root, "Agency B");
    genesis(&[(&a, vec![&a]), (&b, vec![&b])], 2, &[&a, &b]);
    (a, b)
}

/// A genesis with these founders; each founder lists the peer ids of `nodes[i]` (its signing
/// node first). Written into every given data directory.
pub fn genesis(founders: &[(&DataDir, Vec<&DataDir>)], k: u32, all_dirs: &[&DataDir]) -> Genesis {
    let genesis = Genesis {
        network_name: "integration".into(),
        founders: founders
            .iter()
            .map(|(dir, nodes)| {
                let info = dir.agency().unwrap().unwrap();
                Founder {
                    agency: info.agency,
                    name: info.name,
                    node_peer_ids: nodes.iter().map(|n| n.peer_id().unwrap().unwrap().to_bytes()).collect(),
                }
            })
            .collect(),
        endorsement_threshold: k,
        estimates_per_source: 3,
        shared_orbit_window_s: 3 * 86_400,
        max_epoch_ahead_s: 86_400,
    }
    .seal()
    .unwrap();
    for dir in all_dirs {
        std::fs::write(dir.genesis(), serde_json::to_string_pretty(&genesis).unwrap()).unwrap();
    }
    genesis
}

/// A running node: the daemon on its own runtime thread.
#[derive(Debug)]
pub struct TestNode {
    pub dir: DataDir,
    pub api: SocketAddr,
    pub p2p: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl TestNode {
    /// Starts a node with short heartbeats and sync intervals, dialling `bootstrap`, with a
    /// small store cache (many nodes share one machine).
    pub fn start(dir: &DataDir, bootstrap: &[String]) -> TestNode {
        Self::start_configured(dir, bootstrap, 8, "")
    }

    /// [`TestNode::start`] with a store page cache of `cache_mb` (the node's default is 64) and
    /// extra `key = value` lines in the `[network]` section.
    pub fn start_configured(
        dir: &DataDir,
        bootstrap: &[String],
        cache_mb: u64,
        network_extra: &str,
    ) -> TestNode {
        // Logs when RUST_LOG is set (once per test process).
        if std::env::var_os("RUST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
        let bootstrap_toml = bootstrap.iter().map(|b| format!("\"{b}\"")).collect::<Vec<_>>().join(", ");
        let toml = format!(
            "data_dir = \"{}\"\n[api]\nlisten = \"127.0.0.1:0\"\n[network]\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\nbootstrap = [{bootstrap_toml}]\n{network_extra}\n\
             [gossip]\nheartbeat_ms = 100\nmesh_n = 4\nmesh_n_low = 2\nmesh_n_high = 8\n[sync]\ninterval_s = 1\n[store]\ncache_mb = {cache_mb}\n[screening]\nenabled = false\n",
            dir.root().display()
        );
        let config = Config::from_toml(&toml, None).unwrap();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(node::daemon::run(
                config,
                async move {
                    let _ = shutdown_rx.await;
                },
                Some(ready_tx),
            ))
        });
        let Ok(api) = ready_rx.blocking_recv() else {
            let outcome = thread.join().map(|r| r.map_err(|e| format!("{e:#}")));
            panic!("the node did not start: {outcome:?}");
        };
        let client = Client::new(&api.to_string(), dir.read_token().ok(), dir.root().to_owned());
        let mut p2p = String::new();
        wait_for("a p2p listen address", Duration::from_secs(20), || {
            let status: serde_json::Value = client.get("/v1/status").unwrap();
            match status["network"]["listen_addrs"]
                .as_array()
                .and_then(|a| a.first())
                .and_then(|a| a.as_str())
            {
                Some(addr) => {
                    p2p = format!("{addr}/p2p/{}", status["node"]["peer_id"].as_str().unwrap());
                    true
                }
                None => false,
            }
        });
        TestNode { dir: dir.clone(), api, p2p, shutdown: Some(shutdown_tx), thread: Some(thread) }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.api.to_string(), self.dir.read_token().ok(), self.dir.root().to_owned())
    }

    pub fn status(&self) -> serde_json::Value {
        self.client().get("/v1/status").unwrap()
    }

    pub fn digest(&self) -> String {
        self.status()["core"]["header_digest"].as_str().unwrap().to_owned()
    }

    pub fn headers(&self) -> u64 {
        self.status()["core"]["headers"].as_u64().unwrap()
    }

    pub fn peer_id(&self) -> String {
        self.status()["node"]["peer_id"].as_str().unwrap().to_owned()
    }

    pub fn admitted_peers(&self) -> u64 {
        self.status()["network"]["admitted"].as_u64().unwrap_or(0)
    }

    /// Stops the node cleanly and waits for it.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// Waits until every node reports the same header digest, and returns it.
pub fn wait_converged(nodes: &[&TestNode], timeout: Duration) -> String {
    let mut last = Vec::new();
    let start = Instant::now();
    loop {
        let digests: Vec<String> = nodes.iter().map(|n| n.digest()).collect();
        if digests.windows(2).all(|w| w[0] == w[1]) {
            return digests[0].clone();
        }
        if start.elapsed() > timeout {
            let headers: Vec<u64> = nodes.iter().map(|n| n.headers()).collect();
            panic!("not converged after {timeout:?}: headers {headers:?}, digests {last:?}");
        }
        last = digests;
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Temporary root for a test's data directories.
pub fn temp_root() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().to_owned();
    (tmp, path)
}
