//! OMM in KVN: one or more messages, each starting at its `CCSDS_OMM_VERS` line (CelesTrak
//! and Space-Track concatenate them).

use super::{
    fields, messages_for, outcome_from, Dialect, KeywordLines, Omm, OmmBuilder, OmmHeaderFields, Section,
};
use crate::kvn::{numbered_lines, parse_line, KvnLine};
use crate::{ElementSet, FormatError, ReadOutcome};

/// Parses every message in a KVN text.
pub fn parse_kvn(text: &str, file: &str) -> Vec<Result<Omm, FormatError>> {
    parse_with_lines(text, file).into_iter().map(|r| r.map(|(omm, _)| omm)).collect()
}

/// Reads the element sets of a KVN text, one error per bad message.
pub fn read_kvn(text: &str, file: &str) -> ReadOutcome {
    outcome_from(parse_with_lines(text, file), file)
}

pub(crate) fn parse_with_lines(text: &str, file: &str) -> Vec<Result<(Omm, KeywordLines), FormatError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut messages = Vec::new();
    let mut current: Option<OmmBuilder<'_>> = None;
    let mut stray_reported = false;
    for (line_number, line) in numbered_lines(text) {
        let parsed = parse_line(line);
        if let KvnLine::Entry { keyword: "CCSDS_OMM_VERS", value, .. } = parsed {
            if let Some(builder) = current.take() {
                messages.push(builder.finish());
            }
            let mut builder = OmmBuilder::new(file, Dialect::Kvn, line_number);
            builder.entry("CCSDS_OMM_VERS", value, line_number, None);
            current = Some(builder);
            continue;
        }
        let Some(builder) = current.as_mut() else {
            if !matches!(parsed, KvnLine::Blank) && !stray_reported {
                stray_reported = true;
                let reason = match parsed {
                    KvnLine::Entry { keyword, .. }
                        if keyword.starts_with("CCSDS_") && keyword.ends_with("_VERS") =>
                    {
                        format!("this is another CCSDS message ({keyword}), not an OMM: only OMMs hold element sets")
                    }
                    _ => "before any CCSDS_OMM_VERS line: an OMM starts with CCSDS_OMM_VERS".to_owned(),
                };
                messages.push(Err(FormatError::new(file, line_number, None, first_word(line), reason)));
            }
            continue;
        };
        match parsed {
            KvnLine::Blank => {}
            KvnLine::Comment(text) => builder.comment(None, text),
            KvnLine::Entry { keyword, value, .. } => builder.entry(keyword, value, line_number, None),
            KvnLine::Malformed(reason) => builder.fail(line_number, first_word(line), reason),
        }
    }
    if let Some(builder) = current {
        messages.push(builder.finish());
    }
    messages
}

fn first_word(line: &str) -> &str {
    line.split(|c: char| c.is_whitespace() || c == '=').find(|w| !w.is_empty()).unwrap_or("line")
}

/// Keyword column width: the longest standard keyword (MEAN_ELEMENT_THEORY) fits.
const KEYWORD_WIDTH: usize = 19;

/// Writes messages as KVN, one after another, separated by a blank line.
pub fn format_kvn(messages: &[Omm]) -> String {
    let mut out = String::new();
    for (index, omm) in messages.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let all = fields(omm);
        let mut previous: Option<Section> = None;
        for field in &all {
            let section = field.section;
            if previous.is_some_and(|p| p != section) {
                out.push('\n');
            }
            if previous != Some(section) {
                // Comments follow CCSDS_OMM_VERS in the header, and open the other sections.
                let comments: &[String] = match section {
                    Section::Metadata => &omm.metadata.comments,
                    Section::MeanElements => &omm.data_comments,
                    _ => &[],
                };
                push_comments(&mut out, comments);
            }
            out.push_str(&format!(
                "{:<KEYWORD_WIDTH$} = {}\n",
                field.keyword,
                one_line(field.value.as_str())
            ));
            if field.keyword == "CCSDS_OMM_VERS" {
                push_comments(&mut out, &omm.header.comments);
            }
            previous = Some(section);
        }
    }
    out
}

fn push_comments(out: &mut String, comments: &[String]) {
    for comment in comments {
        out.push_str(&format!("COMMENT {}\n", one_line(comment)));
    }
}

