//! Body checks (DESIGN.md §3, the second kind). A body that matches its hash but fails to
//! decode, disagrees with its header, or holds values out of physical range makes its update
//! *defective*: it counts in no view, is flagged with the reason, and is kept as evidence.
//! Nobody is penalised for it.

use serde::Serialize;

use crate::codec;
use crate::envelope::{Envelope, Header, Kind};
use crate::orbit::Propagator;
use crate::records::{Covariance, Record, MAX_BOUND_NODES, MAX_PEER_ID_BYTES, MAX_TEXT_BYTES};

/// Why an update is defective. Deterministic: every node flags the same updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "defect", content = "detail", rename_all = "snake_case")]
pub enum Defect {
    #[error("body does not decode: {0}")]
    Undecodable(String),
    #[error("body disagrees with its header: {0}")]
    DisagreesWithHeader(&'static str),
    #[error("{field} is out of physical range: {value}")]
    OutOfRange { field: &'static str, value: String },
    #[error("text field {0} is longer than 512 bytes")]
    TextTooLong(&'static str),
    #[error("node binding is malformed: {0}")]
    BadBinding(&'static str),
    #[error("SGP4 does not initialise: {0}")]
    Sgp4Init(String),
    #[error("covariance is not positive semi-definite")]
    CovarianceNotPsd,
}

fn range(field: &'static str, value: f64, ok: bool) -> Result<(), Defect> {
    if ok && value.is_finite() {
        Ok(())
    } else {
        Err(Defect::OutOfRange { field, value: format!("{value}") })
    }
}

fn text(field: &'static str, value: &str) -> Result<(), Defect> {
    if value.len() > MAX_TEXT_BYTES {
        Err(Defect::TextTooLong(field))
    } else {
        Ok(())
    }
}

fn opt_text(field: &'static str, value: &Option<String>) -> Result<(), Defect> {
    value.as_deref().map_or(Ok(()), |v| text(field, v))
}

/// Decodes a body and checks it against its header and the physical ranges.
pub fn check_body(header: &Header, body: &[u8]) -> Result<Record, Defect> {
    let record: Record = codec::decode(body).map_err(|e| Defect::Undecodable(e.to_string()))?;
    if record.kind() != header.kind {
        return Err(Defect::DisagreesWithHeader("kind"));
    }
    if record.object() != header.object {
        return Err(Defect::DisagreesWithHeader("object"));
    }
    if record.epoch() != header.epoch {
        return Err(Defect::DisagreesWithHeader("epoch"));
    }
    if record.target() != header.target {
        return Err(Defect::DisagreesWithHeader("target"));
    }
    if record.subject() != header.subject {
        return Err(Defect::DisagreesWithHeader("subject"));
    }
    match &record {
        Record::OrbitEstimate(e) => {
            range("eccentricity", e.eccentricity, (0.0..1.0).contains(&e.eccentricity))?;
            range(
                "mean_motion",
                e.mean_motion_rev_per_day,
                e.mean_motion_rev_per_day > 0.0 && e.mean_motion_rev_per_day < 20.0,
            )?;
            range("inclination", e.inclination_deg, (0.0..=180.0).contains(&e.inclination_deg))?;
            range("ra_of_asc_node", e.ra_of_asc_node_deg, e.ra_of_asc_node_deg.abs() <= 360.0)?;
            range("arg_of_pericenter", e.arg_of_pericenter_deg, e.arg_of_pericenter_deg.abs() <= 360.0)?;
            range("mean_anomaly", e.mean_anomaly_deg, e.mean_anomaly_deg.abs() <= 360.0)?;
            range("bstar", e.bstar, e.bstar.abs() < 10.0)?;
            range("mean_motion_dot", e.mean_motion_dot, e.mean_motion_dot.abs() < 10.0)?;
            range("mean_motion_ddot", e.mean_motion_ddot, e.mean_motion_ddot.abs() < 10.0)?;
            text("source", &e.source)?;
            if let Some(cov) = &e.covariance {
                check_covariance(cov)?;
            }
            if let Some(q) = &e.quality {
                if let Some(rms) = q.rms_km {
                    range("quality.rms_km", rms, rms >= 0.0)?;
                }
                if let Some(span) = q.span_days {
                    range("quality.span_days", span, span >= 0.0)?;
                }
            }
            Propagator::new(e).map_err(|err| Defect::Sgp4Init(err.to_string()))?;
        }
        Record::ObjectMetadata(m) => {
            opt_text("name", &m.name)?;
            opt_text("cospar_id", &m.cospar_id)?;
            opt_text("owner", &m.owner)?;
            opt_text("launch_date", &m.launch_date)?;
            opt_text("decay_date", &m.decay_date)?;
            if let Some(v) = m.rcs_m2 {
                range("rcs_m2", v, v >= 0.0)?;
            }
            if let Some(v) = m.size_m {
                range("size_m", v, v >= 0.0)?;
            }
        }
        Record::ManeuverNotice(n) => {
            text("description", &n.description)?;
            if n.window_end < n.window_start {
                return Err(Defect::OutOfRange { field: "window_end", value: n.window_end.to_string() });
            }
            if let Some(dv) = n.expected_delta_v_mps {
                range("expected_delta_v_mps", dv, dv >= 0.0)?;
            }
        }
        Record::Endorse(e) => {
            text("name", &e.name)?;
            // The carried binding must be the subject's own signed NodeBinding. Its signature
            // is checked when the engine ingests it as an update of its own.
            let inner: Envelope = codec::decode(&e.binding)
                .map_err(|_| Defect::BadBinding("does not decode as an envelope"))?;
            if inner.header.header.kind != Kind::NodeBinding {
                return Err(Defect::BadBinding("carried update is not a node binding"));
            }
            if inner.header.header.author != e.subject {
                return Err(Defect::BadBinding("carried binding is not the subject's"));
            }
        }
        Record::Suspend(s) => text("reason", &s.reason)?,
        Record::NodeBinding(b) => {
            if b.peer_ids.is_empty() || b.peer_ids.len() > MAX_BOUND_NODES {
                return Err(Defect::BadBinding("binds no node, or more than 16"));
            }
            if b.peer_ids.iter().any(|p| p.is_empty() || p.len() > MAX_PEER_ID_BYTES) {
                return Err(Defect::BadBinding("peer id empty or longer than 64 bytes"));
            }
        }
        Record::Retract(r) => text("reason", &r.reason)?,
    }
    Ok(record)
}

/// A lower triangle with a finite, non-negative diagonal that is positive semi-definite
/// (an LDLᵀ factorisation with a small relative tolerance, in plain IEEE arithmetic).
pub fn check_covariance(cov: &Covariance) -> Result<(), Defect> {
    let lt = &cov.lower_triangle;
    if lt.iter().any(|v| !v.is_finite()) {
        return Err(Defect::OutOfRange { field: "covariance", value: "non-finite entry".into() });
    }
    let at = |i: usize, j: usize| -> f64 {
        let (r, c) = if i >= j { (i, j) } else { (j, i) };
        lt[r * (r + 1) / 2 + c]
    };
    for i in 0..6 {
        if at(i, i) < 0.0 {
            return Err(Defect::OutOfRange { field: "covariance diagonal", value: format!("{}", at(i, i)) });
        }
    }
    // Scale to a correlation-like matrix so the tolerance is relative.
    let scale: Vec<f64> = (0..6).map(|i| if at(i, i) > 0.0 { at(i, i).sqrt() } else { 1.0 }).collect();
    let mut a = [[0.0f64; 6]; 6];
    for (i, row) in a.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = at(i, j) / (scale[i] * scale[j]);
        }
    }
    const TOLERANCE: f64 = 1e-9;
    let mut d = [0.0f64; 6];
    let mut l = [[0.0f64; 6]; 6];
    for j in 0..6 {
        let mut dj = a[j][j];
        for k in 0..j {
            dj -= l[j][k] * l[j][k] * d[k];
        }
        if dj < -TOLERANCE {
            return Err(Defect::CovarianceNotPsd);
        }
        d[j] = dj.max(0.0);
        for i in (j + 1)..6 {
            let mut v = a[i][j];
            for k in 0..j {
                v -= l[i][k] * l[j][k] * d[k];
            }
            l[i][j] = if d[j] > TOLERANCE { v / d[j] } else { 0.0 };
        }
    }
    Ok(())
}
