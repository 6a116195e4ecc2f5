//! The node processes: data directories made with `commons init`, one genesis naming every
//! agency as a founder (with all of its nodes), a config per node (loopback, port 0), and
//! `commons node run` children that the [`Cluster`] guard kills (and whose directories it
//! removes, unless asked to keep them) when it is dropped: on success, on error, on a panic,
//! and after Ctrl-C.

use std::fs::OpenOptions;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use protocol::genesis::{Founder, Genesis};
use protocol::ids::AgencyId;

use super::api::NodeApi;
use super::wait::{pause, POLL};

/// The environment variable naming the `commons` binary (as `--commons` does).
pub const COMMONS_BIN_ENV: &str = "COMMONS_BIN";
/// Workers for the many small jobs (key creation, API calls to every node): enough to hide
/// process start-up and HTTP latency, few enough not to swamp two cores.
pub const WORKERS: usize = 8;

/// Settings written into every node's config.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    pub heartbeat_ms: u64,
    pub sync_interval_s: u64,
    pub cache_mb: u64,
    /// Threads of each node's async runtime (1: many nodes share the machine's cores).
    pub worker_threads: u64,
    pub screening: bool,
    /// `RUST_LOG` for the nodes (their log goes to `node.log` in each data directory).
    pub log_filter: String,
}

/// What a node is.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub index: usize,
    pub label: String,
    pub dir: PathBuf,
    /// The agency this node belongs to (index).
    pub agency: usize,
    /// The agency's signing node (holds its key); the others are relays.
    pub signing: bool,
    /// A bootstrap seed: every other node's config lists the seeds.
    pub seed: bool,
    pub peer_id: String,
}

/// A node process that is running.
#[derive(Debug)]
struct Running {
    child: Child,
    pid: u32,
    /// Known once the node serves its API and listens.
    api: Option<NodeApi>,
    p2p: Option<String>,
}

#[derive(Debug)]
pub struct Node {
    pub spec: NodeSpec,
    running: Mutex<Option<Running>>,
    pub restarts: AtomicU32,
}

/// Every node of a run; killing them all (and removing their directories) on drop.
#[derive(Debug)]
pub struct Cluster {
    pub root: PathBuf,
    keep: bool,
    commons: PathBuf,
    settings: NodeSettings,
    pub nodes: Vec<Node>,
    /// Agency names and ids, by agency index.
    pub agencies: Vec<(String, AgencyId)>,
}

/// Finds the `commons` binary: `explicit` (from `--commons` or `$COMMONS_BIN`), else next to
/// the running executable (the same cargo target directory), else one level up (a test
/// executable lives in `target/<profile>/deps`).
pub fn find_commons(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        if path.is_file() {
            return Ok(path.to_owned());
        }
        bail!(
            "the commons binary {} (from --commons or ${COMMONS_BIN_ENV}) does not exist or is not a file",
            path.display()
        );
    }
    let exe = std::env::current_exe().context("locating the running executable")?;
    let dir = exe.parent().context("the running executable has no directory")?;
    let candidates = [dir.join("commons"), dir.join("../commons")];
    for candidate in &candidates {
        if candidate.is_file() {
            return Ok(candidate.clone());
        }
    }
    bail!(
        "cannot find the `commons` binary next to {} (looked for {}). Build it into the same target \
         directory with `cargo build --release -p commons-node --bin commons` (add the same \
         --target-dir or CARGO_TARGET_DIR), or name it with --commons PATH or ${COMMONS_BIN_ENV}",
        exe.display(),
        candidates.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(" and ")
    )
}

/// Runs `commons` to completion, failing with its standard error.
fn commons_output(commons: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new(commons)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", commons.display()))?;
    if !output.status.success() {
        bail!(
            "`{} {}` failed ({}): {}",
            commons.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout).context("commons printed something that is not UTF-8")
}

/// Runs `job(i)` for every `i < n` on a few worker threads, and collects the results in order.
pub fn parallel<T: Send>(n: usize, job: impl Fn(usize) -> Result<T> + Sync) -> Result<Vec<T>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<T>>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS.min(n) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let result = job(i);
                results.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(result);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(anyhow::anyhow!("a worker stopped before its job"))))
        .collect()
}

/// A string as a TOML basic string (JSON's escapes are valid TOML).
fn toml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

