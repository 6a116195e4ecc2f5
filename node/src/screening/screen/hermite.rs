//! Cubic Hermite interpolation of an SGP4 trajectory between two samples, its Bézier form, and a
//! bound on its error.
//!
//! Between samples at `t₀` and `t₁ = t₀ + h` the position is interpolated by the cubic that
//! matches SGP4's position and velocity at both ends. Written in Bernstein form over a span, the
//! cubic's four control points enclose it (the convex-hull property), so an axis-aligned box or a
//! sphere around the control points bounds every point of the curve over that span; splitting a
//! span in two (de Casteljau) gives the control points of each half exactly.
//!
//! # The interpolation error
//!
//! For each coordinate, the error of cubic Hermite interpolation is
//! `x(t) − p(t) = x⁗(ξ)/4! · (t − t₀)²(t − t₁)²`, at most `h⁴/384 · max|x⁗|` (the factor peaks
//! at mid-interval). [`fourth_derivative_bound_km_s4`] bounds `|r⁗|` along the orbit from the
//! two-body f and g series: at any point, `r⁗ = (3uq − 15up² + u²) r + 6up v` with `u = μ/r³`,
//! `p = ṙ/r`, `q = v²/r² − u`. On a Keplerian ellipse `q = u(1 − r/a)`, so `|q| ≤ u e`, and
//! `|ṙ| ≤ e √(μ/(a(1 − e²)))`; every term grows as the radius falls, so the bound is taken at
//! the lowest radius the object reaches:
//!
//! ```text
//! |r⁗| ≤ μ²(1 + 3e)/r⁵ + 15 μ ṙ²/r⁴ + 6 μ ṙ v/r⁴,   r = r_low, v = v_high, ṙ = ṙ_high
//! ```
//!
//! SGP4 is not Keplerian: the J2 short-period terms move the osculating radius by about
//! `J2 R²/a ≈ 10 km` at twice the orbital frequency, which adds `(2n)⁴ · 10 km`, under 3% of
//! `n⁴ r`; the secular terms (nodal and apsidal drift, drag, the Sun and Moon) vary on time
//! scales of days and add far less. The elements are widened to cover the difference between
//! mean and osculating elements (eccentricity + 0.005, radius − 20 km, radial speed + 0.05 km/s),
//! and the bound is multiplied by [`PERTURBATION_FACTOR`]. The tests check the bound against
//! SGP4 itself, at the middle of every interval, for real catalogues.

/// WGS72 gravitational parameter, km³/s² (the constants SGP4 element sets are fitted with).
pub const MU_KM3_S2: f64 = 398_600.8;

/// Multiplies the two-body bound on `|r⁗|` to cover SGP4's short-period J2 terms (under 3%) and
/// everything slower, with room to spare.
pub const PERTURBATION_FACTOR: f64 = 1.5;

/// Widening of the mean eccentricity to cover the osculating one (J2 short-period terms move it
/// by about 1e-3 in low orbit).
const ECCENTRICITY_MARGIN: f64 = 0.005;

/// Lowering of the lowest radius, km, for the short-period terms (about 10 km in low orbit).
const RADIUS_MARGIN_KM: f64 = 20.0;

/// Added to the highest radial speed, km/s (the short-period radial speed is `2n · 10 km`).
const RADIAL_SPEED_MARGIN_KM_S: f64 = 0.05;

/// WGS72 equatorial radius, km: no valid SGP4 position lies below it (the decay check).
const EARTH_RADIUS_KM: f64 = protocol::orbit::EARTH_RADIUS_KM;

/// Coefficients of the Hermite cubic of one coordinate over `s ∈ [0, 1]` (`t = t₀ + s h`):
/// `p(s) = c[0] + s c[1] + s² c[2] + s³ c[3]`, km.
pub type Cubic = [f64; 4];

/// The Hermite cubic through position `p0`, `p1` (km) with velocities `v0`, `v1` (km/s) at the
/// ends of a span of `h_s` seconds.
#[inline]
pub fn cubic(p0: f64, v0: f64, p1: f64, v1: f64, h_s: f64) -> Cubic {
    let (d0, d1) = (v0 * h_s, v1 * h_s);
    [p0, d0, 3.0 * (p1 - p0) - 2.0 * d0 - d1, 2.0 * (p0 - p1) + d0 + d1]
}

/// The three coordinates' cubics of one object over one sampling interval.
pub type Cubic3 = [Cubic; 3];

/// Builds the three cubics from two samples `[x, y, z, vx, vy, vz]`.
#[inline]
pub fn cubic3(a: &[f64; 6], b: &[f64; 6], h_s: f64) -> Cubic3 {
    [
        cubic(a[0], a[3], b[0], b[3], h_s),
        cubic(a[1], a[4], b[1], b[4], h_s),
        cubic(a[2], a[5], b[2], b[5], h_s),
    ]
}

