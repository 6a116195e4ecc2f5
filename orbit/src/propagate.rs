//! Batch SGP4: many element sets at many times, in parallel (rayon) or on one thread, written
//! into caller-owned buffers laid out as structure of arrays.
//!
//! Everything here is built on [`protocol::orbit::Propagator`] (WGS72, AFSPC epoch handling,
//! the decay check), so a sample computed here is bit for bit the state that
//! `Propagator::propagate_minutes` gives for the same element set and time.
//!
//! # Layout
//!
//! Six `f64` arrays (`x_km`, `y_km`, `z_km`, `vx_km_s`, `vy_km_s`, `vz_km_s`, TEME) and one
//! [`SampleStatus`] array, each `n_objects * n_times` long, object-major: the sample of object
//! `o` at time `t` is at index `o * n_times + t` ([`sample_index`]). One thread propagates one
//! object over all its times, so that object's SGP4 constants stay in cache and it writes one
//! contiguous run in each array; rayon shares the objects out between threads.
//!
//! # Nothing is dropped
//!
//! An object whose elements do not initialise SGP4 keeps its place: each of its samples has
//! the status [`SampleStatus::NotInitialised`]. A sample that cannot be propagated (it
//! decayed, its eccentricity left [0, 1), ...) has its own status and NaN in the six arrays.
//! Samples are independent, as with the single propagator: SGP4 may give an above-ground
//! state again after a decayed one, so a screening engine should treat an object as gone
//! from its first failed sample on.
//!
//! # Allocation
//!
//! [`propagate_parallel`] and [`propagate_serial`] allocate nothing: the caller owns the
//! buffers (for instance one [`StateArrays`], reused from batch to batch).

use protocol::orbit::{PropagationError, Propagator};
use protocol::records::OrbitEstimate;
use protocol::time::Epoch;
use rayon::prelude::*;

/// Furthest a sample may lie from its element set's epoch, in minutes: 300 years, the span of
/// the times the node can represent (ISO times from 1900 to 2200). Beyond it, and for times that
/// are not finite, a sample is not propagated and gets [`SampleStatus::TimeOutOfRange`]: the
/// deep-space resonance integrator of the `sgp4` crate steps 720 minutes at a time from epoch
/// and would never finish for an infinite or NaN time.
pub const MAX_MINUTES_FROM_EPOCH: f64 = protocol::orbit::MAX_MINUTES_FROM_EPOCH;

/// How the `sgp4` crate (2.4.0, pinned) ends its message for an eccentricity out of range after
/// the Sun and Moon perturbations (reference error 3); the message for the mean eccentricity
/// says "before adding". `PropagationError::Eccentricity` keeps only the message, and its
/// `reference_code()` looks for "perturbed", which that message does not contain.
const PERTURBED_ECCENTRICITY_MARKER: &str = "after adding third-body perturbations";

/// One object's propagator, or why its elements do not initialise SGP4.
pub type PreparedObject = Result<Propagator, PropagationError>;

/// Initialises SGP4 for each estimate, in parallel, keeping the input order: the object at
/// index `i` of the result is the estimate at index `i`, whether or not it initialised.
///
/// ```ignore
/// let objects = prepare(element_sets.par_iter().map(|set| &set.estimate));
/// ```
pub fn prepare<'a, I>(estimates: I) -> Vec<PreparedObject>
where
    I: IntoParallelIterator<Item = &'a OrbitEstimate>,
    I::Iter: IndexedParallelIterator,
{
    estimates.into_par_iter().map(Propagator::new).collect()
}

