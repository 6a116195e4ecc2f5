//! The replicated state (DESIGN.md §4): headers, the bodies live by them, and membership.
//!
//! Merge is union followed by rules that are functions of the headers alone, so two nodes
//! that have exchanged everything hold the same state, whatever the order, duplication or
//! split of delivery, and whenever either compacted. The laws, and where they are enforced:
//!
//! - **Fork cap** ([`State::insert_header`]): at most two *data* headers per (author, seq),
//!   those with the two smallest `UpdateId`s. Keeping "the two smallest" is order-free, and
//!   two are enough to prove the fork. Membership statements are exempt.
//! - **Admission** ([`State::in_state`]): the state holds the headers of admitted authors,
//!   and the founders' membership statements always. Everything else is held aside (pending or dormant) and re-enters when its author
//!   is admitted; membership itself is derived from every statement held
//!   ([`crate::membership`]).
//! - **Liveness** ([`State::is_live`]): every non-estimate body is live; of the estimates per
//!   (object, agency), the newest K by `(epoch, seq, UpdateId)` that are neither retracted
//!   nor forked. Retracted and forked are header facts, so liveness is too.
//! - **Compaction** (immediate): a body that is not live is not kept. A body that becomes
//!   live again is wanted, and fetched from whoever has it.

use std::collections::{BTreeMap, BTreeSet};

use crate::envelope::{Kind, SignedHeader, VerifiedHeader};
use crate::error::Rejection;
use crate::flatset::FlatSet;
use crate::genesis::Genesis;
use crate::ids::{AgencyId, NetworkId, ObjectId, UpdateId};
use crate::membership::{Membership, Statement};
use crate::records::Record;
use crate::time::Epoch;
use crate::validate::{check_body, Defect};

/// A body held: decoded when it passes its checks (its canonical bytes are re-derived by
/// encoding, which gives back exactly the bytes received, checked at insertion), or kept as
/// raw bytes with the reason it is defective.
#[derive(Debug, Clone)]
pub enum Body {
    Valid(Record),
    Defective { bytes: Vec<u8>, defect: Defect },
}

/// One update held: its verified header and, where held, its body.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: UpdateId,
    pub signed: SignedHeader,
    /// The body, when held (it matches `body_hash`). Boxed: most headers held are superseded
    /// estimates without a body, and an inline `Body` is 208 bytes.
    pub body: Option<Box<Body>>,
}

impl Entry {
    /// The decoded record, when the body is held and passes its checks.
    pub fn record(&self) -> Option<&Record> {
        match self.body.as_deref() {
            Some(Body::Valid(record)) => Some(record),
            _ => None,
        }
    }
    /// Why the body makes this update defective, when it does.
    pub fn defect(&self) -> Option<&Defect> {
        match self.body.as_deref() {
            Some(Body::Defective { defect, .. }) => Some(defect),
            _ => None,
        }
    }
    pub fn has_body(&self) -> bool {
        self.body.is_some()
    }
    /// The body's canonical bytes, when held.
    pub fn body_bytes(&self) -> Option<Vec<u8>> {
        match self.body.as_deref() {
            Some(Body::Valid(record)) => crate::codec::encode(record).ok(),
            Some(Body::Defective { bytes, .. }) => Some(bytes.clone()),
            None => None,
        }
    }
    pub fn author(&self) -> AgencyId {
        self.signed.header.author
    }
    pub fn seq(&self) -> u64 {
        self.signed.header.seq
    }
    pub fn kind(&self) -> Kind {
        self.signed.header.kind
    }
}

/// The body checks plus canonical form: one value has one encoding, so a body that decodes but
/// is not the canonical encoding of what it decodes to is defective (and so it is never
/// re-served with different bytes).
fn check_canonical_body(header: &crate::envelope::Header, body: &[u8]) -> Result<Record, Defect> {
    check_body(header, body).and_then(|record| match crate::codec::encode(&record) {
        Ok(canonical) if canonical == body => Ok(record),
        _ => Err(Defect::Undecodable("not the canonical encoding of its record".into())),
    })
}

