//! OMM keywords in JSON: an array of flat records (or one record), as CelesTrak and
//! Space-Track serve GP data. Values may be numbers or strings. Numbers are taken from their
//! JSON text (serde_json's `RawValue`) and converted with Rust's correctly rounded parser, so
//! `0.0001348` is exactly the `f64` a TLE's `0001348` gives.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::{
    fields, messages_for, outcome_from, Dialect, FieldValue, KeywordLines, Omm, OmmBuilder, Section,
};
use crate::numbers::LineIndex;
use crate::{ElementSet, FormatError, ReadOutcome};

/// Parses every record of a JSON text.
pub fn parse_json(text: &str, file: &str) -> Vec<Result<Omm, FormatError>> {
    parse_with_lines(text, file).into_iter().map(|r| r.map(|(omm, _)| omm)).collect()
}

/// Reads the element sets of a JSON text, one error per bad record.
pub fn read_json(text: &str, file: &str) -> ReadOutcome {
    outcome_from(parse_with_lines(text, file), file)
}

/// One JSON object's members in order, values still as JSON text.
struct JsonRecord<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for JsonRecord<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RecordVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for RecordVisitor<'a> {
            type Value = JsonRecord<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of OMM keywords")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut members = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
                    members.push((key, value));
                }
                Ok(JsonRecord(members))
            }
        }
        deserializer.deserialize_map(RecordVisitor(PhantomData))
    }
}

pub(crate) fn parse_with_lines(text: &str, file: &str) -> Vec<Result<(Omm, KeywordLines), FormatError>> {
    let lines = LineIndex::new(text);
    let text_start = text.as_ptr() as usize;
    // Where a value borrowed from `text` starts, as a line number.
    let line_of = |raw: &RawValue| lines.line_of((raw.get().as_ptr() as usize).wrapping_sub(text_start));
    let syntax = |e: serde_json::Error| FormatError::new(file, e.line().max(1), None, "JSON", e.to_string());
    let top: &RawValue = match serde_json::from_str(text) {
        Ok(top) => top,
        Err(e) => return vec![Err(syntax(e))],
    };
    let records: Vec<&RawValue> = match top.get().trim_start().as_bytes().first() {
        Some(b'[') => match serde_json::from_str(top.get()) {
            Ok(records) => records,
            Err(e) => return vec![Err(syntax(e))],
        },
        Some(b'{') => vec![top],
        _ => {
            return vec![Err(FormatError::new(
                file,
                line_of(top),
                None,
                "JSON",
                "expected an array of OMM records or one record",
            ))]
        }
    };
    records
        .into_iter()
        .map(|record| {
            let record_line = line_of(record);
            let members = serde_json::from_str::<JsonRecord<'_>>(record.get()).map_err(|e| {
                FormatError::new(file, record_line, None, "JSON", format!("not an OMM record: {e}"))
            })?;
            let mut builder = OmmBuilder::new(file, Dialect::Json, record_line);
            for (key, raw) in members.0 {
                let value_line = line_of(raw);
                let json = raw.get();
                match json.as_bytes().first() {
                    Some(b'"') => match serde_json::from_str::<String>(json) {
                        Ok(text) => builder.entry(&key, &text, value_line, None),
                        Err(e) => builder.fail(value_line, &key, e.to_string()),
                    },
                    Some(b'-' | b'0'..=b'9') => builder.entry(&key, json, value_line, None),
                    Some(b'n') => builder.entry(&key, "", value_line, None),
                    _ => builder.fail(value_line, &key, "expected a number or a string"),
                }
            }
            builder.finish()
        })
        .collect()
}

/// Metadata that JSON records leave out when it has the value they imply.
const IMPLIED_METADATA: [(&str, &str); 4] = [
    ("CENTER_NAME", "EARTH"),
    ("REF_FRAME", "TEME"),
    ("TIME_SYSTEM", "UTC"),
    ("MEAN_ELEMENT_THEORY", "SGP4"),
];

