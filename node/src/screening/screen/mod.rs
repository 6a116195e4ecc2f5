//! All-against-all conjunction screening over a window, and incremental re-screening of the
//! objects an update changed (DESIGN.md §6).
//!
//! # What is found
//!
//! An *event* is a local minimum of the range between two objects, inside the window, at most
//! the threshold: one per pair per close approach. Orbits are SGP4 (WGS72, AFSPC epoch
//! handling, [`protocol::orbit::Propagator`]); positions and velocities are TEME, km and km/s;
//! times are UTC [`Epoch`]s, the time of closest approach (TCA) to the microsecond and accurate
//! to well under a millisecond. Each event carries both objects, the caller's opaque source tag
//! of the element set used for each (an update id, a line number), the miss distance, relative
//! speed, the miss vector in the primary's radial/transverse/normal frame, both states at TCA,
//! the parameters, and Foster's collision probability where both objects have a covariance
//! ([`covariance`]). The primary is the object with the smaller [`ObjectId`].
//!
//! Objects whose elements do not initialise SGP4 are reported as [`ObjectIssue`]s, and so are
//! objects whose propagation fails inside the window (decay): those are screened up to their
//! last good sample. Nothing is dropped silently.
//!
//! # How
//!
//! 1. *Sampling* ([`tracks`]): every object is propagated with the batch propagator
//!    ([`orbit::propagate`]) every [`SAMPLE_STEP_S`] seconds. Between samples its position is the
//!    cubic Hermite interpolant of the two samples' positions and velocities. For each object a
//!    bound on the interpolation error, per coordinate, follows from a bound on `|r⁗|` along
//!    its orbit ([`hermite`]): about 0.4 km in low orbit at five-minute samples, metres higher up.
//! 2. *Coarse filters* ([`search`]): radial bands (perigee/apogee with the error bounds and
//!    half the threshold) and bounding spheres per object and interval: two objects can only
//!    meet where both filters let them.
//! 3. *Spatial grid*: each interval is cut into [`SUB_STEPS`] sub-steps; the Bézier control
//!    points of each object's curve over a sub-step hold it (convex hull), so their box, widened
//!    by the object's error bound and half the threshold, holds every position the true object
//!    can have, and likewise a radial shell. The boxes go into a hashed uniform grid of cubic
//!    cells cut into radial slabs; pairs whose boxes overlap in a cell go on. This is the
//!    all-against-all step; one object against all uses the spheres instead.
//! 4. *Curve test*: the relative curve of a pair, split in halves while its widened box can
//!    reach within the threshold of the origin, leaves short spans of time.
//! 5. *Refinement* ([`refine`]): SGP4 itself, on fixed ten-second brackets touched by those
//!    spans, finds the zero of the range rate by safeguarded Newton iteration to a microsecond;
//!    the miss distance at that TCA decides.
//!
//! # The guarantee, and its limits
//!
//! If the SGP4 range of a pair has a local minimum at most the threshold at `τ`, then at `τ` each
//! interpolated position is within its pad (per coordinate) of the true one, so each widened
//! box holds the other object's widened position, the boxes overlap in a cell that holds the low
//! corner of their overlap, and every split of the relative curve that contains `τ` passes the
//! curve test: the bracket holding `τ` is refined. The search never misses an approach the
//! refinement would accept, and it never depends on relative speed being high: boxes and pads are
//! positions, not speeds times steps. The limits are those of the bound and of the brackets:
//! - the interpolation bound is the two-body one with margins and a factor for SGP4's
//!   perturbations (see [`hermite`]); the tests check it against SGP4 for real catalogues;
//! - a bracket (ten seconds) is assumed to hold at most one minimum of the range: two extrema
//!   that close need co-moving objects (relative speed under about 10 m/s within a few km);
//! - an object's last interval before a failed sample is not searched.
//!
//! # Incremental re-screening
//!
//! [`Screening`] keeps every object's samples and spheres (about 12 kB per object and day: 304 MB
//! for the whole 2023 catalogue over 24 h).
//! [`Screening::update`] propagates the changed objects afresh, searches each against all
//! others (radial bands, spheres, curve test), refines, and replaces their events. Refinement
//! works on fixed brackets, so an event found incrementally is bit for bit the one a full
//! screening finds.

