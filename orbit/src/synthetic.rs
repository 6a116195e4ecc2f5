//! A synthetic catalogue generated in code, for the demo and for tests and benchmarks that
//! must run without the shared data: realistic LEO shells (constellation-like planes), debris
//! clouds around a break-up, sun-synchronous payloads, rocket bodies in transfer orbits, and GEO
//! slots. Deterministic from its seed.

use protocol::ids::ObjectId;
use protocol::records::OrbitEstimate;
use protocol::time::Epoch;

use crate::ElementSet;

/// A small deterministic generator (SplitMix64): no dependency, same numbers everywhere.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

const MU_KM3_S2: f64 = 398_600.8;
const RE_KM: f64 = 6378.135;

/// Mean motion (rev/day) of a circular-ish orbit with semi-major axis `a_km`.
pub fn mean_motion_rev_per_day(a_km: f64) -> f64 {
    let n_rad_s = (MU_KM3_S2 / (a_km * a_km * a_km)).sqrt();
    n_rad_s * 86_400.0 / (2.0 * std::f64::consts::PI)
}

#[allow(clippy::too_many_arguments)]
fn set(
    object: u32,
    name: String,
    cospar: String,
    epoch: Epoch,
    altitude_km: f64,
    e: f64,
    i: f64,
    raan: f64,
    argp: f64,
    m: f64,
    bstar: f64,
) -> ElementSet {
    ElementSet {
        estimate: OrbitEstimate {
            object: ObjectId::Norad(object),
            epoch,
            mean_motion_rev_per_day: mean_motion_rev_per_day(RE_KM + altitude_km),
            eccentricity: e,
            inclination_deg: i,
            ra_of_asc_node_deg: raan.rem_euclid(360.0),
            arg_of_pericenter_deg: argp.rem_euclid(360.0),
            mean_anomaly_deg: m.rem_euclid(360.0),
            bstar,
            mean_motion_dot: 0.0,
            mean_motion_ddot: 0.0,
            ephemeris_type: 0,
            classification: 'U',
            element_set_no: 999,
            rev_at_epoch: 1,
            covariance: None,
            quality: None,
            source: "synthetic".into(),
        },
        name: Some(name),
        cospar_id: Some(cospar),
    }
}

