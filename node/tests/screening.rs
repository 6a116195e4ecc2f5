//! Conjunction screening finds what a brute-force scan finds, incremental re-screening equals a
//! full one, bad input gives sensible answers, and `commons screen` works through the real
//! binary.
//!
//! Windows start at fixed times near the data's epochs, never the clock. Tests that need the
//! shared data skip with a message when it is absent.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use node::orbit::propagate::{prepare, propagate_parallel, StateArrays, Times};
use node::orbit::{tle, ElementSet};
use node::screening::screen::hermite;
use node::screening::screen::spread::{source_spread, SourceEstimates};
use node::screening::screen::tracks::{MeanElements, Sampling, TrackStore};
use node::screening::screen::{
    self, CollisionProbability, Conjunction, IssueKind, ScreenObject, Screening, ScreeningParameters, Silent,
    SAMPLE_STEP_S,
};
use protocol::ids::ObjectId;
use protocol::orbit::Propagator;
use protocol::records::{Covariance, CovarianceFrame, OrbitEstimate};
use protocol::time::Epoch;
use rayon::prelude::*;

const FULL_CATALOGUE: &str = "catalog/full-catalog-3le-2023-03-31.txt";

fn start_2023() -> Epoch {
    Epoch::from_civil(2023, 3, 31, 0)
}

fn start_2026() -> Epoch {
    Epoch::from_civil(2026, 5, 30, 0)
}

/// The element sets of a shared data file, or `None` (with a message) when it is absent.
fn read_data(relative: &str) -> Option<Vec<ElementSet>> {
    let path = node::data::data_file(relative)?;
    let text = std::fs::read_to_string(&path).expect("readable data file");
    let outcome = node::orbit::read_element_sets(&text, relative);
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors.first());
    Some(outcome.sets)
}

fn to_objects(sets: &[ElementSet]) -> Vec<ScreenObject<u32>> {
    sets.iter()
        .enumerate()
        .map(|(i, s)| ScreenObject { estimate: s.estimate.clone(), source: i as u32 })
        .collect()
}

/// 2 000 objects of the 2023-03-31 catalogue: 1 500 from the densest shell (perigee 500–600 km,
/// mostly Starlink, where the filters work hardest) and 500 spread over everything else (every
/// regime up to GEO and beyond), in file order.
fn subset_2000(sets: &[ElementSet]) -> Vec<ElementSet> {
    let perigee_km = |e: &OrbitEstimate| {
        let n = e.mean_motion_rev_per_day * std::f64::consts::TAU / 86_400.0;
        let a = (hermite::MU_KM3_S2 / (n * n)).cbrt();
        a * (1.0 - e.eccentricity) - 6378.135
    };
    let (shell, rest): (Vec<&ElementSet>, Vec<&ElementSet>) =
        sets.iter().partition(|s| (500.0..600.0).contains(&perigee_km(&s.estimate)));
    let every = |v: &[&ElementSet], n: usize| -> Vec<ElementSet> {
        let stride = (v.len() / n).max(1);
        v.iter().step_by(stride).take(n).map(|s| (*s).clone()).collect()
    };
    let mut out = every(&shell, 1_500);
    out.extend(every(&rest, 500));
    assert_eq!(out.len(), 2_000);
    out
}

/// An honest, independent reference: exact SGP4 every ten seconds with a speed bound (a pair
/// farther apart than the threshold plus ten seconds at both objects' top speeds cannot meet
/// within five seconds of that sample), then, around the samples that pass, the range every
/// second, and a golden-section search on the range around each discrete minimum. It shares
/// nothing with the screening but SGP4.
mod reference {
    use super::*;

    /// Seconds between exact samples of the prefilter.
    const COARSE_S: i64 = 10;
    /// Exact samples per propagated chunk.
    const CHUNK_STEPS: usize = 360;
    /// A speed can grow by at most |a| ≤ 0.0099 km/s² times 5 s between samples.
    const SPEED_MARGIN_KM_S: f64 = 0.1;

