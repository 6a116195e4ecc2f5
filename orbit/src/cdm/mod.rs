//! CCSDS Conjunction Data Messages (CDM, CCSDS 508.0-B-1, and the CDM 2.0 draft keywords
//! CCSDS 508.0-P-1.0.2 adds) in KVN and XML: read, checked, written.
//!
//! Units, as the CDM states them (and as every field name says):
//!
//! - states in km and km/s ([`CdmObject::position_km`], [`CdmObject::velocity_km_per_s`]);
//! - relative position, miss distance and relative speed in m and m/s;
//! - the RTN covariance in the CDM's own units, m², m²/s and m²/s² (and m³/kg, m³/(kg·s),
//!   m⁴/kg², ... for the drag, SRP and thrust rows). [`CdmObject::covariance_km`] gives the
//!   6×6 part in km², km²/s and km²/s², the units of `protocol::records::Covariance`.
//!
//! Units written in the file (`[m**2]`, `units="m**2"`) are not checked: real producers
//! write wrong ones (NASA CARA's sample CDMs label relative velocities `[m]`), and the
//! values are always in the standard's units.
//!
//! The keywords the Pc computation and screening need are typed fields. Every other
//! standard keyword (screening volume, OD and additional parameters, CDM 2.0 additions) is
//! kept as text in the `other` lists, in the standard's order, so a CDM read and written
//! again says the same. Unknown keywords, repeated keywords, keywords out of place (a
//! header keyword after the relative data, object metadata after that object's data) and
//! missing or empty mandatory values are errors naming the line and the keyword. An empty
//! optional value (`<COLLISION_PROBABILITY/>`, `nil="true"`) is absent.

mod kvn;
mod xml;

use protocol::records::{Covariance, CovarianceFrame};
use protocol::time::Epoch;

use super::numbers::{format_ccsds_epoch, format_real, parse_real};
use super::FormatError;

pub use kvn::{format_kvn, parse_kvn, write_kvn};
pub use xml::{format_xml, parse_xml, write_xml};

/// One conjunction between two objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Cdm {
    pub header: CdmHeader,
    pub relative: CdmRelativeData,
    /// OBJECT1, usually the operator's own satellite.
    pub object1: CdmObject,
    pub object2: CdmObject,
    /// USER_DEFINED_x parameters: (x, value).
    pub user_defined: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CdmHeader {
    /// CCSDS_CDM_VERS (`1.0`, `2.0`).
    pub version: String,
    pub comments: Vec<String>,
    pub creation_date: Epoch,
    pub originator: String,
    pub message_for: Option<String>,
    pub message_id: String,
    /// Other header keywords (CDM 2.0 CLASSIFICATION).
    pub other: Vec<CdmField>,
}

/// Relative metadata and data: the encounter itself.
#[derive(Debug, Clone, PartialEq)]
pub struct CdmRelativeData {
    pub comments: Vec<String>,
    /// Time of closest approach (UTC).
    pub tca: Epoch,
    pub miss_distance_m: f64,
    pub relative_speed_m_per_s: Option<f64>,
    /// RELATIVE_POSITION_R, _T, _N: object 2 relative to object 1 in object 1's RTN frame.
    pub relative_position_rtn_m: Option<[f64; 3]>,
    /// RELATIVE_VELOCITY_R, _T, _N.
    pub relative_velocity_rtn_m_per_s: Option<[f64; 3]>,
    pub collision_probability: Option<f64>,
    /// COLLISION_PROBABILITY_METHOD, e.g. `FOSTER-1992`.
    pub collision_probability_method: Option<String>,
    /// Other relative keywords (screening period and volume, CDM 2.0 additions).
    pub other: Vec<CdmField>,
}

/// One object's metadata, state and covariance.
#[derive(Debug, Clone, PartialEq)]
pub struct CdmObject {
    pub metadata_comments: Vec<String>,
    /// OBJECT_DESIGNATOR: the catalogue number in the CATALOG_NAME catalogue.
    pub object_designator: String,
    pub catalog_name: String,
    pub object_name: String,
    pub international_designator: String,
    pub object_type: Option<String>,
    pub ephemeris_name: String,
    pub covariance_method: String,
    /// MANEUVERABLE: `YES`, `NO` or `N/A`.
    pub maneuverable: String,
    /// ORBIT_CENTER (absent means Earth).
    pub orbit_center: Option<String>,
    /// REF_FRAME of the state vector (EME2000, GCRF, ITRF).
    pub ref_frame: String,
    /// Other metadata keywords, as text.
    pub metadata_other: Vec<CdmField>,
    pub data_comments: Vec<String>,
    /// Other data keywords (OD and additional parameters, CDM 2.0 covariances), as text.
    pub data_other: Vec<CdmField>,
    /// X, Y, Z at TCA, km, in `ref_frame`.
    pub position_km: [f64; 3],
    /// X_DOT, Y_DOT, Z_DOT at TCA, km/s.
    pub velocity_km_per_s: [f64; 3],
    pub covariance: RtnCovariance,
}

/// The covariance in the object's RTN frame, lower triangles by rows in the CDM's units.
#[derive(Debug, Clone, PartialEq)]
pub struct RtnCovariance {
    /// CR_R, CT_R, CT_T, CN_R, ..., CNDOT_NDOT: m², m²/s, m²/s².
    pub position_velocity: [f64; 21],
    /// CDRG_R ... CDRG_NDOT, CDRG_DRG: m³/kg, m³/(kg·s), m⁴/kg².
    pub drag: Option<[f64; 7]>,
    /// CSRP_R ... CSRP_NDOT, CSRP_DRG, CSRP_SRP: m³/kg, m³/(kg·s), m⁴/kg².
    pub srp: Option<[f64; 8]>,
    /// CTHR_R ... CTHR_NDOT, CTHR_DRG, CTHR_SRP, CTHR_THR: m²/s², m²/s³, m³/(kg·s²), m²/s⁴.
    pub thrust: Option<[f64; 9]>,
}

/// A keyword kept as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdmField {
    pub keyword: String,
    pub value: String,
    /// Units as the file wrote them.
    pub units: Option<String>,
}

/// m² per km².
const SQUARE_METRES_PER_SQUARE_KM: f64 = 1e6;

