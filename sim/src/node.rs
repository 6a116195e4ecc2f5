//! One simulated node: the carrier around one real `protocol` engine.
//!
//! This is the simulator's model of `node::core` (the engine task) and `node::network` (the
//! event loop), reduced to what decides correctness:
//!
//! - **Effects in order, `Persist` first.** Effects are carried out one by one. A `Persist`
//!   starts a flush that takes virtual time ([`crate::config::FLUSH_BASE`] plus a cost per
//!   operation); nothing after it (the acknowledgement, the publish, a sync request) happens
//!   before it completes, and inputs that arrive meanwhile wait in the node's queue, as they
//!   wait in the engine task's channel. A crash during a flush loses the batch, and with it
//!   every effect after it.
//! - **Volatile versus durable.** Everything in [`Running`] is lost at a crash: the engine,
//!   the queue, the sessions, the gossip duplicate cache, peer states, bans. Only the
//!   [`Store`] survives, and a restart is `Engine::restore` from it, as the node's start is.
//! - **Gossip** is gossipsub's eager push reduced to flooding over the connected member
//!   peers: a duplicate cache of message ids (blake3 of the bytes) drops copies unseen;
//!   gossip from non-members is ignored; the per-peer and per-author one-second rate windows
//!   ignore the excess; a message is forwarded only after the engine's verdict is `Accept`
//!   (`validate_messages()`). Peer scoring is not modelled; the fault count and the ban are.
//! - **Anti-entropy** is the engine's own sessions: `SendSync` effects become requests on the
//!   simulated link, answered by the peer's `Engine::respond`, and the answer comes back as
//!   `Input::SyncResponse`, all carried as the canonical bytes the node sends. Request ids
//!   match answers to requests as libp2p's request-response does: a late or duplicated answer
//!   is dropped, a lost one fails the request after the node's request timeout.
//! - **Gating** is the node's handshake: on connecting each side presents the statements
//!   that admit its agency; the receiver ingests only those (the same filter as
//!   `node::core`'s gate) and keeps the peer only if its peer id is in the newest binding of
//!   an admitted agency. Configured peers are exempt until the first completed sync, and
//!   every change of membership re-gates every peer.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

use protocol::engine::{Effect, Engine, EngineConfig, Input, Peer, StoreOp, Verdict};
use protocol::envelope::{Envelope, Kind, SignedHeader, Signer};
use protocol::genesis::Genesis;
use protocol::ids::{AgencyId, UpdateId};
use protocol::records::{Record, Suspend};
use protocol::sync::{SyncRequest, SyncResponse, MAX_SYNC_RESPONSE_BYTES};
use protocol::time::Epoch;
use protocol::Rejection;

use crate::config::{node_defaults, Micros, FLUSH_BASE, FLUSH_PER_OP, SECOND};
use crate::hostile;

/// A node's index in the world.
pub type NodeIdx = usize;

/// What a node is, for the run: honest, or one of the hostile kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Honest,
    /// Sends updates with bad signatures or bodies, by gossip and in its sync answers.
    Forger,
    /// Signs two or three different updates at one seq and shows each to different peers.
    Equivocator,
    /// Publishes valid updates far above the gossip rate limits.
    Flooder,
    /// Stops sending anything at some point, and never speaks again.
    Silent,
}

impl Role {
    pub fn is_hostile(self) -> bool {
        self != Role::Honest
    }
}

/// A node's fixed identity in the run.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub idx: NodeIdx,
    /// Its peer id's text (the engine's `Peer`), and the bytes bindings list.
    pub name: String,
    pub peer_bytes: Vec<u8>,
    pub agency: usize,
    pub role: Role,
    /// The agency's signing key, on the agency's one signing node.
    pub signer_seed: Option<[u8; 32]>,
    /// The configured peers this node dials.
    pub neighbours: Vec<NodeIdx>,
}

/// The node's durable store: exactly what the `Persist` effects that completed wrote.
#[derive(Debug, Clone, Default)]
pub struct Store {
    pub headers: BTreeMap<UpdateId, SignedHeader>,
    pub bodies: BTreeMap<UpdateId, Vec<u8>>,
    pub reserved_seq: u64,
}

impl Store {
    /// Applies one batch, atomically (a sled batch per tree, then a flush; `repair` at the
    /// next start removes what a cut-short batch left, so a batch is all or nothing).
    pub fn apply(&mut self, ops: &[StoreOp]) {
        for op in ops {
            match op {
                StoreOp::PutHeader { id, signed } => {
                    self.headers.insert(*id, (**signed).clone());
                }
                StoreOp::PutBody { id, body } => {
                    self.bodies.insert(*id, body.clone());
                }
                StoreOp::DropBody(id) => {
                    self.bodies.remove(id);
                }
                StoreOp::Remove(id) => {
                    self.headers.remove(id);
                    self.bodies.remove(id);
                }
                StoreOp::ReserveSeq(seq) => self.reserved_seq = self.reserved_seq.max(*seq),
            }
        }
    }
}

