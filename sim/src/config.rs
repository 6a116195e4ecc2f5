//! What one run is: the seed, the size, the fault profile and the length, and every constant
//! of the simulated world (latencies, timers, rates), each with the reason for its value.
//!
//! A run is a pure function of its [`RunConfig`] (and of the catalogue file when the real one
//! is used): the same configuration replays the same run, event for event.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Virtual time, in microseconds since the start of the run.
pub type Micros = u64;

pub const MS: Micros = 1_000;
pub const SECOND: Micros = 1_000_000;

/// One tick of the command line's `--ticks`: the unit of run length and the resolution at
/// which faults are scheduled. Messages, flushes and timers are timed to the microsecond.
pub const TICK: Micros = 100 * MS;

/// Most nodes one run simulates.
pub const MAX_NODES: usize = 200;
/// Fewest nodes: a network needs two founders.
pub const MIN_NODES: usize = 2;

/// The node's defaults (`node::config`, `node::network`), which the simulated carrier uses.
pub mod node_defaults {
    use super::{Micros, SECOND};
    /// `sync.interval_s`: every node starts an anti-entropy round this often, ±25 %.
    pub const SYNC_INTERVAL: Micros = 30 * SECOND;
    /// libp2p request-response timeout the node configures for sync and the handshake.
    pub const REQUEST_TIMEOUT: Micros = 30 * SECOND;
    /// Permanent faults before a peer is disconnected and refused for [`BAN_DURATION`].
    pub const MAX_FAULTS: u32 = 20;
    pub const BAN_DURATION: Micros = 600 * SECOND;
    /// `core::COMMAND_QUEUE`: gossip and sync requests beyond it are dropped or refused.
    pub const COMMAND_QUEUE: usize = 1024;
    /// gossipsub's duplicate cache time: a message id seen within it is dropped unseen.
    pub const SEEN_TTL: Micros = 60 * SECOND;
    /// `core::MAX_HANDSHAKE_STATEMENTS`.
    pub const MAX_HANDSHAKE_STATEMENTS: usize = 256;
}

/// Per-peer and per-author gossip rate limits (one-second windows). The node's defaults are
/// 2 000 and 1 000 a second; the simulator scales them down with its publication rates, so
/// that a flooder exceeds them at simulation scale without costing minutes of signature
/// checks. The logic (ignore the excess, never penalise, let sync deliver it) is the node's.
pub const MAX_GOSSIP_PER_PEER_PER_S: u32 = 200;
pub const MAX_GOSSIP_PER_AUTHOR_PER_S: u32 = 60;

/// Connected peers each node is configured with, about gossipsub's `mesh_n` (6).
pub const DEGREE: usize = 6;
/// One-way latency of a link, fixed when the topology is built (a spread of sites).
pub const LINK_LATENCY_MIN: Micros = 2 * MS;
pub const LINK_LATENCY_MAX: Micros = 60 * MS;
/// Time to make a write batch durable: a fixed cost plus a cost per operation (sled's
/// flush). Nothing after a `Persist` is carried out before it completes.
pub const FLUSH_BASE: Micros = 2 * MS;
pub const FLUSH_PER_OP: Micros = 5;
/// How often, after the last fault, the convergence probe compares the honest nodes.
pub const PROBE_INTERVAL: Micros = SECOND;
/// How often, during a run, one node's incremental views are compared with a rebuild.
pub const VIEW_AUDIT_INTERVAL: Micros = 20 * SECOND;
/// Mean time between an honest agency's publications (a batch of element sets each).
pub const PUBLISH_MEAN_INTERVAL: Micros = 15 * SECOND;
/// Element sets in one publication batch, at most.
pub const PUBLISH_BATCH_MAX: usize = 4;
/// Objects in the workload per honest agency (each object is tracked by one to three).
pub const OBJECTS_PER_AGENCY: usize = 12;
/// Most nodes one agency runs (a `NodeBinding` lists at most 16 peer ids).
pub const MAX_NODES_PER_AGENCY: usize = 8;

