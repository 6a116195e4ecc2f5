//! The search for candidate close approaches: which pairs may come within the threshold, and
//! when, from the interpolated trajectories and their error bounds. Everything here is
//! conservative: a pair and time at which the true (SGP4) range is within the threshold is
//! always among the candidates. Refinement then decides with SGP4 itself.
//!
//! Two searches share the last step:
//! - all against all ([`search_intervals`], a block of sampling intervals, run in parallel over
//!   the blocks): the interval is cut into sub-steps; each object's curve over a sub-step sits in
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
//! within the threshold of the origin; the spans that still do at an eighth of a refinement
//! bracket are the candidates.

use super::hermite::{self, Bezier3, Cubic3};
use super::tracks::TrackStore;

/// Duration below which the curve test stops splitting a span, s: an eighth of a refinement
/// bracket, so that a candidate touches one or two brackets and few brackets are refined for
/// nothing (a quarter refined 18% more brackets on the 2023 catalogue).
pub const MIN_SPAN_S: f64 = super::BRACKET_S / 8.0;

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
    /// Per interval of a block, the slots alive in it with their pads (km) and cubics, in slot
    /// order.
    gathered: Vec<Vec<(u32, f64, Cubic3)>>,
    /// The alive slots of one interval keyed by their place on a space-filling curve (the index
    /// is into the gathered list).
    order: Vec<(u32, u32)>,
    /// The alive slots, their pads and cubics, in that order.
    alive: Vec<u32>,
    pads: Vec<f64>,
    cubics: Vec<Cubic3>,
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

/// Grid coordinates are biased by 2¹⁵ cells and clamped to 16 bits (about ±8 × 10⁶ km at
/// 250 km cells, twenty times the Moon's distance), radial bins likewise from zero: clamping
/// merges far cells, which only adds candidates.
const POSITION_BIAS: f32 = 32_768.0;
const CELL_MAX: f32 = 65_535.0;

/// `⌊x · inverse + bias⌋`, clamped to `[0, 2¹⁶ − 1]`, in single precision. Every step is
/// monotonic in `x`, which is all the search needs: a point between two others lies in a cell
/// between theirs. The clamped value is non-negative, so its truncation is its floor (`floor`
/// itself is a library call on the baseline x86-64 target); `as` maps NaN to 0.
#[inline]
fn cell_of(x_km: f32, inverse_cell_km: f32, bias: f32) -> u32 {
    (x_km * inverse_cell_km + bias).clamp(0.0, CELL_MAX) as u32
}

