//! Fuzz the TLE/3LE reader: arbitrary text never panics it, with or without checksums, and
//! whatever it reads writes out (or fails cleanly) without panicking either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orbit::tle::{self, TleOptions};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let outcome = tle::read(&text, "fuzz");
    let _ = tle::read_with(&text, &TleOptions { verify_checksum: false, ..TleOptions::default() });
    let mut lines = text.lines();
    if let (Some(line1), Some(line2)) = (lines.next(), lines.next()) {
        let _ = tle::parse_pair(None, line1, line2, &TleOptions::default());
    }
    for set in &outcome.sets {
        let _ = tle::write_lines(set);
    }
});
