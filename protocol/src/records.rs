//! Records: the bodies of signed updates (DESIGN.md §3).
//!
//! Floats travel as their IEEE-754 bits in the canonical encoding. Nothing in the state or
//! its digest depends on them; only views do, and those are computed with pure-Rust maths.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::ids::{AgencyId, ObjectId, UpdateId};
use crate::time::Epoch;

/// Longest free text in a record (names, reasons, sensor descriptions), in bytes.
pub const MAX_TEXT_BYTES: usize = 512;
/// Most peer ids one `NodeBinding` may list.
pub const MAX_BOUND_NODES: usize = 16;
/// Longest libp2p peer id in bytes (multihash of an identity key).
pub const MAX_PEER_ID_BYTES: usize = 64;

/// The body of an update.
#[derive(Debug, Clone, PartialEq, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    OrbitEstimate(OrbitEstimate),
    ObjectMetadata(ObjectMetadata),
    ManeuverNotice(ManeuverNotice),
    Endorse(Endorse),
    Suspend(Suspend),
    NodeBinding(NodeBinding),
    Retract(Retract),
}

/// SGP4 mean elements with every OMM field, as one agency estimated them.
#[derive(Debug, Clone, PartialEq, Encode, Decode, Serialize, Deserialize)]
pub struct OrbitEstimate {
    pub object: ObjectId,
    /// Element epoch (UTC).
    pub epoch: Epoch,
    /// Kozai mean motion, revolutions per day (OMM MEAN_MOTION).
    pub mean_motion_rev_per_day: f64,
    pub eccentricity: f64,
    pub inclination_deg: f64,
    pub ra_of_asc_node_deg: f64,
    pub arg_of_pericenter_deg: f64,
    pub mean_anomaly_deg: f64,
    /// B* drag term, 1/Earth radii (OMM BSTAR).
    pub bstar: f64,
    /// First derivative of mean motion divided by 2, rev/day² (OMM MEAN_MOTION_DOT).
    pub mean_motion_dot: f64,
    /// Second derivative of mean motion divided by 6, rev/day³ (OMM MEAN_MOTION_DDOT).
    pub mean_motion_ddot: f64,
    /// OMM EPHEMERIS_TYPE (0 for SGP4 element sets).
    pub ephemeris_type: u8,
    /// OMM CLASSIFICATION_TYPE: `U`, `C` or `S`.
    pub classification: char,
    /// OMM ELEMENT_SET_NO.
    pub element_set_no: u32,
    /// OMM REV_AT_EPOCH.
    pub rev_at_epoch: u32,
    /// Boxed: most estimates have none, and 21 floats inline would triple every record.
    pub covariance: Option<Box<Covariance>>,
    pub quality: Option<Quality>,
    /// The sensor or method that produced the estimate (free text, may be empty).
    pub source: String,
}

/// A 6×6 position-velocity covariance, lower triangle by rows (21 values), km² and km²/s².
#[derive(Debug, Clone, PartialEq, Encode, Decode, Serialize, Deserialize)]
pub struct Covariance {
    pub frame: CovarianceFrame,
    pub lower_triangle: [f64; 21],
}

/// The frame a covariance is expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CovarianceFrame {
    /// Radial, transverse (along-track), normal.
    Rtn,
    /// True equator, mean equinox (SGP4's output frame).
    Teme,
}

/// Self-stated quality of an estimate: shown, never used to choose.
#[derive(Debug, Clone, PartialEq, Encode, Decode, Serialize, Deserialize)]
pub struct Quality {
    pub rms_km: Option<f64>,
    pub n_observations: Option<u32>,
    pub span_days: Option<f64>,
}

/// What an object is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ObjectType {
    Payload,
    RocketBody,
    Debris,
    Unknown,
}

