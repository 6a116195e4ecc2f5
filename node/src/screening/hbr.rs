//! Hard-body radii per object from NASA CARA's HBR and mass table
//! (`HBR_Mass_Estimates_*_ForDistribution.csv`: `ObjectID,HBR,HBRSigma,HBRSource,...`).
//!
//! The combined hard-body radius of a pair is the sum of the two objects' radii. Rows with no
//! HBR (the DISCOS rows, which CARA may not distribute) give no radius for that object.

use std::collections::HashMap;
use std::path::Path;

use crate::orbit::FormatError;

/// Radii in metres by catalogue number.
#[derive(Debug, Clone, Default)]
pub struct HbrTable {
    radius_m: HashMap<u32, f64>,
}

impl HbrTable {
    /// Reads the table from a file.
    pub fn read(path: &Path) -> Result<Self, FormatError> {
        let label = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| FormatError::new(&label, 0, None, "file", format!("cannot read: {e}")))?;
        Self::parse(&text, &label)
    }

    /// Parses the CSV text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, FormatError> {
        let mut lines = text.lines().enumerate();
        let header = lines
            .next()
            .map(|(_, l)| l.trim_start_matches('\u{feff}').split(',').map(str::trim).collect::<Vec<_>>())
            .unwrap_or_default();
        let column = |name: &str| {
            header.iter().position(|h| h.eq_ignore_ascii_case(name)).ok_or_else(|| {
                FormatError::new(file, 1, None, name, "missing column (expected ObjectID,HBR,...)".to_owned())
            })
        };
        let (id_col, hbr_col) = (column("ObjectID")?, column("HBR")?);
        let mut radius_m = HashMap::new();
        for (index, line) in lines {
            let line_no = index + 1;
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let field = |col: usize, name: &str| {
                fields
                    .get(col)
                    .copied()
                    .ok_or_else(|| FormatError::new(file, line_no, None, name, "missing field".to_owned()))
            };
            let id_text = field(id_col, "ObjectID")?;
            let id: u32 = id_text.parse().map_err(|_| {
                FormatError::new(
                    file,
                    line_no,
                    None,
                    "ObjectID",
                    format!("not a catalogue number: {id_text:?}"),
                )
            })?;
            let hbr_text = field(hbr_col, "HBR")?;
            if hbr_text.is_empty() {
                continue;
            }
            let hbr: f64 =
                hbr_text.parse().ok().filter(|v: &f64| v.is_finite() && *v > 0.0).ok_or_else(|| {
                    FormatError::new(
                        file,
                        line_no,
                        Some(id.to_string()),
                        "HBR",
                        format!("not a positive number of metres: {hbr_text:?}"),
                    )
                })?;
            radius_m.insert(id, hbr);
        }
        Ok(Self { radius_m })
    }

    /// The radius of one object, metres.
    pub fn radius_m(&self, object: u32) -> Option<f64> {
        self.radius_m.get(&object).copied()
    }

    /// The combined radius of a pair, metres, when both are in the table.
    pub fn combined_m(&self, a: u32, b: u32) -> Option<f64> {
        Some(self.radius_m(a)? + self.radius_m(b)?)
    }

    pub fn len(&self) -> usize {
        self.radius_m.len()
    }

    pub fn is_empty(&self) -> bool {
        self.radius_m.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radii_are_read_and_rows_without_one_give_none() {
        let text = "ObjectID,HBR,HBRSigma,HBRSource\n1,,0,DISCOS DB\n51,0.96,1.1,SFK RCS Estimate\n74,3.7,0,Default\n";
        let table = HbrTable::parse(text, "t.csv").unwrap();
        assert_eq!(table.len(), 2);
        assert_eq!(table.radius_m(1), None);
        assert_eq!(table.radius_m(51), Some(0.96));
        assert_eq!(table.combined_m(51, 74), Some(0.96 + 3.7));
        assert_eq!(table.combined_m(1, 74), None);
    }

    #[test]
    fn bad_rows_are_errors_that_name_line_and_field() {
        let e = HbrTable::parse("ObjectID,HBR\n5,abc\n", "t.csv").unwrap_err().to_string();
        assert!(e.contains("t.csv:2") && e.contains("HBR") && e.contains("abc"), "{e}");
        let e = HbrTable::parse("ObjectID,HBR\nx,1\n", "t.csv").unwrap_err().to_string();
        assert!(e.contains("t.csv:2") && e.contains("ObjectID"), "{e}");
        let e = HbrTable::parse("Name,Size\n", "t.csv").unwrap_err().to_string();
        assert!(e.contains("ObjectID"), "{e}");
        let e = HbrTable::parse("ObjectID,HBR\n7,-2\n", "t.csv").unwrap_err().to_string();
        assert!(e.contains("positive"), "{e}");
    }
}