    #[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Event {
        pub a: u32,
        pub b: u32,
        pub tca_s: f64,
        pub miss_km: f64,
    }

    struct Pair {
        a: usize,
        b: usize,
        ranges: Vec<(i64, i64)>,
    }

    /// Every local minimum of the range at most `threshold_km` inside the window, for objects
    /// alive (every ten-second sample propagated) over the whole window.
    pub fn events(sets: &[ElementSet], start: Epoch, window_s: i64, threshold_km: f64) -> Vec<Event> {
        let objects = prepare(sets.par_iter().map(|s| &s.estimate));
        let n = objects.len();
        let n_steps = (window_s / COARSE_S) as usize + 1;
        let mut alive = vec![true; n];
        let mut speed = vec![0.0f64; n];
        let mut flagged: Vec<(u32, u32, u32)> = Vec::new();
        let mut arrays = StateArrays::default();
        let mut first = 0;
        while first < n_steps {
            let count = CHUNK_STEPS.min(n_steps - first);
            let instants: Vec<Epoch> =
                (first..first + count).map(|k| start.plus_micros(k as i64 * COARSE_S * 1_000_000)).collect();
            arrays.resize(n, count).expect("fits");
            propagate_parallel(&objects, Times::Instants(&instants), arrays.slices_mut()).expect("fits");
            for (o, alive) in alive.iter_mut().enumerate() {
                for k in 0..count {
                    let sample = arrays.sample(o, k).expect("inside");
                    if !sample.status.is_ok() {
                        *alive = false;
                    } else {
                        let v = sample.velocity_km_s;
                        speed[o] = speed[o].max((v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt());
                    }
                }
            }
            let speed_bound: Vec<f64> = speed.iter().map(|v| v + SPEED_MARGIN_KM_S).collect();
            let v_max = speed_bound.iter().copied().fold(0.0, f64::max);
            let half_step = COARSE_S as f64 / 2.0;
            let reach_max = threshold_km + 2.0 * v_max * half_step;
            let arrays = &arrays;
            let alive = &alive;
            let speed_bound = &speed_bound;
            let found: Vec<(u32, u32, u32)> = (0..count)
                .into_par_iter()
                .flat_map_iter(|k| {
                    let mut points: Vec<(f64, usize, [f64; 3])> = (0..n)
                        .filter(|&o| alive[o])
                        .filter_map(|o| {
                            let s = arrays.sample(o, k)?;
                            s.status.is_ok().then_some((s.position_km[0], o, s.position_km))
                        })
                        .collect();
                    points.sort_by(|x, y| x.0.total_cmp(&y.0));
                    let mut out = Vec::new();
                    for (i, (x, a, ra)) in points.iter().enumerate() {
                        for (x2, b, rb) in &points[i + 1..] {
                            if x2 - x > reach_max {
                                break;
                            }
                            let reach = threshold_km + (speed_bound[*a] + speed_bound[*b]) * half_step;
                            let d = [rb[0] - ra[0], rb[1] - ra[1], rb[2] - ra[2]];
                            if d[0] * d[0] + d[1] * d[1] + d[2] * d[2] <= reach * reach {
                                let (lo, hi) = ((*a).min(*b), (*a).max(*b));
                                out.push((lo as u32, hi as u32, (first + k) as u32));
                            }
                        }
                    }
                    out
                })
                .collect();
            flagged.extend(found);
            first += count;
        }
        flagged.sort_unstable();
        // Per pair, the seconds around each flagged sample (a minimum under the threshold lies
        // within five seconds of some sample where the pair is flagged), merged.
        let mut pairs: Vec<Pair> = Vec::new();
        for &(a, b, k) in &flagged {
            let t = i64::from(k) * COARSE_S;
            let range = ((t - COARSE_S).max(0), (t + COARSE_S).min(window_s));
            match pairs.last_mut() {
                Some(p) if (p.a, p.b) == (a as usize, b as usize) => match p.ranges.last_mut() {
                    Some(last) if range.0 <= last.1 => last.1 = last.1.max(range.1),
                    _ => p.ranges.push(range),
                },
                _ => pairs.push(Pair { a: a as usize, b: b as usize, ranges: vec![range] }),
            }
        }
        let mut events: Vec<Event> = pairs
            .par_iter()
            .filter(|p| alive[p.a] && alive[p.b])
            .flat_map_iter(|p| {
                let (Ok(pa), Ok(pb)) = (&objects[p.a], &objects[p.b]) else { return Vec::new() };
                let (ida, idb) = (sets[p.a].estimate.object, sets[p.b].estimate.object);
                let (na, nb) =
                    (ida.norad().expect("catalogue number"), idb.norad().expect("catalogue number"));
                let reach_1s = threshold_km + speed[p.a] + speed[p.b] + 2.0 * SPEED_MARGIN_KM_S;
                let mut out = Vec::new();
                for &(s0, s1) in &p.ranges {
                    // The range every second; a second whose range is below both neighbours'
                    // holds a minimum within a second either side.
                    let ranges: Vec<Option<f64>> =
                        (s0..=s1).map(|s| range(pa, pb, start, s as f64)).collect();
                    for (i, w) in ranges.windows(3).enumerate() {
                        let (Some(before), Some(at), Some(after)) = (w[0], w[1], w[2]) else { continue };
                        if !(at < before && at <= after && at <= reach_1s) {
                            continue;
                        }
                        let s = (s0 + i as i64 + 1) as f64;
                        if let Some((tca_s, miss_km)) = golden_section(pa, pb, start, s - 1.0, s + 1.0) {
                            if miss_km <= threshold_km && tca_s > 0.0 && tca_s < window_s as f64 {
                                out.push(Event { a: na.min(nb), b: na.max(nb), tca_s, miss_km });
                            }
                        }
                    }
                }
                out
            })
            .collect();
        events.sort_by(|x, y| (x.a, x.b).cmp(&(y.a, y.b)).then(x.tca_s.total_cmp(&y.tca_s)));
        events.dedup_by(|x, y| x.a == y.a && x.b == y.b && (x.tca_s - y.tca_s).abs() < 1e-3);
        events
    }

    /// The range at `t_s` after `start`, km.
    fn range(a: &Propagator, b: &Propagator, start: Epoch, t_s: f64) -> Option<f64> {
        let at = start.plus_micros((t_s * 1e6).round() as i64);
        let (sa, sb) = (a.propagate_to(at).ok()?, b.propagate_to(at).ok()?);
        Some((0..3).map(|i| (sb.position_km[i] - sa.position_km[i]).powi(2)).sum::<f64>().sqrt())
    }

    /// The minimum of the range in `[lo, hi]` by golden-section search to a microsecond: the
    /// time and the range there.
    fn golden_section(
        a: &Propagator,
        b: &Propagator,
        start: Epoch,
        mut lo: f64,
        mut hi: f64,
    ) -> Option<(f64, f64)> {
        let ratio = (5f64.sqrt() - 1.0) / 2.0;
        let mut x1 = hi - ratio * (hi - lo);
        let mut x2 = lo + ratio * (hi - lo);
        let (mut f1, mut f2) = (range(a, b, start, x1)?, range(a, b, start, x2)?);
        while hi - lo > 1e-6 {
            if f1 <= f2 {
                hi = x2;
                (x2, f2) = (x1, f1);
                x1 = hi - ratio * (hi - lo);
                f1 = range(a, b, start, x1)?;
            } else {
                lo = x1;
                (x1, f1) = (x2, f2);
                x2 = lo + ratio * (hi - lo);
                f2 = range(a, b, start, x2)?;
            }
        }
        let t = ((0.5 * (lo + hi)) * 1e6).round() / 1e6;
        Some((t, range(a, b, start, t)?))
    }
}

