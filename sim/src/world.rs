//! The simulated world: nodes, links, one event queue in virtual time, one seeded RNG, the
//! fault injector, the agencies' workload and the checkers.
//!
//! Determinism: every random choice is drawn from one ChaCha8 stream seeded by the run's
//! seed, in event order; events at the same instant run in the order they were scheduled;
//! every map iterated is ordered (`BTreeMap`); nothing reads a clock except the wall-clock
//! measurement of the simulator's own speed, which never feeds back into the run. The
//! trace digest (blake3 over every event processed) shows that a seed replays exactly.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::rc::Rc;
use std::time::Instant;

use anyhow::Result;
use protocol::engine::Peer;
use protocol::envelope::{Kind, Signer};
use protocol::genesis::{Founder, Genesis};
use protocol::ids::{AgencyId, NetworkId, UpdateId};
use protocol::records::{Record, Retract};
use protocol::time::Epoch;
use protocol::views::Views;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::check;
use crate::config::{
    Micros, RunConfig, Sabotage, DEGREE, LINK_LATENCY_MAX, LINK_LATENCY_MIN, MAX_NODES_PER_AGENCY, MS,
    OBJECTS_PER_AGENCY, PROBE_INTERVAL, PUBLISH_BATCH_MAX, PUBLISH_MEAN_INTERVAL, SECOND,
    VIEW_AUDIT_INTERVAL,
};
use crate::hostile;
use crate::node::{Class, Ctx, Message, NodeIdx, NodeSpec, Out, Role, SimNode, Wake};
use crate::report::{Check, Convergence, Duplicates, Faults, PerNode, Performance, Report, Traffic, Updates};
use crate::workload::{self, Catalogue};

/// Updates one flood burst submits (well above the per-author gossip rate).
const FLOOD_BURST: usize = 150;
/// Mean time between a forger's forgeries, an equivocator's forks, a flooder's bursts.
const FORGE_MEAN_INTERVAL: Micros = 2 * SECOND;
const EQUIVOCATE_MEAN_INTERVAL: Micros = 20 * SECOND;
const FLOOD_MEAN_INTERVAL: Micros = 40 * SECOND;
/// Mean time between crashes, per 100 nodes; how long a crashed node stays down.
const CRASH_MEAN_INTERVAL_PER_100: Micros = 4 * SECOND;
const DOWNTIME_MIN: Micros = 5 * SECOND;
const DOWNTIME_MAX: Micros = 120 * SECOND;
/// Mean time between partitions; how long one lasts.
const PARTITION_MEAN_INTERVAL: Micros = 60 * SECOND;
const PARTITION_MIN: Micros = 10 * SECOND;
const PARTITION_MAX: Micros = 90 * SECOND;
/// How long a node takes to notice that a partitioned connection is dead (ping timeout).
const DEAD_CONNECTION_NOTICE_MAX: Micros = 20 * SECOND;
/// Chance that a publication batch also retracts one of the agency's earlier estimates.
const RETRACT_CHANCE: f64 = 0.05;
/// Chance that an agency claims a different name for an object than the catalogue's.
const ALT_NAME_CHANCE: f64 = 0.2;

#[derive(Debug)]
enum Event {
    Deliver {
        from: NodeIdx,
        to: NodeIdx,
        generation: u64,
        msg: Message,
    },
    Connect {
        a: NodeIdx,
        b: NodeIdx,
    },
    /// One side learns that its connection (of this generation) closed.
    Closed {
        node: NodeIdx,
        peer: NodeIdx,
        generation: u64,
    },
    Wake {
        node: NodeIdx,
        incarnation: u32,
        wake: Wake,
    },
    SyncTimer {
        node: NodeIdx,
        incarnation: u32,
    },
    Publish {
        agency: usize,
    },
    Crash,
    Restart {
        node: NodeIdx,
    },
    Partition,
    Heal,
    Hostile {
        node: NodeIdx,
    },
    GoSilent {
        node: NodeIdx,
    },
    ActiveEnd,
    Probe,
    ViewAudit,
}

impl Event {
    /// A stable code per kind, for the trace digest.
    fn code(&self) -> (u8, u64) {
        match self {
            Event::Deliver { to, .. } => (0, *to as u64),
            Event::Connect { a, .. } => (1, *a as u64),
            Event::Closed { node, .. } => (2, *node as u64),
            Event::Wake { node, .. } => (3, *node as u64),
            Event::SyncTimer { node, .. } => (4, *node as u64),
            Event::Publish { agency } => (5, *agency as u64),
            Event::Crash => (6, 0),
            Event::Restart { node } => (7, *node as u64),
            Event::Partition => (8, 0),
            Event::Heal => (9, 0),
            Event::Hostile { node } => (10, *node as u64),
            Event::GoSilent { node } => (11, *node as u64),
            Event::ActiveEnd => (12, 0),
            Event::Probe => (13, 0),
            Event::ViewAudit => (14, 0),
        }
    }
}

struct Scheduled {
    at: Micros,
    order: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

/// A configured link between two nodes and its current connection.
#[derive(Debug, Clone, Copy)]
struct Link {
    latency: Micros,
    up: bool,
    dialing: bool,
    /// Incremented at every new connection: messages of an older one are lost.
    generation: u64,
}

/// An agency: its key, its nodes, and what it publishes.
#[derive(Debug)]
struct Agency {
    name: String,
    signer: Signer,
    nodes: Vec<NodeIdx>,
    role: Role,
    /// Indices into the catalogue of the objects it tracks.
    objects: Vec<usize>,
    claimed: BTreeSet<usize>,
    /// Its acknowledged estimates, for retractions.
    acked_estimates: Vec<UpdateId>,
    offset_deg: f64,
    /// Seq of the equivocator's next fork.
    next_fork_seq: u64,
}

/// One simulated network and its run.
pub struct World {
    cfg: RunConfig,
    rng: ChaCha8Rng,
    now: Micros,
    t0: Epoch,
    queue: BinaryHeap<Reverse<Scheduled>>,
    order: u64,
    genesis: Genesis,
    network: NetworkId,
    nodes: Vec<SimNode>,
    links: BTreeMap<(NodeIdx, NodeIdx), Link>,
    /// Partition group of each node while a partition is on.
    groups: Option<Vec<u32>>,
    agencies: Vec<Agency>,
    catalogue: Catalogue,
    faults_active: bool,
    last_fault: Micros,
    silent: BTreeSet<NodeIdx>,
    /// Acknowledged honest submissions: id, submitting node and when.
    acked: BTreeMap<UpdateId, (NodeIdx, Micros)>,
    forged: BTreeSet<UpdateId>,
    converged_since: Option<Micros>,
    invariant_failures: Vec<String>,
    view_audit_failures: Vec<String>,
    view_audits: u64,
    trace: blake3::Hasher,
    events: u64,
    updates: Updates,
    faults: Faults,
    injected_duplicates: u64,
    traffic_by_class: [(u64, u64); 3],
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World").field("seed", &self.cfg.seed).field("now", &self.now).finish()
    }
}