pub mod covariance;
pub mod hermite;
pub mod refine;
pub mod search;
pub mod spread;
pub mod tracks;

use std::collections::HashMap;
use std::sync::Arc;

use orbit::propagate::{PreparedObject, SampleStatus};
use protocol::ids::ObjectId;
use protocol::orbit::{PropagationError, Propagator};
use protocol::records::OrbitEstimate;
use protocol::time::Epoch;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use covariance::CollisionProbability;
use refine::Body;
use search::{Candidate, CurveScratch, GridScratch, GridSettings};
use tracks::{MeanElements, Sampling, TrackStore};

use crate::screening::hbr::HbrTable;

/// Seconds between SGP4 samples. Five minutes keeps the interpolation error in low orbit near
/// 0.4 km (it grows as the fourth power of the step) while one day of the whole catalogue costs
/// 7 million propagations.
pub const SAMPLE_STEP_S: u32 = 300;

/// Sub-steps per sampling interval in the all-against-all grid (75 s each): a low-orbit box is
/// about 560 km long. Fewer, longer boxes cost fewer grid entries and more pair tests; four
/// measured fastest on the 2023 catalogue (ten took 30% longer, two 50%).
pub const SUB_STEPS: usize = 4;

/// Refinement brackets, s (see [`refine`]).
pub const BRACKET_S: f64 = 10.0;

/// Default window: one day.
pub const DEFAULT_WINDOW_S: u32 = 86_400;

/// Longest window: seven days (element sets are rarely worth more).
pub const MAX_WINDOW_S: u32 = 7 * 86_400;

/// Default miss-distance threshold, km.
pub const DEFAULT_THRESHOLD_KM: f64 = 5.0;

/// Largest threshold, km. Candidates grow as its square, and beyond it screening is no longer
/// about collisions.
pub const MAX_THRESHOLD_KM: f64 = 100.0;

/// Sampling intervals per chunk of a one-shot screening (six hours): memory stays near 45 MB for
/// the whole catalogue whatever the window.
const ONE_SHOT_CHUNK_INTERVALS: usize = 72;

/// Sampling intervals per task of the all-against-all search: one pass over the slots reads
/// the samples of them all, which lie side by side.
const INTERVALS_PER_TASK: usize = 4;

/// Other slots per task when one object is re-screened against all.
const UPDATE_SLOTS_PER_TASK: usize = 2_048;

/// Edge of a grid cell, km, before adding the threshold: about two low-orbit boxes (560 km of
/// arc in a 75-second sub-step). Larger cells put more pairs in each cell, smaller ones more
/// cells under each box; this measured fastest on the 2023 catalogue (flat from 1 000 to
/// 1 500 km).
const GRID_CELL_KM: f64 = 1_200.0;

/// Radial slab of the grid, km: boxes at different altitudes in the same cell are never paired.
/// A low-orbit box is a few km deep (the threshold and the pads); 60 km slabs cut the pairs of
/// the populated 500–900 km band several times over while adding few cells per box.
const RADIAL_BIN_KM: f64 = 60.0;

/// What to screen for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScreeningParameters {
    /// Start of the window (UTC).
    pub start: Epoch,
    /// Length of the window, s (at most [`MAX_WINDOW_S`]; zero finds nothing).
    pub window_s: u32,
    /// Largest miss distance reported, km.
    pub threshold_km: f64,
    /// Combined hard-body radius for every pair, m; when absent, the HBR table's (if any).
    pub hard_body_radius_m: Option<f64>,
}

/// Parameters that cannot be screened with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParameterError {
    #[error("the window of {window_s} s is longer than the {MAX_WINDOW_S} s (7 days) allowed")]
    WindowTooLong { window_s: u32 },
    #[error("the threshold must be a number of km above 0 and at most {MAX_THRESHOLD_KM}, not {0}", .threshold_km)]
    Threshold { threshold_km: f64 },
    #[error("the hard-body radius must be a positive number of metres, not {0}", .radius_m)]
    HardBodyRadius { radius_m: f64 },
    #[error("the window starting {start} does not fit the times the node represents")]
    Start { start: Epoch },
}

