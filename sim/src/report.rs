//! The report of one run: JSON (every figure, for tools) and a plain-text summary (for
//! people). A failing run carries its seed and the command that replays it.

use std::fmt::Write as _;

use serde::Serialize;

use crate::config::RunConfig;

/// One checker's verdict.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

/// Mean and largest of a per-node figure.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PerNode {
    pub mean: f64,
    pub max: u64,
}

impl PerNode {
    pub fn of(values: impl IntoIterator<Item = u64>) -> Self {
        let (mut n, mut sum, mut max) = (0u64, 0u128, 0u64);
        for v in values {
            n += 1;
            sum += u128::from(v);
            max = max.max(v);
        }
        Self { mean: if n == 0 { 0.0 } else { sum as f64 / n as f64 }, max }
    }
}

/// Traffic: what nodes sent, per node, over the whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Traffic {
    pub messages_sent_per_node: PerNode,
    pub bytes_sent_per_node: PerNode,
    pub messages_received_per_node: PerNode,
    pub bytes_received_per_node: PerNode,
    pub gossip_messages: u64,
    pub gossip_bytes: u64,
    pub sync_messages: u64,
    pub sync_bytes: u64,
    pub handshake_messages: u64,
    pub handshake_bytes: u64,
    pub syncs_completed: u64,
    pub syncs_aborted: u64,
    /// Sync requests answered, by kind.
    pub digest_requests: u64,
    pub reconcile_requests: u64,
    pub header_fetches: u64,
    pub body_fetches: u64,
    /// Body fetches answered with no body at all.
    pub empty_body_answers: u64,
}

/// Redundant deliveries.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Duplicates {
    /// Copies the simulated network delivered twice (lossy profiles).
    pub injected_by_network: u64,
    /// Gossip copies dropped by the nodes' duplicate caches (flooding's redundancy, plus the
    /// network's duplicates).
    pub gossip_dropped_by_cache: u64,
    pub gossip_dropped_by_cache_per_node: PerNode,
    /// Updates that reached an engine already holding them.
    pub engine_duplicates: u64,
}

/// What the fault injector did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Faults {
    pub messages_dropped: u64,
    pub messages_lost_on_closed_links: u64,
    pub partitions: u64,
    pub crashes: u64,
    pub flushes_lost_in_crashes: u64,
    pub restarts: u64,
    pub forgeries_sent: u64,
    pub equivocations: u64,
    pub flood_updates: u64,
    pub messages_silenced: u64,
    pub penalties: u64,
    pub bans: u64,
    pub gate_refusals: u64,
    pub gossip_throttled: u64,
    pub queue_full: u64,
}

/// The workload and its outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Updates {
    pub submitted: u64,
    /// Honest submissions acknowledged (their `Persist` completed).
    pub acknowledged: u64,
    pub rejected_at_submit: u64,
    /// Publications skipped because the signing node was down or not yet synced.
    pub publications_deferred: u64,
    pub headers_in_state: u64,
    pub objects: u64,
    pub forks: u64,
    pub suspended_agencies: u64,
}

/// Convergence after the last fault.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Convergence {
    /// The last fault (or scheduled publication), seconds of virtual time.
    pub last_fault_s: f64,
    /// From when on every honest node held the same digests, if they came to.
    pub converged_at_s: Option<f64>,
    pub convergence_time_s: Option<f64>,
    pub bound_s: u64,
    pub honest_nodes: usize,
    /// Admitted peers of each honest node at the end.
    pub admitted_peers_per_honest_node: PerNode,
    /// Connections at the end whose handshake never completed (the peer is neither admitted
    /// nor refused: no gossip, no sync over them).
    pub connections_pending_at_end: u64,
}

/// Throughput of the simulator itself.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Performance {
    pub wall_s: f64,
    /// CPU seconds the process spent on the run (Linux; absent elsewhere): on a shared
    /// machine the fairer measure.
    pub cpu_s: Option<f64>,
    pub simulated_s: f64,
    pub events: u64,
    /// Simulated node-seconds per wall-clock second.
    pub node_seconds_per_wall_second: f64,
    /// Simulated node-seconds per CPU second.
    pub node_seconds_per_cpu_second: Option<f64>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub config: RunConfig,
    pub catalogue: String,
    pub agencies: usize,
    pub roles: Vec<(String, &'static str)>,
    pub passed: bool,
    pub checks: Vec<Check>,
    pub convergence: Convergence,
    pub updates: Updates,
    pub traffic: Traffic,
    pub duplicates: Duplicates,
    pub faults: Faults,
    pub performance: Performance,
    /// blake3 over every event processed: two runs of one seed must print the same.
    pub trace_digest: String,
    pub replay: String,
}

