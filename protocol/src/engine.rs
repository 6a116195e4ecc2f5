//! The sans-IO engine: `handle(now, input) -> effects`.
//!
//! The engine owns the CRDT [`State`] and the incrementally maintained [`Views`], signs local
//! submissions when it holds the agency key, verifies everything that arrives, and runs the
//! anti-entropy sessions. It reads no clock (time comes in as `now`), touches no socket and no
//! disk, and draws randomness only from the seed it was given. The node carries out the
//! effects; the simulator drives the very same engine with virtual time.
//!
//! Effects are carried out in order. A [`Effect::Persist`] must be durable before any effect
//! after it: nothing is acknowledged or published before it is on disk.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use negentropy::{Id, Negentropy, NegentropyStorageVector};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use crate::codec;
use crate::envelope::{
    verify_envelope, verify_header, verify_headers_parallel, Envelope, Kind, SignedHeader, Signer, Verified,
    VerifiedHeader, MAX_SEQ,
};
use crate::error::{RejectKind, Rejection};
use crate::genesis::Genesis;
use crate::ids::{AgencyId, NetworkId, ObjectId, UpdateId};
use crate::membership::Membership;
use crate::records::Record;
use crate::state::{BodyOutcome, Change, State};
use crate::sync::{
    storage_of, Digests, SyncRequest, SyncResponse, MAX_BODIES_PER_FETCH, MAX_BODY_BYTES_PER_ANSWER,
    MAX_IDS_PER_FETCH, MAX_RECONCILE_ROUNDS, NEGENTROPY_FRAME_LIMIT,
};
use crate::time::Epoch;
use crate::views::{ObjectView, Views};

/// A peer, as the carrier names it (a libp2p peer id's text, or a simulated node's name).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Peer(pub String);

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Peer({})", self.0)
    }
}

/// Engine settings that are local to a node (nothing here affects the state).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Bound on updates held aside because their author is not (yet) admitted.
    pub max_aside: usize,
    /// Whether this signing node must complete one sync before it signs (peers configured).
    pub sync_before_signing: bool,
    /// Most body pages one sync session fetches.
    pub max_body_pages_per_session: usize,
    /// Threads for bulk signature verification (the node passes its core count; 1 keeps
    /// everything on the caller's thread, as the simulator wants).
    pub verify_threads: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_aside: 200_000,
            sync_before_signing: false,
            max_body_pages_per_session: 256,
            verify_threads: 1,
        }
    }
}

/// Bodies checked together during a restore (bounds its transient memory).
const RESTORE_CHUNK: usize = 16_384;
/// Sync sessions this engine runs at once; more wait their turn. Sessions started together
/// each fetch the same missing updates: after a partition healed, nodes that reconnected to
/// many peers at once fetched and checked every update of the other side once per peer.
pub const MAX_SYNC_SESSIONS: usize = 2;

/// What the engine is asked to handle.
#[derive(Debug)]
pub enum Input {
    /// One gossip message (an envelope). `message_id` is echoed in the verdict.
    Gossip { from: Peer, message_id: Vec<u8>, bytes: Vec<u8> },
    /// Envelopes in bulk (an import, or a replay): verified in batches.
    Envelopes { from: Option<Peer>, items: Vec<Vec<u8>> },
    /// Signed headers without bodies (as a sync fetch brings them): verified in batches.
    Headers { from: Option<Peer>, headers: Vec<SignedHeader> },
    /// Bodies for held headers (as a body fetch brings them).
    Bodies { from: Option<Peer>, bodies: Vec<(UpdateId, Vec<u8>)> },
    /// Local submissions to sign as this node's agency.
    Submit { records: Vec<Record> },
    /// Start (or restart) an anti-entropy session with a peer: on connect, on a timer, after
    /// a partition heals.
    SyncStart { peer: Peer },
    /// A peer answered one of our sync requests.
    SyncResponse { peer: Peer, response: SyncResponse },
    /// A sync request to a peer failed (timeout, disconnect).
    SyncFailed { peer: Peer, reason: String },
    /// Periodic housekeeping.
    Tick,
}

/// What a gossip message deserves, for gossipsub's validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Valid: forward it.
    Accept,
    /// Not forwarded, sender not penalised (duplicate, not yet, held aside).
    Ignore,
    /// Invalid: not forwarded, sender penalised.
    Reject,
}

/// One durable store operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOp {
    PutHeader {
        id: UpdateId,
        signed: Box<SignedHeader>,
    },
    PutBody {
        id: UpdateId,
        body: Vec<u8>,
    },
    DropBody(UpdateId),
    Remove(UpdateId),
    /// The highest seq this signing node has reserved.
    ReserveSeq(u64),
}

