//! Two-line (TLE) and three-line (3LE) element sets: reading with checksums, Alpha-5
//! catalogue numbers and the layouts real files use, and writing that reproduces the
//! producers' text byte for byte.
//!
//! Column layout (1-based, inclusive), as in Space-Track's and CelesTrak's documentation:
//!
//! ```text
//! 1 NNNNNC YYLLLPPP YYDDD.DDDDDDDD SNDOT/2XX SDDOT-E SBSTR-E T EEEEK
//! 2 NNNNN III.IIII RRR.RRRR EEEEEEE AAA.AAAA MMM.MMMM NN.NNNNNNNNRRRRRK
//! ```
//!
//! Reading is exact where the text is: the epoch's day fraction has eight digits, and
//! 1e-8 day is exactly 864 µs, so it is converted with integers, never through an `f64`.
//! Writing formats each field as the producers do (`%8.4f` angles, `%11.8f` mean motion,
//! TLE's `±MMMMM±E` exponent form, the eccentricity's leading point implied) so that
//! TLE → [`ElementSet`] → TLE gives back the same bytes, checksums included.

use protocol::ids::{alpha5_decode, alpha5_encode, ObjectId, MAX_ALPHA5_NUMBER};
use protocol::records::OrbitEstimate;
use protocol::time::{days_from_civil, is_leap, Epoch, MICROS_PER_DAY};

use super::numbers::parse_real;
use super::{ElementSet, FormatError, ReadOutcome};

/// Columns in a TLE line, checksum included.
pub const TLE_LINE_COLUMNS: usize = 69;

/// Width a 3LE name line is padded to, as Space-Track and CelesTrak write it.
pub const NAME_LINE_COLUMNS: usize = 24;

/// 1e-8 day (the last digit of a TLE epoch) in microseconds: 86 400 000 000 µs / 10⁸.
const MICROS_PER_EPOCH_DIGIT: i64 = 864;

/// Two-digit epoch years from this one on are 19xx, below it 20xx (Sputnik flew in 1957).
const FIRST_TWENTIETH_CENTURY_YEAR: u32 = 57;

/// How [`parse_pair`] reads, and where the lines came from (for errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TleOptions {
    /// Check each line's column-69 checksum. Turn off for files known to carry wrong ones
    /// (the SGP4 verification file's sets 33333–33335).
    pub verify_checksum: bool,
    /// The file name (or another origin label) errors carry.
    pub file: String,
    /// The 1-based line number of line 1 in that file; line 2 is the next.
    pub first_line: usize,
}

impl Default for TleOptions {
    fn default() -> Self {
        Self { verify_checksum: true, file: "<input>".into(), first_line: 1 }
    }
}

/// Reads one element set from its two lines and an optional name line (3LE line 0, with or
/// without Space-Track's leading `0 `).
///
/// Accepted layouts: LF or CRLF endings and trailing blanks; blank-padded numbers;
/// explicit `+` signs; blank classification (read as `U`), blank international designator
/// (no COSPAR id), blank ephemeris type, element set and revolution numbers (read as 0);
/// columns after 69 (the SGP4 verification file keeps its time span there) are ignored.
/// A checksum column may be absent only when `verify_checksum` is off.
pub fn parse_pair(
    name: Option<&str>,
    line1: &str,
    line2: &str,
    options: &TleOptions,
) -> Result<ElementSet, FormatError> {
    let line1 = line1.trim_end();
    let line2 = line2.trim_end();
    let line1_number = options.first_line;
    let line2_number = options.first_line + 1;
    let object = object_label(line1, line2, name);
    let error = |line: usize, field: &str, reason: String| {
        FormatError::new(&options.file, line, object.clone(), field, reason)
    };

    check_line_shape(line1, '1', options.verify_checksum).map_err(|(f, r)| error(line1_number, f, r))?;
    check_line_shape(line2, '2', options.verify_checksum).map_err(|(f, r)| error(line2_number, f, r))?;

    // Line 1.
    let l1 = |first, last| columns(line1, first, last);
    let err1 = |field: &str, reason: String| error(line1_number, field, reason);
    let catalogue_number =
        alpha5_decode(l1(3, 7)).map_err(|e| err1("catalogue number (columns 3-7)", e.why))?;
    let classification = match l1(8, 8) {
        "" | " " => 'U',
        "U" => 'U',
        "C" => 'C',
        "S" => 'S',
        other => return Err(err1("classification (column 8)", format!("{other:?} is not U, C or S"))),
    };
    let cospar_id = cospar_from_tle(l1(10, 17));
    let epoch = parse_epoch(l1(19, 32)).map_err(|r| err1("epoch (columns 19-32)", r))?;
    let mean_motion_dot = parse_real(l1(34, 43)).ok_or_else(|| {
        err1("mean motion dot (columns 34-43)", format!("{:?} is not a decimal number", l1(34, 43)))
    })?;
    let mean_motion_ddot = parse_exponent_field(l1(45, 52)).ok_or_else(|| {
        err1(
            "mean motion ddot (columns 45-52)",
            format!("{:?} is not in TLE's exponent form (e.g. ' 12345-5')", l1(45, 52)),
        )
    })?;
    let bstar = parse_exponent_field(l1(54, 61)).ok_or_else(|| {
        err1(
            "B* (columns 54-61)",
            format!("{:?} is not in TLE's exponent form (e.g. ' 12345-3')", l1(54, 61)),
        )
    })?;
    let ephemeris_type = parse_blank_or_digits(l1(63, 63))
        .and_then(|n| u8::try_from(n).ok())
        .ok_or_else(|| err1("ephemeris type (column 63)", format!("{:?} is not a digit", l1(63, 63))))?;
    let element_set_no = parse_blank_or_digits(l1(65, 68)).ok_or_else(|| {
        err1("element set number (columns 65-68)", format!("{:?} is not a number", l1(65, 68)))
    })?;

    // Line 2.
    let l2 = |first, last| columns(line2, first, last);
    let err2 = |field: &str, reason: String| error(line2_number, field, reason);
    let catalogue_number_2 =
        alpha5_decode(l2(3, 7)).map_err(|e| err2("catalogue number (columns 3-7)", e.why))?;
    if catalogue_number_2 != catalogue_number {
        return Err(err2(
            "catalogue number (columns 3-7)",
            format!("{catalogue_number_2} differs from line 1's {catalogue_number}"),
        ));
    }
    let angle = |first, last, what: &str| {
        parse_real(l2(first, last)).ok_or_else(|| {
            err2(
                &format!("{what} (columns {first}-{last})"),
                format!("{:?} is not a number", l2(first, last)),
            )
        })
    };
    let inclination_deg = angle(9, 16, "inclination")?;
    let ra_of_asc_node_deg = angle(18, 25, "right ascension of the ascending node")?;
    let eccentricity = parse_eccentricity(l2(27, 33)).ok_or_else(|| {
        err2("eccentricity (columns 27-33)", format!("{:?} is not seven digits", l2(27, 33)))
    })?;
    let arg_of_pericenter_deg = angle(35, 42, "argument of perigee")?;
    let mean_anomaly_deg = angle(44, 51, "mean anomaly")?;
    let mean_motion_rev_per_day = angle(53, 63, "mean motion")?;
    let rev_at_epoch = parse_blank_or_digits(l2(64, 68)).ok_or_else(|| {
        err2("revolution number (columns 64-68)", format!("{:?} is not a number", l2(64, 68)))
    })?;

    if options.verify_checksum {
        verify_checksum(line1).map_err(|r| err1("checksum (column 69)", r))?;
        verify_checksum(line2).map_err(|r| err2("checksum (column 69)", r))?;
    }

    let estimate = OrbitEstimate {
        object: ObjectId::Norad(catalogue_number),
        epoch,
        mean_motion_rev_per_day,
        eccentricity,
        inclination_deg,
        ra_of_asc_node_deg,
        arg_of_pericenter_deg,
        mean_anomaly_deg,
        bstar,
        mean_motion_dot,
        mean_motion_ddot,
        ephemeris_type,
        classification,
        element_set_no,
        rev_at_epoch,
        covariance: None,
        quality: None,
        source: String::new(),
    };
    Ok(ElementSet { estimate, name: name.map(clean_name).filter(|n| !n.is_empty()), cospar_id })
}

