//! Each object's trajectory over the window as SGP4 samples at a fixed step, with what the
//! search needs to bound it: the interpolation error, the radial band, and one bounding sphere
//! per sampling interval.
//!
//! Samples are TEME position (km) and velocity (km/s) stored as `f32`, object-major: object
//! `o`'s sample `k` is at `o * n_samples + k`. Single precision halves the memory that
//! incremental re-screening keeps; the rounding (at most one unit in the last place of the
//! largest radius and of the velocity times a third of the step) is added to the object's
//! per-coordinate error bound, so every bound stays conservative. Refinement never uses the
//! samples: it propagates SGP4 afresh.

use orbit::propagate::{propagate_parallel, PreparedObject, SampleStatus, StateArrays, Times};
use protocol::time::Epoch;
use rayon::prelude::*;

use super::hermite::{self, OrbitExtent};

/// Objects propagated per batch into the double-precision buffers before conversion (about
/// 16 MB of buffers for a one-day window at five-minute samples).
const OBJECTS_PER_BATCH: usize = 1024;

/// The sampling of (part of) the window: `n_samples` instants `start + (first + k) · step_s`.
/// A whole window's last sample is at or after its end.
#[derive(Debug, Clone)]
pub struct Sampling {
    /// The window's start.
    pub start: Epoch,
    /// Index of the first interval sampled here, from the window's start.
    pub first_interval: usize,
    pub step_s: f64,
    pub n_samples: usize,
    pub instants: Vec<Epoch>,
}

impl Sampling {
    /// The whole window.
    pub fn new(start: Epoch, window_s: u32, step_s: u32) -> Self {
        Self::chunk(start, step_s, 0, n_intervals(window_s, step_s))
    }

    /// Intervals `first_interval..first_interval + n_intervals` of a window.
    pub fn chunk(start: Epoch, step_s: u32, first_interval: usize, n_intervals: usize) -> Self {
        let step_s = step_s.max(1);
        let step_micros = i64::from(step_s) * 1_000_000;
        let instants = (first_interval..=first_interval + n_intervals)
            .map(|k| start.plus_micros(k as i64 * step_micros))
            .collect();
        Self { start, first_interval, step_s: f64::from(step_s), n_samples: n_intervals + 1, instants }
    }

    pub fn n_intervals(&self) -> usize {
        self.n_samples - 1
    }

    /// Seconds from the window's start to the start of (local) interval `k`.
    pub fn interval_start_s(&self, k: usize) -> f64 {
        (self.first_interval + k) as f64 * self.step_s
    }
}

/// Sampling intervals in a window: enough to reach its end.
pub fn n_intervals(window_s: u32, step_s: u32) -> usize {
    window_s.div_ceil(step_s.max(1)) as usize
}

/// The mean elements the error bounds need.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MeanElements {
    pub mean_motion_rev_per_day: f64,
    pub eccentricity: f64,
    pub inclination_deg: f64,
}

impl MeanElements {
    pub fn of(estimate: &protocol::records::OrbitEstimate) -> Self {
        Self {
            mean_motion_rev_per_day: estimate.mean_motion_rev_per_day,
            eccentricity: estimate.eccentricity,
            inclination_deg: estimate.inclination_deg,
        }
    }

    /// Whether SGP4's deep-space branch may be uneven for these elements within a window: the
    /// resonance integrator (periods near one day, or half a day at eccentricities from 0.5)
    /// or the switch to Lyddane's periodic terms when the perturbed inclination crosses
    /// 0.2 rad (11.46°; lunar-solar terms move it by well under a degree).
    fn deep_space_uneven(&self) -> bool {
        let n = self.mean_motion_rev_per_day;
        let one_day = (0.8..1.25).contains(&n);
        let half_day = (1.8..2.2).contains(&n) && self.eccentricity >= 0.5;
        let lyddane = (self.inclination_deg - 0.2f64.to_degrees()).abs() < 1.0;
        n < DEEP_SPACE_MEAN_MOTION_REV_PER_DAY && (one_day || half_day || lyddane)
    }
}

