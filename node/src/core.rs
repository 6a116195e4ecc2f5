//! The engine task: the one owner of the protocol [`Engine`] and the [`Store`].
//!
//! It runs on its own thread (the engine is CPU-bound: signing, verification, SGP4 for
//! views) and is reached through a cloneable [`CoreHandle`] that sends typed [`Command`]s
//! over a bounded channel, each with a `oneshot` for its answer. The engine's outward effects
//! go, in order, to the store writer ([`crate::writer`]), which flushes each `Persist` before
//! anything after it: nothing is acknowledged or published before it is on disk, and the next
//! batch is signed while the last one is flushed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use protocol::engine::{Effect, Engine, EngineConfig, Input, Peer, StoreOp};
use protocol::envelope::{Envelope, Kind};
use protocol::error::Rejection;
use protocol::genesis::Genesis;
use protocol::ids::{AgencyId, ObjectId, UpdateId};
use protocol::records::{Endorse, NodeBinding, ObjectMetadata, Record, Suspend};
use protocol::sync::{SyncRequest, SyncResponse};
use protocol::time::Epoch;
use protocol::views::{agency_name, ObjectView};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::orbit::ElementSet;
use crate::screening::screen::ScreenObject;
use crate::screening::service::{Job, ScreeningService, ScreeningSettings};
use crate::store::Store;
use crate::writer::{Action, Writer};

/// Arrival times remembered (for delivery-latency measurements), most recent first out.
pub const ARRIVALS_KEPT: usize = 100_000;

/// Statements one peer may present in the gating handshake.
pub const MAX_HANDSHAKE_STATEMENTS: usize = 256;

/// Commands queued for the engine task at most; senders wait when it is full (back-pressure
/// on the API and the network, never unbounded memory).
pub const COMMAND_QUEUE: usize = 1024;
/// Most derived views written to the store per tick.
pub const VIEWS_PER_TICK: usize = 200;
/// Seconds between writes of changed derived views to the store.
pub const VIEW_PERSIST_INTERVAL: Duration = Duration::from_millis(250);
/// The stored views' header digest is written at most this often while updates keep coming.
pub const VIEWS_DIGEST_INTERVAL: Duration = Duration::from_secs(60);
/// Views wait at most this long for the engine to be idle before they are persisted anyway.
pub const VIEW_PERSIST_MAX_DEFER: Duration = Duration::from_secs(5);

/// Things the engine task is asked to do.
#[derive(Debug)]
pub enum Command {
    SubmitElementSets {
        sets: Vec<ElementSet>,
        reply: oneshot::Sender<Result<SubmitSummary, String>>,
    },
    SubmitRecords {
        records: Vec<Record>,
        reply: oneshot::Sender<Vec<Result<UpdateId, String>>>,
    },
    ImportEnvelopes {
        items: Vec<Vec<u8>>,
        reply: oneshot::Sender<usize>,
    },
    Status {
        reply: oneshot::Sender<CoreStatus>,
    },
    Object {
        object: ObjectId,
        reply: oneshot::Sender<Option<ObjectReport>>,
    },
    History {
        object: ObjectId,
        reply: oneshot::Sender<Vec<HistoryEntry>>,
    },
    Catalogue {
        agency: Option<AgencyId>,
        reply: oneshot::Sender<Vec<CatalogueEntry>>,
    },
    Members {
        reply: oneshot::Sender<MembersReport>,
    },
    JoinRequest {
        name: String,
        own_peer_id: Vec<u8>,
        reply: oneshot::Sender<Result<JoinRequest, String>>,
    },
    Endorse {
        request: JoinRequest,
        reply: oneshot::Sender<Result<UpdateId, String>>,
    },
    Suspend {
        agency: AgencyId,
        reason: String,
        reply: oneshot::Sender<Result<UpdateId, String>>,
    },
    BindNode {
        peer_id: Vec<u8>,
        reply: oneshot::Sender<Result<UpdateId, String>>,
    },
    /// Gating: ingest the statements a peer presented that admit its agency, and answer the
    /// admitted agency whose newest binding lists the peer id (none: refuse the peer).
    Gate {
        peer_id: Vec<u8>,
        presented: Vec<Vec<u8>>,
        reply: oneshot::Sender<Option<AgencyId>>,
    },
    /// What this node presents in the gating handshake.
    HandshakeStatements {
        own_peer_id: Vec<u8>,
        reply: oneshot::Sender<Vec<Vec<u8>>>,
    },
    /// Adds statements presented in every handshake (operators' and tests' override).
    PresentAlso {
        statements: Vec<Vec<u8>>,
    },
    /// When each of these updates arrived here (µs since 1970), for delivery measurements.
    Arrivals {
        ids: Vec<UpdateId>,
        reply: oneshot::Sender<Vec<Option<i64>>>,
    },
    /// One update's canonical envelope (header and, where held, body), for audit.
    Update {
        id: UpdateId,
        reply: oneshot::Sender<Option<Vec<u8>>>,
    },
    /// Conjunctions from this node's screening, filtered, each with its spread across sources.
    Conjunctions {
        query: ConjunctionQuery,
        reply: oneshot::Sender<Result<Vec<ConjunctionReport>, String>>,
    },
    /// Consistency checks: views equal a rebuild, the store holds what the engine holds.
    Check {
        reply: oneshot::Sender<CheckReport>,
    },
    /// From the network: a gossip message, a sync request to answer, a sync answer.
    Network(NetworkInput),
    /// Periodic housekeeping (derived views are written to the store).
    Tick,
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// Inputs that the network module feeds to the engine.
#[derive(Debug)]
pub enum NetworkInput {
    Gossip { from: Peer, message_id: Vec<u8>, bytes: Vec<u8> },
    SyncStart { peer: Peer },
    SyncRequest { request: SyncRequest, reply: oneshot::Sender<SyncResponse> },
    SyncResponse { peer: Peer, response: SyncResponse },
    SyncFailed { peer: Peer, reason: String },
}

/// Effects the network module carries out for the engine.
#[derive(Debug)]
pub enum NetworkOutput {
    Publish(Vec<u8>),
    Verdict { from: Peer, message_id: Vec<u8>, verdict: protocol::engine::Verdict },
    Penalise { peer: Peer, reason: String },
    SendSync { peer: Peer, request: SyncRequest },
    SyncFinished { peer: Peer, report: protocol::engine::SyncReport },
    MembershipChanged,
}

/// Bound on queued network outputs; when full, publishes are dropped (anti-entropy delivers).
pub const NETWORK_OUTPUT_QUEUE: usize = 4096;

/// What `submit` reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SubmitSummary {
    /// Became this agency's current estimate of the object.
    pub accepted: usize,
    /// Stored, but this agency already has a newer estimate of the object.
    pub superseded: usize,
    /// Identical to this agency's current estimate: nothing signed.
    pub unchanged: usize,
    pub metadata_updates: usize,
    pub rejected: Vec<SubmitRejection>,
}

