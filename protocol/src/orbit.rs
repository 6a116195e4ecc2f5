//! SGP4 for the views, and for the node's orbit module, through the `sgp4` crate.
//!
//! Element sets from TLE, OMM and GP data were fitted with WGS72, so they are propagated with
//! WGS72 and the AFSPC epoch handling, as the reference code does. The crate is built without
//! `std` and with `libm`, so every float here is bit-identical on every platform: views that
//! depend on these numbers agree everywhere.

use crate::records::OrbitEstimate;
use crate::time::Epoch;

/// Furthest a time may lie from an element set's epoch: 300 years, in minutes.
pub const MAX_MINUTES_FROM_EPOCH: f64 = 300.0 * 365.25 * 1440.0;

/// WGS72 equatorial radius, km: below it an object has decayed (the reference code's check).
pub const EARTH_RADIUS_KM: f64 = 6378.135;

/// Why an element set cannot be propagated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PropagationError {
    /// The elements do not initialise SGP4 (eccentricity out of range, negative mean motion
    /// after recovering the Brouwer elements). The reference code's error 1 or 2 at t = 0.
    #[error("elements do not initialise SGP4: {0}")]
    Initialisation(String),
    /// Mean or perturbed eccentricity left [0, 1) (reference error 1 or 3).
    #[error("eccentricity out of range {t_min:.3} min after epoch: {detail}")]
    Eccentricity { t_min: f64, detail: String },
    /// Semi-latus rectum below zero (reference error 4).
    #[error("negative semi-latus rectum {t_min:.3} min after epoch")]
    SemiLatusRectum { t_min: f64 },
    /// The time is not finite, or lies more than [`MAX_MINUTES_FROM_EPOCH`] from the epoch
    /// (the sgp4 crate's resonance integrator would never return for such a time).
    #[error("time {t_min} min from the epoch is not finite or beyond 300 years")]
    TimeOutOfRange { t_min: f64 },
    /// The position lies below the Earth's surface (reference error 6).
    #[error("decayed: radius {radius_km:.3} km below one Earth radius {t_min:.3} min after epoch")]
    Decayed { t_min: f64, radius_km: f64 },
}

impl PropagationError {
    /// The error code of the reference implementation (Vallado's SGP4), for comparison.
    pub fn reference_code(&self) -> u8 {
        match self {
            PropagationError::Initialisation(_) => 1,
            PropagationError::Eccentricity { detail, .. }
                // The crate says "perturbed eccentricity … after adding third-body perturbations"
                // for the reference's error 3; "before adding" is the mean eccentricity (error 1).
                if detail.contains("after adding third-body") =>
            {
                3
            }
            PropagationError::Eccentricity { .. } => 1,
            PropagationError::SemiLatusRectum { .. } => 4,
            PropagationError::Decayed { .. } => 6,
            PropagationError::TimeOutOfRange { .. } => 0,
        }
    }
}

/// A TEME state: position in km, velocity in km/s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct State {
    pub position_km: [f64; 3],
    pub velocity_km_s: [f64; 3],
}

/// An initialised SGP4 propagator for one element set.
#[derive(Debug, Clone)]
pub struct Propagator {
    constants: sgp4::Constants,
    epoch: Epoch,
}

/// Years since J2000 by the AFSPC expression (the sgp4 crate's
/// `julian_years_since_j2000_afspc_compatibility_mode`, computed from our integer epoch with
/// the same operations in the same order, so the result is the same bits).
fn afspc_years_since_j2000(epoch: Epoch) -> f64 {
    let (year, month, day, micros_of_day) = epoch.to_civil();
    let seconds_of_day = micros_of_day / 1_000_000;
    let nanosecond = (micros_of_day % 1_000_000) * 1000;
    let hour = seconds_of_day / 3600;
    let minute = (seconds_of_day / 60) % 60;
    let second = seconds_of_day % 60;
    let year = year as u32;
    ((367 * year - (7 * (year + (month + 9) / 12)) / 4 + 275 * month / 9 + day) as f64
        + 1721013.5
        + (((nanosecond as f64 / 1e9 + second as f64) / 60.0 + minute as f64) / 60.0 + hour as f64) / 24.0
        - 2451545.0)
        / 365.25
}

