//! Derived views (DESIGN.md §4): deterministic functions of the state. The same build gives
//! the same views on every machine; the SGP4 parts (medoid, distances) use pure-Rust maths
//! and whole metres, so they are bit-identical too.
//!
//! - current orbit per (object, agency): the highest-ranked live estimate that is not
//!   defective (and whose body is held);
//! - shared orbit per object: the medoid, at the lower-median epoch, of the current
//!   estimates within the genesis window of it, ties broken by the smallest `UpdateId`;
//! - metadata: every agency's claim and a field-by-field consensus (most agencies, ties by
//!   the smallest canonical encoding).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::codec;
use crate::envelope::Kind;
use crate::ids::{AgencyId, ObjectId, UpdateId};
use crate::orbit::{distance_m, Propagator};
use crate::records::{ManeuverNotice, ObjectMetadata, ObjectType, OrbitEstimate, Record};
use crate::state::{Entry, State};
use crate::time::Epoch;

/// One agency's current estimate of an object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrentEstimate {
    pub agency: AgencyId,
    pub update_id: UpdateId,
    pub seq: u64,
    pub estimate: OrbitEstimate,
}

/// A source's distance from the shared orbit at the reference epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceDistance {
    pub agency: AgencyId,
    pub update_id: UpdateId,
    pub epoch: Epoch,
    /// Whether the estimate was within the window and took part in choosing.
    pub candidate: bool,
    /// Whole metres from the shared orbit at the reference epoch; `None` if it does not
    /// propagate there.
    pub distance_m: Option<u64>,
}

/// The shared orbit of an object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SharedOrbit {
    pub reference_epoch: Epoch,
    pub agency: AgencyId,
    pub update_id: UpdateId,
    pub estimate: OrbitEstimate,
    pub sources: Vec<SourceDistance>,
}

/// One agency's metadata claim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetadataClaim {
    pub agency: AgencyId,
    pub update_id: UpdateId,
    pub metadata: ObjectMetadata,
}

/// Field-by-field consensus over the member agencies' claims.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MetadataConsensus {
    pub name: Option<String>,
    pub cospar_id: Option<String>,
    pub object_type: Option<ObjectType>,
    pub owner: Option<String>,
    pub launch_date: Option<String>,
    pub decay_date: Option<String>,
    pub rcs_m2: Option<f64>,
    pub size_m: Option<f64>,
}

/// A flagged (defective) update about the object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DefectFlag {
    pub update_id: UpdateId,
    pub agency: AgencyId,
    pub reason: String,
}

/// A fork: two or more headers at one (author, seq), with the ids as proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForkProof {
    pub agency: AgencyId,
    pub seq: u64,
    pub update_ids: Vec<UpdateId>,
}

/// Everything the catalogue says about one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectView {
    pub object: ObjectId,
    pub current: Vec<CurrentEstimate>,
    pub shared: Option<SharedOrbit>,
    pub claims: Vec<MetadataClaim>,
    pub consensus: MetadataConsensus,
    pub notices: Vec<(AgencyId, UpdateId, ManeuverNotice)>,
    pub defects: Vec<DefectFlag>,
    pub forks: Vec<ForkProof>,
    /// Live updates whose bodies this node does not hold yet.
    pub bodies_missing: Vec<UpdateId>,
}

/// The current estimate of (object, agency): the highest-ranked live estimate whose body is
/// held and not defective.
pub fn current_estimate(state: &State, object: &ObjectId, agency: &AgencyId) -> Option<CurrentEstimate> {
    state.live_estimates(object, agency).into_iter().find_map(|id| {
        let entry = state.get(&id)?;
        match entry.record() {
            Some(Record::OrbitEstimate(estimate)) => Some(CurrentEstimate {
                agency: *agency,
                update_id: id,
                seq: entry.seq(),
                estimate: estimate.clone(),
            }),
            _ => None,
        }
    })
}

