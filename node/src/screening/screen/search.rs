//! The search for candidate close approaches: which pairs may come within the threshold, and
//! when, from the interpolated trajectories and their error bounds. Everything here is
//! conservative: a pair and time at which the true (SGP4) range is within the threshold is
//! always among the candidates. Refinement then decides with SGP4 itself.
//!
//! Two searches share the last step:
//! - all against all ([`search_interval`], one sampling interval, run in parallel over the
//!   intervals): the interval is cut into sub-steps; each object's curve over a sub-step sits in
//!   the box of its Bézier control points and in the radial shell between the least projection
//!   of those points on their centre's direction and their largest radius; both are widened by
//!   the object's error bound and half the threshold. The boxes go into a hashed uniform grid of
//!   cubic cells cut into radial slabs (chained buckets, so each new box meets the boxes already
//!   in its cells at once); two boxes that overlap in position and radius go on to the curve
//!   test, counted once, in the cell that holds the low corner of their overlap;
//! - one object against all ([`search_one`]): the radial bands first (perigee/apogee), then
//!   each interval's bounding spheres, then the curve test over the whole interval.
//!
//! The curve test: the relative curve of the pair (difference of their control points) is
//! split in halves while the box of its control points, widened by both error bounds, reaches
//! within the threshold of the origin; the spans that still do at a quarter of a refinement
//! bracket are the candidates.

use super::hermite::{self, Bezier3, Cubic3};
use super::tracks::TrackStore;

/// Duration below which the curve test stops splitting a span, s: a quarter of a refinement
/// bracket, so that a candidate touches one or two brackets.
pub const MIN_SPAN_S: f64 = super::BRACKET_S / 4.0;

/// Deepest split of a span (a one-day interval split 2¹⁸ times is a third of a second): a
/// guard for pathological inputs, never reached with the step and sub-steps used.
const MAX_SPLIT_DEPTH: u32 = 18;

/// A pair that may come within the threshold during `[t0_s, t1_s]` (seconds from the window's
/// start). `a < b` are slots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub a: u32,
    pub b: u32,
    pub t0_s: f64,
    pub t1_s: f64,
}

/// Splits the relative curve `q` over `[t0_s, t1_s]` and appends the spans (merged where they
/// touch) whose widened box reaches within `threshold_km` of the origin.
pub fn close_spans(
    q: &Bezier3,
    t0_s: f64,
    t1_s: f64,
    pad_km: f64,
    threshold_km: f64,
    stack: &mut Vec<(Bezier3, f64, f64, u32)>,
    out: &mut Vec<(f64, f64)>,
) {
    let threshold_sq = threshold_km * threshold_km;
    stack.clear();
    stack.push((*q, t0_s, t1_s, 0));
    while let Some((q, a, b, depth)) = stack.pop() {
        if hermite::box_distance_sq(&q, pad_km) > threshold_sq {
            continue;
        }
        if b - a <= MIN_SPAN_S || depth >= MAX_SPLIT_DEPTH {
            match out.last_mut() {
                Some(last) if last.1 == a => last.1 = b,
                _ => out.push((a, b)),
            }
            continue;
        }
        let (left, right) = hermite::split(&q);
        let mid = 0.5 * (a + b);
        // Right first, so the left half comes off the stack first and spans stay in time order.
        stack.push((right, mid, b, depth + 1));
        stack.push((left, a, mid, depth + 1));
    }
}

/// Scratch buffers for the curve test, reused between calls.
#[derive(Debug, Default)]
pub struct CurveScratch {
    stack: Vec<(Bezier3, f64, f64, u32)>,
    spans: Vec<(f64, f64)>,
}