/// The times to propagate every object to.
#[derive(Debug, Clone, Copy)]
pub enum Times<'a> {
    /// The same UTC instants for every object (what conjunction screening uses). Each object
    /// is propagated `instant.minutes_since(epoch)` minutes, as `Propagator::propagate_to`.
    Instants(&'a [Epoch]),
    /// Minutes since each object's own epoch (how the verification set states its times).
    MinutesSinceEpoch(&'a [f64]),
}

impl Times<'_> {
    /// Number of times.
    pub fn len(&self) -> usize {
        match self {
            Times::Instants(instants) => instants.len(),
            Times::MinutesSinceEpoch(minutes) => minutes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Minutes from `epoch` to time number `index` (None past the end).
    pub fn minutes_since(&self, index: usize, epoch: Epoch) -> Option<f64> {
        match self {
            Times::Instants(instants) => instants.get(index).map(|t| t.minutes_since(epoch)),
            Times::MinutesSinceEpoch(minutes) => minutes.get(index).copied(),
        }
    }
}

/// What happened to one sample. Stored as one byte per sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SampleStatus {
    /// Propagated: the six state arrays hold the TEME state.
    Ok = 0,
    /// The element set does not initialise SGP4; every sample of the object has this status.
    NotInitialised = 1,
    /// The mean eccentricity left [0, 1) (reference error 1).
    Eccentricity = 2,
    /// The eccentricity perturbed by the Sun and Moon left [0, 1) (reference error 3).
    PerturbedEccentricity = 3,
    /// The semi-latus rectum became negative (reference error 4).
    SemiLatusRectum = 4,
    /// The position is below one Earth radius (reference error 6).
    Decayed = 5,
    /// The time is not finite or lies beyond [`MAX_MINUTES_FROM_EPOCH`]; not propagated.
    TimeOutOfRange = 6,
    /// Not written by a batch yet (the value [`StateArrays`] starts with).
    NotComputed = 7,
}

impl SampleStatus {
    /// The status of a sample that failed with `error`.
    pub fn from_error(error: &PropagationError) -> Self {
        match error {
            PropagationError::Initialisation(_) => SampleStatus::NotInitialised,
            PropagationError::Eccentricity { detail, .. }
                if error.reference_code() == 3 || detail.contains(PERTURBED_ECCENTRICITY_MARKER) =>
            {
                SampleStatus::PerturbedEccentricity
            }
            PropagationError::Eccentricity { .. } => SampleStatus::Eccentricity,
            PropagationError::SemiLatusRectum { .. } => SampleStatus::SemiLatusRectum,
            PropagationError::Decayed { .. } => SampleStatus::Decayed,
            PropagationError::TimeOutOfRange { .. } => SampleStatus::TimeOutOfRange,
        }
    }

    pub fn is_ok(self) -> bool {
        self == SampleStatus::Ok
    }

    /// The error code of the reference implementation (Vallado's SGP4) for a failed
    /// propagation, `Some(0)` for success, `None` where it has no counterpart.
    pub fn reference_code(self) -> Option<u8> {
        match self {
            SampleStatus::Ok => Some(0),
            SampleStatus::NotInitialised | SampleStatus::Eccentricity => Some(1),
            SampleStatus::PerturbedEccentricity => Some(3),
            SampleStatus::SemiLatusRectum => Some(4),
            SampleStatus::Decayed => Some(6),
            SampleStatus::TimeOutOfRange | SampleStatus::NotComputed => None,
        }
    }

    /// A short description for people (`decayed`, `eccentricity out of range`, ...).
    pub fn description(self) -> &'static str {
        match self {
            SampleStatus::Ok => "ok",
            SampleStatus::NotInitialised => "elements do not initialise SGP4",
            SampleStatus::Eccentricity => "eccentricity out of range",
            SampleStatus::PerturbedEccentricity => "perturbed eccentricity out of range",
            SampleStatus::SemiLatusRectum => "negative semi-latus rectum",
            SampleStatus::Decayed => "decayed",
            SampleStatus::TimeOutOfRange => "time out of range",
            SampleStatus::NotComputed => "not computed",
        }
    }
}

impl std::fmt::Display for SampleStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.description())
    }
}

/// The index of the sample of object `object` at time number `time` in every array.
pub fn sample_index(object: usize, time: usize, n_times: usize) -> usize {
    object * n_times + time
}

/// Caller-owned output buffers, each `n_objects * n_times` long, object-major (see the module
/// documentation).
#[derive(Debug)]
pub struct StateSlices<'a> {
    pub x_km: &'a mut [f64],
    pub y_km: &'a mut [f64],
    pub z_km: &'a mut [f64],
    pub vx_km_s: &'a mut [f64],
    pub vy_km_s: &'a mut [f64],
    pub vz_km_s: &'a mut [f64],
    pub status: &'a mut [SampleStatus],
}

impl StateSlices<'_> {
    /// Checks that every buffer holds exactly `n_objects * n_times` samples.
    fn check_lengths(&self, n_objects: usize, n_times: usize) -> Result<(), BatchError> {
        let expected =
            n_objects.checked_mul(n_times).ok_or(BatchError::TooManySamples { n_objects, n_times })?;
        let lengths = [
            ("x_km", self.x_km.len()),
            ("y_km", self.y_km.len()),
            ("z_km", self.z_km.len()),
            ("vx_km_s", self.vx_km_s.len()),
            ("vy_km_s", self.vy_km_s.len()),
            ("vz_km_s", self.vz_km_s.len()),
            ("status", self.status.len()),
        ];
        for (buffer, actual) in lengths {
            if actual != expected {
                return Err(BatchError::BufferLength { buffer, actual, expected, n_objects, n_times });
            }
        }
        Ok(())
    }
}