impl CdmObject {
    /// The 6×6 position-velocity covariance in km², km²/s and km²/s² (RTN).
    pub fn covariance_km(&self) -> Covariance {
        Covariance {
            frame: CovarianceFrame::Rtn,
            lower_triangle: self.covariance.position_velocity.map(|v| v / SQUARE_METRES_PER_SQUARE_KM),
        }
    }

    /// OBJECT_DESIGNATOR as a number, when it is one (a SATCAT number).
    pub fn catalogue_number(&self) -> Option<u32> {
        self.object_designator.trim().parse().ok()
    }

    /// A kept keyword's value (metadata or data), e.g. `HBR` in a CDM 2.0 message.
    pub fn other_value(&self, keyword: &str) -> Option<&str> {
        self.metadata_other
            .iter()
            .chain(&self.data_other)
            .find(|f| f.keyword == keyword)
            .map(|f| f.value.as_str())
    }
}

/// Where a CDM keyword belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CdmSection {
    Header,
    Relative,
    ObjectMetadata,
    ObjectData,
}

impl CdmSection {
    fn describe(self) -> &'static str {
        match self {
            CdmSection::Header => "header",
            CdmSection::Relative => "relative metadata/data",
            CdmSection::ObjectMetadata => "object metadata",
            CdmSection::ObjectData => "object data",
        }
    }
}

/// The XML element a keyword is written in, within its section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    Direct,
    RelativeStateVector,
    OdParameters,
    AdditionalParameters,
    StateVector,
    Covariance,
    AltCovariance,
    CovarianceMetadata,
}

impl Group {
    pub(crate) fn element(self) -> Option<&'static str> {
        match self {
            Group::Direct => None,
            Group::RelativeStateVector => Some("relativeStateVector"),
            Group::OdParameters => Some("odParameters"),
            Group::AdditionalParameters => Some("additionalParameters"),
            Group::StateVector => Some("stateVector"),
            Group::Covariance | Group::AltCovariance | Group::CovarianceMetadata => Some("covarianceMatrix"),
        }
    }
}

/// One standard keyword.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeywordInfo {
    pub keyword: &'static str,
    pub section: CdmSection,
    pub group: Group,
    /// Units written after typed values.
    pub units: Option<&'static str>,
}

macro_rules! keywords {
    ($($section:ident $group:ident [$($keyword:literal $(: $units:literal)?),* $(,)?])*) => {
        &[$($(KeywordInfo {
            keyword: $keyword,
            section: CdmSection::$section,
            group: Group::$group,
            units: keywords!(@units $($units)?),
        },)*)*]
    };
    (@units $units:literal) => { Some($units) };
    (@units) => { None };
}