/// The catalogue number as written (or the name), for error messages.
fn object_label(line1: &str, line2: &str, name: Option<&str>) -> Option<String> {
    let from = |line: &str| line.get(2..7).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    from(line1).or_else(|| from(line2)).or_else(|| name.map(clean_name).filter(|n| !n.is_empty()))
}

/// A 3LE name line without its `0 ` prefix and trailing blanks.
fn clean_name(name: &str) -> String {
    let name = name.trim_end();
    name.strip_prefix("0 ").unwrap_or(name).trim_end().to_owned()
}

/// Columns `first..=last` (1-based) of an ASCII line; shorter (possibly empty) when the line
/// ends earlier.
fn columns(line: &str, first: usize, last: usize) -> &str {
    let start = first.saturating_sub(1).min(line.len());
    let end = last.min(line.len()).max(start);
    line.get(start..end).unwrap_or("")
}

/// Blank separator columns: a line shifted by a lost or extra character fails here rather
/// than being read with every field off by one.
const LINE1_BLANK_COLUMNS: [usize; 8] = [2, 9, 18, 33, 44, 53, 62, 64];
const LINE2_BLANK_COLUMNS: [usize; 7] = [2, 8, 17, 26, 34, 43, 52];

fn check_line_shape(line: &str, number: char, checksum_required: bool) -> Result<(), (&'static str, String)> {
    if !line.is_ascii() {
        return Err(("line", "holds non-ASCII characters".into()));
    }
    if !line.starts_with(number) {
        return Err(("line number (column 1)", format!("expected line {number}")));
    }
    let minimum = if checksum_required { TLE_LINE_COLUMNS } else { TLE_LINE_COLUMNS - 1 };
    if line.len() < minimum {
        return Err((
            "line length",
            format!("{} columns; a TLE line has {TLE_LINE_COLUMNS} (is a character missing?)", line.len()),
        ));
    }
    let blanks: &[usize] = if number == '1' { &LINE1_BLANK_COLUMNS } else { &LINE2_BLANK_COLUMNS };
    for &column in blanks {
        if columns(line, column, column) != " " {
            return Err((
                "layout",
                format!("column {column} should be blank: is a character missing or extra?"),
            ));
        }
    }
    Ok(())
}

/// TLE's checksum: the sum of the digits in columns 1-68, counting each '-' as 1, modulo 10.
pub fn checksum(line: &str) -> u8 {
    let sum: u32 = line
        .bytes()
        .take(TLE_LINE_COLUMNS - 1)
        .map(|b| match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'-' => 1,
            _ => 0,
        })
        .sum();
    (sum % 10) as u8
}

fn verify_checksum(line: &str) -> Result<(), String> {
    let expected = checksum(line);
    match columns(line, 69, 69).bytes().next() {
        Some(digit @ b'0'..=b'9') if digit - b'0' == expected => Ok(()),
        Some(digit @ b'0'..=b'9') => Err(format!("is {}, the line sums to {expected}", digit - b'0')),
        _ => Err(format!("missing; the line sums to {expected}")),
    }
}

