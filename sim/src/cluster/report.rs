//! The cluster run's report: what was run, on what load, and what it measured (delivery
//! latency, convergence after each fault, memory, bandwidth), as JSON; a plain-text summary;
//! and the timeline the plot draws.

use std::fmt::Write as _;

use serde::Serialize;

/// Summary statistics of a set of values.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub count: usize,
    pub min: Option<f64>,
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

impl Stats {
    /// Nearest-rank percentiles of `values` (NaN-free; order does not matter).
    pub fn of(values: &[f64]) -> Stats {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        if sorted.is_empty() {
            return Stats::default();
        }
        let at = |q: f64| Some(sorted[((sorted.len() - 1) as f64 * q).round() as usize]);
        Stats {
            count: sorted.len(),
            min: sorted.first().copied(),
            mean: Some(sorted.iter().sum::<f64>() / sorted.len() as f64),
            p50: at(0.5),
            p95: at(0.95),
            p99: at(0.99),
            max: sorted.last().copied(),
        }
    }
}

/// The machine the run had: two cores shared with builds make figures noisy.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Machine {
    pub cores: usize,
    /// `/proc/loadavg` (1, 5, 15 minutes) when the run began, when the stream began, at the end.
    pub load_average_start: Option<[f64; 3]>,
    pub load_average_stream_start: Option<[f64; 3]>,
    pub load_average_end: Option<[f64; 3]>,
}