/// Every keyword of CDM 1.0 and the CDM 2.0 draft, in the standard's order.
pub(crate) const KEYWORDS: &[KeywordInfo] = keywords! {
    Header Direct ["CCSDS_CDM_VERS", "CREATION_DATE", "ORIGINATOR", "MESSAGE_FOR", "MESSAGE_ID", "CLASSIFICATION"]
    Relative Direct [
        "CONJUNCTION_ID", "TCA", "MISS_DISTANCE": "m", "MAHALANOBIS_DISTANCE", "RELATIVE_SPEED": "m/s",
    ]
    Relative RelativeStateVector [
        "RELATIVE_POSITION_R": "m", "RELATIVE_POSITION_T": "m", "RELATIVE_POSITION_N": "m",
        "RELATIVE_VELOCITY_R": "m/s", "RELATIVE_VELOCITY_T": "m/s", "RELATIVE_VELOCITY_N": "m/s",
    ]
    Relative Direct [
        "APPROACH_ANGLE", "START_SCREEN_PERIOD", "STOP_SCREEN_PERIOD", "SCREEN_TYPE", "SCREEN_VOLUME_FRAME",
        "SCREEN_VOLUME_SHAPE", "SCREEN_VOLUME_RADIUS", "SCREEN_VOLUME_X", "SCREEN_VOLUME_Y", "SCREEN_VOLUME_Z",
        "SCREEN_ENTRY_TIME", "SCREEN_EXIT_TIME", "SCREEN_PC_THRESHOLD", "COLLISION_PERCENTILE",
        "COLLISION_PROBABILITY", "COLLISION_PROBABILITY_METHOD", "COLLISION_MAX_PROBABILITY",
        "COLLISION_MAX_PC_METHOD", "SEFI_COLLISION_PROBABILITY", "SEFI_COLLISION_PROBABILITY_METHOD",
        "SEFI_FRAGMENTATION_MODEL", "PREVIOUS_MESSAGE_ID", "PREVIOUS_MESSAGE_EPOCH", "NEXT_MESSAGE_EPOCH",
    ]
    ObjectMetadata Direct [
        "OBJECT", "OBJECT_DESIGNATOR", "CATALOG_NAME", "OBJECT_NAME", "INTERNATIONAL_DESIGNATOR", "OBJECT_TYPE",
        "OPS_STATUS", "OPERATOR_CONTACT_POSITION", "OPERATOR_ORGANIZATION", "OPERATOR_PHONE", "OPERATOR_EMAIL",
        "ODM_MSG_LINK", "ADM_MSG_LINK", "OBS_BEFORE_NEXT_MESSAGE", "EPHEMERIS_NAME", "COVARIANCE_METHOD",
        "COVARIANCE_SOURCE", "MANEUVERABLE", "ORBIT_CENTER", "REF_FRAME", "ALT_COV_TYPE", "ALT_COV_REF_FRAME",
        "GRAVITY_MODEL", "ATMOSPHERIC_MODEL", "N_BODY_PERTURBATIONS", "SOLAR_RAD_PRESSURE", "EARTH_TIDES",
        "INTRACK_THRUST",
    ]
    ObjectData OdParameters [
        "TIME_LASTOB_START", "TIME_LASTOB_END", "RECOMMENDED_OD_SPAN", "ACTUAL_OD_SPAN", "OBS_AVAILABLE",
        "OBS_USED", "TRACKS_AVAILABLE", "TRACKS_USED", "RESIDUALS_ACCEPTED", "WEIGHTED_RMS", "OD_EPOCH",
    ]
    ObjectData AdditionalParameters [
        "AREA_PC", "AREA_PC_MIN", "AREA_PC_MAX", "AREA_DRG", "AREA_SRP", "OEB_PARENT_FRAME",
        "OEB_PARENT_FRAME_EPOCH", "OEB_Q1", "OEB_Q2", "OEB_Q3", "OEB_QC", "OEB_MAX", "OEB_INT", "OEB_MIN",
        "AREA_ALONG_OEB_MAX", "AREA_ALONG_OEB_INT", "AREA_ALONG_OEB_MIN", "RCS", "RCS_MIN", "RCS_MAX",
        "VM_ABSOLUTE", "VM_APPARENT_MIN", "VM_APPARENT", "VM_APPARENT_MAX", "REFLECTANCE", "MASS", "HBR",
        "CD_AREA_OVER_MASS", "CR_AREA_OVER_MASS", "THRUST_ACCELERATION", "SEDR", "MIN_DV", "MAX_DV",
        "LEAD_TIME_REQD_BEFORE_TCA", "APOAPSIS_ALTITUDE", "PERIAPSIS_ALTITUDE", "INCLINATION",
        "COV_CONFIDENCE", "COV_CONFIDENCE_METHOD",
    ]
    ObjectData StateVector [
        "X": "km", "Y": "km", "Z": "km", "X_DOT": "km/s", "Y_DOT": "km/s", "Z_DOT": "km/s",
    ]
    ObjectData Covariance [
        "CR_R": "m**2", "CT_R": "m**2", "CT_T": "m**2", "CN_R": "m**2", "CN_T": "m**2", "CN_N": "m**2",
        "CRDOT_R": "m**2/s", "CRDOT_T": "m**2/s", "CRDOT_N": "m**2/s", "CRDOT_RDOT": "m**2/s**2",
        "CTDOT_R": "m**2/s", "CTDOT_T": "m**2/s", "CTDOT_N": "m**2/s", "CTDOT_RDOT": "m**2/s**2",
        "CTDOT_TDOT": "m**2/s**2",
        "CNDOT_R": "m**2/s", "CNDOT_T": "m**2/s", "CNDOT_N": "m**2/s", "CNDOT_RDOT": "m**2/s**2",
        "CNDOT_TDOT": "m**2/s**2", "CNDOT_NDOT": "m**2/s**2",
        "CDRG_R": "m**3/kg", "CDRG_T": "m**3/kg", "CDRG_N": "m**3/kg", "CDRG_RDOT": "m**3/(kg*s)",
        "CDRG_TDOT": "m**3/(kg*s)", "CDRG_NDOT": "m**3/(kg*s)", "CDRG_DRG": "m**4/kg**2",
        "CSRP_R": "m**3/kg", "CSRP_T": "m**3/kg", "CSRP_N": "m**3/kg", "CSRP_RDOT": "m**3/(kg*s)",
        "CSRP_TDOT": "m**3/(kg*s)", "CSRP_NDOT": "m**3/(kg*s)", "CSRP_DRG": "m**4/kg**2",
        "CSRP_SRP": "m**4/kg**2",
        "CTHR_R": "m**2/s**2", "CTHR_T": "m**2/s**2", "CTHR_N": "m**2/s**2", "CTHR_RDOT": "m**2/s**3",
        "CTHR_TDOT": "m**2/s**3", "CTHR_NDOT": "m**2/s**3", "CTHR_DRG": "m**3/(kg*s**2)",
        "CTHR_SRP": "m**3/(kg*s**2)", "CTHR_THR": "m**2/s**4",
    ]
    ObjectData AltCovariance [
        "CX_X", "CY_X", "CY_Y", "CZ_X", "CZ_Y", "CZ_Z", "CXDOT_X", "CXDOT_Y", "CXDOT_Z", "CXDOT_XDOT",
        "CYDOT_X", "CYDOT_Y", "CYDOT_Z", "CYDOT_XDOT", "CYDOT_YDOT", "CZDOT_X", "CZDOT_Y", "CZDOT_Z",
        "CZDOT_XDOT", "CZDOT_YDOT", "CZDOT_ZDOT", "CDRG_X", "CDRG_Y", "CDRG_Z", "CDRG_XDOT", "CDRG_YDOT",
        "CDRG_ZDOT", "CSRP_X", "CSRP_Y", "CSRP_Z", "CSRP_XDOT", "CSRP_YDOT", "CSRP_ZDOT", "CTHR_X", "CTHR_Y",
        "CTHR_Z", "CTHR_XDOT", "CTHR_YDOT", "CTHR_ZDOT", "CSIG3EIGVEC3",
    ]
    ObjectData CovarianceMetadata [
        "DENSITY_FORECAST_UNCERTAINTY", "CSCALE_FACTOR_MIN", "CSCALE_FACTOR", "CSCALE_FACTOR_MAX",
        "SCREENING_DATA_SOURCE", "DCP_SENSITIVITY_VECTOR_POSITION", "DCP_SENSITIVITY_VECTOR_VELOCITY",
    ]
};

/// The table entry of a keyword and its place in the standard's order.
pub(crate) fn keyword_info(keyword: &str) -> Option<(usize, &'static KeywordInfo)> {
    KEYWORDS.iter().enumerate().find(|(_, info)| info.keyword == keyword)
}

const STATE_KEYWORDS: [&str; 6] = ["X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT"];
const RTN_KEYWORDS: [&str; 21] = [
    "CR_R",
    "CT_R",
    "CT_T",
    "CN_R",
    "CN_T",
    "CN_N",
    "CRDOT_R",
    "CRDOT_T",
    "CRDOT_N",
    "CRDOT_RDOT",
    "CTDOT_R",
    "CTDOT_T",
    "CTDOT_N",
    "CTDOT_RDOT",
    "CTDOT_TDOT",
    "CNDOT_R",
    "CNDOT_T",
    "CNDOT_N",
    "CNDOT_RDOT",
    "CNDOT_TDOT",
    "CNDOT_NDOT",
];
const DRAG_KEYWORDS: [&str; 7] =
    ["CDRG_R", "CDRG_T", "CDRG_N", "CDRG_RDOT", "CDRG_TDOT", "CDRG_NDOT", "CDRG_DRG"];
const SRP_KEYWORDS: [&str; 8] =
    ["CSRP_R", "CSRP_T", "CSRP_N", "CSRP_RDOT", "CSRP_TDOT", "CSRP_NDOT", "CSRP_DRG", "CSRP_SRP"];
const THRUST_KEYWORDS: [&str; 9] =
    ["CTHR_R", "CTHR_T", "CTHR_N", "CTHR_RDOT", "CTHR_TDOT", "CTHR_NDOT", "CTHR_DRG", "CTHR_SRP", "CTHR_THR"];