/// One message on a simulated link, as the node would put it on the wire.
#[derive(Debug, Clone)]
pub enum Message {
    /// A gossipsub message: one canonical envelope.
    Gossip {
        bytes: Rc<Vec<u8>>,
    },
    /// The gating handshake, both ways: the statements that admit the sender's agency.
    HandshakeRequest {
        statements: Rc<Vec<Vec<u8>>>,
    },
    HandshakeResponse {
        statements: Rc<Vec<Vec<u8>>>,
    },
    /// Anti-entropy over request-response: the engine's canonical bytes.
    SyncRequest {
        id: u64,
        bytes: Rc<Vec<u8>>,
    },
    SyncResponse {
        id: u64,
        bytes: Rc<Vec<u8>>,
    },
}

/// Message classes, for the traffic accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Gossip,
    Handshake,
    Sync,
}

impl Message {
    /// Bytes on the wire, payload only (framing and encryption are not counted).
    pub fn wire_bytes(&self) -> usize {
        match self {
            Message::Gossip { bytes } => bytes.len(),
            Message::HandshakeRequest { statements } | Message::HandshakeResponse { statements } => {
                32 + statements.iter().map(|s| s.len() + 2).sum::<usize>()
            }
            Message::SyncRequest { bytes, .. } | Message::SyncResponse { bytes, .. } => bytes.len(),
        }
    }
    pub fn class(&self) -> Class {
        match self {
            Message::Gossip { .. } => Class::Gossip,
            Message::HandshakeRequest { .. } | Message::HandshakeResponse { .. } => Class::Handshake,
            Message::SyncRequest { .. } | Message::SyncResponse { .. } => Class::Sync,
        }
    }
    pub fn kind_name(&self) -> &'static str {
        match self {
            Message::Gossip { .. } => "gossip",
            Message::HandshakeRequest { .. } => "handshake-request",
            Message::HandshakeResponse { .. } => "handshake-response",
            Message::SyncRequest { .. } => "sync-request",
            Message::SyncResponse { .. } => "sync-response",
        }
    }
}

/// A node's own wake-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The flush in progress is durable.
    PersistDone,
    /// A sync request's timeout.
    RequestTimeout(u64),
}

/// What a node asks of the world.
#[derive(Debug)]
pub enum Out {
    Send {
        to: NodeIdx,
        msg: Message,
    },
    Wake {
        after: Micros,
        wake: Wake,
    },
    /// Close the connection to this peer (gate refused, ban).
    Close {
        peer: NodeIdx,
    },
    /// A submission's results, carried out after its `Persist` completed.
    Submitted(Vec<Result<UpdateId, Rejection>>),
    /// Crash this node now (only the `AckBeforeDurable` sabotage asks).
    CrashNow,
}

/// The context of one step: the virtual time and where outputs go.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub now: Micros,
    /// The wall-clock epoch of virtual time zero.
    pub t0: Epoch,
    pub out: &'a mut Vec<Out>,
}

impl Ctx<'_> {
    fn epoch(&self) -> Epoch {
        Epoch(self.t0.0 + self.now as i64)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Connected, handshake not answered yet.
    Pending,
    Admitted(AgencyId),
    /// A configured peer, exempt until the first completed sync with it.
    Bootstrap,
}

#[derive(Debug, Clone, Copy)]
struct RateWindow {
    start: Micros,
    count: u32,
}

impl RateWindow {
    fn new(now: Micros) -> Self {
        Self { start: now, count: 0 }
    }
    /// As `node::network`'s: counts one event; whether it is within the limit of its window.
    fn admit(&mut self, now: Micros, limit: u32) -> bool {
        if now.saturating_sub(self.start) >= SECOND {
            *self = Self::new(now);
        }
        self.count = self.count.saturating_add(1);
        self.count <= limit
    }
}

#[derive(Debug)]
struct PeerState {
    gate: Gate,
    faults: u32,
    rate: RateWindow,
    synced: bool,
    /// When the last session this node started with the peer completed.
    last_sync: Option<Micros>,
}

/// Work waiting for the engine task, in arrival order.
#[derive(Debug)]
enum Work {
    Gossip { from: NodeIdx, message_id: [u8; 32], bytes: Rc<Vec<u8>> },
    Gate { from: NodeIdx, statements: Rc<Vec<Vec<u8>>>, reply: bool },
    Respond { from: NodeIdx, request_id: u64, request: SyncRequest },
    Engine(Input),
}

/// What remains to carry out of the current engine step.
#[derive(Debug)]
enum Step {
    Effect(Effect),
    /// The gate's verdict on a peer, taken once the statements it presented are durable.
    Gated {
        peer: NodeIdx,
        reply: bool,
    },
}

/// A bounded cache of gossip message ids, each forgotten after [`node_defaults::SEEN_TTL`].
#[derive(Debug, Default)]
struct SeenCache {
    ids: BTreeSet<[u8; 32]>,
    order: VecDeque<(Micros, [u8; 32])>,
}