/// The reference events of a subset, computed once and kept under the target directory (keyed
/// by the input and this file's reference code version).
fn cached_reference(
    sets: &[ElementSet],
    start: Epoch,
    window_s: i64,
    threshold_km: f64,
) -> Vec<reference::Event> {
    const VERSION: &str = "reference v2: 10 s exact prefilter, 1 s scan, golden section on the range";
    let mut hasher = blake3::Hasher::new();
    hasher.update(VERSION.as_bytes());
    hasher.update(format!("{start} {window_s} {threshold_km}").as_bytes());
    for set in sets {
        hasher.update(format!("{:?}", set.estimate).as_bytes());
    }
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("screening-reference-{}.json", &hasher.finalize().to_hex()[..16]));
    if let Some(events) = std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()) {
        eprintln!("reference events read from {}", path.display());
        return events;
    }
    let events = reference::events(sets, start, window_s, threshold_km);
    if let Ok(json) = serde_json::to_vec(&events) {
        // A cache only: a failure to write costs time on the next run, nothing else.
        let _ = std::fs::write(&path, json);
    }
    events
}

#[test]
fn screening_finds_what_a_dense_brute_force_scan_finds() {
    let Some(sets) = read_data(FULL_CATALOGUE) else { return };
    let subset = subset_2000(&sets);
    let (start, window_s, threshold_km) = (start_2023(), 86_400, 5.0);
    let reference = cached_reference(&subset, start, window_s, threshold_km);
    let parameters = ScreeningParameters::new(start);
    let report = screen::screen(parameters, to_objects(&subset), None, &Silent).expect("valid parameters");
    // Objects that fail to propagate inside the window are screened until their last good
    // sample only, and the reference drops them: compare the others.
    let with_issues: std::collections::HashSet<ObjectId> = report.issues.iter().map(|i| i.object).collect();
    let reference: Vec<_> = reference
        .into_iter()
        .filter(|e| {
            !with_issues.contains(&ObjectId::Norad(e.a)) && !with_issues.contains(&ObjectId::Norad(e.b))
        })
        .collect();
    assert!(reference.len() >= 100, "the reference should hold many events, not {}", reference.len());
    let ours: HashMap<(u32, u32), Vec<&Conjunction<u32>>> =
        report.events.iter().fold(HashMap::new(), |mut map, e| {
            let key = (e.primary.norad().expect("numbered"), e.secondary.norad().expect("numbered"));
            map.entry(key).or_default().push(e);
            map
        });
    let mut found = 0;
    let mut missed = Vec::new();
    let mut worst_tca_ms: f64 = 0.0;
    let mut worst_miss_m: f64 = 0.0;
    for r in &reference {
        let hit = ours
            .get(&(r.a, r.b))
            .and_then(|events| events.iter().find(|e| (e.tca.seconds_since(start) - r.tca_s).abs() <= 0.010));
        match hit {
            Some(e) => {
                found += 1;
                let tca_ms = (e.tca.seconds_since(start) - r.tca_s).abs() * 1e3;
                let miss_m = (e.miss_distance_km - r.miss_km).abs() * 1e3;
                worst_tca_ms = worst_tca_ms.max(tca_ms);
                worst_miss_m = worst_miss_m.max(miss_m);
                assert!(
                    miss_m <= 10.0,
                    "{}-{}: miss {} km against {} km",
                    r.a,
                    r.b,
                    e.miss_distance_km,
                    r.miss_km
                );
            }
            None => missed.push(*r),
        }
    }
    eprintln!(
        "reference {} events, screening {} events; found {found}; worst TCA {worst_tca_ms:.4} ms, miss {worst_miss_m:.4} m",
        reference.len(),
        report.events.len()
    );
    assert!(
        found as f64 >= 0.999 * reference.len() as f64,
        "found {found} of {} reference events; missed (first 10): {:?}",
        reference.len(),
        &missed[..missed.len().min(10)]
    );
    assert!(report.events.iter().all(|e| e.miss_distance_km <= threshold_km), "an event above the threshold");
    // And nearly everything the screening reports, the reference confirms.
    let confirmed = report
        .events
        .iter()
        .filter(|e| {
            let (a, b) = (e.primary.norad().expect("numbered"), e.secondary.norad().expect("numbered"));
            with_issues.contains(&e.primary)
                || with_issues.contains(&e.secondary)
                || reference
                    .iter()
                    .any(|r| (r.a, r.b) == (a, b) && (r.tca_s - e.tca.seconds_since(start)).abs() <= 0.010)
        })
        .count();
    assert!(
        confirmed as f64 >= 0.999 * report.events.len() as f64,
        "the reference confirms only {confirmed} of {} events",
        report.events.len()
    );
}