impl Report {
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// The plain-text summary.
    pub fn summary(&self) -> String {
        let c = &self.config;
        let mut s = String::new();
        let verdict = if self.passed { "PASS" } else { "FAIL" };
        let _ = writeln!(
            s,
            "{verdict}  seed {}  {} nodes ({} agencies)  faults {}  {} ticks ({:.0} s simulated)",
            c.seed, c.nodes, self.agencies, c.faults, c.ticks, self.performance.simulated_s
        );
        let _ = writeln!(s, "catalogue     {}", self.catalogue);
        let hostile: Vec<String> =
            self.roles.iter().filter(|(_, r)| *r != "honest").map(|(n, r)| format!("{n}={r}")).collect();
        if !hostile.is_empty() {
            let _ = writeln!(s, "hostile       {}", hostile.join(" "));
        }
        let v = &self.convergence;
        let time = v.convergence_time_s.map_or("never".to_owned(), |t| format!("{t:.1} s"));
        let _ = writeln!(
            s,
            "convergence   {time} after the last fault at {:.1} s (bound {} s, {} honest nodes)",
            v.last_fault_s, v.bound_s, v.honest_nodes
        );
        let _ = writeln!(
            s,
            "links         {:.1} admitted peers per honest node at the end, {} connections stuck in the handshake",
            v.admitted_peers_per_honest_node.mean, v.connections_pending_at_end
        );
        let u = &self.updates;
        let _ = writeln!(
            s,
            "updates       {} submitted, {} acknowledged, {} headers in state, {} objects, {} forks, {} suspended",
            u.submitted, u.acknowledged, u.headers_in_state, u.objects, u.forks, u.suspended_agencies
        );
        let t = &self.traffic;
        let _ = writeln!(
            s,
            "per node      {:.0} messages / {:.1} KiB sent on average (max {} / {:.1} KiB)",
            t.messages_sent_per_node.mean,
            t.bytes_sent_per_node.mean / 1024.0,
            t.messages_sent_per_node.max,
            t.bytes_sent_per_node.max as f64 / 1024.0
        );
        let _ = writeln!(
            s,
            "traffic       gossip {} msgs {:.1} MiB, sync {} msgs {:.1} MiB, handshake {} msgs; {} syncs done, {} aborted",
            t.gossip_messages,
            t.gossip_bytes as f64 / 1048576.0,
            t.sync_messages,
            t.sync_bytes as f64 / 1048576.0,
            t.handshake_messages,
            t.syncs_completed,
            t.syncs_aborted
        );
        let _ = writeln!(
            s,
            "sync requests {} digest, {} reconcile, {} header fetches, {} body fetches ({} answered empty)",
            t.digest_requests, t.reconcile_requests, t.header_fetches, t.body_fetches, t.empty_body_answers
        );
        let d = &self.duplicates;
        let _ = writeln!(
            s,
            "duplicates    {} injected by the network, {} gossip copies dropped by caches ({:.0} per node), {} at engines",
            d.injected_by_network, d.gossip_dropped_by_cache, d.gossip_dropped_by_cache_per_node.mean, d.engine_duplicates
        );
        let f = &self.faults;
        let _ = writeln!(
            s,
            "faults        {} dropped, {} lost on closed links, {} partitions, {} crashes ({} flushes lost), {} restarts",
            f.messages_dropped, f.messages_lost_on_closed_links, f.partitions, f.crashes, f.flushes_lost_in_crashes, f.restarts
        );
        if f.forgeries_sent + f.equivocations + f.flood_updates + f.messages_silenced > 0 {
            let _ = writeln!(
                s,
                "hostile acts  {} forgeries, {} equivocations, {} flood updates, {} messages silenced; {} penalties, {} bans, {} throttled",
                f.forgeries_sent, f.equivocations, f.flood_updates, f.messages_silenced, f.penalties, f.bans, f.gossip_throttled
            );
        }
        let p = &self.performance;
        let _ = writeln!(
            s,
            "simulator     {} events in {:.2} s wall ({}): {:.0} node-seconds per wall second",
            p.events,
            p.wall_s,
            p.cpu_s.map_or("CPU time unknown".to_owned(), |c| format!("{c:.2} s CPU")),
            p.node_seconds_per_wall_second
        );
        for check in &self.checks {
            let mark = if check.passed { "ok  " } else { "FAIL" };
            let _ = writeln!(s, "  {mark} {:<28} {}", check.name, check.detail);
        }
        let _ = writeln!(s, "trace         {}", self.trace_digest);
        if !self.passed {
            let _ = writeln!(s, "seed {} failed; replay with:\n  {}", c.seed, self.replay);
        }
        s
    }
}