/// Keywords that end both the RTN rows and the CDM 2.0 XYZ rows; they may appear twice.
const SHARED_ROW_KEYWORDS: [&str; 6] =
    ["CDRG_DRG", "CSRP_DRG", "CSRP_SRP", "CTHR_DRG", "CTHR_SRP", "CTHR_THR"];

/// One raw keyword line.
#[derive(Debug, Clone)]
struct RawField {
    keyword: &'static str,
    value: String,
    units: Option<String>,
    line: usize,
}

#[derive(Debug, Clone, Default)]
struct RawSection {
    fields: Vec<RawField>,
    comments: Vec<String>,
    first_line: Option<usize>,
}

#[derive(Debug, Clone, Default)]
struct RawObject {
    start_line: usize,
    metadata: RawSection,
    data: RawSection,
}

/// Where the reader is in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    Header,
    Relative,
    Metadata(usize),
    Data(usize),
}

/// Collects one message's keywords (KVN or XML) and checks them into a [`Cdm`].
pub(crate) struct CdmBuilder<'a> {
    file: &'a str,
    start_line: usize,
    last_line: usize,
    header: RawSection,
    relative: RawSection,
    objects: Vec<RawObject>,
    user_defined: Vec<(String, String)>,
    pending_comments: Vec<String>,
    position: Position,
    first_error: Option<FormatError>,
}

impl<'a> CdmBuilder<'a> {
    pub(crate) fn new(file: &'a str, start_line: usize) -> Self {
        Self {
            file,
            start_line,
            last_line: start_line,
            header: RawSection::default(),
            relative: RawSection::default(),
            objects: Vec::new(),
            user_defined: Vec::new(),
            pending_comments: Vec::new(),
            position: Position::Header,
            first_error: None,
        }
    }

    pub(crate) fn fail(&mut self, line: usize, keyword: &str, reason: impl Into<String>) {
        if self.first_error.is_none() {
            let object = match self.position {
                Position::Metadata(i) | Position::Data(i) => Some(format!("OBJECT{}", i + 1)),
                _ => None,
            };
            self.first_error = Some(FormatError::new(self.file, line, object, keyword, reason));
        }
    }

    /// A KVN comment: it belongs to the section of the next keyword.
    pub(crate) fn comment(&mut self, text: &str) {
        self.pending_comments.push(text.to_owned());
    }

    /// The raw section `section` means at the current position (the current object's
    /// metadata or data for object sections).
    fn position_of(&self, section: CdmSection) -> Option<Position> {
        match (section, self.position) {
            (CdmSection::Header, _) => Some(Position::Header),
            (CdmSection::Relative, _) => Some(Position::Relative),
            (CdmSection::ObjectMetadata, Position::Metadata(i) | Position::Data(i)) => {
                Some(Position::Metadata(i))
            }
            (CdmSection::ObjectData, Position::Metadata(i) | Position::Data(i)) => Some(Position::Data(i)),
            _ => None,
        }
    }

    /// An XML comment inside a section's element.
    pub(crate) fn comment_in(&mut self, section: CdmSection, text: &str) {
        if let Some(raw) = self.position_of(section).and_then(|p| self.section_mut(p)) {
            raw.comments.push(text.to_owned());
        }
    }

    /// XML: a section's element starts at this line (for errors about keywords it lacks).
    pub(crate) fn mark(&mut self, section: CdmSection, line: usize) {
        if let Some(raw) = self.position_of(section).and_then(|p| self.section_mut(p)) {
            raw.first_line.get_or_insert(line);
        }
    }

    /// A new object starts (KVN: at `OBJECT =`; XML: at `<segment>`).
    pub(crate) fn start_object(&mut self, line: usize) {
        if self.objects.len() >= 2 {
            return self.fail(line, "OBJECT", "a third object: a CDM is about exactly two");
        }
        self.objects.push(RawObject { start_line: line, ..RawObject::default() });
        self.position = Position::Metadata(self.objects.len() - 1);
    }

    /// One keyword. `container` is the section of the XML element holding it (checked), or
    /// `None` in KVN (where `OBJECT` starts an object).
    pub(crate) fn entry(
        &mut self,
        keyword: &str,
        value: &str,
        units: Option<&str>,
        line: usize,
        container: Option<CdmSection>,
    ) {
        self.last_line = self.last_line.max(line);
        if let Some(name) = keyword.strip_prefix("USER_DEFINED_") {
            if name.is_empty() || self.user_defined.iter().any(|(n, _)| n == name) {
                return self.fail(
                    line,
                    keyword,
                    "a user-defined parameter needs a name that is not repeated",
                );
            }
            self.user_defined.push((name.to_owned(), value.trim().to_owned()));
            return;
        }
        let Some((_, info)) = keyword_info(keyword) else {
            return self.fail(line, keyword, "not a CDM keyword");
        };
        if let Some(container) = container {
            if container != info.section {
                return self.fail(
                    line,
                    keyword,
                    format!(
                        "belongs in the {}, not in the {}",
                        info.section.describe(),
                        container.describe()
                    ),
                );
            }
        } else if info.keyword == "OBJECT" {
            self.start_object(line);
        }
        let target = match (info.section, self.position) {
            (CdmSection::Header, Position::Header) => Position::Header,
            (CdmSection::Header, _) => {
                return self.fail(line, keyword, "a header keyword after the relative metadata began")
            }
            (CdmSection::Relative, Position::Header | Position::Relative) => Position::Relative,
            (CdmSection::Relative, _) => {
                return self.fail(line, keyword, "a relative metadata/data keyword after the objects began")
            }
            (CdmSection::ObjectMetadata, Position::Metadata(i)) => Position::Metadata(i),
            (CdmSection::ObjectMetadata, Position::Data(i)) => {
                return self.fail(
                    line,
                    keyword,
                    format!(
                        "object {} metadata after its data began (is `OBJECT = OBJECT2` missing?)",
                        i + 1
                    ),
                )
            }
            (CdmSection::ObjectData, Position::Metadata(i) | Position::Data(i)) => Position::Data(i),
            (CdmSection::ObjectMetadata | CdmSection::ObjectData, _) => {
                return self.fail(line, keyword, "object keywords before `OBJECT = OBJECT1`")
            }
        };
        self.position = target;
        let pending = std::mem::take(&mut self.pending_comments);
        let Some(section) = self.section_mut(target) else {
            return;
        };
        section.comments.extend(pending);
        section.first_line.get_or_insert(line);
        let repeats = section.fields.iter().filter(|f| f.keyword == info.keyword).count();
        let allowed = if SHARED_ROW_KEYWORDS.contains(&info.keyword) { 2 } else { 1 };
        if repeats >= allowed {
            let first = section.fields.iter().find(|f| f.keyword == info.keyword).map_or(line, |f| f.line);
            return self.fail(line, keyword, format!("appears twice (first on line {first})"));
        }
        section.fields.push(RawField {
            keyword: info.keyword,
            value: value.trim().to_owned(),
            units: units.map(str::to_owned),
            line,
        });
    }

