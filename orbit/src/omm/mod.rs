//! CCSDS Orbit Mean-Elements Messages (OMM, CCSDS 502.0-B-3) in KVN, XML and JSON.
//!
//! Each encoding is read into an [`Omm`], a faithful model of one message (any mean-element
//! theory, frame and time system, as the standard allows), and an [`Omm`] that holds SGP4
//! elements converts to an [`ElementSet`]. Both steps check everything and report the line
//! and keyword at fault.
//!
//! Rules that apply to every encoding:
//!
//! - Numbers may be written as numbers or as strings (CelesTrak writes numbers,
//!   Space-Track strings), with units in brackets in KVN (`MEAN_MOTION = 15.5 [rev/day]`)
//!   or in a `units` attribute in XML; units are not checked.
//! - Unknown keywords and repeated keywords are errors. JSON and CSV records may also carry
//!   the extra fields Space-Track adds to its GP class (`TLE_LINE1`, `PERIOD`, ...), which
//!   are ignored.
//! - Every mandatory keyword must be present. **An empty mandatory value is an error naming
//!   the keyword** (for example OMM-empty-object-id: `OBJECT_ID: mandatory value is empty`),
//!   with one exception: the header's CREATION_DATE and ORIGINATOR may be empty, because
//!   CelesTrak's XML writes `<CREATION_DATE/><ORIGINATOR/>` and neither reaches an element
//!   set. OBJECT_ID `UNKNOWN` (what this module writes for an element set without a
//!   designator) reads back as no designator.
//! - JSON and CSV carry no header or metadata beyond OBJECT_NAME and OBJECT_ID: there
//!   CENTER_NAME, REF_FRAME, TIME_SYSTEM and MEAN_ELEMENT_THEORY default to EARTH, TEME, UTC
//!   and SGP4, as CelesTrak's records mean them.
//!
//! Conversion to an element set keeps OBJECT_NAME, OBJECT_ID, the mean elements, the TLE
//! parameters and the covariance (COV_REF_FRAME TEME or RTN/RSW; km², km²/s, km²/s² as OMM
//! writes them). It drops what an [`ElementSet`] cannot hold (the header, GM, the
//! spacecraft parameters, other user-defined parameters) and refuses what is not an SGP4
//! element set (another theory, frame, time system or centre; no NORAD_CAT_ID; no
//! MEAN_MOTION). The estimate's source and quality travel as the user-defined parameters
//! `COMMONS_SOURCE`, `COMMONS_RMS_KM`, `COMMONS_N_OBSERVATIONS` and `COMMONS_SPAN_DAYS`.
//!
//! SGP4-XP (EPHEMERIS_TYPE 4): its BTERM and AGOM (m²/kg) travel in the estimate's `bstar`
//! and `mean_motion_ddot` fields, the columns TLE uses for them; read `ephemeris_type`
//! before treating those fields as B* and n̈/6.

mod json;
mod kvn;
mod xml;

use protocol::ids::{ObjectId, MAX_CATALOG_NUMBER};
use protocol::records::{Covariance, CovarianceFrame, OrbitEstimate, Quality};
use protocol::time::Epoch;

use super::numbers::{epoch_is_writable, format_ccsds_epoch, format_real, parse_real, parse_unsigned};
use super::{ElementSet, FormatError, ReadOutcome, UNKNOWN};

pub use json::{format_json, parse_json, read_json, write_json};
pub use kvn::{format_kvn, parse_kvn, read_kvn, write_kvn};
pub use xml::{format_xml, parse_xml, read_xml, write_xml};