impl SeenCache {
    /// Records an id; whether it was new.
    fn insert(&mut self, now: Micros, id: [u8; 32]) -> bool {
        while let Some((at, old)) = self.order.front().copied() {
            if at + node_defaults::SEEN_TTL > now {
                break;
            }
            self.order.pop_front();
            self.ids.remove(&old);
        }
        if self.ids.insert(id) {
            self.order.push_back((now, id));
            true
        } else {
            false
        }
    }
}

/// Counters of one node over the whole run (they survive its crashes).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NodeStats {
    pub msgs_sent: u64,
    pub bytes_sent: u64,
    pub msgs_received: u64,
    pub bytes_received: u64,
    /// Gossip copies dropped by the duplicate cache.
    pub gossip_duplicates: u64,
    /// Gossip ignored over the per-peer or per-author rate.
    pub gossip_throttled: u64,
    /// Gossip from peers that are not (yet) members, ignored.
    pub gossip_from_non_members: u64,
    /// Gossip and sync requests turned away because the engine's queue was full.
    pub queue_full: u64,
    /// Updates the engine received that it already held (by gossip, sync or handshake).
    pub engine_duplicates: u64,
    pub syncs_completed: u64,
    pub syncs_aborted: u64,
    pub penalties: u64,
    pub bans: u64,
    pub gate_refusals: u64,
    pub crashes: u64,
    pub flushes: u64,
    /// Sync requests this node answered, by kind: digest, reconcile, headers, bodies.
    pub requests_answered: [u64; 4],
    /// Body fetches it answered without a single body (the asker wanted what it lacks).
    pub empty_body_answers: u64,
}

/// Everything a crash loses.
struct Running {
    engine: Engine,
    peers: BTreeMap<NodeIdx, PeerState>,
    banned_until: BTreeMap<NodeIdx, Micros>,
    inbox: VecDeque<Work>,
    steps: VecDeque<Step>,
    flushing: Option<Vec<StoreOp>>,
    seen: SeenCache,
    author_rates: BTreeMap<AgencyId, RateWindow>,
    /// Sync requests awaiting an answer: id to peer.
    pending_requests: BTreeMap<u64, NodeIdx>,
    next_request: u64,
    /// Gossip awaiting the engine's verdict, by message id, with the peer it came from.
    validating: BTreeMap<[u8; 32], Rc<Vec<u8>>>,
    /// Agencies this node's operator has already voted to suspend.
    suspended_by_me: BTreeSet<AgencyId>,
}

/// One simulated node.
pub struct SimNode {
    pub spec: NodeSpec,
    pub store: Store,
    pub stats: NodeStats,
    /// Incremented at every start: wake-ups of an earlier life are ignored.
    pub incarnation: u32,
    /// Sabotage: acknowledge before the next submission is durable, then crash.
    pub ack_before_durable: bool,
    /// Sabotage: never start anti-entropy.
    pub no_anti_entropy: bool,
    running: Option<Running>,
    peer_names: Rc<Vec<Peer>>,
}

impl std::fmt::Debug for SimNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimNode").field("name", &self.spec.name).field("up", &self.is_up()).finish()
    }
}

impl SimNode {
    pub fn new(spec: NodeSpec, peer_names: Rc<Vec<Peer>>) -> Self {
        Self {
            spec,
            store: Store::default(),
            stats: NodeStats::default(),
            incarnation: 0,
            ack_before_durable: false,
            no_anti_entropy: false,
            running: None,
            peer_names,
        }
    }

    pub fn is_up(&self) -> bool {
        self.running.is_some()
    }

    pub fn engine(&self) -> Option<&Engine> {
        self.running.as_ref().map(|r| &r.engine)
    }

    pub fn engine_mut(&mut self) -> Option<&mut Engine> {
        self.running.as_mut().map(|r| &mut r.engine)
    }

    fn signer(&self) -> Option<Signer> {
        self.spec.signer_seed.map(Signer::from_seed)
    }

    /// Starts (or restarts) the node from its store, as the node's `core::spawn` does.
    pub fn start(&mut self, genesis: &Genesis, run_seed: u64) {
        self.incarnation += 1;
        let config = EngineConfig {
            // A signing node with peers configured syncs once before it signs (DESIGN §7).
            // (Without anti-entropy, the sabotaged carrier could never sign at all.)
            sync_before_signing: self.spec.signer_seed.is_some()
                && self.spec.role == Role::Honest
                && !self.no_anti_entropy,
            verify_threads: 1,
            ..EngineConfig::default()
        };
        let mut rng_seed = [0u8; 32];
        rng_seed[..8].copy_from_slice(&run_seed.to_le_bytes());
        rng_seed[8..16].copy_from_slice(&(self.spec.idx as u64).to_le_bytes());
        rng_seed[16..20].copy_from_slice(&self.incarnation.to_le_bytes());
        let engine = Engine::restore(
            genesis.clone(),
            config,
            self.signer(),
            rng_seed,
            self.store.headers.values().cloned(),
            self.store.bodies.iter().map(|(id, b)| (*id, b.clone())),
            self.store.reserved_seq,
        );
        self.running = Some(Running {
            engine,
            peers: BTreeMap::new(),
            banned_until: BTreeMap::new(),
            inbox: VecDeque::new(),
            steps: VecDeque::new(),
            flushing: None,
            seen: SeenCache::default(),
            author_rates: BTreeMap::new(),
            pending_requests: BTreeMap::new(),
            next_request: 0,
            validating: BTreeMap::new(),
            suspended_by_me: BTreeSet::new(),
        });
    }

