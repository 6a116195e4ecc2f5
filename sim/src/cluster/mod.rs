//! The real cluster runner (`commons-sim cluster`, DESIGN.md §9): N real `commons node run`
//! processes on 127.0.0.1, driven only through the `commons` binary and each node's local
//! HTTP API (this crate never links the node).
//!
//! A run, in order:
//! 1. **Set up** ([`nodes`]): a data directory and keys per node (`commons init`); node `i`
//!    belongs to agency `i % A`, nodes `0..A` are the agencies' signing nodes and the rest
//!    relays; one genesis with every agency a founder listing all of its nodes.
//! 2. **Start**: the seeds (the first few nodes) one after another, then every other node at
//!    once, bootstrapping from the seeds; each listens on port 0 and the runner reads its
//!    address from the status API. Each node then dials a few random others (`--degree`)
//!    through the admin API, so that the gossip mesh is a random graph, not a star.
//! 3. **Catalogue**: each agency's signing node submits its share of a real catalogue (the
//!    shared data's 2023-03-31 catalogue, or `orbit::synthetic` when absent), epochs moved
//!    to an hour ago; the run waits until every node holds the same state, then measures
//!    memory at idle.
//! 4. **Stream**: each agency submits updated element sets of its objects (the catalogue's
//!    set moved along its orbit by the time elapsed) at its share of `--rate`; the update id
//!    of each is read back from the object's history. Meanwhile a sampler reads every
//!    node's status and `/proc` once a second.
//! 5. **Faults**, during the stream: `kill -9` of a node and its restart after `--down-s`;
//!    partitions of `--partition-size` nodes from the rest for `--partition-s`, made by the
//!    minority side refusing every peer of the other side (`POST /v1/admin/block`) and
//!    healed by lifting the refusals and re-dialling the links that were cut. After each
//!    heal the stream pauses (unless `--stream-through-heals`) until every node reports the
//!    same digests.
//! 6. **Measure**: the arrival time of every stream update at every node (`POST
//!    /v1/arrivals`; a node's arrival times are read just before it is killed, as they do
//!    not survive a restart) gives submit-to-everywhere latency, delivery, and for each
//!    fault the time until every node held everything acknowledged before the heal.
//!
//! The [`nodes::Cluster`] guard kills every node and removes the data directories (unless
//! `--keep`) however the run ends: success, error, panic or Ctrl-C.

pub mod api;
pub mod nodes;
pub mod procfs;
pub mod report;
pub mod svg;
pub mod wait;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use orbit::ElementSet;
use protocol::time::Epoch;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde::Serialize;

use api::{NodeApi, Status};
use nodes::{parallel, Cluster, NodeSettings};
use report::{
    CatalogueReport, ClusterReport, Delivery, FaultReport, FinalConvergence, Machine, NodeReport, Resources,
    RunSettings, Sample, Stats, Timeline, UpdatePoint,
};
use sim::CatalogueChoice;
use wait::{pause, pause_until, wait_for};

/// Most nodes one run starts: far above what one machine holds, a guard against typos.
pub const MAX_NODES: usize = 1000;
/// Most updates per second the stream is asked for.
pub const MAX_RATE_PER_S: f64 = 1000.0;
/// Element sets per submit request: the node's own limit (`node::api::SUBMIT_BATCH`).
const SUBMIT_BATCH: usize = 2000;
/// Update ids per arrivals request: a bounded request body.
const ARRIVALS_BATCH: usize = 5000;
/// Nodes polled for their arrival times of updates they lack, at most, when checking
/// whether they hold them after all (a restart loses arrival times, not updates).
const MAX_HOLD_CHECKS: usize = 5000;
/// How often convergence (equal digests everywhere) is polled.
const CONVERGENCE_POLL: Duration = Duration::from_millis(200);
/// The stream's epochs: the catalogue is moved so that its newest epoch lies this far in the
/// past (no node finds an epoch in its future), and revisions move forward from there.
const CATALOGUE_AGE_US: i64 = 3_600_000_000;
/// Submit errors kept as examples in the report.
const ERROR_EXAMPLES: usize = 5;

/// Everything a cluster run is asked to do.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub nodes: usize,
    pub agencies: usize,
    /// Nodes every other node bootstraps from.
    pub seeds: usize,
    /// Random peers each node dials besides the seeds.
    pub degree: usize,
    /// Stream updates per second, all agencies together.
    pub rate_per_s: f64,
    /// Objects of the catalogue published before the stream (None: all of it).
    pub objects: Option<usize>,
    pub catalogue: CatalogueChoice,
    pub kills: usize,
    pub down: Duration,
    pub partitions: usize,
    /// Nodes on the minority side of each partition (None: 30 % of the nodes).
    pub partition_size: Option<usize>,
    pub partition: Duration,
    /// Stream before the first fault, after each fault's convergence, and after the last.
    pub warmup: Duration,
    pub settle: Duration,
    pub tail: Duration,
    /// Quiet time with the catalogue held before memory at idle is read.
    pub idle: Duration,
    pub stream_through_heals: bool,
    pub start_timeout: Duration,
    pub catalogue_timeout: Duration,
    pub converge_timeout: Duration,
    pub sample_every: Duration,
    pub node: NodeSettings,
    pub seed: u64,
    pub commons: PathBuf,
    /// Parent of the run's directory (default: the system's temporary directory).
    pub dir: Option<PathBuf>,
    pub keep: bool,
    /// Print progress on standard error.
    pub progress: bool,
}