/// One OMM: header, metadata and data, as the message states them.
#[derive(Debug, Clone, PartialEq)]
pub struct Omm {
    /// CCSDS_OMM_VERS (`2.0`, `3.0`); `None` for JSON and CSV records that omit it.
    pub version: Option<String>,
    pub header: OmmHeader,
    pub metadata: OmmMetadata,
    pub mean_elements: MeanElements,
    pub spacecraft: SpacecraftParameters,
    pub tle_parameters: Option<TleParameters>,
    pub covariance: Option<OmmCovariance>,
    /// USER_DEFINED_x parameters: (x, value), in message order.
    pub user_defined: Vec<(String, String)>,
    /// COMMENT lines of the data sections, in order.
    pub data_comments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OmmHeader {
    pub comments: Vec<String>,
    /// CLASSIFICATION (OMM version 3).
    pub classification: Option<String>,
    /// CREATION_DATE; `None` when empty or absent.
    pub creation_date: Option<Epoch>,
    /// ORIGINATOR; `None` when empty or absent.
    pub originator: Option<String>,
    pub message_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OmmMetadata {
    pub comments: Vec<String>,
    pub object_name: String,
    /// OBJECT_ID (COSPAR designator); `None` when the message says `UNKNOWN`.
    pub object_id: Option<String>,
    pub center_name: String,
    pub ref_frame: String,
    pub ref_frame_epoch: Option<String>,
    pub time_system: String,
    pub mean_element_theory: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MeanElements {
    pub epoch: Epoch,
    /// MEAN_MOTION, rev/day (one of this and `semi_major_axis_km` is present).
    pub mean_motion_rev_per_day: Option<f64>,
    /// SEMI_MAJOR_AXIS, km.
    pub semi_major_axis_km: Option<f64>,
    pub eccentricity: f64,
    pub inclination_deg: f64,
    pub ra_of_asc_node_deg: f64,
    pub arg_of_pericenter_deg: f64,
    pub mean_anomaly_deg: f64,
    /// GM, km³/s².
    pub gm_km3_per_s2: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpacecraftParameters {
    pub mass_kg: Option<f64>,
    pub solar_rad_area_m2: Option<f64>,
    pub solar_rad_coeff: Option<f64>,
    pub drag_area_m2: Option<f64>,
    pub drag_coeff: Option<f64>,
}

/// The TLE-related parameters section.
#[derive(Debug, Clone, PartialEq)]
pub struct TleParameters {
    /// EPHEMERIS_TYPE (the standard's default is 0).
    pub ephemeris_type: Option<u8>,
    /// CLASSIFICATION_TYPE (the standard's default is U).
    pub classification_type: Option<char>,
    pub norad_cat_id: Option<u32>,
    pub element_set_no: Option<u32>,
    pub rev_at_epoch: Option<u32>,
    /// BSTAR, 1/Earth radii (SGP4).
    pub bstar: Option<f64>,
    /// BTERM, m²/kg (SGP4-XP).
    pub bterm_m2_per_kg: Option<f64>,
    /// MEAN_MOTION_DOT, rev/day².
    pub mean_motion_dot: f64,
    /// MEAN_MOTION_DDOT, rev/day³ (SGP4).
    pub mean_motion_ddot: Option<f64>,
    /// AGOM, m²/kg (SGP4-XP).
    pub agom_m2_per_kg: Option<f64>,
}

/// The position-velocity covariance: lower triangle by rows (CX_X, CY_X, CY_Y, ...,
/// CZ_DOT_Z_DOT), km², km²/s and km²/s².
#[derive(Debug, Clone, PartialEq)]
pub struct OmmCovariance {
    /// COV_REF_FRAME; `None` means the metadata's REF_FRAME.
    pub ref_frame: Option<String>,
    pub lower_triangle: [f64; 21],
}

/// The covariance keywords, in lower-triangle order.
pub const COVARIANCE_KEYWORDS: [&str; 21] = [
    "CX_X",
    "CY_X",
    "CY_Y",
    "CZ_X",
    "CZ_Y",
    "CZ_Z",
    "CX_DOT_X",
    "CX_DOT_Y",
    "CX_DOT_Z",
    "CX_DOT_X_DOT",
    "CY_DOT_X",
    "CY_DOT_Y",
    "CY_DOT_Z",
    "CY_DOT_X_DOT",
    "CY_DOT_Y_DOT",
    "CZ_DOT_X",
    "CZ_DOT_Y",
    "CZ_DOT_Z",
    "CZ_DOT_X_DOT",
    "CZ_DOT_Y_DOT",
    "CZ_DOT_Z_DOT",
];

/// User-defined parameters that carry the estimate fields OMM has no keyword for.
const USER_SOURCE: &str = "COMMONS_SOURCE";
const USER_RMS_KM: &str = "COMMONS_RMS_KM";
const USER_N_OBSERVATIONS: &str = "COMMONS_N_OBSERVATIONS";
const USER_SPAN_DAYS: &str = "COMMONS_SPAN_DAYS";

/// The OMM version this module writes.
pub const WRITTEN_VERSION: &str = "3.0";

/// Why an [`Omm`] is not an SGP4 element set, or an element set has no OMM form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{keyword}: {reason}")]
pub struct OmmConversionError {
    pub keyword: String,
    pub reason: String,
}

fn conversion_error(keyword: &str, reason: impl Into<String>) -> OmmConversionError {
    OmmConversionError { keyword: keyword.to_owned(), reason: reason.into() }
}

/// Header fields for written messages, which an element set does not carry.
#[derive(Debug, Clone, PartialEq)]
pub struct OmmHeaderFields {
    pub creation_date: Epoch,
    pub originator: String,
}

/// Written as ORIGINATOR when no other is given.
pub const DEFAULT_ORIGINATOR: &str = "ORBITAL COMMONS";

impl OmmHeaderFields {
    /// The current time and [`DEFAULT_ORIGINATOR`].
    pub fn now() -> Self {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Self { creation_date: Epoch::from_micros(micros), originator: DEFAULT_ORIGINATOR.into() }
    }
}

fn is_sgp4_xp(theory: &str) -> bool {
    matches!(theory.trim().to_ascii_uppercase().as_str(), "SGP4-XP" | "SGP4XP")
}

fn is_sgp4(theory: &str) -> bool {
    matches!(theory.trim().to_ascii_uppercase().as_str(), "SGP4" | "SGP/SGP4")
}

impl Omm {
    /// The SGP4 element set this message holds, or why it holds none.
    pub fn to_element_set(&self) -> Result<ElementSet, OmmConversionError> {
        let metadata = &self.metadata;
        let theory = metadata.mean_element_theory.as_str();
        let xp = is_sgp4_xp(theory);
        if !xp && !is_sgp4(theory) {
            return Err(conversion_error(
                "MEAN_ELEMENT_THEORY",
                format!(
                    "{theory:?} is not SGP4 (or SGP/SGP4, SGP4-XP): only SGP4 mean elements are element sets"
                ),
            ));
        }
        let expect = |keyword: &str, value: &str, wanted: &str| {
            if value.trim().eq_ignore_ascii_case(wanted) {
                Ok(())
            } else {
                Err(conversion_error(keyword, format!("{value:?}: SGP4 elements are {wanted}")))
            }
        };
        expect("CENTER_NAME", &metadata.center_name, "EARTH")?;
        expect("REF_FRAME", &metadata.ref_frame, "TEME")?;
        expect("TIME_SYSTEM", &metadata.time_system, "UTC")?;
        let elements = &self.mean_elements;
        let mean_motion_rev_per_day = elements.mean_motion_rev_per_day.ok_or_else(|| {
            conversion_error(
                "MEAN_MOTION",
                "missing: SGP4 elements carry MEAN_MOTION (SEMI_MAJOR_AXIS alone is not enough)",
            )
        })?;
        let tle = self.tle_parameters.as_ref().ok_or_else(|| {
            conversion_error("NORAD_CAT_ID", "missing, with the other TLE parameters SGP4 elements need")
        })?;
        let norad = tle.norad_cat_id.ok_or_else(|| {
            conversion_error("NORAD_CAT_ID", "missing: an element set needs a catalogue number")
        })?;
        let ephemeris_type = tle.ephemeris_type.unwrap_or(0);
        if xp != (ephemeris_type == 4) {
            return Err(conversion_error(
                "EPHEMERIS_TYPE",
                format!("{ephemeris_type} with MEAN_ELEMENT_THEORY {theory:?}: SGP4-XP is EPHEMERIS_TYPE 4, and only it"),
            ));
        }
        let (drag, drag_keyword, second, second_keyword, unwanted) = if xp {
            (
                tle.bterm_m2_per_kg,
                "BTERM",
                tle.agom_m2_per_kg,
                "AGOM",
                [("BSTAR", tle.bstar), ("MEAN_MOTION_DDOT", tle.mean_motion_ddot)],
            )
        } else {
            (
                tle.bstar,
                "BSTAR",
                tle.mean_motion_ddot,
                "MEAN_MOTION_DDOT",
                [("BTERM", tle.bterm_m2_per_kg), ("AGOM", tle.agom_m2_per_kg)],
            )
        };
        if let Some((keyword, _)) = unwanted.iter().find(|(_, value)| value.is_some()) {
            return Err(conversion_error(
                keyword,
                format!("does not belong with EPHEMERIS_TYPE {ephemeris_type} ({drag_keyword} and {second_keyword} do)"),
            ));
        }
        let bstar = drag
            .ok_or_else(|| conversion_error(drag_keyword, format!("missing: {theory} elements need it")))?;
        let mean_motion_ddot = second
            .ok_or_else(|| conversion_error(second_keyword, format!("missing: {theory} elements need it")))?;
        let covariance = self.covariance.as_ref().map(|c| self.covariance_of(c).map(Box::new)).transpose()?;
        let (source, quality) = self.commons_user_parameters()?;
        let estimate = OrbitEstimate {
            object: ObjectId::Norad(norad),
            epoch: elements.epoch,
            mean_motion_rev_per_day,
            eccentricity: elements.eccentricity,
            inclination_deg: elements.inclination_deg,
            ra_of_asc_node_deg: elements.ra_of_asc_node_deg,
            arg_of_pericenter_deg: elements.arg_of_pericenter_deg,
            mean_anomaly_deg: elements.mean_anomaly_deg,
            bstar,
            mean_motion_dot: tle.mean_motion_dot,
            mean_motion_ddot,
            ephemeris_type,
            classification: tle.classification_type.unwrap_or('U'),
            element_set_no: tle.element_set_no.unwrap_or(0),
            rev_at_epoch: tle.rev_at_epoch.unwrap_or(0),
            covariance,
            quality,
            source,
        };
        Ok(ElementSet {
            estimate,
            name: Some(metadata.object_name.clone()),
            cospar_id: metadata.object_id.clone(),
        })
    }

    fn covariance_of(&self, covariance: &OmmCovariance) -> Result<Covariance, OmmConversionError> {
        let frame_name = covariance.ref_frame.as_deref().unwrap_or(&self.metadata.ref_frame);
        let frame = match frame_name.trim().to_ascii_uppercase().as_str() {
            "TEME" => CovarianceFrame::Teme,
            "RTN" | "RSW" => CovarianceFrame::Rtn,
            _ => {
                return Err(conversion_error(
                    "COV_REF_FRAME",
                    format!("{frame_name:?}: only TEME and RTN (RSW) covariances are kept"),
                ))
            }
        };
        Ok(Covariance { frame, lower_triangle: covariance.lower_triangle })
    }

    fn commons_user_parameters(&self) -> Result<(String, Option<Quality>), OmmConversionError> {
        let find = |name: &str| self.user_defined.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        let keyword = |name: &str| format!("USER_DEFINED_{name}");
        let real = |name: &str| {
            find(name)
                .map(|v| {
                    parse_real(v)
                        .ok_or_else(|| conversion_error(&keyword(name), format!("{v:?} is not a number")))
                })
                .transpose()
        };
        let rms_km = real(USER_RMS_KM)?;
        let span_days = real(USER_SPAN_DAYS)?;
        let n_observations = find(USER_N_OBSERVATIONS)
            .map(|v| {
                parse_unsigned(v).and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
                    conversion_error(&keyword(USER_N_OBSERVATIONS), format!("{v:?} is not a count"))
                })
            })
            .transpose()?;
        let quality = (rms_km.is_some() || span_days.is_some() || n_observations.is_some())
            .then_some(Quality { rms_km, n_observations, span_days });
        Ok((find(USER_SOURCE).unwrap_or("").to_owned(), quality))
    }

    /// The message for an element set. Fails for what OMM cannot say: a provisional id (no
    /// NORAD_CAT_ID), non-finite numbers, an epoch outside 1957–2200. A quality with no field
    /// set writes nothing (and so reads back as no quality).
    pub fn from_element_set(set: &ElementSet, header: &OmmHeaderFields) -> Result<Omm, OmmConversionError> {
        let e = &set.estimate;
        let norad = e.object.norad().ok_or_else(|| {
            conversion_error("NORAD_CAT_ID", "a provisional id has no NORAD_CAT_ID; OMM cannot carry it")
        })?;
        let finite = |keyword: &str, value: f64| {
            if value.is_finite() {
                Ok(value)
            } else {
                Err(conversion_error(keyword, format!("{value} is not a finite number")))
            }
        };
        if !epoch_is_writable(e.epoch) {
            return Err(conversion_error("EPOCH", format!("{} is outside 1957-2200", e.epoch)));
        }
        let xp = e.ephemeris_type == 4;
        let bstar = finite(if xp { "BTERM" } else { "BSTAR" }, e.bstar)?;
        let ddot = finite(if xp { "AGOM" } else { "MEAN_MOTION_DDOT" }, e.mean_motion_ddot)?;
        let covariance = match &e.covariance {
            Some(c) => {
                for (keyword, value) in COVARIANCE_KEYWORDS.iter().zip(c.lower_triangle) {
                    finite(keyword, value)?;
                }
                let frame = match c.frame {
                    CovarianceFrame::Teme => "TEME",
                    CovarianceFrame::Rtn => "RTN",
                };
                Some(OmmCovariance { ref_frame: Some(frame.into()), lower_triangle: c.lower_triangle })
            }
            None => None,
        };
        let mut user_defined = Vec::new();
        if !e.source.is_empty() {
            user_defined.push((USER_SOURCE.to_owned(), e.source.clone()));
        }
        if let Some(quality) = &e.quality {
            if let Some(rms) = quality.rms_km {
                user_defined
                    .push((USER_RMS_KM.to_owned(), format_real(finite("USER_DEFINED_COMMONS_RMS_KM", rms)?)));
            }
            if let Some(n) = quality.n_observations {
                user_defined.push((USER_N_OBSERVATIONS.to_owned(), n.to_string()));
            }
            if let Some(span) = quality.span_days {
                user_defined.push((
                    USER_SPAN_DAYS.to_owned(),
                    format_real(finite("USER_DEFINED_COMMONS_SPAN_DAYS", span)?),
                ));
            }
        }
        Ok(Omm {
            version: Some(WRITTEN_VERSION.into()),
            header: OmmHeader {
                comments: Vec::new(),
                classification: None,
                creation_date: Some(header.creation_date),
                originator: Some(header.originator.clone()),
                message_id: None,
            },
            metadata: OmmMetadata {
                comments: Vec::new(),
                object_name: set
                    .name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| UNKNOWN.into()),
                object_id: set.cospar_id.clone().filter(|c| !c.trim().is_empty()),
                center_name: "EARTH".into(),
                ref_frame: "TEME".into(),
                ref_frame_epoch: None,
                time_system: "UTC".into(),
                mean_element_theory: if xp { "SGP4-XP" } else { "SGP4" }.into(),
            },
            mean_elements: MeanElements {
                epoch: e.epoch,
                mean_motion_rev_per_day: Some(finite("MEAN_MOTION", e.mean_motion_rev_per_day)?),
                semi_major_axis_km: None,
                eccentricity: finite("ECCENTRICITY", e.eccentricity)?,
                inclination_deg: finite("INCLINATION", e.inclination_deg)?,
                ra_of_asc_node_deg: finite("RA_OF_ASC_NODE", e.ra_of_asc_node_deg)?,
                arg_of_pericenter_deg: finite("ARG_OF_PERICENTER", e.arg_of_pericenter_deg)?,
                mean_anomaly_deg: finite("MEAN_ANOMALY", e.mean_anomaly_deg)?,
                gm_km3_per_s2: None,
            },
            spacecraft: SpacecraftParameters::default(),
            tle_parameters: Some(TleParameters {
                ephemeris_type: Some(e.ephemeris_type),
                classification_type: Some(e.classification),
                norad_cat_id: Some(norad),
                element_set_no: Some(e.element_set_no),
                rev_at_epoch: Some(e.rev_at_epoch),
                bstar: (!xp).then_some(bstar),
                bterm_m2_per_kg: xp.then_some(bstar),
                mean_motion_dot: finite("MEAN_MOTION_DOT", e.mean_motion_dot)?,
                mean_motion_ddot: (!xp).then_some(ddot),
                agom_m2_per_kg: xp.then_some(ddot),
            }),
            covariance,
            user_defined,
            data_comments: Vec::new(),
        })
    }
}

/// Where a keyword belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Section {
    Header,
    Metadata,
    MeanElements,
    Spacecraft,
    TleParameters,
    Covariance,
    UserDefined,
}