    /// Loses everything volatile; a flush in progress never completes.
    pub fn crash(&mut self) {
        if self.running.take().is_some() {
            self.stats.crashes += 1;
        }
    }

    /// Whether this node refuses a connection from `peer` now (banned).
    pub fn refuses(&self, peer: NodeIdx, now: Micros) -> bool {
        self.running.as_ref().is_some_and(|r| r.banned_until.get(&peer).is_some_and(|&until| now < until))
    }

    pub fn is_connected(&self, peer: NodeIdx) -> bool {
        self.running.as_ref().is_some_and(|r| r.peers.contains_key(&peer))
    }

    /// Connected peers whose gate lets them exchange (admitted or exempt bootstrap).
    pub fn member_peers(&self) -> Vec<NodeIdx> {
        self.running.as_ref().map_or_else(Vec::new, |r| {
            r.peers.iter().filter(|(_, s)| is_member(s.gate)).map(|(p, _)| *p).collect()
        })
    }

    /// The members an anti-entropy round syncs with (see [`SimNode::on_sync_timer`]).
    fn peers_to_sync(&self, now: Micros) -> Vec<NodeIdx> {
        let Some(run) = self.running.as_ref() else { return Vec::new() };
        protocol::sync::peers_to_sync(
            run.peers
                .iter()
                .filter(|(_, s)| is_member(s.gate))
                .map(|(p, s)| (s.last_sync, mix(self.spec.idx as u64, *p as u64, now), *p)),
        )
    }

    /// Admitted peers (gate passed), for the report.
    pub fn admitted_peers(&self) -> usize {
        self.running
            .as_ref()
            .map_or(0, |r| r.peers.values().filter(|s| matches!(s.gate, Gate::Admitted(_))).count())
    }

    /// Connected peers still waiting for the gate's verdict (handshake not answered).
    pub fn pending_peers(&self) -> usize {
        self.running.as_ref().map_or(0, |r| r.peers.values().filter(|s| s.gate == Gate::Pending).count())
    }

    /// Whether a write batch is being flushed (a crash now loses it).
    pub fn is_flushing(&self) -> bool {
        self.running.as_ref().is_some_and(|r| r.flushing.is_some())
    }

    fn peer(&self, idx: NodeIdx) -> Peer {
        self.peer_names[idx].clone()
    }

    // ------------------------------------------------------------------ connections

    /// A connection to `peer` is established: handshake.
    pub fn on_connected(&mut self, peer: NodeIdx, ctx: &mut Ctx) {
        let Some(run) = self.running.as_mut() else { return };
        run.peers.insert(
            peer,
            PeerState {
                gate: Gate::Bootstrap,
                faults: 0,
                rate: RateWindow::new(ctx.now),
                synced: false,
                last_sync: None,
            },
        );
        let statements = self.own_statements();
        ctx.out.push(Out::Send { to: peer, msg: Message::HandshakeRequest { statements } });
    }

    /// The connection to `peer` closed: pending requests to it fail, as libp2p reports.
    pub fn on_disconnected(&mut self, peer: NodeIdx, ctx: &mut Ctx) {
        let Some(run) = self.running.as_mut() else { return };
        let was_connected = run.peers.remove(&peer).is_some();
        let failed: Vec<u64> =
            run.pending_requests.iter().filter(|(_, p)| **p == peer).map(|(id, _)| *id).collect();
        for id in &failed {
            run.pending_requests.remove(id);
        }
        // (A peer this node closed itself, on a ban or a refusal, is already gone from its
        // peers, but its requests still fail now, as libp2p fails them with the connection.)
        if !was_connected && failed.is_empty() {
            return;
        }
        let peer = self.peer(peer);
        self.enqueue(Work::Engine(Input::SyncFailed { peer, reason: "disconnected".into() }), ctx);
    }

    /// What this node presents in the handshake (`Command::HandshakeStatements`).
    fn own_statements(&self) -> Rc<Vec<Vec<u8>>> {
        let Some(run) = self.running.as_ref() else { return Rc::new(Vec::new()) };
        let agency = run.engine.agency().or_else(|| run.engine.agency_of_node(&self.spec.peer_bytes));
        Rc::new(agency.map(|a| run.engine.handshake_statements(&a)).unwrap_or_default())
    }