/// What the engine asks its carrier to do.
#[derive(Debug)]
pub enum Effect {
    /// Make these durable, atomically, before carrying out any later effect.
    Persist(Vec<StoreOp>),
    /// Gossip an envelope.
    Publish(Vec<u8>),
    /// The verdict on one gossip message.
    GossipVerdict { from: Peer, message_id: Vec<u8>, verdict: Verdict },
    /// A local submission's results, in order (after its Persist).
    Submitted(Vec<Result<UpdateId, Rejection>>),
    /// An update was rejected (and from whom, where it came from a peer).
    Rejected { from: Option<Peer>, id: Option<UpdateId>, rejection: Rejection },
    /// A peer sent bytes that fail permanent checks: lower its score.
    Penalise { peer: Peer, reason: String },
    /// These objects' views may have changed (screening re-runs for just them).
    ViewsChanged(BTreeSet<ObjectId>),
    /// Membership or bindings changed (gating must re-check peers).
    MembershipChanged,
    /// Send a sync request to a peer; its answer comes back as `Input::SyncResponse`.
    SendSync { peer: Peer, request: SyncRequest },
    /// A sync session ended.
    SyncFinished { peer: Peer, report: SyncReport },
}

/// How a sync session went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// The digests matched at the start.
    pub already_in_sync: bool,
    pub rounds: u32,
    pub headers_fetched: usize,
    pub bodies_fetched: usize,
    /// Bytes of reconciliation messages sent and received.
    pub reconcile_bytes: usize,
    pub aborted: Option<String>,
}

/// Counters for metrics and reports.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub accepted: u64,
    pub defective: u64,
    pub rejected: BTreeMap<&'static str, u64>,
    pub sync_sessions: u64,
    pub sync_bytes: u64,
}

enum Phase {
    AwaitDigest,
    Reconciling {
        negentropy: Box<Negentropy<'static, NegentropyStorageVector>>,
        need: Vec<UpdateId>,
        rounds: u32,
    },
    FetchingHeaders {
        queue: Vec<UpdateId>,
    },
    FetchingBodies {
        queue: Vec<UpdateId>,
        pages: usize,
        /// Every body asked for in this session: one the peer did not supply is not asked
        /// again (it may be held nowhere), so a session ends instead of repeating a page.
        asked: BTreeSet<UpdateId>,
    },
}

struct Session {
    phase: Phase,
    report: SyncReport,
}

/// Results of ingesting a group of updates, turned into effects at the end of `handle`.
#[derive(Default)]
struct Pending {
    ops: Vec<StoreOp>,
    after: Vec<Effect>,
    membership_changed: bool,
    /// Objects whose views may have changed.
    touched: BTreeSet<ObjectId>,
}

/// The protocol engine of one node.
pub struct Engine {
    state: State,
    views: Views,
    config: EngineConfig,
    signer: Option<Signer>,
    reserved_seq: u64,
    synced_for_signing: bool,
    rng: ChaCha20Rng,
    sessions: BTreeMap<Peer, Session>,
    /// Peers waiting for a sync session (at most [`MAX_SYNC_SESSIONS`] run at once).
    deferred_syncs: std::collections::VecDeque<Peer>,
    responder: Option<NegentropyStorageVector>,
    stats: Stats,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("network", &self.state.network_id().short())
            .field("headers", &self.state.n_headers())
            .field("signer", &self.signer)
            .finish()
    }
}

impl Engine {
    /// A new engine. `rng_seed` seeds batch verification (fresh OS randomness in a node).
    pub fn new(genesis: Genesis, config: EngineConfig, signer: Option<Signer>, rng_seed: [u8; 32]) -> Self {
        let synced_for_signing = !config.sync_before_signing;
        Self {
            state: State::new(genesis),
            views: Views::default(),
            config,
            signer,
            reserved_seq: 0,
            synced_for_signing,
            rng: ChaCha20Rng::from_seed(rng_seed),
            sessions: BTreeMap::new(),
            deferred_syncs: std::collections::VecDeque::new(),
            responder: None,
            stats: Stats::default(),
        }
    }