/// What one insertion changed, for the engine to turn into effects.
#[derive(Debug, Default, Clone)]
pub struct Change {
    /// Objects whose views may have changed.
    pub objects: BTreeSet<ObjectId>,
    /// Membership (and so possibly every view) changed.
    pub membership: bool,
    /// Updates removed entirely (a third data header at a forked seq).
    pub evicted: Vec<UpdateId>,
    /// Bodies dropped because they stopped being live.
    pub bodies_dropped: Vec<UpdateId>,
    /// Live bodies that are not held (after a retraction, say): fetch them best-effort.
    pub bodies_wanted: Vec<UpdateId>,
}

impl Change {
    fn merge(&mut self, other: Change) {
        self.objects.extend(other.objects);
        self.membership |= other.membership;
        self.evicted.extend(other.evicted);
        self.bodies_dropped.extend(other.bodies_dropped);
        self.bodies_wanted.extend(other.bodies_wanted);
    }
}

/// What happened to a body offered to the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyOutcome {
    /// Stored; `defect` says whether it makes its update defective.
    Stored { defect: Option<Defect> },
    /// Its update is not live (superseded, retracted or forked): not stored.
    NotLive,
    /// Held already.
    AlreadyHeld,
    /// No header for it is held.
    UnknownHeader,
}

/// Rank of an estimate among its (object, agency): higher is newer.
pub type Rank = (Epoch, u64, UpdateId);

/// The CRDT state of one replica.
#[derive(Debug, Clone)]
pub struct State {
    genesis: Genesis,
    network_id: NetworkId,
    /// Boxed: an entry is a few hundred bytes, and B-tree nodes shift their values on insert.
    entries: BTreeMap<UpdateId, Box<Entry>>,
    /// Every header held, by (author, seq): forks are two or more here.
    by_author_seq: BTreeMap<(AgencyId, u64), Vec<UpdateId>>,
    /// The `NodeBinding` headers held, by author and seq: the gate asks for an agency's newest
    /// binding at every connection, and scanning all of an agency's updates for it cost a
    /// hundred-node cluster most of its CPU while links were cut and healed.
    bindings: BTreeSet<(AgencyId, u64, UpdateId)>,
    /// Membership statements held, from any author.
    statements: BTreeMap<UpdateId, Statement>,
    membership: Membership,
    /// Estimate headers ranked per (object, agency).
    estimates: BTreeMap<(ObjectId, AgencyId), FlatSet<Rank>>,
    /// Headers naming each object (estimates, metadata, notices).
    by_object: BTreeMap<ObjectId, FlatSet<UpdateId>>,
    /// Retractions by the update they target.
    retracts_by_target: BTreeMap<UpdateId, FlatSet<UpdateId>>,
    /// The headers in the state (authors admitted), as negentropy items `(seq, id)`.
    in_state: BTreeSet<(u64, UpdateId)>,
    /// The digests, a pass over the whole state, computed at most once per change: status
    /// polls and every sync session ask for them. Every mutation goes through `insert_header`
    /// or `insert_body_with`, which clear it and `missing_bodies` (`forget_summaries`).
    summary: std::sync::OnceLock<Summary>,
    /// The live updates whose bodies are not held, computed when asked for (sync only).
    missing_bodies: std::sync::OnceLock<Vec<UpdateId>>,
    /// `(seq, id)` of every held update whose body is held: the digests join it with
    /// `in_state` in order instead of looking each update up (which cost a node under a
    /// stream, asked for its digest every second, a few ms each time).
    with_body: BTreeSet<(u64, UpdateId)>,
}

#[derive(Debug, Clone)]
struct Summary {
    header_digest: [u8; 32],
    body_digest: [u8; 32],
}

