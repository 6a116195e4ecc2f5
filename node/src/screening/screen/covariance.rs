//! Covariance at the time of closest approach, and the collision probability.
//!
//! An estimate's covariance (`OrbitEstimate::covariance`: 6×6 position-velocity, lower triangle
//! by rows, km, km/s, in RTN or TEME at the element epoch) is carried to the TCA by the state
//! transition matrix of SGP4 itself: `Φ(t, t₀) = J(t) J(t₀)⁻¹`, with `J(t) = ∂x(t)/∂E` the
//! Jacobian of the SGP4 state with respect to the mean elements, by central differences. The
//! elements are the equinoctial ones (`n`, `h = e sin ϖ`, `k = e cos ϖ`, `p = tan(i/2) sin Ω`,
//! `q = tan(i/2) cos Ω`, `λ = M + ϖ`, `ϖ = ω + Ω`), which stay regular for circular and
//! equatorial orbits, where `ω` or `Ω` are undefined and `J` in classical elements singular.
//! Then `P(t) = Φ P(t₀) Φᵀ`.
//!
//! RTN covariances are rotated to TEME with the SGP4 state at the epoch (the same rotation for
//! position and velocity, as CCSDS messages do). At TCA the position blocks of both objects go
//! to [`pc::foster_2d`] in each object's RTN frame, in metres, with the states as given (they are
//! at the TCA already).

use protocol::orbit::{Propagator, State};
use protocol::records::{CovarianceFrame, OrbitEstimate};
use protocol::time::Epoch;
use serde::{Deserialize, Serialize};

use super::refine::rtn_axes;
use crate::screening::pc::{self, Encounter, MissVector};

type Matrix6 = [[f64; 6]; 6];

/// Relative step of the mean motion for the central differences.
const MEAN_MOTION_STEP: f64 = 1e-7;
/// Step of the other equinoctial elements (dimensionless, radians for λ).
const ELEMENT_STEP: f64 = 1e-6;

/// The collision probability of a close approach, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CollisionProbability {
    /// Foster's 2D probability with a circular hard body.
    Computed {
        pc: f64,
        /// Combined hard-body radius used, m.
        hard_body_radius_m: f64,
        /// Standard deviations of the combined covariance in the encounter plane, m.
        sigma_major_m: f64,
        sigma_minor_m: f64,
    },
    /// One object or both have no covariance.
    NoCovariance,
    /// Neither the parameters nor the HBR table give a hard-body radius for the pair.
    NoHardBodyRadius,
    /// The covariance could not be carried to TCA, or Foster's method failed.
    Failed { reason: String },
}

/// The 6×6 covariance of an estimate in TEME at its epoch, km and km/s, if it has one.
fn covariance_teme(estimate: &OrbitEstimate, propagator: &Propagator) -> Result<Option<Matrix6>, String> {
    let Some(covariance) = &estimate.covariance else { return Ok(None) };
    let mut p = [[0.0; 6]; 6];
    // The lower triangle row by row: (0,0), (1,0), (1,1), (2,0), …
    let cells = (0..6).flat_map(|i| (0..=i).map(move |j| (i, j)));
    for ((i, j), &value) in cells.zip(&covariance.lower_triangle) {
        p[i][j] = value;
        p[j][i] = value;
    }
    if p.iter().flatten().any(|x| !x.is_finite()) {
        return Err("the covariance holds a value that is not finite".to_owned());
    }
    match covariance.frame {
        CovarianceFrame::Teme => Ok(Some(p)),
        CovarianceFrame::Rtn => {
            let state = propagator.propagate_minutes(0.0).map_err(|e| e.to_string())?;
            let axes = rtn_axes(&state).ok_or("the state at epoch has no RTN frame")?;
            // x_teme = Mᵀ x_rtn for both position and velocity: P_teme = Rᵀ P R.
            let mut rotation = [[0.0; 6]; 6];
            for i in 0..3 {
                for j in 0..3 {
                    rotation[i][j] = axes[i][j];
                    rotation[i + 3][j + 3] = axes[i][j];
                }
            }
            Ok(Some(multiply(&transpose(&multiply(&p, &rotation)), &rotation)))
        }
    }
}

fn transpose(m: &Matrix6) -> Matrix6 {
    let mut out = [[0.0; 6]; 6];
    for i in 0..6 {
        for j in 0..6 {
            out[i][j] = m[j][i];
        }
    }
    out
}