/// Runs the curve test of the relative curve of slots `a < b` over `[t0_s, t1_s]` and appends
/// the candidates.
#[inline]
fn curve_test(
    relative: &Bezier3,
    (a, b): (usize, usize),
    (t0_s, t1_s): (f64, f64),
    pad_km: f64,
    threshold_km: f64,
    scratch: &mut CurveScratch,
    out: &mut Vec<Candidate>,
) {
    scratch.spans.clear();
    close_spans(relative, t0_s, t1_s, pad_km, threshold_km, &mut scratch.stack, &mut scratch.spans);
    out.extend(scratch.spans.iter().map(|&(t0_s, t1_s)| Candidate { a: a as u32, b: b as u32, t0_s, t1_s }));
}

/// Scratch buffers of one worker of the all-against-all search.
#[derive(Debug, Default)]
pub struct GridScratch {
    /// Slots alive in the interval, and their cubics.
    alive: Vec<u32>,
    cubics: Vec<Cubic3>,
    /// Each alive object's control points over the current sub-step.
    controls: Vec<Bezier3>,
    /// One entry per cell a box touches, chained per hash bucket.
    entries: Vec<Entry>,
    /// The last entry of each bucket (`NONE` when empty).
    heads: Vec<u32>,
    curve: CurveScratch,
}

/// End of a bucket's chain.
const NONE: u32 = u32::MAX;

/// One cell touched by one object's widened box: the cell, the object (index into the alive
/// list), the previous entry of the same bucket, and the box (single precision, rounded
/// outwards) so that the pair test reads one cache line.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: u64,
    index: u32,
    next: u32,
    bx: Box4,
}

/// A box in position (km, TEME) and radius (km): `lo = [x, y, z, r]`, `hi` likewise.
#[derive(Debug, Clone, Copy, Default)]
struct Box4 {
    lo: [f32; 4],
    hi: [f32; 4],
}

impl Box4 {
    #[inline]
    fn overlaps(&self, other: &Box4) -> bool {
        (0..4).all(|d| self.lo[d] <= other.hi[d] && other.lo[d] <= self.hi[d])
    }
}

/// Rounds outwards to single precision (relative error of `f32` is below 6e-8).
#[inline]
fn down(x: f64) -> f32 {
    (x - x.abs() * 2e-7 - 1e-9) as f32
}

#[inline]
fn up(x: f64) -> f32 {
    (x + x.abs() * 2e-7 + 1e-9) as f32
}

/// Grid coordinates are clamped to ±2¹⁵ cells (about ±8 × 10⁶ km at 250 km cells, twenty times
/// the Moon's distance), radial bins to 2¹⁶: clamping merges far cells, which only adds
/// candidates.
const CELL_LIMIT: i64 = (1 << 15) - 1;
const RADIAL_BIN_LIMIT: i64 = (1 << 16) - 1;

/// `⌊x · inverse⌋`, clamped. Truncation and a correction, not `floor` (a library call on the
/// baseline x86-64 target).
#[inline]
fn cell_of(x_km: f32, inverse_cell_km: f64, limit_low: i64, limit_high: i64) -> i64 {
    let scaled = f64::from(x_km) * inverse_cell_km;
    // `as` saturates and maps NaN to 0; clamping keeps every coordinate in range.
    let truncated = scaled as i64;
    let floor = truncated - i64::from(scaled < truncated as f64);
    floor.clamp(limit_low, limit_high)
}

/// The cell of a point of a box: three position cells and a radial bin, packed.
#[inline]
fn cell_key(cell: [i64; 4]) -> u64 {
    let bias = CELL_LIMIT + 1;
    (((cell[0] + bias) as u64) << 48)
        | (((cell[1] + bias) as u64) << 32)
        | (((cell[2] + bias) as u64) << 16)
        | (cell[3] as u64)
}

#[inline]
fn bucket_of(key: u64, bits: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
}

/// Grid settings of the all-against-all search.
#[derive(Debug, Clone, Copy)]
pub struct GridSettings {
    /// Sub-steps per sampling interval.
    pub sub_steps: usize,
    /// Edge of a grid cell, km.
    pub cell_km: f64,
    /// Width of a radial bin, km.
    pub radial_bin_km: f64,
}