/// Writes messages as a JSON array of flat records in CelesTrak's layout and key order:
/// no header, metadata only where it differs from what a record implies (EARTH, TEME, UTC,
/// SGP4), numbers as JSON numbers in their shortest exact form.
pub fn format_json(messages: &[Omm]) -> String {
    let records: Vec<String> = messages
        .iter()
        .map(|omm| {
            let members: Vec<String> = fields(omm)
                .into_iter()
                .filter(|f| f.section != Section::Header)
                .filter(|f| !IMPLIED_METADATA.contains(&(f.keyword.as_str(), f.value.as_str())))
                .map(|f| {
                    let value = match &f.value {
                        FieldValue::Number(number) => number.clone(),
                        FieldValue::Text(text) => serde_json::Value::String(text.clone()).to_string(),
                    };
                    format!("    {}: {value}", serde_json::Value::String(f.keyword))
                })
                .collect();
            format!("  {{\n{}\n  }}", members.join(",\n"))
        })
        .collect();
    if records.is_empty() {
        "[]\n".to_owned()
    } else {
        format!("[\n{}\n]\n", records.join(",\n"))
    }
}

/// Writes element sets as CelesTrak-style JSON.
pub fn write_json(sets: &[ElementSet]) -> Result<String, FormatError> {
    // JSON records carry no header, so the header fields are irrelevant here.
    let header = super::OmmHeaderFields {
        creation_date: protocol::time::Epoch::from_micros(0),
        originator: String::new(),
    };
    Ok(format_json(&messages_for(sets, &header, "JSON output")?))
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample_set;
    use super::*;

    #[test]
    fn numbers_or_strings_and_lines() {
        let text = r#"[
  {"OBJECT_NAME": "ISS (ZARYA)", "OBJECT_ID": "1998-067A", "EPOCH": "2025-05-24T20:37:27.097824",
   "MEAN_MOTION": 15.49717269, "ECCENTRICITY": 0.0002122, "INCLINATION": 51.636,
   "RA_OF_ASC_NODE": 62.6541, "ARG_OF_PERICENTER": 144.9421, "MEAN_ANOMALY": 215.1708,
   "EPHEMERIS_TYPE": 0, "CLASSIFICATION_TYPE": "U", "NORAD_CAT_ID": 25544, "ELEMENT_SET_NO": 999,
   "REV_AT_EPOCH": 51154, "BSTAR": 0.00020518, "MEAN_MOTION_DOT": 0.00011156, "MEAN_MOTION_DDOT": 0},
  {"OBJECT_NAME": "ISS (ZARYA)", "OBJECT_ID": "1998-067A", "EPOCH": "2025-05-24T20:37:27.097824",
   "MEAN_MOTION": "15.49717269", "ECCENTRICITY": ".0002122", "INCLINATION": "51.6360",
   "RA_OF_ASC_NODE": "62.6541", "ARG_OF_PERICENTER": "144.9421", "MEAN_ANOMALY": "215.1708",
   "EPHEMERIS_TYPE": "0", "CLASSIFICATION_TYPE": "U", "NORAD_CAT_ID": "25544", "ELEMENT_SET_NO": "999",
   "REV_AT_EPOCH": "51154", "BSTAR": "0.00020518", "MEAN_MOTION_DOT": "0.00011156", "MEAN_MOTION_DDOT": "0",
   "TLE_LINE1": "ignored", "PERIOD": "92.9"},
  {"OBJECT_NAME": "BAD", "OBJECT_ID": "1998-067A",
   "MEAN_MOTION": true}
]"#;
        let outcome = read_json(text, "gp.json");
        assert_eq!(outcome.sets.len(), 2, "{:?}", outcome.errors);
        assert_eq!(outcome.sets[0], outcome.sets[1]);
        assert_eq!(outcome.errors.len(), 1);
        assert_eq!((outcome.errors[0].line, outcome.errors[0].field.as_str()), (14, "MEAN_MOTION"));
        let mut expected = sample_set();
        expected.estimate.covariance = None;
        expected.estimate.quality = None;
        expected.estimate.source.clear();
        assert_eq!(outcome.sets[0], expected);
    }

    #[test]
    fn round_trip() {
        let sets = vec![sample_set()];
        let text = write_json(&sets).unwrap();
        assert!(text.starts_with(
            "[\n  {\n    \"OBJECT_NAME\": \"ISS (ZARYA)\",\n    \"OBJECT_ID\": \"1998-067A\",\n    \"EPOCH\""
        ));
        let outcome = read_json(&text, "written.json");
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
        assert_eq!(outcome.sets, sets);
        assert_eq!(read_json("[]", "empty").sets.len(), 0);
        assert_eq!(read_json("{\"a\": [", "broken").errors[0].field, "JSON");
        assert_eq!(read_json("42", "number").errors[0].field, "JSON");
    }
}
