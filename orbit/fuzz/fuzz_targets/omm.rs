//! Fuzz the OMM readers (KVN, XML, JSON) and CelesTrak CSV: arbitrary text never panics them,
//! and what they read writes out again without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orbit::{csv, omm, read_element_sets, write_element_sets, OutputFormat};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = omm::read_kvn(&text, "fuzz");
    let _ = omm::read_xml(&text, "fuzz");
    let _ = omm::read_json(&text, "fuzz");
    let _ = csv::read(&text, "fuzz");
    let outcome = read_element_sets(&text, "fuzz");
    for format in [OutputFormat::OmmKvn, OutputFormat::OmmXml, OutputFormat::OmmJson, OutputFormat::Csv] {
        let _ = write_element_sets(&outcome.sets, format);
    }
});
