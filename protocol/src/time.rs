//! Time as whole microseconds since 1970-01-01T00:00:00 UTC (leap seconds not counted, as
//! in TLE and OMM epochs). Integer time keeps every header check exact: no floating point
//! decides whether an update is admitted.

use std::fmt;

use bincode::{Decode, Encode};

/// Microseconds in one day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The earliest epoch an update may carry: 1957-01-01, before Sputnik 1.
pub const MIN_EPOCH_MICROS: i64 = -410_227_200_000_000;
/// The latest epoch an update may carry: 2200-01-01, far past any element set's validity.
pub const MAX_EPOCH_MICROS: i64 = 7_258_118_400_000_000;

/// A UTC instant in microseconds since the Unix epoch.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Default)]
pub struct Epoch(pub i64);

impl Epoch {
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }
    pub const fn micros(self) -> i64 {
        self.0
    }
    /// Whether the epoch lies in the range a header may carry (1957..2200).
    pub fn in_range(self) -> bool {
        (MIN_EPOCH_MICROS..MAX_EPOCH_MICROS).contains(&self.0)
    }
    /// Builds an epoch from a civil date and time of day (UTC).
    pub fn from_civil(year: i32, month: u32, day: u32, micros_of_day: i64) -> Self {
        Self(days_from_civil(year, month, day) * MICROS_PER_DAY + micros_of_day)
    }
    /// The civil date and the microseconds into that day.
    pub fn to_civil(self) -> (i32, u32, u32, i64) {
        let days = self.0.div_euclid(MICROS_PER_DAY);
        let rem = self.0.rem_euclid(MICROS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        (y, m, d, rem)
    }
    /// Minutes from `other` to `self`, as a float (SGP4's time argument).
    pub fn minutes_since(self, other: Epoch) -> f64 {
        (self.0 - other.0) as f64 / 60e6
    }
    /// Seconds between two epochs, as a float.
    pub fn seconds_since(self, other: Epoch) -> f64 {
        (self.0 - other.0) as f64 / 1e6
    }
    /// Adds a (possibly negative) number of microseconds, saturating.
    pub fn plus_micros(self, micros: i64) -> Epoch {
        Epoch(self.0.saturating_add(micros))
    }
    /// ISO 8601 with microseconds: `2023-03-31T12:00:00.000000Z`.
    pub fn to_iso(self) -> String {
        self.to_string()
    }
    /// ISO 8601 with milliseconds: `2023-03-31T12:00:00.000Z`.
    pub fn to_iso_millis(self) -> String {
        let (y, mo, d, rem) = self.to_civil();
        let (h, mi, s, us) = split_micros_of_day(rem);
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z", us / 1000)
    }
    /// Parses ISO 8601 UTC: `YYYY-MM-DDTHH:MM:SS[.ffffff][Z]`, or a date alone. Fractions
    /// beyond microseconds are rounded half-up.
    pub fn parse_iso(text: &str) -> Result<Self, EpochParseError> {
        let err = |why: &'static str| EpochParseError { text: text.chars().take(60).collect(), why };
        let t = text.trim();
        let t = t.strip_suffix('Z').or_else(|| t.strip_suffix('z')).unwrap_or(t);
        let (date, time) = match t.split_once(['T', 't', ' ']) {
            Some((d, tm)) => (d, Some(tm)),
            None => (t, None),
        };
        let mut parts = date.split('-');
        let year: i32 = parts.next().and_then(|p| p.parse().ok()).ok_or(err("bad year"))?;
        let second = parts.next().ok_or(err("missing month or day of year"))?;
        let days = if let Some(day) = parts.next() {
            let month: u32 = second.parse().map_err(|_| err("bad month"))?;
            let day: u32 = day.parse().map_err(|_| err("bad day"))?;
            if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
                return Err(err("no such date"));
            }
            days_from_civil(year, month, day)
        } else {
            // Ordinal date YYYY-DDD, as CCSDS allows.
            let doy: u32 = second.parse().map_err(|_| err("bad day of year"))?;
            let len = if is_leap(year) { 366 } else { 365 };
            if doy == 0 || doy > len {
                return Err(err("no such day of year"));
            }
            days_from_civil(year, 1, 1) + i64::from(doy) - 1
        };
        if !(1900..=2200).contains(&year) {
            return Err(err("year outside 1900..2200"));
        }
        let mut micros_of_day = 0i64;
        if let Some(time) = time {
            let time = time.strip_suffix("+00:00").unwrap_or(time);
            let mut hms = time.splitn(3, ':');
            let h: i64 = hms.next().and_then(|p| p.parse().ok()).ok_or(err("bad hour"))?;
            let m: i64 = hms.next().and_then(|p| p.parse().ok()).ok_or(err("bad minute"))?;
            let sec_text = hms.next().unwrap_or("0");
            let (whole, frac) = sec_text.split_once('.').unwrap_or((sec_text, ""));
            let s: i64 = whole.parse().map_err(|_| err("bad second"))?;
            if h > 23 || m > 59 || s > 60 {
                return Err(err("time of day out of range"));
            }
            if !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("bad fraction of second"));
            }
            micros_of_day = ((h * 60 + m) * 60 + s) * 1_000_000 + fraction_to_micros(frac);
        }
        Ok(Epoch(days * MICROS_PER_DAY + micros_of_day))
    }
}