    fn section_mut(&mut self, position: Position) -> Option<&mut RawSection> {
        match position {
            Position::Header => Some(&mut self.header),
            Position::Relative => Some(&mut self.relative),
            Position::Metadata(i) => self.objects.get_mut(i).map(|o| &mut o.metadata),
            Position::Data(i) => self.objects.get_mut(i).map(|o| &mut o.data),
        }
    }

    /// Checks the collected keywords into a message.
    pub(crate) fn finish(mut self) -> Result<Cdm, FormatError> {
        if let Some(error) = self.first_error.take() {
            return Err(error);
        }
        let pending = std::mem::take(&mut self.pending_comments);
        if let Some(last) = self.objects.last_mut() {
            last.data.comments.extend(pending);
        }
        let file = self.file;
        let header = {
            let s = Section::new(file, &self.header, None, self.start_line);
            CdmHeader {
                version: s.text("CCSDS_CDM_VERS")?,
                comments: self.header.comments.clone(),
                creation_date: s.epoch("CREATION_DATE")?,
                originator: s.text("ORIGINATOR")?,
                message_for: s.optional_text("MESSAGE_FOR"),
                message_id: s.text("MESSAGE_ID")?,
                other: s.others(&[
                    "CCSDS_CDM_VERS",
                    "CREATION_DATE",
                    "ORIGINATOR",
                    "MESSAGE_FOR",
                    "MESSAGE_ID",
                ]),
            }
        };
        let relative = {
            let s = Section::new(file, &self.relative, None, self.last_line);
            let triple = |keywords: [&str; 3]| -> Result<Option<[f64; 3]>, FormatError> {
                let values = keywords.map(|k| s.optional_real(k));
                match values {
                    [Ok(None), Ok(None), Ok(None)] => Ok(None),
                    [Ok(Some(a)), Ok(Some(b)), Ok(Some(c))] => Ok(Some([a, b, c])),
                    _ => {
                        // Some given: all three are needed.
                        let [a, b, c] = keywords.map(|k| {
                            s.real(k).map_err(|e| FormatError {
                                reason: format!("{}: R, T and N come together", e.reason),
                                ..e
                            })
                        });
                        Ok(Some([a?, b?, c?]))
                    }
                }
            };
            CdmRelativeData {
                comments: self.relative.comments.clone(),
                tca: s.epoch("TCA")?,
                miss_distance_m: s.real("MISS_DISTANCE")?,
                relative_speed_m_per_s: s.optional_real("RELATIVE_SPEED")?,
                relative_position_rtn_m: triple([
                    "RELATIVE_POSITION_R",
                    "RELATIVE_POSITION_T",
                    "RELATIVE_POSITION_N",
                ])?,
                relative_velocity_rtn_m_per_s: triple([
                    "RELATIVE_VELOCITY_R",
                    "RELATIVE_VELOCITY_T",
                    "RELATIVE_VELOCITY_N",
                ])?,
                collision_probability: s.optional_real("COLLISION_PROBABILITY")?,
                collision_probability_method: s.optional_text("COLLISION_PROBABILITY_METHOD"),
                other: s.others(&[
                    "TCA",
                    "MISS_DISTANCE",
                    "RELATIVE_SPEED",
                    "RELATIVE_POSITION_R",
                    "RELATIVE_POSITION_T",
                    "RELATIVE_POSITION_N",
                    "RELATIVE_VELOCITY_R",
                    "RELATIVE_VELOCITY_T",
                    "RELATIVE_VELOCITY_N",
                    "COLLISION_PROBABILITY",
                    "COLLISION_PROBABILITY_METHOD",
                ]),
            }
        };
        let missing_object = |n: usize| {
            FormatError::new(
                file,
                self.last_line,
                Some(format!("OBJECT{n}")),
                "OBJECT",
                format!("OBJECT{n} is missing: a CDM is about two objects"),
            )
        };
        let object1 = self.objects.first().ok_or_else(|| missing_object(1))?;
        let object2 = self.objects.get(1).ok_or_else(|| missing_object(2))?;
        Ok(Cdm {
            header,
            relative,
            object1: finish_object(file, object1, 1)?,
            object2: finish_object(file, object2, 2)?,
            user_defined: self.user_defined,
        })
    }
}