impl SubmitSummary {
    /// Adds another batch's summary to this one.
    pub fn merge(&mut self, other: SubmitSummary) {
        self.accepted += other.accepted;
        self.superseded += other.superseded;
        self.unchanged += other.unchanged;
        self.metadata_updates += other.metadata_updates;
        self.rejected.extend(other.rejected);
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubmitRejection {
    pub object: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoreStatus {
    pub network_name: String,
    pub network_id: String,
    pub agency: Option<AgencyId>,
    pub agency_name: Option<String>,
    pub signing: bool,
    pub may_sign: bool,
    pub headers: usize,
    pub objects: usize,
    pub held_aside: usize,
    pub members: usize,
    pub header_digest: String,
    pub body_digest: String,
    pub missing_bodies: usize,
    /// Updates accepted into the state since this node started (any source).
    pub accepted: u64,
    pub defective: u64,
    /// Updates rejected since this node started, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// The store's size on disk, bytes.
    pub store_bytes: u64,
    /// Conjunction screening on this node, when it runs.
    pub screening: Option<ScreeningStatus>,
    pub started_at: String,
    pub uptime_s: u64,
}

/// Which conjunctions to list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConjunctionQuery {
    /// Events involving this object.
    pub object: Option<ObjectId>,
    /// Miss distance at most this, km.
    pub within_km: Option<f64>,
    /// TCA from and until (UTC).
    pub since: Option<Epoch>,
    pub until: Option<Epoch>,
    /// Collision probability at least this (events without one are left out).
    pub min_pc: Option<f64>,
    /// At most this many events, closest first in time; `None`: all.
    pub limit: Option<usize>,
    /// Re-screen each listed event with every source's estimates (costs about a millisecond
    /// an event).
    pub spread: bool,
}

/// One conjunction as listed: the event, the objects' names, and how the sources see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConjunctionReport {
    pub event: crate::screening::service::Event,
    pub primary_name: Option<String>,
    pub secondary_name: Option<String>,
    /// Every pair of sources (the agency whose estimate of the primary, and of the secondary,
    /// was used) and the miss distance they give.
    pub spread: Option<crate::screening::screen::spread::SourceSpread<(AgencyId, AgencyId)>>,
    /// Names of the agencies in `spread`.
    pub agency_names: BTreeMap<String, String>,
}

/// The state of conjunction screening on this node.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScreeningStatus {
    /// Duration of the last full screening, seconds (none yet: `None`).
    pub last_full_s: Option<f64>,
    /// When the last full screening started (ISO 8601 UTC).
    pub last_full_at: Option<String>,
    /// Conjunctions held now.
    pub conjunctions: usize,
    /// Objects screened, and objects that could not be propagated over the window.
    pub objects: usize,
    pub unpropagated: usize,
    /// Incremental re-screens since start.
    pub incremental_runs: u64,
    /// Memory held by the screening caches (samples of every object over the window), bytes.
    pub cache_bytes: usize,
}

/// What `commons check` reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckReport {
    /// The incrementally maintained views equal views rebuilt from the updates.
    pub views_equal_rebuild: bool,
    pub headers_in_engine: usize,
    pub headers_in_store: usize,
    /// Forks by this node's own agency (must be zero: an agency never forks itself).
    pub own_forks: usize,
    /// All forks seen, any agency.
    pub forks: usize,
    pub reserved_seq: u64,
    pub highest_own_seq: Option<u64>,
}

/// `object ID`: the view, with agency names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectReport {
    pub view: serde_json::Value,
    pub agency_names: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub update_id: UpdateId,
    pub author: AgencyId,
    pub author_name: Option<String>,
    pub seq: u64,
    pub kind: Kind,
    pub epoch: Option<Epoch>,
    pub signed_at: Epoch,
    pub in_state: bool,
    pub live: bool,
    pub body_held: bool,
    pub forked: bool,
    pub retracted: bool,
    pub defect: Option<String>,
}

/// One object of the catalogue as exported or searched.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogueEntry {
    pub object: ObjectId,
    pub agency: AgencyId,
    pub update_id: UpdateId,
    pub estimate: protocol::records::OrbitEstimate,
    pub name: Option<String>,
    pub cospar_id: Option<String>,
    pub object_type: Option<protocol::records::ObjectType>,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberEntry {
    pub agency: AgencyId,
    pub name: Option<String>,
    pub founder: bool,
    pub endorsed_by: Vec<AgencyId>,
    pub nodes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MembersReport {
    pub endorsement_threshold: u32,
    pub members: Vec<MemberEntry>,
    pub suspended: Vec<AgencyId>,
}

/// The file an applicant hands to members: its name and its signed binding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinRequest {
    pub name: String,
    pub agency: AgencyId,
    pub network_id: String,
    /// The applicant's signed `NodeBinding` envelope, hex.
    pub binding_hex: String,
}