/// Decimal fraction digits (after the point) to microseconds, rounded half-up, exactly.
pub fn fraction_to_micros(digits: &str) -> i64 {
    let mut micros = 0i64;
    for (i, b) in digits.bytes().enumerate() {
        let d = i64::from(b - b'0');
        if i < 6 {
            micros = micros * 10 + d;
        } else {
            if i == 6 && d >= 5 {
                micros += 1;
            }
            break;
        }
    }
    for _ in digits.len()..6 {
        micros *= 10;
    }
    micros
}

fn split_micros_of_day(rem: i64) -> (i64, i64, i64, i64) {
    let us = rem % 1_000_000;
    let s = rem / 1_000_000;
    (s / 3600, (s / 60) % 60, s % 60, us)
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, rem) = self.to_civil();
        let (h, mi, s, us) = split_micros_of_day(rem);
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{us:06}Z")
    }
}

impl fmt::Debug for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Epoch({self})")
    }
}

impl serde::Serialize for Epoch {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Epoch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Epoch::parse_iso(&text).map_err(serde::de::Error::custom)
    }
}

/// A time could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid time {text:?}: {why} (expected ISO 8601 UTC, e.g. 2023-03-31T00:00:00Z)")]
pub struct EpochParseError {
    pub text: String,
    pub why: &'static str,
}

pub fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day number since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_epochs() {
        assert_eq!(Epoch::parse_iso("1970-01-01T00:00:00Z").unwrap().0, 0);
        assert_eq!(Epoch::from_civil(1957, 1, 1, 0).0, MIN_EPOCH_MICROS);
        assert_eq!(Epoch::from_civil(2200, 1, 1, 0).0, MAX_EPOCH_MICROS);
        let e = Epoch::parse_iso("2023-03-31T12:34:56.123456Z").unwrap();
        assert_eq!(e.to_string(), "2023-03-31T12:34:56.123456Z");
        assert_eq!(e.to_iso_millis(), "2023-03-31T12:34:56.123Z");
        assert_eq!(Epoch::parse_iso("2023-090T00:00:00").unwrap(), Epoch::parse_iso("2023-03-31").unwrap());
        assert_eq!(fraction_to_micros("1234565"), 123_457);
        assert!(Epoch::parse_iso("2023-02-29T00:00:00Z").is_err());
        assert!(Epoch::parse_iso("yesterday").is_err());
    }

    proptest! {
        #[test]
        fn iso_round_trips(micros in MIN_EPOCH_MICROS..MAX_EPOCH_MICROS) {
            let e = Epoch(micros);
            prop_assert_eq!(Epoch::parse_iso(&e.to_string()), Ok(e));
        }
    }
}