/// What is known of one object's trajectory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Track {
    /// Intervals `0..n_usable` have both ends propagated, with no failure before them.
    pub n_usable: usize,
    /// Bound on the distance, per coordinate, between the true position and the interpolated
    /// one (from single-precision samples), km.
    pub pad_km: f64,
    /// Radii between which the object stays, widened by `√3 pad + threshold/2`, km: two objects
    /// whose bands do not overlap never come within the threshold.
    pub band_low_km: f64,
    pub band_high_km: f64,
    /// The first sample that failed and why (the object is treated as gone from there on).
    pub failure: Option<(usize, SampleStatus)>,
}

impl Track {
    const EMPTY: Track = Track {
        n_usable: 0,
        pad_km: 0.0,
        band_low_km: f64::INFINITY,
        band_high_km: f64::NEG_INFINITY,
        failure: None,
    };
}

/// The samples, tracks and per-interval bounding spheres of every object slot.
#[derive(Debug, Clone)]
pub struct TrackStore {
    pub sampling: Sampling,
    /// Half the miss-distance threshold, km, included in every sphere radius and band.
    half_threshold_km: f64,
    samples: Vec<[f32; 6]>,
    /// Per object and interval: centre (km) and radius (km) of a sphere holding the
    /// interpolated curve, widened by `√3 pad + threshold/2`. Only kept for incremental work.
    spheres: Vec<[f32; 4]>,
    keep_spheres: bool,
    tracks: Vec<Track>,
}

/// `√3`: a per-coordinate bound `pad` bounds the distance by `√3 pad`.
const SQRT_3: f64 = 1.732_050_807_568_877_2;

impl TrackStore {
    pub fn new(sampling: Sampling, threshold_km: f64, keep_spheres: bool) -> Self {
        Self {
            sampling,
            half_threshold_km: 0.5 * threshold_km,
            samples: Vec::new(),
            spheres: Vec::new(),
            keep_spheres,
            tracks: Vec::new(),
        }
    }

    pub fn n_slots(&self) -> usize {
        self.tracks.len()
    }

    pub fn track(&self, slot: usize) -> &Track {
        &self.tracks[slot]
    }

    /// Bytes held by the samples, spheres and tracks.
    pub fn memory_bytes(&self) -> usize {
        self.samples.capacity() * std::mem::size_of::<[f32; 6]>()
            + self.spheres.capacity() * std::mem::size_of::<[f32; 4]>()
            + self.tracks.capacity() * std::mem::size_of::<Track>()
    }

    /// Sample `k` of `slot` as `[x, y, z, vx, vy, vz]` in double precision.
    #[inline]
    pub fn sample(&self, slot: usize, k: usize) -> [f64; 6] {
        let s = &self.samples[slot * self.sampling.n_samples + k];
        [f64::from(s[0]), f64::from(s[1]), f64::from(s[2]), f64::from(s[3]), f64::from(s[4]), f64::from(s[5])]
    }

    /// The Hermite cubics of `slot` over interval `k`.
    #[inline]
    pub fn cubics(&self, slot: usize, k: usize) -> hermite::Cubic3 {
        hermite::cubic3(&self.sample(slot, k), &self.sample(slot, k + 1), self.sampling.step_s)
    }

    /// The Bézier control points of the Hermite curve of `slot` over the whole of interval `k`:
    /// the two positions, and each moved a third of the step along its velocity.
    #[inline]
    pub fn control(&self, slot: usize, k: usize) -> hermite::Bezier3 {
        let (a, b) = (self.sample(slot, k), self.sample(slot, k + 1));
        let third = self.sampling.step_s / 3.0;
        let axis = |i: usize| [a[i], a[i] + a[i + 3] * third, b[i] - b[i + 3] * third, b[i]];
        [axis(0), axis(1), axis(2)]
    }

    /// The bounding sphere of `slot` over interval `k`: centre and radius, km.
    #[inline]
    pub fn sphere(&self, slot: usize, k: usize) -> &[f32; 4] {
        &self.spheres[slot * self.sampling.n_intervals() + k]
    }

    /// The spheres of `slot` over all intervals.
    #[inline]
    pub fn spheres_of(&self, slot: usize) -> &[[f32; 4]] {
        let n = self.sampling.n_intervals();
        &self.spheres[slot * n..(slot + 1) * n]
    }