    // ------------------------------------------------------------------ messages in

    /// A message arrived from a connected peer.
    pub fn on_message(&mut self, from: NodeIdx, msg: Message, ctx: &mut Ctx) {
        let Some(run) = self.running.as_mut() else { return };
        let Some(state) = run.peers.get_mut(&from) else { return };
        match msg {
            Message::Gossip { bytes } => {
                let message_id = *blake3::hash(&bytes).as_bytes();
                if !run.seen.insert(ctx.now, message_id) {
                    self.stats.gossip_duplicates += 1;
                    return;
                }
                if !is_member(state.gate) {
                    self.stats.gossip_from_non_members += 1;
                    return;
                }
                let peer_over = !state.rate.admit(ctx.now, crate::config::MAX_GOSSIP_PER_PEER_PER_S);
                if peer_over || !author_admits(&mut run.author_rates, &bytes, ctx.now) {
                    self.stats.gossip_throttled += 1;
                    return;
                }
                if run.inbox.len() >= node_defaults::COMMAND_QUEUE {
                    self.stats.queue_full += 1;
                    return;
                }
                self.enqueue(Work::Gossip { from, message_id, bytes }, ctx);
            }
            Message::HandshakeRequest { statements } => {
                self.enqueue(Work::Gate { from, statements, reply: true }, ctx);
            }
            Message::HandshakeResponse { statements } => {
                self.enqueue(Work::Gate { from, statements, reply: false }, ctx);
            }
            Message::SyncRequest { id, bytes } => {
                if !is_member(state.gate) {
                    let refused = SyncResponse::Refused(
                        "not admitted: complete the handshake as a member first".into(),
                    );
                    self.answer(from, id, &refused, ctx);
                    return;
                }
                match SyncRequest::from_bytes(&bytes) {
                    Err(e) => {
                        self.fault(from, ctx);
                        self.answer(from, id, &SyncResponse::Refused(format!("malformed request: {e}")), ctx);
                    }
                    Ok(_) if run.inbox.len() >= node_defaults::COMMAND_QUEUE => {
                        self.stats.queue_full += 1;
                        self.answer(from, id, &SyncResponse::Refused("busy: try again later".into()), ctx);
                    }
                    Ok(request) => self.enqueue(Work::Respond { from, request_id: id, request }, ctx),
                }
            }
            Message::SyncResponse { id, bytes } => {
                // As libp2p: an answer to a request no longer pending (timed out, or a
                // duplicate) is dropped.
                if run.pending_requests.remove(&id).is_none() {
                    return;
                }
                let peer = self.peer(from);
                let input = match SyncResponse::from_bytes(&bytes) {
                    Ok(response) => Input::SyncResponse { peer, response },
                    Err(e) => {
                        self.fault(from, ctx);
                        Input::SyncFailed { peer, reason: e }
                    }
                };
                self.enqueue(Work::Engine(input), ctx);
            }
        }
    }

    /// Sends the answer to a sync request, forging it first if this node is a forger.
    fn answer(&mut self, to: NodeIdx, id: u64, response: &SyncResponse, ctx: &mut Ctx) {
        let bytes = response.to_bytes();
        if bytes.len() > MAX_SYNC_RESPONSE_BYTES {
            // The engine bounds its answers below the cap; a breach would be a protocol bug.
            let refused = SyncResponse::Refused("answer over the response cap".into()).to_bytes();
            ctx.out.push(Out::Send { to, msg: Message::SyncResponse { id, bytes: Rc::new(refused) } });
            return;
        }
        ctx.out.push(Out::Send { to, msg: Message::SyncResponse { id, bytes: Rc::new(bytes) } });
    }

    /// A wake-up this node asked for.
    pub fn on_wake(&mut self, wake: Wake, ctx: &mut Ctx) {
        let Some(run) = self.running.as_mut() else { return };
        match wake {
            Wake::PersistDone => {
                if let Some(ops) = run.flushing.take() {
                    self.store.apply(&ops);
                    self.stats.flushes += 1;
                }
                self.pump(ctx);
            }
            Wake::RequestTimeout(id) => {
                if let Some(peer) = run.pending_requests.remove(&id) {
                    let peer = self.peer(peer);
                    self.enqueue(
                        Work::Engine(Input::SyncFailed { peer, reason: "request timed out".into() }),
                        ctx,
                    );
                }
            }
        }
    }

    /// The anti-entropy timer (the node's `sync_round`): a tick, and a session with each member
    /// [`protocol::sync::peers_to_sync`] picks, ties broken by a hash of the node, the peer and
    /// the time. The operator of an honest signing node also votes to suspend every agency it
    /// holds a fork proof against (DESIGN §4: a member that forks on purpose can be suspended).
    pub fn on_sync_timer(&mut self, ctx: &mut Ctx) {
        let Some(run) = self.running.as_mut() else { return };
        run.inbox.push_back(Work::Engine(Input::Tick));
        if !self.no_anti_entropy {
            for peer in self.peers_to_sync(ctx.now) {
                let peer = self.peer(peer);
                self.enqueue(Work::Engine(Input::SyncStart { peer }), ctx);
            }
        }
        self.suspend_forkers(ctx);
        self.pump(ctx);
    }