/// A fault profile: which faults the run injects during its active phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// A reliable network, honest members only: the baseline.
    None,
    /// Messages dropped (5 %), duplicated (3 %) and delayed up to 800 ms (so reordered).
    Lossy,
    /// Groups of nodes cut off from each other for 10 to 90 s, then healed.
    Partitions,
    /// Nodes crash (losing everything not persisted, a flush included) and restart 5 to
    /// 120 s later from their store.
    Crashes,
    /// Hostile members: forgers, equivocators, flooders and members that stop sending.
    Hostile,
    /// All of the above at once.
    Chaos,
}

pub const PROFILES: [Profile; 6] =
    [Profile::None, Profile::Lossy, Profile::Partitions, Profile::Crashes, Profile::Hostile, Profile::Chaos];

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::None => "none",
            Profile::Lossy => "lossy",
            Profile::Partitions => "partitions",
            Profile::Crashes => "crashes",
            Profile::Hostile => "hostile",
            Profile::Chaos => "chaos",
        }
    }
    pub fn lossy(self) -> bool {
        matches!(self, Profile::Lossy | Profile::Chaos)
    }
    pub fn partitions(self) -> bool {
        matches!(self, Profile::Partitions | Profile::Chaos)
    }
    pub fn crashes(self) -> bool {
        matches!(self, Profile::Crashes | Profile::Chaos)
    }
    pub fn hostile(self) -> bool {
        matches!(self, Profile::Hostile | Profile::Chaos)
    }
    /// Probability that a message is dropped while faults are active.
    pub fn drop_rate(self) -> f64 {
        if self.lossy() {
            0.05
        } else {
            0.0
        }
    }
    /// Probability that a message is delivered twice while faults are active.
    pub fn duplicate_rate(self) -> f64 {
        if self.lossy() {
            0.03
        } else {
            0.0
        }
    }
    /// Most extra delay of one message beyond its link's latency.
    pub fn jitter(self) -> Micros {
        if self.lossy() {
            800 * MS
        } else {
            5 * MS
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        PROFILES.iter().copied().find(|p| p.name() == text).ok_or_else(|| {
            let names: Vec<&str> = PROFILES.iter().map(|p| p.name()).collect();
            format!("unknown fault profile {text:?}: expected one of {}", names.join(", "))
        })
    }
}

/// Where agencies take their element sets from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CatalogueChoice {
    /// The real catalogue when the shared data is present, the synthetic one otherwise.
    Auto,
    /// `catalog/full-catalog-3le-2023-03-31.txt` from the shared data (an error if absent).
    Real,
    /// `orbit::synthetic::catalogue`, built in.
    Synthetic,
}

impl FromStr for CatalogueChoice {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(Self::Auto),
            "real" => Ok(Self::Real),
            "synthetic" => Ok(Self::Synthetic),
            _ => Err(format!("unknown catalogue {text:?}: expected auto, real or synthetic")),
        }
    }
}

impl fmt::Display for CatalogueChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Real => "real",
            Self::Synthetic => "synthetic",
        })
    }
}

/// A deliberate defect, for tests that show a checker catches a broken run. Never used by
/// the command line's normal runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sabotage {
    /// Nodes never start anti-entropy: gossip alone must deliver everything.
    NoAntiEntropy,
    /// The first signing node to submit acknowledges before its write is durable and crashes
    /// before the write completes (the classic "ack before fsync" bug, with bad luck).
    AckBeforeDurable,
}

impl FromStr for Sabotage {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "no-anti-entropy" => Ok(Self::NoAntiEntropy),
            "ack-before-durable" => Ok(Self::AckBeforeDurable),
            _ => Err(format!("unknown sabotage {text:?}: expected no-anti-entropy or ack-before-durable")),
        }
    }
}

impl fmt::Display for Sabotage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoAntiEntropy => "no-anti-entropy",
            Self::AckBeforeDurable => "ack-before-durable",
        })
    }
}

/// Everything that determines a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunConfig {
    pub seed: u64,
    pub nodes: usize,
    pub faults: Profile,
    /// Length of the run in ticks of [`TICK`].
    pub ticks: u64,
    pub catalogue: CatalogueChoice,
    /// How long after the last fault every honest node must agree. Faults and publications
    /// stop this long before the end of the run.
    pub bound_s: u64,
    /// The carrier's anti-entropy timer (the node's default is 30 s).
    pub sync_interval_s: u64,
    pub sabotage: Option<Sabotage>,
}

