//! The search for candidate close approaches: which pairs may come within the threshold, and
//! when, from the interpolated trajectories and their error bounds. Everything here is
//! conservative: a pair and time at which the true (SGP4) range is within the threshold is
//! always among the candidates. Refinement then decides with SGP4 itself.
//!
//! Two searches share the last step:
//! - all against all ([`search_all`]): for every sampling interval, in parallel, the interval
//!   is cut into sub-steps; each object's curve over a sub-step sits in the box of its Bézier
//!   control points, widened by its error bound and half the threshold; boxes go into a hashed
//!   uniform grid, and pairs whose boxes overlap go on to the curve test;
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

/// Grid coordinates are clamped to ±2²⁰ cells (about ±2.6 × 10⁸ km at 250 km cells, far past
/// the Moon): clamping merges far cells, which only adds candidates.
const CELL_LIMIT: i64 = (1 << 20) - 1;

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

/// Runs the curve test of slots `a < b` over `[s_a, s_b]` (fractions of interval `k`) and
/// appends the candidates.
#[allow(clippy::too_many_arguments)]
fn curve_test(
    store: &TrackStore,
    threshold_km: f64,
    k: usize,
    (a, cubics_a): (usize, &Cubic3),
    (b, cubics_b): (usize, &Cubic3),
    (s_a, s_b): (f64, f64),
    scratch: &mut CurveScratch,
    out: &mut Vec<Candidate>,
) {
    let relative =
        hermite::difference(&hermite::bezier3(cubics_b, s_a, s_b), &hermite::bezier3(cubics_a, s_a, s_b));
    let pad = store.track(a).pad_km + store.track(b).pad_km;
    let t_k = store.sampling.interval_start_s(k);
    let h = store.sampling.step_s;
    scratch.spans.clear();
    close_spans(
        &relative,
        t_k + s_a * h,
        t_k + s_b * h,
        pad,
        threshold_km,
        &mut scratch.stack,
        &mut scratch.spans,
    );
    out.extend(scratch.spans.iter().map(|&(t0_s, t1_s)| Candidate { a: a as u32, b: b as u32, t0_s, t1_s }));
}

/// Scratch buffers of one worker of the all-against-all search.
#[derive(Debug, Default)]
pub struct GridScratch {
    /// Slots alive in the interval, and their cubics.
    alive: Vec<u32>,
    cubics: Vec<Cubic3>,
    /// Each alive object's widened box over the current sub-step: lo[3], hi[3].
    boxes: Vec<[f64; 6]>,
    /// (cell key, index into `alive`) for every cell a box touches.
    entries: Vec<(u64, u32)>,
    sorted: Vec<(u64, u32)>,
    bucket_start: Vec<u32>,
    curve: CurveScratch,
}

#[inline]
fn cell_of(x_km: f64, inverse_cell_km: f64) -> i64 {
    // `as` saturates (and maps NaN to 0): clamping then keeps every coordinate in range.
    ((x_km * inverse_cell_km).floor() as i64).clamp(-CELL_LIMIT, CELL_LIMIT)
}

#[inline]
fn cell_key(ix: i64, iy: i64, iz: i64) -> u64 {
    let bias = CELL_LIMIT + 1;
    (((ix + bias) as u64) << 42) | (((iy + bias) as u64) << 21) | ((iz + bias) as u64)
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
}