/// `YYDDD.DDDDDDDD` to an epoch, exactly: the day fraction is read as an integer count of
/// 1e-8 day (864 µs each).
fn parse_epoch(text: &str) -> Result<Epoch, String> {
    let year_text = text.get(..2).unwrap_or("").trim();
    let two_digit_year = (year_text.len() <= 2 && !year_text.is_empty())
        .then(|| year_text.parse::<u32>().ok())
        .flatten()
        .ok_or_else(|| format!("year {year_text:?} is not two digits"))?;
    let year = if two_digit_year >= FIRST_TWENTIETH_CENTURY_YEAR { 1900 } else { 2000 } + two_digit_year;
    let year = i32::try_from(year).map_err(|_| "year out of range".to_owned())?;
    let day_text = text.get(2..).unwrap_or("").trim();
    let (whole_text, fraction_text) = day_text.split_once('.').unwrap_or((day_text, ""));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole_text) || !(fraction_text.is_empty() || digits(fraction_text)) || fraction_text.len() > 8
    {
        return Err(format!("day of year {day_text:?} is not DDD.DDDDDDDD"));
    }
    let day_of_year: i64 = whole_text.parse().map_err(|_| format!("day of year {day_text:?}"))?;
    let days_in_year = if is_leap(year) { 366 } else { 365 };
    if !(1..=days_in_year).contains(&day_of_year) {
        return Err(format!("day {day_of_year} of {year} does not exist"));
    }
    let scale = 10i64.pow(8 - fraction_text.len() as u32);
    let fraction_units: i64 = if fraction_text.is_empty() { 0 } else { fraction_text.parse().unwrap_or(0) };
    let micros_of_day = fraction_units * scale * MICROS_PER_EPOCH_DIGIT;
    let days = days_from_civil(year, 1, 1) + day_of_year - 1;
    Ok(Epoch::from_micros(days * MICROS_PER_DAY + micros_of_day))
}

/// TLE's exponent form `±MMMMM±E`, meaning ±0.MMMMM × 10^±E (e.g. ` 12345-3` is 1.2345e-4).
/// Blank-padded, with an optional sign on the mantissa and an optional leading point.
fn parse_exponent_field(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    let (negative, rest) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, trimmed.get(1..)?),
        Some(b'+') => (false, trimmed.get(1..)?),
        _ => (false, trimmed),
    };
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    let split = rest.find(['+', '-'])?;
    let (mantissa, exponent) = (rest.get(..split)?, rest.get(split..)?);
    let exponent_digits = exponent.get(1..)?;
    if mantissa.is_empty()
        || !mantissa.bytes().all(|b| b.is_ascii_digit())
        || exponent_digits.is_empty()
        || !exponent_digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let sign = if negative { "-" } else { "" };
    let value: f64 = format!("{sign}0.{mantissa}e{exponent}").parse().ok()?;
    value.is_finite().then_some(value)
}

/// Seven digits with the leading "0." implied; blanks count as zeros (a fixed-point field).
fn parse_eccentricity(text: &str) -> Option<f64> {
    if text.trim().is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b == b' ') {
        return None;
    }
    format!("0.{}", text.replace(' ', "0")).parse().ok()
}

/// A right-aligned unsigned field that producers leave blank when unknown (read as 0).
fn parse_blank_or_digits(text: &str) -> Option<u32> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Some(0);
    }
    if !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    trimmed.parse().ok()
}

/// TLE's international designator (`98067A  `) in OMM form (`1998-067A`). A blank field is
/// no designator; text in another shape is kept as written.
fn cospar_from_tle(field: &str) -> Option<String> {
    let designator = field.trim();
    if designator.is_empty() {
        return None;
    }
    let year = designator.get(..2).filter(|t| t.bytes().all(|b| b.is_ascii_digit()));
    let launch = designator.get(2..5).filter(|t| t.bytes().all(|b| b.is_ascii_digit()));
    let piece = designator.get(5..).filter(|t| t.len() <= 3 && t.bytes().all(|b| b.is_ascii_uppercase()));
    match (year, launch, piece) {
        (Some(year), Some(launch), Some(piece)) => {
            let century =
                if year.parse::<u32>().unwrap_or(0) >= FIRST_TWENTIETH_CENTURY_YEAR { "19" } else { "20" };
            Some(format!("{century}{year}-{launch}{piece}"))
        }
        _ => Some(designator.to_owned()),
    }
}

/// OMM's designator (`1998-067A`) in TLE's eight columns (`98067A  `).
fn cospar_to_tle(cospar: Option<&str>) -> Result<String, String> {
    let Some(cospar) = cospar else {
        return Ok(" ".repeat(8));
    };
    let short = match cospar.split_once('-') {
        Some((year, rest))
            if year.len() == 4
                && year.bytes().all(|b| b.is_ascii_digit())
                && rest.len() >= 3
                && rest.len() <= 6
                && rest.get(..3).is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
                && rest.get(3..).is_some_and(|p| p.bytes().all(|b| b.is_ascii_uppercase())) =>
        {
            format!("{}{rest}", year.get(2..).unwrap_or(""))
        }
        _ => cospar.to_owned(),
    };
    if short.len() > 8 || !short.is_ascii() {
        return Err(format!("{cospar:?} does not fit TLE's eight columns"));
    }
    Ok(format!("{short:<8}"))
}

