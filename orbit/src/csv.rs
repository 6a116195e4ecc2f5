//! CelesTrak's GP CSV: a header row of OMM keywords, then one element set per row (RFC 4180
//! quoting). Reading accepts the columns in any order, and Space-Track's extra columns; the
//! same rules as OMM JSON apply (see [`super::omm`]). Writing uses CelesTrak's column order
//! and CRLF line endings (RFC 4180). CSV holds no covariance, source or quality, and no
//! SGP4-XP element sets (it has no BTERM, AGOM or MEAN_ELEMENT_THEORY column).

use super::omm::{fields, messages_for, outcome_from, Dialect, Omm, OmmBuilder, OmmHeaderFields};
use super::{ElementSet, FormatError, ReadOutcome};

/// CelesTrak's columns, in its order.
pub const CELESTRAK_COLUMNS: [&str; 17] = [
    "OBJECT_NAME",
    "OBJECT_ID",
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
    "EPHEMERIS_TYPE",
    "CLASSIFICATION_TYPE",
    "NORAD_CAT_ID",
    "ELEMENT_SET_NO",
    "REV_AT_EPOCH",
    "BSTAR",
    "MEAN_MOTION_DOT",
    "MEAN_MOTION_DDOT",
];

/// One CSV record: its first line and its fields.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    line: usize,
    fields: Vec<String>,
}

/// Splits CSV text into rows (RFC 4180: quoted fields may hold commas, doubled quotes and
/// line breaks). Blank lines are skipped. An unterminated quote is an error at its row.
fn rows(text: &str) -> Result<Vec<Row>, (usize, String)> {
    let mut rows = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut row_line = 1;
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    let finish_row = |fields: &mut Vec<String>, field: &mut String, rows: &mut Vec<Row>, row_line: usize| {
        fields.push(std::mem::take(field));
        let row = std::mem::take(fields);
        if !(row.len() == 1 && row.first().is_some_and(|f| f.trim().is_empty())) {
            rows.push(Row { line: row_line, fields: row });
        }
    };
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => in_quotes = true,
            ',' => fields.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                finish_row(&mut fields, &mut field, &mut rows, row_line);
                line += 1;
                row_line = line;
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err((row_line, "a quoted field is never closed".into()));
    }
    finish_row(&mut fields, &mut field, &mut rows, row_line);
    Ok(rows)
}

/// Reads the element sets of a CSV text, one error per bad row.
pub fn read(text: &str, file: &str) -> ReadOutcome {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rows = match rows(text) {
        Ok(rows) => rows,
        Err((line, reason)) => return ReadOutcome::failed(FormatError::new(file, line, None, "CSV", reason)),
    };
    let mut rows = rows.into_iter();
    let Some(header) = rows.next() else {
        return ReadOutcome::default();
    };
    let columns: Vec<String> = header.fields.iter().map(|c| c.trim().to_owned()).collect();
    let messages = rows
        .map(|row| {
            if row.fields.len() != columns.len() {
                return Err(FormatError::new(
                    file,
                    row.line,
                    row.fields
                        .get(columns.iter().position(|c| c == "NORAD_CAT_ID").unwrap_or(usize::MAX))
                        .cloned(),
                    "row",
                    format!("{} fields where the header names {}", row.fields.len(), columns.len()),
                ));
            }
            let mut builder = OmmBuilder::new(file, Dialect::Csv, row.line);
            for (column, value) in columns.iter().zip(&row.fields) {
                builder.entry(column, value, row.line, None);
            }
            builder.finish()
        })
        .collect();
    outcome_from(messages, file)
}

/// Quotes a field when RFC 4180 requires it.
fn quoted(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// Writes element sets as CelesTrak GP CSV.
pub fn write(sets: &[ElementSet]) -> Result<String, FormatError> {
    let header =
        OmmHeaderFields { creation_date: protocol::time::Epoch::from_micros(0), originator: String::new() };
    let messages = messages_for(sets, &header, "CSV output")?;
    let mut out = CELESTRAK_COLUMNS.join(",");
    out.push_str("\r\n");
    for (omm, set) in messages.iter().zip(sets) {
        out.push_str(&row_of(omm, set)?);
        out.push_str("\r\n");
    }
    Ok(out)
}

fn row_of(omm: &Omm, set: &ElementSet) -> Result<String, FormatError> {
    if set.estimate.ephemeris_type == 4 {
        return Err(FormatError::new(
            "CSV output",
            0,
            Some(set.estimate.object.to_string()),
            "EPHEMERIS_TYPE",
            "an SGP4-XP element set needs BTERM and AGOM, which CelesTrak's CSV has no column for; write OMM instead",
        ));
    }
    let all = fields(omm);
    let cells: Vec<String> = CELESTRAK_COLUMNS
        .iter()
        .map(|column| {
            all.iter().find(|f| f.keyword == *column).map(|f| quoted(f.value.as_str())).unwrap_or_default()
        })
        .collect();
    Ok(cells.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::ids::ObjectId;
    use protocol::records::OrbitEstimate;
    use protocol::time::Epoch;

    fn set() -> ElementSet {
        ElementSet {
            estimate: OrbitEstimate {
                object: ObjectId::Norad(44714),
                epoch: Epoch::parse_iso("2025-05-24T18:20:22.669728").unwrap(),
                mean_motion_rev_per_day: 15.06416369,
                eccentricity: 0.0001348,
                inclination_deg: 53.0568,
                ra_of_asc_node_deg: 43.6519,
                arg_of_pericenter_deg: 91.4802,
                mean_anomaly_deg: 268.6341,
                bstar: 0.00020262,
                mean_motion_dot: 2.739e-05,
                mean_motion_ddot: 0.0,
                ephemeris_type: 0,
                classification: 'U',
                element_set_no: 999,
                rev_at_epoch: 30537,
                covariance: None,
                quality: None,
                source: String::new(),
            },
            name: Some("STARLINK-1008, \"A\"".into()),
            cospar_id: Some("2019-074B".into()),
        }
    }

    #[test]
    fn round_trip_with_quoting() {
        let sets = vec![set(), ElementSet { cospar_id: None, ..set() }];
        let text = write(&sets).unwrap();
        assert!(text.starts_with("OBJECT_NAME,OBJECT_ID,EPOCH,MEAN_MOTION,"));
        assert!(text.contains(
            "\"STARLINK-1008, \"\"A\"\"\",2019-074B,2025-05-24T18:20:22.669728,15.06416369,0.0001348,"
        ));
        let outcome = read(&text, "gp.csv");
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
        assert_eq!(outcome.sets, sets);
    }

    #[test]
    fn bad_rows_are_reported_and_the_rest_read() {
        let text = write(&[set(), set()]).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        let broken = lines[1].replace("15.06416369", "fifteen");
        lines[1] = &broken;
        lines.push("too,few,fields");
        let outcome = read(&lines.join("\n"), "gp.csv");
        assert_eq!(outcome.sets.len(), 1);
        assert_eq!(outcome.errors.len(), 2);
        assert_eq!((outcome.errors[0].line, outcome.errors[0].field.as_str()), (2, "MEAN_MOTION"));
        assert_eq!(outcome.errors[0].object.as_deref(), Some("44714"));
        assert_eq!(outcome.errors[1].line, 4);
        assert!(read("\"open", "q.csv").errors[0].reason.contains("never closed"));
    }
}