/// The buffers of a batch do not fit its objects and times (a caller's mistake, reported
/// rather than panicking).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error(
        "buffer {buffer} holds {actual} samples, but {n_objects} objects × {n_times} times need {expected}"
    )]
    BufferLength { buffer: &'static str, actual: usize, expected: usize, n_objects: usize, n_times: usize },
    #[error("{n_objects} objects × {n_times} times is more samples than memory can address")]
    TooManySamples { n_objects: usize, n_times: usize },
}

/// What one batch did, in counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSummary {
    pub n_samples_ok: usize,
    /// Samples with any status other than `Ok`.
    pub n_samples_failed: usize,
    /// Objects with at least one failed sample (including those that did not initialise).
    pub n_objects_with_failures: usize,
    /// Objects whose elements did not initialise SGP4.
    pub n_objects_not_initialised: usize,
}

impl BatchSummary {
    fn merge(self, other: Self) -> Self {
        Self {
            n_samples_ok: self.n_samples_ok + other.n_samples_ok,
            n_samples_failed: self.n_samples_failed + other.n_samples_failed,
            n_objects_with_failures: self.n_objects_with_failures + other.n_objects_with_failures,
            n_objects_not_initialised: self.n_objects_not_initialised + other.n_objects_not_initialised,
        }
    }
}

/// One object's run of samples in every array (`n_times` long each).
struct ObjectRow<'a> {
    x_km: &'a mut [f64],
    y_km: &'a mut [f64],
    z_km: &'a mut [f64],
    vx_km_s: &'a mut [f64],
    vy_km_s: &'a mut [f64],
    vz_km_s: &'a mut [f64],
    status: &'a mut [SampleStatus],
}

impl ObjectRow<'_> {
    fn write_failure(&mut self, time: usize, status: SampleStatus) {
        self.x_km[time] = f64::NAN;
        self.y_km[time] = f64::NAN;
        self.z_km[time] = f64::NAN;
        self.vx_km_s[time] = f64::NAN;
        self.vy_km_s[time] = f64::NAN;
        self.vz_km_s[time] = f64::NAN;
        self.status[time] = status;
    }
}

/// Propagates one object over all the times into its row: the hot loop.
fn propagate_object(object: &PreparedObject, times: Times<'_>, mut row: ObjectRow<'_>) -> BatchSummary {
    let n_times = row.status.len();
    let propagator = match object {
        Ok(propagator) => propagator,
        Err(_) => {
            for time in 0..n_times {
                row.write_failure(time, SampleStatus::NotInitialised);
            }
            return BatchSummary {
                n_samples_failed: n_times,
                n_objects_with_failures: usize::from(n_times > 0),
                n_objects_not_initialised: 1,
                ..BatchSummary::default()
            };
        }
    };
    let epoch = propagator.epoch();
    let mut sweep = propagator.sweep();
    let mut n_samples_ok = 0;
    for time in 0..n_times {
        let minutes = times.minutes_since(time, epoch).unwrap_or(f64::NAN);
        // False for NaN too.
        if !(-MAX_MINUTES_FROM_EPOCH..=MAX_MINUTES_FROM_EPOCH).contains(&minutes) {
            row.write_failure(time, SampleStatus::TimeOutOfRange);
            continue;
        }
        match sweep.propagate_minutes(minutes) {
            Ok(state) => {
                row.x_km[time] = state.position_km[0];
                row.y_km[time] = state.position_km[1];
                row.z_km[time] = state.position_km[2];
                row.vx_km_s[time] = state.velocity_km_s[0];
                row.vy_km_s[time] = state.velocity_km_s[1];
                row.vz_km_s[time] = state.velocity_km_s[2];
                row.status[time] = SampleStatus::Ok;
                n_samples_ok += 1;
            }
            Err(error) => row.write_failure(time, SampleStatus::from_error(&error)),
        }
    }
    let n_samples_failed = n_times - n_samples_ok;
    BatchSummary {
        n_samples_ok,
        n_samples_failed,
        n_objects_with_failures: usize::from(n_samples_failed > 0),
        n_objects_not_initialised: 0,
    }
}