impl ClusterConfig {
    /// A small, quick run: defaults for everything but the size.
    pub fn new(nodes: usize, agencies: usize, commons: PathBuf) -> ClusterConfig {
        ClusterConfig {
            nodes,
            agencies,
            seeds: 3,
            degree: 4,
            rate_per_s: 10.0,
            objects: Some(3000),
            catalogue: CatalogueChoice::Auto,
            kills: 1,
            down: Duration::from_secs(5),
            partitions: 1,
            partition_size: None,
            partition: Duration::from_secs(15),
            warmup: Duration::from_secs(20),
            settle: Duration::from_secs(15),
            tail: Duration::from_secs(10),
            idle: Duration::from_secs(5),
            stream_through_heals: false,
            start_timeout: Duration::from_secs(120),
            catalogue_timeout: Duration::from_secs(900),
            converge_timeout: Duration::from_secs(120),
            sample_every: Duration::from_secs(1),
            node: NodeSettings {
                heartbeat_ms: 200,
                sync_interval_s: 5,
                cache_mb: 8,
                worker_threads: 1,
                screening: false,
                log_filter: "warn".into(),
            },
            seed: 1,
            commons,
            dir: None,
            keep: false,
            progress: false,
        }
    }

    /// The minority side's size.
    pub fn partition_size(&self) -> usize {
        self.partition_size.unwrap_or(((self.nodes as f64) * 0.3).round() as usize).max(1)
    }

    /// Checks the settings; errors name the option.
    pub fn validate(&self) -> Result<()> {
        if !(2..=MAX_NODES).contains(&self.nodes) {
            bail!("--nodes {}: a cluster has 2 to {MAX_NODES} nodes", self.nodes);
        }
        if self.agencies < 2 || self.agencies > self.nodes {
            bail!(
                "--agencies {}: a genesis needs at least 2 founding agencies, each with a node (at most --nodes {})",
                self.agencies,
                self.nodes
            );
        }
        if self.seeds == 0 || self.seeds > self.nodes {
            bail!("--seeds {}: between 1 and --nodes {}", self.seeds, self.nodes);
        }
        if !(self.rate_per_s.is_finite() && self.rate_per_s > 0.0 && self.rate_per_s <= MAX_RATE_PER_S) {
            bail!("--rate {}: updates per second within (0, {MAX_RATE_PER_S}]", self.rate_per_s);
        }
        if self.objects == Some(0) {
            bail!("--objects 0: publish at least one object (or `all`)");
        }
        if self.partitions > 0 && self.partition_size() >= self.nodes {
            bail!(
                "--partition-size {}: the minority side must leave at least one node on the other side (--nodes {})",
                self.partition_size(),
                self.nodes
            );
        }
        if self.sample_every < Duration::from_millis(50) {
            bail!("--sample-ms {}: at least 50", self.sample_every.as_millis());
        }
        Ok(())
    }
}

/// Microseconds since 1970 (the clock the nodes stamp arrivals with).
fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// A uniform index below `n` (`n > 0`).
fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

fn shuffle<T>(rng: &mut ChaCha8Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i + 1);
        items.swap(i, j);
    }
}

/// An element set as `POST /v1/submit` takes it.
#[derive(Debug, Serialize)]
struct WireSet<'a> {
    estimate: &'a protocol::records::OrbitEstimate,
    name: &'a Option<String>,
    cospar_id: &'a Option<String>,
}

impl<'a> WireSet<'a> {
    fn of(set: &'a ElementSet) -> Self {
        WireSet { estimate: &set.estimate, name: &set.name, cospar_id: &set.cospar_id }
    }
}

/// One acknowledged stream update.
#[derive(Debug, Clone)]
struct StreamUpdate {
    agency: usize,
    update_id: String,
    submitted_us: i64,
    acked_us: i64,
    /// Seconds since the stream began, at submission.
    t_s: f64,
}

/// One node in one sample.
#[derive(Debug, Clone)]
struct NodeSample {
    pid: u32,
    status: Option<Status>,
    rss_kib: Option<u64>,
    cpu_ticks: Option<u64>,
}

#[derive(Debug, Clone)]
struct RawSample {
    t_s: f64,
    nodes: Vec<Option<NodeSample>>,
}

/// What the stream threads, the sampler and the schedule share.
#[derive(Debug, Default)]
struct Shared {
    updates: Mutex<Vec<StreamUpdate>>,
    submitted: AtomicUsize,
    errors: Mutex<(usize, Vec<String>)>,
    paused: AtomicBool,
    stream_done: AtomicBool,
    sampler_done: AtomicBool,
    samples: Mutex<Vec<RawSample>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn error(&self, message: String) {
        let mut errors = lock(&self.errors);
        errors.0 += 1;
        if errors.1.len() < ERROR_EXAMPLES {
            errors.1.push(message);
        }
    }
}

/// A fault as it happened.
#[derive(Debug, Clone)]
struct FaultRecord {
    kind: &'static str,
    label: String,
    nodes: Vec<usize>,
    at: Instant,
    at_us: i64,
    cut_done: Instant,
    heal_start: Instant,
    heal_done: Instant,
    heal_done_us: i64,
    digests_equal: Option<Instant>,
    stream_paused: bool,
}

struct Progress {
    enabled: bool,
    start: Instant,
}

impl Progress {
    fn say(&self, what: &str) {
        if self.enabled {
            let load = procfs::load_average().map_or(String::new(), |l| format!(", load {:.2}", l[0]));
            eprintln!("[{:7.1} s{load}] {what}", self.start.elapsed().as_secs_f64());
        }
    }
}

/// The status of every running node (None where not running, or where the API failed).
fn statuses(cluster: &Cluster) -> Vec<Option<Result<Status>>> {
    parallel(cluster.nodes.len(), |i| Ok(cluster.api(i).map(|api| api.status()))).unwrap_or_default()
}