/// Cloneable access to the engine task.
#[derive(Debug, Clone)]
pub struct CoreHandle {
    tx: mpsc::Sender<Command>,
}

impl CoreHandle {
    /// Sends a command and waits for its answer.
    pub async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| anyhow::anyhow!("the engine task has stopped"))?;
        rx.await.map_err(|_| anyhow::anyhow!("the engine task dropped the request"))
    }
    /// Sends a command without waiting for room (for the network: a full queue drops).
    pub fn try_send(&self, command: Command) -> bool {
        self.tx.try_send(command).is_ok()
    }
    pub async fn send(&self, command: Command) -> Result<()> {
        self.tx.send(command).await.map_err(|_| anyhow::anyhow!("the engine task has stopped"))
    }
}

pub fn now_epoch() -> Epoch {
    let micros = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0);
    Epoch(micros)
}

/// Settings of the engine task.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    pub engine: EngineConfig,
    /// Conjunction screening, when on: its settings and the time between full screenings.
    pub screening: Option<(ScreeningSettings, Duration)>,
}

/// Starts the engine task: restores the engine from the store and runs until shutdown.
/// Returns the handle and the receiver of network outputs.
pub fn spawn(
    genesis: Genesis,
    store: Store,
    signer: Option<protocol::Signer>,
    config: CoreConfig,
) -> Result<(CoreHandle, mpsc::Receiver<NetworkOutput>, std::thread::JoinHandle<()>)> {
    let t = Instant::now();
    // After a crash (no clean-shutdown mark), remove what a batch cut short left behind.
    if store.mark_open().context("opening the store")? {
        let repaired = store.repair().context("repairing the store")?;
        tracing::warn!(entries = repaired, "the last run did not stop cleanly: store checked and repaired");
    }
    let reserved = store.reserved_seq()?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    // Streamed from the store into the engine; the first unreadable entry stops the start.
    let (mut header_failure, mut body_failure) = (None, None);
    let mut n_stored = 0usize;
    let headers = store
        .stored_headers()
        .map_while(|item| item.inspect(|_| n_stored += 1).map_err(|e| header_failure = Some(e)).ok());
    let bodies = store.stored_bodies().map_while(|item| item.map_err(|e| body_failure = Some(e)).ok());
    let engine = Engine::restore(genesis, config.engine, signer, seed, headers, bodies, reserved);
    if let Some(e) = header_failure.or(body_failure) {
        return Err(e).context("reading the store");
    }
    tracing::info!(
        updates = n_stored,
        elapsed_ms = t.elapsed().as_millis() as u64,
        "engine restored from the store"
    );
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let (net_tx, net_rx) = mpsc::channel(NETWORK_OUTPUT_QUEUE);
    let writer = Writer::spawn(store.clone(), net_tx.clone())?;
    let screening = match config.screening {
        Some((settings, interval)) => {
            Some((ScreeningService::start(settings, store.clone()).context("starting screening")?, interval))
        }
        None => None,
    };
    let mut core = Core {
        engine,
        store,
        writer,
        judgements: net_tx,
        screening,
        screen_dirty: BTreeSet::new(),
        last_full_screening: None,
        started: now_epoch(),
        started_instant: Instant::now(),
        dirty_views: BTreeSet::new(),
        last_view_persist: Instant::now(),
        last_views_digest: None,
        views_digest_missing: false,
        present_also: Vec::new(),
        arrivals: BTreeMap::new(),
        arrival_order: std::collections::VecDeque::new(),
    };
    core.check_stored_views()?;
    let thread = std::thread::Builder::new()
        .name("engine".into())
        .spawn(move || core.run(rx))
        .context("starting the engine thread")?;
    Ok((CoreHandle { tx }, net_rx, thread))
}

/// Sends [`Command::Tick`] every [`VIEW_PERSIST_INTERVAL`] until the engine task stops.
pub async fn tick(core: CoreHandle) {
    let mut interval = tokio::time::interval(VIEW_PERSIST_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        // A full queue means the engine is busy: skip this tick rather than queue more.
        if core.tx.try_send(Command::Tick).is_err() && core.tx.is_closed() {
            return;
        }
    }
}

struct Core {
    engine: Engine,
    store: Store,
    /// Carries out each step's writes, then its outputs and replies (see [`crate::writer`]).
    writer: Writer,
    /// The network's queue, for judgements of what peers sent (gossip verdicts, penalties):
    /// they go out at once, not behind the writer. Forwarding another author's update never
    /// waits for this node's disk (its author's node stored it before publishing), and the
    /// writer's hand-off cost every relayed message a thread wake-up on each hop.
    judgements: mpsc::Sender<NetworkOutput>,
    /// Conjunction screening and the time between full screenings, when on.
    screening: Option<(ScreeningService, Duration)>,
    /// Objects whose shared orbit may have changed since they were last handed to screening.
    screen_dirty: BTreeSet<ObjectId>,
    last_full_screening: Option<Instant>,
    started: Epoch,
    started_instant: Instant,
    dirty_views: BTreeSet<ObjectId>,
    last_view_persist: Instant,
    /// When the stored views' header digest was last written (see [`VIEWS_DIGEST_INTERVAL`]).
    last_views_digest: Option<Instant>,
    /// Views were written without their digest (it was not due): it is written once due.
    views_digest_missing: bool,
    present_also: Vec<Vec<u8>>,
    arrivals: BTreeMap<UpdateId, i64>,
    arrival_order: std::collections::VecDeque<UpdateId>,
}