#[test]
fn the_interpolation_error_bound_holds_for_real_orbits() {
    // Every object of the 2023 catalogue and of the 2026 GEO group, with the pads the screening
    // uses: the Hermite interpolant's error against SGP4 at a third, half and two thirds of the
    // five-minute intervals (where the terms of the bound peak), every interval for deep-space
    // objects (whose pads come partly from errors measured at the middles), every fourth for
    // the others.
    for (file, start) in
        [(FULL_CATALOGUE, start_2023()), ("catalog/celestrak-2026-05-30/geo.tle", start_2026())]
    {
        let Some(sets) = read_data(file) else { return };
        let prepared = prepare(sets.par_iter().map(|s| &s.estimate));
        let elements: Vec<MeanElements> = sets.iter().map(|s| MeanElements::of(&s.estimate)).collect();
        let mut store = TrackStore::new(Sampling::new(start, 86_400, SAMPLE_STEP_S), 5.0, false);
        store.resize(sets.len());
        store.fill(&prepared, &elements, 0..sets.len());
        let h = f64::from(SAMPLE_STEP_S);
        let (worst, smooth_worst) = (0..sets.len())
            .into_par_iter()
            .filter_map(|o| {
                let propagator = prepared[o].as_ref().ok()?;
                let track = store.track(o);
                let deep_space = sets[o].estimate.mean_motion_rev_per_day < 6.5;
                let state =
                    |t: f64| propagator.propagate_to(start.plus_micros((t * 1e6).round() as i64)).ok();
                let as_array = |s: &protocol::orbit::State| {
                    let [x, y, z] = s.position_km;
                    let [vx, vy, vz] = s.velocity_km_s;
                    [x, y, z, vx, vy, vz]
                };
                let mut worst: f64 = 0.0;
                let stride = if deep_space { 1 } else { 4 };
                for k in (o % stride..track.n_usable).step_by(stride) {
                    let (a, b) = (state(k as f64 * h)?, state((k + 1) as f64 * h)?);
                    let cubics = hermite::cubic3(&as_array(&a), &as_array(&b), h);
                    for f in [1.0 / 3.0, 0.5, 2.0 / 3.0] {
                        let Some(truth) = state((k as f64 + f) * h) else { continue };
                        for (axis, c) in cubics.iter().enumerate() {
                            let interpolated = c[0] + f * (c[1] + f * (c[2] + f * c[3]));
                            worst = worst.max((interpolated - truth.position_km[axis]).abs() / track.pad_km);
                        }
                    }
                }
                Some(((worst, sets[o].estimate.object), if deep_space { 0.0 } else { worst }))
            })
            .reduce(
                || ((0.0, ObjectId::Norad(0)), 0.0),
                |x, y| (if x.0 .0 >= y.0 .0 { x.0 } else { y.0 }, x.1.max(y.1)),
            );
        let (ratio, object) = worst;
        eprintln!("{file}: largest error / pad {ratio:.3} (object {object}); near-earth {smooth_worst:.3}");
        assert!(ratio <= 1.0, "{file}: object {object}'s interpolation error exceeds its pad ({ratio:.3})");
        if file == FULL_CATALOGUE {
            assert!(smooth_worst > 0.05, "the smooth bound should not be wildly loose ({smooth_worst:.3})");
        }
    }
}