/// Polls until every node runs and reports the same header and body digests with no body
/// missing (and at least `min_headers` headers). `Ok(None)` after `timeout`.
fn wait_converged(
    cluster: &Cluster,
    min_headers: u64,
    timeout: Duration,
    stop: &AtomicBool,
) -> Result<Option<(Instant, String, u64)>> {
    let start = Instant::now();
    loop {
        let all = statuses(cluster);
        let mut digests = BTreeSet::new();
        let mut ok = all.len() == cluster.nodes.len();
        let mut headers = 0;
        for status in &all {
            match status {
                Some(Ok(s)) if s.core.missing_bodies == 0 && s.core.headers >= min_headers => {
                    digests.insert((s.core.header_digest.clone(), s.core.body_digest.clone()));
                    headers = s.core.headers;
                }
                _ => ok = false,
            }
        }
        if ok && digests.len() == 1 {
            let digest = digests.into_iter().next().map(|d| d.0).unwrap_or_default();
            return Ok(Some((Instant::now(), digest, headers)));
        }
        if start.elapsed() > timeout {
            return Ok(None);
        }
        pause(stop, CONVERGENCE_POLL)?;
    }
}

/// Runs a cluster and reports. `stop` (Ctrl-C) interrupts it; every node is stopped and the
/// data removed (unless `keep`) however it ends.
pub fn run(config: &ClusterConfig, stop: &AtomicBool) -> Result<ClusterReport> {
    config.validate()?;
    let wall = Instant::now();
    let progress = Progress { enabled: config.progress, start: wall };
    let mut machine =
        Machine { cores: procfs::cores(), load_average_start: procfs::load_average(), ..Machine::default() };
    let parent = config.dir.clone().unwrap_or_else(std::env::temp_dir);
    let root = parent.join(format!("commons-cluster-{}-{}", std::process::id(), now_us()));
    progress.say(&format!("creating {} data directories and keys in {}", config.nodes, root.display()));
    let cluster = Cluster::create(
        root,
        config.keep,
        config.commons.clone(),
        config.node.clone(),
        config.nodes,
        config.agencies,
        config.seeds,
    )?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let n = config.nodes;

    // ---- start: the seeds one by one, then every other node at once.
    progress.say(&format!("starting {} seeds, then {} nodes", config.seeds, n - config.seeds));
    for s in 0..config.seeds {
        cluster.spawn(s, &cluster.seed_addrs(s))?;
        cluster.wait_ready(s, config.start_timeout, stop)?;
    }
    let seeds = cluster.seed_addrs(usize::MAX);
    for i in config.seeds..n {
        cluster.spawn(i, &seeds)?;
    }
    parallel(n, |i| cluster.wait_ready(i, config.start_timeout, stop))?;
    let started_s = wall.elapsed().as_secs_f64();

    // ---- topology: bootstrap links to the seeds, and `degree` random links per node.
    let mut edges: BTreeSet<(usize, usize)> = BTreeSet::new();
    for i in 0..n {
        for s in 0..config.seeds.min(n) {
            if s != i && !(i < config.seeds && s > i) {
                edges.insert((i, s));
            }
        }
    }
    let mut random_links: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, links) in random_links.iter_mut().enumerate() {
        let mut others: Vec<usize> = (0..n).filter(|&j| j != i).collect();
        shuffle(&mut rng, &mut others);
        for j in others {
            if links.len() >= config.degree {
                break;
            }
            if !edges.contains(&(i, j)) && !edges.contains(&(j, i)) {
                edges.insert((i, j));
                links.push(j);
            }
        }
    }
    parallel(n, |i| {
        let api = cluster.api_of(i)?;
        for &j in &random_links[i] {
            let addr =
                cluster.p2p(j).with_context(|| format!("{} has no address", cluster.nodes[j].spec.label))?;
            api.dial(&addr)?;
        }
        Ok(())
    })?;
    let want_admitted = 2.min(n as u64 - 1);
    wait_for(
        "every node admitted by its peers, in the gossip mesh, and every signing node allowed to sign",
        config.start_timeout,
        Duration::from_millis(250),
        stop,
        || {
            let all = statuses(&cluster);
            let ready = all.iter().enumerate().all(|(i, s)| match s {
                Some(Ok(s)) => {
                    let net = s.network.clone().unwrap_or_default();
                    net.admitted >= want_admitted
                        && net.mesh_size >= 1
                        && (!cluster.nodes[i].spec.signing || s.core.may_sign)
                }
                _ => false,
            });
            Ok(ready.then_some(()))
        },
    )?;
    let connected_s = wall.elapsed().as_secs_f64();
    let agency_ids: Vec<serde_json::Value> = (0..config.agencies)
        .map(|a| cluster.api_of(a)?.status().map(|s| s.core.agency))
        .collect::<Result<_>>()?;
    let rss_start: Vec<Option<f64>> = rss_mib_all(&cluster);
    progress.say(&format!("{n} nodes running and connected ({} links)", edges.len()));

    // ---- the catalogue: each agency publishes its share; every node converges.
    let catalogue = sim::workload::load(config.catalogue)?;
    let take = config.objects.unwrap_or(usize::MAX).min(catalogue.sets.len());
    let mut sets: Vec<ElementSet> = catalogue.sets.iter().take(take).cloned().collect();
    let newest = sets.iter().map(|s| s.estimate.epoch.0).max().unwrap_or(0);
    let shift = now_us() - CATALOGUE_AGE_US - newest;
    for s in &mut sets {
        s.estimate.epoch = Epoch(s.estimate.epoch.0.saturating_add(shift));
    }
    let shares: Vec<Vec<ElementSet>> = (0..config.agencies)
        .map(|a| sets.iter().skip(a).step_by(config.agencies).cloned().collect())
        .collect();
    progress
        .say(&format!("publishing {take} objects of {} ({} agencies)", catalogue.source, config.agencies));
    let catalogue_start = Instant::now();
    let signed = parallel(config.agencies, |a| {
        let api = cluster.api_of(a)?;
        let mut updates = 0;
        for chunk in shares[a].chunks(SUBMIT_BATCH) {
            let wire: Vec<WireSet<'_>> = chunk.iter().map(WireSet::of).collect();
            let summary = api
                .submit(&wire)
                .with_context(|| format!("agency {a} submitting its share of the catalogue"))?;
            updates += summary.accepted + summary.superseded + summary.metadata_updates;
        }
        Ok(updates)
    })?;
    let catalogue_updates: u64 = signed.iter().sum();
    let submit_s = catalogue_start.elapsed().as_secs_f64();
    progress.say(&format!(
        "{catalogue_updates} updates signed in {submit_s:.1} s; waiting for every node to hold them"
    ));
    let converged = wait_converged(&cluster, catalogue_updates, config.catalogue_timeout, stop)?;
    let Some((catalogue_converged_at, _, _)) = converged else {
        bail!(
            "the nodes did not converge on the catalogue ({catalogue_updates} updates) within {:?} (--catalogue-timeout-s)",
            config.catalogue_timeout
        );
    };
    let catalogue_report = CatalogueReport {
        source: catalogue.source.clone(),
        objects: take,
        updates: catalogue_updates,
        submit_s,
        converged_s: Some(catalogue_converged_at.duration_since(catalogue_start).as_secs_f64()),
    };
    progress.say(&format!(
        "catalogue held everywhere after {:.1} s; {:.0} s quiet for memory at idle",
        catalogue_converged_at.duration_since(catalogue_start).as_secs_f64(),
        config.idle.as_secs_f64()
    ));
    pause(stop, config.idle)?;
    let rss_idle = rss_mib_all(&cluster);

    // ---- the stream, the sampler, and the faults.
    machine.load_average_stream_start = procfs::load_average();
    let shared = Shared::default();
    let t0 = Instant::now();
    let t0_us = now_us();
    let mut arrivals: Vec<HashMap<String, i64>> = vec![HashMap::new(); n];
    let interval = Duration::from_secs_f64(config.agencies as f64 / config.rate_per_s);
    progress.say(&format!("stream of {} updates/s begins", config.rate_per_s));
    let outcome = std::thread::scope(|scope| -> Result<(Vec<FaultRecord>, Instant, FinalConvergence)> {
        scope.spawn(|| sampler(&cluster, &shared, t0, config.sample_every, stop));
        for a in 0..config.agencies {
            let (shared, cluster, share, agency_id) = (&shared, &cluster, &shares[a], &agency_ids[a]);
            let first = t0 + interval.mul_f64(a as f64 / config.agencies as f64);
            scope.spawn(move || {
                stream(a, cluster, shared, share, agency_id, t0, t0_us, first, interval, stop)
            });
        }
        let schedule = faults(config, &cluster, &shared, &edges, &mut arrivals, &mut rng, &progress, stop);
        shared.stream_done.store(true, Ordering::Relaxed);
        let stream_end = Instant::now();
        let finished = schedule.and_then(|faults| {
            progress.say("stream stopped; waiting for every node to agree");
            let last = wait_converged(&cluster, 0, config.converge_timeout, stop)?;
            let final_convergence = FinalConvergence {
                converged: last.is_some(),
                after_stream_s: last.as_ref().map(|(at, _, _)| at.duration_since(stream_end).as_secs_f64()),
                header_digest: last.as_ref().map(|(_, d, _)| d.clone()),
                headers: last.as_ref().map(|(_, _, h)| *h),
            };
            Ok((faults, stream_end, final_convergence))
        });
        shared.sampler_done.store(true, Ordering::Relaxed);
        finished
    });
    let (fault_records, stream_end, final_convergence) = outcome?;
    machine.load_average_end = procfs::load_average();

    // ---- arrival times of every stream update at every node.
    let updates = std::mem::take(&mut *lock(&shared.updates));
    let ids: Vec<String> = updates.iter().map(|u| u.update_id.clone()).collect();
    progress.say(&format!("collecting the arrival times of {} updates at {n} nodes", ids.len()));
    let fresh = parallel(n, |i| {
        let api = cluster.api_of(i)?;
        let mut all = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ARRIVALS_BATCH) {
            all.extend(api.arrivals(chunk)?);
        }
        Ok(all)
    })?;
    for (i, times) in fresh.into_iter().enumerate() {
        for (id, t) in ids.iter().zip(times) {
            if let Some(t) = t {
                arrivals[i].entry(id.clone()).or_insert(t);
            }
        }
    }
    // Where a node has no arrival time, it may still hold the update: arrival times do not
    // survive a restart. Ask (a bounded number of times).
    let mut held_unknown: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut checks = 0;
    for (k, id) in ids.iter().enumerate() {
        for (i, known) in arrivals.iter().enumerate() {
            if !known.contains_key(id) && checks < MAX_HOLD_CHECKS {
                checks += 1;
                if cluster.api_of(i)?.holds(id)? {
                    held_unknown.insert((i, k));
                }
            }
        }
    }

    // ---- the report.
    let t_of = |at: Instant| at.saturating_duration_since(t0).as_secs_f64();
    // When each update was everywhere (None: not delivered everywhere), and whether a node
    // holds it with its arrival time lost in a restart (then its latency is unknown).
    let mut everywhere_at: Vec<Option<i64>> = Vec::with_capacity(updates.len());
    let mut latency_known: Vec<bool> = Vec::with_capacity(updates.len());
    for (k, u) in updates.iter().enumerate() {
        let mut latest = Some(u.acked_us.min(u.submitted_us));
        let mut unknown = false;
        for (i, known) in arrivals.iter().enumerate() {
            match known.get(&u.update_id) {
                Some(&t) => latest = latest.map(|l| l.max(t)),
                None if held_unknown.contains(&(i, k)) => unknown = true,
                None => latest = None,
            }
        }
        everywhere_at.push(latest);
        latency_known.push(!unknown);
    }
    let faults: Vec<FaultReport> = fault_records
        .iter()
        .map(|f| {
            // Every update acknowledged before the heal ended, held everywhere: when?
            let caught_up = updates
                .iter()
                .zip(&everywhere_at)
                .filter(|(u, _)| u.acked_us <= f.heal_done_us)
                .try_fold(f.heal_done_us, |acc, (_, at)| at.map(|t| acc.max(t)))
                .map(|t| (t - f.heal_done_us) as f64 / 1e6);
            FaultReport {
                kind: f.kind.into(),
                label: f.label.clone(),
                nodes: f.nodes.clone(),
                at_s: t_of(f.at),
                heal_start_s: t_of(f.heal_start),
                heal_done_s: t_of(f.heal_done),
                cut_commands_ms: f.cut_done.duration_since(f.at).as_secs_f64() * 1000.0,
                heal_commands_ms: f.heal_done.duration_since(f.heal_start).as_secs_f64() * 1000.0,
                caught_up_s: caught_up,
                digests_equal_s: f.digests_equal.map(|at| at.duration_since(f.heal_done).as_secs_f64()),
                stream_paused: f.stream_paused,
            }
        })
        .collect();
    // An update is affected by a fault when it was not yet everywhere as the fault began and
    // was submitted before the network had recovered from it.
    let recovery_us: Vec<(i64, i64)> = fault_records
        .iter()
        .zip(&faults)
        .map(|(f, r)| {
            let after_s =
                r.digests_equal_s.unwrap_or(0.0).max(r.caught_up_s.unwrap_or(f64::INFINITY).min(1e6));
            (f.at_us, f.heal_done_us + (after_s * 1e6) as i64)
        })
        .collect();
    let mut latencies = Vec::new();
    let mut steady = Vec::new();
    let mut points = Vec::with_capacity(updates.len());
    for ((u, at), known) in updates.iter().zip(&everywhere_at).zip(&latency_known) {
        let latency_ms = at.filter(|_| *known).map(|t| (t - u.submitted_us).max(0) as f64 / 1000.0);
        if let (Some(ms), Some(t)) = (latency_ms, at) {
            latencies.push(ms);
            if !recovery_us.iter().any(|&(from, to)| u.submitted_us <= to && *t >= from) {
                steady.push(ms);
            }
        }
        points.push(UpdatePoint { t_s: u.t_s, agency: u.agency, latency_ms, delivered: at.is_some() });
    }
    let delivered = everywhere_at.iter().filter(|a| a.is_some()).count();
    let submit_errors = lock(&shared.errors).clone();
    let acknowledged = updates.len();
    let delivery = Delivery {
        submitted: shared.submitted.load(Ordering::Relaxed),
        acknowledged,
        submit_errors: submit_errors.0,
        submit_error_examples: submit_errors.1,
        delivered_everywhere: delivered,
        delivered_pct: if acknowledged == 0 { 0.0 } else { 100.0 * delivered as f64 / acknowledged as f64 },
        held_arrival_unknown: held_unknown.len(),
        latency_ms: Stats::of(&latencies),
        steady_latency_ms: Stats::of(&steady),
    };
    let samples = std::mem::take(&mut *lock(&shared.samples));
    let stream_s = stream_end.duration_since(t0).as_secs_f64();
    let (resources, node_reports) = resources(&cluster, &samples, stream_s, &rss_start, &rss_idle);
    let timeline = Timeline { stream_s, samples: samples.iter().map(summarise).collect(), updates: points };

    let mut failures = Vec::new();
    if delivery.acknowledged == 0 {
        failures
            .push(format!("no stream update was acknowledged ({} submit errors)", delivery.submit_errors));
    }
    if delivery.delivered_everywhere < delivery.acknowledged {
        failures.push(format!(
            "{} of {} acknowledged updates did not reach every node",
            delivery.acknowledged - delivery.delivered_everywhere,
            delivery.acknowledged
        ));
    }
    for f in &faults {
        if f.caught_up_s.is_none() {
            failures.push(format!("after {}: not every earlier update reached every node", f.label));
        }
        if f.stream_paused && f.digests_equal_s.is_none() {
            failures.push(format!(
                "after {}: the digests were not all equal within {:?} (--converge-timeout-s)",
                f.label, config.converge_timeout
            ));
        }
    }
    if !final_convergence.converged {
        failures.push(format!(
            "the nodes did not agree within {:?} of the end of the stream",
            config.converge_timeout
        ));
    }
    let s = config;
    Ok(ClusterReport {
        passed: failures.is_empty(),
        failures,
        settings: RunSettings {
            nodes: s.nodes,
            agencies: s.agencies,
            seeds: s.seeds,
            degree: s.degree,
            rate_per_s: s.rate_per_s,
            objects: take,
            kills: s.kills,
            down_s: s.down.as_secs_f64(),
            partitions: s.partitions,
            partition_size: s.partition_size(),
            partition_s: s.partition.as_secs_f64(),
            warmup_s: s.warmup.as_secs_f64(),
            settle_s: s.settle.as_secs_f64(),
            tail_s: s.tail.as_secs_f64(),
            stream_through_heals: s.stream_through_heals,
            heartbeat_ms: s.node.heartbeat_ms,
            sync_interval_s: s.node.sync_interval_s,
            cache_mb: s.node.cache_mb,
            worker_threads: s.node.worker_threads,
            screening: s.node.screening,
            seed: s.seed,
            commons: s.commons.display().to_string(),
            data_root: cluster.root.display().to_string(),
        },
        machine,
        started_s,
        connected_s,
        catalogue: catalogue_report,
        delivery,
        faults,
        final_convergence,
        resources,
        nodes: node_reports,
        timeline,
        wall_s: wall.elapsed().as_secs_f64(),
    })
}

