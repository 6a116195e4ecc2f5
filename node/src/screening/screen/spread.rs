//! The spread of one close approach across sources: the pair re-screened with each source's own
//! estimates of both objects, and the smallest and largest miss distance among them.
//!
//! Each source's pair is searched on the refinement brackets of a window centred on the event's
//! TCA (every bracket, no pre-filter: one pair is cheap), and the local minimum of the range
//! nearest that TCA is that source's view of the approach, however large its miss distance.
//! Sources disagree on timing along track by seconds to minutes, far less than the time between
//! two approaches of the same pair, so the nearest minimum is the same approach.

use protocol::orbit::Propagator;
use protocol::records::OrbitEstimate;
use protocol::time::Epoch;
use serde::{Deserialize, Serialize};

use super::refine::{self, Body};

/// Default half-width of the search around the TCA, s.
pub const DEFAULT_SEARCH_HALF_WIDTH_S: u32 = 600;

/// One source's estimates of both objects of an event.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceEstimates<S> {
    pub source: S,
    pub primary: OrbitEstimate,
    pub secondary: OrbitEstimate,
}

/// A pair's closest approach as one source's estimates give it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Approach {
    pub tca: Epoch,
    pub miss_distance_km: f64,
    pub relative_speed_km_s: f64,
    pub miss_rtn_km: [f64; 3],
}

/// One source's view, or why it has none (elements that do not propagate, no minimum of the
/// range in the search window).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceApproach<S> {
    pub source: S,
    pub approach: Result<Approach, String>,
}

/// Every source's view and the extremes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceSpread<S> {
    pub per_source: Vec<SourceApproach<S>>,
    /// Smallest and largest miss distance over the sources that have one, km.
    pub min_miss_km: Option<f64>,
    pub max_miss_km: Option<f64>,
}

/// Re-screens one pair with each source's estimates, around `tca`, within
/// `search_half_width_s` seconds either side.
pub fn source_spread<S>(
    tca: Epoch,
    search_half_width_s: u32,
    sources: Vec<SourceEstimates<S>>,
) -> SourceSpread<S> {
    let per_source: Vec<SourceApproach<S>> = sources
        .into_iter()
        .map(|s| {
            let approach = approach_near(&s.primary, &s.secondary, tca, search_half_width_s);
            SourceApproach { source: s.source, approach }
        })
        .collect();
    let misses = per_source.iter().filter_map(|s| s.approach.as_ref().ok().map(|a| a.miss_distance_km));
    let (min_miss_km, max_miss_km) = misses.fold((None, None), |(lo, hi): (Option<f64>, Option<f64>), m| {
        (Some(lo.map_or(m, |lo| lo.min(m))), Some(hi.map_or(m, |hi| hi.max(m))))
    });
    SourceSpread { per_source, min_miss_km, max_miss_km }
}

/// The local minimum of the range nearest `tca` within `half_width_s` seconds either side.
pub fn approach_near(
    primary: &OrbitEstimate,
    secondary: &OrbitEstimate,
    tca: Epoch,
    half_width_s: u32,
) -> Result<Approach, String> {
    let p = Propagator::new(primary).map_err(|e| format!("object {}: {e}", primary.object))?;
    let s = Propagator::new(secondary).map_err(|e| format!("object {}: {e}", secondary.object))?;
    let start = tca.plus_micros(-i64::from(half_width_s) * 1_000_000);
    let window_s = 2.0 * f64::from(half_width_s);
    let brackets: Vec<usize> = (0..refine::n_brackets(window_s)).collect();
    let (one, two) = (Body::new(&p, start), Body::new(&s, start));
    let nearest = refine::closest_approaches(&one, &two, &brackets, window_s)
        .into_iter()
        .min_by(|x, y| (x - f64::from(half_width_s)).abs().total_cmp(&(y - f64::from(half_width_s)).abs()))
        .ok_or_else(|| format!("no closest approach within {half_width_s} s of {tca}"))?;
    let at = refine::epoch_at(start, nearest);
    let g = refine::geometry(&p, &s, at).map_err(|e| e.to_string())?;
    Ok(Approach {
        tca: at,
        miss_distance_km: g.miss_distance_km,
        relative_speed_km_s: g.relative_speed_km_s,
        miss_rtn_km: g.miss_rtn_km,
    })
}
