//! The CCSDS keyword = value notation (KVN) shared by OMM and CDM: one line at a time into a
//! comment, a keyword with its value and optional `[units]`, or a reason it is neither.

/// What one KVN line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KvnLine<'a> {
    /// Empty or only blanks.
    Blank,
    /// `COMMENT text`: the text, trimmed.
    Comment(&'a str),
    /// `KEYWORD = value [units]`. Units are split off only after a number (or `NaN`), so
    /// that text values ending in brackets (`OBJECT_NAME = SAT [A]`) stay whole.
    Entry { keyword: &'a str, value: &'a str, units: Option<&'a str> },
    /// Not KVN; the reason.
    Malformed(&'static str),
}

/// Reads one line (without its line ending; a trailing `\r` is tolerated).
pub(crate) fn parse_line(line: &str) -> KvnLine<'_> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return KvnLine::Blank;
    }
    if let Some(rest) = trimmed.strip_prefix("COMMENT") {
        // `COMMENT text`, and the `COMMENT = text` some producers write.
        if rest.is_empty() || rest.starts_with(|c: char| c.is_whitespace() || c == '=') {
            return KvnLine::Comment(rest.trim());
        }
    }
    let Some((keyword, rest)) = trimmed.split_once('=') else {
        return KvnLine::Malformed("expected KEYWORD = value");
    };
    let keyword = keyword.trim();
    if keyword.is_empty() {
        return KvnLine::Malformed("expected KEYWORD = value: the keyword is missing");
    }
    if !keyword.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return KvnLine::Malformed("a keyword holds only letters, digits and '_'");
    }
    let rest = rest.trim();
    let (value, units) = match rest.strip_suffix(']').and_then(|r| r.rsplit_once('[')) {
        Some((value, units)) if is_numeric(value.trim()) => (value.trim(), Some(units.trim())),
        _ => (rest, None),
    };
    KvnLine::Entry { keyword, value, units }
}

fn is_numeric(value: &str) -> bool {
    value.eq_ignore_ascii_case("nan") || super::numbers::parse_real(value).is_some()
}

/// Splits text into lines numbered from 1, accepting LF and CRLF.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n').enumerate().map(|(i, line)| (i + 1, line.strip_suffix('\r').unwrap_or(line)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_as_files_write_them() {
        assert_eq!(parse_line("   "), KvnLine::Blank);
        assert_eq!(parse_line("COMMENT this is a comment"), KvnLine::Comment("this is a comment"));
        assert_eq!(parse_line("COMMENT"), KvnLine::Comment(""));
        assert_eq!(parse_line("COMMENT                            =CDM_ID:5"), KvnLine::Comment("=CDM_ID:5"));
        assert_eq!(
            parse_line("MEAN_MOTION = 15.5 [rev/day]"),
            KvnLine::Entry { keyword: "MEAN_MOTION", value: "15.5", units: Some("rev/day") }
        );
        assert_eq!(
            parse_line("ORIGINATOR                         =CSpOC                    \r"),
            KvnLine::Entry { keyword: "ORIGINATOR", value: "CSpOC", units: None }
        );
        assert_eq!(
            parse_line("OBJECT_ID       ="),
            KvnLine::Entry { keyword: "OBJECT_ID", value: "", units: None }
        );
        assert_eq!(
            parse_line("USER_DEFINED_OBJ1_TIME_LASTOB_START=2020-01-29T13:30:00"),
            KvnLine::Entry {
                keyword: "USER_DEFINED_OBJ1_TIME_LASTOB_START",
                value: "2020-01-29T13:30:00",
                units: None
            }
        );
        assert_eq!(
            parse_line("OBJECT_NAME = SAT [A]"),
            KvnLine::Entry { keyword: "OBJECT_NAME", value: "SAT [A]", units: None }
        );
        assert_eq!(
            parse_line("CRDOT_T = -4.152E-02 this-is-not-a-number      [m**2/s]"),
            KvnLine::Entry {
                keyword: "CRDOT_T",
                value: "-4.152E-02 this-is-not-a-number      [m**2/s]",
                units: None
            }
        );
        assert_eq!(
            parse_line("OBS_USED = NaN [d]"),
            KvnLine::Entry { keyword: "OBS_USED", value: "NaN", units: Some("d") }
        );
        assert!(matches!(parse_line("no equals sign here"), KvnLine::Malformed(_)));
        assert!(matches!(parse_line("= 5"), KvnLine::Malformed(_)));
        assert!(matches!(parse_line("BAD KEY = 5"), KvnLine::Malformed(_)));
        // A COMMENTARY keyword is a keyword, not a comment.
        assert_eq!(
            parse_line("COMMENTARY = x"),
            KvnLine::Entry { keyword: "COMMENTARY", value: "x", units: None }
        );
    }

    #[test]
    fn numbered_lines_strip_carriage_returns() {
        let lines: Vec<_> = numbered_lines("a\r\nb\nc").collect();
        assert_eq!(lines, vec![(1, "a"), (2, "b"), (3, "c")]);
    }
}