fn finish_object(file: &str, raw: &RawObject, number: usize) -> Result<CdmObject, FormatError> {
    let name = format!("OBJECT{number}");
    let m = Section::new(file, &raw.metadata, Some(name.clone()), raw.start_line);
    let object = m.text("OBJECT")?;
    if !object.eq_ignore_ascii_case(&name) {
        let line = m.line_of("OBJECT");
        return Err(m.error(line, "OBJECT", format!("{object:?} where {name} was expected")));
    }
    let label = m.optional_text("OBJECT_DESIGNATOR").map(|d| format!("{name} ({d})")).unwrap_or(name);
    let m = Section { object: Some(label.clone()), ..m };
    // Typed data keywords: state, RTN covariance, and each optional row that has its first
    // keyword (the others of that row are then required).
    let has = |keyword: &str| raw.data.fields.iter().any(|f| f.keyword == keyword && !f.value.is_empty());
    let mut typed: Vec<&str> = STATE_KEYWORDS.iter().chain(&RTN_KEYWORDS).copied().collect();
    let rows: [(&[&str], bool); 3] =
        [(&DRAG_KEYWORDS, has("CDRG_R")), (&SRP_KEYWORDS, has("CSRP_R")), (&THRUST_KEYWORDS, has("CTHR_R"))];
    for (keywords, present) in rows {
        if present {
            typed.extend_from_slice(keywords);
        }
    }
    // The first occurrence of a typed keyword is typed; a second (a shared row keyword of
    // the CDM 2.0 XYZ rows) or one whose row is absent is kept as text.
    let mut typed_fields =
        RawSection { comments: Vec::new(), first_line: raw.data.first_line, fields: Vec::new() };
    let mut other_fields = Vec::new();
    for field in &raw.data.fields {
        if typed.contains(&field.keyword) && !typed_fields.fields.iter().any(|f| f.keyword == field.keyword) {
            typed_fields.fields.push(field.clone());
        } else {
            other_fields.push(field.clone());
        }
    }
    let d =
        Section::new(file, &typed_fields, Some(label.clone()), raw.data.first_line.unwrap_or(raw.start_line));
    let array = |keywords: &[&str]| keywords.iter().map(|k| d.real(k)).collect::<Result<Vec<f64>, _>>();
    let [x, y, z, x_dot, y_dot, z_dot] = to_array::<6>(array(&STATE_KEYWORDS)?);
    let covariance = RtnCovariance {
        position_velocity: to_array(array(&RTN_KEYWORDS)?),
        drag: rows[0].1.then(|| array(&DRAG_KEYWORDS).map(to_array)).transpose()?,
        srp: rows[1].1.then(|| array(&SRP_KEYWORDS).map(to_array)).transpose()?,
        thrust: rows[2].1.then(|| array(&THRUST_KEYWORDS).map(to_array)).transpose()?,
    };
    let others = RawSection { fields: other_fields, comments: Vec::new(), first_line: None };
    let data_other = Section::new(file, &others, Some(label), raw.start_line).others(&[]);
    Ok(CdmObject {
        metadata_comments: raw.metadata.comments.clone(),
        object_designator: m.text("OBJECT_DESIGNATOR")?,
        catalog_name: m.text("CATALOG_NAME")?,
        object_name: m.text("OBJECT_NAME")?,
        international_designator: m.text("INTERNATIONAL_DESIGNATOR")?,
        object_type: m.optional_text("OBJECT_TYPE"),
        ephemeris_name: m.text("EPHEMERIS_NAME")?,
        covariance_method: m.text("COVARIANCE_METHOD")?,
        maneuverable: m.text("MANEUVERABLE")?,
        orbit_center: m.optional_text("ORBIT_CENTER"),
        ref_frame: m.text("REF_FRAME")?,
        metadata_other: m.others(&[
            "OBJECT",
            "OBJECT_DESIGNATOR",
            "CATALOG_NAME",
            "OBJECT_NAME",
            "INTERNATIONAL_DESIGNATOR",
            "OBJECT_TYPE",
            "EPHEMERIS_NAME",
            "COVARIANCE_METHOD",
            "MANEUVERABLE",
            "ORBIT_CENTER",
            "REF_FRAME",
        ]),
        data_comments: raw.data.comments.clone(),
        data_other,
        position_km: [x, y, z],
        velocity_km_per_s: [x_dot, y_dot, z_dot],
        covariance,
    })
}

/// A vector known to have `N` values (one per keyword of a fixed list).
fn to_array<const N: usize>(values: Vec<f64>) -> [f64; N] {
    let mut array = [0.0; N];
    for (slot, value) in array.iter_mut().zip(values) {
        *slot = value;
    }
    array
}

/// Typed reading of one section's raw keywords.
struct Section<'s> {
    file: &'s str,
    raw: &'s RawSection,
    object: Option<String>,
    /// Line for errors about keywords the section lacks.
    fallback_line: usize,
}

impl<'s> Section<'s> {
    fn new(file: &'s str, raw: &'s RawSection, object: Option<String>, fallback_line: usize) -> Self {
        Self { file, raw, object, fallback_line }
    }

    fn error(&self, line: usize, keyword: &str, reason: impl Into<String>) -> FormatError {
        FormatError::new(self.file, line, self.object.clone(), keyword, reason)
    }

    fn find(&self, keyword: &str) -> Option<&RawField> {
        self.raw.fields.iter().find(|f| f.keyword == keyword)
    }

    fn line_of(&self, keyword: &str) -> usize {
        self.find(keyword).map_or(self.raw.first_line.unwrap_or(self.fallback_line), |f| f.line)
    }

    fn mandatory(&self, keyword: &str) -> Result<(&str, usize), FormatError> {
        match self.find(keyword) {
            None => Err(self.error(self.line_of(keyword), keyword, "mandatory keyword missing")),
            Some(f) if f.value.is_empty() => Err(self.error(f.line, keyword, "mandatory value is empty")),
            Some(f) => Ok((f.value.as_str(), f.line)),
        }
    }

    fn text(&self, keyword: &str) -> Result<String, FormatError> {
        self.mandatory(keyword).map(|(v, _)| v.to_owned())
    }

    fn optional_text(&self, keyword: &str) -> Option<String> {
        self.find(keyword).map(|f| f.value.clone()).filter(|v| !v.is_empty())
    }

    fn parse_number(&self, keyword: &str, value: &str, line: usize) -> Result<f64, FormatError> {
        parse_real(value).ok_or_else(|| self.error(line, keyword, format!("{value:?} is not a number")))
    }

    fn real(&self, keyword: &str) -> Result<f64, FormatError> {
        let (value, line) = self.mandatory(keyword)?;
        self.parse_number(keyword, value, line)
    }

    fn optional_real(&self, keyword: &str) -> Result<Option<f64>, FormatError> {
        match self.find(keyword) {
            Some(f) if !f.value.is_empty() => self.parse_number(keyword, &f.value, f.line).map(Some),
            _ => Ok(None),
        }
    }

    fn epoch(&self, keyword: &str) -> Result<Epoch, FormatError> {
        let (value, line) = self.mandatory(keyword)?;
        Epoch::parse_iso(value).map_err(|e| self.error(line, keyword, e.to_string()))
    }

    /// The non-empty keywords not in `typed`, in the standard's order.
    fn others(&self, typed: &[&str]) -> Vec<CdmField> {
        let mut others: Vec<(usize, CdmField)> = self
            .raw
            .fields
            .iter()
            .filter(|f| !typed.contains(&f.keyword) && !f.value.is_empty())
            .map(|f| {
                let order = keyword_info(f.keyword).map_or(usize::MAX, |(i, _)| i);
                (
                    order,
                    CdmField {
                        keyword: f.keyword.to_owned(),
                        value: f.value.clone(),
                        units: f.units.clone(),
                    },
                )
            })
            .collect();
        others.sort_by_key(|(order, _)| *order);
        others.into_iter().map(|(_, field)| field).collect()
    }
}

