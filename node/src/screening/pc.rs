//! Probability of collision of one encounter: Foster's 2D method with a circular hard body.
//!
//! The standard short-encounter model (Foster & Estes 1992; Alfano 2005; NASA CARA's
//! `Pc2D_Foster`): at the time of closest approach the relative motion is a straight line, the
//! two position covariances are independent and Gaussian, and their sum, projected on the plane
//! normal to the relative velocity (the encounter plane), gives a 2D Gaussian for the relative
//! position. Pc is that density integrated over the disc of the combined hard-body radius
//! around the miss vector.
//!
//! The integral is computed in the covariance's principal axes as a 1D integral over the disc
//! (`x = x_m + R sin θ`, smooth in θ), with the inner integral in closed form through `erfc`,
//! so that tiny probabilities keep their relative accuracy (a difference of two `erf` values
//! near 1 would lose it all). Adaptive Simpson quadrature to a relative 1e-12.

use crate::orbit::cdm::{Cdm, CdmObject};

/// Earth's rotation rate, rad/s (IERS, the value CCSDS and SGP4 use for frame work).
const EARTH_ROTATION_RAD_PER_S: f64 = 7.292_115_146_706_979e-5;

/// The two objects at the time of closest approach, in one inertial (or, for Earth-fixed
/// states, TCA-aligned inertial) frame, metres and metres per second.
#[derive(Debug, Clone, PartialEq)]
pub struct Encounter {
    pub position1_m: [f64; 3],
    pub velocity1_m_s: [f64; 3],
    pub position2_m: [f64; 3],
    pub velocity2_m_s: [f64; 3],
    /// Position covariance of each object in its own RTN frame, m².
    pub covariance1_rtn_m2: [[f64; 3]; 3],
    pub covariance2_rtn_m2: [[f64; 3]; 3],
}

/// The probability and the quantities it was computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probability {
    pub pc: f64,
    pub hard_body_radius_m: f64,
    pub miss_distance_m: f64,
    pub relative_speed_m_s: f64,
    /// Standard deviations of the combined covariance along its principal axes in the
    /// encounter plane, larger first, m.
    pub sigma_major_m: f64,
    pub sigma_minor_m: f64,
}

/// Why a probability could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PcError {
    #[error(
        "the combined covariance projected on the encounter plane is not positive definite \
         (variances {0:.6e} and {1:.6e} m² along its principal axes): the covariances are \
         unusable for a 2D probability"
    )]
    NotPositiveDefinite(f64, f64),
    #[error("the relative velocity is zero: the encounter plane is undefined")]
    NoRelativeVelocity,
    #[error("the hard-body radius must be a positive number of metres, not {0}")]
    BadRadius(f64),
    #[error("{0} is not a finite number")]
    NotFinite(&'static str),
}

impl Encounter {
    /// The encounter a CDM describes: states and RTN position covariances of both objects.
    /// Earth-fixed states (ITRF and the like) have Earth's rotation added to their velocities,
    /// which gives the inertial frame aligned with the Earth-fixed one at TCA: probabilities
    /// do not depend on the frame's orientation, only on the relative geometry.
    pub fn from_cdm(cdm: &Cdm) -> Self {
        let state = |o: &CdmObject| {
            let r = o.position_km.map(|v| v * 1e3);
            let mut v = o.velocity_km_per_s.map(|v| v * 1e3);
            if is_earth_fixed(&o.ref_frame) {
                let w = EARTH_ROTATION_RAD_PER_S;
                v = [v[0] - w * r[1], v[1] + w * r[0], v[2]];
            }
            (r, v)
        };
        let (position1_m, velocity1_m_s) = state(&cdm.object1);
        let (position2_m, velocity2_m_s) = state(&cdm.object2);
        Self {
            position1_m,
            velocity1_m_s,
            position2_m,
            velocity2_m_s,
            covariance1_rtn_m2: position_block(&cdm.object1.covariance.position_velocity),
            covariance2_rtn_m2: position_block(&cdm.object2.covariance.position_velocity),
        }
    }
}

fn is_earth_fixed(frame: &str) -> bool {
    let f = frame.trim().to_ascii_uppercase();
    f.starts_with("ITRF") || f == "TDR" || f == "EFG" || f == "GTOD"
}