impl ScreeningParameters {
    /// The defaults (one day, 5 km) from `start`.
    pub fn new(start: Epoch) -> Self {
        Self {
            start,
            window_s: DEFAULT_WINDOW_S,
            threshold_km: DEFAULT_THRESHOLD_KM,
            hard_body_radius_m: None,
        }
    }

    /// The end of the window.
    pub fn end(&self) -> Epoch {
        self.start.plus_micros(i64::from(self.window_s) * 1_000_000)
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParameterError> {
        if self.window_s > MAX_WINDOW_S {
            return Err(ParameterError::WindowTooLong { window_s: self.window_s });
        }
        if !(self.threshold_km > 0.0 && self.threshold_km <= MAX_THRESHOLD_KM) {
            return Err(ParameterError::Threshold { threshold_km: self.threshold_km });
        }
        if let Some(radius_m) = self.hard_body_radius_m {
            if !(radius_m.is_finite() && radius_m > 0.0) {
                return Err(ParameterError::HardBodyRadius { radius_m });
            }
        }
        if !self.start.in_range() || !self.end().in_range() {
            return Err(ParameterError::Start { start: self.start });
        }
        Ok(())
    }
}

/// One object to screen: its element set and the caller's tag for it (an update id, a line
/// number), which events carry back.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenObject<S> {
    pub estimate: OrbitEstimate,
    pub source: S,
}

/// One close approach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conjunction<S> {
    /// The object with the smaller id.
    pub primary: ObjectId,
    pub secondary: ObjectId,
    /// The tags of the element sets used.
    pub primary_source: S,
    pub secondary_source: S,
    /// Time of closest approach (UTC, to the microsecond).
    pub tca: Epoch,
    pub miss_distance_km: f64,
    pub relative_speed_km_s: f64,
    /// Secondary minus primary position in the primary's radial, transverse, normal frame, km.
    pub miss_rtn_km: [f64; 3],
    /// TEME states at TCA.
    pub primary_position_km: [f64; 3],
    pub primary_velocity_km_s: [f64; 3],
    pub secondary_position_km: [f64; 3],
    pub secondary_velocity_km_s: [f64; 3],
    pub parameters: ScreeningParameters,
    pub probability: CollisionProbability,
}

/// Why an object was not screened, or not over the whole window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IssueKind {
    /// The elements do not initialise SGP4: not screened at all.
    NotInitialised { reason: String },
    /// Propagation failed at `at` (decay, eccentricity out of range): screened until
    /// `screened_until`, the last sampling instant before the one before the failure.
    PropagationFailed { at: Epoch, screened_until: Epoch, reason: String },
    /// Another element set of the same object, with a later epoch (or the same epoch, later in
    /// the input), was screened instead.
    Superseded { by_epoch: Epoch },
}

/// An object that was not screened over the whole window, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectIssue<S> {
    pub object: ObjectId,
    pub source: S,
    pub issue: IssueKind,
}

/// What a screening did, in counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreeningStats {
    pub n_objects: usize,
    pub n_candidates: usize,
    pub n_brackets_refined: usize,
    pub n_events: usize,
}

/// The result of a one-shot screening.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreeningReport<S> {
    pub parameters: ScreeningParameters,
    /// Sorted by TCA, then primary, then secondary.
    pub events: Vec<Conjunction<S>>,
    pub issues: Vec<ObjectIssue<S>>,
    pub stats: ScreeningStats,
}

/// The stages a screening reports progress in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Units: objects.
    Propagating,
    /// Units: sampling intervals.
    Searching,
    /// Units: candidate pairs.
    Refining,
}

/// Receives progress (from several threads at once).
pub trait Progress: Sync {
    /// A stage begins, with `total` units of work.
    fn stage(&self, _stage: Stage, _total: u64) {}
    /// `n` more units are done.
    fn advance(&self, _n: u64) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}