/// Reads a TLE or 3LE file: pairs of lines 1 and 2, each optionally preceded by a name line.
/// Blank lines and lines starting with `#` are skipped. Every bad record becomes an error
/// with its line; the rest are read.
pub fn read(text: &str, file: &str) -> ReadOutcome {
    read_with(text, &TleOptions { file: file.to_owned(), ..TleOptions::default() })
}

/// [`read`] with options (`first_line` is ignored: lines are counted in `text`).
pub fn read_with(text: &str, options: &TleOptions) -> ReadOutcome {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<(usize, &str)> = text
        .split('\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim_end()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .collect();
    let mut outcome = ReadOutcome::default();
    let mut pending_name: Option<(usize, &str)> = None;
    let mut index = 0;
    let unpaired = |line: usize, object: Option<String>, reason: &str| {
        FormatError::new(&options.file, line, object, "line", reason)
    };
    while let Some(&(line_number, line)) = lines.get(index) {
        let next = lines.get(index + 1).copied();
        if is_element_line(line, '1') {
            match next {
                Some((_, line2)) if is_element_line(line2, '2') => {
                    let pair_options = TleOptions { first_line: line_number, ..options.clone() };
                    let name = pending_name.take().map(|(_, name)| name);
                    match parse_pair(name, line, line2, &pair_options) {
                        Ok(set) => outcome.sets.push(set),
                        Err(error) => outcome.errors.push(error),
                    }
                    index += 2;
                }
                _ => {
                    pending_name = None;
                    outcome.errors.push(unpaired(
                        line_number,
                        object_label(line, "", None),
                        "line 1 is not followed by its line 2",
                    ));
                    index += 1;
                }
            }
            continue;
        }
        if is_element_line(line, '2') {
            let name = pending_name.take();
            outcome.errors.push(unpaired(
                line_number,
                object_label("", line, name.map(|(_, n)| n)),
                "line 2 without its line 1 before it",
            ));
            index += 1;
            continue;
        }
        // A name line; two in a row means the first lost its element lines.
        if let Some((name_line, name)) = pending_name.replace((line_number, line)) {
            outcome.errors.push(unpaired(
                name_line,
                Some(clean_name(name)),
                "a name line (or an unreadable line) not followed by lines 1 and 2",
            ));
        }
        index += 1;
    }
    if let Some((name_line, name)) = pending_name {
        outcome.errors.push(unpaired(
            name_line,
            Some(clean_name(name)),
            "a name line at the end of the file",
        ));
    }
    outcome
}

/// Shortest line taken for a (possibly truncated) element line rather than a name: long
/// enough that a name starting with "1 " is implausible, short enough that a truncated line
/// is reported as such.
const MIN_ELEMENT_LINE_COLUMNS: usize = 20;

/// Whether a line is TLE line 1 or 2 rather than a name: the line number, a blank, and a
/// catalogue number field.
fn is_element_line(line: &str, number: char) -> bool {
    let mut chars = line.chars();
    chars.next() == Some(number)
        && chars.next() == Some(' ')
        && line.len() >= MIN_ELEMENT_LINE_COLUMNS
        && line.get(2..7).is_some_and(|n| n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' '))
}

/// Writes element sets as TLE (two lines each) or 3LE (a name line first), each line ending
/// in LF.
pub fn write(sets: &[ElementSet], with_names: bool) -> Result<String, FormatError> {
    let mut text = String::with_capacity(sets.len() * if with_names { 165 } else { 140 });
    for set in sets {
        let [line1, line2] = write_lines(set)?;
        if with_names {
            // A name line is one line: control characters (a line break in a name read from
            // JSON, say) become blanks, the one change TLE forces on a name.
            let name: String = set
                .name
                .as_deref()
                .unwrap_or(super::UNKNOWN)
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            text.push_str(&format!("{name:<NAME_LINE_COLUMNS$}\n"));
        }
        text.push_str(&line1);
        text.push('\n');
        text.push_str(&line2);
        text.push('\n');
    }
    Ok(text)
}

/// Largest element set number line 1 holds (four columns); larger ones wrap, as producers
/// wrap them.
const ELEMENT_SET_MODULUS: u32 = 10_000;
/// Revolution numbers wrap at 100 000 (five columns), as producers wrap them.
const REVOLUTION_MODULUS: u32 = 100_000;