    fn suspend_forkers(&mut self, ctx: &mut Ctx) {
        if self.spec.role != Role::Honest || self.spec.signer_seed.is_none() {
            return;
        }
        let Some(run) = self.running.as_mut() else { return };
        if !run.engine.may_sign() {
            return;
        }
        let state = run.engine.state();
        let forkers: BTreeSet<AgencyId> = state
            .forks()
            .map(|((author, _), _)| *author)
            .filter(|a| state.genesis().is_founder(a) || state.membership().is_admitted(a))
            .filter(|a| !state.membership().suspended.contains(a) && !run.suspended_by_me.contains(a))
            .filter(|a| Some(*a) != run.engine.agency())
            .collect();
        if forkers.is_empty() {
            return;
        }
        run.suspended_by_me.extend(forkers.iter().copied());
        let records = forkers
            .into_iter()
            .map(|subject| {
                Record::Suspend(Suspend { subject, reason: "signed two updates at one seq".into() })
            })
            .collect();
        self.enqueue(Work::Engine(Input::Submit { records }), ctx);
    }

    /// A local submission (the API's `submit`).
    pub fn submit(&mut self, records: Vec<Record>, ctx: &mut Ctx) {
        self.enqueue(Work::Engine(Input::Submit { records }), ctx);
    }

    /// Whether the engine would sign now.
    pub fn may_sign(&self) -> bool {
        self.engine().is_some_and(Engine::may_sign)
    }

    /// Publishes bytes exactly as given to the member peers chosen (a hostile node's tool,
    /// like the node's `PublishRaw`): marked seen here, so they are not taken back.
    pub fn inject_gossip(&mut self, bytes: Vec<u8>, to: &[NodeIdx], ctx: &mut Ctx) {
        let Some(run) = self.running.as_mut() else { return };
        let bytes = Rc::new(bytes);
        run.seen.insert(ctx.now, *blake3::hash(&bytes).as_bytes());
        for &peer in to {
            if run.peers.get(&peer).is_some_and(|s| is_member(s.gate)) {
                ctx.out.push(Out::Send { to: peer, msg: Message::Gossip { bytes: Rc::clone(&bytes) } });
            }
        }
    }

    // ------------------------------------------------------------------ the engine task

    fn enqueue(&mut self, work: Work, ctx: &mut Ctx) {
        let Some(run) = self.running.as_mut() else { return };
        run.inbox.push_back(work);
        self.pump(ctx);
    }

    /// Runs queued work through the engine until the queue is empty or a flush is in
    /// progress.
    fn pump(&mut self, ctx: &mut Ctx) {
        loop {
            let Some(run) = self.running.as_mut() else { return };
            if run.flushing.is_some() {
                return;
            }
            if let Some(step) = run.steps.pop_front() {
                self.carry_out(step, ctx);
                continue;
            }
            let Some(work) = run.inbox.pop_front() else { return };
            self.process(work, ctx);
        }
    }

    fn run_engine(&mut self, input: Input, ctx: &mut Ctx) {
        let Some(run) = self.running.as_mut() else { return };
        let before = run.engine.stats().rejected.get("duplicate").copied().unwrap_or(0);
        let effects = run.engine.handle(ctx.epoch(), input);
        let after = run.engine.stats().rejected.get("duplicate").copied().unwrap_or(0);
        self.stats.engine_duplicates += after - before;
        run.steps.extend(effects.into_iter().map(Step::Effect));
    }

    fn process(&mut self, work: Work, ctx: &mut Ctx) {
        match work {
            Work::Gossip { from, message_id, bytes } => {
                let Some(run) = self.running.as_mut() else { return };
                run.validating.insert(message_id, Rc::clone(&bytes));
                let input = Input::Gossip {
                    from: self.peer(from),
                    message_id: message_id.to_vec(),
                    bytes: (*bytes).clone(),
                };
                self.run_engine(input, ctx);
            }
            Work::Gate { from, statements, reply } => {
                let accepted = admitting_statements(&self.spec_peer_bytes(from), &statements);
                if !accepted.is_empty() {
                    self.run_engine(Input::Envelopes { from: None, items: accepted }, ctx);
                }
                if let Some(run) = self.running.as_mut() {
                    run.steps.push_back(Step::Gated { peer: from, reply });
                }
            }
            Work::Respond { from, request_id, request } => {
                let Some(run) = self.running.as_mut() else { return };
                let mut response = run.engine.respond(&request);
                let kind = match &request {
                    SyncRequest::Digest(_) => 0,
                    SyncRequest::Reconcile(_) => 1,
                    SyncRequest::FetchHeaders(_) => 2,
                    SyncRequest::FetchBodies(_) => 3,
                };
                self.stats.requests_answered[kind] += 1;
                if matches!(&response, SyncResponse::Bodies(b) if b.is_empty()) {
                    self.stats.empty_body_answers += 1;
                }
                if self.spec.role == Role::Forger {
                    if let (SyncResponse::Headers(headers), Some(seed)) =
                        (&mut response, self.spec.signer_seed)
                    {
                        let network = run.engine.network_id();
                        headers.push(hostile::forged_header(&Signer::from_seed(seed), network, ctx.epoch()));
                    }
                }
                self.answer(from, request_id, &response, ctx);
            }
            Work::Engine(input) => self.run_engine(input, ctx),
        }
    }