/// Candidates of every pair of alive slots over sampling interval `k` (all against all).
pub fn search_interval(
    store: &TrackStore,
    threshold_km: f64,
    settings: GridSettings,
    k: usize,
    scratch: &mut GridScratch,
    out: &mut Vec<Candidate>,
) {
    let GridScratch { alive, cubics, boxes, entries, sorted, bucket_start, curve } = scratch;
    alive.clear();
    cubics.clear();
    for slot in 0..store.n_slots() {
        if k < store.track(slot).n_usable {
            alive.push(slot as u32);
            cubics.push(store.cubics(slot, k));
        }
    }
    if alive.len() < 2 {
        return;
    }
    let n_sub = settings.sub_steps.max(1);
    let inverse_cell = 1.0 / settings.cell_km;
    let half_threshold = 0.5 * threshold_km;
    boxes.resize(alive.len(), [0.0; 6]);
    for sub in 0..n_sub {
        let s_a = sub as f64 / n_sub as f64;
        let s_b = (sub + 1) as f64 / n_sub as f64;
        entries.clear();
        for (index, (&slot, cubic)) in alive.iter().zip(cubics.iter()).enumerate() {
            let control = hermite::bezier3(cubic, s_a, s_b);
            let (lo, hi) = hermite::bounds(&control);
            let widen = store.track(slot as usize).pad_km + half_threshold;
            let bx =
                [lo[0] - widen, lo[1] - widen, lo[2] - widen, hi[0] + widen, hi[1] + widen, hi[2] + widen];
            boxes[index] = bx;
            let (x0, y0, z0) =
                (cell_of(bx[0], inverse_cell), cell_of(bx[1], inverse_cell), cell_of(bx[2], inverse_cell));
            let (x1, y1, z1) =
                (cell_of(bx[3], inverse_cell), cell_of(bx[4], inverse_cell), cell_of(bx[5], inverse_cell));
            for ix in x0..=x1 {
                for iy in y0..=y1 {
                    for iz in z0..=z1 {
                        entries.push((cell_key(ix, iy, iz), index as u32));
                    }
                }
            }
        }
        // Counting sort of the entries into hashed buckets.
        let bits = (entries.len().max(64) * 2).next_power_of_two().trailing_zeros();
        let n_buckets = 1usize << bits;
        bucket_start.clear();
        bucket_start.resize(n_buckets + 1, 0);
        for &(key, _) in entries.iter() {
            bucket_start[bucket_of(key, bits) + 1] += 1;
        }
        for i in 0..n_buckets {
            bucket_start[i + 1] += bucket_start[i];
        }
        sorted.clear();
        sorted.resize(entries.len(), (0, 0));
        {
            // Reuse the upper part of `bucket_start` as write cursors would need a copy; fill
            // from each bucket's end instead, decrementing.
            let mut cursor: Vec<u32> = Vec::new();
            cursor.extend_from_slice(&bucket_start[1..]);
            for &(key, index) in entries.iter() {
                let bucket = bucket_of(key, bits);
                cursor[bucket] -= 1;
                sorted[cursor[bucket] as usize] = (key, index);
            }
        }
        for bucket in 0..n_buckets {
            let (begin, end) = (bucket_start[bucket] as usize, bucket_start[bucket + 1] as usize);
            if end - begin < 2 {
                continue;
            }
            let cell = &sorted[begin..end];
            for (i, &(key_i, index_i)) in cell.iter().enumerate() {
                for &(key_j, index_j) in &cell[i + 1..] {
                    if key_i != key_j {
                        continue;
                    }
                    let (bi, bj) = (&boxes[index_i as usize], &boxes[index_j as usize]);
                    if bi[0] > bj[3]
                        || bj[0] > bi[3]
                        || bi[1] > bj[4]
                        || bj[1] > bi[4]
                        || bi[2] > bj[5]
                        || bj[2] > bi[5]
                    {
                        continue;
                    }
                    // Count the pair once: in the cell holding the low corner of the overlap.
                    let corner = cell_key(
                        cell_of(bi[0].max(bj[0]), inverse_cell),
                        cell_of(bi[1].max(bj[1]), inverse_cell),
                        cell_of(bi[2].max(bj[2]), inverse_cell),
                    );
                    if corner != key_i {
                        continue;
                    }
                    let (ia, ib) = if alive[index_i as usize] < alive[index_j as usize] {
                        (index_i as usize, index_j as usize)
                    } else {
                        (index_j as usize, index_i as usize)
                    };
                    curve_test(
                        store,
                        threshold_km,
                        k,
                        (alive[ia] as usize, &cubics[ia]),
                        (alive[ib] as usize, &cubics[ib]),
                        (s_a, s_b),
                        curve,
                        out,
                    );
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
    let mut cubics_q: Vec<Option<Cubic3>> = vec![None; track_q.n_usable];
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
            let cubic_q = *cubics_q[k].get_or_insert_with(|| store.cubics(q, k));
            let cubic_other = store.cubics(other, k);
            let (a, b) = if q < other {
                ((q, &cubic_q), (other, &cubic_other))
            } else {
                ((other, &cubic_other), (q, &cubic_q))
            };
            curve_test(store, threshold_km, k, a, b, (0.0, 1.0), scratch, out);
        }
    }
}