/// Moves 50 objects of `sets`: 25 to cross another object's path (its elements with the node
/// shifted by 0.7°, so the two meet twice per revolution at about 0.1 km/s), 25 along their own
/// orbits by 10° of mean anomaly.
fn moved_objects(sets: &[ElementSet]) -> Vec<ScreenObject<u32>> {
    (0..50)
        .map(|k| {
            let index = 17 + 37 * k;
            let mut estimate = sets[index].estimate.clone();
            if k % 2 == 0 {
                let partner = &sets[(index + 700) % sets.len()].estimate;
                estimate = OrbitEstimate { object: estimate.object, ..partner.clone() };
                estimate.ra_of_asc_node_deg = (estimate.ra_of_asc_node_deg + 0.7) % 360.0;
            } else {
                estimate.mean_anomaly_deg = (estimate.mean_anomaly_deg + 10.0) % 360.0;
            }
            ScreenObject { estimate, source: 10_000 + k as u32 }
        })
        .collect()
}

fn sorted_issues<S: Clone>(issues: &[screen::ObjectIssue<S>]) -> Vec<screen::ObjectIssue<S>> {
    let mut out = issues.to_vec();
    out.sort_by_key(|i| i.object);
    out
}

#[test]
fn incremental_rescreening_equals_a_full_screening() {
    let Some(sets) = read_data(FULL_CATALOGUE) else { return };
    let subset = subset_2000(&sets);
    let parameters = ScreeningParameters::new(start_2023());
    let mut incremental = Screening::new(parameters, None).expect("valid parameters");
    incremental.screen_all(to_objects(&subset), &Silent);
    let before = incremental.events().to_vec();
    let moved = moved_objects(&subset);
    let summary = incremental.update(moved.clone(), &[]);
    assert_eq!(summary.n_rescreened, 50);

    let mut updated = to_objects(&subset);
    for object in &moved {
        let slot =
            updated.iter_mut().find(|o| o.estimate.object == object.estimate.object).expect("in the subset");
        *slot = object.clone();
    }
    let mut full = Screening::new(parameters, None).expect("valid parameters");
    full.screen_all(updated.clone(), &Silent);
    assert_eq!(incremental.events(), full.events(), "incremental and full screening differ");
    assert_eq!(sorted_issues(incremental.issues()), sorted_issues(full.issues()));
    // The update mattered: events of moved objects came and went.
    let moved_ids: std::collections::HashSet<ObjectId> = moved.iter().map(|o| o.estimate.object).collect();
    let involving = |events: &[Conjunction<u32>]| {
        events.iter().filter(|e| moved_ids.contains(&e.primary) || moved_ids.contains(&e.secondary)).count()
    };
    assert!(involving(full.events()) >= 25, "the crossing objects should meet their partners");
    assert_ne!(before, full.events());
    assert!(summary.n_events_added > 0 && summary.n_events_removed > 0, "{summary:?}");
    // The one-shot screening (searched six hours at a time, without the caches) agrees too.
    let one_shot = screen::screen(parameters, updated.clone(), None, &Silent).expect("valid parameters");
    assert_eq!(one_shot.events, full.events());

    // Removing objects (and putting one back) is incremental too.
    let removed: Vec<ObjectId> = moved.iter().take(10).map(|o| o.estimate.object).collect();
    incremental.update(vec![], &removed);
    let back = updated.iter().find(|o| o.estimate.object == removed[3]).expect("present").clone();
    incremental.update(vec![back], &[]);
    let remaining: Vec<ScreenObject<u32>> = updated
        .into_iter()
        .filter(|o| !removed.contains(&o.estimate.object) || o.estimate.object == removed[3])
        .collect();
    full.screen_all(remaining, &Silent);
    assert_eq!(incremental.events(), full.events(), "after removals");
    assert_eq!(incremental.n_objects(), full.n_objects());
}

/// ISS (ZARYA), 2020-07-12, and copies on nearby orbits: one whose plane is turned by 5° about
/// the pole, phased (3.1° behind) to reach the planes' intersections with the ISS, and one far
/// ahead.
fn iss_family() -> Vec<OrbitEstimate> {
    let iss = node::synthetic::iss_2020_07_12();
    let mut crossing = OrbitEstimate { object: ObjectId::Norad(90_001), ..iss.clone() };
    crossing.ra_of_asc_node_deg += 5.0;
    crossing.mean_anomaly_deg -= 3.1;
    let mut ahead = OrbitEstimate { object: ObjectId::Norad(90_002), ..iss.clone() };
    ahead.mean_anomaly_deg += 90.0;
    ahead.ra_of_asc_node_deg -= 3.0;
    vec![iss, crossing, ahead]
}

fn objects_of(estimates: &[OrbitEstimate]) -> Vec<ScreenObject<u32>> {
    estimates
        .iter()
        .enumerate()
        .map(|(i, e)| ScreenObject { estimate: e.clone(), source: i as u32 })
        .collect()
}

fn iss_parameters(window_s: u32) -> ScreeningParameters {
    ScreeningParameters { window_s, ..ScreeningParameters::new(node::synthetic::iss_2020_07_12().epoch) }
}