/// One agency's claim about an object's identity and physical facts.
#[derive(Debug, Clone, PartialEq, Encode, Decode, Serialize, Deserialize)]
pub struct ObjectMetadata {
    pub object: ObjectId,
    pub name: Option<String>,
    /// COSPAR international designator, e.g. `1998-067A`.
    pub cospar_id: Option<String>,
    pub object_type: Option<ObjectType>,
    pub owner: Option<String>,
    pub launch_date: Option<String>,
    pub decay_date: Option<String>,
    pub rcs_m2: Option<f64>,
    pub size_m: Option<f64>,
}

/// An operator's planned manoeuvre (transparency and confidence-building).
#[derive(Debug, Clone, PartialEq, Encode, Decode, Serialize, Deserialize)]
pub struct ManeuverNotice {
    pub object: ObjectId,
    pub window_start: Epoch,
    pub window_end: Epoch,
    pub expected_delta_v_mps: Option<f64>,
    pub description: String,
}

/// A member endorses an applicant. It carries the applicant's own signed `NodeBinding`
/// update (its canonical envelope bytes), so the request travels with the endorsement.
#[derive(Debug, Clone, PartialEq, Encode, Decode, Serialize, Deserialize)]
pub struct Endorse {
    pub subject: AgencyId,
    /// The applicant's human name.
    pub name: String,
    /// The applicant's signed `NodeBinding` envelope, canonical bytes.
    #[serde(with = "hex_bytes")]
    pub binding: Vec<u8>,
}

/// A founder votes to suspend an agency; a strict majority of founders suspends it.
#[derive(Debug, Clone, PartialEq, Encode, Decode, Serialize, Deserialize)]
pub struct Suspend {
    pub subject: AgencyId,
    pub reason: String,
}

/// An agency declares which libp2p peer ids are its nodes. The newest replaces the rest.
#[derive(Debug, Clone, PartialEq, Encode, Decode, Serialize, Deserialize)]
pub struct NodeBinding {
    /// libp2p peer ids, as their multihash bytes.
    #[serde(with = "hex_bytes_list")]
    pub peer_ids: Vec<Vec<u8>>,
}

/// The author withdraws one of its own estimate, metadata or notice updates.
#[derive(Debug, Clone, PartialEq, Encode, Decode, Serialize, Deserialize)]
pub struct Retract {
    pub target: UpdateId,
    pub reason: String,
}

impl Record {
    pub fn kind(&self) -> crate::envelope::Kind {
        use crate::envelope::Kind;
        match self {
            Record::OrbitEstimate(_) => Kind::OrbitEstimate,
            Record::ObjectMetadata(_) => Kind::ObjectMetadata,
            Record::ManeuverNotice(_) => Kind::ManeuverNotice,
            Record::Endorse(_) => Kind::Endorse,
            Record::Suspend(_) => Kind::Suspend,
            Record::NodeBinding(_) => Kind::NodeBinding,
            Record::Retract(_) => Kind::Retract,
        }
    }
    /// The object the record is about, which the header repeats.
    pub fn object(&self) -> Option<ObjectId> {
        match self {
            Record::OrbitEstimate(r) => Some(r.object),
            Record::ObjectMetadata(r) => Some(r.object),
            Record::ManeuverNotice(r) => Some(r.object),
            _ => None,
        }
    }
    /// The element epoch, which the header repeats (estimates only).
    pub fn epoch(&self) -> Option<Epoch> {
        match self {
            Record::OrbitEstimate(r) => Some(r.epoch),
            _ => None,
        }
    }
    /// The retracted update, which the header repeats.
    pub fn target(&self) -> Option<UpdateId> {
        match self {
            Record::Retract(r) => Some(r.target),
            _ => None,
        }
    }
    /// The agency an `Endorse` or `Suspend` names, which the header repeats.
    pub fn subject(&self) -> Option<AgencyId> {
        match self {
            Record::Endorse(r) => Some(r.subject),
            Record::Suspend(r) => Some(r.subject),
            _ => None,
        }
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

mod hex_bytes_list {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(list: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(hex::encode))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?
            .into_iter()
            .map(|t| hex::decode(t).map_err(serde::de::Error::custom))
            .collect()
    }
}