/// Fewest ticks of activity before the settle phase.
pub const MIN_ACTIVE: Micros = 10 * SECOND;

impl RunConfig {
    /// A run with the defaults for everything but the four replay parameters.
    pub fn new(seed: u64, nodes: usize, faults: Profile, ticks: u64) -> Self {
        Self {
            seed,
            nodes,
            faults,
            ticks,
            catalogue: CatalogueChoice::Auto,
            bound_s: DEFAULT_BOUND_S,
            sync_interval_s: node_defaults::SYNC_INTERVAL / SECOND,
            sabotage: None,
        }
    }

    /// Checks the configuration; the error names the offending setting.
    pub fn validate(&self) -> Result<(), String> {
        if !(MIN_NODES..=MAX_NODES).contains(&self.nodes) {
            return Err(format!("--nodes {}: must be between {MIN_NODES} and {MAX_NODES}", self.nodes));
        }
        if self.faults.hostile() && self.nodes < MIN_NODES_HOSTILE {
            return Err(format!(
                "--nodes {} with --faults {}: hostile members need at least {MIN_NODES_HOSTILE} nodes \
                 (one of each kind, and honest founders in a strict majority)",
                self.nodes, self.faults
            ));
        }
        if self.sync_interval_s == 0 || self.sync_interval_s > 3600 {
            return Err(format!("--sync-interval-s {}: must be between 1 and 3600", self.sync_interval_s));
        }
        if self.bound_s < 2 * self.sync_interval_s {
            return Err(format!(
                "--bound-s {}: must be at least two sync intervals ({} s)",
                self.bound_s,
                2 * self.sync_interval_s
            ));
        }
        let needed = (self.bound_s * SECOND + MIN_ACTIVE).div_ceil(TICK);
        if self.ticks < needed {
            return Err(format!(
                "--ticks {}: a run needs at least {needed} ticks of {} ms (10 s of activity, then the \
                 {} s convergence bound)",
                self.ticks,
                TICK / MS,
                self.bound_s
            ));
        }
        if self.ticks > MAX_TICKS {
            return Err(format!("--ticks {}: at most {MAX_TICKS} (a simulated day)", self.ticks));
        }
        Ok(())
    }

    pub fn end(&self) -> Micros {
        self.ticks * TICK
    }
    /// Faults and publications happen before this time; the rest is the settle phase.
    pub fn active_end(&self) -> Micros {
        self.end() - self.bound_s * SECOND
    }
    pub fn sync_interval(&self) -> Micros {
        self.sync_interval_s * SECOND
    }

    /// The command line that replays this run exactly.
    pub fn replay_command(&self, catalogue: CatalogueChoice) -> String {
        let mut command = format!(
            "cargo run --release -p commons-sim -- run --seed {} --nodes {} --faults {} --ticks {} --catalogue {}",
            self.seed, self.nodes, self.faults, self.ticks, catalogue
        );
        if self.bound_s != DEFAULT_BOUND_S {
            command.push_str(&format!(" --bound-s {}", self.bound_s));
        }
        if self.sync_interval_s != node_defaults::SYNC_INTERVAL / SECOND {
            command.push_str(&format!(" --sync-interval-s {}", self.sync_interval_s));
        }
        if let Some(s) = self.sabotage {
            command.push_str(&format!(" --sabotage {s}"));
        }
        command
    }
}

/// The default convergence bound: after the last fault, each node re-dials within one sync
/// interval, and knowledge spreads one hop of the topology per interval at worst; a random
/// graph of 200 nodes and degree 6 has a diameter of about 5, and a request to a peer that
/// vanished takes a request timeout to fail. 8 intervals of 30 s cover that with margin.
pub const DEFAULT_BOUND_S: u64 = 240;
/// Longest run: a simulated day.
pub const MAX_TICKS: u64 = 86_400 * SECOND / TICK;
/// Fewest nodes for the hostile profiles: one node of each of the four hostile kinds, and
/// honest founders in a strict majority.
pub const MIN_NODES_HOSTILE: usize = 13;