/// One object held for screening.
#[derive(Debug, Clone)]
struct Slot<S> {
    estimate: OrbitEstimate,
    source: S,
}

/// Sorts out duplicates: the element set with the latest epoch wins (the later one in the input
/// on a tie); the others become issues.
fn deduplicate<S>(objects: Vec<ScreenObject<S>>) -> (Vec<ScreenObject<S>>, Vec<ObjectIssue<S>>) {
    let mut best: HashMap<ObjectId, usize> = HashMap::with_capacity(objects.len());
    for (index, object) in objects.iter().enumerate() {
        let id = object.estimate.object;
        match best.get(&id) {
            Some(&kept) if objects[kept].estimate.epoch > object.estimate.epoch => {}
            _ => {
                best.insert(id, index);
            }
        }
    }
    let mut kept = Vec::with_capacity(best.len());
    let mut issues = Vec::new();
    for (index, object) in objects.into_iter().enumerate() {
        let id = object.estimate.object;
        let winner = best[&id];
        if winner == index {
            kept.push(object);
        } else {
            issues.push((id, index, object));
        }
    }
    let epochs: HashMap<ObjectId, Epoch> =
        kept.iter().map(|o| (o.estimate.object, o.estimate.epoch)).collect();
    let issues = issues
        .into_iter()
        .map(|(object, _, o)| ObjectIssue {
            object,
            source: o.source,
            issue: IssueKind::Superseded { by_epoch: epochs[&object] },
        })
        .collect();
    (kept, issues)
}

/// The issue of an object whose elements do not initialise, or whose propagation failed.
fn issue_of<S: Clone>(
    slot: &Slot<S>,
    prepared: &PreparedObject,
    failure: Option<(usize, SampleStatus)>,
    sampling_start: Epoch,
    step_s: u32,
) -> Option<ObjectIssue<S>> {
    let issue = match (prepared, failure) {
        (Err(error), _) => IssueKind::NotInitialised { reason: error.to_string() },
        (Ok(_), None) => return None,
        (Ok(propagator), Some((sample, status))) => {
            let at = sampling_start.plus_micros(sample as i64 * i64::from(step_s) * 1_000_000);
            let screened_until =
                sampling_start.plus_micros(sample.saturating_sub(1) as i64 * i64::from(step_s) * 1_000_000);
            let reason = match propagator.propagate_to(at) {
                Err(error) => error.to_string(),
                Ok(_) => status.description().to_owned(),
            };
            IssueKind::PropagationFailed { at, screened_until, reason }
        }
    };
    Some(ObjectIssue { object: slot.estimate.object, source: slot.source.clone(), issue })
}

/// The grid settings for a threshold.
fn grid_settings(threshold_km: f64) -> GridSettings {
    GridSettings { sub_steps: SUB_STEPS, cell_km: GRID_CELL_KM + threshold_km, radial_bin_km: RADIAL_BIN_KM }
}

/// Candidates of every pair over every interval of `store`, in parallel.
fn search_all(store: &TrackStore, threshold_km: f64, progress: &dyn Progress) -> Vec<Candidate> {
    let settings = grid_settings(threshold_km);
    let n_intervals = store.sampling.n_intervals();
    (0..n_intervals.div_ceil(INTERVALS_PER_TASK))
        .into_par_iter()
        .map_init(GridScratch::default, |scratch, block| {
            let intervals = block * INTERVALS_PER_TASK..((block + 1) * INTERVALS_PER_TASK).min(n_intervals);
            let n = intervals.len();
            let mut out = Vec::new();
            search::search_intervals(store, threshold_km, settings, intervals, scratch, &mut out);
            progress.advance(n as u64);
            out
        })
        .flatten_iter()
        .collect()
}

/// Everything refinement needs to turn candidates into events.
struct RefineContext<'a, S> {
    parameters: &'a ScreeningParameters,
    hbr_table: Option<&'a HbrTable>,
    slots: &'a [Option<Slot<S>>],
    prepared: &'a [PreparedObject],
}