/// Sections in a message.
const SECTION_COUNT: usize = 7;

impl Section {
    fn index(self) -> usize {
        self as usize
    }

    /// Header, metadata and data follow one another in a message.
    fn rank(self) -> u8 {
        match self {
            Section::Header => 0,
            Section::Metadata => 1,
            _ => 2,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Section::Header => "header",
            Section::Metadata => "metadata",
            Section::MeanElements => "mean elements",
            Section::Spacecraft => "spacecraft parameters",
            Section::TleParameters => "TLE parameters",
            Section::Covariance => "covariance matrix",
            Section::UserDefined => "user-defined parameters",
        }
    }
}

/// Every OMM keyword (USER_DEFINED_x aside) with its section, in the standard's order.
const OMM_KEYWORDS: [(&str, Section); 58] = {
    use Section::*;
    [
        ("CCSDS_OMM_VERS", Header),
        ("CLASSIFICATION", Header),
        ("CREATION_DATE", Header),
        ("ORIGINATOR", Header),
        ("MESSAGE_ID", Header),
        ("OBJECT_NAME", Metadata),
        ("OBJECT_ID", Metadata),
        ("CENTER_NAME", Metadata),
        ("REF_FRAME", Metadata),
        ("REF_FRAME_EPOCH", Metadata),
        ("TIME_SYSTEM", Metadata),
        ("MEAN_ELEMENT_THEORY", Metadata),
        ("EPOCH", MeanElements),
        ("SEMI_MAJOR_AXIS", MeanElements),
        ("MEAN_MOTION", MeanElements),
        ("ECCENTRICITY", MeanElements),
        ("INCLINATION", MeanElements),
        ("RA_OF_ASC_NODE", MeanElements),
        ("ARG_OF_PERICENTER", MeanElements),
        ("MEAN_ANOMALY", MeanElements),
        ("GM", MeanElements),
        ("MASS", Spacecraft),
        ("SOLAR_RAD_AREA", Spacecraft),
        ("SOLAR_RAD_COEFF", Spacecraft),
        ("DRAG_AREA", Spacecraft),
        ("DRAG_COEFF", Spacecraft),
        ("EPHEMERIS_TYPE", TleParameters),
        ("CLASSIFICATION_TYPE", TleParameters),
        ("NORAD_CAT_ID", TleParameters),
        ("ELEMENT_SET_NO", TleParameters),
        ("REV_AT_EPOCH", TleParameters),
        ("BSTAR", TleParameters),
        ("BTERM", TleParameters),
        ("MEAN_MOTION_DOT", TleParameters),
        ("MEAN_MOTION_DDOT", TleParameters),
        ("AGOM", TleParameters),
        ("COV_REF_FRAME", Covariance),
        ("CX_X", Covariance),
        ("CY_X", Covariance),
        ("CY_Y", Covariance),
        ("CZ_X", Covariance),
        ("CZ_Y", Covariance),
        ("CZ_Z", Covariance),
        ("CX_DOT_X", Covariance),
        ("CX_DOT_Y", Covariance),
        ("CX_DOT_Z", Covariance),
        ("CX_DOT_X_DOT", Covariance),
        ("CY_DOT_X", Covariance),
        ("CY_DOT_Y", Covariance),
        ("CY_DOT_Z", Covariance),
        ("CY_DOT_X_DOT", Covariance),
        ("CY_DOT_Y_DOT", Covariance),
        ("CZ_DOT_X", Covariance),
        ("CZ_DOT_Y", Covariance),
        ("CZ_DOT_Z", Covariance),
        ("CZ_DOT_X_DOT", Covariance),
        ("CZ_DOT_Y_DOT", Covariance),
        ("CZ_DOT_Z_DOT", Covariance),
    ]
};