impl GridSettings {
    /// The cell (position cells and radial bin) holding a point of a box.
    #[inline]
    fn cell(&self, point: &[f32; 4]) -> [i64; 4] {
        let inverse_cell = 1.0 / self.cell_km;
        [
            cell_of(point[0], inverse_cell, -CELL_LIMIT, CELL_LIMIT),
            cell_of(point[1], inverse_cell, -CELL_LIMIT, CELL_LIMIT),
            cell_of(point[2], inverse_cell, -CELL_LIMIT, CELL_LIMIT),
            cell_of(point[3], 1.0 / self.radial_bin_km, 0, RADIAL_BIN_LIMIT),
        ]
    }
}

/// The widened box of a curve's control points: position per coordinate, and radius. The
/// largest radius over the convex hull is a control point's; the smallest is at least the least
/// projection of a control point on the direction of their centre (the hull lies beyond that
/// plane).
#[inline]
fn widened_box(control: &Bezier3, pad_km: f64, half_threshold_km: f64) -> Box4 {
    let (lo, hi) = hermite::bounds(control);
    let centre_of =
        |axis: usize| 0.25 * (control[axis][0] + control[axis][1] + control[axis][2] + control[axis][3]);
    let centre = [centre_of(0), centre_of(1), centre_of(2)];
    let centre_norm = (centre[0] * centre[0] + centre[1] * centre[1] + centre[2] * centre[2]).sqrt();
    let mut radius_low = f64::INFINITY;
    let mut radius_high: f64 = 0.0;
    for p in (0..4).map(|k| [control[0][k], control[1][k], control[2][k]]) {
        radius_high = radius_high.max(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]);
        radius_low = radius_low.min((p[0] * centre[0] + p[1] * centre[1] + p[2] * centre[2]) / centre_norm);
    }
    let radius_high = radius_high.sqrt();
    // Also when the centre is at the origin (NaN).
    let radius_low = if radius_low >= 0.0 { radius_low } else { 0.0 };
    let widen = pad_km + half_threshold_km;
    // A per-coordinate pad moves the radius by at most √3 pad.
    let widen_radius = SQRT_3 * pad_km + half_threshold_km;
    Box4 {
        lo: [down(lo[0] - widen), down(lo[1] - widen), down(lo[2] - widen), down(radius_low - widen_radius)],
        hi: [up(hi[0] + widen), up(hi[1] + widen), up(hi[2] + widen), up(radius_high + widen_radius)],
    }
}

/// `√3`: a per-coordinate bound `pad` bounds the distance by `√3 pad`.
const SQRT_3: f64 = 1.732_050_807_568_877_2;