/// The shared orbit among current estimates (DESIGN.md §4).
pub fn shared_orbit(window_s: u64, current: &[CurrentEstimate]) -> Option<SharedOrbit> {
    if current.is_empty() {
        return None;
    }
    let mut epochs: Vec<Epoch> = current.iter().map(|c| c.estimate.epoch).collect();
    epochs.sort();
    let reference_epoch = epochs[(epochs.len() - 1) / 2];
    let window_us = i64::try_from(window_s.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
    let positions: Vec<Option<[f64; 3]>> = current
        .iter()
        .map(|c| {
            Propagator::new(&c.estimate)
                .and_then(|p| p.propagate_to(reference_epoch))
                .ok()
                .map(|s| s.position_km)
        })
        .collect();
    let is_candidate: Vec<bool> = current
        .iter()
        .zip(&positions)
        .map(|(c, p)| p.is_some() && (c.estimate.epoch.0 - reference_epoch.0).abs() <= window_us)
        .collect();
    let candidates: Vec<usize> = (0..current.len()).filter(|&i| is_candidate[i]).collect();
    let chosen = candidates.iter().copied().min_by_key(|&i| {
        let p = positions[i].expect("candidates propagate");
        let sum: u64 = candidates
            .iter()
            .filter(|&&j| j != i)
            .map(|&j| distance_m(&p, &positions[j].expect("candidates propagate")))
            .fold(0u64, u64::saturating_add);
        (sum, current[i].update_id)
    })?;
    let chosen_position = positions[chosen].expect("candidates propagate");
    let sources = current
        .iter()
        .enumerate()
        .map(|(i, c)| SourceDistance {
            agency: c.agency,
            update_id: c.update_id,
            epoch: c.estimate.epoch,
            candidate: is_candidate[i],
            distance_m: positions[i].map(|p| distance_m(&p, &chosen_position)),
        })
        .collect();
    Some(SharedOrbit {
        reference_epoch,
        agency: current[chosen].agency,
        update_id: current[chosen].update_id,
        estimate: current[chosen].estimate.clone(),
        sources,
    })
}

/// Of each field, the value most agencies claim; ties by the smallest canonical encoding.
fn consensus_field<T: Clone + bincode::Encode>(values: impl Iterator<Item = Option<T>>) -> Option<T> {
    let mut counts: BTreeMap<Vec<u8>, (usize, T)> = BTreeMap::new();
    for value in values.flatten() {
        let key = codec::encode(&value).unwrap_or_default();
        counts.entry(key).or_insert((0, value)).0 += 1;
    }
    // BTreeMap iterates by encoding ascending; keep the first of the highest count.
    let mut best: Option<(usize, T)> = None;
    for (_, (count, value)) in counts {
        if best.as_ref().is_none_or(|(c, _)| count > *c) {
            best = Some((count, value));
        }
    }
    best.map(|(_, v)| v)
}

fn f64_bits(v: Option<f64>) -> Option<u64> {
    v.map(f64::to_bits)
}

/// Computes the whole view of one object from the state.
pub fn object_view(state: &State, object: &ObjectId) -> ObjectView {
    let membership = state.membership();
    let admitted = |a: &AgencyId| membership.is_admitted(a);
    let current: Vec<CurrentEstimate> = state
        .estimate_sources(object)
        .iter()
        .filter(|a| admitted(a))
        .filter_map(|a| current_estimate(state, object, a))
        .collect();
    let shared = shared_orbit(state.genesis().shared_orbit_window_s, &current);

    let mut newest_claim: BTreeMap<AgencyId, &Entry> = BTreeMap::new();
    let mut notices = Vec::new();
    let mut defects = Vec::new();
    let mut forks: BTreeSet<(AgencyId, u64)> = BTreeSet::new();
    let mut bodies_missing = Vec::new();
    for entry in state.object_updates(object).filter(|e| admitted(&e.author())) {
        if let Some(defect) = entry.defect() {
            defects.push(DefectFlag {
                update_id: entry.id,
                agency: entry.author(),
                reason: defect.to_string(),
            });
        }
        if state.is_forked(&entry.author(), entry.seq()) {
            forks.insert((entry.author(), entry.seq()));
        }
        if !entry.has_body() && state.is_live(entry) && state.counts(entry) {
            bodies_missing.push(entry.id);
        }
        if !state.counts(entry) || entry.defect().is_some() {
            continue;
        }
        match (entry.record(), entry.kind()) {
            (Some(Record::ObjectMetadata(_)), Kind::ObjectMetadata) => {
                let slot = newest_claim.entry(entry.author()).or_insert(entry);
                if (entry.seq(), entry.id) > (slot.seq(), slot.id) {
                    *slot = entry;
                }
            }
            (Some(Record::ManeuverNotice(n)), Kind::ManeuverNotice) => {
                notices.push((entry.author(), entry.id, n.clone()));
            }
            _ => {}
        }
    }
    let claims: Vec<MetadataClaim> = newest_claim
        .values()
        .filter_map(|e| match e.record() {
            Some(Record::ObjectMetadata(m)) => {
                Some(MetadataClaim { agency: e.author(), update_id: e.id, metadata: m.clone() })
            }
            _ => None,
        })
        .collect();
    let ms = || claims.iter().map(|c| &c.metadata);
    let consensus = MetadataConsensus {
        name: consensus_field(ms().map(|m| m.name.clone())),
        cospar_id: consensus_field(ms().map(|m| m.cospar_id.clone())),
        object_type: consensus_field(ms().map(|m| m.object_type)),
        owner: consensus_field(ms().map(|m| m.owner.clone())),
        launch_date: consensus_field(ms().map(|m| m.launch_date.clone())),
        decay_date: consensus_field(ms().map(|m| m.decay_date.clone())),
        rcs_m2: consensus_field(ms().map(|m| f64_bits(m.rcs_m2))).map(f64::from_bits),
        size_m: consensus_field(ms().map(|m| f64_bits(m.size_m))).map(f64::from_bits),
    };
    let forks = forks
        .into_iter()
        .map(|(agency, seq)| {
            let update_ids =
                state.entries().filter(|e| e.author() == agency && e.seq() == seq).map(|e| e.id).collect();
            ForkProof { agency, seq, update_ids }
        })
        .collect();
    ObjectView {
        object: *object,
        current,
        shared,
        claims,
        consensus,
        notices,
        defects,
        forks,
        bodies_missing,
    }
}

/// Views of every object, maintained incrementally: only objects marked dirty are
/// recomputed, and only when they are read (bulk ingest does not pay for views nobody reads
/// yet). [`Views::rebuild`] computes everything from scratch; the two must agree.
#[derive(Debug, Default, Clone)]
pub struct Views {
    cache: BTreeMap<ObjectId, ObjectView>,
    dirty: BTreeSet<ObjectId>,
    all_dirty: bool,
}

impl Views {
    pub fn mark(&mut self, objects: impl IntoIterator<Item = ObjectId>) {
        self.dirty.extend(objects);
    }
    pub fn mark_all(&mut self) {
        self.all_dirty = true;
    }
    /// Whether any view awaits recomputation.
    pub fn is_stale(&self) -> bool {
        self.all_dirty || !self.dirty.is_empty()
    }
    fn expand_all(&mut self, state: &State) {
        if self.all_dirty {
            self.all_dirty = false;
            self.dirty.extend(state.objects().copied());
            self.dirty.extend(self.cache.keys().copied());
        }
    }
    fn recompute(&mut self, state: &State, object: ObjectId) -> bool {
        let view = object_view(state, &object);
        let empty = view.current.is_empty()
            && view.claims.is_empty()
            && view.notices.is_empty()
            && view.defects.is_empty()
            && view.forks.is_empty();
        if empty {
            self.cache.remove(&object).is_some()
        } else {
            self.cache.insert(object, view.clone()).is_none_or(|old| old != view)
        }
    }
    /// Recomputes everything that is dirty; returns the objects whose view actually changed.
    pub fn refresh(&mut self, state: &State) -> BTreeSet<ObjectId> {
        self.expand_all(state);
        let dirty = std::mem::take(&mut self.dirty);
        dirty.into_iter().filter(|object| self.recompute(state, *object)).collect()
    }
    /// The view of one object, recomputed first if it is dirty (the others stay dirty).
    pub fn fresh(&mut self, state: &State, object: &ObjectId) -> Option<&ObjectView> {
        self.expand_all(state);
        if self.dirty.remove(object) {
            self.recompute(state, *object);
        }
        self.cache.get(object)
    }
    /// The cached view, which may be stale: see [`Views::fresh`].
    pub fn get(&self, object: &ObjectId) -> Option<&ObjectView> {
        self.cache.get(object)
    }
    /// Every cached view, which may be stale: call [`Views::refresh`] first.
    pub fn all(&self) -> &BTreeMap<ObjectId, ObjectView> {
        &self.cache
    }
    /// All views computed from scratch.
    pub fn rebuild(state: &State) -> Views {
        let mut views = Views::default();
        views.mark_all();
        views.refresh(state);
        views
    }
}

/// Human name of an agency: the genesis name of a founder, or the name in the counting
/// endorsement with the smallest id.
pub fn agency_name(state: &State, agency: &AgencyId) -> Option<String> {
    if let Some(name) = state.genesis().founder_name(agency) {
        return Some(name.to_owned());
    }
    let membership = state.membership();
    state
        .state_entries()
        .filter(|e| {
            e.kind() == Kind::Endorse
                && e.signed.header.subject == Some(*agency)
                && membership.is_admitted(&e.author())
        })
        .filter_map(|e| match e.record() {
            Some(Record::Endorse(en)) => Some((e.id, en.name.clone())),
            _ => None,
        })
        .min()
        .map(|(_, name)| name)
}