impl<S: Clone + Send + Sync> RefineContext<'_, S> {
    /// The events of the candidates (sorted by TCA, primary, secondary), and the number of
    /// brackets refined.
    fn refine(&self, candidates: &[Candidate], progress: &dyn Progress) -> (Vec<Conjunction<S>>, usize) {
        let window_s = f64::from(self.parameters.window_s);
        let n_brackets = refine::n_brackets(window_s);
        let mut marked: Vec<(u32, u32, u32)> = Vec::with_capacity(candidates.len());
        for candidate in candidates {
            if let Some((first, last)) = refine::brackets_of(candidate.t0_s, candidate.t1_s, n_brackets) {
                marked.extend((first..=last).map(|c| (candidate.a, candidate.b, c as u32)));
            }
        }
        marked.par_sort_unstable();
        marked.dedup();
        let mut groups = Vec::new();
        let mut begin = 0;
        for i in 1..=marked.len() {
            if i == marked.len() || (marked[i].0, marked[i].1) != (marked[begin].0, marked[begin].1) {
                groups.push(begin..i);
                begin = i;
            }
        }
        progress.stage(Stage::Refining, groups.len() as u64);
        let mut events: Vec<Conjunction<S>> = groups
            .par_iter()
            .flat_map_iter(|range| {
                let (a, b, _) = marked[range.start];
                let brackets: Vec<usize> = marked[range.clone()].iter().map(|m| m.2 as usize).collect();
                let events = self.refine_pair(a as usize, b as usize, &brackets, window_s);
                progress.advance(1);
                events
            })
            .collect();
        events.par_sort_unstable_by_key(|e| (e.tca, e.primary, e.secondary));
        (events, marked.len())
    }

    fn refine_pair(&self, a: usize, b: usize, brackets: &[usize], window_s: f64) -> Vec<Conjunction<S>> {
        let (Some(Some(slot_a)), Some(Some(slot_b))) = (self.slots.get(a), self.slots.get(b)) else {
            return Vec::new();
        };
        let (Some(Ok(prop_a)), Some(Ok(prop_b))) = (self.prepared.get(a), self.prepared.get(b)) else {
            return Vec::new();
        };
        // The primary is the smaller id, so that the pair is oriented the same way whatever
        // slots the objects occupy.
        let ((primary, primary_prop), (secondary, secondary_prop)) =
            if slot_a.estimate.object <= slot_b.estimate.object {
                ((slot_a, prop_a), (slot_b, prop_b))
            } else {
                ((slot_b, prop_b), (slot_a, prop_a))
            };
        let start = self.parameters.start;
        let one = Body::new(primary_prop, start);
        let two = Body::new(secondary_prop, start);
        refine::closest_approaches(&one, &two, brackets, window_s)
            .into_iter()
            .filter_map(|t_s| {
                self.event(primary, primary_prop, secondary, secondary_prop, refine::epoch_at(start, t_s))
            })
            .collect()
    }

    fn hard_body_radius_m(&self, a: &ObjectId, b: &ObjectId) -> Option<f64> {
        self.parameters.hard_body_radius_m.or_else(|| {
            let table = self.hbr_table?;
            table.combined_m(a.norad()?, b.norad()?)
        })
    }

    fn event(
        &self,
        primary: &Slot<S>,
        primary_prop: &Propagator,
        secondary: &Slot<S>,
        secondary_prop: &Propagator,
        tca: Epoch,
    ) -> Option<Conjunction<S>> {
        let g = refine::geometry(primary_prop, secondary_prop, tca).ok()?;
        // A NaN miss distance is no event either.
        let within = matches!(
            g.miss_distance_km.partial_cmp(&self.parameters.threshold_km),
            Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
        );
        if !within {
            return None;
        }
        let (p, s) = (&primary.estimate, &secondary.estimate);
        let probability = covariance::probability(
            (p, primary_prop, &g.primary),
            (s, secondary_prop, &g.secondary),
            tca,
            self.hard_body_radius_m(&p.object, &s.object),
        );
        Some(Conjunction {
            primary: p.object,
            secondary: s.object,
            primary_source: primary.source.clone(),
            secondary_source: secondary.source.clone(),
            tca,
            miss_distance_km: g.miss_distance_km,
            relative_speed_km_s: g.relative_speed_km_s,
            miss_rtn_km: g.miss_rtn_km,
            primary_position_km: g.primary.position_km,
            primary_velocity_km_s: g.primary.velocity_km_s,
            secondary_position_km: g.secondary.position_km,
            secondary_velocity_km_s: g.secondary.velocity_km_s,
            parameters: *self.parameters,
            probability,
        })
    }
}