/// Runs one simulation to its end and checks it.
pub fn run(cfg: RunConfig) -> Result<Report> {
    cfg.validate().map_err(anyhow::Error::msg)?;
    let catalogue = workload::load(cfg.catalogue)?;
    let wall = Instant::now();
    let cpu = cpu_seconds();
    let mut world = World::new(cfg, catalogue);
    world.run_to_end();
    let cpu = cpu.zip(cpu_seconds()).map(|(before, after)| after - before);
    Ok(world.report(wall.elapsed().as_secs_f64(), cpu))
}

/// CPU seconds this process has used, user and system, from `/proc/self/stat` (Linux).
/// Measures the simulator's speed only; it never feeds back into a run.
fn cpu_seconds() -> Option<f64> {
    /// Clock ticks per second of `/proc` times (`USER_HZ`, 100 on every Linux ABI).
    const USER_HZ: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses; utime and
    // stime are the 14th and 15th fields of the line, the 12th and 13th after it.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / USER_HZ)
}

fn seed_bytes(run_seed: u64, label: &str, index: usize) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"orbital-commons/sim/v1/");
    hasher.update(label.as_bytes());
    hasher.update(&run_seed.to_le_bytes());
    hasher.update(&(index as u64).to_le_bytes());
    *hasher.finalize().as_bytes()
}

impl World {
    fn new(cfg: RunConfig, catalogue: Catalogue) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        // Who is who: hostile members (one of each kind per 50 nodes), then honest agencies
        // of at most MAX_NODES_PER_AGENCY nodes each, enough of them that honest founders
        // are a strict majority (so that they can suspend an equivocator).
        let mut hostile_roles = Vec::new();
        if cfg.faults.hostile() {
            for _ in 0..(cfg.nodes / 50).max(1) {
                hostile_roles.extend([Role::Forger, Role::Equivocator, Role::Flooder, Role::Silent]);
            }
        }
        let honest_nodes = cfg.nodes - hostile_roles.len();
        let honest_agencies = honest_nodes
            .div_ceil(MAX_NODES_PER_AGENCY)
            .max(2 * hostile_roles.len() + 1)
            .max(2)
            .min(honest_nodes);
        // Slots: (agency, role), shuffled onto node indices.
        let mut slots: Vec<(usize, Role)> =
            (0..honest_nodes).map(|i| (i % honest_agencies, Role::Honest)).collect();
        slots.extend(hostile_roles.iter().enumerate().map(|(i, r)| (honest_agencies + i, *r)));
        shuffle(&mut rng, &mut slots);
        let n_agencies = honest_agencies + hostile_roles.len();
        let names: Vec<String> = (0..cfg.nodes).map(|i| format!("n{i:03}")).collect();
        let mut agencies: Vec<Agency> = (0..n_agencies)
            .map(|a| {
                let role =
                    if a < honest_agencies { Role::Honest } else { hostile_roles[a - honest_agencies] };
                let name = if role == Role::Honest {
                    format!("agency-{a:02}")
                } else {
                    format!("{}-{a:02}", role_name(role))
                };
                Agency {
                    name,
                    signer: Signer::from_seed(seed_bytes(cfg.seed, "agency", a)),
                    nodes: Vec::new(),
                    role,
                    objects: Vec::new(),
                    claimed: BTreeSet::new(),
                    acked_estimates: Vec::new(),
                    offset_deg: a as f64 * 0.001,
                    next_fork_seq: 0,
                }
            })
            .collect();
        for (idx, (agency, _)) in slots.iter().enumerate() {
            agencies[*agency].nodes.push(idx);
        }
        let genesis = Genesis {
            network_name: format!("sim-{}", cfg.seed),
            founders: agencies
                .iter()
                .map(|a| Founder {
                    agency: a.signer.agency(),
                    name: a.name.clone(),
                    node_peer_ids: a.nodes.iter().map(|&n| names[n].as_bytes().to_vec()).collect(),
                })
                .collect(),
            endorsement_threshold: Genesis::default_threshold(n_agencies),
            estimates_per_source: protocol::genesis::DEFAULT_ESTIMATES_PER_SOURCE,
            shared_orbit_window_s: protocol::genesis::DEFAULT_SHARED_ORBIT_WINDOW_S,
            max_epoch_ahead_s: protocol::genesis::DEFAULT_MAX_EPOCH_AHEAD_S,
        }
        .seal()
        .expect("the simulated genesis is valid: distinct keys, at least two founders, short names");
        let network = genesis.network_id();

        // Topology: a ring over the honest nodes (so they stay connected whatever the hostile
        // ones do), then random links up to DEGREE per node.
        let honest: Vec<NodeIdx> = (0..cfg.nodes).filter(|&i| slots[i].1 == Role::Honest).collect();
        let mut neighbours: Vec<BTreeSet<NodeIdx>> = vec![BTreeSet::new(); cfg.nodes];
        let mut ring = honest.clone();
        shuffle(&mut rng, &mut ring);
        if ring.len() > 1 {
            for i in 0..ring.len() {
                let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
                if a != b {
                    neighbours[a].insert(b);
                    neighbours[b].insert(a);
                }
            }
        }
        let degree = DEGREE.min(cfg.nodes - 1);
        for a in 0..cfg.nodes {
            let mut attempts = 0;
            while neighbours[a].len() < degree && attempts < 50 * degree {
                attempts += 1;
                let b = below(&mut rng, cfg.nodes as u64) as usize;
                // Hostile nodes link only to honest ones.
                let hostile_pair = slots[a].1.is_hostile() && slots[b].1.is_hostile();
                if b != a && !hostile_pair {
                    neighbours[a].insert(b);
                    neighbours[b].insert(a);
                }
            }
        }
        let mut links = BTreeMap::new();
        for (a, set) in neighbours.iter().enumerate() {
            for &b in set {
                if a < b {
                    let latency = LINK_LATENCY_MIN + below(&mut rng, LINK_LATENCY_MAX - LINK_LATENCY_MIN);
                    links.insert((a, b), Link { latency, up: false, dialing: false, generation: 0 });
                }
            }
        }
        let peer_names: Rc<Vec<Peer>> = Rc::new(names.iter().map(|n| Peer(n.clone())).collect());
        let nodes: Vec<SimNode> = (0..cfg.nodes)
            .map(|idx| {
                let (agency, role) = slots[idx];
                let signer_seed =
                    (agencies[agency].nodes.first() == Some(&idx)).then(|| agencies[agency].signer.seed());
                let spec = NodeSpec {
                    idx,
                    name: names[idx].clone(),
                    peer_bytes: names[idx].as_bytes().to_vec(),
                    agency,
                    role,
                    signer_seed,
                    neighbours: neighbours[idx].iter().copied().collect(),
                };
                let mut node = SimNode::new(spec, Rc::clone(&peer_names));
                node.no_anti_entropy = cfg.sabotage == Some(Sabotage::NoAntiEntropy);
                node
            })
            .collect();