/// The two lines of one element set, checksums included.
///
/// Fields TLE cannot hold are errors naming the object: a catalogue number above 339 999
/// (the last Alpha-5 number) or a provisional id, an epoch outside 1957–2056, an
/// eccentricity outside [0, 1), a value too wide for its columns, a non-finite value.
/// Element set and revolution numbers wrap as TLE's columns force (mod 10 000 and
/// 100 000). Covariance, quality and source are not part of TLE and are not written.
pub fn write_lines(set: &ElementSet) -> Result<[String; 2], FormatError> {
    let estimate = &set.estimate;
    let object = estimate.object.to_string();
    let error =
        |field: &str, reason: String| FormatError::new("TLE output", 0, Some(object.clone()), field, reason);
    let catalogue = match estimate.object {
        ObjectId::Norad(n) => alpha5_encode(n).ok_or_else(|| {
            error(
                "catalogue number",
                format!(
                    "{n} is above {MAX_ALPHA5_NUMBER}, the largest number Alpha-5 (and so TLE) can carry; \
                     write OMM or CSV instead"
                ),
            )
        })?,
        ObjectId::Provisional { .. } => {
            return Err(error(
                "catalogue number",
                "a provisional id has no TLE form; write OMM instead".into(),
            ))
        }
    };
    let finite = |value: f64, field: &str| {
        if value.is_finite() {
            Ok(value)
        } else {
            Err(error(field, format!("{value} is not a finite number")))
        }
    };
    let classification = estimate.classification;
    if !classification.is_ascii_graphic() {
        return Err(error("classification", format!("{classification:?} is not one printable character")));
    }
    let cospar = cospar_to_tle(set.cospar_id.as_deref()).map_err(|r| error("international designator", r))?;
    let epoch = format_epoch(estimate.epoch).map_err(|r| error("epoch", r))?;
    let ndot = format_mean_motion_dot(finite(estimate.mean_motion_dot, "mean motion dot")?)
        .map_err(|r| error("mean motion dot", r))?;
    let nddot = format_exponent_field(finite(estimate.mean_motion_ddot, "mean motion ddot")?)
        .map_err(|r| error("mean motion ddot", r))?;
    let bstar = format_exponent_field(finite(estimate.bstar, "B*")?).map_err(|r| error("B*", r))?;
    if estimate.ephemeris_type > 9 {
        return Err(error("ephemeris type", format!("{} does not fit one column", estimate.ephemeris_type)));
    }
    let element_set = estimate.element_set_no % ELEMENT_SET_MODULUS;
    let line1 = format!(
        "1 {catalogue}{classification} {cospar} {epoch} {ndot} {nddot} {bstar} {} {element_set:>4}",
        estimate.ephemeris_type
    );

    let fixed = |value: f64, width: usize, decimals: usize, field: &str| {
        let text = format!("{:width$.decimals$}", finite(value, field)?);
        if text.len() > width {
            return Err(error(field, format!("{text} does not fit {width} columns")));
        }
        Ok(text)
    };
    let inclination = fixed(estimate.inclination_deg, 8, 4, "inclination")?;
    let raan = fixed(estimate.ra_of_asc_node_deg, 8, 4, "right ascension of the ascending node")?;
    let eccentricity = format_eccentricity(finite(estimate.eccentricity, "eccentricity")?)
        .map_err(|r| error("eccentricity", r))?;
    let arg_of_perigee = fixed(estimate.arg_of_pericenter_deg, 8, 4, "argument of perigee")?;
    let mean_anomaly = fixed(estimate.mean_anomaly_deg, 8, 4, "mean anomaly")?;
    let mean_motion = fixed(estimate.mean_motion_rev_per_day, 11, 8, "mean motion")?;
    let revolution = estimate.rev_at_epoch % REVOLUTION_MODULUS;
    let line2 = format!(
        "2 {catalogue} {inclination} {raan} {eccentricity} {arg_of_perigee} {mean_anomaly} {mean_motion}{revolution:>5}"
    );
    Ok([with_checksum(line1), with_checksum(line2)])
}

fn with_checksum(mut line: String) -> String {
    let digit = checksum(&line);
    line.push(char::from(b'0' + digit));
    line
}

/// The epoch as `YYDDD.DDDDDDDD`, rounded to the nearest 1e-8 day (864 µs; exact for
/// epochs read from TLEs).
fn format_epoch(epoch: Epoch) -> Result<String, String> {
    if !super::numbers::epoch_is_writable(epoch) {
        return Err(format!("{epoch} is outside 1957-2056, the years TLE's two digits can carry"));
    }
    let micros = epoch.micros();
    let units = micros.div_euclid(MICROS_PER_EPOCH_DIGIT);
    let remainder = micros.rem_euclid(MICROS_PER_EPOCH_DIGIT);
    let rounded_units = if remainder * 2 >= MICROS_PER_EPOCH_DIGIT { units + 1 } else { units };
    let rounded = Epoch::from_micros(rounded_units * MICROS_PER_EPOCH_DIGIT);
    let (year, _, _, micros_of_day) = rounded.to_civil();
    if !(1957..=2056).contains(&year) {
        return Err(format!("{epoch} is outside 1957-2056, the years TLE's two digits can carry"));
    }
    let day_of_year = rounded.micros().div_euclid(MICROS_PER_DAY) - days_from_civil(year, 1, 1) + 1;
    let fraction = micros_of_day / MICROS_PER_EPOCH_DIGIT;
    Ok(format!("{:02}{day_of_year:03}.{fraction:08}", year % 100))
}

/// ṅ/2 as ` .00001234` / `-.00002218`: sign column, then eight decimals without the
/// leading zero.
fn format_mean_motion_dot(value: f64) -> Result<String, String> {
    let digits = format!("{:.8}", value.abs());
    let Some(decimals) = digits.strip_prefix("0.") else {
        return Err(format!("{value} is not below 1 rev/day², all TLE's ten columns hold"));
    };
    // No minus sign on a value that rounds to zero, so that writing is a fixed point.
    let sign = if value < 0.0 && decimals.bytes().any(|b| b != b'0') { '-' } else { ' ' };
    Ok(format!("{sign}.{decimals}"))
}