/// The position of a keyword in [`OMM_KEYWORDS`].
fn keyword_index(keyword: &str) -> Option<usize> {
    OMM_KEYWORDS.iter().position(|(k, _)| k.len() == keyword.len() && *k == keyword)
}

/// Fields Space-Track's GP class adds to OMM keywords in JSON and CSV; ignored.
const SPACE_TRACK_EXTRAS: &[&str] = &[
    "SEMIMAJOR_AXIS",
    "PERIOD",
    "APOAPSIS",
    "PERIAPSIS",
    "OBJECT_TYPE",
    "RCS_SIZE",
    "COUNTRY_CODE",
    "LAUNCH_DATE",
    "SITE",
    "DECAY_DATE",
    "FILE",
    "GP_ID",
    "TLE_LINE0",
    "TLE_LINE1",
    "TLE_LINE2",
];

/// The encoding a message came in, which decides a few rules (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Kvn,
    Xml,
    Json,
    Csv,
}

impl Dialect {
    /// JSON and CSV records are flat OMM keywords without header or full metadata.
    fn is_flat(self) -> bool {
        matches!(self, Dialect::Json | Dialect::Csv)
    }
}

#[derive(Debug, Clone)]
struct RawEntry {
    value: String,
    line: usize,
}

/// Lines of a message's keywords, to point errors found after parsing at the right line.
#[derive(Debug, Clone)]
pub(crate) struct KeywordLines {
    start: usize,
    /// By [`OMM_KEYWORDS`] index; 0 when absent.
    keywords: [usize; OMM_KEYWORDS.len()],
    user_defined: Vec<(String, usize)>,
    /// First line of each section, by [`Section::index`]; 0 when absent.
    sections: [usize; SECTION_COUNT],
}