/// Resident memory of every running node, MiB.
fn rss_mib_all(cluster: &Cluster) -> Vec<Option<f64>> {
    (0..cluster.nodes.len())
        .map(|i| cluster.pid(i).and_then(procfs::rss_kib).map(|kib| kib as f64 / 1024.0))
        .collect()
}

/// One agency's stream: an updated element set of one of its objects every `interval`.
#[allow(clippy::too_many_arguments)] // the stream's whole context, borrowed from the run
fn stream(
    agency: usize,
    cluster: &Cluster,
    shared: &Shared,
    share: &[ElementSet],
    agency_id: &serde_json::Value,
    t0: Instant,
    t0_us: i64,
    first: Instant,
    interval: Duration,
    stop: &AtomicBool,
) {
    let source = format!("commons-sim cluster, agency {agency:02}");
    let mut next = first;
    let mut k = 0usize;
    loop {
        loop {
            if shared.stream_done.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed) {
                return;
            }
            let now = Instant::now();
            if now >= next {
                break;
            }
            std::thread::sleep((next - now).min(Duration::from_millis(20)));
        }
        next += interval;
        // A slow submit does not make a burst later: the schedule restarts from now.
        if next + Duration::from_secs(1) < Instant::now() {
            next = Instant::now() + interval;
        }
        if shared.paused.load(Ordering::Relaxed) || share.is_empty() {
            continue;
        }
        let set = &share[k % share.len()];
        k += 1;
        let submitted = Instant::now();
        let submitted_us = now_us();
        let elapsed_us = (submitted_us - t0_us).max(1);
        let revised = ElementSet {
            estimate: sim::workload::revision(set, elapsed_us, 0.0, &source),
            name: set.name.clone(),
            cospar_id: set.cospar_id.clone(),
        };
        shared.submitted.fetch_add(1, Ordering::Relaxed);
        match submit_one(cluster, agency, &revised, agency_id) {
            Ok((update_id, acked_us)) => lock(&shared.updates).push(StreamUpdate {
                agency,
                update_id,
                submitted_us,
                acked_us,
                t_s: submitted.duration_since(t0).as_secs_f64(),
            }),
            Err(e) => shared.error(format!("agency {agency:02}: {e:#}")),
        }
    }
}