/// Reads a CDM in KVN or XML (XML when the text starts with `<`).
pub fn parse(text: &str, file: &str) -> Result<Cdm, FormatError> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if body.trim_start().starts_with('<') {
        parse_xml(body, file)
    } else {
        parse_kvn(body, file)
    }
}

/// One keyword to write: keyword, value, units.
#[derive(Debug, Clone)]
pub(crate) struct OutField {
    pub keyword: String,
    pub value: String,
    pub units: Option<String>,
    pub group: Group,
}

/// Checks typed values before writing (a NaN or an empty mandatory text would not read
/// back).
fn check_writable(cdm: &Cdm, file: &str) -> Result<(), FormatError> {
    let fail = |object: Option<&str>, keyword: &str, reason: &str| {
        Err(FormatError::new(file, 0, object.map(str::to_owned), keyword, reason))
    };
    let finite = |values: &[f64]| values.iter().all(|v| v.is_finite());
    let r = &cdm.relative;
    if !finite(&[r.miss_distance_m])
        || !finite(&r.relative_speed_m_per_s.into_iter().collect::<Vec<_>>())
        || !finite(&r.relative_position_rtn_m.unwrap_or_default())
        || !finite(&r.relative_velocity_rtn_m_per_s.unwrap_or_default())
        || !finite(&r.collision_probability.into_iter().collect::<Vec<_>>())
    {
        return fail(None, "relative data", "holds a value that is not a finite number");
    }
    let h = &cdm.header;
    for (keyword, epoch) in [("CREATION_DATE", h.creation_date), ("TCA", r.tca)] {
        if !super::numbers::epoch_is_writable(epoch) {
            return fail(None, keyword, "outside 1957-2200, the epochs this reader accepts");
        }
    }
    for (keyword, value) in
        [("CCSDS_CDM_VERS", &h.version), ("ORIGINATOR", &h.originator), ("MESSAGE_ID", &h.message_id)]
    {
        if value.trim().is_empty() {
            return fail(None, keyword, "mandatory value is empty");
        }
    }
    for (object, name) in [(&cdm.object1, "OBJECT1"), (&cdm.object2, "OBJECT2")] {
        let c = &object.covariance;
        let rows = [
            object.position_km.as_slice(),
            object.velocity_km_per_s.as_slice(),
            c.position_velocity.as_slice(),
            c.drag.as_ref().map_or(&[][..], |r| r.as_slice()),
            c.srp.as_ref().map_or(&[][..], |r| r.as_slice()),
            c.thrust.as_ref().map_or(&[][..], |r| r.as_slice()),
        ];
        if !rows.iter().all(|row| finite(row)) {
            return fail(Some(name), "state or covariance", "holds a value that is not a finite number");
        }
        for (keyword, value) in [
            ("OBJECT_DESIGNATOR", &object.object_designator),
            ("CATALOG_NAME", &object.catalog_name),
            ("OBJECT_NAME", &object.object_name),
            ("INTERNATIONAL_DESIGNATOR", &object.international_designator),
            ("EPHEMERIS_NAME", &object.ephemeris_name),
            ("COVARIANCE_METHOD", &object.covariance_method),
            ("MANEUVERABLE", &object.maneuverable),
            ("REF_FRAME", &object.ref_frame),
        ] {
            if value.trim().is_empty() {
                return fail(Some(name), keyword, "mandatory value is empty");
            }
        }
    }
    Ok(())
}

/// The fields of each part of a message in the standard's order, typed ones included.
pub(crate) struct OutMessage {
    pub header: Vec<OutField>,
    pub relative: Vec<OutField>,
    pub objects: [(Vec<OutField>, Vec<OutField>); 2],
}

pub(crate) fn out_message(cdm: &Cdm) -> OutMessage {
    let h = &cdm.header;
    let mut header = vec![
        typed_text("CREATION_DATE", format_ccsds_epoch(h.creation_date)),
        typed_text("ORIGINATOR", h.originator.clone()),
    ];
    if let Some(message_for) = &h.message_for {
        header.push(typed_text("MESSAGE_FOR", message_for.clone()));
    }
    header.push(typed_text("MESSAGE_ID", h.message_id.clone()));
    header.extend(h.other.iter().map(other_field));
    let r = &cdm.relative;
    let mut relative =
        vec![typed_text("TCA", format_ccsds_epoch(r.tca)), typed_real("MISS_DISTANCE", r.miss_distance_m)];
    if let Some(speed) = r.relative_speed_m_per_s {
        relative.push(typed_real("RELATIVE_SPEED", speed));
    }
    if let Some([rr, t, n]) = r.relative_position_rtn_m {
        relative.extend([
            typed_real("RELATIVE_POSITION_R", rr),
            typed_real("RELATIVE_POSITION_T", t),
            typed_real("RELATIVE_POSITION_N", n),
        ]);
    }
    if let Some([rr, t, n]) = r.relative_velocity_rtn_m_per_s {
        relative.extend([
            typed_real("RELATIVE_VELOCITY_R", rr),
            typed_real("RELATIVE_VELOCITY_T", t),
            typed_real("RELATIVE_VELOCITY_N", n),
        ]);
    }
    if let Some(pc) = r.collision_probability {
        relative.push(typed_real("COLLISION_PROBABILITY", pc));
    }
    if let Some(method) = &r.collision_probability_method {
        relative.push(typed_text("COLLISION_PROBABILITY_METHOD", method.clone()));
    }
    relative.extend(r.other.iter().map(other_field));
    sort_standard(&mut relative);
    let object = |o: &CdmObject, number: usize| {
        let mut metadata = vec![
            typed_text("OBJECT", format!("OBJECT{number}")),
            typed_text("OBJECT_DESIGNATOR", o.object_designator.clone()),
            typed_text("CATALOG_NAME", o.catalog_name.clone()),
            typed_text("OBJECT_NAME", o.object_name.clone()),
            typed_text("INTERNATIONAL_DESIGNATOR", o.international_designator.clone()),
            typed_text("EPHEMERIS_NAME", o.ephemeris_name.clone()),
            typed_text("COVARIANCE_METHOD", o.covariance_method.clone()),
            typed_text("MANEUVERABLE", o.maneuverable.clone()),
            typed_text("REF_FRAME", o.ref_frame.clone()),
        ];
        if let Some(object_type) = &o.object_type {
            metadata.push(typed_text("OBJECT_TYPE", object_type.clone()));
        }
        if let Some(center) = &o.orbit_center {
            metadata.push(typed_text("ORBIT_CENTER", center.clone()));
        }
        metadata.extend(o.metadata_other.iter().map(other_field));
        sort_standard(&mut metadata);
        let mut data: Vec<OutField> = Vec::new();
        let state = [o.position_km, o.velocity_km_per_s].concat();
        data.extend(STATE_KEYWORDS.iter().zip(state).map(|(k, v)| typed_real(k, v)));
        let c = &o.covariance;
        data.extend(RTN_KEYWORDS.iter().zip(c.position_velocity).map(|(k, v)| typed_real(k, v)));
        if let Some(row) = c.drag {
            data.extend(DRAG_KEYWORDS.iter().zip(row).map(|(k, v)| typed_real(k, v)));
        }
        if let Some(row) = c.srp {
            data.extend(SRP_KEYWORDS.iter().zip(row).map(|(k, v)| typed_real(k, v)));
        }
        if let Some(row) = c.thrust {
            data.extend(THRUST_KEYWORDS.iter().zip(row).map(|(k, v)| typed_real(k, v)));
        }
        data.extend(o.data_other.iter().map(other_field));
        sort_standard(&mut data);
        (metadata, data)
    };
    OutMessage { header, relative, objects: [object(&cdm.object1, 1), object(&cdm.object2, 2)] }
}

