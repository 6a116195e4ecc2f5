//! Refinement: from candidate spans to closest approaches, with SGP4 itself.
//!
//! A close approach is a local minimum of the range `ρ(t) = |r₂(t) − r₁(t)|`, where the range
//! rate changes sign from negative to positive: `f(t) = ½ d(ρ²)/dt` goes from below zero to
//! zero or above. `f` is taken from positions alone, as the central difference of `ρ²` over
//! ±[`DIFFERENCE_S`]: SGP4's velocity is not exactly the derivative of its position (it leaves
//! out the rates of the secular drag and third-body terms, by up to tens of m/s for a few
//! objects), and `Δr·Δv` would put the TCA off the true minimum by up to `ρ δv / |Δv|²`.
//!
//! The window is cut into fixed brackets of [`BRACKET_S`](super::BRACKET_S) seconds, anchored
//! at its start. A candidate span marks the brackets it touches; in each marked bracket
//! `[a, b]` with `f(a) < 0 ≤ f(b)` the root of `f` is found by Newton's method (with the slope
//! `f' ≈ |Δv|² + Δr·Δa` from SGP4 velocities and two-body accelerations), kept inside the bracket
//! by bisection, to a microsecond. Because brackets are fixed and the iteration depends only on
//! the bracket, the same close approach is computed with the same operations, to the same bits,
//! whichever search found it: full screening and incremental re-screening agree exactly.
//!
//! A bracket holds one minimum unless the range has another extremum within the same ten
//! seconds, which needs a relative speed below about 10 m/s with the objects within a few
//! kilometres (co-moving objects); then the first sign change is the one found.

use protocol::orbit::{PropagationError, Propagator, State};
use protocol::time::Epoch;

use super::hermite::MU_KM3_S2;
use super::BRACKET_S;

/// Newton iterations at most per bracket (bisection alone would need 24 to reach a microsecond
/// in ten seconds).
const MAX_ITERATIONS: u32 = 60;

/// Convergence of the time of closest approach, s.
const TIME_TOLERANCE_S: f64 = 1e-6;

/// Half-step of the central difference of `ρ²`, s: long enough that rounding (about 1e-10 km in
/// each position) costs under a microsecond of TCA for relative speeds above 0.1 km/s, short
/// enough that the truncation error (`ε² ρ‴/6`) is negligible.
pub const DIFFERENCE_S: f64 = 0.01;

/// One object as refinement sees it.
#[derive(Debug, Clone, Copy)]
pub struct Body<'a> {
    pub propagator: &'a Propagator,
    /// Minutes from the element epoch to the window's start.
    pub minutes_at_start: f64,
}

impl<'a> Body<'a> {
    pub fn new(propagator: &'a Propagator, start: Epoch) -> Self {
        Self { propagator, minutes_at_start: start.minutes_since(propagator.epoch()) }
    }

    /// The TEME state `t_s` seconds after the window's start.
    #[inline]
    pub fn state(&self, t_s: f64) -> Result<State, PropagationError> {
        self.propagator.propagate_minutes(self.minutes_at_start + t_s / 60.0)
    }
}

fn sub(a: &[f64; 3], b: &[f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn two_body_acceleration(r: &[f64; 3]) -> [f64; 3] {
    let r2 = dot(r, r);
    let k = -MU_KM3_S2 / (r2 * r2.sqrt());
    [k * r[0], k * r[1], k * r[2]]
}

/// `f = ½ d(ρ²)/dt` from positions at `t_s ± ε`, and an estimate of its derivative.
fn range_rate_product(one: &Body<'_>, two: &Body<'_>, t_s: f64) -> Result<(f64, f64), PropagationError> {
    let (before1, before2) = (one.state(t_s - DIFFERENCE_S)?, two.state(t_s - DIFFERENCE_S)?);
    let (after1, after2) = (one.state(t_s + DIFFERENCE_S)?, two.state(t_s + DIFFERENCE_S)?);
    let dr_before = sub(&before2.position_km, &before1.position_km);
    let dr_after = sub(&after2.position_km, &after1.position_km);
    let f = (dot(&dr_after, &dr_after) - dot(&dr_before, &dr_before)) / (4.0 * DIFFERENCE_S);
    let mean = |a: &[f64; 3], b: &[f64; 3]| [0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1]), 0.5 * (a[2] + b[2])];
    let dr = mean(&dr_before, &dr_after);
    let dv = mean(
        &sub(&before2.velocity_km_s, &before1.velocity_km_s),
        &sub(&after2.velocity_km_s, &after1.velocity_km_s),
    );
    let r1 = mean(&before1.position_km, &after1.position_km);
    let r2 = mean(&before2.position_km, &after2.position_km);
    let da = sub(&two_body_acceleration(&r2), &two_body_acceleration(&r1));
    Ok((f, dot(&dv, &dv) + dot(&dr, &da)))
}