/// Submits one element set at agency `agency`'s signing node and finds the update it signed.
fn submit_one(
    cluster: &Cluster,
    agency: usize,
    set: &ElementSet,
    agency_id: &serde_json::Value,
) -> Result<(String, i64)> {
    let api = cluster.api_of(agency)?;
    let summary = api.submit(&[WireSet::of(set)])?;
    let acked_us = now_us();
    if !summary.rejected.is_empty() || summary.accepted + summary.superseded == 0 {
        bail!("the submission was not signed: {}", serde_json::to_string(&summary).unwrap_or_default());
    }
    let epoch = serde_json::to_value(set.estimate.epoch).context("encoding an epoch")?;
    let object = set.estimate.object.to_string();
    let history = api.history(&object)?;
    let entry = history
        .iter()
        .rev()
        .find(|h| h.author == *agency_id && h.epoch == epoch)
        .with_context(|| format!("object {object}: the update just signed is not in its history"))?;
    Ok((entry.update_id.clone(), acked_us))
}

/// Samples every node's status and `/proc` every `every` until told to stop.
fn sampler(cluster: &Cluster, shared: &Shared, t0: Instant, every: Duration, stop: &AtomicBool) {
    let mut next = Instant::now();
    while !shared.sampler_done.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
        let t_s = Instant::now().duration_since(t0).as_secs_f64();
        let nodes = parallel(cluster.nodes.len(), |i| {
            Ok(cluster.pid(i).map(|pid| NodeSample {
                pid,
                status: cluster.api(i).and_then(|api| api.status().ok()),
                rss_kib: procfs::rss_kib(pid),
                cpu_ticks: procfs::cpu_ticks(pid),
            }))
        })
        .unwrap_or_default();
        lock(&shared.samples).push(RawSample { t_s, nodes });
        next += every;
        let now = Instant::now();
        if next < now {
            next = now; // sampling is slower than asked: sample back to back
        }
        while Instant::now() < next
            && !shared.sampler_done.load(Ordering::Relaxed)
            && !stop.load(Ordering::Relaxed)
        {
            std::thread::sleep(Duration::from_millis(20).min(next.saturating_duration_since(Instant::now())));
        }
    }
}