    fn spec_peer_bytes(&self, idx: NodeIdx) -> Vec<u8> {
        self.peer_names[idx].0.as_bytes().to_vec()
    }

    /// Carries out one step of the current engine step.
    fn carry_out(&mut self, step: Step, ctx: &mut Ctx) {
        let peer_bytes = match &step {
            Step::Gated { peer, .. } => self.spec_peer_bytes(*peer),
            Step::Effect(_) => Vec::new(),
        };
        let Some(run) = self.running.as_mut() else { return };
        let effect = match step {
            Step::Gated { peer, reply } => {
                let agency = run.engine.agency_of_node(&peer_bytes);
                self.on_gated(peer, agency, ctx);
                if reply && self.is_connected(peer) {
                    let statements = self.own_statements();
                    ctx.out.push(Out::Send { to: peer, msg: Message::HandshakeResponse { statements } });
                }
                return;
            }
            Step::Effect(effect) => effect,
        };
        match effect {
            Effect::Persist(ops) => {
                if self.ack_before_durable {
                    // Sabotage: the acknowledgement overtakes the write, then the node dies.
                    if let Some(pos) =
                        run.steps.iter().position(|s| matches!(s, Step::Effect(Effect::Submitted(_))))
                    {
                        if let Some(Step::Effect(Effect::Submitted(results))) = run.steps.remove(pos) {
                            self.ack_before_durable = false;
                            ctx.out.push(Out::Submitted(results));
                            ctx.out.push(Out::CrashNow);
                        }
                    }
                }
                let after = FLUSH_BASE + FLUSH_PER_OP * ops.len() as u64;
                run.flushing = Some(ops);
                ctx.out.push(Out::Wake { after, wake: Wake::PersistDone });
            }
            Effect::Publish(bytes) => {
                let bytes = Rc::new(bytes);
                run.seen.insert(ctx.now, *blake3::hash(&bytes).as_bytes());
                for peer in self.member_peers() {
                    ctx.out.push(Out::Send { to: peer, msg: Message::Gossip { bytes: Rc::clone(&bytes) } });
                }
            }
            Effect::GossipVerdict { from, message_id, verdict } => {
                let Ok(id) = <[u8; 32]>::try_from(message_id.as_slice()) else { return };
                let Some(bytes) = run.validating.remove(&id) else { return };
                if verdict == Verdict::Accept {
                    let source = index_in(&self.peer_names, &from);
                    for peer in self.member_peers().into_iter().filter(|p| Some(*p) != source) {
                        ctx.out
                            .push(Out::Send { to: peer, msg: Message::Gossip { bytes: Rc::clone(&bytes) } });
                    }
                }
            }
            Effect::Submitted(results) => ctx.out.push(Out::Submitted(results)),
            Effect::Rejected { .. } | Effect::ViewsChanged(_) => {}
            Effect::Penalise { peer, .. } => {
                if let Some(idx) = index_in(&self.peer_names, &peer) {
                    self.fault(idx, ctx);
                }
            }
            Effect::MembershipChanged => {
                // Re-gate every connected peer against the new membership.
                let statements = self.own_statements();
                let peers: Vec<NodeIdx> =
                    self.running.as_ref().map_or_else(Vec::new, |r| r.peers.keys().copied().collect());
                for peer in peers {
                    ctx.out.push(Out::Send {
                        to: peer,
                        msg: Message::HandshakeRequest { statements: Rc::clone(&statements) },
                    });
                }
            }
            Effect::SendSync { peer, request } => {
                let Some(idx) = index_in(&self.peer_names, &peer) else { return };
                if !run.peers.contains_key(&idx) {
                    // libp2p fails a request to a peer it is not connected to at once.
                    run.inbox
                        .push_front(Work::Engine(Input::SyncFailed { peer, reason: "not connected".into() }));
                    return;
                }
                let id = run.next_request;
                run.next_request += 1;
                run.pending_requests.insert(id, idx);
                let bytes = Rc::new(request.to_bytes());
                ctx.out.push(Out::Send { to: idx, msg: Message::SyncRequest { id, bytes } });
                ctx.out.push(Out::Wake {
                    after: node_defaults::REQUEST_TIMEOUT,
                    wake: Wake::RequestTimeout(id),
                });
            }
            Effect::SyncFinished { peer, report } => {
                let Some(idx) = index_in(&self.peer_names, &peer) else { return };
                if report.aborted.is_some() {
                    self.stats.syncs_aborted += 1;
                    return;
                }
                self.stats.syncs_completed += 1;
                if let Some(state) = run.peers.get_mut(&idx) {
                    state.synced = true;
                    state.last_sync = Some(ctx.now);
                    if state.gate == Gate::Bootstrap {
                        // Exempt only until the first sync: now gate it like anyone.
                        state.gate = Gate::Pending;
                        let statements = self.own_statements();
                        ctx.out.push(Out::Send { to: idx, msg: Message::HandshakeRequest { statements } });
                    }
                }
            }
        }
    }