/// The 3×3 position block of a CDM's RTN lower triangle (CR_R, CT_R, CT_T, CN_R, CN_T, CN_N).
fn position_block(lower: &[f64; 21]) -> [[f64; 3]; 3] {
    let (rr, tr, tt, nr, nt, nn) = (lower[0], lower[1], lower[2], lower[3], lower[4], lower[5]);
    [[rr, tr, nr], [tr, tt, nt], [nr, nt, nn]]
}

/// The combined hard-body radius a CDM states, metres: a `COMMENT HBR = 10 [m]` line (NASA
/// CARA), a CDM 2.0 `HBR` keyword (per object, summed), or both objects' `Exclusion Volume
/// Radius` comments (18 SDS), summed.
pub fn hard_body_radius_of(cdm: &Cdm) -> Option<f64> {
    let comments = cdm
        .header
        .comments
        .iter()
        .chain(&cdm.relative.comments)
        .chain(&cdm.object1.metadata_comments)
        .chain(&cdm.object1.data_comments)
        .chain(&cdm.object2.metadata_comments)
        .chain(&cdm.object2.data_comments);
    for comment in comments {
        if let Some(value) = comment_value(comment, "HBR") {
            return Some(value);
        }
    }
    let keyword = |o: &CdmObject| o.other_value("HBR").and_then(|v| v.trim().parse::<f64>().ok());
    if let (Some(a), Some(b)) = (keyword(&cdm.object1), keyword(&cdm.object2)) {
        return Some(a + b);
    }
    let exclusion = |o: &CdmObject| {
        o.metadata_comments
            .iter()
            .chain(&o.data_comments)
            .find_map(|c| comment_value(c, "Exclusion Volume Radius"))
    };
    match (exclusion(&cdm.object1), exclusion(&cdm.object2)) {
        (Some(a), Some(b)) => Some(a + b),
        _ => None,
    }
}

/// `NAME = 12.5 [m]` (or `NAME: 12.5`) in a comment: the number, when the comment starts
/// with `NAME` (any case).
fn comment_value(comment: &str, name: &str) -> Option<f64> {
    let c = comment.trim();
    if c.len() < name.len() || !c[..name.len()].eq_ignore_ascii_case(name) {
        return None;
    }
    let rest = c[name.len()..].trim_start();
    let rest = rest.strip_prefix('=').or_else(|| rest.strip_prefix(':'))?;
    rest.split_whitespace().next()?.parse().ok().filter(|v: &f64| v.is_finite() && *v > 0.0)
}

/// Which relative position the encounter plane is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissVector {
    /// The states as given, taken to be at TCA: the miss distance is the whole relative
    /// position's length, laid along its direction in the encounter plane (NASA CARA's
    /// `Pc2D_NoAdj`). The default: it is the miss a CDM states.
    #[default]
    AsGiven,
    /// Moved along the straight relative motion to the true closest approach: the miss is the
    /// relative position's component normal to the relative velocity (CARA's `Pc2D`).
    AtTrueTca,
}