/// The mean elements of each slot, for the error bounds.
fn elements_of<S>(slots: &[Option<Slot<S>>]) -> Vec<MeanElements> {
    slots
        .iter()
        .map(|slot| slot.as_ref().map_or_else(MeanElements::default, |s| MeanElements::of(&s.estimate)))
        .collect()
}

/// Screens every pair of `objects` once, without keeping anything for later updates. Memory is
/// bounded whatever the window: the window is searched six hours at a time.
pub fn screen<S: Clone + Send + Sync>(
    parameters: ScreeningParameters,
    objects: Vec<ScreenObject<S>>,
    hbr_table: Option<&HbrTable>,
    progress: &dyn Progress,
) -> Result<ScreeningReport<S>, ParameterError> {
    parameters.validate()?;
    let (objects, mut issues) = deduplicate(objects);
    let slots: Vec<Option<Slot<S>>> =
        objects.into_iter().map(|o| Some(Slot { estimate: o.estimate, source: o.source })).collect();
    let prepared: Vec<PreparedObject> = slots
        .par_iter()
        .map(|slot| slot.as_ref().map_or_else(removed, |s| Propagator::new(&s.estimate)))
        .collect();
    let elements = elements_of(&slots);
    let n_intervals = tracks::n_intervals(parameters.window_s, SAMPLE_STEP_S);
    progress.stage(Stage::Searching, n_intervals as u64);
    let mut failures: Vec<Option<(usize, SampleStatus)>> = vec![None; slots.len()];
    let mut candidates = Vec::new();
    let mut first = 0;
    loop {
        let n = ONE_SHOT_CHUNK_INTERVALS.min(n_intervals - first);
        let sampling = Sampling::chunk(parameters.start, SAMPLE_STEP_S, first, n);
        let mut store = TrackStore::new(sampling, parameters.threshold_km, false);
        store.resize(slots.len());
        store.fill(&prepared, &elements, 0..slots.len());
        for (slot, failure) in failures.iter_mut().enumerate() {
            if failure.is_some() {
                // Gone in an earlier chunk: gone for good.
                store.clear(slot);
            } else if let Some((sample, status)) = store.track(slot).failure {
                *failure = Some((first + sample, status));
            }
        }
        candidates.extend(search_all(&store, parameters.threshold_km, progress));
        first += n;
        if first >= n_intervals {
            break;
        }
    }
    for (slot, failure) in failures.iter().enumerate() {
        if let Some(Some(s)) = slots.get(slot) {
            issues.extend(issue_of(s, &prepared[slot], *failure, parameters.start, SAMPLE_STEP_S));
        }
    }
    let context = RefineContext { parameters: &parameters, hbr_table, slots: &slots, prepared: &prepared };
    let (events, n_brackets_refined) = context.refine(&candidates, progress);
    let stats = ScreeningStats {
        n_objects: slots.len(),
        n_candidates: candidates.len(),
        n_brackets_refined,
        n_events: events.len(),
    };
    Ok(ScreeningReport { parameters, events, issues, stats })
}

/// The stand-in for an empty slot's propagator.
fn removed() -> PreparedObject {
    Err(PropagationError::Initialisation("no object in this slot".to_owned()))
}

/// What an update did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateSummary {
    /// Objects re-screened (added or changed).
    pub n_rescreened: usize,
    pub n_removed: usize,
    pub n_events_removed: usize,
    pub n_events_added: usize,
    pub n_candidates: usize,
}