    /// Makes room for `n_slots` slots (new ones empty).
    pub fn resize(&mut self, n_slots: usize) {
        let n_samples = self.sampling.n_samples;
        self.samples.resize(n_slots * n_samples, [f32::NAN; 6]);
        if self.keep_spheres {
            self.spheres.resize(n_slots * self.sampling.n_intervals(), [0.0, 0.0, 0.0, -1.0]);
        }
        self.tracks.resize(n_slots, Track::EMPTY);
    }

    /// Marks a slot empty (a removed object).
    pub fn clear(&mut self, slot: usize) {
        self.tracks[slot] = Track::EMPTY;
    }

    /// Propagates the objects in `slots` (with the same indices in `prepared`) and fills their
    /// samples, tracks and spheres. `elements` gives the mean elements of each slot of `slots`,
    /// in order (`elements[0]` is slot `slots.start`'s), for the error bounds. Runs in parallel
    /// on the current rayon pool.
    pub fn fill(
        &mut self,
        prepared: &[PreparedObject],
        elements: &[MeanElements],
        slots: std::ops::Range<usize>,
    ) {
        let n_samples = self.sampling.n_samples;
        let n_intervals = self.sampling.n_intervals();
        let settings = FillSettings { sampling: &self.sampling, half_threshold_km: self.half_threshold_km };
        // Without spheres, each object gets an empty run of them.
        let sphere_stride = if self.keep_spheres { n_intervals } else { 0 };
        let mut arrays = StateArrays::default();
        let mut start = slots.start;
        while start < slots.end {
            let end = (start + OBJECTS_PER_BATCH).min(slots.end);
            let batch = &prepared[start..end];
            let propagated = arrays.resize(end - start, n_samples).is_ok()
                && propagate_parallel(
                    batch,
                    Times::Instants(&settings.sampling.instants),
                    arrays.slices_mut(),
                )
                .is_ok();
            if !propagated {
                // Cannot happen: the batch's buffers are sized for it.
                for track in &mut self.tracks[start..end] {
                    *track = Track { failure: Some((0, SampleStatus::NotComputed)), ..Track::EMPTY };
                }
                start = end;
                continue;
            }
            let samples = self.samples[start * n_samples..end * n_samples].par_chunks_mut(n_samples.max(1));
            let spheres =
                self.spheres[start * sphere_stride..end * sphere_stride].par_chunks_mut(sphere_stride.max(1));
            let arrays = &arrays;
            let objects = (
                samples,
                &mut self.tracks[start..end],
                batch,
                &elements[start - slots.start..end - slots.start],
            )
                .into_par_iter();
            if sphere_stride > 0 {
                objects.zip(spheres).enumerate().for_each(
                    |(index, ((row, track, object, elements), spheres))| {
                        *track = fill_object(&settings, arrays, index, object, *elements, row, spheres);
                    },
                );
            } else {
                objects.enumerate().for_each(|(index, (row, track, object, elements))| {
                    *track = fill_object(&settings, arrays, index, object, *elements, row, &mut []);
                });
            }
            start = end;
        }
    }
}

/// What every object of a fill shares.
struct FillSettings<'a> {
    sampling: &'a Sampling,
    half_threshold_km: f64,
}

/// Mean motion below which SGP4 uses its deep-space branch (SDP4): periods of 225 minutes and
/// more, with 1% to spare for the difference between Kozai and Brouwer mean motions.
const DEEP_SPACE_MEAN_MOTION_REV_PER_DAY: f64 = 1440.0 / 225.0 * 1.01;

/// The pad of a deep-space object is at least this many times the largest interpolation error
/// measured at the middle of an interval (a jump inside an interval can put the largest error
/// elsewhere, up to about twice the middle's).
const DEEP_SPACE_MEASURED_FACTOR: f64 = 4.0;

/// The measured mismatch between SGP4's velocity and the derivative of its position is
/// multiplied by this (it varies slowly over the window, and is measured at three instants).
const VELOCITY_MISMATCH_FACTOR: f64 = 2.0;

/// Largest pad, km: boxes stay a few thousand kilometres across, so the grid work stays bounded.
const MAX_PAD_KM: f64 = 1_000.0;