#[test]
fn crossing_orbits_meet_twice_per_revolution_with_consistent_geometry() {
    let family = iss_family();
    let report =
        screen::screen(iss_parameters(21_600), objects_of(&family[..2]), None, &Silent).expect("valid");
    // They meet near both ends of the planes' intersection, every 46 minutes, closing at about
    // 2 v sin(2.5° sin i) ≈ 0.5 km/s: 7 or 8 times in six hours.
    assert!((7..=8).contains(&report.events.len()), "{} events", report.events.len());
    for e in &report.events {
        assert_eq!((e.primary, e.secondary), (ObjectId::Norad(25544), ObjectId::Norad(90_001)));
        assert_eq!((e.primary_source, e.secondary_source), (0, 1));
        assert!(e.miss_distance_km <= 5.0);
        assert!((0.3..0.8).contains(&e.relative_speed_km_s), "{}", e.relative_speed_km_s);
        let rtn = e.miss_rtn_km;
        let norm = (rtn[0] * rtn[0] + rtn[1] * rtn[1] + rtn[2] * rtn[2]).sqrt();
        assert!((norm - e.miss_distance_km).abs() < 1e-9);
        let dr: Vec<f64> = (0..3).map(|i| e.secondary_position_km[i] - e.primary_position_km[i]).collect();
        let dv: Vec<f64> =
            (0..3).map(|i| e.secondary_velocity_km_s[i] - e.primary_velocity_km_s[i]).collect();
        let range_rate = dr.iter().zip(&dv).map(|(r, v)| r * v).sum::<f64>() / e.miss_distance_km;
        assert!(range_rate.abs() < 1e-4, "range rate {range_rate} km/s at TCA");
        assert_eq!(e.probability, CollisionProbability::NoCovariance);
        assert!(e.tca >= report.parameters.start && e.tca <= report.parameters.end());
    }
}

#[test]
fn bad_input_gives_sensible_answers() {
    let family = iss_family();
    // Empty catalogue, one object.
    for objects in [vec![], objects_of(&family[..1])] {
        let report = screen::screen(iss_parameters(86_400), objects, None, &Silent).expect("valid");
        assert!(report.events.is_empty() && report.issues.is_empty());
    }
    // A window of zero length finds nothing, whatever the objects.
    let report = screen::screen(iss_parameters(0), objects_of(&family), None, &Silent).expect("valid");
    assert!(report.events.is_empty() && report.issues.is_empty());
    // The same object twice: the later element set is screened, the other reported.
    let mut older = family[1].clone();
    older.epoch = older.epoch.plus_micros(-3_600_000_000);
    older.mean_anomaly_deg += 40.0;
    let report = screen::screen(
        iss_parameters(21_600),
        objects_of(&[family[0].clone(), older, family[1].clone(), family[1].clone()]),
        None,
        &Silent,
    )
    .expect("valid");
    let superseded: Vec<_> = report.issues.iter().map(|i| (i.object, i.source, i.issue.clone())).collect();
    assert_eq!(
        superseded,
        vec![
            (ObjectId::Norad(90_001), 1, IssueKind::Superseded { by_epoch: family[1].epoch }),
            (ObjectId::Norad(90_001), 2, IssueKind::Superseded { by_epoch: family[1].epoch }),
        ]
    );
    assert!(!report.events.is_empty() && report.events.iter().all(|e| e.secondary_source == 3));
    // Two ids with identical elements never separate: the range has no minimum, no event.
    let twin = OrbitEstimate { object: ObjectId::Norad(90_009), ..family[0].clone() };
    let report =
        screen::screen(iss_parameters(21_600), objects_of(&[family[0].clone(), twin]), None, &Silent)
            .expect("valid");
    assert!(report.events.is_empty(), "{:?}", report.events.first());
    // Elements that do not initialise SGP4 are reported, not dropped.
    let broken = OrbitEstimate { object: ObjectId::Norad(90_010), eccentricity: 1.5, ..family[0].clone() };
    let report =
        screen::screen(iss_parameters(3_600), objects_of(&[family[0].clone(), broken]), None, &Silent)
            .expect("valid");
    assert!(matches!(&report.issues[..], [i] if i.object == ObjectId::Norad(90_010)
        && matches!(i.issue, IssueKind::NotInitialised { .. })));
    // Parameters out of range are errors, not panics.
    for parameters in [
        ScreeningParameters { window_s: 8 * 86_400, ..iss_parameters(0) },
        ScreeningParameters { threshold_km: 0.0, ..iss_parameters(3_600) },
        ScreeningParameters { threshold_km: f64::NAN, ..iss_parameters(3_600) },
        ScreeningParameters { hard_body_radius_m: Some(-1.0), ..iss_parameters(3_600) },
        ScreeningParameters { start: Epoch::from_micros(i64::MAX), ..iss_parameters(3_600) },
    ] {
        assert!(screen::screen(parameters, objects_of(&family), None, &Silent).is_err(), "{parameters:?}");
        assert!(Screening::<u32>::new(parameters, None).is_err());
    }
}