/// A screened catalogue that can be updated: the events of every pair, and what incremental
/// re-screening needs (see the module documentation).
#[derive(Debug)]
pub struct Screening<S> {
    parameters: ScreeningParameters,
    hbr_table: Option<Arc<HbrTable>>,
    slots: Vec<Option<Slot<S>>>,
    prepared: Vec<PreparedObject>,
    index: HashMap<ObjectId, usize>,
    free: Vec<usize>,
    store: TrackStore,
    events: Vec<Conjunction<S>>,
    issues: Vec<ObjectIssue<S>>,
}

impl<S: Clone + Send + Sync> Screening<S> {
    /// An empty screening with these parameters and, optionally, NASA CARA's HBR table for pairs
    /// the parameters give no hard-body radius for.
    pub fn new(
        parameters: ScreeningParameters,
        hbr_table: Option<Arc<HbrTable>>,
    ) -> Result<Self, ParameterError> {
        parameters.validate()?;
        let sampling = Sampling::new(parameters.start, parameters.window_s, SAMPLE_STEP_S);
        Ok(Self {
            parameters,
            hbr_table,
            slots: Vec::new(),
            prepared: Vec::new(),
            index: HashMap::new(),
            free: Vec::new(),
            store: TrackStore::new(sampling, parameters.threshold_km, true),
            events: Vec::new(),
            issues: Vec::new(),
        })
    }

    pub fn parameters(&self) -> &ScreeningParameters {
        &self.parameters
    }

    /// Every event, sorted by TCA, then primary, then secondary.
    pub fn events(&self) -> &[Conjunction<S>] {
        &self.events
    }

    /// The objects not screened over the whole window, and why.
    pub fn issues(&self) -> &[ObjectIssue<S>] {
        &self.issues
    }

    /// Number of objects held.
    pub fn n_objects(&self) -> usize {
        self.index.len()
    }

    /// Bytes held for incremental re-screening: samples, spheres, tracks, propagators, element
    /// sets (events and issues not included).
    pub fn cache_bytes(&self) -> usize {
        self.store.memory_bytes()
            + self.prepared.capacity() * std::mem::size_of::<PreparedObject>()
            + self.slots.capacity() * std::mem::size_of::<Option<Slot<S>>>()
            + self.index.capacity() * (std::mem::size_of::<(ObjectId, usize)>() + 8)
    }

    /// Replaces everything with `objects` and screens all against all.
    pub fn screen_all(&mut self, objects: Vec<ScreenObject<S>>, progress: &dyn Progress) -> ScreeningStats {
        let (objects, superseded) = deduplicate(objects);
        self.index = objects.iter().enumerate().map(|(slot, o)| (o.estimate.object, slot)).collect();
        self.slots =
            objects.into_iter().map(|o| Some(Slot { estimate: o.estimate, source: o.source })).collect();
        self.free.clear();
        progress.stage(Stage::Propagating, self.slots.len() as u64);
        self.prepared = self
            .slots
            .par_iter()
            .map(|slot| slot.as_ref().map_or_else(removed, |s| Propagator::new(&s.estimate)))
            .collect();
        let elements = elements_of(&self.slots);
        let sampling = Sampling::new(self.parameters.start, self.parameters.window_s, SAMPLE_STEP_S);
        self.store = TrackStore::new(sampling, self.parameters.threshold_km, true);
        self.store.resize(self.slots.len());
        self.store.fill(&self.prepared, &elements, 0..self.slots.len());
        progress.advance(self.slots.len() as u64);
        self.issues = superseded;
        for slot in 0..self.slots.len() {
            self.record_issue(slot);
        }
        progress.stage(Stage::Searching, self.store.sampling.n_intervals() as u64);
        let candidates = search_all(&self.store, self.parameters.threshold_km, progress);
        let (events, n_brackets_refined) = self.context().refine(&candidates, progress);
        self.events = events;
        ScreeningStats {
            n_objects: self.slots.len(),
            n_candidates: candidates.len(),
            n_brackets_refined,
            n_events: self.events.len(),
        }
    }