/// Half-step of the central difference that measures the derivative of SGP4's position, s.
const MISMATCH_DIFFERENCE_S: f64 = 0.5;

/// The largest difference, per coordinate, between SGP4's velocity and the central difference
/// of its position at the given instants, km/s (infinite when SGP4 fails there).
fn velocity_mismatch_km_s(propagator: &protocol::orbit::Propagator, instants: &[Epoch]) -> f64 {
    let mut worst: f64 = 0.0;
    for instant in instants {
        let minutes = instant.minutes_since(propagator.epoch());
        let dt_min = MISMATCH_DIFFERENCE_S / 60.0;
        let states = (
            propagator.propagate_minutes(minutes),
            propagator.propagate_minutes(minutes - dt_min),
            propagator.propagate_minutes(minutes + dt_min),
        );
        let (Ok(at), Ok(before), Ok(after)) = states else { return f64::INFINITY };
        for axis in 0..3 {
            let derivative =
                (after.position_km[axis] - before.position_km[axis]) / (2.0 * MISMATCH_DIFFERENCE_S);
            worst = worst.max((derivative - at.velocity_km_s[axis]).abs());
        }
    }
    worst
}

/// Converts one object's batch row into its samples, and computes its track and spheres.
///
/// The Hermite interpolant is built from SGP4's velocities, which are not exactly the
/// derivative of its positions; endpoint derivatives off by `δ` move the cubic by at most
/// `h δ s(1 − s) ≤ h δ/4`, which is added to the pad with `δ` measured per object.
///
/// Deep-space (SDP4) trajectories are not smooth everywhere: the resonance integrator's
/// 720-minute steps leave kinks, and the perturbed inclination crossing 0.2 rad switches the
/// periodic terms to Lyddane's form, which moves the position by up to kilometres at once. For
/// the objects where either can happen ([`MeanElements`]), the error is also measured against
/// SGP4 at the middle of every interval, and the pad widened to cover it.
fn fill_object(
    settings: &FillSettings<'_>,
    arrays: &StateArrays,
    index: usize,
    object: &PreparedObject,
    elements: MeanElements,
    row: &mut [[f32; 6]],
    spheres: &mut [[f32; 4]],
) -> Track {
    let step_s = settings.sampling.step_s;
    let mut failure = None;
    let mut extent = OrbitExtent { radius_low_km: f64::INFINITY, radius_high_km: 0.0, speed_high_km_s: 0.0 };
    let mut n_ok = 0;
    for (k, out) in row.iter_mut().enumerate() {
        let sample = match arrays.sample(index, k) {
            Some(sample) if sample.status.is_ok() => sample,
            Some(sample) => {
                failure = Some((k, sample.status));
                break;
            }
            None => {
                failure = Some((k, SampleStatus::NotComputed));
                break;
            }
        };
        let [x, y, z] = sample.position_km;
        let [vx, vy, vz] = sample.velocity_km_s;
        let radius = (x * x + y * y + z * z).sqrt();
        extent.radius_low_km = extent.radius_low_km.min(radius);
        extent.radius_high_km = extent.radius_high_km.max(radius);
        extent.speed_high_km_s = extent.speed_high_km_s.max((vx * vx + vy * vy + vz * vz).sqrt());
        *out = [x as f32, y as f32, z as f32, vx as f32, vy as f32, vz as f32];
        n_ok += 1;
    }
    for out in row.iter_mut().skip(n_ok) {
        *out = [f32::NAN; 6];
    }
    for sphere in spheres.iter_mut() {
        *sphere = [0.0, 0.0, 0.0, -1.0];
    }
    let mut n_usable = n_ok.saturating_sub(1);
    let fourth = hermite::fourth_derivative_bound_km_s4(
        elements.mean_motion_rev_per_day,
        elements.eccentricity,
        &extent,
    );
    let mut pad_km = hermite::interpolation_error_km(fourth, step_s);
    if let (Ok(propagator), true) = (object, n_usable > 0) {
        let instants = &settings.sampling.instants;
        let checked = [instants[0], instants[n_usable / 2], instants[n_usable]];
        let mismatch = velocity_mismatch_km_s(propagator, &checked);
        pad_km += VELOCITY_MISMATCH_FACTOR * mismatch * step_s / 4.0;
    }
    if elements.deep_space_uneven() && n_usable > 0 {
        if let Ok(propagator) = object {
            let (measured, usable) =
                measured_midpoint_error_km(propagator, arrays, index, settings.sampling, n_usable);
            pad_km = pad_km.max(DEEP_SPACE_MEASURED_FACTOR * measured);
            if let Some((k, status)) = usable {
                // Gone between samples: treated as gone from the next sample on.
                n_usable = k;
                failure = Some((k + 1, status));
            }
        }
    }
    if n_usable == 0 {
        return Track { n_usable: 0, failure, ..Track::EMPTY };
    }
    // An object whose SGP4 misbehaves that badly is searched with a very wide, but finite, pad.
    pad_km = pad_km.min(MAX_PAD_KM);
    // Rounding to single precision: half a unit in the last place of the largest coordinate and
    // of the velocity's contribution (a third of the step) to the inner control points; doubled.
    pad_km += (extent.radius_high_km + extent.speed_high_km_s * step_s / 3.0) * f64::from(f32::EPSILON);
    let widen = SQRT_3 * pad_km + settings.half_threshold_km;
    let mut band_low = f64::INFINITY;
    let mut band_high = f64::NEG_INFINITY;
    let as_f64 = |s: &[f32; 6]| s.map(f64::from);
    for k in 0..n_usable {
        let cubics = hermite::cubic3(&as_f64(&row[k]), &as_f64(&row[k + 1]), step_s);
        let control = hermite::bezier3(&cubics, 0.0, 1.0);
        let (centre, radius) = hermite::bounding_sphere(&control);
        let radius = radius + widen;
        let centre_norm = (centre[0] * centre[0] + centre[1] * centre[1] + centre[2] * centre[2]).sqrt();
        band_low = band_low.min(centre_norm - radius);
        band_high = band_high.max(centre_norm + radius);
        if let Some(sphere) = spheres.get_mut(k) {
            // Stored in single precision: the centre moves by at most one unit in the last place
            // of its largest coordinate, which the radius absorbs (rounded up).
            let slack = 2.0 * centre_norm * f64::from(f32::EPSILON) + 1e-6 * radius;
            *sphere = [centre[0] as f32, centre[1] as f32, centre[2] as f32, (radius + slack) as f32];
        }
    }
    Track { n_usable, pad_km, band_low_km: band_low, band_high_km: band_high, failure }
}