/// Value and derivative with respect to `s` of a cubic.
#[inline]
fn value_and_slope(c: &Cubic, s: f64) -> (f64, f64) {
    let value = c[0] + s * (c[1] + s * (c[2] + s * c[3]));
    let slope = c[1] + s * (2.0 * c[2] + 3.0 * s * c[3]);
    (value, slope)
}

/// Bézier control points of one coordinate of a curve over a span, in km.
pub type Bezier = [f64; 4];

/// Bézier control points of all three coordinates: `points[axis][k]`.
pub type Bezier3 = [Bezier; 3];

/// The control points of the cubics over `s ∈ [s_a, s_b]`.
#[inline]
pub fn bezier3(c: &Cubic3, s_a: f64, s_b: f64) -> Bezier3 {
    let third = (s_b - s_a) / 3.0;
    let mut out = [[0.0; 4]; 3];
    for (axis, cubic) in c.iter().enumerate() {
        let (pa, da) = value_and_slope(cubic, s_a);
        let (pb, db) = value_and_slope(cubic, s_b);
        out[axis] = [pa, pa + da * third, pb - db * third, pb];
    }
    out
}

/// The control points of `b − a` (the relative curve of two objects over the same span).
#[inline]
pub fn difference(b: &Bezier3, a: &Bezier3) -> Bezier3 {
    let mut out = [[0.0; 4]; 3];
    for axis in 0..3 {
        for k in 0..4 {
            out[axis][k] = b[axis][k] - a[axis][k];
        }
    }
    out
}

/// The two halves of a curve (de Casteljau at ½), exactly.
#[inline]
pub fn split(q: &Bezier3) -> (Bezier3, Bezier3) {
    let mut left = [[0.0; 4]; 3];
    let mut right = [[0.0; 4]; 3];
    for axis in 0..3 {
        let [p0, p1, p2, p3] = q[axis];
        let p01 = 0.5 * (p0 + p1);
        let p12 = 0.5 * (p1 + p2);
        let p23 = 0.5 * (p2 + p3);
        let p012 = 0.5 * (p01 + p12);
        let p123 = 0.5 * (p12 + p23);
        let mid = 0.5 * (p012 + p123);
        left[axis] = [p0, p01, p012, mid];
        right[axis] = [mid, p123, p23, p3];
    }
    (left, right)
}

/// The smallest and largest control point of each coordinate: a box holding the curve.
#[inline]
pub fn bounds(q: &Bezier3) -> ([f64; 3], [f64; 3]) {
    let mut lo = [0.0; 3];
    let mut hi = [0.0; 3];
    for axis in 0..3 {
        let [a, b, c, d] = q[axis];
        lo[axis] = a.min(b).min(c.min(d));
        hi[axis] = a.max(b).max(c.max(d));
    }
    (lo, hi)
}

/// The centre of the control points and the largest distance from it to one of them: a sphere
/// holding the curve.
#[inline]
pub fn bounding_sphere(q: &Bezier3) -> ([f64; 3], f64) {
    let centre_of = |axis: usize| 0.25 * (q[axis][0] + q[axis][1] + q[axis][2] + q[axis][3]);
    let centre = [centre_of(0), centre_of(1), centre_of(2)];
    let radius_sq = (0..4).fold(0.0f64, |r, k| {
        let d = [q[0][k] - centre[0], q[1][k] - centre[1], q[2][k] - centre[2]];
        r.max(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
    });
    (centre, radius_sq.sqrt())
}

/// Squared distance from the origin to the box holding the curve, widened by `pad_km` on every
/// side: when it exceeds `threshold_km²`, no point of any curve within `pad_km` per coordinate of
/// this one comes within `threshold_km` of the origin.
#[inline]
pub fn box_distance_sq(q: &Bezier3, pad_km: f64) -> f64 {
    let (lo, hi) = bounds(q);
    let mut sum = 0.0;
    for axis in 0..3 {
        let (l, h) = (lo[axis] - pad_km, hi[axis] + pad_km);
        let d = if l > 0.0 {
            l
        } else if h < 0.0 {
            -h
        } else {
            0.0
        };
        sum += d * d;
    }
    sum
}

/// What the interpolation error bound of one object is made of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrbitExtent {
    /// Lowest radius the object reaches in the window, km (before margins).
    pub radius_low_km: f64,
    /// Highest radius, km.
    pub radius_high_km: f64,
    /// Highest speed, km/s.
    pub speed_high_km_s: f64,
}