/// Candidates of every pair of alive slots over sampling interval `k` (all against all).
pub fn search_interval(
    store: &TrackStore,
    threshold_km: f64,
    settings: GridSettings,
    k: usize,
    scratch: &mut GridScratch,
    out: &mut Vec<Candidate>,
) {
    let GridScratch { alive, cubics, controls, entries, heads, curve } = scratch;
    alive.clear();
    cubics.clear();
    for slot in 0..store.n_slots() {
        if k < store.track(slot).n_usable {
            alive.push(slot as u32);
        }
    }
    if alive.len() < 2 {
        return;
    }
    cubics.extend(alive.iter().map(|&slot| store.cubics(slot as usize, k)));
    let n_sub = settings.sub_steps.max(1);
    let half_threshold = 0.5 * threshold_km;
    let t_k = store.sampling.interval_start_s(k);
    let h = store.sampling.step_s;
    controls.resize(alive.len(), [[0.0; 4]; 3]);
    // About one bucket per entry (boxes touch one to three cells): short chains, and a table
    // that stays in cache.
    let bits = (alive.len() * 2).next_power_of_two().trailing_zeros().max(6);
    for sub in 0..n_sub {
        let s_a = sub as f64 / n_sub as f64;
        let s_b = (sub + 1) as f64 / n_sub as f64;
        entries.clear();
        heads.clear();
        heads.resize(1 << bits, NONE);
        for (index, (&slot, cubic)) in alive.iter().zip(cubics.iter()).enumerate() {
            let control = hermite::bezier3(cubic, s_a, s_b);
            let bx = widened_box(&control, store.track(slot as usize).pad_km, half_threshold);
            controls[index] = control;
            let (low, high) = (settings.cell(&bx.lo), settings.cell(&bx.hi));
            for ix in low[0]..=high[0] {
                for iy in low[1]..=high[1] {
                    for iz in low[2]..=high[2] {
                        for ir in low[3]..=high[3] {
                            let key = cell_key([ix, iy, iz, ir]);
                            let bucket = bucket_of(key, bits);
                            let this = entries.len() as u32;
                            let mut other = heads[bucket];
                            heads[bucket] = this;
                            entries.push(Entry { key, index: index as u32, next: other, bx });
                            // Every earlier box in the same cell: the pairs of this box.
                            while other != NONE {
                                let e = entries[other as usize];
                                other = e.next;
                                if e.key != key || !e.bx.overlaps(&bx) {
                                    continue;
                                }
                                // Count the pair once: in the cell holding the low corner of the
                                // overlap.
                                let corner = [
                                    e.bx.lo[0].max(bx.lo[0]),
                                    e.bx.lo[1].max(bx.lo[1]),
                                    e.bx.lo[2].max(bx.lo[2]),
                                    e.bx.lo[3].max(bx.lo[3]),
                                ];
                                if cell_key(settings.cell(&corner)) != key {
                                    continue;
                                }
                                let (ia, ib) = if alive[e.index as usize] < alive[index] {
                                    (e.index as usize, index)
                                } else {
                                    (index, e.index as usize)
                                };
                                let (a, b) = (alive[ia] as usize, alive[ib] as usize);
                                let relative = hermite::difference(&controls[ib], &controls[ia]);
                                let pad = store.track(a).pad_km + store.track(b).pad_km;
                                let span = (t_k + s_a * h, t_k + s_b * h);
                                curve_test(&relative, (a, b), span, pad, threshold_km, curve, out);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Candidates of slot `q` against every slot `other` for which `include(other)` holds, over
/// every interval both are alive in (one against all).
pub fn search_one(
    store: &TrackStore,
    threshold_km: f64,
    q: usize,
    others: impl Iterator<Item = usize>,
    scratch: &mut CurveScratch,
    out: &mut Vec<Candidate>,
) {
    let track_q = *store.track(q);
    if track_q.n_usable == 0 {
        return;
    }
    let spheres_q = &store.spheres_of(q)[..track_q.n_usable];
    let controls_q: Vec<Bezier3> = (0..track_q.n_usable).map(|k| store.control(q, k)).collect();
    for other in others {
        if other == q {
            continue;
        }
        let track = store.track(other);
        let n = track.n_usable.min(track_q.n_usable);
        if n == 0 || track.band_low_km > track_q.band_high_km || track_q.band_low_km > track.band_high_km {
            continue;
        }
        let spheres = &store.spheres_of(other)[..n];
        for (k, (sq, so)) in spheres_q.iter().zip(spheres).enumerate() {
            let (dx, dy, dz) = (sq[0] - so[0], sq[1] - so[1], sq[2] - so[2]);
            // Single-precision test with a relative margin for its rounding.
            let reach = (sq[3] + so[3]) * 1.000_01;
            if dx * dx + dy * dy + dz * dz > reach * reach {
                continue;
            }
            let control_q = &controls_q[k];
            let control_other = store.control(other, k);
            let (a, b, relative) = if q < other {
                (q, other, hermite::difference(&control_other, control_q))
            } else {
                (other, q, hermite::difference(control_q, &control_other))
            };
            let t_k = store.sampling.interval_start_s(k);
            let span = (t_k, t_k + store.sampling.step_s);
            let pad = track_q.pad_km + track.pad_km;
            curve_test(&relative, (a, b), span, pad, threshold_km, scratch, out);
        }
    }
}