/// KVN values live on one line.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// Writes element sets as KVN messages.
pub fn write_kvn(sets: &[ElementSet], header: &OmmHeaderFields) -> Result<String, FormatError> {
    Ok(format_kvn(&messages_for(sets, header, "OMM output")?))
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample_set;
    use super::*;

    const EXAMPLE: &str = "CCSDS_OMM_VERS = 3.0\nCOMMENT first\nCREATION_DATE = 2007-065T16:00:00\n\
        ORIGINATOR = NOAA/USA\n\nCOMMENT about the object\nOBJECT_NAME = GOES 9\nOBJECT_ID = 1995-025A\n\
        CENTER_NAME = EARTH\nREF_FRAME = TEME\nTIME_SYSTEM = UTC\nMEAN_ELEMENT_THEORY = SGP/SGP4\n\n\
        EPOCH = 2007-064T10:34:41.4264\nMEAN_MOTION = 1.00273272 [rev/day]\nECCENTRICITY = 0.0005013\n\
        INCLINATION = 3.0539\nRA_OF_ASC_NODE = 81.7939\nARG_OF_PERICENTER = 249.2363\n\
        MEAN_ANOMALY = 150.1602\nGM = 398600.8\nEPHEMERIS_TYPE = 0\nCLASSIFICATION_TYPE = U\n\
        NORAD_CAT_ID = 23581\nELEMENT_SET_NO = 0925\nREV_AT_EPOCH = 4316\nBSTAR = 0.0001\n\
        MEAN_MOTION_DOT = -0.00000113\nMEAN_MOTION_DDOT = 0.0\n";

    #[test]
    fn reads_a_message() {
        let outcome = read_kvn(EXAMPLE, "example.txt");
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
        let set = &outcome.sets[0];
        assert_eq!(set.name.as_deref(), Some("GOES 9"));
        assert_eq!(set.cospar_id.as_deref(), Some("1995-025A"));
        assert_eq!(set.estimate.mean_motion_rev_per_day, 1.00273272);
        assert_eq!(set.estimate.element_set_no, 925);
        let omm = parse_kvn(EXAMPLE, "example.txt").remove(0).unwrap();
        assert_eq!(omm.header.comments, vec!["first".to_owned()]);
        assert_eq!(omm.metadata.comments, vec!["about the object".to_owned()]);
        assert_eq!(omm.mean_elements.gm_km3_per_s2, Some(398600.8));
    }

    #[test]
    fn errors_name_line_and_keyword() {
        let cases = [
            (EXAMPLE.replace("OBJECT_ID = 1995-025A", "OBJECT_ID ="), 8, "OBJECT_ID", "empty"),
            (EXAMPLE.replace("INCLINATION = 3.0539\n", ""), 14, "INCLINATION", "missing"),
            (EXAMPLE.replace("BSTAR = 0.0001", "BSTAR = 1e-4x"), 27, "BSTAR", "not a number"),
            (EXAMPLE.replace("GM = 398600.8", "GMX = 398600.8"), 21, "GMX", "not an OMM keyword"),
            (EXAMPLE.replace("GM = 398600.8", "OBJECT_NAME = AGAIN"), 21, "OBJECT_NAME", "after the data"),
            (EXAMPLE.replace("GM = 398600.8", "EPOCH = 2007-064T10:34:41"), 21, "EPOCH", "twice"),
            (EXAMPLE.replace("GM = 398600.8", "not kvn at all"), 21, "not", "KEYWORD = value"),
            (EXAMPLE.replace("REF_FRAME = TEME", "REF_FRAME = TOD"), 10, "REF_FRAME", "TEME"),
        ];
        for (text, line, keyword, why) in cases {
            let outcome = read_kvn(&text, "bad.txt");
            assert!(outcome.sets.is_empty());
            let error = &outcome.errors[0];
            assert_eq!((error.line, error.field.as_str()), (line, keyword), "{error}");
            assert!(error.reason.contains(why), "{error}");
            assert_eq!(error.object.as_deref(), Some("23581"), "{error}");
        }
    }

    #[test]
    fn several_messages_and_round_trip() {
        let header = OmmHeaderFields::now();
        let mut second = sample_set();
        second.estimate.covariance = None;
        second.estimate.quality = None;
        second.estimate.source.clear();
        second.cospar_id = None;
        let sets = vec![sample_set(), second];
        let text = write_kvn(&sets, &header).unwrap();
        assert!(text.contains("OBJECT_ID           = UNKNOWN"));
        let outcome = read_kvn(&text, "written");
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
        assert_eq!(outcome.sets, sets);
        let messages: Vec<Omm> = parse_kvn(&text, "written").into_iter().map(Result::unwrap).collect();
        assert_eq!(format_kvn(&messages), text);
    }
}