/// Propagates every object to every time on the current rayon thread pool (the global one, or
/// the one a caller `install`s), writing into `out`. Allocates nothing.
pub fn propagate_parallel(
    objects: &[PreparedObject],
    times: Times<'_>,
    out: StateSlices<'_>,
) -> Result<BatchSummary, BatchError> {
    let n_times = times.len();
    out.check_lengths(objects.len(), n_times)?;
    if n_times == 0 {
        return Ok(BatchSummary::default());
    }
    let summary = (
        objects.par_iter(),
        out.x_km.par_chunks_mut(n_times),
        out.y_km.par_chunks_mut(n_times),
        out.z_km.par_chunks_mut(n_times),
        out.vx_km_s.par_chunks_mut(n_times),
        out.vy_km_s.par_chunks_mut(n_times),
        out.vz_km_s.par_chunks_mut(n_times),
        out.status.par_chunks_mut(n_times),
    )
        .into_par_iter()
        .map(|(object, x_km, y_km, z_km, vx_km_s, vy_km_s, vz_km_s, status)| {
            propagate_object(object, times, ObjectRow { x_km, y_km, z_km, vx_km_s, vy_km_s, vz_km_s, status })
        })
        .reduce(BatchSummary::default, BatchSummary::merge);
    Ok(summary)
}

/// Propagates every object to every time on the calling thread, writing into `out`.
/// Allocates nothing. Gives the same bits as [`propagate_parallel`].
pub fn propagate_serial(
    objects: &[PreparedObject],
    times: Times<'_>,
    out: StateSlices<'_>,
) -> Result<BatchSummary, BatchError> {
    let n_times = times.len();
    out.check_lengths(objects.len(), n_times)?;
    if n_times == 0 {
        return Ok(BatchSummary::default());
    }
    let rows = out
        .x_km
        .chunks_mut(n_times)
        .zip(out.y_km.chunks_mut(n_times))
        .zip(out.z_km.chunks_mut(n_times))
        .zip(out.vx_km_s.chunks_mut(n_times))
        .zip(out.vy_km_s.chunks_mut(n_times))
        .zip(out.vz_km_s.chunks_mut(n_times))
        .zip(out.status.chunks_mut(n_times));
    let summary = objects.iter().zip(rows).fold(
        BatchSummary::default(),
        |summary, (object, ((((((x_km, y_km), z_km), vx_km_s), vy_km_s), vz_km_s), status))| {
            let row = ObjectRow { x_km, y_km, z_km, vx_km_s, vy_km_s, vz_km_s, status };
            summary.merge(propagate_object(object, times, row))
        },
    );
    Ok(summary)
}

/// Owned buffers for batches of `n_objects × n_times` samples, to be reused from batch to batch
/// (resizing keeps the capacity).
#[derive(Debug, Clone, Default)]
pub struct StateArrays {
    n_objects: usize,
    n_times: usize,
    x_km: Vec<f64>,
    y_km: Vec<f64>,
    z_km: Vec<f64>,
    vx_km_s: Vec<f64>,
    vy_km_s: Vec<f64>,
    vz_km_s: Vec<f64>,
    status: Vec<SampleStatus>,
}

/// One sample read back from [`StateArrays`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub status: SampleStatus,
    /// TEME position, km (NaN unless the status is `Ok`).
    pub position_km: [f64; 3],
    /// TEME velocity, km/s (NaN unless the status is `Ok`).
    pub velocity_km_s: [f64; 3],
}

impl StateArrays {
    /// Buffers for `n_objects × n_times` samples, every status `NotComputed`.
    pub fn new(n_objects: usize, n_times: usize) -> Result<Self, BatchError> {
        let mut arrays = Self::default();
        arrays.resize(n_objects, n_times)?;
        Ok(arrays)
    }

    /// Makes room for `n_objects × n_times` samples, reusing the memory already held.
    /// Samples keep stale values until the next batch writes them.
    pub fn resize(&mut self, n_objects: usize, n_times: usize) -> Result<(), BatchError> {
        let n_samples =
            n_objects.checked_mul(n_times).ok_or(BatchError::TooManySamples { n_objects, n_times })?;
        for array in [
            &mut self.x_km,
            &mut self.y_km,
            &mut self.z_km,
            &mut self.vx_km_s,
            &mut self.vy_km_s,
            &mut self.vz_km_s,
        ] {
            array.resize(n_samples, f64::NAN);
        }
        self.status.resize(n_samples, SampleStatus::NotComputed);
        self.n_objects = n_objects;
        self.n_times = n_times;
        Ok(())
    }

    pub fn n_objects(&self) -> usize {
        self.n_objects
    }

    pub fn n_times(&self) -> usize {
        self.n_times
    }