impl KeywordLines {
    fn new(start: usize) -> Self {
        Self {
            start,
            keywords: [0; OMM_KEYWORDS.len()],
            user_defined: Vec::new(),
            sections: [0; SECTION_COUNT],
        }
    }

    /// The keyword's line, else its section's, else the message's first.
    fn line_of(&self, keyword: &str) -> usize {
        let nonzero = |line: Option<&usize>| line.copied().filter(|l| *l != 0);
        if let Some(name) = keyword.strip_prefix("USER_DEFINED_") {
            return self.user_defined.iter().find(|(n, _)| n == name).map_or(self.start, |(_, line)| *line);
        }
        let Some(index) = keyword_index(keyword) else { return self.start };
        let section = OMM_KEYWORDS.get(index).map(|(_, s)| s.index());
        nonzero(self.keywords.get(index))
            .or_else(|| section.and_then(|s| nonzero(self.sections.get(s))))
            .unwrap_or(self.start)
    }

    fn open(&mut self, section: Section, line: usize) {
        if let Some(first) = self.sections.get_mut(section.index()) {
            if *first == 0 {
                *first = line;
            }
        }
    }
}

/// Collects one message's keywords (from any encoding) and checks them into an [`Omm`].
pub(crate) struct OmmBuilder<'a> {
    file: &'a str,
    dialect: Dialect,
    /// By [`OMM_KEYWORDS`] index.
    raw: [Option<RawEntry>; OMM_KEYWORDS.len()],
    user_defined: Vec<(String, RawEntry)>,
    header_comments: Vec<String>,
    metadata_comments: Vec<String>,
    data_comments: Vec<String>,
    /// KVN comments wait for the next keyword to know their section.
    pending_comments: Vec<String>,
    furthest_rank: u8,
    lines: KeywordLines,
    first_error: Option<FormatError>,
}

impl<'a> OmmBuilder<'a> {
    pub(crate) fn new(file: &'a str, dialect: Dialect, start_line: usize) -> Self {
        Self {
            file,
            dialect,
            raw: std::array::from_fn(|_| None),
            user_defined: Vec::new(),
            header_comments: Vec::new(),
            metadata_comments: Vec::new(),
            data_comments: Vec::new(),
            pending_comments: Vec::new(),
            furthest_rank: 0,
            lines: KeywordLines::new(start_line),
            first_error: None,
        }
    }

    /// Records the first problem; the message keeps being read so that the error can name
    /// its object, but it will not be converted.
    pub(crate) fn fail(&mut self, line: usize, keyword: &str, reason: impl Into<String>) {
        if self.first_error.is_none() {
            self.first_error = Some(FormatError::new(self.file, line, None, keyword, reason));
        }
    }

    /// XML: a section's element starts at this line (for errors about keywords it lacks).
    pub(crate) fn open_section(&mut self, section: Section, line: usize) {
        self.lines.open(section, line);
    }

    /// A comment whose section is known (XML), or `None` to attach it to the next keyword's
    /// section (KVN).
    pub(crate) fn comment(&mut self, section: Option<Section>, text: &str) {
        let text = text.to_owned();
        match section {
            Some(Section::Header) => self.header_comments.push(text),
            Some(Section::Metadata) => self.metadata_comments.push(text),
            Some(_) => self.data_comments.push(text),
            None => self.pending_comments.push(text),
        }
    }

    /// One `KEYWORD = value`. In XML, `container` is the section of the element holding it,
    /// which the keyword must belong to.
    pub(crate) fn entry(&mut self, keyword: &str, value: &str, line: usize, container: Option<Section>) {
        if let Some(name) = keyword.strip_prefix("USER_DEFINED_") {
            if name.is_empty() {
                return self.fail(line, keyword, "a user-defined parameter needs a name");
            }
            if container.is_some_and(|c| c != Section::UserDefined) {
                return self.fail(line, keyword, "user-defined parameters belong in <userDefinedParameters>");
            }
            if self.user_defined.iter().any(|(n, _)| n == name) {
                return self.fail(line, keyword, "appears twice in one message");
            }
            self.flush_comments(Section::UserDefined);
            self.furthest_rank = 2;
            self.user_defined.push((name.to_owned(), RawEntry { value: value.to_owned(), line }));
            self.lines.user_defined.push((name.to_owned(), line));
            return;
        }
        let Some(index) = keyword_index(keyword) else {
            if self.dialect.is_flat() && SPACE_TRACK_EXTRAS.contains(&keyword) {
                return;
            }
            if self.dialect.is_flat() && keyword == "COMMENT" {
                self.header_comments.push(value.to_owned());
                return;
            }
            return self.fail(line, keyword, "not an OMM keyword");
        };
        let Some(&(keyword, section)) = OMM_KEYWORDS.get(index) else { return };
        if let Some(container) = container {
            if container != section {
                return self.fail(
                    line,
                    keyword,
                    format!("belongs in the {}, not in the {}", section.describe(), container.describe()),
                );
            }
        }
        if self.dialect == Dialect::Kvn && section.rank() < self.furthest_rank {
            return self.fail(
                line,
                keyword,
                format!(
                    "a {} keyword after the {} began: each message has one header, one metadata block \
                     and one data block, in that order",
                    section.describe(),
                    if self.furthest_rank == 1 { "metadata" } else { "data" }
                ),
            );
        }
        if let Some(Some(previous)) = self.raw.get(index) {
            let first = previous.line;
            return self.fail(line, keyword, format!("appears twice in one message (first on line {first})"));
        }
        self.furthest_rank = self.furthest_rank.max(section.rank());
        self.flush_comments(section);
        self.lines.open(section, line);
        if let Some(slot) = self.lines.keywords.get_mut(index) {
            *slot = line;
        }
        if let Some(slot) = self.raw.get_mut(index) {
            *slot = Some(RawEntry { value: value.to_owned(), line });
        }
    }