    fn on_gated(&mut self, peer: NodeIdx, agency: Option<AgencyId>, ctx: &mut Ctx) {
        let Some(run) = self.running.as_mut() else { return };
        let Some(state) = run.peers.get_mut(&peer) else { return };
        let was_member = matches!(state.gate, Gate::Admitted(_));
        state.gate = match (agency, state.gate) {
            (Some(agency), _) => Gate::Admitted(agency),
            (None, Gate::Bootstrap) if !state.synced => Gate::Bootstrap,
            (None, _) => {
                self.stats.gate_refusals += 1;
                run.peers.remove(&peer);
                ctx.out.push(Out::Close { peer });
                return;
            }
        };
        if !was_member && is_member(state.gate) && !self.no_anti_entropy {
            let peer = self.peer_names[peer].clone();
            run.inbox.push_back(Work::Engine(Input::SyncStart { peer }));
        }
    }

    /// A permanent fault by a peer: counted, and at the limit the peer is banned.
    fn fault(&mut self, peer: NodeIdx, ctx: &mut Ctx) {
        let Some(run) = self.running.as_mut() else { return };
        self.stats.penalties += 1;
        let faults = run.peers.get_mut(&peer).map_or(0, |s| {
            s.faults += 1;
            s.faults
        });
        if faults >= node_defaults::MAX_FAULTS {
            self.stats.bans += 1;
            run.banned_until.insert(peer, ctx.now + node_defaults::BAN_DURATION);
            run.peers.remove(&peer);
            ctx.out.push(Out::Close { peer });
        }
    }
}

/// The index of a peer the engine names (names are `n` and the index, zero-padded).
fn index_in(names: &[Peer], peer: &Peer) -> Option<NodeIdx> {
    let idx: NodeIdx = peer.0.strip_prefix('n')?.parse().ok()?;
    (names.get(idx) == Some(peer)).then_some(idx)
}

fn is_member(gate: Gate) -> bool {
    matches!(gate, Gate::Admitted(_) | Gate::Bootstrap)
}

/// Counts a gossiped update against its author's rate (`node::network::author_admits`).
fn author_admits(rates: &mut BTreeMap<AgencyId, RateWindow>, bytes: &[u8], now: Micros) -> bool {
    let Ok(envelope) = protocol::codec::decode::<Envelope>(bytes) else { return true };
    rates
        .entry(envelope.header.header.author)
        .or_insert_with(|| RateWindow::new(now))
        .admit(now, crate::config::MAX_GOSSIP_PER_AUTHOR_PER_S)
}

/// The statements a gate takes from a handshake: the binding that lists the presenter's
/// peer id, and the endorsements of its agency and, transitively, of its endorsers. This is
/// `node::core`'s gate filter, line for line; everything else presented is ignored.
pub fn admitting_statements(peer_id: &[u8], presented: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let decoded: Vec<(Envelope, &Vec<u8>)> = presented
        .iter()
        .take(node_defaults::MAX_HANDSHAKE_STATEMENTS)
        .filter_map(|b| protocol::codec::decode::<Envelope>(b).ok().map(|e| (e, b)))
        .collect();
    let binding_author = decoded.iter().find_map(|(e, _)| {
        let h = &e.header.header;
        let lists_peer = match protocol::codec::decode::<Record>(&e.body) {
            Ok(Record::NodeBinding(b)) => b.peer_ids.iter().any(|p| p == peer_id),
            _ => false,
        };
        (h.kind == Kind::NodeBinding && lists_peer).then_some(h.author)
    });
    let Some(agency) = binding_author else { return Vec::new() };
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
    decoded
        .into_iter()
        .filter(|(e, _)| {
            let h = &e.header.header;
            (h.kind == Kind::NodeBinding && h.author == agency)
                || (h.kind == Kind::Endorse && h.subject.is_some_and(|s| wanted.contains(&s)))
        })
        .map(|(_, b)| b.clone())
        .collect()
}

/// A well-mixed hash of three numbers (splitmix64 steps): deterministic tie-breaks.
fn mix(a: u64, b: u64, c: u64) -> u64 {
    let step = |x: u64| {
        let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    step(step(step(a) ^ b) ^ c)
}