#[test]
fn an_object_that_decays_mid_window_is_screened_until_then_and_reported() {
    let iss = node::synthetic::iss_2020_07_12();
    // Low and draggy: SGP4 finds it below the Earth's surface after 286 minutes. Its companion,
    // as draggy, crosses its path twice per revolution until both decay.
    let decaying = OrbitEstimate {
        object: ObjectId::Norad(90_020),
        mean_motion_rev_per_day: 16.2,
        bstar: 0.1,
        ..iss.clone()
    };
    let mut companion = decaying.clone();
    companion.object = ObjectId::Norad(90_021);
    companion.ra_of_asc_node_deg += 5.0;
    companion.mean_anomaly_deg -= 3.1;
    let report = screen::screen(
        iss_parameters(86_400),
        objects_of(&[iss, decaying.clone(), companion.clone()]),
        None,
        &Silent,
    )
    .expect("valid");
    let failed = report
        .issues
        .iter()
        .find_map(|i| match &i.issue {
            IssueKind::PropagationFailed { at, screened_until, reason }
                if i.object == ObjectId::Norad(90_020) =>
            {
                Some((*at, *screened_until, reason.clone()))
            }
            _ => None,
        })
        .expect("the decay is reported");
    let (at, screened_until, reason) = failed;
    assert!(at > report.parameters.start && at < report.parameters.end(), "{at}");
    assert!(screened_until < at && !reason.is_empty());
    let with_decaying: Vec<_> = report
        .events
        .iter()
        .filter(|e| e.primary == ObjectId::Norad(90_020) || e.secondary == ObjectId::Norad(90_020))
        .collect();
    assert!(!with_decaying.is_empty(), "it meets its companion before it decays");
    assert!(with_decaying.iter().all(|e| e.tca <= at));
    // The incremental screening says the same.
    let mut screening = Screening::new(iss_parameters(86_400), None).expect("valid");
    screening.screen_all(objects_of(&[node::synthetic::iss_2020_07_12(), decaying, companion]), &Silent);
    assert_eq!(screening.events(), &report.events[..]);
    assert_eq!(sorted_issues(screening.issues()), sorted_issues(&report.issues));
}

fn with_covariance(mut estimate: OrbitEstimate, sigma_km: f64) -> OrbitEstimate {
    let mut lower = [0.0; 21];
    let diagonal = [0, 2, 5, 9, 14, 20];
    for (i, &index) in diagonal.iter().enumerate() {
        lower[index] = if i < 3 { sigma_km * sigma_km } else { (sigma_km * 1e-3).powi(2) };
    }
    estimate.covariance = Some(Box::new(Covariance { frame: CovarianceFrame::Rtn, lower_triangle: lower }));
    estimate
}

#[test]
fn events_carry_a_collision_probability_where_both_objects_have_covariance() {
    let family = iss_family();
    let estimates = [with_covariance(family[0].clone(), 0.2), with_covariance(family[1].clone(), 0.3)];
    let mut parameters = iss_parameters(7_200);
    parameters.hard_body_radius_m = Some(20.0);
    let report = screen::screen(parameters, objects_of(&estimates), None, &Silent).expect("valid");
    assert!(!report.events.is_empty());
    for e in &report.events {
        match e.probability {
            CollisionProbability::Computed { pc, hard_body_radius_m, sigma_major_m, .. } => {
                assert!((0.0..=1.0).contains(&pc), "{pc}");
                assert_eq!(hard_body_radius_m, 20.0);
                assert!(sigma_major_m > 100.0, "{sigma_major_m}");
            }
            ref other => panic!("expected a probability, got {other:?}"),
        }
    }
    // No radius anywhere: no probability, and it says why.
    let report = screen::screen(iss_parameters(7_200), objects_of(&estimates), None, &Silent).expect("valid");
    assert!(report.events.iter().all(|e| e.probability == CollisionProbability::NoHardBodyRadius));
}

#[test]
fn the_spread_across_sources_brackets_every_source_view() {
    let family = iss_family();
    let report =
        screen::screen(iss_parameters(7_200), objects_of(&family[..2]), None, &Silent).expect("valid");
    let event = report.events.first().expect("an event");
    let mut shifted = family[1].clone();
    shifted.mean_anomaly_deg += 0.01; // about 1.2 km along track
    let spread = source_spread(
        event.tca,
        600,
        vec![
            SourceEstimates { source: "a", primary: family[0].clone(), secondary: family[1].clone() },
            SourceEstimates { source: "b", primary: family[0].clone(), secondary: shifted },
            SourceEstimates {
                source: "broken",
                primary: family[0].clone(),
                secondary: OrbitEstimate { eccentricity: 2.0, ..family[1].clone() },
            },
        ],
    );
    let a = spread.per_source[0].approach.as_ref().expect("source a");
    assert_eq!(a.tca, event.tca);
    assert_eq!(a.miss_distance_km, event.miss_distance_km);
    let b = spread.per_source[1].approach.as_ref().expect("source b");
    assert!((b.tca.seconds_since(event.tca)).abs() < 60.0);
    assert!(spread.per_source[2].approach.is_err());
    let (lo, hi) = (spread.min_miss_km.expect("some"), spread.max_miss_km.expect("some"));
    assert!(
        lo <= hi
            && lo == a.miss_distance_km.min(b.miss_distance_km)
            && hi == a.miss_distance_km.max(b.miss_distance_km)
    );
    assert!(hi > lo, "a shifted estimate changes the miss distance");
}