    fn flush_comments(&mut self, section: Section) {
        if self.pending_comments.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending_comments);
        match section {
            Section::Header => self.header_comments.extend(pending),
            Section::Metadata => self.metadata_comments.extend(pending),
            _ => self.data_comments.extend(pending),
        }
    }

    fn raw_entry(&self, keyword: &str) -> Option<&RawEntry> {
        keyword_index(keyword).and_then(|i| self.raw.get(i)).and_then(Option::as_ref)
    }

    /// A label for errors: the catalogue number if the message gives one, else its name.
    fn object_label(&self) -> Option<String> {
        ["NORAD_CAT_ID", "OBJECT_NAME"]
            .iter()
            .filter_map(|k| self.raw_entry(k))
            .map(|r| r.value.trim())
            .find(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// Checks the collected keywords into a message.
    pub(crate) fn finish(mut self) -> Result<(Omm, KeywordLines), FormatError> {
        let object = self.object_label();
        if let Some(mut error) = self.first_error.take() {
            error.object = object;
            return Err(error);
        }
        let pending = std::mem::take(&mut self.pending_comments);
        self.data_comments.extend(pending);
        let checker = Checker { builder: &self, object: object.clone() };
        let omm = checker.build()?;
        Ok((omm, self.lines))
    }
}

/// Typed reading of the raw keyword values, with errors that name line and keyword.
struct Checker<'b, 'a> {
    builder: &'b OmmBuilder<'a>,
    object: Option<String>,
}

impl Checker<'_, '_> {
    fn error(&self, line: usize, keyword: &str, reason: impl Into<String>) -> FormatError {
        FormatError::new(self.builder.file, line, self.object.clone(), keyword, reason)
    }

    fn raw(&self, keyword: &str) -> Option<&RawEntry> {
        self.builder.raw_entry(keyword)
    }

    /// A mandatory value: present and not empty.
    fn mandatory(&self, keyword: &str) -> Result<(&str, usize), FormatError> {
        match self.raw(keyword) {
            None => {
                Err(self.error(self.builder.lines.line_of(keyword), keyword, "mandatory keyword missing"))
            }
            Some(raw) if raw.value.trim().is_empty() => {
                Err(self.error(raw.line, keyword, "mandatory value is empty"))
            }
            Some(raw) => Ok((raw.value.trim(), raw.line)),
        }
    }

    /// A mandatory value in the standard that may nonetheless be empty (see module docs).
    fn present(&self, keyword: &str) -> Result<Option<(&str, usize)>, FormatError> {
        match self.raw(keyword) {
            None => {
                Err(self.error(self.builder.lines.line_of(keyword), keyword, "mandatory keyword missing"))
            }
            Some(raw) => Ok(Some((raw.value.trim(), raw.line)).filter(|(v, _)| !v.is_empty())),
        }
    }

    fn optional(&self, keyword: &str) -> Option<(&str, usize)> {
        self.raw(keyword).map(|r| (r.value.trim(), r.line)).filter(|(v, _)| !v.is_empty())
    }

    fn text_or_default(&self, keyword: &str, default: &str) -> Result<String, FormatError> {
        if self.builder.dialect.is_flat() {
            Ok(self.optional(keyword).map_or(default, |(v, _)| v).to_owned())
        } else {
            self.mandatory(keyword).map(|(v, _)| v.to_owned())
        }
    }

    fn real_of(&self, keyword: &str, (value, line): (&str, usize)) -> Result<f64, FormatError> {
        parse_real(value).ok_or_else(|| self.error(line, keyword, format!("{value:?} is not a number")))
    }

    fn real(&self, keyword: &str) -> Result<f64, FormatError> {
        self.real_of(keyword, self.mandatory(keyword)?)
    }

    fn optional_real(&self, keyword: &str) -> Result<Option<f64>, FormatError> {
        self.optional(keyword).map(|found| self.real_of(keyword, found)).transpose()
    }

    fn optional_unsigned(&self, keyword: &str, max: u64) -> Result<Option<u64>, FormatError> {
        self.optional(keyword)
            .map(|(value, line)| {
                parse_unsigned(value).filter(|n| *n <= max).ok_or_else(|| {
                    self.error(line, keyword, format!("{value:?} is not a whole number from 0 to {max}"))
                })
            })
            .transpose()
    }

    fn epoch_of(&self, keyword: &str, (value, line): (&str, usize)) -> Result<Epoch, FormatError> {
        Epoch::parse_iso(value).map_err(|e| self.error(line, keyword, e.to_string()))
    }

    fn build(&self) -> Result<Omm, FormatError> {
        let flat = self.builder.dialect.is_flat();
        let version = if flat {
            self.optional("CCSDS_OMM_VERS").map(|(v, _)| v.to_owned())
        } else {
            Some(self.mandatory("CCSDS_OMM_VERS")?.0.to_owned())
        };
        let (creation_date, originator) = if flat {
            (self.optional("CREATION_DATE"), self.optional("ORIGINATOR"))
        } else {
            (self.present("CREATION_DATE")?, self.present("ORIGINATOR")?)
        };
        let header = OmmHeader {
            comments: self.builder.header_comments.clone(),
            classification: self.optional("CLASSIFICATION").map(|(v, _)| v.to_owned()),
            creation_date: creation_date.map(|found| self.epoch_of("CREATION_DATE", found)).transpose()?,
            originator: originator.map(|(v, _)| v.to_owned()),
            message_id: self.optional("MESSAGE_ID").map(|(v, _)| v.to_owned()),
        };
        let object_id = self.mandatory("OBJECT_ID")?.0;
        let metadata = OmmMetadata {
            comments: self.builder.metadata_comments.clone(),
            object_name: self.mandatory("OBJECT_NAME")?.0.to_owned(),
            object_id: (!object_id.eq_ignore_ascii_case(UNKNOWN)).then(|| object_id.to_owned()),
            center_name: self.text_or_default("CENTER_NAME", "EARTH")?,
            ref_frame: self.text_or_default("REF_FRAME", "TEME")?,
            ref_frame_epoch: self.optional("REF_FRAME_EPOCH").map(|(v, _)| v.to_owned()),
            time_system: self.text_or_default("TIME_SYSTEM", "UTC")?,
            mean_element_theory: self.text_or_default("MEAN_ELEMENT_THEORY", "SGP4")?,
        };
        let mean_motion_rev_per_day = self.optional_real("MEAN_MOTION")?;
        let semi_major_axis_km = self.optional_real("SEMI_MAJOR_AXIS")?;
        match (mean_motion_rev_per_day, semi_major_axis_km) {
            (None, None) => {
                let (keyword, raw) = [
                    ("MEAN_MOTION", self.raw("MEAN_MOTION")),
                    ("SEMI_MAJOR_AXIS", self.raw("SEMI_MAJOR_AXIS")),
                ]
                .into_iter()
                .find(|(_, raw)| raw.is_some())
                .unwrap_or(("MEAN_MOTION", None));
                return Err(match raw {
                    Some(raw) => self.error(raw.line, keyword, "mandatory value is empty"),
                    None => self.error(
                        self.builder.lines.line_of("MEAN_MOTION"),
                        "MEAN_MOTION",
                        "mandatory keyword missing (or SEMI_MAJOR_AXIS)",
                    ),
                });
            }
            (Some(_), Some(_)) => {
                let line = self.builder.lines.line_of("SEMI_MAJOR_AXIS");
                return Err(self.error(
                    line,
                    "SEMI_MAJOR_AXIS",
                    "given with MEAN_MOTION: a message has one of them",
                ));
            }
            _ => {}
        }
        let epoch = self.epoch_of("EPOCH", self.mandatory("EPOCH")?)?;
        let mean_elements = MeanElements {
            epoch,
            mean_motion_rev_per_day,
            semi_major_axis_km,
            eccentricity: self.real("ECCENTRICITY")?,
            inclination_deg: self.real("INCLINATION")?,
            ra_of_asc_node_deg: self.real("RA_OF_ASC_NODE")?,
            arg_of_pericenter_deg: self.real("ARG_OF_PERICENTER")?,
            mean_anomaly_deg: self.real("MEAN_ANOMALY")?,
            gm_km3_per_s2: self.optional_real("GM")?,
        };
        if !(0.0..1.0).contains(&mean_elements.eccentricity) {
            let line = self.builder.lines.line_of("ECCENTRICITY");
            return Err(self.error(
                line,
                "ECCENTRICITY",
                format!("{} is not in [0, 1)", mean_elements.eccentricity),
            ));
        }
        let spacecraft = SpacecraftParameters {
            mass_kg: self.optional_real("MASS")?,
            solar_rad_area_m2: self.optional_real("SOLAR_RAD_AREA")?,
            solar_rad_coeff: self.optional_real("SOLAR_RAD_COEFF")?,
            drag_area_m2: self.optional_real("DRAG_AREA")?,
            drag_coeff: self.optional_real("DRAG_COEFF")?,
        };
        let has_section = |section: Section| {
            self.builder.raw.iter().zip(OMM_KEYWORDS).any(|(raw, (_, s))| raw.is_some() && s == section)
        };
        let tle_parameters = if has_section(Section::TleParameters) {
            let classification_type = match self.optional("CLASSIFICATION_TYPE") {
                None => None,
                Some(("U", _)) => Some('U'),
                Some(("C", _)) => Some('C'),
                Some(("S", _)) => Some('S'),
                Some((other, line)) => {
                    return Err(self.error(
                        line,
                        "CLASSIFICATION_TYPE",
                        format!("{other:?} is not U, C or S"),
                    ))
                }
            };
            let narrow = |n: Option<u64>| n.and_then(|n| u32::try_from(n).ok());
            Some(TleParameters {
                ephemeris_type: self
                    .optional_unsigned("EPHEMERIS_TYPE", u64::from(u8::MAX))?
                    .and_then(|n| u8::try_from(n).ok()),
                classification_type,
                norad_cat_id: narrow(self.optional_unsigned("NORAD_CAT_ID", u64::from(MAX_CATALOG_NUMBER))?),
                element_set_no: narrow(self.optional_unsigned("ELEMENT_SET_NO", u64::from(u32::MAX))?),
                rev_at_epoch: narrow(self.optional_unsigned("REV_AT_EPOCH", u64::from(u32::MAX))?),
                bstar: self.optional_real("BSTAR")?,
                bterm_m2_per_kg: self.optional_real("BTERM")?,
                mean_motion_dot: self.real("MEAN_MOTION_DOT")?,
                mean_motion_ddot: self.optional_real("MEAN_MOTION_DDOT")?,
                agom_m2_per_kg: self.optional_real("AGOM")?,
            })
        } else {
            None
        };
        let covariance = if has_section(Section::Covariance) {
            let mut lower_triangle = [0.0; 21];
            for (slot, keyword) in lower_triangle.iter_mut().zip(COVARIANCE_KEYWORDS) {
                *slot = self.real(keyword)?;
            }
            Some(OmmCovariance {
                ref_frame: self.optional("COV_REF_FRAME").map(|(v, _)| v.to_owned()),
                lower_triangle,
            })
        } else {
            None
        };
        Ok(Omm {
            version,
            header,
            metadata,
            mean_elements,
            spacecraft,
            tle_parameters,
            covariance,
            user_defined: self
                .builder
                .user_defined
                .iter()
                .map(|(name, raw)| (name.clone(), raw.value.trim().to_owned()))
                .collect(),
            data_comments: self.builder.data_comments.clone(),
        })
    }
}

/// A value as the writers put it: text (quoted in JSON) or a number.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldValue {
    Text(String),
    Number(String),
}