    fn context(&self) -> RefineContext<'_, S> {
        RefineContext {
            parameters: &self.parameters,
            hbr_table: self.hbr_table.as_deref(),
            slots: &self.slots,
            prepared: &self.prepared,
        }
    }

    fn record_issue(&mut self, slot: usize) {
        if let Some(Some(s)) = self.slots.get(slot) {
            let failure = self.store.track(slot).failure;
            self.issues.extend(issue_of(
                s,
                &self.prepared[slot],
                failure,
                self.parameters.start,
                SAMPLE_STEP_S,
            ));
        }
    }

    /// Applies an update: `changed` objects (new ones, or new element sets of objects held)
    /// are propagated afresh and re-screened against all others, `removed` ones leave; the
    /// events of both are replaced. The result equals a full screening of the updated
    /// catalogue.
    pub fn update(&mut self, changed: Vec<ScreenObject<S>>, removed_ids: &[ObjectId]) -> UpdateSummary {
        let (changed, superseded) = deduplicate(changed);
        // Sorted, for a binary search per event: hashing both ids of every event held cost
        // more than the search of a single changed object.
        let mut touched: Vec<ObjectId> =
            changed.iter().map(|o| o.estimate.object).chain(removed_ids.iter().copied()).collect();
        touched.sort_unstable();
        touched.dedup();
        let is_touched = |id: &ObjectId| touched.binary_search(id).is_ok();
        let n_events_before = self.events.len();
        self.events.retain(|e| !is_touched(&e.primary) && !is_touched(&e.secondary));
        let n_events_removed = n_events_before - self.events.len();
        self.issues.retain(|issue| !is_touched(&issue.object));
        self.issues.extend(superseded);
        let mut n_removed = 0;
        for id in removed_ids {
            if let Some(slot) = self.index.remove(id) {
                self.slots[slot] = None;
                self.prepared[slot] = removed();
                self.store.clear(slot);
                self.free.push(slot);
                n_removed += 1;
            }
        }
        let mut changed_slots = Vec::with_capacity(changed.len());
        for object in changed {
            let id = object.estimate.object;
            let slot = match self.index.get(&id) {
                Some(&slot) => slot,
                None => {
                    let slot = self.free.pop().unwrap_or(self.slots.len());
                    if slot == self.slots.len() {
                        self.slots.push(None);
                        self.prepared.push(removed());
                    }
                    self.index.insert(id, slot);
                    slot
                }
            };
            self.prepared[slot] = Propagator::new(&object.estimate);
            self.slots[slot] = Some(Slot { estimate: object.estimate, source: object.source });
            changed_slots.push(slot);
        }
        self.store.resize(self.slots.len());
        for &slot in &changed_slots {
            let elements = elements_of(&self.slots[slot..slot + 1]);
            self.store.fill(&self.prepared, &elements, slot..slot + 1);
            self.record_issue(slot);
        }
        let mut changed_set = changed_slots.clone();
        changed_set.sort_unstable();
        let n_slots = self.slots.len();
        let store = &self.store;
        let threshold_km = self.parameters.threshold_km;
        // One task per changed object and block of other slots, so that one object's
        // re-screening uses every core.
        let tasks: Vec<(usize, usize)> = changed_slots
            .iter()
            .flat_map(|&q| (0..n_slots).step_by(UPDATE_SLOTS_PER_TASK).map(move |first| (q, first)))
            .collect();
        let candidates: Vec<Candidate> = tasks
            .par_iter()
            .map_init(CurveScratch::default, |scratch, &(q, first)| {
                let mut out = Vec::new();
                // A pair of changed objects is searched once, from the smaller slot.
                let others = (first..(first + UPDATE_SLOTS_PER_TASK).min(n_slots))
                    .filter(|other| *other > q || changed_set.binary_search(other).is_err());
                search::search_one(store, threshold_km, q, others, scratch, &mut out);
                out
            })
            .flatten_iter()
            .collect();
        let (new_events, _) = self.context().refine(&candidates, &Silent);
        let n_events_added = new_events.len();
        self.events.extend(new_events);
        self.events.sort_unstable_by_key(|e| (e.tca, e.primary, e.secondary));
        UpdateSummary {
            n_rescreened: changed_slots.len(),
            n_removed,
            n_events_removed,
            n_events_added,
            n_candidates: candidates.len(),
        }
    }
}