impl Cluster {
    /// Creates the data directories and keys of `n_nodes` nodes of `n_agencies` agencies under
    /// `root` (node `i < n_agencies` is agency `i`'s signing node, the others are relays of
    /// agency `i % n_agencies`), and a genesis with every agency as a founder. The first
    /// `n_seeds` nodes are the seeds.
    pub fn create(
        root: PathBuf,
        keep: bool,
        commons: PathBuf,
        settings: NodeSettings,
        n_nodes: usize,
        n_agencies: usize,
        n_seeds: usize,
    ) -> Result<Cluster> {
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        // The guard exists from here on: whatever fails below, the directory goes.
        let mut cluster = Cluster { root, keep, commons, settings, nodes: Vec::new(), agencies: Vec::new() };
        let names: Vec<String> = (0..n_agencies).map(|a| format!("Agency {a:02}")).collect();
        let root = cluster.root.clone();
        let commons = cluster.commons.clone();
        let inits = parallel(n_nodes, |i| {
            let dir = root.join(format!("node-{i:03}"));
            let dir_text = dir.to_str().context("the cluster directory's path is not UTF-8")?;
            let mut args = vec!["--json", "--data-dir", dir_text, "init"];
            if i < n_agencies {
                args.extend(["--agency", names[i].as_str()]);
            } else {
                args.push("--relay");
            }
            let text = commons_output(&commons, &args)?;
            let report: serde_json::Value = serde_json::from_str(&text).with_context(|| {
                format!("`commons init` printed something else than its JSON report: {text}")
            })?;
            let peer_id = report["peer_id"]
                .as_str()
                .with_context(|| format!("`commons init` reported no peer id: {text}"))?
                .to_owned();
            let agency: Option<AgencyId> = if i < n_agencies {
                Some(
                    serde_json::from_value(report["agency"].clone())
                        .with_context(|| format!("`commons init` reported no agency id: {text}"))?,
                )
            } else {
                None
            };
            Ok((dir, peer_id, agency))
        })?;
        for (i, (dir, peer_id, agency)) in inits.into_iter().enumerate() {
            if let Some(agency) = agency {
                cluster.agencies.push((names[i].clone(), agency));
            }
            let agency = i % n_agencies;
            let signing = i < n_agencies;
            let label =
                if signing { format!("node-{i:03} (agency {agency:02})") } else { format!("node-{i:03}") };
            cluster.nodes.push(Node {
                spec: NodeSpec { index: i, label, dir, agency, signing, seed: i < n_seeds, peer_id },
                running: Mutex::new(None),
                restarts: AtomicU32::new(0),
            });
        }
        let genesis = cluster.genesis()?;
        let text = serde_json::to_string_pretty(&genesis).context("encoding the genesis")? + "\n";
        for node in &cluster.nodes {
            let path = node.spec.dir.join("genesis.json");
            std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(cluster)
    }

    /// Every agency a founder, listing all of its nodes; the default threshold.
    fn genesis(&self) -> Result<Genesis> {
        let founders = self
            .agencies
            .iter()
            .enumerate()
            .map(|(a, (name, agency))| {
                let node_peer_ids = self
                    .nodes
                    .iter()
                    .filter(|n| n.spec.agency == a)
                    .map(|n| {
                        bs58::decode(&n.spec.peer_id)
                            .into_vec()
                            .with_context(|| format!("peer id {} is not base58", n.spec.peer_id))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Founder { agency: *agency, name: name.clone(), node_peer_ids })
            })
            .collect::<Result<Vec<_>>>()?;
        let n = founders.len();
        Genesis {
            network_name: "commons-sim cluster".into(),
            founders,
            endorsement_threshold: Genesis::default_threshold(n),
            estimates_per_source: protocol::genesis::DEFAULT_ESTIMATES_PER_SOURCE,
            shared_orbit_window_s: protocol::genesis::DEFAULT_SHARED_ORBIT_WINDOW_S,
            max_epoch_ahead_s: protocol::genesis::DEFAULT_MAX_EPOCH_AHEAD_S,
        }
        .seal()
        .context("sealing the cluster's genesis")
    }

    fn lock(&self, i: usize) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.nodes[i].running.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes node `i`'s config (bootstrapping from `bootstrap`) and starts it. It is ready
    /// once [`Cluster::wait_ready`] says so.
    pub fn spawn(&self, i: usize, bootstrap: &[String]) -> Result<()> {
        let spec = &self.nodes[i].spec;
        let s = &self.settings;
        let config = format!(
            "# Written by commons-sim cluster.\ndata_dir = {}\nworker_threads = {}\n\n[api]\nlisten = \"127.0.0.1:0\"\n\n\
             [network]\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\nbootstrap = [{}]\n\n\
             [gossip]\nheartbeat_ms = {}\n\n[sync]\ninterval_s = {}\n\n[store]\ncache_mb = {}\n\n\
             [screening]\nenabled = {}\n",
            toml_string(&spec.dir.display().to_string()),
            s.worker_threads,
            bootstrap.iter().map(|b| toml_string(b)).collect::<Vec<_>>().join(", "),
            s.heartbeat_ms,
            s.sync_interval_s,
            s.cache_mb,
            s.screening
        );
        let config_path = spec.dir.join("config.toml");
        std::fs::write(&config_path, config).with_context(|| format!("writing {}", config_path.display()))?;
        // A node killed with -9 leaves its api.addr behind: the new one must not be mistaken
        // for it.
        let addr_path = spec.dir.join("api.addr");
        match std::fs::remove_file(&addr_path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", addr_path.display())),
        }
        let log_path = spec.dir.join("node.log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let child = Command::new(&self.commons)
            .args(["node", "run", "--config"])
            .arg(&config_path)
            .env("RUST_LOG", &s.log_filter)
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("duplicating the log file handle")?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {} node run for {}", self.commons.display(), spec.label))?;
        let pid = child.id();
        *self.lock(i) = Some(Running { child, pid, api: None, p2p: None });
        Ok(())
    }

    /// Waits until node `i` serves its API and listens, and remembers both.
    pub fn wait_ready(&self, i: usize, timeout: Duration, stop: &AtomicBool) -> Result<()> {
        let spec = &self.nodes[i].spec;
        let start = Instant::now();
        loop {
            let exited = match self.lock(i).as_mut() {
                None => bail!("{} is not running", spec.label),
                Some(running) => running.child.try_wait().context("polling a node process")?,
            };
            if let Some(status) = exited {
                bail!("{} exited ({status}) while starting; its log ends:\n{}", spec.label, self.log_tail(i));
            }
            // The API outside the lock: the sampler reads the other nodes meanwhile.
            if let Some(api) = NodeApi::for_data_dir(&spec.dir)? {
                if let Ok(status) = api.status() {
                    if let Some(addr) = status.network.as_ref().and_then(|n| n.listen_addrs.first()) {
                        if let Some(running) = self.lock(i).as_mut() {
                            running.p2p = Some(format!("{addr}/p2p/{}", status.node.peer_id));
                            running.api = Some(api);
                            return Ok(());
                        }
                    }
                }
            }
            if start.elapsed() > timeout {
                bail!(
                    "{} did not serve its API and listen within {timeout:?} (raise --start-timeout-s?); its log ends:\n{}",
                    spec.label,
                    self.log_tail(i)
                );
            }
            pause(stop, POLL)?;
        }
    }

    /// The last lines of node `i`'s log, for error messages.
    pub fn log_tail(&self, i: usize) -> String {
        const TAIL_BYTES: u64 = 2000;
        let path = self.nodes[i].spec.dir.join("node.log");
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&path) {
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = file.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)));
            let _ = file.read_to_string(&mut text);
        }
        if text.trim().is_empty() {
            format!("(nothing in {})", path.display())
        } else {
            text
        }
    }

    /// Kills node `i` with SIGKILL (no chance to flush) and reaps it.
    pub fn kill(&self, i: usize) -> Result<()> {
        let running = self.lock(i).take();
        if let Some(mut running) = running {
            // std's kill is SIGKILL on Unix: exactly `kill -9`.
            running.child.kill().with_context(|| format!("killing {}", self.nodes[i].spec.label))?;
            running.child.wait().with_context(|| format!("reaping {}", self.nodes[i].spec.label))?;
        }
        Ok(())
    }

    /// The API of node `i`, if it is running and ready.
    pub fn api(&self, i: usize) -> Option<NodeApi> {
        self.lock(i).as_ref().and_then(|r| r.api.clone())
    }

    /// The API of node `i`, or an error naming it.
    pub fn api_of(&self, i: usize) -> Result<NodeApi> {
        self.api(i).with_context(|| format!("{} is not running", self.nodes[i].spec.label))
    }

    /// Node `i`'s dialable address (`/ip4/127.0.0.1/tcp/<port>/p2p/<peer id>`), if running.
    pub fn p2p(&self, i: usize) -> Option<String> {
        self.lock(i).as_ref().and_then(|r| r.p2p.clone())
    }

    pub fn pid(&self, i: usize) -> Option<u32> {
        self.lock(i).as_ref().map(|r| r.pid)
    }

    /// The seeds' current addresses (those running), excluding node `except`.
    pub fn seed_addrs(&self, except: usize) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| n.spec.seed && n.spec.index != except)
            .filter_map(|n| self.p2p(n.spec.index))
            .collect()
    }

    /// Kills every node and reaps it.
    pub fn stop_all(&self) {
        for i in 0..self.nodes.len() {
            let _ = self.kill(i);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_all();
        if self.keep {
            eprintln!(
                "commons-sim cluster: kept the nodes' data directories and logs in {}",
                self.root.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}