    /// Rebuilds an engine from this node's own store: every header (verified when written),
    /// then the bodies held, each in any order, and the durable seq reservation. Views are
    /// rebuilt.
    pub fn restore(
        genesis: Genesis,
        config: EngineConfig,
        signer: Option<Signer>,
        rng_seed: [u8; 32],
        headers: impl IntoIterator<Item = SignedHeader>,
        bodies: impl IntoIterator<Item = (UpdateId, Vec<u8>)>,
        reserved_seq: u64,
    ) -> Self {
        let mut engine = Self::new(genesis, config, signer, rng_seed);
        engine.reserved_seq = reserved_seq;
        // Every header first, so that each body meets the final liveness (a superseded
        // estimate's body is skipped, not stored and then dropped).
        for signed in headers {
            let header = Verified::from_local_store(signed).into_inner();
            // Stored updates were admitted once; the fork cap may still evict, harmlessly.
            let _ = engine.state.insert_header(header);
        }
        // Bodies are checked (decoding, ranges, SGP4 initialisation) on the configured threads,
        // a bounded chunk at a time, so a large store never sits in memory twice.
        let mut chunk = Vec::with_capacity(RESTORE_CHUNK);
        for body in bodies {
            chunk.push(body);
            if chunk.len() == RESTORE_CHUNK {
                engine.restore_bodies(std::mem::take(&mut chunk));
            }
        }
        engine.restore_bodies(chunk);
        engine.views.mark_all();
        engine
    }

    pub fn state(&self) -> &State {
        &self.state
    }
    /// Every view, brought up to date first.
    pub fn views(&mut self) -> &Views {
        self.views.refresh(&self.state);
        &self.views
    }
    /// One object's view, brought up to date first.
    pub fn view(&mut self, object: &ObjectId) -> Option<&ObjectView> {
        self.views.fresh(&self.state, object)
    }
    pub fn membership(&self) -> &Membership {
        self.state.membership()
    }
    pub fn network_id(&self) -> NetworkId {
        *self.state.network_id()
    }
    pub fn genesis(&self) -> &Genesis {
        self.state.genesis()
    }
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
    pub fn agency(&self) -> Option<AgencyId> {
        self.signer.as_ref().map(Signer::agency)
    }
    pub fn reserved_seq(&self) -> u64 {
        self.reserved_seq
    }
    /// Whether this node may sign now: a signing node with peers syncs first, unless its
    /// agency is not a member yet (then nothing it signs counts, so it cannot fork).
    pub fn may_sign(&self) -> bool {
        self.signer
            .as_ref()
            .is_some_and(|s| self.synced_for_signing || !self.state.membership().is_admitted(&s.agency()))
    }
    pub fn digests(&self) -> Digests {
        Digests {
            headers: self.state.header_digest(),
            bodies: self.state.body_digest(),
            n_headers: self.state.n_headers() as u64,
        }
    }
    /// Whether a sync session with this peer is under way.
    pub fn syncing_with(&self, peer: &Peer) -> bool {
        self.sessions.contains_key(peer)
    }

    /// The agency whose newest binding lists this peer id (bytes), if it is admitted.
    pub fn agency_of_node(&self, peer_id: &[u8]) -> Option<AgencyId> {
        self.state
            .membership()
            .admitted
            .iter()
            .find(|a| self.state.newest_binding(a).is_some_and(|b| b.iter().any(|p| p == peer_id)))
            .copied()
    }

    /// The canonical envelope of a held update (header and, where held, body).
    pub fn envelope(&self, id: &UpdateId) -> Option<Envelope> {
        let e = self.state.get(id)?;
        Some(Envelope { header: e.signed.clone(), body: e.body_bytes().unwrap_or_default() })
    }

