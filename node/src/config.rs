//! Node configuration: a TOML file read into serde structs, then validated once into typed
//! values (durations as `Duration`, addresses as `SocketAddr` and `Multiaddr`). Every setting
//! is documented in `deploy/config.example.toml`, which a test parses.
//!
//! Nothing here affects the replicated state: parameters that do (K, k, the shared-orbit
//! window) live in the genesis, never in a node's config.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use libp2p::Multiaddr;
use serde::{Deserialize, Serialize};

/// Errors in a config file, naming the file and the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config {path}: setting `{setting}`: {why}")]
    Invalid { path: PathBuf, setting: &'static str, why: String },
}

/// Most threads of the async runtime a config may ask for.
pub const MAX_WORKER_THREADS: usize = 256;

/// The file as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigFile {
    /// Where keys, genesis and the store live; relative paths are relative to the config file.
    pub data_dir: Option<PathBuf>,
    /// Threads of the async runtime (network, API): 0 is one per core. Many nodes sharing one
    /// machine run best with 1 (fewer threads waking each other).
    pub worker_threads: usize,
    pub api: ApiSection,
    pub network: NetworkSection,
    pub gossip: GossipSection,
    pub sync: SyncSection,
    pub store: StoreSection,
    pub screening: ScreeningSection,
    pub metrics: MetricsSection,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSection {
    /// Loopback address of the local HTTP/JSON API (port 0 picks a free port).
    pub listen: String,
    /// Largest request body accepted, bytes.
    pub max_request_bytes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSection {
    /// Whether the node joins the peer-to-peer network at all.
    pub enabled: bool,
    /// libp2p listen addresses.
    pub listen: Vec<String>,
    /// Peers to dial at start (multiaddrs ending in /p2p/<peer id>).
    pub bootstrap: Vec<String>,
    /// Accept read-only observers that are not members (they receive, never publish).
    pub allow_observers: bool,
    /// Most connections in total.
    pub max_connections: u32,
    /// Most connections per peer.
    pub max_connections_per_peer: u32,
    /// Peers discovered through Kademlia are dialled while fewer than this are connected.
    pub target_peers: u32,
    /// Gossiped updates per second one peer may send; more are ignored (they arrive by sync).
    pub max_updates_per_peer_per_s: u32,
    /// Gossiped updates per second one author's updates may arrive at; more are ignored.
    pub max_updates_per_author_per_s: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GossipSection {
    pub heartbeat_ms: u64,
    pub mesh_n: usize,
    pub mesh_n_low: usize,
    pub mesh_n_high: usize,
    pub max_message_bytes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSection {
    /// Seconds between anti-entropy rounds (±25 % jitter); each round syncs with the two
    /// members synced with longest ago, and a peer is also synced when it is admitted.
    pub interval_s: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// sled page cache, MiB.
    pub cache_mb: u64,
    /// Updates held aside (authors not yet admitted) at most.
    pub max_pending: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScreeningSection {
    pub enabled: bool,
    /// Seconds between full re-screens (changes are re-screened as they arrive).
    pub interval_s: u64,
    pub window_h: f64,
    pub threshold_km: f64,
    /// Combined hard-body radius (m) for the collision probability of every pair, unless
    /// `hbr_table` is set.
    pub hard_body_radius_m: f64,
    /// A NASA CARA hard-body-radius table (CSV with `ObjectID` and `HBR` columns): each pair's
    /// radius is the sum of both objects' (pairs with an object it lacks get no probability).
    pub hbr_table: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    pub enabled: bool,
    /// Loopback address of the Prometheus endpoint.
    pub listen: String,
}

impl Default for ApiSection {
    fn default() -> Self {
        Self { listen: "127.0.0.1:7300".into(), max_request_bytes: 64 * 1024 * 1024 }
    }
}
impl Default for NetworkSection {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: vec!["/ip4/0.0.0.0/tcp/7400".into(), "/ip4/0.0.0.0/udp/7400/quic-v1".into()],
            bootstrap: Vec::new(),
            allow_observers: false,
            max_connections: 256,
            max_connections_per_peer: 2,
            target_peers: 16,
            max_updates_per_peer_per_s: 2000,
            max_updates_per_author_per_s: 1000,
        }
    }
}
impl Default for GossipSection {
    fn default() -> Self {
        Self { heartbeat_ms: 700, mesh_n: 6, mesh_n_low: 4, mesh_n_high: 12, max_message_bytes: 64 * 1024 }
    }
}
impl Default for SyncSection {
    fn default() -> Self {
        Self { interval_s: 30 }
    }
}
impl Default for StoreSection {
    fn default() -> Self {
        Self { cache_mb: 32, max_pending: 200_000 }
    }
}
impl Default for ScreeningSection {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_s: 3600,
            window_h: 24.0,
            threshold_km: 5.0,
            hard_body_radius_m: 10.0,
            hbr_table: None,
        }
    }
}
impl Default for MetricsSection {
    fn default() -> Self {
        Self { enabled: false, listen: "127.0.0.1:9300".into() }
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: Option<PathBuf>,
    pub data_dir: PathBuf,
    /// Threads of the async runtime; `None`: one per core.
    pub worker_threads: Option<usize>,
    pub api_listen: SocketAddr,
    pub max_request_bytes: usize,
    pub network_enabled: bool,
    pub listen: Vec<Multiaddr>,
    pub bootstrap: Vec<Multiaddr>,
    pub allow_observers: bool,
    pub max_connections: u32,
    pub max_connections_per_peer: u32,
    pub target_peers: u32,
    pub max_updates_per_peer_per_s: u32,
    pub max_updates_per_author_per_s: u32,
    pub heartbeat: Duration,
    pub mesh_n: usize,
    pub mesh_n_low: usize,
    pub mesh_n_high: usize,
    pub max_message_bytes: usize,
    pub sync_interval: Duration,
    pub store_cache_bytes: u64,
    pub max_pending: usize,
    pub screening: ScreeningSection,
    pub metrics_enabled: bool,
    pub metrics_listen: SocketAddr,
}

impl Config {
    /// Screening settings when screening is on (reading the HBR table if one is configured),
    /// with the time between full screenings.
    pub fn screening_settings(
        &self,
    ) -> anyhow::Result<Option<(crate::screening::service::ScreeningSettings, std::time::Duration)>> {
        use anyhow::Context as _;
        let s = &self.screening;
        if !s.enabled {
            return Ok(None);
        }
        let hbr_table = match &s.hbr_table {
            Some(path) => Some(std::sync::Arc::new(
                crate::screening::hbr::HbrTable::read(path)
                    .with_context(|| format!("screening.hbr_table: reading {}", path.display()))?,
            )),
            None => None,
        };
        let settings = crate::screening::service::ScreeningSettings {
            window_s: (s.window_h * 3600.0).round() as u32,
            threshold_km: s.threshold_km,
            hard_body_radius_m: hbr_table.is_none().then_some(s.hard_body_radius_m),
            hbr_table,
        };
        Ok(Some((settings, std::time::Duration::from_secs(s.interval_s.max(60)))))
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Self::from_toml(&text, Some(path))
    }