/// The settings of the run, as given.
#[derive(Debug, Clone, Serialize)]
pub struct RunSettings {
    pub nodes: usize,
    pub agencies: usize,
    pub seeds: usize,
    pub degree: usize,
    pub rate_per_s: f64,
    pub objects: usize,
    pub kills: usize,
    pub down_s: f64,
    pub partitions: usize,
    pub partition_size: usize,
    pub partition_s: f64,
    pub warmup_s: f64,
    pub settle_s: f64,
    pub tail_s: f64,
    pub stream_through_heals: bool,
    pub heartbeat_ms: u64,
    pub sync_interval_s: u64,
    pub cache_mb: u64,
    pub worker_threads: u64,
    pub screening: bool,
    pub seed: u64,
    pub commons: String,
    pub data_root: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CatalogueReport {
    pub source: String,
    pub objects: usize,
    /// Updates the agencies' submissions signed (estimates and metadata claims).
    pub updates: u64,
    pub submit_s: f64,
    /// From the first submission until every node held the same state.
    pub converged_s: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Delivery {
    /// Stream submissions attempted, and acknowledged (signed and durable at the origin).
    pub submitted: usize,
    pub acknowledged: usize,
    pub submit_errors: usize,
    /// A few of the submit errors, for diagnosis.
    pub submit_error_examples: Vec<String>,
    /// Acknowledged updates held by every node at the end.
    pub delivered_everywhere: usize,
    pub delivered_pct: f64,
    /// Held by a node that was killed and restarted, whose arrival time died with it: counted
    /// as delivered, not in the latency figures.
    pub held_arrival_unknown: usize,
    /// Submit-to-everywhere latency: from just before the submit request until the last node
    /// recorded the update's arrival. Every acknowledged update with known arrival times.
    pub latency_ms: Stats,
    /// The same, without the updates submitted between a fault and the convergence after it.
    pub steady_latency_ms: Stats,
}

/// One injected fault and the network's recovery.
#[derive(Debug, Clone, Serialize)]
pub struct FaultReport {
    /// `kill` (kill -9, then a restart) or `partition` (blocked through the admin API).
    pub kind: String,
    pub label: String,
    /// The killed node, or the minority side of the partition.
    pub nodes: Vec<usize>,
    /// Seconds since the stream began: the fault, the start of the heal (restart or unblock),
    /// the end of the heal commands (restarted node ready and re-dialled; every block lifted
    /// and every cut link re-dialled).
    pub at_s: f64,
    pub heal_start_s: f64,
    pub heal_done_s: f64,
    /// Time the runner took to cut the network (API calls), ms.
    pub cut_commands_ms: f64,
    /// Time the runner took to heal it (restart and dials, or unblocks and dials), ms.
    pub heal_commands_ms: f64,
    /// From the end of the heal until every node held every update acknowledged before it
    /// (from the nodes' arrival times, exact).
    pub caught_up_s: Option<f64>,
    /// From the end of the heal until every node reported the same state digests (polled;
    /// the stream is paused meanwhile unless --stream-through-heals).
    pub digests_equal_s: Option<f64>,
    pub stream_paused: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FinalConvergence {
    pub converged: bool,
    /// From the end of the stream until every node reported the same digests.
    pub after_stream_s: Option<f64>,
    pub header_digest: Option<String>,
    pub headers: Option<u64>,
}

/// Memory and traffic per node, MiB and bytes per second (spread across the nodes).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Resources {
    /// Resident memory once started and connected, empty.
    pub rss_mib_start: Stats,
    /// Resident memory with the catalogue held, no traffic.
    pub rss_mib_idle: Stats,
    /// Mean and highest resident memory of each node during the stream.
    pub rss_mib_load_mean: Stats,
    pub rss_mib_load_max: Stats,
    /// Gossip payload bytes (received and published) and sync bytes (sent and received) per
    /// second during the stream, per node, from the nodes' counters.
    pub gossip_bytes_per_s: Stats,
    pub sync_bytes_per_s: Stats,
    /// CPU seconds per second of stream, per node.
    pub cpu_share: Stats,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeReport {
    pub index: usize,
    pub label: String,
    pub agency: usize,
    pub signing: bool,
    pub seed: bool,
    pub peer_id: String,
    pub restarts: u32,
    pub rss_mib_start: Option<f64>,
    pub rss_mib_idle: Option<f64>,
    pub rss_mib_load_mean: Option<f64>,
    pub rss_mib_load_max: Option<f64>,
    /// Highest resident memory of the (last) process, from the kernel (`VmHWM`).
    pub rss_mib_peak: Option<f64>,
    pub gossip_bytes_per_s: Option<f64>,
    pub sync_bytes_per_s: Option<f64>,
    pub cpu_share: Option<f64>,
}

/// One sample of the whole cluster, for the plot.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sample {
    /// Seconds since the stream began.
    pub t_s: f64,
    pub running: usize,
    /// Nodes whose status answered.
    pub answered: usize,
    /// Distinct (header, body) digests among the nodes that answered: 1 is agreement.
    pub distinct_digests: usize,
    /// Updates the most behind node lacks compared with the most ahead.
    pub headers_spread: u64,
    pub rss_mib_total: f64,
}

/// One stream update, for the plot.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdatePoint {
    /// Seconds since the stream began, at submission.
    pub t_s: f64,
    pub agency: usize,
    /// None: not delivered everywhere (or arrival unknown).
    pub latency_ms: Option<f64>,
    pub delivered: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    pub stream_s: f64,
    pub samples: Vec<Sample>,
    pub updates: Vec<UpdatePoint>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterReport {
    /// Every acknowledged update reached every node, and the nodes converged after every
    /// fault and at the end.
    pub passed: bool,
    pub failures: Vec<String>,
    pub settings: RunSettings,
    pub machine: Machine,
    /// Seconds to start every node, and until every node was admitted by peers and meshed.
    pub started_s: f64,
    pub connected_s: f64,
    pub catalogue: CatalogueReport,
    pub delivery: Delivery,
    pub faults: Vec<FaultReport>,
    pub final_convergence: FinalConvergence,
    pub resources: Resources,
    pub nodes: Vec<NodeReport>,
    pub timeline: Timeline,
    pub wall_s: f64,
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.0}"))
}

fn secs(v: Option<f64>) -> String {
    v.map_or("never".into(), |v| format!("{v:.2} s"))
}

fn load(l: Option<[f64; 3]>) -> String {
    l.map_or("?".into(), |l| format!("{:.2}, {:.2}, {:.2}", l[0], l[1], l[2]))
}

impl ClusterReport {
    /// A plain-text summary for a terminal.
    pub fn summary(&self) -> String {
        let s = &self.settings;
        let d = &self.delivery;
        let r = &self.resources;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "cluster: {} nodes of {} agencies, {} updates/s, {} objects; {} cores, load average {} at start, {} at stream start, {} at end",
            s.nodes,
            s.agencies,
            s.rate_per_s,
            self.catalogue.objects,
            self.machine.cores,
            load(self.machine.load_average_start),
            load(self.machine.load_average_stream_start),
            load(self.machine.load_average_end)
        );
        let _ = writeln!(
            out,
            "started in {:.1} s, connected in {:.1} s; catalogue of {} updates converged in {}",
            self.started_s,
            self.connected_s,
            self.catalogue.updates,
            secs(self.catalogue.converged_s)
        );
        let _ = writeln!(
            out,
            "delivery: {} of {} acknowledged updates everywhere ({:.2} %), {} submit errors; latency p50/p95/max {} / {} / {} ms (steady state {} / {} / {} ms)",
            d.delivered_everywhere,
            d.acknowledged,
            d.delivered_pct,
            d.submit_errors,
            ms(d.latency_ms.p50),
            ms(d.latency_ms.p95),
            ms(d.latency_ms.max),
            ms(d.steady_latency_ms.p50),
            ms(d.steady_latency_ms.p95),
            ms(d.steady_latency_ms.max)
        );
        for f in &self.faults {
            let _ = writeln!(
                out,
                "fault {} at {:.1} s: healed at {:.1} s (heal commands {:.0} ms); every earlier update everywhere {} after, digests equal {} after",
                f.label,
                f.at_s,
                f.heal_done_s,
                f.heal_commands_ms,
                secs(f.caught_up_s),
                secs(f.digests_equal_s)
            );
        }
        let _ = writeln!(
            out,
            "final: {} ({} after the stream stopped)",
            if self.final_convergence.converged { "all digests equal" } else { "NOT converged" },
            secs(self.final_convergence.after_stream_s)
        );
        let _ = writeln!(
            out,
            "memory per node, MiB (mean / max): start {} / {}, idle {} / {}, under load {} / {}; gossip {} B/s, sync {} B/s per node (mean)",
            ms(r.rss_mib_start.mean),
            ms(r.rss_mib_start.max),
            ms(r.rss_mib_idle.mean),
            ms(r.rss_mib_idle.max),
            ms(r.rss_mib_load_mean.mean),
            ms(r.rss_mib_load_max.max),
            ms(r.gossip_bytes_per_s.mean),
            ms(r.sync_bytes_per_s.mean)
        );
        for f in &self.failures {
            let _ = writeln!(out, "FAILED: {f}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let s = Stats::of(&[5.0, 1.0, 3.0, 2.0, 4.0, f64::NAN]);
        assert_eq!((s.count, s.min, s.p50, s.max), (5, Some(1.0), Some(3.0), Some(5.0)));
        assert_eq!(s.mean, Some(3.0));
        assert!(Stats::of(&[]).p95.is_none());
    }
}