/// A 3LE file of the ISS family, in a temporary directory.
fn family_file(dir: &std::path::Path) -> PathBuf {
    let sets: Vec<ElementSet> = iss_family()
        .into_iter()
        .map(|estimate| ElementSet {
            name: Some(format!("TEST {}", estimate.object)),
            estimate,
            cospar_id: None,
        })
        .collect();
    let path = dir.join("family.3le");
    std::fs::write(&path, tle::write(&sets, true).expect("writable")).expect("written");
    path
}

fn commons(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_commons")).args(args).output().expect("commons runs")
}

#[test]
fn commons_screen_prints_events_as_json_lines_and_as_a_table() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = family_file(dir.path());
    let file_arg = file.to_str().expect("UTF-8 path");
    let start = "2020-07-12T21:16:01Z";
    let out =
        commons(&["screen", file_arg, "--start", start, "--window", "6h", "--threshold", "5km", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let records: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert!((7..=8).contains(&records.len()), "{} records", records.len());
    for r in &records {
        assert_eq!(r["norad_cat_id_1"], 25544);
        assert_eq!(r["norad_cat_id_2"], 90001);
        let tca = r["tca"].as_str().expect("a time");
        assert!(tca.starts_with("2020-07-1") && tca.ends_with('Z') && tca.len() == 24, "{tca}");
        let miss = r["miss_distance_km"].as_f64().expect("a number");
        assert!(miss <= 5.0);
        let speed = r["relative_speed_km_s"].as_f64().expect("a number");
        assert!((0.3..0.8).contains(&speed));
        let rtn = ["radial_km", "transverse_km", "normal_km"].map(|k| r[k].as_f64().expect("a number"));
        assert!(((rtn[0].powi(2) + rtn[1].powi(2) + rtn[2].powi(2)).sqrt() - miss).abs() < 1e-6);
    }
    // The table: a summary line, headers, a rule, one row per event.
    let out = commons(&["screen", file_arg, "--start", start, "--window", "6h"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with(&format!("{} event(s) within 5 km among 3 objects", records.len())),
        "{text}"
    );
    assert!(lines[1].starts_with("TCA (UTC)") && lines[1].contains("miss (km)"), "{text}");
    assert_eq!(lines.len(), 3 + records.len(), "{text}");
    assert!(lines[3].contains("25544 TEST 25544") && lines[3].contains("90001 TEST 90001"), "{text}");
}

#[test]
fn commons_screen_refuses_bad_files_and_arguments_naming_what_and_where() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A file that does not exist.
    let missing = dir.path().join("missing.tle");
    let out = commons(&["screen", missing.to_str().expect("UTF-8"), "--start", "2023-03-31T00:00:00Z"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("missing.tle"), "{stderr}");
    // A record with a bad checksum: file, line, object and field.
    let good = family_file(dir.path());
    let text = std::fs::read_to_string(&good).expect("readable");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[5] = lines[5].replacen("51.6", "51.7", 1);
    let bad = dir.path().join("bad.3le");
    std::fs::write(&bad, lines.join("\n") + "\n").expect("written");
    let bad_arg = bad.to_str().expect("UTF-8");
    let out = commons(&["screen", bad_arg, "--start", "2020-07-12T21:16:01Z"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(&format!("{bad_arg}:6: object 90001: checksum")), "{stderr}");
    assert!(stderr.contains("nothing screened"), "{stderr}");
    assert!(out.stdout.is_empty());
    // Not element sets at all.
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "hello\nworld\n").expect("written");
    let out = commons(&["screen", junk.to_str().expect("UTF-8"), "--start", "2020-07-12T21:16:01Z"]);
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // Arguments out of range.
    let good_arg = good.to_str().expect("UTF-8");
    for (args, says) in [
        (vec!["--window", "8d"], "invalid window"),
        (vec!["--threshold", "0km"], "invalid threshold"),
        (vec!["--start", "yesterday"], "--start"),
        (vec!["--hbr", "-3"], "hard-body radius"),
    ] {
        let mut all = vec!["screen", good_arg];
        if args[0] != "--start" {
            all.extend(["--start", "2020-07-12T21:16:01Z"]);
        }
        all.extend(args.iter().copied());
        let out = commons(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{all:?}");
        assert!(stderr.contains(says), "{all:?}: {stderr}");
    }
}