impl Core {
    /// Derived views in the store are rebuilt from the updates when missing or stale.
    fn check_stored_views(&mut self) -> Result<()> {
        let digest = self.engine.state().header_digest();
        if self.store.views_digest()? != Some(digest)
            || self.store.has_no_views() && self.engine.state().n_headers() > 0
        {
            tracing::info!("stored views are missing or stale: rebuilding them from the updates");
            self.store.clear_views()?;
            self.dirty_views.extend(self.engine.state().objects().copied());
        }
        Ok(())
    }

    fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        while let Some(command) = rx.blocking_recv() {
            match command {
                Command::Shutdown { reply } => {
                    self.writer.close();
                    if let Some((screening, _)) = self.screening.as_mut() {
                        screening.stop();
                    }
                    self.persist_views_if_due(true);
                    if let Err(e) = self.store.mark_closed() {
                        tracing::error!(error = %e, "flushing the store at shutdown failed");
                    }
                    let _ = reply.send(());
                    return;
                }
                Command::Tick => {
                    self.run_engine(Input::Tick);
                    // Views are derived: while commands wait (an ingest), they wait too, up to
                    // a bound, so the engine thread spends the burst on signing and merging.
                    if rx.is_empty() || self.last_view_persist.elapsed() > VIEW_PERSIST_MAX_DEFER {
                        self.persist_views_if_due(false);
                    }
                    self.feed_screening();
                }
                command => self.handle(command),
            }
        }
        // Every handle is gone: persist what is pending and stop.
        self.writer.close();
        self.persist_views_if_due(true);
    }

    fn persist_views_if_due(&mut self, force: bool) {
        let dirty = !self.dirty_views.is_empty();
        let views_due = dirty && (force || self.last_view_persist.elapsed() >= VIEW_PERSIST_INTERVAL);
        let digest_due = force || self.last_views_digest.is_none_or(|t| t.elapsed() >= VIEWS_DIGEST_INTERVAL);
        // With nothing dirty, only a digest left out under a stream of updates may be due.
        if !views_due && (dirty || !self.views_digest_missing || !digest_due) {
            return;
        }
        let mut rows = Vec::new();
        if views_due {
            self.last_view_persist = Instant::now();
            // A bounded slice per tick, so that writing views never stalls ingest for long.
            let take = if force { usize::MAX } else { VIEWS_PER_TICK };
            let objects: Vec<ObjectId> = self.dirty_views.iter().take(take).copied().collect();
            for o in &objects {
                self.dirty_views.remove(o);
            }
            for object in objects {
                let json = self.engine.view(&object).and_then(|v| serde_json::to_vec(v).ok());
                rows.push((object, json));
            }
        }
        // The stored views are complete for the current headers only once nothing is dirty;
        // until then the digest is removed. Computing it hashes every header, so under a
        // steady stream of updates it is written at most every `VIEWS_DIGEST_INTERVAL` (and at
        // shutdown): a node that crashes in between rebuilds its views at the next start.
        let digest = (self.dirty_views.is_empty() && digest_due).then(|| {
            self.last_views_digest = Some(Instant::now());
            self.engine.state().header_digest()
        });
        match self.store.put_views(&rows, digest.as_ref()) {
            Ok(()) => self.views_digest_missing = digest.is_none(),
            Err(e) => {
                self.views_digest_missing = true;
                tracing::warn!(error = %e, "writing derived views failed; they are rebuilt at the next start");
            }
        }
    }

    /// Feeds the engine, keeps its own bookkeeping, and hands the step's outward effects to
    /// the writer in order. Returns the results of a submission (not yet durable: reply
    /// through [`Core::reply_when_durable`]).
    fn run_engine(&mut self, input: Input) -> Option<Vec<Result<UpdateId, Rejection>>> {
        let t = Instant::now();
        let effects = self.engine.handle(now_epoch(), input);
        let engine_us = t.elapsed().as_micros() as u64;
        let mut submitted = None;
        let mut step = Vec::new();
        for effect in effects {
            match effect {
                Effect::Persist(ops) => {
                    let arrived = now_epoch().0;
                    for op in &ops {
                        if let StoreOp::PutHeader { id, signed } = op {
                            if let Some(object) = signed.header.object {
                                self.dirty_views.insert(object);
                                self.screen_dirty.insert(object);
                            }
                            self.record_arrival(*id, arrived);
                        }
                    }
                    step.push(Action::Persist(ops));
                }
                Effect::Publish(bytes) => step.push(Action::Network(NetworkOutput::Publish(bytes))),
                Effect::GossipVerdict { from, message_id, verdict } => {
                    self.judge(NetworkOutput::Verdict { from, message_id, verdict })
                }
                Effect::Submitted(results) => submitted = Some(results),
                Effect::Rejected { from, id, rejection } => {
                    tracing::debug!(peer = ?from.map(|p| p.0), id = ?id, reason = %rejection, kind = ?rejection.kind(), "update rejected");
                }
                Effect::Penalise { peer, reason } => {
                    tracing::info!(peer = %peer, %reason, "peer sent invalid data");
                    self.judge(NetworkOutput::Penalise { peer, reason });
                }
                Effect::ViewsChanged(objects) => {
                    self.screen_dirty.extend(objects.iter().copied());
                    self.dirty_views.extend(objects);
                }
                Effect::MembershipChanged => step.push(Action::Network(NetworkOutput::MembershipChanged)),
                Effect::SendSync { peer, request } => {
                    step.push(Action::Network(NetworkOutput::SendSync { peer, request }))
                }
                Effect::SyncFinished { peer, report } => {
                    step.push(Action::Network(NetworkOutput::SyncFinished { peer, report }))
                }
            }
        }
        self.writer.send(step);
        tracing::debug!(engine_us, "engine step");
        submitted
    }

    /// Sends a judgement of a peer's message to the network now. A full queue drops it, as the
    /// writer does: gossip is an optimisation, and anti-entropy delivers what it missed.
    fn judge(&self, output: NetworkOutput) {
        let _ = self.judgements.try_send(output);
    }

    /// Answers once everything the engine did so far is durable (a submission's reply).
    fn reply_when_durable<T: Send + 'static>(&self, reply: oneshot::Sender<T>, value: T) {
        self.writer.then(Box::new(move || {
            let _ = reply.send(value);
        }));
    }

    /// Hands the shared catalogue to screening: all of it when no full screening ran yet or the
    /// interval has passed (the window moves with the clock), else the objects whose shared
    /// orbit changed. A full queue keeps them for the next tick.
    fn feed_screening(&mut self) {
        let Some(interval) = self.screening.as_ref().map(|(_, interval)| *interval) else { return };
        let full_due = self.last_full_screening.is_none_or(|t| t.elapsed() >= interval);
        // A change to most of the catalogue is cheaper to screen in full.
        let mostly_changed = self.screen_dirty.len() * 4 > self.engine.state().n_objects().max(1);
        let job = if full_due || (mostly_changed && !self.screen_dirty.is_empty()) {
            let objects: Vec<ObjectId> = self.engine.state().objects().copied().collect();
            let objects = objects.iter().filter_map(|o| self.shared_orbit(o)).collect();
            Job::Full { start: now_epoch(), objects }
        } else if !self.screen_dirty.is_empty() {
            let (mut changed, mut removed) = (Vec::new(), Vec::new());
            let dirty: Vec<ObjectId> = self.screen_dirty.iter().copied().collect();
            for object in dirty {
                match self.shared_orbit(&object) {
                    Some(o) => changed.push(o),
                    None => removed.push(object),
                }
            }
            Job::Changed { changed, removed }
        } else {
            return;
        };
        let full = matches!(job, Job::Full { .. });
        let Some((service, _)) = &self.screening else { return };
        if service.try_submit(job).is_ok() {
            self.screen_dirty.clear();
            if full {
                self.last_full_screening = Some(Instant::now());
            }
        }
    }

    fn conjunctions(&mut self, query: &ConjunctionQuery) -> Result<Vec<ConjunctionReport>, String> {
        let Some((service, _)) = &self.screening else {
            return Err("screening is off on this node ([screening] enabled = false in its config)".into());
        };
        let events = service.events();
        let selected: Vec<&crate::screening::service::Event> = events
            .iter()
            .filter(|e| query.object.is_none_or(|o| e.primary == o || e.secondary == o))
            .filter(|e| query.within_km.is_none_or(|d| e.miss_distance_km <= d))
            .filter(|e| query.since.is_none_or(|t| e.tca >= t))
            .filter(|e| query.until.is_none_or(|t| e.tca <= t))
            .filter(|e| {
                query.min_pc.is_none_or(|min| match &e.probability {
                    crate::screening::screen::CollisionProbability::Computed { pc, .. } => *pc >= min,
                    _ => false,
                })
            })
            .take(query.limit.unwrap_or(usize::MAX))
            .collect();
        let mut out = Vec::with_capacity(selected.len());
        for event in selected {
            let mut agency_names = BTreeMap::new();
            let spread = if query.spread {
                let of = |core: &mut Self, o: &ObjectId| {
                    core.engine.view(o).map(|v| v.current.clone()).unwrap_or_default()
                };
                let (primary, secondary) = (of(self, &event.primary), of(self, &event.secondary));
                let mut sources = Vec::new();
                for p in &primary {
                    for s in &secondary {
                        sources.push(crate::screening::screen::spread::SourceEstimates {
                            source: (p.agency, s.agency),
                            primary: p.estimate.clone(),
                            secondary: s.estimate.clone(),
                        });
                    }
                }
                for c in primary.iter().chain(&secondary) {
                    if let Some(name) = agency_name(self.engine.state(), &c.agency) {
                        agency_names.insert(c.agency.to_hex(), name);
                    }
                }
                Some(crate::screening::screen::spread::source_spread(
                    event.tca,
                    crate::screening::screen::spread::DEFAULT_SEARCH_HALF_WIDTH_S,
                    sources,
                ))
            } else {
                None
            };
            let name =
                |core: &mut Self, o: &ObjectId| core.engine.view(o).and_then(|v| v.consensus.name.clone());
            out.push(ConjunctionReport {
                primary_name: name(self, &event.primary),
                secondary_name: name(self, &event.secondary),
                event: event.clone(),
                spread,
                agency_names,
            });
        }
        Ok(out)
    }

    /// An object's shared orbit as screening takes it: the estimate and its update id.
    fn shared_orbit(&mut self, object: &ObjectId) -> Option<ScreenObject<UpdateId>> {
        let shared = self.engine.view(object)?.shared.as_ref()?;
        Some(ScreenObject { estimate: shared.estimate.clone(), source: shared.update_id })
    }

    /// Remembers when an update arrived, for the last [`ARRIVALS_KEPT`] updates.
    fn record_arrival(&mut self, id: UpdateId, at_us: i64) {
        if self.arrivals.insert(id, at_us).is_none() {
            self.arrival_order.push_back(id);
            if self.arrival_order.len() > ARRIVALS_KEPT {
                if let Some(old) = self.arrival_order.pop_front() {
                    self.arrivals.remove(&old);
                }
            }
        }
    }

    fn submit(&mut self, records: Vec<Record>) -> Vec<Result<UpdateId, Rejection>> {
        let n = records.len();
        self.run_engine(Input::Submit { records }).unwrap_or_else(|| {
            (0..n).map(|_| Err(Rejection::CannotSign("no answer from the engine"))).collect()
        })
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::SubmitElementSets { sets, reply } => {
                let summary = self.submit_element_sets(sets);
                self.reply_when_durable(reply, summary);
            }
            Command::SubmitRecords { records, reply } => {
                let results: Vec<_> =
                    self.submit(records).into_iter().map(|r| r.map_err(|e| e.to_string())).collect();
                self.reply_when_durable(reply, results);
            }
            Command::ImportEnvelopes { items, reply } => {
                let before = self.engine.state().n_headers();
                self.run_engine(Input::Envelopes { from: None, items });
                let added = self.engine.state().n_headers().saturating_sub(before);
                self.reply_when_durable(reply, added);
            }
            Command::Status { reply } => {
                let _ = reply.send(self.status());
            }
            Command::Object { object, reply } => {
                let _ = reply.send(self.object_report(&object));
            }
            Command::History { object, reply } => {
                let _ = reply.send(self.history(&object));
            }
            Command::Catalogue { agency, reply } => {
                let _ = reply.send(self.catalogue(agency));
            }
            Command::Members { reply } => {
                let _ = reply.send(self.members());
            }
            Command::JoinRequest { name, own_peer_id, reply } => {
                let result = self.join_request(name, own_peer_id);
                self.reply_when_durable(reply, result);
            }
            Command::Endorse { request, reply } => {
                let result = self.endorse(request);
                self.reply_when_durable(reply, result);
            }
            Command::Suspend { agency, reason, reply } => {
                let result = self.submit_one(Record::Suspend(Suspend { subject: agency, reason }));
                self.reply_when_durable(reply, result);
            }
            Command::BindNode { peer_id, reply } => {
                let result = self.bind_node(peer_id);
                self.reply_when_durable(reply, result);
            }
            Command::Gate { peer_id, presented, reply } => {
                let result = self.gate(&peer_id, presented);
                self.reply_when_durable(reply, result);
            }
            Command::HandshakeStatements { own_peer_id, reply } => {
                // Our own statements leave the node only once durable (see crate::writer).
                self.writer.wait_durable();
                let agency = self.engine.agency().or_else(|| self.engine.agency_of_node(&own_peer_id));
                let mut statements = agency.map(|a| self.engine.handshake_statements(&a)).unwrap_or_default();
                statements.extend(self.present_also.iter().cloned());
                let _ = reply.send(statements);
            }
            Command::PresentAlso { statements } => self.present_also = statements,
            Command::Arrivals { ids, reply } => {
                let _ = reply.send(ids.iter().map(|id| self.arrivals.get(id).copied()).collect());
            }
            Command::Update { id, reply } => {
                self.writer.wait_durable();
                let _ = reply.send(self.engine.envelope(&id).map(|e| e.to_bytes()));
            }
            Command::Conjunctions { query, reply } => {
                let _ = reply.send(self.conjunctions(&query));
            }
            Command::Check { reply } => {
                self.writer.wait_durable();
                let _ = reply.send(self.check());
            }
            Command::Network(input) => self.network_input(input),
            Command::Shutdown { .. } | Command::Tick => unreachable!("handled by the loop"),
        }
    }

    fn network_input(&mut self, input: NetworkInput) {
        match input {
            NetworkInput::Gossip { from, message_id, bytes } => {
                self.run_engine(Input::Gossip { from, message_id, bytes });
            }
            NetworkInput::SyncStart { peer } => {
                self.run_engine(Input::SyncStart { peer });
            }
            NetworkInput::SyncRequest { request, reply } => {
                // Updates leave the node only once durable (see crate::writer).
                self.writer.wait_durable();
                let _ = reply.send(self.engine.respond(&request));
            }
            NetworkInput::SyncResponse { peer, response } => {
                self.run_engine(Input::SyncResponse { peer, response });
            }
            NetworkInput::SyncFailed { peer, reason } => {
                self.run_engine(Input::SyncFailed { peer, reason });
            }
        }
    }

    fn submit_one(&mut self, record: Record) -> Result<UpdateId, String> {
        self.submit(vec![record])
            .pop()
            .unwrap_or(Err(Rejection::CannotSign("no answer")))
            .map_err(|e| e.to_string())
    }

    /// Signs element sets as this agency: an estimate each (unless identical to the current
    /// one), and a metadata claim where the name or designator differs from the agency's
    /// current claim.
    fn submit_element_sets(&mut self, sets: Vec<ElementSet>) -> Result<SubmitSummary, String> {
        let Some(agency) = self.engine.agency() else {
            return Err("this is a relay node: it holds no signing key and cannot submit. Submit at the agency's signing node".into());
        };
        if !self.engine.may_sign() {
            return Err(
                "not yet synced: the node syncs with a configured peer before it signs; try again shortly"
                    .into(),
            );
        }
        let mut summary = SubmitSummary::default();
        let mut records = Vec::with_capacity(sets.len() * 2);
        let mut kinds = Vec::with_capacity(sets.len() * 2);
        for set in sets {
            let object = set.estimate.object;
            let current = protocol::views::current_estimate(self.engine.state(), &object, &agency);
            if current.as_ref().is_some_and(|c| c.estimate == set.estimate) {
                summary.unchanged += 1;
            } else {
                records.push(Record::OrbitEstimate(set.estimate));
                kinds.push((object, true));
            }
            if set.name.is_some() || set.cospar_id.is_some() {
                let claim = self.current_claim(&object, &agency);
                let differs =
                    claim.as_ref().is_none_or(|m| m.name != set.name || m.cospar_id != set.cospar_id);
                if differs {
                    let mut m = claim.unwrap_or(ObjectMetadata {
                        object,
                        name: None,
                        cospar_id: None,
                        object_type: None,
                        owner: None,
                        launch_date: None,
                        decay_date: None,
                        rcs_m2: None,
                        size_m: None,
                    });
                    m.name = set.name;
                    m.cospar_id = set.cospar_id;
                    records.push(Record::ObjectMetadata(m));
                    kinds.push((object, false));
                }
            }
        }
        let results = self.submit(records);
        for ((object, is_estimate), result) in kinds.into_iter().zip(results) {
            match result {
                Ok(id) if is_estimate => {
                    let current = protocol::views::current_estimate(self.engine.state(), &object, &agency);
                    if current.is_some_and(|c| c.update_id == id) {
                        summary.accepted += 1;
                    } else {
                        summary.superseded += 1;
                    }
                }
                Ok(_) => summary.metadata_updates += 1,
                Err(e) => summary
                    .rejected
                    .push(SubmitRejection { object: object.to_string(), reason: e.to_string() }),
            }
        }
        Ok(summary)
    }

    fn current_claim(&self, object: &ObjectId, agency: &AgencyId) -> Option<ObjectMetadata> {
        let state = self.engine.state();
        state
            .object_updates(object)
            .filter(|e| e.author() == *agency && e.kind() == Kind::ObjectMetadata && state.counts(e))
            .max_by_key(|e| (e.seq(), e.id))
            .and_then(|e| match e.record() {
                Some(Record::ObjectMetadata(m)) => Some(m.clone()),
                _ => None,
            })
    }

    fn status(&mut self) -> CoreStatus {
        let state = self.engine.state();
        let agency = self.engine.agency();
        let stats = self.engine.stats();
        CoreStatus {
            network_name: state.genesis().network_name.clone(),
            network_id: state.network_id().to_hex(),
            agency,
            agency_name: agency.and_then(|a| agency_name(state, &a)),
            signing: agency.is_some(),
            may_sign: self.engine.may_sign(),
            headers: state.n_headers(),
            objects: state.n_objects(),
            held_aside: state.n_aside(),
            members: state.membership().admitted.len(),
            header_digest: hex::encode(state.header_digest()),
            body_digest: hex::encode(state.body_digest()),
            missing_bodies: state.missing_bodies().len(),
            accepted: stats.accepted,
            defective: stats.defective,
            rejected: stats.rejected.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            store_bytes: self.store.size_on_disk(),
            screening: self.screening.as_ref().map(|(s, _)| s.status()),
            started_at: self.started.to_iso_millis(),
            uptime_s: self.started_instant.elapsed().as_secs(),
        }
    }

    /// Ingests only the presented statements that admit the presenting peer's agency: the
    /// binding that lists its peer id, and the endorsements of that agency (and, transitively,
    /// of its endorsers). Everything else a peer presents is ignored.
    fn gate(&mut self, peer_id: &[u8], presented: Vec<Vec<u8>>) -> Option<AgencyId> {
        let decoded: Vec<(Envelope, Vec<u8>)> = presented
            .into_iter()
            .take(MAX_HANDSHAKE_STATEMENTS)
            .filter_map(|b| protocol::codec::decode::<Envelope>(&b).ok().map(|e| (e, b)))
            .collect();
        let binding_author = decoded.iter().find_map(|(e, _)| {
            let h = &e.header.header;
            let lists_peer = match protocol::codec::decode::<Record>(&e.body) {
                Ok(Record::NodeBinding(b)) => b.peer_ids.iter().any(|p| p == peer_id),
                _ => false,
            };
            (h.kind == Kind::NodeBinding && lists_peer).then_some(h.author)
        });
        let mut accepted = Vec::new();
        if let Some(agency) = binding_author {
            let mut wanted: BTreeSet<AgencyId> = BTreeSet::from([agency]);
            let mut grew = true;
            while grew {
                grew = false;
                for (e, _) in &decoded {
                    let h = &e.header.header;
                    if h.kind == Kind::Endorse
                        && h.subject.is_some_and(|s| wanted.contains(&s))
                        && wanted.insert(h.author)
                    {
                        grew = true;
                    }
                }
            }
            for (e, bytes) in decoded {
                let h = &e.header.header;
                let admits = (h.kind == Kind::NodeBinding && h.author == agency)
                    || (h.kind == Kind::Endorse && h.subject.is_some_and(|s| wanted.contains(&s)));
                if admits {
                    accepted.push(bytes);
                }
            }
        }
        if !accepted.is_empty() {
            self.run_engine(Input::Envelopes { from: None, items: accepted });
        }
        self.engine.agency_of_node(peer_id)
    }

    fn check(&mut self) -> CheckReport {
        let incremental = self.engine.views().all().clone();
        let rebuilt = protocol::views::Views::rebuild(self.engine.state());
        let state = self.engine.state();
        let own = self.engine.agency();
        CheckReport {
            views_equal_rebuild: &incremental == rebuilt.all(),
            headers_in_engine: state.entries().count(),
            headers_in_store: self.store.n_headers(),
            own_forks: state.forks().filter(|((a, _), _)| Some(*a) == own).count(),
            forks: state.forks().count(),
            reserved_seq: self.engine.reserved_seq(),
            highest_own_seq: own.and_then(|a| state.highest_seq(&a)),
        }
    }

    fn object_report(&mut self, object: &ObjectId) -> Option<ObjectReport> {
        let view: ObjectView = self.engine.view(object)?.clone();
        let state = self.engine.state();
        let mut agency_names = BTreeMap::new();
        for agency in view.current.iter().map(|c| c.agency).chain(view.claims.iter().map(|c| c.agency)) {
            if let Some(name) = agency_name(state, &agency) {
                agency_names.insert(agency.to_hex(), name);
            }
        }
        Some(ObjectReport { view: serde_json::to_value(&view).unwrap_or_default(), agency_names })
    }

    fn history(&self, object: &ObjectId) -> Vec<HistoryEntry> {
        let state = self.engine.state();
        let mut out: Vec<HistoryEntry> = state
            .object_updates(object)
            .map(|e| HistoryEntry {
                update_id: e.id,
                author: e.author(),
                author_name: agency_name(state, &e.author()),
                seq: e.seq(),
                kind: e.kind(),
                epoch: e.signed.header.epoch,
                signed_at: Epoch(e.seq() as i64),
                in_state: state.in_state(&e.id),
                live: state.is_live(e),
                body_held: e.has_body(),
                forked: state.is_forked(&e.author(), e.seq()),
                retracted: state.is_retracted(&e.id),
                defect: e.defect().map(ToString::to_string),
            })
            .collect();
        out.sort_by_key(|h| (h.seq, h.update_id));
        out
    }

    fn catalogue(&mut self, agency: Option<AgencyId>) -> Vec<CatalogueEntry> {
        let objects: Vec<ObjectId> = self.engine.state().objects().copied().collect();
        let mut out = Vec::with_capacity(objects.len());
        for object in objects {
            let Some(view) = self.engine.view(&object) else { continue };
            let chosen = match agency {
                Some(a) => view
                    .current
                    .iter()
                    .find(|c| c.agency == a)
                    .map(|c| (c.agency, c.update_id, c.estimate.clone())),
                None => view.shared.as_ref().map(|s| (s.agency, s.update_id, s.estimate.clone())),
            };
            let Some((source, update_id, estimate)) = chosen else { continue };
            // One agency's export names objects as that agency claims them (falling back to
            // the consensus); the shared catalogue names them by consensus.
            let c = &view.consensus;
            let claim = agency.and_then(|a| view.claims.iter().find(|m| m.agency == a)).map(|m| &m.metadata);
            let name = claim.and_then(|m| m.name.clone()).or_else(|| c.name.clone());
            let cospar_id = claim.and_then(|m| m.cospar_id.clone()).or_else(|| c.cospar_id.clone());
            let agency = source;
            out.push(CatalogueEntry {
                object,
                agency,
                update_id,
                estimate,
                name,
                cospar_id,
                object_type: c.object_type,
                owner: c.owner.clone(),
            });
        }
        out
    }

    fn members(&self) -> MembersReport {
        let state = self.engine.state();
        let m = state.membership();
        let members = m
            .admitted
            .iter()
            .map(|a| MemberEntry {
                agency: *a,
                name: agency_name(state, a),
                founder: state.genesis().is_founder(a),
                endorsed_by: m.endorsers.get(a).map(|s| s.iter().copied().collect()).unwrap_or_default(),
                nodes: state
                    .newest_binding(a)
                    .unwrap_or_default()
                    .iter()
                    .map(|p| {
                        libp2p::PeerId::from_bytes(p)
                            .map(|p| p.to_string())
                            .unwrap_or_else(|_| hex::encode(p))
                    })
                    .collect(),
            })
            .collect();
        MembersReport {
            endorsement_threshold: state.genesis().endorsement_threshold,
            members,
            suspended: m.suspended.iter().copied().collect(),
        }
    }

    fn join_request(&mut self, name: String, own_peer_id: Vec<u8>) -> Result<JoinRequest, String> {
        let agency =
            self.engine.agency().ok_or("a relay node cannot apply: apply from the agency's signing node")?;
        let mut peer_ids = self.local_peer_ids();
        if !peer_ids.contains(&own_peer_id) {
            peer_ids.push(own_peer_id);
        }
        let id = self.submit_one(Record::NodeBinding(NodeBinding { peer_ids }))?;
        let envelope = self.engine.envelope(&id).ok_or("the binding was not stored")?;
        Ok(JoinRequest {
            name,
            agency,
            network_id: self.engine.network_id().to_hex(),
            binding_hex: hex::encode(envelope.to_bytes()),
        })
    }

    fn endorse(&mut self, request: JoinRequest) -> Result<UpdateId, String> {
        if request.network_id != self.engine.network_id().to_hex() {
            return Err(format!(
                "the request is for network {}, this node is on {}",
                request.network_id,
                self.engine.network_id().to_hex()
            ));
        }
        let binding = hex::decode(&request.binding_hex).map_err(|e| format!("binding_hex: {e}"))?;
        let envelope: Envelope = protocol::codec::decode(&binding).map_err(|e| format!("binding: {e}"))?;
        self.engine
            .check_envelope(&binding)
            .map_err(|e| format!("the request's binding is not valid: {e}"))?;
        if envelope.header.header.author != request.agency || envelope.header.header.kind != Kind::NodeBinding
        {
            return Err("the request's binding is not a node binding signed by the applicant".into());
        }
        self.submit_one(Record::Endorse(Endorse { subject: request.agency, name: request.name, binding }))
    }

    fn bind_node(&mut self, peer_id: Vec<u8>) -> Result<UpdateId, String> {
        let mut peer_ids = self.local_peer_ids();
        if !peer_ids.contains(&peer_id) {
            peer_ids.push(peer_id);
        }
        self.submit_one(Record::NodeBinding(NodeBinding { peer_ids }))
    }

    /// The peer ids this agency binds now (its newest binding), or none yet.
    fn local_peer_ids(&self) -> Vec<Vec<u8>> {
        self.engine.agency().and_then(|a| self.engine.state().newest_binding(&a)).unwrap_or_default()
    }
}

/// Shared, read-mostly facts about this node for the API.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub peer_id: String,
    pub data_dir: String,
    pub relay: bool,
    /// Where the Prometheus metrics endpoint listens, when it is on.
    pub metrics_addr: Option<String>,
}

pub type SharedInfo = Arc<NodeInfo>;
