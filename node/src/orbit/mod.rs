//! Orbit data in and out (TLE, 3LE, CCSDS OMM in KVN/XML/JSON, CelesTrak GP CSV, CCSDS CDM)
//! and SGP4 propagation.
//!
//! Every reader turns text into [`ElementSet`]s (a `protocol::OrbitEstimate` plus the
//! identification that travels as metadata) and reports each bad record with its file, line,
//! object and field in a [`FormatError`], converting the rest.

use protocol::records::OrbitEstimate;

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
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {}{field}: {reason}", object.as_deref().map(|o| format!("object {o}: ")).unwrap_or_default())]
pub struct FormatError {
    /// The file (or `<stdin>`, or another origin label).
    pub file: String,
    /// 1-based line number where the problem is (for JSON and XML, the line of the record).
    pub line: usize,
    /// The object, when it is known at that point (catalogue number or name).
    pub object: Option<String>,
    /// The field or keyword at fault (`eccentricity`, `checksum`, `MEAN_MOTION`, ...).
    pub field: String,
    pub reason: String,
}