        // Workload: objects sampled from the catalogue, each tracked by one to three honest
        // agencies; virtual time starts just after the newest epoch among them.
        let n_objects = (OBJECTS_PER_AGENCY * honest_agencies).min(catalogue.sets.len());
        let mut pool: Vec<usize> = (0..catalogue.sets.len()).collect();
        for i in 0..n_objects {
            let j = i + below(&mut rng, (pool.len() - i) as u64) as usize;
            pool.swap(i, j);
        }
        pool.truncate(n_objects);
        pool.sort_unstable();
        for &object in &pool {
            let trackers = 1 + below(&mut rng, 3) as usize;
            for _ in 0..trackers {
                let a = below(&mut rng, honest_agencies as u64) as usize;
                if !agencies[a].objects.contains(&object) {
                    agencies[a].objects.push(object);
                }
            }
        }
        for agency in &mut agencies[honest_agencies..] {
            for _ in 0..OBJECTS_PER_AGENCY / 2 {
                let object = pool[below(&mut rng, pool.len() as u64) as usize];
                if !agency.objects.contains(&object) {
                    agency.objects.push(object);
                }
            }
        }
        let newest = pool.iter().map(|&i| catalogue.sets[i].estimate.epoch.0).max().unwrap_or(0);
        let t0 = Epoch(newest + SECOND as i64);