impl Propagator {
    /// Initialises SGP4 (WGS72, AFSPC epoch handling) for an estimate.
    pub fn new(estimate: &OrbitEstimate) -> Result<Self, PropagationError> {
        let deg = core::f64::consts::PI / 180.0;
        let orbit_0 = sgp4::Orbit::from_kozai_elements(
            &sgp4::WGS72,
            estimate.inclination_deg * deg,
            estimate.ra_of_asc_node_deg * deg,
            estimate.eccentricity,
            estimate.arg_of_pericenter_deg * deg,
            estimate.mean_anomaly_deg * deg,
            estimate.mean_motion_rev_per_day * (core::f64::consts::PI / 720.0),
        )
        .map_err(|e| PropagationError::Initialisation(e.to_string()))?;
        let constants = sgp4::Constants::new(
            sgp4::WGS72,
            sgp4::afspc_epoch_to_sidereal_time,
            afspc_years_since_j2000(estimate.epoch),
            estimate.bstar,
            orbit_0,
        )
        .map_err(|e| PropagationError::Initialisation(e.to_string()))?;
        Ok(Self { constants, epoch: estimate.epoch })
    }

    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The TEME state `minutes` after the element epoch, with the decay check.
    pub fn propagate_minutes(&self, minutes: f64) -> Result<State, PropagationError> {
        if !(-MAX_MINUTES_FROM_EPOCH..=MAX_MINUTES_FROM_EPOCH).contains(&minutes) {
            return Err(PropagationError::TimeOutOfRange { t_min: minutes });
        }
        checked_state(minutes, self.constants.propagate(sgp4::MinutesSinceEpoch(minutes)))
    }

    /// A propagator for a run of times of this element set (see [`Sweep`]): the same states,
    /// bit for bit, as [`Propagator::propagate_minutes`], faster for resonant deep-space orbits
    /// when the times move away from the epoch.
    pub fn sweep(&self) -> Sweep<'_> {
        Sweep { propagator: self, resonance: self.constants.initial_state() }
    }

    /// The TEME state at a UTC instant.
    pub fn propagate_to(&self, t: Epoch) -> Result<State, PropagationError> {
        self.propagate_minutes(t.minutes_since(self.epoch))
    }
}

/// The states of one element set at a run of times, reusing the deep-space resonance
/// integrator's state from one time to the next.
///
/// For resonant deep-space orbits (12-hour and one-day periods), SGP4 integrates the resonance
/// terms from the epoch in fixed 720-minute steps; `propagate_minutes` starts that integration
/// afresh at every call. A sweep keeps the integrator where the last call left it, on one of
/// those step boundaries, while the next time lies as far or further from the epoch on the same
/// side: the fresh integration would pass through the same boundaries with the same operations,
/// so the result is the same bits. Otherwise it restarts from the epoch, as `propagate_minutes`
/// does. For every other orbit a sweep is `propagate_minutes`.
///
/// Times must be finite, as for `propagate_minutes`: the `sgp4` crate's integrator does not
/// finish for a NaN or infinite time.
pub struct Sweep<'a> {
    propagator: &'a Propagator,
    resonance: Option<sgp4::ResonanceState>,
}

impl std::fmt::Debug for Sweep<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sweep")
            .field("epoch", &self.propagator.epoch)
            .field("resonance_t_min", &self.resonance.as_ref().map(sgp4::ResonanceState::t))
            .finish()
    }
}

impl Sweep<'_> {
    /// The TEME state `minutes` after the element epoch, with the decay check: the same bits as
    /// [`Propagator::propagate_minutes`].
    pub fn propagate_minutes(&mut self, minutes: f64) -> Result<State, PropagationError> {
        if let Some(resonance) = &self.resonance {
            // The sgp4 crate panics on exactly this condition (a time on the other side of the
            // epoch, or nearer to it, than the integrator): restart from the epoch instead.
            let t_min = resonance.t();
            if (t_min != 0.0 && t_min.is_sign_positive() != minutes.is_sign_positive())
                || minutes.abs() < t_min.abs()
            {
                self.resonance = self.propagator.constants.initial_state();
            }
        }
        let prediction = self.propagator.constants.propagate_from_state(
            sgp4::MinutesSinceEpoch(minutes),
            self.resonance.as_mut(),
            false,
        );
        checked_state(minutes, prediction)
    }
}

/// The state of an SGP4 prediction, with our error kinds and the decay check.
#[inline]
fn checked_state(
    minutes: f64,
    prediction: Result<sgp4::Prediction, sgp4::Error>,
) -> Result<State, PropagationError> {
    let p = prediction.map_err(|e| match e {
        sgp4::Error::NegativeSemiLatusRectum { t } => PropagationError::SemiLatusRectum { t_min: t },
        other => PropagationError::Eccentricity { t_min: minutes, detail: other.to_string() },
    })?;
    let [x, y, z] = p.position;
    let radius_squared = x * x + y * y + z * z;
    // Squared, so the hot path takes no square root.
    if radius_squared < EARTH_RADIUS_KM * EARTH_RADIUS_KM {
        return Err(PropagationError::Decayed { t_min: minutes, radius_km: radius_squared.sqrt() });
    }
    Ok(State { position_km: p.position, velocity_km_s: p.velocity })
}

/// Distance between two positions in whole metres (rounded half away from zero). Integers
/// keep the medoid choice free of float comparisons.
pub fn distance_m(a: &[f64; 3], b: &[f64; 3]) -> u64 {
    let dx = a[0] - b[0];
    let dy = a[1] - b[1];
    let dz = a[2] - b[2];
    let km = (dx * dx + dy * dy + dz * dz).sqrt();
    let m = (km * 1000.0).round();
    if m.is_finite() && m < 1e15 {
        m as u64
    } else {
        u64::MAX / 1024
    }
}