/// TLE's exponent form: sign, five mantissa digits with the point implied before them,
/// exponent sign and digit. ` 12345-3` is 0.12345e-3; zero is ` 00000+0`. Values below the
/// field's smallest (1e-10) are written as zero; values of 1e9 or more do not fit.
fn format_exponent_field(value: f64) -> Result<String, String> {
    let sign = if value < 0.0 { '-' } else { ' ' };
    if value == 0.0 {
        return Ok(" 00000+0".to_owned());
    }
    // `{:.4e}` rounds correctly to five significant digits: "1.8756e-4".
    let scientific = format!("{:.4e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').ok_or("unexpected float format")?;
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().map_err(|_| "unexpected float format")?;
    let tle_exponent = exponent + 1; // 1.8756e-4 = 0.18756e-3
    if tle_exponent < -9 {
        return Ok(" 00000+0".to_owned());
    }
    if tle_exponent > 9 {
        return Err(format!("{value} does not fit TLE's exponent form (at most 0.99999e+9)"));
    }
    let exponent_sign = if tle_exponent < 0 { '-' } else { '+' };
    Ok(format!("{sign}{digits}{exponent_sign}{}", tle_exponent.abs()))
}

/// Seven digits after the implied point, from the shortest decimal text that reads back as
/// the value, truncated as producers truncate (never rounding the float itself).
fn format_eccentricity(value: f64) -> Result<String, String> {
    if !(0.0..1.0).contains(&value) {
        return Err(format!("{value} is outside [0, 1), all TLE can carry"));
    }
    let text = format!("{value}");
    let decimals = text.strip_prefix("0.").unwrap_or("");
    Ok(format!("{:0<7}", decimals.get(..7).unwrap_or(decimals)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // A made-up element set in the real layout (not taken from any data file).
    const LINE1: &str = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927";
    const LINE2: &str = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537";

    fn parse(line1: &str, line2: &str) -> Result<ElementSet, FormatError> {
        parse_pair(Some("ISS (ZARYA)"), line1, line2, &TleOptions::default())
    }

    #[test]
    fn reads_every_field() {
        let set = parse(LINE1, LINE2).unwrap();
        let e = &set.estimate;
        assert_eq!(e.object, ObjectId::Norad(25544));
        assert_eq!(set.name.as_deref(), Some("ISS (ZARYA)"));
        assert_eq!(set.cospar_id.as_deref(), Some("1998-067A"));
        assert_eq!(e.classification, 'U');
        // 2008 day 264 + 0.51782528 day = 12:25:40.104192 exactly.
        assert_eq!(e.epoch, Epoch::parse_iso("2008-09-20T12:25:40.104192Z").unwrap());
        assert_eq!(e.mean_motion_dot, -0.00002182);
        assert_eq!(e.mean_motion_ddot, 0.0);
        assert_eq!(e.bstar, -0.11606e-4);
        assert_eq!(e.ephemeris_type, 0);
        assert_eq!(e.element_set_no, 292);
        assert_eq!(e.inclination_deg, 51.6416);
        assert_eq!(e.ra_of_asc_node_deg, 247.4627);
        assert_eq!(e.eccentricity, 0.0006703);
        assert_eq!(e.arg_of_pericenter_deg, 130.5360);
        assert_eq!(e.mean_anomaly_deg, 325.0288);
        assert_eq!(e.mean_motion_rev_per_day, 15.72125391);
        assert_eq!(e.rev_at_epoch, 56353);
    }

    #[test]
    fn writes_back_the_same_bytes() {
        let set = parse(LINE1, LINE2).unwrap();
        let [line1, line2] = write_lines(&set).unwrap();
        // The writer writes " 00000+0" for zero, the form both catalogues use.
        assert_eq!(line1, LINE1.replace(" 00000-0 ", " 00000+0 ").replace("2927", "2926"));
        assert_eq!(line2, LINE2);
    }

    #[test]
    fn layouts_real_files_use() {
        // CRLF and trailing blanks, '0 ' name prefix, explicit '+' signs.
        let set = parse_pair(
            Some("0 ISS (ZARYA)   \r"),
            &format!("{LINE1}  \r"),
            &format!("{LINE2}\r"),
            &TleOptions::default(),
        )
        .unwrap();
        assert_eq!(set.name.as_deref(), Some("ISS (ZARYA)"));
        let plus = LINE1.replace("-.00002182", "+.00002182");
        let plus = format!("{}{}", &plus[..68], checksum(&plus));
        assert_eq!(parse(&plus, LINE2).unwrap().estimate.mean_motion_dot, 0.00002182);
        // Blank designator, ephemeris type and element set number (as in SGP4-VER's 11801).
        let blank = "1 11801U          80230.29629788  .01431103  00000-0  14311-1      1";
        let blank = format!("{blank}{}", checksum(blank));
        let line2 = "2 11801  46.7916 230.4354 7318036  47.4722  10.4117  2.28537848    1";
        let line2 = format!("{line2}{}", checksum(line2));
        let set = parse(&blank, &line2).unwrap();
        assert_eq!(set.cospar_id, None);
        assert_eq!(set.estimate.ephemeris_type, 0);
        assert_eq!(set.estimate.element_set_no, 1);
        assert_eq!(set.estimate.rev_at_epoch, 1);
    }

    #[test]
    fn alpha5_both_ways() {
        let line1 = LINE1.replacen("25544", "A0001", 1);
        let line2 = LINE2.replacen("25544", "A0001", 1);
        let line1 = format!("{}{}", &line1[..68], checksum(&line1));
        let line2 = format!("{}{}", &line2[..68], checksum(&line2));
        let set = parse(&line1, &line2).unwrap();
        assert_eq!(set.estimate.object, ObjectId::Norad(100_001));
        let [written1, written2] = write_lines(&set).unwrap();
        assert!(written1.starts_with("1 A0001U"));
        assert!(written2.starts_with("2 A0001 "));

        let mut too_big = set.clone();
        too_big.estimate.object = ObjectId::Norad(340_000);
        let error = write_lines(&too_big).unwrap_err();
        assert_eq!(error.object.as_deref(), Some("340000"));
        assert!(error.to_string().contains("339999"), "{error}");
    }

    #[test]
    fn two_digit_years() {
        assert_eq!(parse_epoch("57001.00000000").unwrap(), Epoch::from_civil(1957, 1, 1, 0));
        assert_eq!(parse_epoch("99365.50000000").unwrap(), Epoch::from_civil(1999, 12, 31, 43_200_000_000));
        assert_eq!(parse_epoch("00001.00000000").unwrap(), Epoch::from_civil(2000, 1, 1, 0));
        assert_eq!(parse_epoch("56366.00000000").unwrap(), Epoch::from_civil(2056, 12, 31, 0));
        assert!(parse_epoch("23366.00000000").is_err());
        assert!(parse_epoch("23000.50000000").is_err());
        assert_eq!(parse_epoch("23001.00000001").unwrap().micros() % MICROS_PER_DAY, 864);
    }

    #[test]
    fn errors_name_line_object_and_field() {
        let options = TleOptions { file: "cat.txt".into(), first_line: 41, ..TleOptions::default() };
        let bad = LINE2.replace("0006703", "00x6703");
        let error = parse_pair(None, LINE1, &bad, &options).unwrap_err();
        assert_eq!(error.line, 42);
        assert_eq!(error.object.as_deref(), Some("25544"));
        assert!(error.field.contains("eccentricity"));
        assert_eq!(error.to_string().split(':').next(), Some("cat.txt"));

        let wrong_sum = format!("{}0", &LINE1[..68]);
        let error = parse_pair(None, &wrong_sum, LINE2, &options).unwrap_err();
        assert!(error.field.contains("checksum"), "{error}");
        let lenient = TleOptions { verify_checksum: false, ..options.clone() };
        assert!(parse_pair(None, &wrong_sum, LINE2, &lenient).is_ok());

        let shifted = LINE1.replacen("U ", "U", 1);
        assert!(parse_pair(None, &shifted, LINE2, &lenient).is_err());
        let other = LINE2.replacen("25544", "25545", 1);
        assert!(parse_pair(None, LINE1, &other, &lenient).unwrap_err().field.contains("catalogue"));
    }

    #[test]
    fn exponent_fields() {
        assert_eq!(parse_exponent_field(" 12345-3"), Some(0.12345e-3));
        assert_eq!(parse_exponent_field("-11606-4"), Some(-0.11606e-4));
        assert_eq!(parse_exponent_field("+12345+1"), Some(1.2345));
        assert_eq!(parse_exponent_field(" 00000+0"), Some(0.0));
        assert_eq!(parse_exponent_field(" 00000-0"), Some(0.0));
        assert_eq!(parse_exponent_field("  12345-3"), Some(0.12345e-3));
        for bad in ["", "12345", "1234x-3", "-+1-3", "12345-", " .-3"] {
            assert_eq!(parse_exponent_field(bad), None, "{bad:?}");
        }
        assert_eq!(format_exponent_field(0.12345e-3).unwrap(), " 12345-3");
        assert_eq!(format_exponent_field(-0.11606e-4).unwrap(), "-11606-4");
        assert_eq!(format_exponent_field(0.0).unwrap(), " 00000+0");
        assert_eq!(format_exponent_field(1.5).unwrap(), " 15000+1");
        assert_eq!(format_exponent_field(1e-12).unwrap(), " 00000+0");
        assert!(format_exponent_field(1e10).is_err());
    }

    #[test]
    fn fixed_fields() {
        assert_eq!(format_mean_motion_dot(0.00001234).unwrap(), " .00001234");
        assert_eq!(format_mean_motion_dot(-0.00002218).unwrap(), "-.00002218");
        assert!(format_mean_motion_dot(1.5).is_err());
        assert_eq!(format_eccentricity(0.1847034).unwrap(), "1847034");
        assert_eq!(format_eccentricity(0.0).unwrap(), "0000000");
        // One ulp above 0.0001348: its shortest text is 0.00013480000000000002, truncated.
        let above = f64::from_bits(0.0001348f64.to_bits() + 1);
        assert_eq!(format!("{above}"), "0.00013480000000000002");
        assert_eq!(format_eccentricity(above).unwrap(), "0001348");
        // And one below: 0.00013479999999999998 truncates to 0001347, as producers would.
        let below = f64::from_bits(0.0001348f64.to_bits() - 1);
        assert_eq!(format_eccentricity(below).unwrap(), "0001347");
        assert_eq!(format_eccentricity(0.12345678).unwrap(), "1234567");
        assert!(format_eccentricity(1.0).is_err());
        assert_eq!(cospar_to_tle(Some("1998-067A")).unwrap(), "98067A  ");
        assert_eq!(cospar_to_tle(Some("1970-025")).unwrap(), "70025   ");
        assert_eq!(cospar_to_tle(None).unwrap(), "        ");
        assert_eq!(cospar_from_tle("70025   ").as_deref(), Some("1970-025"));
        assert_eq!(cospar_from_tle("23001ABC").as_deref(), Some("2023-001ABC"));
    }

    #[test]
    fn file_reader_reports_every_bad_record_and_reads_the_rest() {
        let good = format!("ISS (ZARYA)\n{LINE1}\n{LINE2}\n");
        let text = format!(
            "{good}\n# comment\nORPHAN NAME\n{LINE2}\nBROKEN\n{}\n{LINE2}\n{good}",
            LINE1.replace('.', ",")
        );
        let outcome = read(&text, "mixed.tle");
        assert_eq!(outcome.sets.len(), 2);
        assert_eq!(outcome.errors.len(), 2, "{:?}", outcome.errors);
        assert_eq!(outcome.errors[0].line, 7);
        assert_eq!(outcome.errors[1].line, 9);
    }

    /// Five-digit mantissas as producers write them: zero, or a first digit that is not 0.
    fn normalised_mantissa() -> impl Strategy<Value = i64> {
        prop_oneof![Just(0i64), 10_000i64..=99_999, -99_999i64..=-10_000]
    }

    fn grid(max_units: i64, scale: f64) -> impl Strategy<Value = f64> {
        (0..max_units).prop_map(move |units| units as f64 / scale)
    }

    prop_compose! {
        /// Estimates whose every field is on TLE's grid, so reading their TLE gives them back.
        fn tle_grid_estimate()(
            number in 0u32..=MAX_ALPHA5_NUMBER,
            micros in 0i64..(100 * 365 * MICROS_PER_DAY / MICROS_PER_EPOCH_DIGIT),
            mean_motion in grid(1_700_000_000, 1e8),
            eccentricity in grid(10_000_000, 1e7),
            angles in [grid(1_800_000, 1e4), grid(3_600_000, 1e4), grid(3_600_000, 1e4), grid(3_600_000, 1e4)],
            ndot in (-99_999_999i64..=99_999_999).prop_map(|u| u as f64 / 1e8),
            exponents in [(normalised_mantissa(), -9i32..=9), (normalised_mantissa(), -9i32..=9)],
            ephemeris_type in 0u8..=9,
            classification in prop::sample::select(vec!['U', 'C', 'S']),
            element_set_no in 0u32..10_000,
            rev_at_epoch in 0u32..100_000,
        ) -> OrbitEstimate {
            let exponent_value = |(mantissa, exponent): (i64, i32)| {
                if mantissa == 0 { 0.0 } else {
                    let sign = if mantissa < 0 { "-" } else { "" };
                    format!("{sign}0.{:05}e{exponent}", mantissa.abs()).parse::<f64>().unwrap_or(0.0)
                }
            };
            OrbitEstimate {
                object: ObjectId::Norad(number),
                epoch: Epoch::from_civil(1957, 1, 1, 0).plus_micros(micros * MICROS_PER_EPOCH_DIGIT),
                mean_motion_rev_per_day: mean_motion,
                eccentricity,
                inclination_deg: angles[0],
                ra_of_asc_node_deg: angles[1],
                arg_of_pericenter_deg: angles[2],
                mean_anomaly_deg: angles[3],
                bstar: exponent_value(exponents[0]),
                mean_motion_dot: ndot,
                mean_motion_ddot: exponent_value(exponents[1]),
                ephemeris_type,
                classification,
                element_set_no,
                rev_at_epoch,
                covariance: None,
                quality: None,
                source: String::new(),
            }
        }
    }

    proptest! {
        #[test]
        fn write_then_read_gives_the_estimate_back(estimate in tle_grid_estimate()) {
            let set = ElementSet { estimate, name: Some("OBJECT".into()), cospar_id: Some("2001-042C".into()) };
            let [line1, line2] = write_lines(&set).unwrap();
            prop_assert_eq!(line1.len(), TLE_LINE_COLUMNS);
            prop_assert_eq!(line2.len(), TLE_LINE_COLUMNS);
            let back = parse_pair(Some("OBJECT"), &line1, &line2, &TleOptions::default()).unwrap();
            prop_assert_eq!(&back, &set);
            prop_assert_eq!(write_lines(&back).unwrap(), [line1, line2]);
        }

        #[test]
        fn written_text_is_a_fixed_point(
            estimate in tle_grid_estimate(),
            noise in prop::array::uniform8(-1e-9f64..1e-9),
        ) {
            // Off-grid values: the first write rounds, and from then on text is stable.
            let mut estimate = estimate;
            estimate.inclination_deg += noise[0];
            estimate.mean_motion_rev_per_day += noise[1];
            estimate.eccentricity = (estimate.eccentricity + noise[2].abs()).min(0.999_999_9);
            estimate.bstar += noise[3];
            estimate.mean_motion_dot += noise[4];
            estimate.epoch = estimate.epoch.plus_micros((noise[5] * 1e11) as i64);
            let set = ElementSet { estimate, name: None, cospar_id: None };
            if let Ok(lines) = write_lines(&set) {
                let back = parse_pair(None, &lines[0], &lines[1], &TleOptions::default()).unwrap();
                prop_assert_eq!(write_lines(&back).unwrap(), lines);
            }
        }

        #[test]
        fn arbitrary_lines_never_panic(line1 in ".{0,90}", line2 in "[ -~]{0,90}", name in proptest::option::of(".{0,30}")) {
            let _ = parse_pair(name.as_deref(), &line1, &line2, &TleOptions::default());
            let _ = parse_pair(None, &line1, &line2, &TleOptions { verify_checksum: false, ..TleOptions::default() });
        }

        #[test]
        fn mutated_lines_never_panic(
            estimate in tle_grid_estimate(),
            edits in prop::collection::vec((0usize..70, any::<char>(), 0u8..3), 1..6),
        ) {
            let set = ElementSet { estimate, name: None, cospar_id: None };
            let [mut line1, mut line2] = write_lines(&set).unwrap();
            for (position, ch, kind) in edits {
                let target = if position % 2 == 0 { &mut line1 } else { &mut line2 };
                let at = target.char_indices().nth(position.min(target.chars().count().saturating_sub(1))).map(|(i, _)| i).unwrap_or(0);
                match kind {
                    0 => { target.insert(at, ch); }
                    1 => { if at < target.len() { target.remove(at); } }
                    _ => { if at < target.len() { target.remove(at); } target.insert(at, ch); }
                }
            }
            let _ = parse_pair(None, &line1, &line2, &TleOptions::default());
            let _ = read(&format!("NAME\n{line1}\n{line2}\n"), "mutated");
        }
    }
}