/// The root of `f` in `[a, b]`, given `f(a) < 0 ≤ f(b)`.
fn root(one: &Body<'_>, two: &Body<'_>, (a, fa): (f64, f64), (b, fb): (f64, f64)) -> Option<f64> {
    let (mut lo, mut hi) = (a, b);
    // Start from the secant: the range rate is nearly linear over a bracket.
    let mut t = if fb > fa { a - fa * (b - a) / (fb - fa) } else { 0.5 * (a + b) };
    if !(t > lo && t < hi) {
        t = 0.5 * (lo + hi);
    }
    for _ in 0..MAX_ITERATIONS {
        let (f, slope) = range_rate_product(one, two, t).ok()?;
        if f < 0.0 {
            lo = t;
        } else {
            hi = t;
        }
        let newton = t - f / slope;
        let next = if slope > 0.0 && newton > lo && newton < hi { newton } else { 0.5 * (lo + hi) };
        if (next - t).abs() < TIME_TOLERANCE_S || hi - lo < TIME_TOLERANCE_S {
            return Some(next);
        }
        t = next;
    }
    Some(0.5 * (lo + hi))
}

/// Seconds from the window's start to the start of bracket `c` (the last one ends at the
/// window's end).
pub fn bracket_time_s(c: usize, window_s: f64) -> f64 {
    (c as f64 * BRACKET_S).min(window_s)
}

/// Number of brackets in a window.
pub fn n_brackets(window_s: f64) -> usize {
    (window_s / BRACKET_S).ceil() as usize
}

/// The brackets a span touches: those that can hold a minimum inside `[t0_s, t1_s]` (a minimum
/// at a bracket's end belongs to that bracket, by the `f(a) < 0 ≤ f(b)` rule).
pub fn brackets_of(t0_s: f64, t1_s: f64, n_brackets: usize) -> Option<(usize, usize)> {
    if n_brackets == 0 {
        return None;
    }
    let last = n_brackets as i64 - 1;
    let first = ((t0_s / BRACKET_S).ceil() as i64 - 1).clamp(0, last);
    let end = ((t1_s / BRACKET_S).ceil() as i64 - 1).clamp(0, last);
    (end >= first && t1_s >= 0.0).then_some((first as usize, end as usize))
}

/// The times of closest approach (seconds from the window's start) of a pair in the marked
/// brackets (sorted, without repeats). A bracket where SGP4 fails for either object yields none.
pub fn closest_approaches(one: &Body<'_>, two: &Body<'_>, brackets: &[usize], window_s: f64) -> Vec<f64> {
    let mut out = Vec::new();
    // f at the end of the previous bracket, which is the start of the next when they touch.
    let mut previous: Option<(usize, Option<f64>)> = None;
    for &c in brackets {
        let a = bracket_time_s(c, window_s);
        let b = bracket_time_s(c + 1, window_s);
        let fa = match previous {
            Some((end, value)) if end == c => value,
            _ => range_rate_product(one, two, a).ok().map(|(f, _)| f),
        };
        let fb = range_rate_product(one, two, b).ok().map(|(f, _)| f);
        previous = Some((c + 1, fb));
        if let (Some(fa), Some(fb)) = (fa, fb) {
            if fa < 0.0 && fb >= 0.0 && b > a {
                if let Some(t) = root(one, two, (a, fa), (b, fb)) {
                    out.push(t);
                }
            }
        }
    }
    out
}

/// The geometry of a close approach at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    pub primary: State,
    pub secondary: State,
    pub miss_distance_km: f64,
    pub relative_speed_km_s: f64,
    /// The secondary's position relative to the primary in the primary's radial, transverse
    /// (in-track) and normal directions, km.
    pub miss_rtn_km: [f64; 3],
}

/// The radial, transverse and normal unit vectors of a state (rows of the TEME → RTN rotation).
pub fn rtn_axes(state: &State) -> Option<[[f64; 3]; 3]> {
    let r = state.position_km;
    let v = state.velocity_km_s;
    let r_norm = dot(&r, &r).sqrt();
    let h = [r[1] * v[2] - r[2] * v[1], r[2] * v[0] - r[0] * v[2], r[0] * v[1] - r[1] * v[0]];
    let h_norm = dot(&h, &h).sqrt();
    if !(r_norm > 0.0 && h_norm > 0.0) {
        return None;
    }
    let radial = r.map(|x| x / r_norm);
    let normal = h.map(|x| x / h_norm);
    let transverse = [
        normal[1] * radial[2] - normal[2] * radial[1],
        normal[2] * radial[0] - normal[0] * radial[2],
        normal[0] * radial[1] - normal[1] * radial[0],
    ];
    Some([radial, transverse, normal])
}

/// The geometry of the pair at `tca` (both states propagated to that instant).
pub fn geometry(
    primary: &Propagator,
    secondary: &Propagator,
    tca: Epoch,
) -> Result<Geometry, PropagationError> {
    let p = primary.propagate_to(tca)?;
    let s = secondary.propagate_to(tca)?;
    let dr = sub(&s.position_km, &p.position_km);
    let dv = sub(&s.velocity_km_s, &p.velocity_km_s);
    let miss_rtn_km = match rtn_axes(&p) {
        Some(axes) => axes.map(|axis| dot(&axis, &dr)),
        None => [f64::NAN; 3],
    };
    Ok(Geometry {
        primary: p,
        secondary: s,
        miss_distance_km: dot(&dr, &dr).sqrt(),
        relative_speed_km_s: dot(&dv, &dv).sqrt(),
        miss_rtn_km,
    })
}

/// The window's start plus `t_s` seconds, rounded to the microsecond.
pub fn epoch_at(start: Epoch, t_s: f64) -> Epoch {
    start.plus_micros((t_s * 1e6).round() as i64)
}