    /// Parses and validates TOML text; `path` names it in errors and anchors relative paths.
    pub fn from_toml(text: &str, path: Option<&Path>) -> Result<Config, ConfigError> {
        let shown = path.map(Path::to_owned).unwrap_or_else(|| PathBuf::from("<config>"));
        let file: ConfigFile = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: shown.clone(), message: e.to_string() })?;
        file.validate(path)
    }
}

impl ConfigFile {
    /// Validates into typed values.
    pub fn validate(self, path: Option<&Path>) -> Result<Config, ConfigError> {
        let shown = path.map(Path::to_owned).unwrap_or_else(|| PathBuf::from("<config>"));
        let invalid =
            |setting: &'static str, why: String| ConfigError::Invalid { path: shown.clone(), setting, why };
        let base = path.and_then(Path::parent).map(Path::to_owned).unwrap_or_else(|| PathBuf::from("."));
        let data_dir = match self.data_dir {
            Some(d) if d.is_absolute() => d,
            Some(d) => base.join(d),
            None => base.clone(),
        };
        let api_listen: SocketAddr = self
            .api
            .listen
            .parse()
            .map_err(|e| invalid("api.listen", format!("{:?}: {e}", self.api.listen)))?;
        if !api_listen.ip().is_loopback() {
            return Err(invalid(
                "api.listen",
                "the local API listens on loopback only (127.0.0.1 or ::1)".into(),
            ));
        }
        let parse_addrs = |setting: &'static str, list: &[String]| -> Result<Vec<Multiaddr>, ConfigError> {
            list.iter()
                .map(|a| a.parse::<Multiaddr>().map_err(|e| invalid(setting, format!("{a:?}: {e}"))))
                .collect()
        };
        let listen = parse_addrs("network.listen", &self.network.listen)?;
        let bootstrap = parse_addrs("network.bootstrap", &self.network.bootstrap)?;
        if self.network.target_peers == 0 || self.network.target_peers > self.network.max_connections {
            return Err(invalid(
                "network.target_peers",
                "must be at least 1 and at most max_connections".into(),
            ));
        }
        let g = &self.gossip;
        if !(g.mesh_n_low <= g.mesh_n && g.mesh_n <= g.mesh_n_high) || g.mesh_n_low == 0 {
            return Err(invalid("gossip.mesh_n", "needs 0 < mesh_n_low <= mesh_n <= mesh_n_high".into()));
        }
        if g.heartbeat_ms == 0 || g.heartbeat_ms > 60_000 {
            return Err(invalid("gossip.heartbeat_ms", "must be between 1 and 60 000".into()));
        }
        if g.max_message_bytes < protocol::codec::MAX_UPDATE_BYTES {
            return Err(invalid(
                "gossip.max_message_bytes",
                format!("must be at least one update ({} bytes)", protocol::codec::MAX_UPDATE_BYTES),
            ));
        }
        if self.sync.interval_s == 0 {
            return Err(invalid("sync.interval_s", "must be at least 1".into()));
        }
        if self.worker_threads > MAX_WORKER_THREADS {
            return Err(invalid(
                "worker_threads",
                format!("must be at most {MAX_WORKER_THREADS} (0: one per core)"),
            ));
        }
        let s = &self.screening;
        if !(s.window_h > 0.0 && s.window_h <= 24.0 * 7.0) {
            return Err(invalid("screening.window_h", "must be within (0, 168] hours".into()));
        }
        if !(s.threshold_km > 0.0 && s.threshold_km <= 1000.0) {
            return Err(invalid("screening.threshold_km", "must be within (0, 1000] km".into()));
        }
        if !(s.hard_body_radius_m > 0.0 && s.hard_body_radius_m < 1000.0) {
            return Err(invalid("screening.hard_body_radius_m", "must be within (0, 1000) m".into()));
        }
        let metrics_listen: SocketAddr = self
            .metrics
            .listen
            .parse()
            .map_err(|e| invalid("metrics.listen", format!("{:?}: {e}", self.metrics.listen)))?;
        if !metrics_listen.ip().is_loopback() {
            return Err(invalid("metrics.listen", "the metrics endpoint listens on loopback only".into()));
        }
        Ok(Config {
            path: path.map(Path::to_owned),
            data_dir,
            worker_threads: (self.worker_threads > 0).then_some(self.worker_threads),
            api_listen,
            max_request_bytes: self.api.max_request_bytes,
            network_enabled: self.network.enabled,
            listen,
            bootstrap,
            allow_observers: self.network.allow_observers,
            max_connections: self.network.max_connections,
            max_connections_per_peer: self.network.max_connections_per_peer,
            target_peers: self.network.target_peers,
            max_updates_per_peer_per_s: self.network.max_updates_per_peer_per_s,
            max_updates_per_author_per_s: self.network.max_updates_per_author_per_s,
            heartbeat: Duration::from_millis(g.heartbeat_ms),
            mesh_n: g.mesh_n,
            mesh_n_low: g.mesh_n_low,
            mesh_n_high: g.mesh_n_high,
            max_message_bytes: g.max_message_bytes,
            sync_interval: Duration::from_secs(self.sync.interval_s),
            store_cache_bytes: self.store.cache_mb.saturating_mul(1024 * 1024),
            max_pending: self.store.max_pending,
            screening: self.screening,
            metrics_enabled: self.metrics.enabled,
            metrics_listen,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_config_in_deploy_parses() {
        let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
        let mut n = 0;
        for entry in std::fs::read_dir(&deploy).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
            }
        }
        assert!(n >= 1, "deploy/ holds at least one example config");
    }

    #[test]
    fn a_bad_setting_is_named() {
        let err = Config::from_toml("[gossip]\nmesh_n = 50\n", None).unwrap_err().to_string();
        assert!(err.contains("gossip.mesh_n"), "{err}");
        let err = Config::from_toml("[api]\nlisten = \"0.0.0.0:7300\"\n", None).unwrap_err().to_string();
        assert!(err.contains("loopback"), "{err}");
        let err = Config::from_toml("[nework]\n", None).unwrap_err().to_string();
        assert!(err.contains("nework"), "{err}");
    }
}