fn group_of(keyword: &str) -> Group {
    keyword_info(keyword).map_or(Group::Direct, |(_, info)| info.group)
}

fn typed_text(keyword: &str, value: String) -> OutField {
    OutField { keyword: keyword.to_owned(), value, units: None, group: group_of(keyword) }
}

fn typed_real(keyword: &str, value: f64) -> OutField {
    let units = keyword_info(keyword).and_then(|(_, info)| info.units).map(str::to_owned);
    OutField { keyword: keyword.to_owned(), value: format_real(value), units, group: group_of(keyword) }
}

fn other_field(field: &CdmField) -> OutField {
    OutField {
        keyword: field.keyword.clone(),
        value: field.value.clone(),
        units: field.units.clone(),
        group: group_of(&field.keyword),
    }
}

/// Stable sort into the standard's keyword order.
fn sort_standard(fields: &mut [OutField]) {
    fields.sort_by_key(|f| keyword_info(&f.keyword).map_or(usize::MAX, |(i, _)| i));
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_object(designator: &str) -> CdmObject {
        CdmObject {
            metadata_comments: vec!["metadata".into()],
            object_designator: designator.into(),
            catalog_name: "SATCAT".into(),
            object_name: format!("SAT {designator} [A]"),
            international_designator: "1997-030E".into(),
            object_type: Some("PAYLOAD".into()),
            ephemeris_name: "NONE".into(),
            covariance_method: "CALCULATED".into(),
            maneuverable: "N/A".into(),
            orbit_center: None,
            ref_frame: "EME2000".into(),
            metadata_other: vec![CdmField {
                keyword: "GRAVITY_MODEL".into(),
                value: "EGM-96: 36D 36O".into(),
                units: None,
            }],
            data_comments: vec!["data & more <stuff>".into()],
            data_other: vec![
                CdmField {
                    keyword: "TIME_LASTOB_START".into(),
                    value: "2010-03-12T02:14:12.746".into(),
                    units: None,
                },
                CdmField {
                    keyword: "RECOMMENDED_OD_SPAN".into(),
                    value: "7.88".into(),
                    units: Some("d".into()),
                },
                CdmField { keyword: "HBR".into(), value: "2.5".into(), units: Some("m".into()) },
            ],
            position_km: [2570.097065, 2244.654904, 6281.497978],
            velocity_km_per_s: [4.418769571, 4.833547743, -3.526774282],
            covariance: RtnCovariance {
                position_velocity: std::array::from_fn(|i| (i as f64 + 1.0) * 1.5e-3),
                drag: Some([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]),
                srp: None,
                thrust: Some([9.0; 9]),
            },
        }
    }

    pub(crate) fn sample() -> Cdm {
        Cdm {
            header: CdmHeader {
                version: "1.0".into(),
                comments: vec!["header".into()],
                creation_date: Epoch::parse_iso("2010-03-12T22:31:12Z").unwrap(),
                originator: "JSPOC".into(),
                message_for: Some("SATELLITE A".into()),
                message_id: "201113719185".into(),
                other: Vec::new(),
            },
            relative: CdmRelativeData {
                comments: vec!["relative".into()],
                tca: Epoch::parse_iso("2010-03-13T22:37:52.618Z").unwrap(),
                miss_distance_m: 715.0,
                relative_speed_m_per_s: Some(14762.0),
                relative_position_rtn_m: Some([27.4, -70.2, 711.8]),
                relative_velocity_rtn_m_per_s: Some([-7.2, -14692.0, -1437.2]),
                collision_probability: Some(4.835e-5),
                collision_probability_method: Some("FOSTER-1992".into()),
                other: vec![CdmField {
                    keyword: "SCREEN_VOLUME_X".into(),
                    value: "200".into(),
                    units: Some("m".into()),
                }],
            },
            object1: sample_object("12345"),
            object2: sample_object("30337"),
            user_defined: vec![("OBJ1_NOTE".into(), "x".into())],
        }
    }

    #[test]
    fn covariance_in_km() {
        let object = sample_object("1");
        let km = object.covariance_km();
        assert_eq!(km.frame, CovarianceFrame::Rtn);
        assert_eq!(km.lower_triangle[0], 1.5e-3 / 1e6);
        assert_eq!(object.catalogue_number(), Some(1));
        assert_eq!(object.other_value("HBR"), Some("2.5"));
    }

    #[test]
    fn keyword_table_has_no_repeats() {
        for (i, info) in KEYWORDS.iter().enumerate() {
            assert_eq!(keyword_info(info.keyword).map(|(j, _)| j), Some(i), "{}", info.keyword);
        }
    }
}