impl FieldValue {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            FieldValue::Text(t) | FieldValue::Number(t) => t,
        }
    }
}

/// One keyword to write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    pub keyword: String,
    pub section: Section,
    pub value: FieldValue,
}

/// Every keyword of a message, in the standard's order (comments excluded).
pub(crate) fn fields(omm: &Omm) -> Vec<Field> {
    let mut out = Vec::with_capacity(48);
    let mut push = |keyword: &str, section: Section, value: FieldValue| {
        out.push(Field { keyword: keyword.to_owned(), section, value });
    };
    let text = |t: &str| FieldValue::Text(t.to_owned());
    let real = |v: f64| FieldValue::Number(format_real(v));
    let int = |v: u64| FieldValue::Number(v.to_string());
    use Section::*;
    if let Some(version) = &omm.version {
        push("CCSDS_OMM_VERS", Header, text(version));
    }
    if let Some(classification) = &omm.header.classification {
        push("CLASSIFICATION", Header, text(classification));
    }
    push(
        "CREATION_DATE",
        Header,
        text(&omm.header.creation_date.map(format_ccsds_epoch).unwrap_or_default()),
    );
    push("ORIGINATOR", Header, text(omm.header.originator.as_deref().unwrap_or("")));
    if let Some(id) = &omm.header.message_id {
        push("MESSAGE_ID", Header, text(id));
    }
    let m = &omm.metadata;
    push("OBJECT_NAME", Metadata, text(&m.object_name));
    push("OBJECT_ID", Metadata, text(m.object_id.as_deref().unwrap_or(UNKNOWN)));
    push("CENTER_NAME", Metadata, text(&m.center_name));
    push("REF_FRAME", Metadata, text(&m.ref_frame));
    if let Some(epoch) = &m.ref_frame_epoch {
        push("REF_FRAME_EPOCH", Metadata, text(epoch));
    }
    push("TIME_SYSTEM", Metadata, text(&m.time_system));
    push("MEAN_ELEMENT_THEORY", Metadata, text(&m.mean_element_theory));
    let e = &omm.mean_elements;
    push("EPOCH", MeanElements, text(&format_ccsds_epoch(e.epoch)));
    if let Some(a) = e.semi_major_axis_km {
        push("SEMI_MAJOR_AXIS", MeanElements, real(a));
    }
    if let Some(n) = e.mean_motion_rev_per_day {
        push("MEAN_MOTION", MeanElements, real(n));
    }
    push("ECCENTRICITY", MeanElements, real(e.eccentricity));
    push("INCLINATION", MeanElements, real(e.inclination_deg));
    push("RA_OF_ASC_NODE", MeanElements, real(e.ra_of_asc_node_deg));
    push("ARG_OF_PERICENTER", MeanElements, real(e.arg_of_pericenter_deg));
    push("MEAN_ANOMALY", MeanElements, real(e.mean_anomaly_deg));
    if let Some(gm) = e.gm_km3_per_s2 {
        push("GM", MeanElements, real(gm));
    }
    let s = &omm.spacecraft;
    for (keyword, value) in [
        ("MASS", s.mass_kg),
        ("SOLAR_RAD_AREA", s.solar_rad_area_m2),
        ("SOLAR_RAD_COEFF", s.solar_rad_coeff),
        ("DRAG_AREA", s.drag_area_m2),
        ("DRAG_COEFF", s.drag_coeff),
    ] {
        if let Some(v) = value {
            push(keyword, Spacecraft, real(v));
        }
    }
    if let Some(t) = &omm.tle_parameters {
        if let Some(v) = t.ephemeris_type {
            push("EPHEMERIS_TYPE", TleParameters, int(u64::from(v)));
        }
        if let Some(c) = t.classification_type {
            push("CLASSIFICATION_TYPE", TleParameters, text(&c.to_string()));
        }
        if let Some(v) = t.norad_cat_id {
            push("NORAD_CAT_ID", TleParameters, int(u64::from(v)));
        }
        if let Some(v) = t.element_set_no {
            push("ELEMENT_SET_NO", TleParameters, int(u64::from(v)));
        }
        if let Some(v) = t.rev_at_epoch {
            push("REV_AT_EPOCH", TleParameters, int(u64::from(v)));
        }
        if let Some(v) = t.bstar {
            push("BSTAR", TleParameters, real(v));
        }
        if let Some(v) = t.bterm_m2_per_kg {
            push("BTERM", TleParameters, real(v));
        }
        push("MEAN_MOTION_DOT", TleParameters, real(t.mean_motion_dot));
        if let Some(v) = t.mean_motion_ddot {
            push("MEAN_MOTION_DDOT", TleParameters, real(v));
        }
        if let Some(v) = t.agom_m2_per_kg {
            push("AGOM", TleParameters, real(v));
        }
    }
    if let Some(c) = &omm.covariance {
        if let Some(frame) = &c.ref_frame {
            push("COV_REF_FRAME", Covariance, text(frame));
        }
        for (keyword, value) in COVARIANCE_KEYWORDS.iter().zip(c.lower_triangle) {
            push(keyword, Covariance, real(value));
        }
    }
    for (name, value) in &omm.user_defined {
        push(&format!("USER_DEFINED_{name}"), UserDefined, text(value));
    }
    out
}

