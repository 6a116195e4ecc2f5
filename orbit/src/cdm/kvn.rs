//! CDM in KVN: header, relative metadata/data, then `OBJECT = OBJECT1` and
//! `OBJECT = OBJECT2`, each followed by its metadata and data.

use super::{check_writable, out_message, Cdm, CdmBuilder, OutField};
use crate::kvn::{numbered_lines, parse_line, KvnLine};
use crate::FormatError;

/// Reads one KVN CDM.
pub fn parse_kvn(text: &str, file: &str) -> Result<Cdm, FormatError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut builder: Option<CdmBuilder<'_>> = None;
    for (line_number, line) in numbered_lines(text) {
        let parsed = parse_line(line);
        if let KvnLine::Entry { keyword: "CCSDS_CDM_VERS", value, units } = parsed {
            match builder.as_mut() {
                Some(b) => b.fail(line_number, "CCSDS_CDM_VERS", "a second message: a CDM file holds one"),
                None => {
                    let mut b = CdmBuilder::new(file, line_number);
                    b.entry("CCSDS_CDM_VERS", value, units, line_number, None);
                    builder = Some(b);
                }
            }
            continue;
        }
        let Some(b) = builder.as_mut() else {
            if matches!(parsed, KvnLine::Blank) {
                continue;
            }
            return Err(FormatError::new(
                file,
                line_number,
                None,
                first_word(line),
                "before the CCSDS_CDM_VERS line: a CDM starts with CCSDS_CDM_VERS",
            ));
        };
        match parsed {
            KvnLine::Blank => {}
            KvnLine::Comment(text) => b.comment(text),
            KvnLine::Entry { keyword, value, units } => b.entry(keyword, value, units, line_number, None),
            KvnLine::Malformed(reason) => b.fail(line_number, first_word(line), reason),
        }
    }
    builder
        .ok_or_else(|| {
            FormatError::new(file, 1, None, "CCSDS_CDM_VERS", "no CCSDS_CDM_VERS line: not a CDM")
        })?
        .finish()
}

fn first_word(line: &str) -> &str {
    line.split(|c: char| c.is_whitespace() || c == '=').find(|w| !w.is_empty()).unwrap_or("line")
}

/// Keyword column width: the longest keyword (SEFI_COLLISION_PROBABILITY_METHOD) fits.
const KEYWORD_WIDTH: usize = 33;

/// Writes a CDM as KVN, without checking it (see [`write_kvn`]).
pub fn format_kvn(cdm: &Cdm) -> String {
    let message = out_message(cdm);
    let mut out = format!("{:<KEYWORD_WIDTH$} = {}\n", "CCSDS_CDM_VERS", one_line(&cdm.header.version));
    push_comments(&mut out, &cdm.header.comments);
    push_fields(&mut out, &message.header);
    push_comments(&mut out, &cdm.relative.comments);
    push_fields(&mut out, &message.relative);
    for (object, (metadata, data)) in [&cdm.object1, &cdm.object2].into_iter().zip(&message.objects) {
        push_comments(&mut out, &object.metadata_comments);
        push_fields(&mut out, metadata);
        push_comments(&mut out, &object.data_comments);
        push_fields(&mut out, data);
    }
    for (name, value) in &cdm.user_defined {
        out.push_str(&format!("{:<KEYWORD_WIDTH$} = {}\n", format!("USER_DEFINED_{name}"), one_line(value)));
    }
    out
}

fn push_comments(out: &mut String, comments: &[String]) {
    for comment in comments {
        out.push_str(&format!("COMMENT {}\n", one_line(comment)));
    }
}

fn push_fields(out: &mut String, fields: &[OutField]) {
    for field in fields {
        let units = field.units.as_deref().map(|u| format!(" [{u}]")).unwrap_or_default();
        out.push_str(&format!("{:<KEYWORD_WIDTH$} = {}{units}\n", field.keyword, one_line(&field.value)));
    }
}

/// KVN values live on one line.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// Writes a CDM as KVN after checking that it will read back (finite numbers, mandatory
/// values present).
pub fn write_kvn(cdm: &Cdm) -> Result<String, FormatError> {
    check_writable(cdm, "CDM output")?;
    Ok(format_kvn(cdm))
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::*;

    #[test]
    fn round_trip() {
        let cdm = sample();
        let text = write_kvn(&cdm).unwrap();
        assert_eq!(parse_kvn(&text, "written.cdm").unwrap(), cdm);
    }

    #[test]
    fn errors_name_line_and_keyword() {
        let text = write_kvn(&sample()).unwrap();
        let line_of = |keyword: &str| text.lines().position(|l| l.starts_with(keyword)).unwrap() + 1;
        let cases = [
            (text.replacen("TCA ", "TCB ", 1), line_of("TCA "), "TCB", "not a CDM keyword"),
            (
                text.replacen(&format!("{:<KEYWORD_WIDTH$} = 4.418769571", "X_DOT"), "X_DOT = four", 1),
                line_of("X_DOT "),
                "X_DOT",
                "not a number",
            ),
            (
                text.replacen(&format!("{:<KEYWORD_WIDTH$} = JSPOC", "ORIGINATOR"), "ORIGINATOR =", 1),
                line_of("ORIGINATOR"),
                "ORIGINATOR",
                "empty",
            ),
            (text.replacen("MISS_DISTANCE", "COMMENT", 1), line_of("TCA "), "MISS_DISTANCE", "missing"),
        ];
        for (bad, line, keyword, why) in cases {
            let error = parse_kvn(&bad, "bad.cdm").unwrap_err();
            assert_eq!((error.line, error.field.as_str()), (line, keyword), "{error}");
            assert!(error.reason.contains(why), "{error}");
        }
        let second_object_gone: String =
            text.lines().filter(|l| !l.starts_with("OBJECT ")).map(|l| format!("{l}\n")).collect();
        assert!(parse_kvn(&second_object_gone, "bad.cdm").is_err());
    }
}