/// The largest distance, per coordinate, between the Hermite interpolant (of the double-precision
/// samples) and SGP4 at the middle of intervals `0..n_usable`, km, and the first interval whose
/// middle SGP4 cannot propagate, with why (it ends the object's track).
fn measured_midpoint_error_km(
    propagator: &protocol::orbit::Propagator,
    arrays: &StateArrays,
    index: usize,
    sampling: &Sampling,
    n_usable: usize,
) -> (f64, Option<(usize, SampleStatus)>) {
    let step_s = sampling.step_s;
    let as_array = |k: usize| {
        arrays.sample(index, k).map(|s| {
            let [x, y, z] = s.position_km;
            let [vx, vy, vz] = s.velocity_km_s;
            [x, y, z, vx, vy, vz]
        })
    };
    let mut sweep = propagator.sweep();
    let mut worst: f64 = 0.0;
    for k in 0..n_usable {
        let (Some(a), Some(b)) = (as_array(k), as_array(k + 1)) else {
            return (worst, Some((k, SampleStatus::NotComputed)));
        };
        let cubics = hermite::cubic3(&a, &b, step_s);
        let middle = sampling.instants[k].plus_micros((step_s * 0.5e6) as i64);
        let state = match sweep.propagate_minutes(middle.minutes_since(propagator.epoch())) {
            Ok(state) => state,
            Err(error) => return (worst, Some((k, SampleStatus::from_error(&error)))),
        };
        for (axis, cubic) in cubics.iter().enumerate() {
            let interpolated = cubic[0] + 0.5 * (cubic[1] + 0.5 * (cubic[2] + 0.5 * cubic[3]));
            worst = worst.max((interpolated - state.position_km[axis]).abs());
        }
    }
    (worst, None)
}