/// An upper bound on `|d⁴r/dt⁴|` along an SGP4 trajectory, km/s⁴ (see the module documentation).
///
/// `mean_motion_rev_per_day` and `eccentricity` are the element set's; `extent` the radii and
/// speeds its samples reached, which catch what the mean elements do not (decay in the window).
pub fn fourth_derivative_bound_km_s4(
    mean_motion_rev_per_day: f64,
    eccentricity: f64,
    extent: &OrbitExtent,
) -> f64 {
    let n_rad_s = mean_motion_rev_per_day * std::f64::consts::TAU / 86_400.0;
    let a_km = (MU_KM3_S2 / (n_rad_s * n_rad_s)).cbrt();
    let e = (eccentricity + ECCENTRICITY_MARGIN).clamp(0.0, 0.999);
    let perigee_km = a_km * (1.0 - e);
    // No valid SGP4 position lies below one Earth radius.
    let r = (perigee_km.min(extent.radius_low_km) - RADIUS_MARGIN_KM).max(EARTH_RADIUS_KM);
    let radial_speed = e * (MU_KM3_S2 / (a_km * (1.0 - e * e))).sqrt() + RADIAL_SPEED_MARGIN_KM_S;
    // Vis-viva at the lowest radius (with the semi-major axis from the mean motion), or the
    // fastest sample, whichever is higher.
    let vis_viva = (MU_KM3_S2 * (2.0 / r - 1.0 / a_km.max(r / 2.0))).max(0.0).sqrt();
    let v = vis_viva.max(extent.speed_high_km_s) * 1.01;
    let r4 = r * r * r * r;
    let kepler = MU_KM3_S2 * MU_KM3_S2 * (1.0 + 3.0 * e) / (r4 * r)
        + 15.0 * MU_KM3_S2 * radial_speed * radial_speed / r4
        + 6.0 * MU_KM3_S2 * radial_speed * v / r4;
    let bound = PERTURBATION_FACTOR * kepler;
    if bound.is_finite() {
        bound
    } else {
        // Elements so odd that the formula fails (no mean motion): the two-body bound at one
        // Earth radius and escape speed, the largest any valid trajectory can need.
        let r = EARTH_RADIUS_KM;
        PERTURBATION_FACTOR * 52.0 * MU_KM3_S2 * MU_KM3_S2 / (r * r * r * r * r)
    }
}

/// Largest error of the Hermite interpolant of one coordinate over an interval of `h_s`
/// seconds, km, given a bound on `|r⁗|`.
pub fn interpolation_error_km(fourth_derivative_bound: f64, h_s: f64) -> f64 {
    let h2 = h_s * h_s;
    fourth_derivative_bound * h2 * h2 / 384.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(q: &Bezier, s: f64) -> f64 {
        let u = 1.0 - s;
        q[0] * u * u * u + 3.0 * q[1] * u * u * s + 3.0 * q[2] * u * s * s + q[3] * s * s * s
    }

    #[test]
    fn bezier_form_and_split_reproduce_the_cubic() {
        let c = cubic(7000.0, 1.5, 7100.0, -2.0, 120.0);
        let poly = |s: f64| c[0] + s * (c[1] + s * (c[2] + s * c[3]));
        let b = bezier3(&[c, c, c], 0.25, 0.75);
        for k in 0..=8 {
            let s = f64::from(k) / 8.0;
            let expected = poly(0.25 + 0.5 * s);
            assert!((eval(&b[0], s) - expected).abs() < 1e-9, "{s}");
        }
        let (left, right) = split(&b);
        for k in 0..=8 {
            let s = f64::from(k) / 8.0;
            assert!((eval(&left[1], s) - poly(0.25 + 0.25 * s)).abs() < 1e-9);
            assert!((eval(&right[2], s) - poly(0.5 + 0.25 * s)).abs() < 1e-9);
        }
        // The ends match positions and velocities.
        assert!((poly(0.0) - 7000.0).abs() < 1e-12 && (poly(1.0) - 7100.0).abs() < 1e-9);
        assert!((c[1] / 120.0 - 1.5).abs() < 1e-12);
    }

    #[test]
    fn the_box_distance_is_zero_when_the_curve_passes_the_origin() {
        let q = [[-1.0, -0.5, 0.5, 1.0], [2.0, 2.0, 2.0, 2.0], [0.0, 0.0, 0.0, 0.0]];
        assert_eq!(box_distance_sq(&q, 0.0), 4.0);
        assert_eq!(box_distance_sq(&q, 1.0), 1.0);
        assert_eq!(box_distance_sq(&q, 3.0), 0.0);
    }

    #[test]
    fn a_circular_low_orbit_bound_is_close_to_n4_r() {
        // 15.5 rev/day, near-circular: |r⁗| = n⁴ r exactly on a circle.
        let extent = OrbitExtent { radius_low_km: 6780.0, radius_high_km: 6800.0, speed_high_km_s: 7.67 };
        let bound = fourth_derivative_bound_km_s4(15.5, 0.0005, &extent);
        let n = 15.5 * std::f64::consts::TAU / 86_400.0;
        let circular = n.powi(4) * 6790.0;
        assert!(bound > circular && bound < 3.0 * circular, "{bound} against {circular}");
        assert!(bound.is_finite() && fourth_derivative_bound_km_s4(0.0, 0.0, &extent).is_finite());
    }
}