impl State {
    pub fn new(genesis: Genesis) -> Self {
        let network_id = genesis.network_id();
        let membership = Membership::derive(&genesis, []);
        Self {
            genesis,
            network_id,
            entries: BTreeMap::new(),
            by_author_seq: BTreeMap::new(),
            bindings: BTreeSet::new(),
            statements: BTreeMap::new(),
            membership,
            estimates: BTreeMap::new(),
            by_object: BTreeMap::new(),
            retracts_by_target: BTreeMap::new(),
            in_state: BTreeSet::new(),
            summary: std::sync::OnceLock::new(),
            missing_bodies: std::sync::OnceLock::new(),
            with_body: BTreeSet::new(),
        }
    }

    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }
    pub fn network_id(&self) -> &NetworkId {
        &self.network_id
    }
    pub fn membership(&self) -> &Membership {
        &self.membership
    }
    pub fn get(&self, id: &UpdateId) -> Option<&Entry> {
        self.entries.get(id).map(|e| &**e)
    }
    /// Whether the update is held at all (in the state or aside).
    pub fn contains(&self, id: &UpdateId) -> bool {
        self.entries.contains_key(id)
    }
    /// Whether the update's header is in the state: its author is admitted, or it is a
    /// founder's membership statement (those are always kept: suspension votes count from
    /// every genesis founder, suspended or not).
    pub fn in_state(&self, id: &UpdateId) -> bool {
        self.entries.get(id).is_some_and(|e| self.belongs(e))
    }

    fn belongs(&self, entry: &Entry) -> bool {
        self.membership.is_admitted(&entry.author())
            || (entry.kind().is_membership() && self.genesis.is_founder(&entry.author()))
    }
    /// The negentropy items of the state, in order.
    pub fn items(&self) -> &BTreeSet<(u64, UpdateId)> {
        &self.in_state
    }
    /// Number of headers in the state.
    pub fn n_headers(&self) -> usize {
        self.in_state.len()
    }
    /// Number of updates held aside (authors not admitted).
    pub fn n_aside(&self) -> usize {
        self.entries.len() - self.in_state.len()
    }
    /// Every entry held, in the state or aside.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values().map(|e| &**e)
    }
    /// Every entry in the state, in `(seq, id)` order.
    pub fn state_entries(&self) -> impl Iterator<Item = &Entry> {
        self.in_state.iter().filter_map(|(_, id)| self.entries.get(id).map(|e| &**e))
    }
    /// Objects that any header names.
    pub fn objects(&self) -> impl Iterator<Item = &ObjectId> {
        self.by_object.keys()
    }
    /// How many objects any header names.
    pub fn n_objects(&self) -> usize {
        self.by_object.len()
    }
    /// Headers naming an object (any kind, any author, in or out of the state).
    pub fn object_updates(&self, object: &ObjectId) -> impl Iterator<Item = &Entry> {
        self.by_object.get(object).into_iter().flatten().filter_map(|id| self.entries.get(id).map(|e| &**e))
    }
    /// The (author, seq) pairs that hold two headers or more, with their ids.
    pub fn forks(&self) -> impl Iterator<Item = (&(AgencyId, u64), &Vec<UpdateId>)> {
        self.by_author_seq.iter().filter(|(_, ids)| ids.len() >= 2)
    }
    /// The highest seq held of an author's headers (any kind).
    pub fn highest_seq(&self, author: &AgencyId) -> Option<u64> {
        self.by_author_seq.range((*author, 0)..=(*author, u64::MAX)).next_back().map(|((_, s), _)| *s)
    }
    /// The newest update of an author (for `prev`).
    pub fn newest_of(&self, author: &AgencyId) -> Option<UpdateId> {
        self.by_author_seq
            .range((*author, 0)..=(*author, u64::MAX))
            .next_back()
            .and_then(|(_, ids)| ids.iter().min().copied())
    }

    pub fn is_forked(&self, author: &AgencyId, seq: u64) -> bool {
        self.by_author_seq.get(&(*author, seq)).is_some_and(|ids| ids.len() >= 2)
    }

    /// Whether a `Retract` counts: its target is a retractable update by the same author,
    /// and the retraction itself is not forked.
    fn retraction_counts(&self, retract: &Entry) -> bool {
        let Some(target) = retract.signed.header.target else { return false };
        let Some(target) = self.entries.get(&target) else { return false };
        target.author() == retract.author()
            && target.kind().is_retractable()
            && !self.is_forked(&retract.author(), retract.seq())
    }

    /// Whether the update is withdrawn by a retraction that counts.
    pub fn is_retracted(&self, id: &UpdateId) -> bool {
        self.retracts_by_target.get(id).is_some_and(|rs| {
            rs.iter().filter_map(|r| self.entries.get(r)).any(|r| self.retraction_counts(r))
        })
    }

    /// Whether a data update counts at all: not forked, not retracted.
    pub fn counts(&self, entry: &Entry) -> bool {
        (entry.kind().is_membership() || !self.is_forked(&entry.author(), entry.seq()))
            && !self.is_retracted(&entry.id)
    }

    /// The live estimates of (object, agency), newest first: the newest K that are neither
    /// retracted nor forked.
    pub fn live_estimates(&self, object: &ObjectId, agency: &AgencyId) -> Vec<UpdateId> {
        let k = self.genesis.estimates_per_source as usize;
        self.estimates
            .get(&(*object, *agency))
            .into_iter()
            .flatten()
            .rev()
            .filter(|(_, seq, id)| !self.is_forked(agency, *seq) && !self.is_retracted(id))
            .take(k)
            .map(|(_, _, id)| *id)
            .collect()
    }

    /// Whether the update's body is live by the headers.
    pub fn is_live(&self, entry: &Entry) -> bool {
        match (entry.kind(), entry.signed.header.object) {
            (Kind::OrbitEstimate, Some(object)) => {
                self.live_estimates(&object, &entry.author()).contains(&entry.id)
            }
            _ => true,
        }
    }

    /// The (object, agency) pairs with estimates, for iterating views.
    pub fn estimate_sources(&self, object: &ObjectId) -> Vec<AgencyId> {
        self.estimates
            .range((*object, AgencyId([0; 32]))..=(*object, AgencyId([0xff; 32])))
            .map(|((_, agency), _)| *agency)
            .collect()
    }

    /// Inserts a verified header. Returns what changed, or why it was not stored.
    pub fn insert_header(&mut self, header: VerifiedHeader) -> Result<Change, Rejection> {
        self.forget_summaries();
        let id = header.id;
        if self.entries.contains_key(&id) {
            return Err(Rejection::Duplicate(id));
        }
        let h = header.signed.header.clone();
        let mut change = Change::default();
        if !h.kind.is_membership() {
            let at_seq: Vec<UpdateId> = self
                .by_author_seq
                .get(&(h.author, h.seq))
                .into_iter()
                .flatten()
                .filter(|other| self.entries.get(other).is_some_and(|e| !e.kind().is_membership()))
                .copied()
                .collect();
            if at_seq.len() >= 2 {
                let largest = *at_seq.iter().max().expect("two ids");
                if id > largest {
                    return Err(Rejection::ForkCapReached { author: h.author.short(), seq: h.seq });
                }
                change.merge(self.remove(&largest));
                change.evicted.push(largest);
            }
        }
        let entry = Entry { id, signed: header.signed, body: None };
        self.entries.insert(id, Box::new(entry));
        if h.kind == Kind::NodeBinding {
            self.bindings.insert((h.author, h.seq, id));
        }
        // Capacity one: almost every (author, seq) holds one header (two only for a fork).
        let at_seq = self.by_author_seq.entry((h.author, h.seq)).or_insert_with(|| Vec::with_capacity(1));
        at_seq.push(id);
        at_seq.sort();
        let forked_now = at_seq.len() >= 2;
        if let Some(object) = h.object {
            self.by_object.entry(object).or_default().insert(id);
            change.objects.insert(object);
        }
        match h.kind {
            Kind::OrbitEstimate => {
                let (Some(object), Some(epoch)) = (h.object, h.epoch) else {
                    unreachable!("permanent checks require object and epoch on estimates")
                };
                self.estimates.entry((object, h.author)).or_default().insert((epoch, h.seq, id));
            }
            Kind::Retract => {
                let target = h.target.expect("permanent checks require a target on retractions");
                self.retracts_by_target.entry(target).or_default().insert(id);
                if let Some(t) = self.entries.get(&target).and_then(|e| e.signed.header.object) {
                    change.objects.insert(t);
                }
            }
            Kind::Endorse | Kind::Suspend => {
                let subject = h.subject.expect("permanent checks require a subject on membership");
                let statement = if h.kind == Kind::Endorse {
                    Statement::Endorse { author: h.author, subject }
                } else {
                    Statement::Suspend { author: h.author, subject }
                };
                self.statements.insert(id, statement);
            }
            Kind::NodeBinding => change.membership = true,
            Kind::ObjectMetadata | Kind::ManeuverNotice => {}
        }
        if self.belongs(self.entries.get(&id).expect("just inserted")) {
            self.in_state.insert((h.seq, id));
        }
        if h.kind.is_membership() {
            change.merge(self.recompute_membership());
        }
        // A retraction, or a newly forked seq, changes what else is live; so does a newer
        // estimate. Re-derive liveness for every key this header can touch.
        let mut keys: BTreeSet<(ObjectId, AgencyId)> = BTreeSet::new();
        if let (Kind::OrbitEstimate, Some(object)) = (h.kind, h.object) {
            keys.insert((object, h.author));
        }
        if forked_now {
            for other in self.by_author_seq.get(&(h.author, h.seq)).into_iter().flatten() {
                if let Some(e) = self.entries.get(other) {
                    if let (Kind::OrbitEstimate, Some(object)) = (e.kind(), e.signed.header.object) {
                        keys.insert((object, h.author));
                    }
                    if e.kind() == Kind::Retract {
                        keys.extend(self.retract_key(e));
                    }
                    if let Some(object) = e.signed.header.object {
                        change.objects.insert(object);
                    }
                }
            }
        }
        if h.kind == Kind::Retract {
            let e = self.entries.get(&id).expect("just inserted").clone();
            keys.extend(self.retract_key(&e));
        }
        // A header that arrives after a retraction aimed at it is retracted from the start.
        if self.retracts_by_target.contains_key(&id) {
            if let Some(object) = h.object {
                keys.insert((object, h.author));
            }
        }
        for key in keys {
            change.merge(self.compact_key(&key));
        }
        Ok(change)
    }

    fn retract_key(&self, retract: &Entry) -> Option<(ObjectId, AgencyId)> {
        let target = self.entries.get(&retract.signed.header.target?)?;
        match (target.kind(), target.signed.header.object) {
            (Kind::OrbitEstimate, Some(object)) => Some((object, target.author())),
            _ => None,
        }
    }

    /// Drops the bodies of a key's estimates that are not live, and lists live ones missing.
    fn compact_key(&mut self, key: &(ObjectId, AgencyId)) -> Change {
        let mut change = Change::default();
        let live: BTreeSet<UpdateId> = self.live_estimates(&key.0, &key.1).into_iter().collect();
        let all: Vec<UpdateId> =
            self.estimates.get(key).into_iter().flatten().map(|(_, _, id)| *id).collect();
        for id in all {
            let Some(entry) = self.entries.get_mut(&id) else { continue };
            if live.contains(&id) {
                if entry.body.is_none() {
                    change.bodies_wanted.push(id);
                }
            } else if entry.body.is_some() {
                entry.body = None;
                self.with_body.remove(&(entry.seq(), id));
                change.bodies_dropped.push(id);
            }
        }
        change.objects.insert(key.0);
        change
    }

    /// Removes an update entirely (fork-cap eviction).
    fn remove(&mut self, id: &UpdateId) -> Change {
        let mut change = Change::default();
        let Some(entry) = self.entries.remove(id) else { return change };
        let h = &entry.signed.header;
        self.bindings.remove(&(h.author, h.seq, *id));
        self.with_body.remove(&(h.seq, *id));
        if let Some(ids) = self.by_author_seq.get_mut(&(h.author, h.seq)) {
            ids.retain(|x| x != id);
            if ids.is_empty() {
                self.by_author_seq.remove(&(h.author, h.seq));
            }
        }
        if let Some(object) = h.object {
            if let Some(set) = self.by_object.get_mut(&object) {
                set.remove(id);
            }
            change.objects.insert(object);
            if let (Kind::OrbitEstimate, Some(epoch)) = (h.kind, h.epoch) {
                if let Some(set) = self.estimates.get_mut(&(object, h.author)) {
                    set.remove(&(epoch, h.seq, *id));
                }
            }
        }
        if let Some(target) = h.target {
            if let Some(set) = self.retracts_by_target.get_mut(&target) {
                set.remove(id);
            }
        }
        self.in_state.remove(&(h.seq, *id));
        change
    }

    fn recompute_membership(&mut self) -> Change {
        let mut change = Change::default();
        let derived = Membership::derive(&self.genesis, self.statements.values());
        if derived != self.membership {
            let admitted_changed = derived.admitted != self.membership.admitted;
            self.membership = derived;
            change.membership = true;
            if admitted_changed {
                self.in_state =
                    self.entries.values().filter(|e| self.belongs(e)).map(|e| (e.seq(), e.id)).collect();
                change.objects.extend(self.by_object.keys().copied());
            }
        }
        change
    }

    /// Offers a body for a held header. The caller has checked nothing: the hash is checked
    /// here (a mismatch is the sender's fault), then liveness, then the body checks.
    pub fn insert_body(&mut self, id: &UpdateId, body: &[u8]) -> Result<(BodyOutcome, Change), Rejection> {
        match self.entries.get(id) {
            None => Ok((BodyOutcome::UnknownHeader, Change::default())),
            Some(entry) if *blake3::hash(body).as_bytes() != entry.signed.header.body_hash => {
                Err(Rejection::BodyHashMismatch)
            }
            Some(_) => Ok(self.insert_checked_body(id, body)),
        }
    }

    /// [`State::insert_body`] for bytes already checked against the header's hash.
    pub fn insert_checked_body(&mut self, id: &UpdateId, body: &[u8]) -> (BodyOutcome, Change) {
        self.insert_body_with(id, body, None)
    }

    /// The body checks of one held update, without changing anything (so many can run in
    /// parallel); `None` when no header for it is held or the bytes do not match its hash.
    pub fn check_held_body(&self, id: &UpdateId, body: &[u8]) -> Option<Result<Record, Defect>> {
        let entry = self.entries.get(id)?;
        if *blake3::hash(body).as_bytes() != entry.signed.header.body_hash {
            return None;
        }
        Some(check_canonical_body(&entry.signed.header, body))
    }

    /// [`State::insert_checked_body`] with the body checks already done by
    /// [`State::check_held_body`] (same result, computed elsewhere).
    pub fn insert_prechecked_body(
        &mut self,
        id: &UpdateId,
        body: &[u8],
        checked: Result<Record, Defect>,
    ) -> (BodyOutcome, Change) {
        self.insert_body_with(id, body, Some(checked))
    }

    fn insert_body_with(
        &mut self,
        id: &UpdateId,
        body: &[u8],
        prechecked: Option<Result<Record, Defect>>,
    ) -> (BodyOutcome, Change) {
        self.forget_summaries();
        let Some(entry) = self.entries.get(id) else {
            return (BodyOutcome::UnknownHeader, Change::default());
        };
        if entry.body.is_some() {
            return (BodyOutcome::AlreadyHeld, Change::default());
        }
        if !self.is_live(entry) {
            return (BodyOutcome::NotLive, Change::default());
        }
        let checked = prechecked.unwrap_or_else(|| check_canonical_body(&entry.signed.header, body));
        let mut change = Change::default();
        if let Some(object) = entry.signed.header.object {
            change.objects.insert(object);
        }
        if entry.kind() == Kind::Retract {
            if let Some(t) = entry
                .signed
                .header
                .target
                .and_then(|t| self.entries.get(&t))
                .and_then(|t| t.signed.header.object)
            {
                change.objects.insert(t);
            }
        }
        if entry.kind() == Kind::NodeBinding {
            change.membership = true;
        }
        let entry = self.entries.get_mut(id).expect("checked above");
        let (stored, defect) = match checked {
            Ok(record) => (Body::Valid(record), None),
            Err(defect) => (Body::Defective { bytes: body.to_vec(), defect: defect.clone() }, Some(defect)),
        };
        entry.body = Some(Box::new(stored));
        self.with_body.insert((entry.seq(), *id));
        (BodyOutcome::Stored { defect }, change)
    }

    /// Clears the cached digests and missing bodies (before every mutation).
    fn forget_summaries(&mut self) {
        self.summary.take();
        self.missing_bodies.take();
    }

    /// The live updates whose bodies are not held, in `(seq, id)` order.
    pub fn missing_bodies(&self) -> &[UpdateId] {
        self.missing_bodies.get_or_init(|| {
            // Both sets are in `(seq, id)` order: one pass joins them (a lookup per update
            // was most of a status request with 50 000 updates held).
            let mut held = self.with_body.iter().peekable();
            self.in_state
                .iter()
                .filter(|key| {
                    while held.next_if(|h| h < key).is_some() {}
                    held.peek() != Some(key)
                })
                .filter(|(_, id)| self.entries.get(id).is_some_and(|e| self.is_live(e)))
                .map(|(_, id)| *id)
                .collect()
        })
    }

    /// Digest over the headers in the state: blake3 of the sorted `(seq, id)` items.
    pub fn header_digest(&self) -> [u8; 32] {
        self.summary().header_digest
    }

    /// Digest over the live bodies held: blake3 of the sorted ids whose bodies are held.
    pub fn body_digest(&self) -> [u8; 32] {
        self.summary().body_digest
    }

    fn summary(&self) -> &Summary {
        self.summary.get_or_init(|| {
            // Fed in 64 KiB pieces: blake3 hashes large inputs several times faster than
            // 40-byte ones, and the bytes hashed are the same.
            const PIECE: usize = 64 * 1024;
            let mut headers = blake3::Hasher::new();
            headers.update(b"orbital-commons/state-headers/v1");
            let mut bodies = blake3::Hasher::new();
            bodies.update(b"orbital-commons/state-bodies/v1");
            let (mut header_bytes, mut body_bytes) = (Vec::with_capacity(PIECE), Vec::with_capacity(PIECE));
            // Both sets are in `(seq, id)` order: one pass joins them.
            let mut held = self.with_body.iter().peekable();
            for key in &self.in_state {
                header_bytes.extend_from_slice(&key.0.to_le_bytes());
                header_bytes.extend_from_slice(&key.1 .0);
                while held.next_if(|h| *h < key).is_some() {}
                if held.peek() == Some(&key) {
                    body_bytes.extend_from_slice(&key.1 .0);
                }
                for (hasher, bytes) in [(&mut headers, &mut header_bytes), (&mut bodies, &mut body_bytes)] {
                    if bytes.len() + 40 > PIECE {
                        hasher.update(bytes);
                        bytes.clear();
                    }
                }
            }
            headers.update(&header_bytes);
            bodies.update(&body_bytes);
            Summary {
                header_digest: *headers.finalize().as_bytes(),
                body_digest: *bodies.finalize().as_bytes(),
            }
        })
    }

    /// The `NodeBinding` updates held of an agency, newest (highest seq, then id) first.
    pub fn bindings_of(&self, agency: &AgencyId) -> impl Iterator<Item = &Entry> {
        self.bindings
            .range((*agency, 0, UpdateId([0; 32]))..=(*agency, u64::MAX, UpdateId([0xff; 32])))
            .rev()
            .filter_map(|(_, _, id)| self.entries.get(id).map(|e| &**e))
    }

    /// The newest binding of an agency: its highest-seq `NodeBinding` that is not forked and
    /// whose body is held and valid; the genesis binding for founders otherwise.
    pub fn newest_binding(&self, agency: &AgencyId) -> Option<Vec<Vec<u8>>> {
        let newest = self
            .bindings_of(agency)
            .filter(|e| self.by_author_seq.get(&(*agency, e.seq())).is_some_and(|ids| ids.len() == 1))
            .find_map(|e| match e.record() {
                Some(Record::NodeBinding(b)) => Some(b.peer_ids.clone()),
                _ => None,
            });
        newest.or_else(|| {
            self.genesis.founders.iter().find(|f| f.agency == *agency).map(|f| f.node_peer_ids.clone())
        })
    }
}