        let mut world = Self {
            rng,
            now: 0,
            t0,
            queue: BinaryHeap::new(),
            order: 0,
            genesis,
            network,
            nodes,
            links,
            groups: None,
            agencies,
            catalogue,
            faults_active: true,
            last_fault: 0,
            silent: BTreeSet::new(),
            acked: BTreeMap::new(),
            forged: BTreeSet::new(),
            converged_since: None,
            invariant_failures: Vec::new(),
            view_audit_failures: Vec::new(),
            view_audits: 0,
            trace: blake3::Hasher::new(),
            events: 0,
            updates: Updates { objects: n_objects as u64, ..Updates::default() },
            faults: Faults::default(),
            injected_duplicates: 0,
            traffic_by_class: [(0, 0); 3],
            cfg,
        };
        world.schedule_start();
        world
    }

    fn schedule_start(&mut self) {
        for idx in 0..self.nodes.len() {
            self.start_node(idx);
        }
        for a in 0..self.agencies.len() {
            match self.agencies[a].role {
                Role::Honest | Role::Silent => {
                    let at = self.exponential(PUBLISH_MEAN_INTERVAL);
                    self.schedule(at, Event::Publish { agency: a });
                }
                _ => {}
            }
            if self.agencies[a].role.is_hostile() {
                let node = self.agencies[a].nodes[0];
                let first = match self.agencies[a].role {
                    Role::Silent => {
                        let active = self.cfg.active_end();
                        let at = active / 4 + self.below(active / 2);
                        self.schedule(at, Event::GoSilent { node });
                        continue;
                    }
                    Role::Forger => FORGE_MEAN_INTERVAL,
                    Role::Equivocator => EQUIVOCATE_MEAN_INTERVAL,
                    _ => FLOOD_MEAN_INTERVAL,
                };
                let at = self.exponential(first);
                self.schedule(at, Event::Hostile { node });
            }
        }
        if self.cfg.faults.crashes() {
            let at = self.exponential(self.crash_interval());
            self.schedule(at, Event::Crash);
        }
        if self.cfg.faults.partitions() {
            let at = self.exponential(PARTITION_MEAN_INTERVAL);
            self.schedule(at, Event::Partition);
        }
        if self.cfg.sabotage == Some(Sabotage::AckBeforeDurable) {
            if let Some(signer) =
                self.nodes.iter().position(|n| n.spec.signer_seed.is_some() && n.spec.role == Role::Honest)
            {
                self.nodes[signer].ack_before_durable = true;
            }
        }
        self.schedule(self.cfg.active_end(), Event::ActiveEnd);
        self.schedule(VIEW_AUDIT_INTERVAL, Event::ViewAudit);
    }

    fn crash_interval(&self) -> Micros {
        (CRASH_MEAN_INTERVAL_PER_100 * 100 / self.nodes.len() as u64).max(SECOND)
    }

    // ------------------------------------------------------------------ randomness

    fn below(&mut self, n: u64) -> u64 {
        below(&mut self.rng, n)
    }
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && unit(&mut self.rng) < p
    }
    /// An exponentially distributed delay with this mean, at least a millisecond.
    fn exponential(&mut self, mean: Micros) -> Micros {
        let u = unit(&mut self.rng).max(1e-12);
        ((-u.ln()) * mean as f64).clamp(MS as f64, 1e15) as Micros
    }
    fn between(&mut self, lo: Micros, hi: Micros) -> Micros {
        lo + self.below(hi - lo + 1)
    }

    // ------------------------------------------------------------------ events

    fn schedule(&mut self, at: Micros, event: Event) {
        self.order += 1;
        self.queue.push(Reverse(Scheduled { at, order: self.order, event }));
    }

    fn run_to_end(&mut self) {
        let end = self.cfg.end();
        while let Some(Reverse(next)) = self.queue.pop() {
            if next.at > end {
                break;
            }
            self.now = next.at;
            self.events += 1;
            let (code, who) = next.event.code();
            self.trace.update(&next.at.to_le_bytes());
            self.trace.update(&[code]);
            self.trace.update(&who.to_le_bytes());
            self.dispatch(next.event);
        }
        self.now = end;
        self.probe();
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Deliver { from, to, generation, msg } => {
                let link = self.link(from, to);
                if !link.is_some_and(|l| l.up && l.generation == generation) || !self.nodes[to].is_up() {
                    self.faults.messages_lost_on_closed_links += 1;
                    return;
                }
                let stats = &mut self.nodes[to].stats;
                stats.msgs_received += 1;
                stats.bytes_received += msg.wire_bytes() as u64;
                self.with_node(to, |node, ctx| node.on_message(from, msg, ctx));
            }
            Event::Connect { a, b } => self.connect(a, b),
            Event::Closed { node, peer, generation } => {
                let current = self.link(node, peer).is_some_and(|l| l.generation == generation && !l.up);
                if current {
                    self.with_node(node, |n, ctx| n.on_disconnected(peer, ctx));
                }
            }
            Event::Wake { node, incarnation, wake } => {
                if self.nodes[node].incarnation == incarnation && self.nodes[node].is_up() {
                    self.with_node(node, |n, ctx| n.on_wake(wake, ctx));
                }
            }
            Event::SyncTimer { node, incarnation } => {
                if self.nodes[node].incarnation != incarnation || !self.nodes[node].is_up() {
                    return;
                }
                self.redial(node);
                self.with_node(node, |n, ctx| n.on_sync_timer(ctx));
                // The interval ±25 %, as the node draws it.
                let interval = self.cfg.sync_interval();
                let next = self.now + interval * 3 / 4 + self.below(interval / 2);
                self.schedule(next, Event::SyncTimer { node, incarnation });
            }
            Event::Publish { agency } => self.publish(agency),
            Event::Crash => self.crash_someone(),
            Event::Restart { node } => {
                if !self.nodes[node].is_up() {
                    self.faults.restarts += 1;
                    self.mark_fault();
                    self.start_node(node);
                }
            }
            Event::Partition => self.partition(),
            Event::Heal => self.heal(),
            Event::Hostile { node } => self.hostile_act(node),
            Event::GoSilent { node } => {
                self.silent.insert(node);
                self.mark_fault();
            }
            Event::ActiveEnd => self.end_faults(),
            Event::Probe => {
                self.probe();
                self.schedule(self.now + PROBE_INTERVAL, Event::Probe);
            }
            Event::ViewAudit => {
                self.view_audit();
                self.schedule(self.now + VIEW_AUDIT_INTERVAL, Event::ViewAudit);
            }
        }
    }

    /// Runs a node step and carries out what it asks of the world.
    fn with_node(&mut self, idx: NodeIdx, step: impl FnOnce(&mut SimNode, &mut Ctx)) {
        let mut out = Vec::new();
        {
            let mut ctx = Ctx { now: self.now, t0: self.t0, out: &mut out };
            step(&mut self.nodes[idx], &mut ctx);
        }
        for o in out {
            match o {
                Out::Send { to, msg } => self.send(idx, to, msg),
                Out::Wake { after, wake } => {
                    let incarnation = self.nodes[idx].incarnation;
                    self.schedule(self.now + after, Event::Wake { node: idx, incarnation, wake });
                }
                Out::Close { peer } => self.close(idx, peer, 0, self.latency(idx, peer)),
                Out::Submitted(results) => self.submitted(idx, results),
                Out::CrashNow => self.crash(idx),
            }
        }
    }

    fn mark_fault(&mut self) {
        if self.faults_active {
            self.last_fault = self.now;
        }
    }

    // ------------------------------------------------------------------ network

    fn pair(a: NodeIdx, b: NodeIdx) -> (NodeIdx, NodeIdx) {
        (a.min(b), a.max(b))
    }
    fn link(&self, a: NodeIdx, b: NodeIdx) -> Option<&Link> {
        self.links.get(&Self::pair(a, b))
    }
    fn latency(&self, a: NodeIdx, b: NodeIdx) -> Micros {
        self.link(a, b).map_or(LINK_LATENCY_MAX, |l| l.latency)
    }
    fn partitioned(&self, a: NodeIdx, b: NodeIdx) -> bool {
        self.groups.as_ref().is_some_and(|g| g[a] != g[b])
    }

    fn send(&mut self, from: NodeIdx, to: NodeIdx, msg: Message) {
        let Some(link) = self.link(from, to).copied() else { return };
        if !link.up {
            self.faults.messages_lost_on_closed_links += 1;
            return;
        }
        if self.silent.contains(&from) {
            self.faults.messages_silenced += 1;
            return;
        }
        let bytes = msg.wire_bytes() as u64;
        let stats = &mut self.nodes[from].stats;
        stats.msgs_sent += 1;
        stats.bytes_sent += bytes;
        let class = match msg.class() {
            Class::Gossip => 0,
            Class::Sync => 1,
            Class::Handshake => 2,
        };
        self.traffic_by_class[class].0 += 1;
        self.traffic_by_class[class].1 += bytes;
        let profile = self.cfg.faults;
        let (drop, duplicate, jitter) = if self.faults_active {
            (profile.drop_rate(), profile.duplicate_rate(), profile.jitter())
        } else {
            (0.0, 0.0, 5 * MS)
        };
        if self.chance(drop) {
            self.faults.messages_dropped += 1;
            self.mark_fault();
            return;
        }
        let delay = link.latency + self.below(jitter + 1);
        if self.chance(duplicate) {
            self.injected_duplicates += 1;
            self.mark_fault();
            let later = delay + self.below(jitter + 1);
            let copy = msg.clone();
            self.schedule(
                self.now + later,
                Event::Deliver { from, to, generation: link.generation, msg: copy },
            );
        }
        self.schedule(self.now + delay, Event::Deliver { from, to, generation: link.generation, msg });
    }

    /// Dials a configured peer (as the node re-dials its bootstrap peers).
    fn dial(&mut self, a: NodeIdx, b: NodeIdx) {
        let Some(link) = self.links.get(&Self::pair(a, b)).copied() else { return };
        if link.up || link.dialing || !self.nodes[a].is_up() || !self.nodes[b].is_up() {
            return;
        }
        if self.partitioned(a, b) || self.nodes[a].refuses(b, self.now) {
            return;
        }
        if let Some(l) = self.links.get_mut(&Self::pair(a, b)) {
            l.dialing = true;
        }
        // TCP, then noise and yamux: about two round trips.
        self.schedule(self.now + 4 * link.latency, Event::Connect { a, b });
    }

    fn redial(&mut self, node: NodeIdx) {
        let neighbours = self.nodes[node].spec.neighbours.clone();
        for peer in neighbours {
            self.dial(node, peer);
        }
    }

    fn connect(&mut self, a: NodeIdx, b: NodeIdx) {
        let key = Self::pair(a, b);
        let Some(link) = self.links.get_mut(&key) else { return };
        link.dialing = false;
        let possible = !link.up
            && self.nodes[a].is_up()
            && self.nodes[b].is_up()
            && self.groups.as_ref().is_none_or(|g| g[a] == g[b])
            && !self.nodes[a].refuses(b, self.now)
            && !self.nodes[b].refuses(a, self.now);
        if !possible {
            return;
        }
        let Some(link) = self.links.get_mut(&key) else { return };
        link.generation += 1;
        link.up = true;
        // A side that has not yet noticed the old connection's end learns it now.
        for (x, y) in [(a, b), (b, a)] {
            if self.nodes[x].is_connected(y) {
                self.with_node(x, |n, ctx| n.on_disconnected(y, ctx));
            }
        }
        self.with_node(a, |n, ctx| n.on_connected(b, ctx));
        self.with_node(b, |n, ctx| n.on_connected(a, ctx));
    }

    /// Closes a connection; each side learns it after its own delay.
    fn close(&mut self, a: NodeIdx, b: NodeIdx, notice_a: Micros, notice_b: Micros) {
        let Some(link) = self.links.get_mut(&Self::pair(a, b)) else { return };
        if !link.up {
            return;
        }
        link.up = false;
        let generation = link.generation;
        self.schedule(self.now + notice_a, Event::Closed { node: a, peer: b, generation });
        self.schedule(self.now + notice_b, Event::Closed { node: b, peer: a, generation });
    }

    // ------------------------------------------------------------------ node life

    fn start_node(&mut self, idx: NodeIdx) {
        let genesis = self.genesis.clone();
        self.nodes[idx].start(&genesis, self.cfg.seed);
        let incarnation = self.nodes[idx].incarnation;
        let phase = self.below(self.cfg.sync_interval());
        self.schedule(self.now + phase, Event::SyncTimer { node: idx, incarnation });
        self.redial(idx);
    }

    fn crash_someone(&mut self) {
        if !self.faults_active {
            return;
        }
        let up: Vec<NodeIdx> = (0..self.nodes.len()).filter(|&i| self.nodes[i].is_up()).collect();
        // Keep most of the network up: at most a fifth down at once.
        if up.len() * 5 > self.nodes.len() * 4 {
            let victim = up[self.below(up.len() as u64) as usize];
            self.crash(victim);
        }
        let next = self.now + self.exponential(self.crash_interval());
        self.schedule(next, Event::Crash);
    }

    fn crash(&mut self, idx: NodeIdx) {
        if !self.nodes[idx].is_up() {
            return;
        }
        if self.nodes[idx].is_flushing() {
            self.faults.flushes_lost_in_crashes += 1;
        }
        self.nodes[idx].crash();
        self.faults.crashes += 1;
        self.mark_fault();
        // Invariant: everything acknowledged by this node is in its store.
        let node = &self.nodes[idx];
        let missing: Vec<String> = self
            .acked
            .iter()
            .filter(|(id, (by, _))| *by == idx && !node.store.headers.contains_key(id))
            .map(|(id, _)| id.short())
            .collect();
        if !missing.is_empty() {
            self.invariant_failures.push(format!(
                "{} crashed at {:.3} s without {} update(s) it had acknowledged in its store: {}",
                node.spec.name,
                self.now as f64 / SECOND as f64,
                missing.len(),
                check::abbreviate(&missing)
            ));
        }
        let neighbours = self.nodes[idx].spec.neighbours.clone();
        for peer in neighbours {
            let latency = self.latency(idx, peer);
            self.close(idx, peer, 0, latency);
        }
        let down = self.between(DOWNTIME_MIN, DOWNTIME_MAX);
        let at = (self.now + down).min(self.cfg.active_end().max(self.now));
        self.schedule(at, Event::Restart { node: idx });
    }

    fn partition(&mut self) {
        if !self.faults_active || self.groups.is_some() {
            return;
        }
        let n_groups = 2 + self.below(2) as u32;
        let groups: Vec<u32> =
            (0..self.nodes.len()).map(|_| below(&mut self.rng, u64::from(n_groups)) as u32).collect();
        self.groups = Some(groups);
        self.faults.partitions += 1;
        self.mark_fault();
        let crossing: Vec<(NodeIdx, NodeIdx)> =
            self.links.iter().filter(|(k, l)| l.up && self.partitioned(k.0, k.1)).map(|(k, _)| *k).collect();
        for (a, b) in crossing {
            let (na, nb) = (
                self.between(SECOND, DEAD_CONNECTION_NOTICE_MAX),
                self.between(SECOND, DEAD_CONNECTION_NOTICE_MAX),
            );
            self.close(a, b, na, nb);
        }
        let length = self.between(PARTITION_MIN, PARTITION_MAX);
        let heal = (self.now + length).min(self.cfg.active_end());
        self.schedule(heal, Event::Heal);
    }

    fn heal(&mut self) {
        if self.groups.take().is_some() {
            self.mark_fault();
            if self.faults_active {
                let next = self.now + self.exponential(PARTITION_MEAN_INTERVAL);
                self.schedule(next, Event::Partition);
            }
        }
    }

    /// The end of the active phase: no more faults or publications; every crashed node
    /// restarts, every partition heals. Then the convergence probe runs.
    fn end_faults(&mut self) {
        self.heal();
        for idx in 0..self.nodes.len() {
            if !self.nodes[idx].is_up() {
                self.faults.restarts += 1;
                self.mark_fault();
                self.start_node(idx);
            }
        }
        self.faults_active = false;
        self.schedule(self.now, Event::Probe);
    }

    // ------------------------------------------------------------------ workload

    fn submitted(&mut self, idx: NodeIdx, results: Vec<Result<UpdateId, protocol::Rejection>>) {
        let honest = self.nodes[idx].spec.role == Role::Honest;
        let agency = self.nodes[idx].spec.agency;
        for result in results {
            match result {
                Ok(id) if honest => {
                    self.updates.acknowledged += 1;
                    self.acked.insert(id, (idx, self.now));
                    let is_estimate = self.nodes[idx]
                        .engine()
                        .and_then(|e| e.state().get(&id))
                        .is_some_and(|e| e.kind() == Kind::OrbitEstimate);
                    if is_estimate {
                        self.agencies[agency].acked_estimates.push(id);
                    }
                }
                Ok(_) => {}
                Err(_) => self.updates.rejected_at_submit += 1,
            }
        }
    }

    fn publish(&mut self, a: usize) {
        if !self.faults_active {
            return;
        }
        let next = self.now + self.exponential(PUBLISH_MEAN_INTERVAL);
        self.schedule(next, Event::Publish { agency: a });
        let node = self.agencies[a].nodes[0];
        if !self.nodes[node].may_sign() {
            self.updates.publications_deferred += 1;
            return;
        }
        let n = 1 + self.below(PUBLISH_BATCH_MAX as u64) as usize;
        let mut records = Vec::new();
        for _ in 0..n {
            if self.agencies[a].objects.is_empty() {
                break;
            }
            let pick = self.below(self.agencies[a].objects.len() as u64) as usize;
            let object = self.agencies[a].objects[pick];
            records.extend(self.revision_records(a, object));
        }
        if !self.agencies[a].acked_estimates.is_empty() && self.chance(RETRACT_CHANCE) {
            let pick = self.below(self.agencies[a].acked_estimates.len() as u64) as usize;
            let target = self.agencies[a].acked_estimates.swap_remove(pick);
            records.push(Record::Retract(Retract { target, reason: "wrong element set".into() }));
        }
        self.updates.submitted += records.len() as u64;
        self.mark_fault();
        self.with_node(node, |n, ctx| n.submit(records, ctx));
    }

    /// A new revision of one object by one agency, with its metadata claim the first time.
    fn revision_records(&mut self, a: usize, object: usize) -> Vec<Record> {
        let set = &self.catalogue.sets[object];
        let agency = &self.agencies[a];
        let estimate = workload::revision(set, self.now as i64, agency.offset_deg, &agency.name);
        let mut records = vec![Record::OrbitEstimate(estimate)];
        if !agency.claimed.contains(&object) {
            let alternative = self.chance(ALT_NAME_CHANCE);
            let set = &self.catalogue.sets[object];
            records.push(Record::ObjectMetadata(workload::claim(set, alternative)));
            self.agencies[a].claimed.insert(object);
        }
        records
    }

    fn hostile_act(&mut self, node: NodeIdx) {
        if !self.faults_active {
            return;
        }
        let role = self.nodes[node].spec.role;
        let mean = match role {
            Role::Forger => FORGE_MEAN_INTERVAL,
            Role::Equivocator => EQUIVOCATE_MEAN_INTERVAL,
            _ => FLOOD_MEAN_INTERVAL,
        };
        let next = self.now + self.exponential(mean);
        self.schedule(next, Event::Hostile { node });
        if !self.nodes[node].is_up() {
            return;
        }
        self.mark_fault();
        let a = self.nodes[node].spec.agency;
        let epoch = Epoch(self.t0.0 + self.now as i64);
        let peers = self.nodes[node].member_peers();
        match role {
            Role::Forger => {
                let honest: Vec<AgencyId> = self
                    .agencies
                    .iter()
                    .filter(|x| x.role == Role::Honest)
                    .map(|x| x.signer.agency())
                    .collect();
                let victim = honest[self.below(honest.len() as u64) as usize];
                let variant = self.below(3);
                let forgery = hostile::forge(&self.agencies[a].signer, self.network, epoch, victim, variant);
                if let Some(id) = forgery.forged_id {
                    self.forged.insert(id);
                }
                self.faults.forgeries_sent += 1;
                self.with_node(node, |n, ctx| n.inject_gossip(forgery.bytes, &peers, ctx));
            }
            Role::Equivocator => {
                if self.agencies[a].objects.is_empty() || peers.len() < 2 {
                    return;
                }
                let pick = self.below(self.agencies[a].objects.len() as u64) as usize;
                let object = self.agencies[a].objects[pick];
                let base =
                    workload::revision(&self.catalogue.sets[object], self.now as i64, 0.0, "equivocator");
                let seq = (epoch.0.max(0) as u64).max(self.agencies[a].next_fork_seq);
                self.agencies[a].next_fork_seq = seq + 1;
                let variants = 2 + self.below(2) as usize;
                let forks = hostile::equivocate(&self.agencies[a].signer, self.network, seq, &base, variants);
                self.faults.equivocations += 1;
                for (v, envelope) in forks.into_iter().enumerate() {
                    let to: Vec<NodeIdx> = peers
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i % variants == v)
                        .map(|(_, p)| *p)
                        .collect();
                    self.with_node(node, |n, ctx| n.inject_gossip(envelope.to_bytes(), &to, ctx));
                }
            }
            Role::Flooder => {
                let mut records = Vec::with_capacity(FLOOD_BURST);
                for k in 0..FLOOD_BURST {
                    let objects = &self.agencies[a].objects;
                    if objects.is_empty() {
                        break;
                    }
                    let object = objects[k % objects.len()];
                    let elapsed = self.now as i64 - (FLOOD_BURST - k) as i64;
                    let estimate = workload::revision(&self.catalogue.sets[object], elapsed, 0.0, "flood");
                    records.push(Record::OrbitEstimate(estimate));
                }
                self.faults.flood_updates += records.len() as u64;
                self.with_node(node, |n, ctx| n.submit(records, ctx));
            }
            Role::Honest | Role::Silent => {}
        }
    }

    // ------------------------------------------------------------------ checks

    fn honest_nodes(&self) -> Vec<NodeIdx> {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].spec.role == Role::Honest).collect()
    }

    fn probe(&mut self) {
        let honest = self.honest_nodes();
        let all_up = honest.iter().all(|&i| self.nodes[i].is_up());
        let digests: Vec<(String, protocol::sync::Digests)> = honest
            .iter()
            .filter_map(|&i| self.nodes[i].engine().map(|e| (self.nodes[i].spec.name.clone(), e.digests())))
            .collect();
        let agree = all_up && check::digests_agree(&digests).is_ok();
        match (agree, self.converged_since) {
            (true, None) => self.converged_since = Some(self.now),
            (false, _) => self.converged_since = None,
            _ => {}
        }
    }

    fn view_audit(&mut self) {
        let honest: Vec<NodeIdx> =
            self.honest_nodes().into_iter().filter(|&i| self.nodes[i].is_up()).collect();
        if honest.is_empty() {
            return;
        }
        let idx = honest[self.below(honest.len() as u64) as usize];
        self.view_audits += 1;
        if let Err(e) = self.audit_node_views(idx) {
            self.view_audit_failures.push(format!("at {:.1} s: {e}", self.now as f64 / SECOND as f64));
        }
    }

    fn audit_node_views(&mut self, idx: NodeIdx) -> Result<(), String> {
        let name = self.nodes[idx].spec.name.clone();
        let Some(engine) = self.nodes[idx].engine_mut() else { return Ok(()) };
        let rebuilt = Views::rebuild(engine.state());
        let incremental = engine.views();
        check::views_match(incremental, &rebuilt).map_err(|e| format!("{name}: {e}"))
    }

    fn final_checks(&mut self) -> Vec<Check> {
        let mut checks = Vec::new();
        let honest = self.honest_nodes();
        let bound = self.cfg.bound_s * SECOND;
        // Convergence.
        let digests: Vec<(String, protocol::sync::Digests)> = honest
            .iter()
            .filter_map(|&i| self.nodes[i].engine().map(|e| (self.nodes[i].spec.name.clone(), e.digests())))
            .collect();
        let down: Vec<String> = honest
            .iter()
            .filter(|&&i| !self.nodes[i].is_up())
            .map(|&i| self.nodes[i].spec.name.clone())
            .collect();
        let convergence = match (self.converged_since, check::digests_agree(&digests)) {
            _ if !down.is_empty() => {
                Err(format!("honest nodes down at the end: {}", check::abbreviate(&down)))
            }
            (_, Err(e)) => Err(format!("not converged {} s after the last fault: {e}", self.cfg.bound_s)),
            (None, Ok(())) => Err("never converged".into()),
            (Some(at), Ok(())) if at > self.last_fault + bound => Err(format!(
                "converged {:.1} s after the last fault, over the {} s bound",
                (at - self.last_fault) as f64 / SECOND as f64,
                self.cfg.bound_s
            )),
            (Some(at), Ok(())) => Ok(format!(
                "{} honest nodes agree, {:.1} s after the last fault",
                honest.len(),
                (at - self.last_fault) as f64 / SECOND as f64
            )),
        };
        checks.push(verdict("convergence", convergence));

        // No acknowledged update lost.
        let mut lost = self.invariant_failures.clone();
        let mut bodies_lost = Vec::new();
        let mut revived_nowhere = 0usize;
        for (id, (by, at)) in &self.acked {
            // A live body held by no honest node at all is lost only if it was never
            // compacted: an estimate that became live again when a newer one was retracted
            // had its body dropped everywhere while superseded (DESIGN §4: such a body is
            // fetched best-effort, and its absence is shown, never punished).
            let holders = honest
                .iter()
                .filter(|&&i| {
                    self.nodes[i].engine().and_then(|e| e.state().get(id)).is_some_and(|e| e.body.is_some())
                })
                .count();
            let revived = holders == 0 && self.revived_by_retraction(id);
            if revived {
                revived_nowhere += 1;
            }
            for &i in &honest {
                let Some(engine) = self.nodes[i].engine() else { continue };
                let state = engine.state();
                match state.get(id) {
                    Some(e) if state.in_state(id) => {
                        if e.body.is_none() && state.is_live(e) && !revived {
                            bodies_lost.push(format!(
                                "{} (from {}) at {}",
                                id.short(),
                                self.nodes[*by].spec.name,
                                self.nodes[i].spec.name
                            ));
                        }
                    }
                    _ => lost.push(format!(
                        "{} (acknowledged by {} at {:.3} s) missing at {}",
                        id.short(),
                        self.nodes[*by].spec.name,
                        *at as f64 / SECOND as f64,
                        self.nodes[i].spec.name
                    )),
                }
            }
        }
        let no_loss = if lost.is_empty() && bodies_lost.is_empty() {
            Ok(format!(
                "{} acknowledged updates held by all {} honest nodes ({} revived estimates' bodies compacted everywhere before their revival)",
                self.acked.len(),
                honest.len(),
                revived_nowhere
            ))
        } else {
            Err(format!(
                "{} missing, {} live bodies missing: {}",
                lost.len() - self.invariant_failures.len(),
                bodies_lost.len(),
                check::abbreviate(&[lost, bodies_lost].concat())
            ))
        };
        checks.push(verdict("no acknowledged update lost", no_loss));

        // Views equal a rebuild, and are identical everywhere.
        let mut failures = self.view_audit_failures.clone();
        let mut view_digests: Vec<(String, protocol::sync::Digests)> = Vec::new();
        for &i in &honest {
            if let Err(e) = self.audit_node_views(i) {
                failures.push(format!("at the end: {e}"));
            }
            let name = self.nodes[i].spec.name.clone();
            if let Some(engine) = self.nodes[i].engine_mut() {
                let json = serde_json::to_vec(engine.views().all()).unwrap_or_default();
                let hash = *blake3::hash(&json).as_bytes();
                view_digests
                    .push((name, protocol::sync::Digests { headers: hash, bodies: hash, n_headers: 0 }));
            }
        }
        if let Err(e) = check::digests_agree(&view_digests) {
            failures.push(format!("views differ between honest nodes: {e}"));
        }
        let views = if failures.is_empty() {
            Ok(format!(
                "{} audits during the run and {} at the end; identical on every honest node",
                self.view_audits,
                honest.len()
            ))
        } else {
            Err(check::abbreviate(&failures))
        };
        checks.push(verdict("views equal a rebuild", views));

        // Membership identical everywhere.
        let memberships: Vec<(String, &protocol::membership::Membership)> = honest
            .iter()
            .filter_map(|&i| {
                self.nodes[i].engine().map(|e| (self.nodes[i].spec.name.clone(), e.membership()))
            })
            .collect();
        let membership = check::memberships_agree(&memberships).map(|()| {
            let m =
                memberships.first().map(|(_, m)| (m.admitted.len(), m.suspended.len())).unwrap_or_default();
            format!("{} admitted, {} suspended, on every honest node", m.0, m.1)
        });
        checks.push(verdict("membership identical", membership));

        // No forgery accepted.
        let mut accepted: Vec<String> = Vec::new();
        for &i in &honest {
            let Some(engine) = self.nodes[i].engine() else { continue };
            for id in self.forged.iter().filter(|id| engine.state().contains(id)) {
                accepted.push(format!("{} at {}", id.short(), self.nodes[i].spec.name));
            }
        }
        let forgeries = if accepted.is_empty() {
            Ok(format!("{} forged headers, none held", self.forged.len()))
        } else {
            Err(check::abbreviate(&accepted))
        };
        checks.push(verdict("no forgery accepted", forgeries));
        checks
    }

    /// Whether an estimate is live again because a newer one of its (object, author) was
    /// retracted, on the first honest node that is up.
    fn revived_by_retraction(&self, id: &UpdateId) -> bool {
        let Some(engine) = self.honest_nodes().into_iter().find_map(|i| self.nodes[i].engine()) else {
            return false;
        };
        let state = engine.state();
        let Some(entry) = state.get(id) else { return false };
        let (Some(object), author) = (entry.signed.header.object, entry.author()) else { return false };
        state.object_updates(&object).any(|e| {
            e.author() == author
                && e.kind() == Kind::OrbitEstimate
                && e.signed.header.epoch > entry.signed.header.epoch
                && state.is_retracted(&e.id)
        })
    }

    fn report(&mut self, wall_s: f64, cpu_s: Option<f64>) -> Report {
        let checks = self.final_checks();
        let honest = self.honest_nodes();
        let reference = honest.iter().find_map(|&i| self.nodes[i].engine());
        if let Some(engine) = reference {
            self.updates.headers_in_state = engine.state().n_headers() as u64;
            self.updates.forks = engine.state().forks().count() as u64;
            self.updates.suspended_agencies = engine.membership().suspended.len() as u64;
        }
        let stats: Vec<&crate::node::NodeStats> = self.nodes.iter().map(|n| &n.stats).collect();
        let sum = |f: fn(&crate::node::NodeStats) -> u64| stats.iter().map(|s| f(s)).sum::<u64>();
        let traffic = Traffic {
            messages_sent_per_node: PerNode::of(stats.iter().map(|s| s.msgs_sent)),
            bytes_sent_per_node: PerNode::of(stats.iter().map(|s| s.bytes_sent)),
            messages_received_per_node: PerNode::of(stats.iter().map(|s| s.msgs_received)),
            bytes_received_per_node: PerNode::of(stats.iter().map(|s| s.bytes_received)),
            gossip_messages: self.traffic_by_class[0].0,
            gossip_bytes: self.traffic_by_class[0].1,
            sync_messages: self.traffic_by_class[1].0,
            sync_bytes: self.traffic_by_class[1].1,
            handshake_messages: self.traffic_by_class[2].0,
            handshake_bytes: self.traffic_by_class[2].1,
            syncs_completed: sum(|s| s.syncs_completed),
            syncs_aborted: sum(|s| s.syncs_aborted),
            digest_requests: sum(|s| s.requests_answered[0]),
            reconcile_requests: sum(|s| s.requests_answered[1]),
            header_fetches: sum(|s| s.requests_answered[2]),
            body_fetches: sum(|s| s.requests_answered[3]),
            empty_body_answers: sum(|s| s.empty_body_answers),
        };
        let duplicates = Duplicates {
            injected_by_network: self.injected_duplicates,
            gossip_dropped_by_cache: sum(|s| s.gossip_duplicates),
            gossip_dropped_by_cache_per_node: PerNode::of(stats.iter().map(|s| s.gossip_duplicates)),
            engine_duplicates: sum(|s| s.engine_duplicates),
        };
        let mut faults = self.faults.clone();
        faults.penalties = sum(|s| s.penalties);
        faults.bans = sum(|s| s.bans);
        faults.gate_refusals = sum(|s| s.gate_refusals);
        faults.gossip_throttled = sum(|s| s.gossip_throttled);
        faults.queue_full = sum(|s| s.queue_full);
        let simulated_s = self.cfg.end() as f64 / SECOND as f64;
        let convergence = Convergence {
            last_fault_s: self.last_fault as f64 / SECOND as f64,
            converged_at_s: self.converged_since.map(|t| t as f64 / SECOND as f64),
            convergence_time_s: self
                .converged_since
                .map(|t| t.saturating_sub(self.last_fault) as f64 / SECOND as f64),
            bound_s: self.cfg.bound_s,
            honest_nodes: honest.len(),
            admitted_peers_per_honest_node: PerNode::of(
                honest.iter().map(|&i| self.nodes[i].admitted_peers() as u64),
            ),
            connections_pending_at_end: honest.iter().map(|&i| self.nodes[i].pending_peers() as u64).sum(),
        };
        let passed = checks.iter().all(|c| c.passed);
        Report {
            catalogue: self.catalogue.source.clone(),
            agencies: self.agencies.len(),
            roles: self.nodes.iter().map(|n| (n.spec.name.clone(), role_name(n.spec.role))).collect(),
            passed,
            checks,
            convergence,
            updates: self.updates.clone(),
            traffic,
            duplicates,
            faults,
            performance: Performance {
                wall_s,
                simulated_s,
                events: self.events,
                node_seconds_per_wall_second: self.nodes.len() as f64 * simulated_s / wall_s.max(1e-9),
                cpu_s,
                node_seconds_per_cpu_second: cpu_s
                    .map(|c| self.nodes.len() as f64 * simulated_s / c.max(1e-9)),
            },
            trace_digest: self.trace.finalize().to_hex().to_string(),
            replay: self.cfg.replay_command(self.catalogue.choice),
            config: self.cfg.clone(),
        }
    }
}

fn verdict(name: &'static str, result: Result<String, String>) -> Check {
    match result {
        Ok(detail) => Check { name, passed: true, detail },
        Err(detail) => Check { name, passed: false, detail },
    }
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Honest => "honest",
        Role::Forger => "forger",
        Role::Equivocator => "equivocator",
        Role::Flooder => "flooder",
        Role::Silent => "silent",
    }
}

/// A uniform integer below `n` (0 when `n` is 0), without modulo bias worth noting for
/// simulation (a 64-bit draw reduced by multiplication).
fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

/// A uniform float in [0, 1).
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn shuffle<T>(rng: &mut ChaCha8Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}