fn summarise(raw: &RawSample) -> Sample {
    let running = raw.nodes.iter().filter(|n| n.is_some()).count();
    let statuses: Vec<&Status> = raw.nodes.iter().flatten().filter_map(|n| n.status.as_ref()).collect();
    let digests: BTreeSet<(&str, &str)> =
        statuses.iter().map(|s| (s.core.header_digest.as_str(), s.core.body_digest.as_str())).collect();
    let max = statuses.iter().map(|s| s.core.headers).max().unwrap_or(0);
    let min = statuses.iter().map(|s| s.core.headers).min().unwrap_or(0);
    Sample {
        t_s: raw.t_s,
        running,
        answered: statuses.len(),
        distinct_digests: digests.len(),
        headers_spread: max - min,
        rss_mib_total: raw.nodes.iter().flatten().filter_map(|n| n.rss_kib).sum::<u64>() as f64 / 1024.0,
    }
}

/// Per-node memory, traffic and CPU from the samples taken during the stream.
fn resources(
    cluster: &Cluster,
    samples: &[RawSample],
    stream_s: f64,
    rss_start: &[Option<f64>],
    rss_idle: &[Option<f64>],
) -> (Resources, Vec<NodeReport>) {
    let ticks_per_s = procfs::ticks_per_s();
    let during: Vec<&RawSample> = samples.iter().filter(|s| s.t_s <= stream_s + 1e-9).collect();
    let span_s = match (during.first(), during.last()) {
        (Some(a), Some(b)) if b.t_s > a.t_s => b.t_s - a.t_s,
        _ => 0.0,
    };
    let mut reports = Vec::new();
    for (i, node) in cluster.nodes.iter().enumerate() {
        let spec = &node.spec;
        let rss: Vec<f64> = during
            .iter()
            .filter_map(|s| s.nodes[i].as_ref().and_then(|n| n.rss_kib))
            .map(|kib| kib as f64 / 1024.0)
            .collect();
        // Counters restart from zero when the process does: sum the increases per process.
        let (mut gossip, mut sync, mut cpu) = (0u64, 0u64, 0u64);
        let mut last: Option<(u32, u64, u64, u64)> = None;
        for s in &during {
            let Some(n) = s.nodes[i].as_ref() else { continue };
            let Some(status) = n.status.as_ref() else { continue };
            let net = status.network.clone().unwrap_or_default();
            let now = (n.pid, net.gossip_bytes, net.sync_bytes, n.cpu_ticks.unwrap_or(0));
            if let Some(prev) = last {
                if prev.0 == now.0 {
                    gossip += now.1.saturating_sub(prev.1);
                    sync += now.2.saturating_sub(prev.2);
                    cpu += now.3.saturating_sub(prev.3);
                } else {
                    gossip += now.1;
                    sync += now.2;
                    cpu += now.3;
                }
            }
            last = Some(now);
        }
        let per_s = |v: u64| (span_s > 0.0).then(|| v as f64 / span_s);
        reports.push(NodeReport {
            index: i,
            label: spec.label.clone(),
            agency: spec.agency,
            signing: spec.signing,
            seed: spec.seed,
            peer_id: spec.peer_id.clone(),
            restarts: node.restarts.load(Ordering::Relaxed),
            rss_mib_start: rss_start[i],
            rss_mib_idle: rss_idle[i],
            rss_mib_load_mean: Stats::of(&rss).mean,
            rss_mib_load_max: Stats::of(&rss).max,
            rss_mib_peak: cluster.pid(i).and_then(procfs::peak_rss_kib).map(|kib| kib as f64 / 1024.0),
            gossip_bytes_per_s: per_s(gossip),
            sync_bytes_per_s: per_s(sync),
            cpu_share: per_s(cpu).map(|t| t / ticks_per_s),
        });
    }
    let collect =
        |f: &dyn Fn(&NodeReport) -> Option<f64>| Stats::of(&reports.iter().filter_map(f).collect::<Vec<_>>());
    let resources = Resources {
        rss_mib_start: collect(&|r| r.rss_mib_start),
        rss_mib_idle: collect(&|r| r.rss_mib_idle),
        rss_mib_load_mean: collect(&|r| r.rss_mib_load_mean),
        rss_mib_load_max: collect(&|r| r.rss_mib_load_max),
        gossip_bytes_per_s: collect(&|r| r.gossip_bytes_per_s),
        sync_bytes_per_s: collect(&|r| r.sync_bytes_per_s),
        cpu_share: collect(&|r| r.cpu_share),
    };
    (resources, reports)
}