/// Foster's 2D probability of collision with a circular combined hard-body radius.
pub fn foster_2d(
    e: &Encounter,
    hard_body_radius_m: f64,
    miss_vector: MissVector,
) -> Result<Probability, PcError> {
    if !(hard_body_radius_m.is_finite() && hard_body_radius_m > 0.0) {
        return Err(PcError::BadRadius(hard_body_radius_m));
    }
    let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
    for (name, ok) in [
        ("a position", finite(&e.position1_m) && finite(&e.position2_m)),
        ("a velocity", finite(&e.velocity1_m_s) && finite(&e.velocity2_m_s)),
        ("a covariance", e.covariance1_rtn_m2.iter().chain(&e.covariance2_rtn_m2).all(|row| finite(row))),
    ] {
        if !ok {
            return Err(PcError::NotFinite(name));
        }
    }
    // Combined position covariance in the inertial frame.
    let c1 = rotate_from_rtn(&e.covariance1_rtn_m2, &e.position1_m, &e.velocity1_m_s);
    let c2 = rotate_from_rtn(&e.covariance2_rtn_m2, &e.position2_m, &e.velocity2_m_s);
    let mut c = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            c[i][j] = c1[i][j] + c2[i][j];
        }
    }
    let r = sub(&e.position2_m, &e.position1_m);
    let v = sub(&e.velocity2_m_s, &e.velocity1_m_s);
    let speed = norm(&v);
    if speed == 0.0 {
        return Err(PcError::NoRelativeVelocity);
    }
    let v_hat = scale(&v, 1.0 / speed);
    let r_normal = sub(&r, &scale(&v_hat, dot(&r, &v_hat)));
    // The encounter plane: normal to the relative velocity, x̂ along the miss component in it.
    let normal_miss = norm(&r_normal);
    let x_hat = if normal_miss > 0.0 { scale(&r_normal, 1.0 / normal_miss) } else { any_normal(&v_hat) };
    let y_hat = cross(&v_hat, &x_hat);
    let miss = match miss_vector {
        MissVector::AsGiven => norm(&r),
        MissVector::AtTrueTca => normal_miss,
    };
    let quad = |a: &[f64; 3], b: &[f64; 3]| {
        let ca = [dot(&c[0], a), dot(&c[1], a), dot(&c[2], a)];
        dot(b, &ca)
    };
    let (sxx, sxy, syy) = (quad(&x_hat, &x_hat), quad(&x_hat, &y_hat), quad(&y_hat, &y_hat));
    // Principal axes of the 2×2 covariance.
    let mean = 0.5 * (sxx + syy);
    let half_diff = 0.5 * (sxx - syy);
    let radius = half_diff.hypot(sxy);
    let (major, minor) = (mean + radius, mean - radius);
    if !(minor > 0.0 && major.is_finite()) {
        return Err(PcError::NotPositiveDefinite(major, minor));
    }
    // Angle of the major axis from x; the miss vector (miss, 0) in principal coordinates.
    let angle = if radius == 0.0 { 0.0 } else { 0.5 * sxy.atan2(half_diff) };
    let (sin, cos) = angle.sin_cos();
    let (xm, ym) = (miss * cos, -miss * sin);
    let (sx, sy) = (major.sqrt(), minor.sqrt());
    let pc = disc_probability(xm, ym, sx, sy, hard_body_radius_m);
    Ok(Probability {
        pc,
        hard_body_radius_m,
        miss_distance_m: norm(&r),
        relative_speed_m_s: speed,
        sigma_major_m: sx,
        sigma_minor_m: sy,
    })
}

/// P(|X - m| ≤ R) for X ~ N(0, diag(sx², sy²)), m = (xm, ym).
fn disc_probability(xm: f64, ym: f64, sx: f64, sy: f64, radius: f64) -> f64 {
    let sqrt2 = std::f64::consts::SQRT_2;
    // x = xm + R sin θ, θ ∈ [-π/2, π/2]; half-chord h = R cos θ; dx = R cos θ dθ.
    let integrand = |theta: f64| {
        let (s, c) = theta.sin_cos();
        let x = xm + radius * s;
        let h = radius * c;
        let density_x = (-0.5 * (x / sx).powi(2)).exp() / (sx * (2.0 * std::f64::consts::PI).sqrt());
        let (lo, hi) = ((ym - h) / (sqrt2 * sy), (ym + h) / (sqrt2 * sy));
        // ½[erf(hi) − erf(lo)], written so that neither side cancels.
        let inner = if lo >= 0.0 {
            0.5 * (libm::erfc(lo) - libm::erfc(hi))
        } else if hi <= 0.0 {
            0.5 * (libm::erfc(-hi) - libm::erfc(-lo))
        } else {
            0.5 * (libm::erf(hi) - libm::erf(lo))
        };
        density_x * inner * h
    };
    let half_pi = std::f64::consts::FRAC_PI_2;
    adaptive_simpson(&integrand, -half_pi, half_pi, 1e-12, 48).max(0.0)
}

/// ∫ f over [a, b] by adaptive Simpson to a relative tolerance.
fn adaptive_simpson(f: &dyn Fn(f64) -> f64, a: f64, b: f64, rel_tol: f64, max_depth: u32) -> f64 {
    // Start from 64 panels so that narrow peaks are seen before the tolerance test.
    const PANELS: usize = 64;
    let width = (b - a) / PANELS as f64;
    let mut total = 0.0;
    let mut pieces = Vec::with_capacity(PANELS);
    for k in 0..PANELS {
        let (lo, hi) = (a + width * k as f64, a + width * (k + 1) as f64);
        let (flo, fmid, fhi) = (f(lo), f(0.5 * (lo + hi)), f(hi));
        let whole = (hi - lo) / 6.0 * (flo + 4.0 * fmid + fhi);
        total += whole;
        pieces.push((lo, hi, flo, fmid, fhi, whole));
    }
    let tol = (rel_tol * total.abs()).max(f64::MIN_POSITIVE);
    pieces
        .into_iter()
        .map(|(lo, hi, flo, fmid, fhi, whole)| {
            simpson_step(f, lo, hi, flo, fmid, fhi, whole, tol / PANELS as f64, max_depth)
        })
        .sum()
}