    /// What this node presents in the gating handshake: its agency's newest binding and the
    /// membership statements that admit its agency (transitively, through non-founders).
    pub fn handshake_statements(&self, agency: &AgencyId) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let binding = self.state.bindings_of(agency).find(|e| e.body.is_some());
        if let Some(b) = binding {
            out.push(
                Envelope { header: b.signed.clone(), body: b.body_bytes().unwrap_or_default() }.to_bytes(),
            );
        }
        let membership = self.state.membership();
        let mut todo = vec![*agency];
        let mut seen = BTreeSet::new();
        while let Some(a) = todo.pop() {
            if !seen.insert(a) || self.genesis().is_founder(&a) {
                continue;
            }
            for e in self.state.state_entries() {
                let counts = membership.endorsers.get(&a).is_some_and(|by| by.contains(&e.author()));
                if e.kind() == Kind::Endorse
                    && e.signed.header.subject == Some(a)
                    && e.body.is_some()
                    && counts
                {
                    out.push(
                        Envelope { header: e.signed.clone(), body: e.body_bytes().unwrap_or_default() }
                            .to_bytes(),
                    );
                    todo.push(e.author());
                }
            }
        }
        out
    }

    /// Checks stored bodies in parallel and inserts them in order (restore).
    fn restore_bodies(&mut self, bodies: Vec<(UpdateId, Vec<u8>)>) {
        let threads = self.config.verify_threads.max(1);
        let per_thread = bodies.len().div_ceil(threads).max(1);
        let state = &self.state;
        let checks: Vec<Option<Result<Record, crate::validate::Defect>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = bodies
                .chunks(per_thread)
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk.iter().map(|(id, body)| state.check_held_body(id, body)).collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("body checks do not panic")).collect()
        });
        for ((id, body), checked) in bodies.iter().zip(checks) {
            // A body whose bytes no longer match its hash (a damaged store) is left out; it
            // is fetched again from peers as a missing live body.
            if let Some(checked) = checked {
                let _ = self.state.insert_prechecked_body(id, body, checked);
            }
        }
    }

    /// Handles one input and returns the effects to carry out, in order.
    pub fn handle(&mut self, now: Epoch, input: Input) -> Vec<Effect> {
        let mut pending = Pending::default();
        match input {
            Input::Gossip { from, message_id, bytes } => {
                let verdict = self.ingest_bytes(now, &bytes, Some(&from), &mut pending);
                pending.after.push(Effect::GossipVerdict { from, message_id, verdict });
            }
            Input::Envelopes { from, items } => self.ingest_bulk(now, items, from.as_ref(), &mut pending),
            Input::Headers { from, headers } => {
                self.ingest_headers(now, headers, from.as_ref(), &mut pending)
            }
            Input::Bodies { from, bodies } => {
                self.ingest_bodies(now, bodies, from.as_ref(), &mut pending);
            }
            Input::Submit { records } => self.submit(now, records, &mut pending),
            Input::SyncStart { peer } => self.sync_start(peer, &mut pending),
            Input::SyncResponse { peer, response } => self.sync_response(now, peer, response, &mut pending),
            Input::SyncFailed { peer, reason } => {
                self.deferred_syncs.retain(|p| *p != peer);
                self.abort(peer, reason, &mut pending);
            }
            Input::Tick => {}
        }
        self.finish(pending)
    }

    fn finish(&mut self, pending: Pending) -> Vec<Effect> {
        let mut effects = Vec::with_capacity(pending.after.len() + 3);
        if !pending.ops.is_empty() {
            self.responder = None;
            effects.push(Effect::Persist(pending.ops));
        }
        effects.extend(pending.after);
        if pending.membership_changed {
            effects.push(Effect::MembershipChanged);
        }
        if !pending.touched.is_empty() {
            effects.push(Effect::ViewsChanged(pending.touched));
        }
        effects
    }

    fn reject(
        &mut self,
        from: Option<&Peer>,
        id: Option<UpdateId>,
        rejection: Rejection,
        pending: &mut Pending,
    ) {
        *self.stats.rejected.entry(rejection.reason_code()).or_default() += 1;
        if rejection.penalises_sender() {
            if let Some(peer) = from {
                pending.after.push(Effect::Penalise { peer: peer.clone(), reason: rejection.to_string() });
            }
        }
        pending.after.push(Effect::Rejected { from: from.cloned(), id, rejection });
    }

    fn ingest_bytes(
        &mut self,
        now: Epoch,
        bytes: &[u8],
        from: Option<&Peer>,
        pending: &mut Pending,
    ) -> Verdict {
        match verify_envelope(bytes, self.state.network_id()) {
            Ok((header, body)) => self.ingest_verified(now, header, Some(body), from, pending),
            Err(rejection) => {
                self.reject(from, None, rejection, pending);
                Verdict::Reject
            }
        }
    }

    fn ingest_bulk(&mut self, now: Epoch, items: Vec<Vec<u8>>, from: Option<&Peer>, pending: &mut Pending) {
        let mut headers = Vec::with_capacity(items.len());
        let mut bodies = Vec::with_capacity(items.len());
        for bytes in items {
            match codec::decode::<Envelope>(&bytes) {
                Ok(envelope) => {
                    headers.push(envelope.header);
                    bodies.push(envelope.body);
                }
                Err(e) => self.reject(from, None, Rejection::Decode(e), pending),
            }
        }
        let seed = self.seed();
        let verified =
            verify_headers_parallel(headers, self.state.network_id(), seed, self.config.verify_threads);
        for (result, body) in verified.into_iter().zip(bodies) {
            match result.and_then(|h| h.with_body(&body).map(|()| h)) {
                Ok(header) => {
                    self.ingest_verified(now, header, Some(body), from, pending);
                }
                Err(rejection) => self.reject(from, None, rejection, pending),
            }
        }
    }

    fn seed(&mut self) -> [u8; 32] {
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        seed
    }

    /// The shared path for every verified update. Returns the gossip verdict it deserves.
    fn ingest_verified(
        &mut self,
        now: Epoch,
        header: Verified<VerifiedHeader>,
        body: Option<Vec<u8>>,
        from: Option<&Peer>,
        pending: &mut Pending,
    ) -> Verdict {
        let header = header.into_inner();
        let id = header.id;
        let (author, epoch) = (header.signed.header.author, header.signed.header.epoch);
        if let Some(epoch) = epoch {
            let bound_s = self.genesis().max_epoch_ahead_s as i64;
            let ahead_s = (epoch.0 - now.0) / 1_000_000;
            if ahead_s > bound_s {
                self.reject(from, Some(id), Rejection::EpochInFuture { ahead_s, bound_s }, pending);
                return Verdict::Ignore;
            }
        }
        let mut change = Change::default();
        let mut new_header = false;
        if !self.state.contains(&id) {
            let admitted = self.state.membership().is_admitted(&author);
            if !admitted && self.state.n_aside() >= self.config.max_aside {
                self.reject(from, Some(id), Rejection::PendingFull(self.config.max_aside), pending);
                return Verdict::Ignore;
            }
            let signed = Box::new(header.signed.clone());
            match self.state.insert_header(header) {
                Ok(c) => {
                    change = c;
                    new_header = true;
                    pending.ops.push(StoreOp::PutHeader { id, signed });
                }
                Err(rejection) => {
                    self.reject(from, Some(id), rejection, pending);
                    return Verdict::Ignore;
                }
            }
        }
        let mut new_body = false;
        let mut defective = false;
        // Bodies reach this point only with their hash checked (`Verified::with_body`).
        if let Some(body) = body {
            if let (BodyOutcome::Stored { defect }, c) = self.state.insert_checked_body(&id, &body) {
                change_merge(&mut change, c);
                defective = defect.is_some();
                new_body = true;
                pending.ops.push(StoreOp::PutBody { id, body });
            }
        }
        self.apply_change(change, pending);
        if !new_header && !new_body {
            *self.stats.rejected.entry("duplicate").or_default() += 1;
            return Verdict::Ignore;
        }
        if new_header {
            self.stats.accepted += 1;
        }
        if defective {
            self.stats.defective += 1;
        }
        if new_body {
            self.ingest_carried_binding(now, &id, pending);
        }
        if self.state.membership().is_admitted(&author) {
            Verdict::Accept
        } else {
            Verdict::Ignore
        }
    }

    /// An endorsement carries its subject's signed binding: ingest that as an update of its
    /// own (its signature is verified like any other).
    fn ingest_carried_binding(&mut self, now: Epoch, id: &UpdateId, pending: &mut Pending) {
        let Some(entry) = self.state.get(id) else { return };
        let Some(Record::Endorse(endorse)) = entry.record() else { return };
        if let Ok((inner, inner_body)) = verify_envelope(&endorse.binding, self.state.network_id()) {
            if !self.state.contains(&inner.id) {
                self.ingest_verified(now, inner, Some(inner_body), None, pending);
            }
        }
    }

    fn ingest_headers(
        &mut self,
        now: Epoch,
        headers: Vec<SignedHeader>,
        from: Option<&Peer>,
        pending: &mut Pending,
    ) {
        let seed = self.seed();
        let network = self.network_id();
        for result in verify_headers_parallel(headers, &network, seed, self.config.verify_threads) {
            match result {
                Ok(header) => {
                    self.ingest_verified(now, header, None, from, pending);
                }
                Err(rejection) => self.reject(from, None, rejection, pending),
            }
        }
    }

    /// Offers bodies for held headers; returns how many were stored. A body that does not
    /// match its header's hash is the sender's fault; a body not live is simply not kept.
    fn ingest_bodies(
        &mut self,
        now: Epoch,
        bodies: Vec<(UpdateId, Vec<u8>)>,
        from: Option<&Peer>,
        pending: &mut Pending,
    ) -> usize {
        let mut stored = 0;
        for (id, body) in bodies {
            match self.state.insert_body(&id, &body) {
                Ok((BodyOutcome::Stored { defect }, change)) => {
                    stored += 1;
                    if defect.is_some() {
                        self.stats.defective += 1;
                    }
                    pending.ops.push(StoreOp::PutBody { id, body });
                    self.apply_change(change, pending);
                    self.ingest_carried_binding(now, &id, pending);
                }
                Ok(_) => {}
                Err(rejection) => self.reject(from, Some(id), rejection, pending),
            }
        }
        stored
    }

    fn apply_change(&mut self, change: Change, pending: &mut Pending) {
        for id in change.evicted {
            pending.ops.push(StoreOp::Remove(id));
        }
        for id in change.bodies_dropped {
            pending.ops.push(StoreOp::DropBody(id));
        }
        if change.membership {
            pending.membership_changed = true;
            self.views.mark_all();
            pending.touched.extend(self.state.objects().copied());
        }
        pending.touched.extend(change.objects.iter().copied());
        self.views.mark(change.objects);
    }

    /// Signs and ingests local submissions. Seqs are `max(now µs, highest reserved or seen
    /// + 1)`; the highest is reserved in the same durable batch as the updates.
    fn submit(&mut self, now: Epoch, records: Vec<Record>, pending: &mut Pending) {
        let Some(signer) = self.signer.as_ref() else {
            let results = records
                .iter()
                .map(|_| Err(Rejection::CannotSign("this node holds no signing key (a relay node)")))
                .collect();
            pending.after.push(Effect::Submitted(results));
            return;
        };
        // A node that must sync first may still sign while its agency is not a member (a join
        // request's binding): nothing it signs then counts anywhere, so it cannot fork.
        let admitted = self.state.membership().is_admitted(&signer.agency());
        if !self.synced_for_signing && admitted {
            let results = records
                .iter()
                .map(|_| Err(Rejection::CannotSign("not yet synced with a configured peer")))
                .collect();
            pending.after.push(Effect::Submitted(results));
            return;
        }
        let agency = signer.agency();
        let network = self.network_id();
        let mut next = now.0.max(0) as u64;
        next = next.max(self.reserved_seq.saturating_add(1));
        if let Some(seen) = self.state.highest_seq(&agency) {
            next = next.max(seen.saturating_add(1));
        }
        let mut prev = self.state.newest_of(&agency);
        let mut signed = Vec::with_capacity(records.len());
        for record in &records {
            if next > MAX_SEQ {
                signed.push(Err(Rejection::SeqOutOfRange(next)));
                continue;
            }
            let result = signer.sign_own(network, next, prev, record);
            if let Ok(own) = &result {
                prev = Some(own.header.id);
                self.reserved_seq = next;
                next += 1;
            }
            signed.push(result);
        }
        let mut results = Vec::with_capacity(records.len());
        let mut publish = Vec::new();
        for result in signed {
            let outcome = result.and_then(|own| {
                let id = own.header.id;
                let body_defect_before = self.stats.defective;
                match self.ingest_verified(now, own.header, Some(own.envelope.body), None, pending) {
                    Verdict::Reject | Verdict::Ignore if !self.state.contains(&id) => {
                        Err(Rejection::BadSubmission("the update was not stored".into()))
                    }
                    _ if self.stats.defective > body_defect_before => {
                        let reason = self
                            .state
                            .get(&id)
                            .and_then(|e| e.defect().cloned())
                            .map(|d| d.to_string())
                            .unwrap_or_default();
                        Err(Rejection::BadSubmission(format!("defective: {reason}")))
                    }
                    _ => {
                        publish.push(own.bytes);
                        Ok(id)
                    }
                }
            });
            results.push(outcome);
        }
        // The highest seq signed is reserved in the same durable batch as the updates.
        pending.ops.push(StoreOp::ReserveSeq(self.reserved_seq));
        pending.after.push(Effect::Submitted(results));
        pending.after.extend(publish.into_iter().map(Effect::Publish));
    }

    // ---------------------------------------------------------------- anti-entropy

    fn sync_start(&mut self, peer: Peer, pending: &mut Pending) {
        if self.sessions.contains_key(&peer) {
            return;
        }
        if self.sessions.len() >= MAX_SYNC_SESSIONS {
            if !self.deferred_syncs.contains(&peer) {
                self.deferred_syncs.push_back(peer);
            }
            return;
        }
        self.stats.sync_sessions += 1;
        self.sessions
            .insert(peer.clone(), Session { phase: Phase::AwaitDigest, report: SyncReport::default() });
        pending.after.push(Effect::SendSync { peer, request: SyncRequest::Digest(self.digests()) });
    }

    /// Answers a peer's sync request from the current state. Bounds are enforced here: a
    /// request over them is refused, never served partly at the peer's choosing.
    pub fn respond(&mut self, request: &SyncRequest) -> SyncResponse {
        match request {
            SyncRequest::Digest(_) => SyncResponse::Digest(self.digests()),
            SyncRequest::Reconcile(message) => {
                self.stats.sync_bytes += message.len() as u64;
                if self.responder.is_none() {
                    self.responder = Some(storage_of(self.state.items().iter()));
                }
                let storage = self.responder.as_ref().expect("built above");
                let reply = Negentropy::borrowed(storage, NEGENTROPY_FRAME_LIMIT)
                    .and_then(|mut n| n.reconcile(message));
                match reply {
                    Ok(reply) => {
                        self.stats.sync_bytes += reply.len() as u64;
                        SyncResponse::Reconcile(reply)
                    }
                    Err(e) => SyncResponse::Refused(format!("reconciliation failed: {e}")),
                }
            }
            SyncRequest::FetchHeaders(ids) => {
                if ids.len() > MAX_IDS_PER_FETCH {
                    return SyncResponse::Refused(format!(
                        "at most {MAX_IDS_PER_FETCH} ids per header fetch"
                    ));
                }
                let mut headers: Vec<&crate::state::Entry> = ids
                    .iter()
                    .filter_map(|id| self.state.get(id))
                    .filter(|e| self.state.in_state(&e.id))
                    .collect();
                // Membership statements first: they decide whose other updates are admitted.
                headers.sort_by_key(|e| {
                    (!e.kind().is_membership(), e.kind() != Kind::NodeBinding, e.seq(), e.id)
                });
                SyncResponse::Headers(headers.into_iter().map(|e| e.signed.clone()).collect())
            }
            SyncRequest::FetchBodies(ids) => {
                if ids.len() > MAX_BODIES_PER_FETCH {
                    return SyncResponse::Refused(format!(
                        "at most {MAX_BODIES_PER_FETCH} ids per body fetch"
                    ));
                }
                let mut bytes = 0usize;
                let mut bodies = Vec::new();
                for entry in
                    ids.iter().filter_map(|id| self.state.get(id)).filter(|e| self.state.in_state(&e.id))
                {
                    let Some(body) = entry.body_bytes() else { continue };
                    bytes += body.len() + 40;
                    if bytes > MAX_BODY_BYTES_PER_ANSWER {
                        break;
                    }
                    bodies.push((entry.id, body));
                }
                SyncResponse::Bodies(bodies)
            }
        }
    }

    fn abort(&mut self, peer: Peer, reason: String, pending: &mut Pending) {
        if let Some(mut session) = self.sessions.remove(&peer) {
            session.report.aborted = Some(reason);
            pending.after.push(Effect::SyncFinished { peer, report: session.report });
            self.start_deferred(pending);
        }
    }

    fn finish_session(&mut self, peer: Peer, pending: &mut Pending) {
        if let Some(session) = self.sessions.remove(&peer) {
            self.synced_for_signing = true;
            pending.after.push(Effect::SyncFinished { peer, report: session.report });
            self.start_deferred(pending);
        }
    }

    /// Starts waiting sessions while there is room. (A waiting peer that has gone away fails
    /// at its first request, and the next one starts.)
    fn start_deferred(&mut self, pending: &mut Pending) {
        while self.sessions.len() < MAX_SYNC_SESSIONS {
            let Some(peer) = self.deferred_syncs.pop_front() else { break };
            self.sync_start(peer, pending);
        }
    }

    fn sync_response(&mut self, now: Epoch, peer: Peer, response: SyncResponse, pending: &mut Pending) {
        let Some(mut session) = self.sessions.remove(&peer) else { return };
        let phase = std::mem::replace(&mut session.phase, Phase::AwaitDigest);
        let next: Result<Option<(Phase, SyncRequest)>, String> = match (phase, response) {
            (_, SyncResponse::Refused(reason)) => Err(format!("peer refused: {reason}")),
            (Phase::AwaitDigest, SyncResponse::Digest(theirs)) => {
                let mine = self.digests();
                if theirs.headers == mine.headers {
                    session.report.already_in_sync = theirs.bodies == mine.bodies;
                    Ok(self.body_phase(0, BTreeSet::new()))
                } else {
                    let storage = storage_of(self.state.items().iter());
                    match Negentropy::owned(storage, NEGENTROPY_FRAME_LIMIT)
                        .and_then(|mut n| n.initiate().map(|m| (n, m)))
                    {
                        Ok((negentropy, message)) => {
                            session.report.reconcile_bytes += message.len();
                            Ok(Some((
                                Phase::Reconciling {
                                    negentropy: Box::new(negentropy),
                                    need: Vec::new(),
                                    rounds: 1,
                                },
                                SyncRequest::Reconcile(message),
                            )))
                        }
                        Err(e) => Err(format!("cannot start reconciliation: {e}")),
                    }
                }
            }
            (Phase::Reconciling { mut negentropy, mut need, rounds }, SyncResponse::Reconcile(message)) => {
                session.report.reconcile_bytes += message.len();
                session.report.rounds = rounds;
                let mut have_ids: Vec<Id> = Vec::new();
                let mut need_ids: Vec<Id> = Vec::new();
                match negentropy.reconcile_with_ids(&message, &mut have_ids, &mut need_ids) {
                    Err(e) => Err(format!("reconciliation failed: {e}")),
                    Ok(reply) => {
                        need.extend(need_ids.into_iter().map(|id| UpdateId(id.to_bytes())));
                        match reply {
                            Some(_) if rounds >= MAX_RECONCILE_ROUNDS => {
                                Err("too many reconciliation rounds".into())
                            }
                            Some(reply) => {
                                session.report.reconcile_bytes += reply.len();
                                Ok(Some((
                                    Phase::Reconciling { negentropy, need, rounds: rounds + 1 },
                                    SyncRequest::Reconcile(reply),
                                )))
                            }
                            None => {
                                need.retain(|id| !self.state.contains(id));
                                Ok(self.header_phase(need))
                            }
                        }
                    }
                }
            }
            (Phase::FetchingHeaders { queue }, SyncResponse::Headers(headers)) => {
                if headers.len() > MAX_IDS_PER_FETCH {
                    Err("too many headers in one answer".into())
                } else {
                    session.report.headers_fetched += headers.len();
                    self.ingest_headers(now, headers, Some(&peer), pending);
                    Ok(if queue.is_empty() {
                        self.body_phase(0, BTreeSet::new())
                    } else {
                        self.header_phase(queue)
                    })
                }
            }
            (Phase::FetchingBodies { queue, pages, asked }, SyncResponse::Bodies(bodies)) => {
                if bodies.len() > MAX_BODIES_PER_FETCH {
                    Err("too many bodies in one answer".into())
                } else {
                    session.report.bodies_fetched += self.ingest_bodies(now, bodies, Some(&peer), pending);
                    Ok(if queue.is_empty() {
                        self.body_phase(pages, asked)
                    } else {
                        Some(self.body_page(queue, pages, asked))
                    })
                }
            }
            (_, other) => Err(format!("unexpected answer {}", response_name(&other))),
        };
        match next {
            Ok(Some((phase, request))) => {
                session.phase = phase;
                self.sessions.insert(peer.clone(), session);
                pending.after.push(Effect::SendSync { peer, request });
            }
            Ok(None) => {
                self.sessions.insert(peer.clone(), session);
                self.finish_session(peer, pending);
            }
            Err(reason) => {
                self.sessions.insert(peer.clone(), session);
                self.abort(peer, reason, pending);
            }
        }
    }

    fn header_phase(&self, mut need: Vec<UpdateId>) -> Option<(Phase, SyncRequest)> {
        if need.is_empty() {
            return self.body_phase(0, BTreeSet::new());
        }
        let page: Vec<UpdateId> = need.drain(..need.len().min(MAX_IDS_PER_FETCH)).collect();
        Some((Phase::FetchingHeaders { queue: need }, SyncRequest::FetchHeaders(page)))
    }

    /// The next page of missing bodies not yet asked for in this session, if any.
    fn body_phase(&self, pages: usize, asked: BTreeSet<UpdateId>) -> Option<(Phase, SyncRequest)> {
        if pages >= self.config.max_body_pages_per_session {
            return None;
        }
        let limit = (self.config.max_body_pages_per_session - pages) * MAX_BODIES_PER_FETCH;
        let queue: Vec<UpdateId> = self
            .state
            .missing_bodies()
            .iter()
            .filter(|id| !asked.contains(id))
            .take(limit)
            .copied()
            .collect();
        if queue.is_empty() {
            return None;
        }
        Some(self.body_page(queue, pages, asked))
    }

    fn body_page(
        &self,
        mut queue: Vec<UpdateId>,
        pages: usize,
        mut asked: BTreeSet<UpdateId>,
    ) -> (Phase, SyncRequest) {
        let page: Vec<UpdateId> = queue.drain(..queue.len().min(MAX_BODIES_PER_FETCH)).collect();
        asked.extend(page.iter().copied());
        (Phase::FetchingBodies { queue, pages: pages + 1, asked }, SyncRequest::FetchBodies(page))
    }

    /// A one-shot check of a single gossip envelope without ingesting it.
    pub fn check_envelope(&self, bytes: &[u8]) -> Result<UpdateId, Rejection> {
        verify_envelope(bytes, self.state.network_id()).map(|(h, _)| h.id)
    }

    /// Verifies one signed header (for tools that inspect headers).
    pub fn verify_header(&self, signed: SignedHeader) -> Result<UpdateId, Rejection> {
        verify_header(signed, self.state.network_id()).map(|h| h.id)
    }

    /// Whether a rejection is of a kind that a peer would be penalised for.
    pub fn is_penalised(rejection: &Rejection) -> bool {
        rejection.kind() == RejectKind::Permanent
    }
}

fn change_merge(into: &mut Change, other: Change) {
    into.objects.extend(other.objects);
    into.membership |= other.membership;
    into.evicted.extend(other.evicted);
    into.bodies_dropped.extend(other.bodies_dropped);
    into.bodies_wanted.extend(other.bodies_wanted);
}

fn response_name(response: &SyncResponse) -> &'static str {
    match response {
        SyncResponse::Digest(_) => "digest",
        SyncResponse::Reconcile(_) => "reconcile",
        SyncResponse::Headers(_) => "headers",
        SyncResponse::Bodies(_) => "bodies",
        SyncResponse::Refused(_) => "refused",
    }
}