/// Sends `calls(i)` (a list of API calls) for each node `i` of `origins`, in parallel.
fn on_each(
    cluster: &Cluster,
    origins: &[usize],
    call: impl Fn(&NodeApi, usize) -> Result<()> + Sync,
) -> Result<()> {
    parallel(origins.len(), |k| {
        let i = origins[k];
        call(&cluster.api_of(i)?, i)
    })
    .map(|_| ())
}

/// The fault schedule: warm-up, then kills and partitions in turn, each healed and waited
/// for, then the tail.
#[allow(clippy::too_many_arguments)] // the run's whole context, borrowed
fn faults(
    config: &ClusterConfig,
    cluster: &Cluster,
    shared: &Shared,
    edges: &BTreeSet<(usize, usize)>,
    arrivals: &mut [HashMap<String, i64>],
    rng: &mut ChaCha8Rng,
    progress: &Progress,
    stop: &AtomicBool,
) -> Result<Vec<FaultRecord>> {
    let n = config.nodes;
    let specs: Vec<&nodes::NodeSpec> = cluster.nodes.iter().map(|node| &node.spec).collect();
    // Kill relays that are not seeds first (the agencies keep publishing, the seeds keep
    // their addresses), then relays, then signing nodes that are not seeds, then any but 0.
    let mut victims: Vec<usize> = Vec::new();
    let preferences: [fn(&nodes::NodeSpec) -> bool; 4] =
        [|s| !s.signing && !s.seed, |s| !s.signing, |s| !s.seed, |s| s.index != 0];
    for wanted in preferences {
        let mut found: Vec<usize> = specs.iter().filter(|s| wanted(s)).map(|s| s.index).collect();
        if !found.is_empty() {
            shuffle(rng, &mut found);
            victims = found;
            break;
        }
    }
    let mut schedule = Vec::new();
    for k in 0..config.kills.max(config.partitions) {
        if k < config.kills {
            schedule.push(("kill", k));
        }
        if k < config.partitions {
            schedule.push(("partition", k));
        }
    }
    let mut records = Vec::new();
    pause(stop, config.warmup)?;
    for (kind, k) in schedule {
        let record = if kind == "kill" {
            let victim = victims[k % victims.len()];
            let label = format!("kill -9 {}", specs[victim].label);
            progress.say(&format!("{label}, restart in {:.0} s", config.down.as_secs_f64()));
            // Its arrival times die with it: read them first.
            let ids: Vec<String> = lock(&shared.updates).iter().map(|u| u.update_id.clone()).collect();
            let api = cluster.api_of(victim)?;
            for chunk in ids.chunks(ARRIVALS_BATCH) {
                for (id, t) in chunk.iter().zip(api.arrivals(chunk)?) {
                    if let Some(t) = t {
                        arrivals[victim].entry(id.clone()).or_insert(t);
                    }
                }
            }
            let (at, at_us) = (Instant::now(), now_us());
            cluster.kill(victim)?;
            let cut_done = Instant::now();
            pause_until(stop, at + config.down)?;
            let heal_start = Instant::now();
            cluster.spawn(victim, &cluster.seed_addrs(victim))?;
            cluster.nodes[victim].restarts.fetch_add(1, Ordering::Relaxed);
            cluster.wait_ready(victim, config.start_timeout, stop)?;
            // Its links again: it dials its peers, and those that dialled it dial its new address.
            let links: Vec<(usize, usize)> =
                edges.iter().copied().filter(|&(a, b)| a == victim || b == victim).collect();
            let origins: Vec<usize> =
                links.iter().map(|&(a, _)| a).collect::<BTreeSet<_>>().into_iter().collect();
            on_each(cluster, &origins, |api, a| {
                for &(_, b) in links.iter().filter(|&&(x, _)| x == a) {
                    if let Some(addr) = cluster.p2p(b) {
                        api.dial(&addr)?;
                    }
                }
                Ok(())
            })?;
            FaultRecord {
                kind: "kill",
                label,
                nodes: vec![victim],
                at,
                at_us,
                cut_done,
                heal_start,
                heal_done: Instant::now(),
                heal_done_us: now_us(),
                digests_equal: None,
                stream_paused: false,
            }
        } else {
            // The minority: agency 0's signing node (so that both sides publish) and others
            // that sign for no agency, as far as they go.
            let size = config.partition_size();
            let mut others: Vec<usize> = (1..n).filter(|&i| !specs[i].signing).collect();
            shuffle(rng, &mut others);
            let mut rest: Vec<usize> = (1..n).filter(|&i| specs[i].signing).collect();
            shuffle(rng, &mut rest);
            others.extend(rest);
            let mut minority: Vec<usize> = std::iter::once(0).chain(others).take(size).collect();
            minority.sort_unstable();
            let inside: BTreeSet<usize> = minority.iter().copied().collect();
            let outside: Vec<usize> = (0..n).filter(|i| !inside.contains(i)).collect();
            let label = format!("partition {} | {}", minority.len(), outside.len());
            progress.say(&format!("{label} for {:.0} s", config.partition.as_secs_f64()));
            let peers: Vec<String> = outside.iter().map(|&j| specs[j].peer_id.clone()).collect();
            let (at, at_us) = (Instant::now(), now_us());
            on_each(cluster, &minority, |api, _| api.block(&peers, true))?;
            let cut_done = Instant::now();
            pause_until(stop, at + config.partition)?;
            let heal_start = Instant::now();
            on_each(cluster, &minority, |api, _| api.block(&peers, false))?;
            // Re-dial every link that crossed the cut, from the side that made it.
            let cut: Vec<(usize, usize)> =
                edges.iter().copied().filter(|(a, b)| inside.contains(a) != inside.contains(b)).collect();
            let origins: Vec<usize> =
                cut.iter().map(|&(a, _)| a).collect::<BTreeSet<_>>().into_iter().collect();
            on_each(cluster, &origins, |api, a| {
                let addrs: Vec<String> =
                    cut.iter().filter(|&&(x, _)| x == a).filter_map(|&(_, b)| cluster.p2p(b)).collect();
                api.dial_all(&addrs)
            })?;
            FaultRecord {
                kind: "partition",
                label,
                nodes: minority,
                at,
                at_us,
                cut_done,
                heal_start,
                heal_done: Instant::now(),
                heal_done_us: now_us(),
                digests_equal: None,
                stream_paused: false,
            }
        };
        let mut record = record;
        record.stream_paused = !config.stream_through_heals;
        if record.stream_paused {
            shared.paused.store(true, Ordering::Relaxed);
            let converged = wait_converged(cluster, 0, config.converge_timeout, stop);
            shared.paused.store(false, Ordering::Relaxed);
            record.digests_equal = converged?.map(|(at, _, _)| at);
            progress.say(&match record.digests_equal {
                Some(at) => format!(
                    "all digests equal {:.2} s after the heal",
                    at.duration_since(record.heal_done).as_secs_f64()
                ),
                None => "the digests did not become equal".to_owned(),
            });
        }
        records.push(record);
        pause(stop, config.settle)?;
    }
    pause(stop, config.tail)?;
    Ok(records)
}