/// The cell of a point of a box: three position cells and a radial bin, packed.
#[inline]
fn cell_key(cell: [u32; 4]) -> u64 {
    (u64::from(cell[0]) << 48) | (u64::from(cell[1]) << 32) | (u64::from(cell[2]) << 16) | u64::from(cell[3])
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
    fn cell(&self, point: &[f32; 4]) -> [u32; 4] {
        let inverse_cell = (1.0 / self.cell_km) as f32;
        [
            cell_of(point[0], inverse_cell, POSITION_BIAS),
            cell_of(point[1], inverse_cell, POSITION_BIAS),
            cell_of(point[2], inverse_cell, POSITION_BIAS),
            cell_of(point[3], (1.0 / self.radial_bin_km) as f32, 0.0),
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
    let mut projection_low = f64::INFINITY;
    let mut radius_high: f64 = 0.0;
    for p in (0..4).map(|k| [control[0][k], control[1][k], control[2][k]]) {
        radius_high = radius_high.max(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]);
        projection_low = projection_low.min(p[0] * centre[0] + p[1] * centre[1] + p[2] * centre[2]);
    }
    let radius_high = radius_high.sqrt();
    // Dividing by a positive number is monotonic: one division for the least projection.
    let radius_low = projection_low / centre_norm;
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

/// The Morton code of the cell (10 bits per axis, biased by 512 and clamped) holding the
/// curve's middle.
#[inline]
fn spatial_order(cubic: &Cubic3, inverse_cell_km: f32) -> u32 {
    let mut code = 0u32;
    for (axis, c) in cubic.iter().enumerate() {
        let middle = c[0] + 0.5 * (c[1] + 0.5 * (c[2] + 0.5 * c[3]));
        code |= spread_bits(cell_of(middle as f32, inverse_cell_km, 512.0).min(1023)) << axis;
    }
    code
}

/// Spreads the low 10 bits of `x` to every third bit.
#[inline]
fn spread_bits(x: u32) -> u32 {
    let mut x = x & 0x3ff;
    x = (x | (x << 16)) & 0x0300_00ff;
    x = (x | (x << 8)) & 0x0300_f00f;
    x = (x | (x << 4)) & 0x030c_30c3;
    x = (x | (x << 2)) & 0x0924_9249;
    x
}

/// `√3`: a per-coordinate bound `pad` bounds the distance by `√3 pad`.
const SQRT_3: f64 = 1.732_050_807_568_877_2;

/// Candidates of every pair of alive slots over each sampling interval of `intervals` (all
/// against all).
pub fn search_intervals(
    store: &TrackStore,
    threshold_km: f64,
    settings: GridSettings,
    intervals: std::ops::Range<usize>,
    scratch: &mut GridScratch,
    out: &mut Vec<Candidate>,
) {
    // One pass over the slots for the whole block: a slot's samples are consecutive in memory,
    // so the block's intervals share the cache lines that reading them costs.
    let mut gathered = std::mem::take(&mut scratch.gathered);
    gathered.resize_with(intervals.len(), Vec::new);
    gathered.iter_mut().for_each(Vec::clear);
    for slot in 0..store.n_slots() {
        let track = store.track(slot);
        for k in intervals.start..intervals.end.min(track.n_usable) {
            gathered[k - intervals.start].push((slot as u32, track.pad_km, store.cubics(slot, k)));
        }
    }
    for (k, alive) in intervals.zip(&gathered) {
        search_interval(
            threshold_km,
            settings,
            store.sampling.interval_start_s(k),
            store.sampling.step_s,
            alive,
            scratch,
            out,
        );
    }
    scratch.gathered = gathered;
}

/// Candidates of every pair of the `gathered` slots (with their pads and cubics) over the
/// sampling interval that starts at `t_k` s and lasts `h` s.
fn search_interval(
    threshold_km: f64,
    settings: GridSettings,
    t_k: f64,
    h: f64,
    gathered: &[(u32, f64, Cubic3)],
    scratch: &mut GridScratch,
    out: &mut Vec<Candidate>,
) {
    let GridScratch { gathered: _, order, alive, pads, cubics, entries, heads, curve } = scratch;
    if gathered.len() < 2 {
        return;
    }
    let inverse_cell = (1.0 / settings.cell_km) as f32;
    order.clear();
    order.extend(
        gathered
            .iter()
            .enumerate()
            .map(|(index, (_, _, cubic))| (spatial_order(cubic, inverse_cell), index as u32)),
    );
    // In space-filling-curve order of their cells at mid-interval: boxes that share a cell are
    // mostly inserted one after another, so walking a bucket's chain reads entries still in cache.
    order.sort_unstable();
    alive.clear();
    pads.clear();
    cubics.clear();
    for &(_, index) in order.iter() {
        let (slot, pad, cubic) = gathered[index as usize];
        alive.push(slot);
        pads.push(pad);
        cubics.push(cubic);
    }
    let n_sub = settings.sub_steps.max(1);
    let half_threshold = 0.5 * threshold_km;
    // Several buckets per entry (a box touches one to four cells): chains rarely hold another
    // cell's entries, and the table (1 MB for the whole catalogue) stays in the core's cache.
    let bits = (alive.len() * 8).next_power_of_two().trailing_zeros().max(6);
    if heads.len() != 1 << bits {
        // Between calls the table holds exactly the entries of `entries`, hashed with its size.
        entries.clear();
        heads.clear();
        heads.resize(1 << bits, NONE);
    }
    for sub in 0..n_sub {
        let s_a = sub as f64 / n_sub as f64;
        let s_b = (sub + 1) as f64 / n_sub as f64;
        // Empty the buckets the last sub-step filled: far fewer than the table holds.
        for entry in entries.iter() {
            heads[bucket_of(entry.key, bits)] = NONE;
        }
        entries.clear();
        for (index, cubic) in cubics.iter().enumerate() {
            let control = hermite::bezier3(cubic, s_a, s_b);
            let bx = widened_box(&control, pads[index], half_threshold);
            let (low, high) = (settings.cell(&bx.lo), settings.cell(&bx.hi));
            for ix in low[0]..high[0] + 1 {
                for iy in low[1]..high[1] + 1 {
                    for iz in low[2]..high[2] + 1 {
                        for ir in low[3]..high[3] + 1 {
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
                                // Few boxes meet: their control points are computed again
                                // rather than kept for every box.
                                let relative = hermite::difference(
                                    &hermite::bezier3(&cubics[ib], s_a, s_b),
                                    &hermite::bezier3(&cubics[ia], s_a, s_b),
                                );
                                let pad = pads[ia] + pads[ib];
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
