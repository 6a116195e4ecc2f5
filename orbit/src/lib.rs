//! Orbit data in and out (TLE, 3LE, CCSDS OMM in KVN/XML/JSON, CelesTrak GP CSV, CCSDS CDM)
//! and SGP4 propagation.
//!
//! Every reader turns text into [`ElementSet`]s (a `protocol::OrbitEstimate` plus the
//! identification that travels as metadata) and reports each bad record with its file, line,
//! object and field in a [`FormatError`], converting the rest.
//!
//! [`read_element_sets`] detects the format and reads any of them; [`write_element_sets`]
//! writes any of them. Conversions keep everything the target format can hold: TLE → OMM →
//! TLE reproduces the TLE text byte for byte, and OMM keeps covariance, source and quality
//! (the last two as `USER_DEFINED_COMMONS_*` parameters).

pub mod cdm;
pub mod csv;
pub mod data;
pub(crate) mod kvn;
pub(crate) mod numbers;
pub mod omm;
pub mod propagate;
pub mod synthetic;
pub mod tle;
pub(crate) mod xml;

use protocol::records::OrbitEstimate;

/// Written where a format needs a name or designator that the element set does not have
/// (OMM's mandatory OBJECT_NAME and OBJECT_ID, a 3LE name line), as Space-Track and CelesTrak
/// write it. Read back, OBJECT_ID `UNKNOWN` is no designator.
pub const UNKNOWN: &str = "UNKNOWN";

/// One element set as a file carries it: the estimate, and the identification fields that the
/// protocol keeps in `ObjectMetadata` rather than in the estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementSet {
    pub estimate: OrbitEstimate,
    /// Line 0 of a 3LE, OMM OBJECT_NAME, CSV OBJECT_NAME.
    pub name: Option<String>,
    /// COSPAR international designator in OMM form (`1998-067A`); TLE columns 10–17 hold the
    /// short form (`98067A`).
    pub cospar_id: Option<String>,
}

/// Where in a file a problem is, and what it is.
///
/// Displayed as `file:line: object N: field: reason`; errors about output (a value the
/// target format cannot hold) have line 0 and display as `file: object N: field: reason`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {}{field}: {reason}", location(file, *line), object_prefix(object.as_deref()))]
pub struct FormatError {
    /// The file (or `<stdin>`, or another origin label).
    pub file: String,
    /// 1-based line number where the problem is (for JSON and XML, the line of the record);
    /// 0 when the problem is not in an input (writing).
    pub line: usize,
    /// The object, when it is known at that point (catalogue number or name).
    pub object: Option<String>,
    /// The field or keyword at fault (`eccentricity`, `checksum`, `MEAN_MOTION`, ...).
    pub field: String,
    pub reason: String,
}

fn location(file: &str, line: usize) -> String {
    if line == 0 {
        file.to_owned()
    } else {
        format!("{file}:{line}")
    }
}

fn object_prefix(object: Option<&str>) -> String {
    object.map(|o| format!("object {o}: ")).unwrap_or_default()
}

impl FormatError {
    pub fn new(
        file: &str,
        line: usize,
        object: Option<String>,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self { file: file.to_owned(), line, object, field: field.into(), reason: reason.into() }
    }
}

/// What a reader made of a file: every element set it could read, and one error per record
/// it could not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOutcome {
    pub sets: Vec<ElementSet>,
    pub errors: Vec<FormatError>,
}

impl ReadOutcome {
    /// An outcome with no sets and one error (the whole input was unreadable).
    pub fn failed(error: FormatError) -> Self {
        Self { sets: Vec::new(), errors: vec![error] }
    }
}

/// The element-set formats [`read_element_sets`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// TLE or 3LE (name lines optional, per record).
    Tle,
    OmmKvn,
    OmmXml,
    OmmJson,
    Csv,
}

/// The formats [`write_element_sets`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Two lines per element set.
    Tle,
    /// A name line (padded to 24 columns) and two lines per element set.
    ThreeLe,
    /// CCSDS OMM in KVN, one message per element set, concatenated.
    OmmKvn,
    /// CCSDS OMM in XML: an `<ndm>` holding one `<omm>` per element set.
    OmmXml,
    /// OMM keywords in JSON, an array of flat objects (CelesTrak's layout).
    OmmJson,
    /// CelesTrak's GP CSV.
    Csv,
}

/// Guesses the format from the first non-blank text: `<` is XML, `[` or `{` JSON,
/// `CCSDS_OMM_VERS` KVN, a header row naming `OBJECT_NAME` or `NORAD_CAT_ID` CSV, anything
/// else TLE/3LE.
pub fn detect_format(text: &str) -> InputFormat {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let start = text.trim_start();
    let first_line = start.lines().next().unwrap_or("");
    if start.starts_with('<') {
        InputFormat::OmmXml
    } else if start.starts_with('[') || start.starts_with('{') {
        InputFormat::OmmJson
    } else if first_line.starts_with("CCSDS_") {
        InputFormat::OmmKvn
    } else if first_line.contains(',')
        && (first_line.contains("OBJECT_NAME") || first_line.contains("NORAD_CAT_ID"))
    {
        InputFormat::Csv
    } else {
        InputFormat::Tle
    }
}

/// Reads element sets from text in any supported format (see [`detect_format`]). `file` labels
/// errors. Bad records are reported in [`ReadOutcome::errors`], one each, and skipped.
pub fn read_element_sets(text: &str, file: &str) -> ReadOutcome {
    match detect_format(text) {
        InputFormat::Tle => tle::read(text, file),
        InputFormat::OmmKvn => omm::read_kvn(text, file),
        InputFormat::OmmXml => omm::read_xml(text, file),
        InputFormat::OmmJson => omm::read_json(text, file),
        InputFormat::Csv => csv::read(text, file),
    }
}

/// Writes element sets in one format. Fails, naming the object, on the first set the format
/// cannot hold (see [`writable`] to sort them out first).
pub fn write_element_sets(sets: &[ElementSet], format: OutputFormat) -> Result<String, FormatError> {
    match format {
        OutputFormat::Tle => tle::write(sets, false),
        OutputFormat::ThreeLe => tle::write(sets, true),
        OutputFormat::OmmKvn => omm::write_kvn(sets, &omm::OmmHeaderFields::now()),
        OutputFormat::OmmXml => omm::write_xml(sets, &omm::OmmHeaderFields::now()),
        OutputFormat::OmmJson => omm::write_json(sets),
        OutputFormat::Csv => csv::write(sets),
    }
}

/// Whether one element set can be written in a format, and if not, why (naming the object).
pub fn writable(set: &ElementSet, format: OutputFormat) -> Result<(), FormatError> {
    write_element_sets(std::slice::from_ref(set), format).map(|_| ())
}