fn multiply(a: &Matrix6, b: &Matrix6) -> Matrix6 {
    let mut out = [[0.0; 6]; 6];
    for i in 0..6 {
        for j in 0..6 {
            out[i][j] = (0..6).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

/// The inverse by Gauss–Jordan elimination with partial pivoting; `None` when singular.
fn inverse(m: &Matrix6) -> Option<Matrix6> {
    let mut a = *m;
    let mut inv = [[0.0; 6]; 6];
    for (i, row) in inv.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    let scale = m.iter().flatten().fold(0.0f64, |s, x| s.max(x.abs()));
    for col in 0..6 {
        let pivot = (col..6).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        // Also refuses NaN pivots.
        if a[pivot][col].abs().partial_cmp(&(scale * 1e-14)) != Some(std::cmp::Ordering::Greater) {
            return None;
        }
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let d = a[col][col];
        for j in 0..6 {
            a[col][j] /= d;
            inv[col][j] /= d;
        }
        for row in 0..6 {
            if row != col {
                let factor = a[row][col];
                if factor != 0.0 {
                    for j in 0..6 {
                        a[row][j] -= factor * a[col][j];
                        inv[row][j] -= factor * inv[col][j];
                    }
                }
            }
        }
    }
    Some(inv)
}

/// Equinoctial elements `[n rev/day, h, k, p, q, λ rad]` of an estimate.
fn equinoctial(e: &OrbitEstimate) -> [f64; 6] {
    let deg = std::f64::consts::PI / 180.0;
    let (raan, argp, incl, mean_anomaly) = (
        e.ra_of_asc_node_deg * deg,
        e.arg_of_pericenter_deg * deg,
        e.inclination_deg * deg,
        e.mean_anomaly_deg * deg,
    );
    let varpi = argp + raan;
    let t = (0.5 * incl).tan();
    [
        e.mean_motion_rev_per_day,
        e.eccentricity * varpi.sin(),
        e.eccentricity * varpi.cos(),
        t * raan.sin(),
        t * raan.cos(),
        mean_anomaly + varpi,
    ]
}

/// An estimate with the given equinoctial elements (everything else kept).
fn with_equinoctial(base: &OrbitEstimate, x: &[f64; 6]) -> OrbitEstimate {
    let deg = 180.0 / std::f64::consts::PI;
    let [n, h, k, p, q, lambda] = *x;
    let varpi = h.atan2(k);
    let raan = p.atan2(q);
    let mut out = base.clone();
    out.covariance = None;
    out.mean_motion_rev_per_day = n;
    out.eccentricity = h.hypot(k);
    out.inclination_deg = 2.0 * p.hypot(q).atan() * deg;
    out.ra_of_asc_node_deg = raan * deg;
    out.arg_of_pericenter_deg = (varpi - raan) * deg;
    out.mean_anomaly_deg = (lambda - varpi) * deg;
    out
}

fn state_vector(s: &State) -> [f64; 6] {
    let [x, y, z] = s.position_km;
    let [vx, vy, vz] = s.velocity_km_s;
    [x, y, z, vx, vy, vz]
}

/// `J(t₀)` and `J(t)` by central differences.
fn jacobians(estimate: &OrbitEstimate, tca: Epoch) -> Result<(Matrix6, Matrix6), String> {
    let base = equinoctial(estimate);
    let minutes = tca.minutes_since(estimate.epoch);
    let mut j0 = [[0.0; 6]; 6];
    let mut jt = [[0.0; 6]; 6];
    for element in 0..6 {
        let step = if element == 0 { MEAN_MOTION_STEP * base[0].abs().max(1e-3) } else { ELEMENT_STEP };
        let mut columns = [[0.0; 6]; 4];
        for (side, sign) in [1.0, -1.0].into_iter().enumerate() {
            let mut x = base;
            x[element] += sign * step;
            let propagator = Propagator::new(&with_equinoctial(estimate, &x)).map_err(|e| e.to_string())?;
            columns[2 * side] = state_vector(&propagator.propagate_minutes(0.0).map_err(|e| e.to_string())?);
            columns[2 * side + 1] =
                state_vector(&propagator.propagate_minutes(minutes).map_err(|e| e.to_string())?);
        }
        for row in 0..6 {
            j0[row][element] = (columns[0][row] - columns[2][row]) / (2.0 * step);
            jt[row][element] = (columns[1][row] - columns[3][row]) / (2.0 * step);
        }
    }
    Ok((j0, jt))
}

/// The position covariance of an estimate at `state` (its SGP4 state at `tca`), in that
/// state's RTN frame, m²; `None` when the estimate has none.
pub fn position_covariance_rtn_m2(
    estimate: &OrbitEstimate,
    propagator: &Propagator,
    tca: Epoch,
    state: &State,
) -> Result<Option<[[f64; 3]; 3]>, String> {
    let Some(p0) = covariance_teme(estimate, propagator)? else { return Ok(None) };
    let (j0, jt) = jacobians(estimate, tca)?;
    let j0_inverse = inverse(&j0).ok_or("the SGP4 Jacobian at epoch is singular")?;
    let phi = multiply(&jt, &j0_inverse);
    let pt = multiply(&multiply(&phi, &p0), &transpose(&phi));
    let axes = rtn_axes(state).ok_or("the state at TCA has no RTN frame")?;
    let mut out = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            let mut s = 0.0;
            for k in 0..3 {
                for l in 0..3 {
                    s += axes[i][k] * pt[k][l] * axes[j][l];
                }
            }
            out[i][j] = s * 1e6;
        }
    }
    if out.iter().flatten().all(|x| x.is_finite()) {
        Ok(Some(out))
    } else {
        Err("the covariance at TCA is not finite".to_owned())
    }
}

/// Foster's 2D probability for a close approach whose states at TCA are given.
#[allow(clippy::too_many_arguments)]
pub fn probability(
    (primary, primary_propagator, primary_state): (&OrbitEstimate, &Propagator, &State),
    (secondary, secondary_propagator, secondary_state): (&OrbitEstimate, &Propagator, &State),
    tca: Epoch,
    hard_body_radius_m: Option<f64>,
) -> CollisionProbability {
    if primary.covariance.is_none() || secondary.covariance.is_none() {
        return CollisionProbability::NoCovariance;
    }
    let Some(hbr) = hard_body_radius_m else { return CollisionProbability::NoHardBodyRadius };
    let covariances =
        position_covariance_rtn_m2(primary, primary_propagator, tca, primary_state).and_then(|c1| {
            position_covariance_rtn_m2(secondary, secondary_propagator, tca, secondary_state)
                .map(|c2| (c1, c2))
        });
    let (c1, c2) = match covariances {
        Ok((Some(c1), Some(c2))) => (c1, c2),
        Ok(_) => return CollisionProbability::NoCovariance,
        Err(reason) => return CollisionProbability::Failed { reason },
    };
    let metres = |v: [f64; 3]| v.map(|x| x * 1e3);
    let encounter = Encounter {
        position1_m: metres(primary_state.position_km),
        velocity1_m_s: metres(primary_state.velocity_km_s),
        position2_m: metres(secondary_state.position_km),
        velocity2_m_s: metres(secondary_state.velocity_km_s),
        covariance1_rtn_m2: c1,
        covariance2_rtn_m2: c2,
    };
    match pc::foster_2d(&encounter, hbr, MissVector::AsGiven) {
        Ok(p) => CollisionProbability::Computed {
            pc: p.pc,
            hard_body_radius_m: p.hard_body_radius_m,
            sigma_major_m: p.sigma_major_m,
            sigma_minor_m: p.sigma_minor_m,
        },
        Err(e) => CollisionProbability::Failed { reason: e.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::records::Covariance;

    #[test]
    fn the_state_transition_matrix_is_the_identity_at_epoch_and_moves_covariance_along_track() {
        let iss = orbit::synthetic::iss_2020_07_12();
        let (j0, jt) = jacobians(&iss, iss.epoch).expect("ISS propagates");
        let phi = multiply(&jt, &inverse(&j0).expect("regular"));
        for (i, row) in phi.iter().enumerate() {
            for (j, x) in row.iter().enumerate() {
                let expected = if i == j { 1.0 } else { 0.0 };
                assert!((x - expected).abs() < 1e-6, "Φ[{i}][{j}] = {x}");
            }
        }
        // A radial-only position uncertainty of 100 m grows along track over a day (the
        // period depends on the radius): the transverse variance at TCA dominates.
        let mut lower = [0.0; 21];
        lower[0] = 1e-2; // R-R, km²
        lower[2] = 1e-8;
        lower[5] = 1e-8;
        lower[9] = 1e-12;
        lower[14] = 1e-12;
        lower[20] = 1e-12;
        let mut with_covariance = iss.clone();
        with_covariance.covariance =
            Some(Box::new(Covariance { frame: CovarianceFrame::Rtn, lower_triangle: lower }));
        let propagator = Propagator::new(&with_covariance).expect("initialises");
        let tca = iss.epoch.plus_micros(86_400_000_000);
        let state = propagator.propagate_to(tca).expect("propagates");
        let c = position_covariance_rtn_m2(&with_covariance, &propagator, tca, &state)
            .expect("carried")
            .expect("has one");
        assert!(c[1][1] > 100.0 * c[0][0], "{c:?}");
        assert!(c[0][0] > 0.0 && c[2][2] >= 0.0);
    }
}