    /// The buffers, to pass to [`propagate_parallel`] or [`propagate_serial`].
    pub fn slices_mut(&mut self) -> StateSlices<'_> {
        StateSlices {
            x_km: &mut self.x_km,
            y_km: &mut self.y_km,
            z_km: &mut self.z_km,
            vx_km_s: &mut self.vx_km_s,
            vy_km_s: &mut self.vy_km_s,
            vz_km_s: &mut self.vz_km_s,
            status: &mut self.status,
        }
    }

    pub fn x_km(&self) -> &[f64] {
        &self.x_km
    }
    pub fn y_km(&self) -> &[f64] {
        &self.y_km
    }
    pub fn z_km(&self) -> &[f64] {
        &self.z_km
    }
    pub fn vx_km_s(&self) -> &[f64] {
        &self.vx_km_s
    }
    pub fn vy_km_s(&self) -> &[f64] {
        &self.vy_km_s
    }
    pub fn vz_km_s(&self) -> &[f64] {
        &self.vz_km_s
    }
    pub fn status(&self) -> &[SampleStatus] {
        &self.status
    }

    /// The sample of object `object` at time number `time`, or `None` outside the arrays.
    pub fn sample(&self, object: usize, time: usize) -> Option<Sample> {
        if object >= self.n_objects || time >= self.n_times {
            return None;
        }
        let i = sample_index(object, time, self.n_times);
        Some(Sample {
            status: *self.status.get(i)?,
            position_km: [*self.x_km.get(i)?, *self.y_km.get(i)?, *self.z_km.get(i)?],
            velocity_km_s: [*self.vx_km_s.get(i)?, *self.vy_km_s.get(i)?, *self.vz_km_s.get(i)?],
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) use crate::synthetic::iss_2020_07_12 as iss;

    #[test]
    fn bad_elements_and_times_are_reported_not_dropped() {
        let mut broken = iss();
        broken.eccentricity = 1.5;
        let objects = prepare([iss(), broken].par_iter());
        let minutes = [0.0, f64::NAN, f64::INFINITY, 2.0 * MAX_MINUTES_FROM_EPOCH, 90.0];
        let mut parallel = StateArrays::new(2, minutes.len()).expect("small");
        let mut serial = StateArrays::new(2, minutes.len()).expect("small");
        let summary = propagate_parallel(&objects, Times::MinutesSinceEpoch(&minutes), parallel.slices_mut())
            .expect("fits");
        let serial_summary =
            propagate_serial(&objects, Times::MinutesSinceEpoch(&minutes), serial.slices_mut())
                .expect("fits");
        assert_eq!(summary, serial_summary);
        assert_eq!(
            summary,
            BatchSummary {
                n_samples_ok: 2,
                n_samples_failed: 8,
                n_objects_with_failures: 2,
                n_objects_not_initialised: 1
            }
        );
        let status = |arrays: &StateArrays, o, t| arrays.sample(o, t).expect("inside").status;
        assert_eq!(status(&parallel, 0, 0), SampleStatus::Ok);
        assert_eq!(status(&parallel, 0, 1), SampleStatus::TimeOutOfRange);
        assert_eq!(status(&parallel, 0, 2), SampleStatus::TimeOutOfRange);
        assert_eq!(status(&parallel, 0, 3), SampleStatus::TimeOutOfRange);
        assert_eq!(status(&parallel, 0, 4), SampleStatus::Ok);
        assert!((0..5).all(|t| status(&parallel, 1, t) == SampleStatus::NotInitialised));
        assert!(parallel.sample(1, 0).expect("inside").position_km[0].is_nan());
        assert!(parallel.sample(2, 0).is_none());
        let propagator = Propagator::new(&iss()).expect("ISS initialises");
        let state = propagator.propagate_minutes(90.0).expect("ISS propagates");
        let sample = serial.sample(0, 4).expect("inside");
        assert_eq!(sample.position_km.map(f64::to_bits), state.position_km.map(f64::to_bits));
        assert_eq!(sample.velocity_km_s.map(f64::to_bits), state.velocity_km_s.map(f64::to_bits));
    }

    #[test]
    fn wrong_buffer_lengths_are_an_error() {
        let objects = prepare([iss()].par_iter());
        let mut arrays = StateArrays::new(1, 3).expect("small");
        let result = propagate_parallel(&objects, Times::MinutesSinceEpoch(&[0.0, 1.0]), arrays.slices_mut());
        assert!(matches!(
            result,
            Err(BatchError::BufferLength { buffer: "x_km", actual: 3, expected: 2, .. })
        ));
        let mut empty = StateArrays::new(1, 0).expect("small");
        let result = propagate_serial(&objects, Times::Instants(&[]), empty.slices_mut());
        assert_eq!(result, Ok(BatchSummary::default()));
        assert!(matches!(StateArrays::new(usize::MAX, 2), Err(BatchError::TooManySamples { .. })));
    }
}
