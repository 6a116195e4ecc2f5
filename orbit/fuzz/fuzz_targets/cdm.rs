//! Fuzz the CDM readers (KVN, XML): arbitrary text never panics them, and a CDM they read
//! writes out and reads back again without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orbit::cdm;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = cdm::parse_kvn(&text, "fuzz");
    let _ = cdm::parse_xml(&text, "fuzz");
    if let Ok(message) = cdm::parse(&text, "fuzz") {
        if let Ok(kvn) = cdm::write_kvn(&message) {
            let _ = cdm::parse_kvn(&kvn, "again");
        }
        if let Ok(xml) = cdm::write_xml(&message) {
            let _ = cdm::parse_xml(&xml, "again");
        }
    }
});