#[allow(clippy::too_many_arguments)]
fn simpson_step(
    f: &dyn Fn(f64) -> f64,
    a: f64,
    b: f64,
    fa: f64,
    fm: f64,
    fb: f64,
    whole: f64,
    tol: f64,
    depth: u32,
) -> f64 {
    let m = 0.5 * (a + b);
    let (lm, rm) = (0.5 * (a + m), 0.5 * (m + b));
    let (flm, frm) = (f(lm), f(rm));
    let left = (m - a) / 6.0 * (fa + 4.0 * flm + fm);
    let right = (b - m) / 6.0 * (fm + 4.0 * frm + fb);
    let delta = left + right - whole;
    if depth == 0 || delta.abs() <= 15.0 * tol {
        return left + right + delta / 15.0;
    }
    simpson_step(f, a, m, fa, flm, fm, left, tol / 2.0, depth - 1)
        + simpson_step(f, m, b, fm, frm, fb, right, tol / 2.0, depth - 1)
}

/// C_inertial = Mᵀ C_rtn M, with M's rows the R, T, N unit vectors of the state (r, v).
fn rotate_from_rtn(c: &[[f64; 3]; 3], r: &[f64; 3], v: &[f64; 3]) -> [[f64; 3]; 3] {
    let r_hat = scale(r, 1.0 / norm(r));
    let h = cross(r, v);
    let n_hat = scale(&h, 1.0 / norm(&h));
    let t_hat = cross(&n_hat, &r_hat);
    let m = [r_hat, t_hat, n_hat];
    let mut out = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            let mut s = 0.0;
            for k in 0..3 {
                for l in 0..3 {
                    s += m[k][i] * c[k][l] * m[l][j];
                }
            }
            out[i][j] = s;
        }
    }
    out
}

fn sub(a: &[f64; 3], b: &[f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn scale(a: &[f64; 3], k: f64) -> [f64; 3] {
    [a[0] * k, a[1] * k, a[2] * k]
}
fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn norm(a: &[f64; 3]) -> f64 {
    dot(a, a).sqrt()
}
fn cross(a: &[f64; 3], b: &[f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}
/// A unit vector normal to `u`.
fn any_normal(u: &[f64; 3]) -> [f64; 3] {
    let other = if u[0].abs() < 0.9 { [1.0, 0.0, 0.0] } else { [0.0, 1.0, 0.0] };
    let n = cross(u, &other);
    scale(&n, 1.0 / norm(&n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_centred_isotropic_encounter_has_the_closed_form_probability() {
        // Miss 0, σ = 100 m both ways, R = 10 m: Pc = 1 − exp(−R²/2σ²).
        let pc = disc_probability(0.0, 0.0, 100.0, 100.0, 10.0);
        let exact = -(-0.5f64 * (10.0f64 / 100.0).powi(2)).exp_m1();
        assert!((pc / exact - 1.0).abs() < 1e-9, "{pc} against {exact}");
    }

    #[test]
    fn a_far_miss_keeps_relative_accuracy_for_tiny_probabilities() {
        // Miss 20 σ (about 1e-91): the density at the miss point times the disc's area, times
        // the mean of the density's slope across the disc, 2 I₁(z)/z with z = dR/σ² = 0.2
        // (the curvature term is below 5e-5).
        let pc = disc_probability(2000.0, 0.0, 100.0, 100.0, 1.0);
        let slope_mean = 1.0 + 0.01 / 2.0 + 0.0001 / 12.0 + 1e-6 / 144.0;
        let approx = 1.0 / (2.0 * 100.0f64.powi(2)) * (-200.0f64).exp() * slope_mean;
        assert!(pc > 0.0 && (pc / approx - 1.0).abs() < 1e-4, "{pc} against {approx}");
    }

    #[test]
    fn hard_body_radius_comments_are_read() {
        assert_eq!(comment_value("HBR = 10 [m]", "HBR"), Some(10.0));
        assert_eq!(comment_value("HBR                        = 15.0", "HBR"), Some(15.0));
        assert_eq!(
            comment_value("Exclusion Volume Radius = 5.000000 [m]", "Exclusion Volume Radius"),
            Some(5.0)
        );
        assert_eq!(comment_value("HBRX = 3", "HBR"), None);
        assert_eq!(comment_value("HBR = -1", "HBR"), None);
    }
}
