//! Number and time text shared by the orbit formats: strict decimal parsing (no `inf`, no
//! `NaN`, no hex), shortest round-trip formatting, and CCSDS epoch text.

use protocol::time::Epoch;

/// Parses a decimal real: optional sign, digits with an optional point (`.5`, `5.`, `-.47102`),
/// optional exponent (`E-5`, `e+03`). Surrounding blanks are ignored. Returns `None` for
/// anything else, including `inf`, `NaN` and values too large for an `f64`.
///
/// The conversion itself is Rust's `str::parse::<f64>`, which rounds correctly, so the same
/// decimal text always gives the same `f64` whatever its spelling (`0.00018756`,
/// `0.18756e-3`).
pub(crate) fn parse_real(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    if !is_decimal_real(trimmed) {
        return None;
    }
    let value: f64 = trimmed.parse().ok()?;
    value.is_finite().then_some(value)
}

/// Whether `text` has the shape `[+-]digits[.digits][(e|E)[+-]digits]` with at least one
/// mantissa digit.
fn is_decimal_real(text: &str) -> bool {
    let mut bytes = text.bytes().peekable();
    if matches!(bytes.peek(), Some(b'+' | b'-')) {
        bytes.next();
    }
    let mut mantissa_digits = 0usize;
    while bytes.next_if(u8::is_ascii_digit).is_some() {
        mantissa_digits += 1;
    }
    if bytes.next_if_eq(&b'.').is_some() {
        while bytes.next_if(u8::is_ascii_digit).is_some() {
            mantissa_digits += 1;
        }
    }
    if mantissa_digits == 0 {
        return false;
    }
    if bytes.next_if(|b| matches!(b, b'e' | b'E')).is_some() {
        bytes.next_if(|b| matches!(b, b'+' | b'-'));
        let mut exponent_digits = 0usize;
        while bytes.next_if(u8::is_ascii_digit).is_some() {
            exponent_digits += 1;
        }
        if exponent_digits == 0 {
            return false;
        }
    }
    bytes.next().is_none()
}

/// Parses a non-negative decimal integer with an optional `+` sign (`0925` is 925).
pub(crate) fn parse_unsigned(text: &str) -> Option<u64> {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Smallest magnitude written without an exponent: below it, plain decimals grow long runs
/// of zeros (`0.00000000000000000001`).
const PLAIN_DECIMAL_MIN: f64 = 1e-6;
/// Largest magnitude written without an exponent, for the same reason at the other end.
const PLAIN_DECIMAL_MAX: f64 = 1e16;

/// The shortest decimal text that reads back as exactly `value` (Rust's round-trip
/// formatting), in plain notation for ordinary magnitudes and with an exponent (`1.5e-9`)
/// for very small or very large ones. The caller checks `value.is_finite()`.
pub(crate) fn format_real(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 || (PLAIN_DECIMAL_MIN..PLAIN_DECIMAL_MAX).contains(&magnitude) {
        format!("{value}")
    } else {
        format!("{value:e}")
    }
}

/// An epoch as CCSDS and CelesTrak write it: `2023-03-31T01:30:23.392512` (UTC, microseconds,
/// no zone letter).
pub(crate) fn format_ccsds_epoch(epoch: Epoch) -> String {
    let mut text = epoch.to_string();
    text.pop(); // the trailing 'Z' of Epoch's ISO form
    text
}

/// Whether an epoch can be written in a text format and read back by `Epoch::parse_iso`
/// (and is one the protocol accepts): 1957 to 2200.
pub(crate) fn epoch_is_writable(epoch: Epoch) -> bool {
    epoch.in_range()
}

/// Line numbers of byte offsets in a text, for formats (XML, JSON) whose parsers report
/// offsets.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex {
    /// Byte offset at which each line starts; the first is 0.
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i + 1));
        Self { line_starts }
    }

    /// The 1-based line holding byte `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reals_in_the_spellings_files_use() {
        assert_eq!(parse_real(" 15.5 "), Some(15.5));
        assert_eq!(parse_real(".0205751"), Some(0.0205751));
        assert_eq!(parse_real("-.47102E-5"), Some(-0.47102e-5));
        assert_eq!(parse_real("+3.0539"), Some(3.0539));
        assert_eq!(parse_real("5."), Some(5.0));
        assert_eq!(parse_real("3.331349476038534e-04"), Some(3.331349476038534e-04));
        for bad in ["", ".", "-", "e5", "1e", "NaN", "inf", "-infinity", "0x10", "1.2.3", "1e400", "1 2"] {
            assert_eq!(parse_real(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unsigned_integers() {
        assert_eq!(parse_unsigned("0925"), Some(925));
        assert_eq!(parse_unsigned(" +7 "), Some(7));
        assert_eq!(parse_unsigned("-1"), None);
        assert_eq!(parse_unsigned("1.0"), None);
        assert_eq!(parse_unsigned(""), None);
    }

    #[test]
    fn line_index_counts_from_one() {
        let index = LineIndex::new("ab\ncd\n\nef");
        assert_eq!(index.line_of(0), 1);
        assert_eq!(index.line_of(2), 1);
        assert_eq!(index.line_of(3), 2);
        assert_eq!(index.line_of(6), 3);
        assert_eq!(index.line_of(7), 4);
        assert_eq!(index.line_of(100), 4);
    }

    proptest! {
        #[test]
        fn formatted_reals_read_back_exactly(value in any::<f64>().prop_filter("finite", |v| v.is_finite())) {
            prop_assert_eq!(parse_real(&format_real(value)), Some(value));
        }
    }
}