/// A synthetic catalogue of about `n` objects at `epoch`, numbered from 90 000 (the analyst
/// range, so it never collides with real catalogue numbers).
pub fn catalogue(n: usize, epoch: Epoch, seed: u64) -> Vec<ElementSet> {
    let mut rng = SplitMix::new(seed);
    let mut out = Vec::with_capacity(n);
    let mut next = 90_000u32;
    let push = |out: &mut Vec<ElementSet>, s: ElementSet| {
        if out.len() < n {
            out.push(s);
        }
    };
    // 40 %: a constellation shell at 550 km, 53°, 72 planes.
    let shell = n * 40 / 100;
    for k in 0..shell {
        let plane = (k % 72) as f64;
        let slot = (k / 72) as f64;
        let s = set(
            next,
            format!("SHELL-{k:04}"),
            format!("2020-{:03}A", 1 + k / 60),
            epoch,
            550.0 + rng.range(-2.0, 2.0),
            0.0001 + rng.range(0.0, 0.0002),
            53.0 + rng.range(-0.05, 0.05),
            plane * 5.0,
            90.0,
            slot * 360.0 / 22.0 + plane * 0.7 + rng.range(-0.1, 0.1),
            1e-4,
        );
        push(&mut out, s);
        next += 1;
    }
    // 20 %: sun-synchronous payloads between 500 and 800 km.
    for k in 0..n * 20 / 100 {
        let alt = rng.range(500.0, 800.0);
        let s = set(
            next,
            format!("SSO-SAT-{k:04}"),
            format!("2015-{:03}A", 1 + k % 900),
            epoch,
            alt,
            rng.range(0.0005, 0.002),
            97.4 + (alt - 500.0) / 300.0 * 1.2,
            rng.range(0.0, 360.0),
            rng.range(0.0, 360.0),
            rng.range(0.0, 360.0),
            5e-5,
        );
        push(&mut out, s);
        next += 1;
    }
    // 25 %: a debris cloud from a break-up at 800 km, 98.6°.
    for k in 0..n * 25 / 100 {
        let s = set(
            next,
            format!("BREAKUP DEB {k:04}"),
            format!("2007-{:03}{}", 1 + k % 50, ["B", "C", "D", "E"][k % 4]),
            epoch,
            800.0 + rng.range(-80.0, 80.0),
            rng.range(0.001, 0.02),
            98.6 + rng.range(-0.5, 0.5),
            40.0 + rng.range(-3.0, 3.0),
            rng.range(0.0, 360.0),
            rng.range(0.0, 360.0),
            rng.range(1e-4, 1e-3),
        );
        push(&mut out, s);
        next += 1;
    }
    // 5 %: rocket bodies in geostationary transfer orbits.
    for k in 0..n * 5 / 100 {
        let perigee = rng.range(200.0, 600.0);
        let apogee = 35_786.0;
        let a = RE_KM + (perigee + apogee) / 2.0;
        let e = (apogee - perigee) / (2.0 * a);
        let mut s = set(
            next,
            format!("GTO R/B {k:03}"),
            format!("2018-{:03}B", 1 + k),
            epoch,
            a - RE_KM,
            e,
            rng.range(5.0, 28.0),
            rng.range(0.0, 360.0),
            rng.range(0.0, 360.0),
            rng.range(0.0, 360.0),
            1e-4,
        );
        s.estimate.mean_motion_rev_per_day = mean_motion_rev_per_day(a);
        push(&mut out, s);
        next += 1;
    }
    // The rest: GEO slots every half degree of longitude, some drifting.
    let mut k = 0;
    while out.len() < n {
        let s = set(
            next,
            format!("GEO-SAT-{k:03}"),
            format!("2010-{:03}A", 1 + k % 900),
            epoch,
            35_786.0 + rng.range(-5.0, 5.0),
            rng.range(0.0001, 0.0005),
            rng.range(0.0, 0.1),
            rng.range(0.0, 360.0),
            rng.range(0.0, 360.0),
            (k as f64) * 0.5,
            0.0,
        );
        push(&mut out, s);
        next += 1;
        k += 1;
    }
    out
}

/// ISS (ZARYA), 2020-07-12: the sgp4 crate's own example, a real element set for tests.
pub fn iss_2020_07_12() -> OrbitEstimate {
    OrbitEstimate {
        object: protocol::ids::ObjectId::Norad(25544),
        epoch: Epoch::parse_iso("2020-07-12T21:16:01.000416Z").expect("valid time"),
        mean_motion_rev_per_day: 15.49507896,
        eccentricity: 0.0001413,
        inclination_deg: 51.6461,
        ra_of_asc_node_deg: 221.2784,
        arg_of_pericenter_deg: 89.1723,
        mean_anomaly_deg: 280.4612,
        bstar: -0.31515e-4,
        mean_motion_dot: -0.00002218,
        mean_motion_ddot: 0.0,
        ephemeris_type: 0,
        classification: 'U',
        element_set_no: 999,
        rev_at_epoch: 23600,
        covariance: None,
        quality: None,
        source: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_synthetic_element_set_propagates_for_a_day() {
        let epoch = Epoch::from_civil(2023, 3, 31, 0);
        let sets = catalogue(2000, epoch, 7);
        assert_eq!(sets.len(), 2000);
        for s in &sets {
            let p = protocol::orbit::Propagator::new(&s.estimate).expect("initialises");
            p.propagate_minutes(1440.0).expect("propagates for a day");
        }
        assert_eq!(catalogue(2000, epoch, 7), sets, "deterministic from the seed");
    }
}