/// Converts parsed messages to element sets, pointing conversion errors at their lines.
pub(crate) fn outcome_from(
    messages: Vec<Result<(Omm, KeywordLines), FormatError>>,
    file: &str,
) -> ReadOutcome {
    let mut outcome = ReadOutcome::default();
    for message in messages {
        match message {
            Ok((omm, lines)) => match omm.to_element_set() {
                Ok(set) => outcome.sets.push(set),
                Err(e) => outcome.errors.push(FormatError::new(
                    file,
                    lines.line_of(&e.keyword),
                    omm_object_label(&omm),
                    e.keyword,
                    e.reason,
                )),
            },
            Err(error) => outcome.errors.push(error),
        }
    }
    outcome
}

fn omm_object_label(omm: &Omm) -> Option<String> {
    omm.tle_parameters
        .as_ref()
        .and_then(|t| t.norad_cat_id)
        .map(|n| n.to_string())
        .or_else(|| Some(omm.metadata.object_name.clone()))
}

/// Element sets as messages, with errors naming the object (`file` labels the output).
pub(crate) fn messages_for(
    sets: &[ElementSet],
    header: &OmmHeaderFields,
    file: &str,
) -> Result<Vec<Omm>, FormatError> {
    sets.iter()
        .map(|set| {
            Omm::from_element_set(set, header).map_err(|e| {
                FormatError::new(file, 0, Some(set.estimate.object.to_string()), e.keyword, e.reason)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::records::Quality;

    pub(crate) fn sample_set() -> ElementSet {
        ElementSet {
            estimate: OrbitEstimate {
                object: ObjectId::Norad(25544),
                epoch: Epoch::parse_iso("2025-05-24T20:37:27.097824Z").unwrap(),
                mean_motion_rev_per_day: 15.49717269,
                eccentricity: 0.0002122,
                inclination_deg: 51.636,
                ra_of_asc_node_deg: 62.6541,
                arg_of_pericenter_deg: 144.9421,
                mean_anomaly_deg: 215.1708,
                bstar: 0.00020518,
                mean_motion_dot: 0.00011156,
                mean_motion_ddot: 0.0,
                ephemeris_type: 0,
                classification: 'U',
                element_set_no: 999,
                rev_at_epoch: 51154,
                covariance: Some(Box::new(Covariance {
                    frame: CovarianceFrame::Rtn,
                    lower_triangle: [1e-3; 21],
                })),
                quality: Some(Quality { rms_km: Some(0.25), n_observations: Some(42), span_days: Some(3.5) }),
                source: "radar, Kourou".into(),
            },
            name: Some("ISS (ZARYA)".into()),
            cospar_id: Some("1998-067A".into()),
        }
    }

    #[test]
    fn element_set_survives_the_model() {
        let set = sample_set();
        let omm = Omm::from_element_set(&set, &OmmHeaderFields::now()).unwrap();
        assert_eq!(omm.to_element_set().unwrap(), set);
    }

    #[test]
    fn provisional_ids_have_no_omm_form() {
        let mut set = sample_set();
        set.estimate.object = ObjectId::Provisional { agency: protocol::ids::AgencyId([7; 32]), local: 1 };
        let error = Omm::from_element_set(&set, &OmmHeaderFields::now()).unwrap_err();
        assert_eq!(error.keyword, "NORAD_CAT_ID");
    }

    #[test]
    fn sgp4_xp_uses_bterm_and_agom() {
        let mut set = sample_set();
        set.estimate.ephemeris_type = 4;
        let omm = Omm::from_element_set(&set, &OmmHeaderFields::now()).unwrap();
        assert_eq!(omm.metadata.mean_element_theory, "SGP4-XP");
        let tle = omm.tle_parameters.as_ref().unwrap();
        assert_eq!((tle.bstar, tle.bterm_m2_per_kg), (None, Some(set.estimate.bstar)));
        assert_eq!(omm.to_element_set().unwrap(), set);
    }
}
