//! Orbit formats against real data: the full catalogues round-trip byte for byte through
//! every format, CelesTrak's JSON agrees with TLE, every valid CCSDS sample (OMM, CDM)
//! parses and every malformed one is rejected naming its line and keyword, CDMs round-trip,
//! and no input panics a parser. (`commons convert` is tested in node/tests/cli_convert.rs.)
//!
//! Tests that need the shared data skip (with a message) when it is absent.

use std::path::Path;
use std::sync::OnceLock;

use orbit::cdm::{self, Cdm};
use orbit::data::data_file;
use orbit::omm::{self, OmmHeaderFields};
use orbit::tle::{self, TleOptions};
use orbit::{
    csv, detect_format, read_element_sets, write_element_sets, ElementSet, InputFormat, OutputFormat,
    ReadOutcome,
};
use proptest::prelude::*;
use protocol::ids::ObjectId;
use protocol::time::Epoch;

const CATALOGUES: [(&str, usize); 2] = [
    ("catalog/full-catalog-3le-2023-03-31.txt", 24_548),
    ("catalog/full-catalog-3le-2023-03-25.txt", 24_516),
];

fn read_data(relative: &str) -> Option<(String, String)> {
    let path = data_file(relative)?;
    let text = std::fs::read_to_string(&path).expect("data file is readable UTF-8");
    Some((text, path.display().to_string()))
}

/// A fixed header so that written OMM text is reproducible.
fn header() -> OmmHeaderFields {
    OmmHeaderFields { creation_date: Epoch::from_civil(2026, 1, 1, 0), originator: "TEST".into() }
}

fn assert_clean(outcome: &ReadOutcome, what: &str) {
    assert!(
        outcome.errors.is_empty(),
        "{what}: {} errors, the first: {}",
        outcome.errors.len(),
        outcome.errors.first().map(ToString::to_string).unwrap_or_default()
    );
}

#[test]
fn full_catalogues_parse_with_zero_errors_and_write_back_byte_for_byte() {
    for (relative, expected) in CATALOGUES {
        let Some((text, file)) = read_data(relative) else { return };
        let outcome = read_element_sets(&text, &file);
        assert_clean(&outcome, &file);
        assert_eq!(outcome.sets.len(), expected, "{file}");
        assert!(outcome.sets.iter().all(|s| s.name.is_some()));
        let written =
            write_element_sets(&outcome.sets, OutputFormat::ThreeLe).expect("every set is TLE-writable");
        assert!(written == text, "{file}: 3LE → sets → 3LE differs from the file");
    }
}

/// TLE → `format` → TLE for both catalogues, through the detecting reader.
fn catalogues_round_trip_through(format: OutputFormat, detected: InputFormat) {
    for (relative, _) in CATALOGUES {
        let Some((text, file)) = read_data(relative) else { return };
        let sets = tle::read(&text, &file).sets;
        let encoded = match format {
            OutputFormat::OmmKvn => omm::write_kvn(&sets, &header()),
            OutputFormat::OmmXml => omm::write_xml(&sets, &header()),
            _ => write_element_sets(&sets, format),
        }
        .expect("every catalogue set is writable");
        assert_eq!(detect_format(&encoded), detected);
        let back = read_element_sets(&encoded, "encoded");
        assert_clean(&back, &format!("{file} as {format:?}"));
        assert_eq!(back.sets.len(), sets.len(), "{file} via {format:?}");
        let tle_again = tle::write(&back.sets, true).expect("TLE");
        assert!(tle_again == text, "{file}: TLE → {format:?} → TLE differs");
    }
}

#[test]
fn full_catalogues_round_trip_through_omm_kvn_byte_for_byte() {
    catalogues_round_trip_through(OutputFormat::OmmKvn, InputFormat::OmmKvn);
}

#[test]
fn full_catalogues_round_trip_through_omm_xml_byte_for_byte() {
    catalogues_round_trip_through(OutputFormat::OmmXml, InputFormat::OmmXml);
}

#[test]
fn full_catalogues_round_trip_through_omm_json_byte_for_byte() {
    catalogues_round_trip_through(OutputFormat::OmmJson, InputFormat::OmmJson);
}

#[test]
fn full_catalogues_round_trip_through_csv_byte_for_byte() {
    catalogues_round_trip_through(OutputFormat::Csv, InputFormat::Csv);
}

#[test]
fn celestrak_crlf_files_parse_and_write_back() {
    for name in ["starlink", "oneweb", "geo", "stations"] {
        let Some((text, file)) = read_data(&format!("catalog/celestrak-2026-05-30/{name}.tle")) else {
            return;
        };
        let outcome = read_element_sets(&text, &file);
        assert_clean(&outcome, &file);
        let written = write_element_sets(&outcome.sets, OutputFormat::ThreeLe).expect("TLE");
        assert_eq!(written, text.replace("\r\n", "\n"), "{file}");
    }
}

#[test]
fn celestrak_json_agrees_with_its_tle_meaning() {
    for (relative, expected) in [
        ("omm/celestrak-gp-json/starlink-2025-05-24.json", 7_483),
        ("omm/celestrak-gp-json/stations-2025-05-24.json", 13),
    ] {
        let Some((text, file)) = read_data(relative) else { return };
        let outcome = read_element_sets(&text, &file);
        assert_clean(&outcome, &file);
        assert_eq!(outcome.sets.len(), expected);
        for set in &outcome.sets {
            // Every CelesTrak value is on TLE's grid: JSON → TLE → set gives the same set.
            let [line1, line2] = tle::write_lines(set).expect("TLE-writable");
            let from_tle = tle::parse_pair(set.name.as_deref(), &line1, &line2, &TleOptions::default())
                .expect("written TLE reads back");
            assert_eq!(&from_tle, set, "{line1}\n{line2}");
        }
        // And JSON → TLE → JSON gives the same JSON text.
        let via_tle = tle::read(&tle::write(&outcome.sets, true).expect("TLE"), "via TLE");
        assert_eq!(
            omm::write_json(&via_tle.sets).expect("JSON"),
            omm::write_json(&outcome.sets).expect("JSON")
        );
    }
    // Spot check against the file's text: ISS.
    let Some((text, file)) = read_data("omm/celestrak-gp-json/stations-2025-05-24.json") else { return };
    let iss = read_element_sets(&text, &file)
        .sets
        .into_iter()
        .find(|s| s.estimate.object == ObjectId::Norad(25544))
        .expect("ISS is in stations");
    assert_eq!(iss.name.as_deref(), Some("ISS (ZARYA)"));
    assert_eq!(iss.cospar_id.as_deref(), Some("1998-067A"));
    assert_eq!(iss.estimate.epoch, Epoch::parse_iso("2025-05-24T20:37:27.097824").expect("epoch"));
    assert_eq!(iss.estimate.eccentricity, 0.0002122);
    assert_eq!(iss.estimate.bstar, 0.00020518);
    let [line1, line2] = tle::write_lines(&iss).expect("TLE");
    assert!(
        line1.starts_with("1 25544U 98067A   25144.85934141  .00011156  00000+0  20518-3 0  999"),
        "{line1}"
    );
    assert!(
        line2.starts_with("2 25544  51.6360  62.6541 0002122 144.9421 215.1708 15.49717269511"),
        "{line2}"
    );
}

#[test]
fn sgp4_verification_file_reads_without_checksums() {
    let Some((text, file)) = read_data("sgp4-verification/SGP4-VER.TLE") else { return };
    let lenient =
        tle::read_with(&text, &TleOptions { verify_checksum: false, file: file.clone(), first_line: 1 });
    assert_clean(&lenient, &file);
    assert_eq!(lenient.sets.len(), 33);
    let blank = lenient.sets.iter().find(|s| s.estimate.object == ObjectId::Norad(11801)).expect("11801");
    assert_eq!((blank.cospar_id.as_deref(), blank.estimate.element_set_no), (None, 1));
    // With checksums checked, exactly the three sets known to carry wrong ones fail.
    let strict = tle::read(&text, &file);
    let mut failing: Vec<&str> = strict.errors.iter().filter_map(|e| e.object.as_deref()).collect();
    failing.sort_unstable();
    assert_eq!(failing, ["33333", "33334", "33335"], "{:?}", strict.errors);
    assert!(strict.errors.iter().all(|e| e.field.contains("checksum")));
}

fn sorted_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn is_malformed(name: &str) -> bool {
    ["wrong", "missing", "error", "too-", "inconsistent", "Invalid"].iter().any(|m| name.contains(m))
        || name == "spurious-metadata.xml"
}

fn parse_omm_file(text: &str, name: &str) -> Vec<Result<omm::Omm, orbit::FormatError>> {
    if text.trim_start().starts_with('<') {
        omm::parse_xml(text, name)
    } else {
        omm::parse_kvn(text, name)
    }
}

#[test]
fn valid_omm_samples_parse() {
    let Some(dir) = data_file("ccsds/orekit/odm/omm") else { return };
    let mut checked = 0;
    for path in sorted_files(&dir) {
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        // OMM-empty-object-id.* carry an empty mandatory value: rejected, tested below.
        if is_malformed(&name) || name.starts_with("OMM-empty-object-id") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let messages = parse_omm_file(&text, &name);
        assert_eq!(messages.len(), 1, "{name}");
        let message = messages.into_iter().next().expect("one").unwrap_or_else(|e| panic!("{name}: {e}"));
        // The model survives writing in either CCSDS encoding.
        let written: Vec<omm::Omm> = omm::parse_kvn(&omm::format_kvn(std::slice::from_ref(&message)), "kvn")
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(written, std::slice::from_ref(&message), "{name} via KVN");
        let written: Vec<omm::Omm> = omm::parse_xml(&omm::format_xml(std::slice::from_ref(&message)), "xml")
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(written, std::slice::from_ref(&message), "{name} via XML");
        let conversion = message.to_element_set();
        if name.starts_with("OMMExample3") {
            // A valid OMM, but of "SOME THEORY" in TOD: not an SGP4 element set.
            assert_eq!(conversion.expect_err("not SGP4").keyword, "MEAN_ELEMENT_THEORY", "{name}");
            assert_eq!(message.mean_elements.semi_major_axis_km, Some(6800.0));
            assert_eq!(message.covariance.as_ref().and_then(|c| c.ref_frame.as_deref()), Some("TNW"));
        } else {
            let set = conversion.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(matches!(set.estimate.object, ObjectId::Norad(23581 | 7646)), "{name}");
        }
        checked += 1;
    }
    assert_eq!(checked, 9, "valid OMM samples");

    // Covariance (Example 2, KVN and XML alike), SGP4-XP (Example 5), units in XML.
    let dir_text = |name: &str| std::fs::read_to_string(dir.join(name)).expect("readable");
    for name in ["OMMExample2.txt", "OMMExample2.xml", "OMM-with-units.xml"] {
        let set = read_element_sets(&dir_text(name), name).sets.pop().expect("one set");
        let covariance = set.estimate.covariance.expect("covariance");
        assert_eq!(covariance.frame, protocol::records::CovarianceFrame::Teme, "{name}");
        assert_eq!(covariance.lower_triangle[0], 3.331349476038534e-04);
        assert_eq!(covariance.lower_triangle[20], 6.2244443386355e-10);
        assert_eq!(set.estimate.mean_motion_rev_per_day, 1.00273272);
        assert_eq!(set.cospar_id.as_deref(), Some("1995-025A"));
    }
    let xp = read_element_sets(&dir_text("OMMExample5.txt"), "OMMExample5.txt").sets.pop().expect("XP set");
    assert_eq!(
        (xp.estimate.ephemeris_type, xp.estimate.bstar, xp.estimate.mean_motion_ddot),
        (4, 0.0015, 0.001)
    );
}

#[test]
fn malformed_ccsds_samples_are_rejected_naming_line_and_keyword() {
    let Some(dir) = data_file("ccsds/orekit") else { return };
    // (file, line, keyword) of the first error, checked by reading each file.
    let expected = [
        ("odm/omm/OMM-number-format-error.txt", 15, "ARG_OF_PERICENTER"),
        ("odm/omm/OMM-wrong-keyword.txt", 9, "WRONG_KEYWORD"),
        ("odm/omm/spurious-metadata.xml", 17, "metadata"),
        // The chosen behaviour for an empty mandatory value: an error naming it.
        ("odm/omm/OMM-empty-object-id.txt", 6, "OBJECT_ID"),
        ("odm/omm/OMM-empty-object-id.xml", 11, "OBJECT_ID"),
        ("cdm/CDM-covariance-wrong-entry-format.txt", 65, "CRDOT_T"),
        ("cdm/CDM-missing-TCA.txt", 5, "TCA"),
        ("cdm/CDM-missing-object1-covariance-block.xml", 62, "CR_R"),
        ("cdm/CDM-missing-object2-state-vector.txt", 52, "X"),
        ("cdm/CDM-wrong-key-word.txt", 6, "WRONG_KEYWORD"),
        ("cdm/CDMExample1InvalidTca.txt", 5, "TCA"),
        ("cdm/CDMExample_issue1319_mandatory_empty_value.xml", 88, "X"),
    ];
    for (relative, line, keyword) in expected {
        let text = std::fs::read_to_string(dir.join(relative)).expect("readable");
        let error = if relative.starts_with("cdm/") {
            cdm::parse(&text, relative).expect_err("malformed CDM")
        } else {
            let outcome = read_element_sets(&text, relative);
            assert!(outcome.sets.is_empty(), "{relative}");
            outcome.errors.into_iter().next().expect("an error")
        };
        assert_eq!((error.line, error.field.as_str()), (line, keyword), "{relative}: {error}");
        let shown = error.to_string();
        assert!(shown.starts_with(&format!("{relative}:{line}: ")) && shown.contains(keyword), "{shown}");
    }
    for (relative, why) in [
        ("odm/omm/OMM-empty-object-id.txt", "mandatory value is empty"),
        ("cdm/CDMExample_issue1319_mandatory_empty_value.xml", "mandatory value is empty"),
        ("cdm/CDM-missing-TCA.txt", "mandatory keyword missing"),
    ] {
        let text = std::fs::read_to_string(dir.join(relative)).expect("readable");
        let shown = if relative.starts_with("cdm/") {
            cdm::parse(&text, relative).expect_err("malformed").to_string()
        } else {
            read_element_sets(&text, relative).errors[0].to_string()
        };
        assert!(shown.contains(why), "{shown}");
    }
    // Every malformed OMM and CDM file in the set is covered above.
    let mut malformed: Vec<String> = ["odm/omm", "cdm"]
        .iter()
        .flat_map(|sub| sorted_files(&dir.join(sub)).into_iter().map(move |p| (sub, p)))
        .filter_map(|(sub, p)| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            (is_malformed(&name) || name.contains("empty")).then(|| format!("{sub}/{name}"))
        })
        .collect();
    malformed.sort();
    let mut covered: Vec<String> = expected.iter().map(|(f, _, _)| (*f).to_owned()).collect();
    covered.sort();
    assert_eq!(malformed, covered);
}

/// Every CDM the data holds that is not malformed: Orekit's samples and NASA CARA's.
fn valid_cdm_files() -> Vec<std::path::PathBuf> {
    ["ccsds/orekit/cdm", "cdm-pc/nasa-cara/PcTestCaseCDMs", "cdm-pc/nasa-cara/SampleCDMs"]
        .iter()
        .filter_map(|sub| data_file(sub))
        .flat_map(|dir| sorted_files(&dir))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let cdm_like = name.ends_with(".cdm") || name.ends_with(".txt") || name.ends_with(".xml");
            cdm_like && !is_malformed(&name) && !name.contains("mandatory_empty_value") && name != "README.md"
        })
        .collect()
}

#[test]
fn valid_cdm_samples_parse_and_round_trip_in_kvn_and_xml() {
    let files = valid_cdm_files();
    if files.is_empty() {
        eprintln!("skipping: no CDM samples");
        return;
    }
    for path in &files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).expect("readable");
        let cdm = cdm::parse(&text, &name).unwrap_or_else(|e| panic!("{e}"));
        let kvn = cdm::write_kvn(&cdm).expect("writable");
        assert_eq!(
            cdm::parse_kvn(&kvn, "written KVN").unwrap_or_else(|e| panic!("{name}: {e}")),
            cdm,
            "{name} KVN"
        );
        let xml = cdm::write_xml(&cdm).expect("writable");
        assert_eq!(
            cdm::parse_xml(&xml, "written XML").unwrap_or_else(|e| panic!("{name}: {e}")),
            cdm,
            "{name} XML"
        );
    }
    assert!(files.len() >= 37 + 53, "{} CDM files", files.len());
}

#[test]
fn cdm_values_in_consistent_units() {
    let Some((text, file)) = read_data("ccsds/orekit/cdm/ION_SCV8_vs_STARLINK_1233.txt") else { return };
    let cdm: Cdm = cdm::parse(&text, &file).expect("ION CDM");
    assert_eq!(cdm.relative.collision_probability, Some(0.004450713));
    assert_eq!(cdm.relative.collision_probability_method.as_deref(), Some("FOSTER-1992"));
    assert_eq!(cdm.relative.miss_distance_m, 55.0);
    assert_eq!(cdm.relative.tca, Epoch::parse_iso("2023-07-05T20:31:15.893").expect("epoch"));
    assert_eq!(cdm.object1.catalogue_number(), Some(55051));
    assert_eq!(cdm.object1.position_km, [-5719.153201, -2486.155271, -3021.252701]);
    assert_eq!(cdm.object1.covariance.position_velocity[0], 127.5401258877026);
    assert_eq!(cdm.object1.covariance_km().lower_triangle[0], 127.5401258877026e-6);
    assert_eq!(cdm.object1.ref_frame, "ITRF");

    let Some((text, file)) = read_data("ccsds/orekit/cdm/CDMExample4.txt") else { return };
    let cdm = cdm::parse(&text, &file).expect("Example 4");
    let rows = &cdm.object1.covariance;
    assert_eq!(rows.drag.map(|r| r[6]), Some(3.483e-06));
    assert_eq!(rows.srp.map(|r| r[7]), Some(1.593e-02));
    assert_eq!(rows.thrust.map(|r| r[8]), Some(-2.986e-02));
    let Some((text, file)) = read_data("ccsds/orekit/cdm/CDMExample_issue_940.txt") else { return };
    let cdm = cdm::parse(&text, &file).expect("CDM 2.0 draft");
    assert_eq!(cdm.header.version, "2.0");
    assert_eq!(cdm.object1.other_value("HBR"), Some("2.5"));
    assert_eq!(cdm.object1.other_value("CDRG_DRG"), Some("0.004"));
    assert_eq!(
        cdm.user_defined,
        vec![("OBJ1_TIME_LASTOB_START".to_owned(), "2020-01-29T13:30:00".to_owned())]
    );
}

#[test]
fn catalogue_numbers_beyond_alpha5_are_a_clear_tle_error() {
    let json = r#"[{"OBJECT_NAME": "FUTURE SAT", "OBJECT_ID": "2030-001A", "EPOCH": "2030-01-01T00:00:00",
        "MEAN_MOTION": 15.0, "ECCENTRICITY": 0.001, "INCLINATION": 53.0, "RA_OF_ASC_NODE": 10.0,
        "ARG_OF_PERICENTER": 20.0, "MEAN_ANOMALY": 30.0, "EPHEMERIS_TYPE": 0, "CLASSIFICATION_TYPE": "U",
        "NORAD_CAT_ID": 400000, "ELEMENT_SET_NO": 999, "REV_AT_EPOCH": 1, "BSTAR": 0.0001,
        "MEAN_MOTION_DOT": 0.00001, "MEAN_MOTION_DDOT": 0}]"#;
    let outcome = read_element_sets(json, "future.json");
    assert_clean(&outcome, "future.json");
    let error = write_element_sets(&outcome.sets, OutputFormat::Tle).expect_err("not TLE-writable");
    assert_eq!(error.object.as_deref(), Some("400000"));
    assert!(error.to_string().contains("339999"), "{error}");
    for format in [OutputFormat::OmmKvn, OutputFormat::OmmXml, OutputFormat::OmmJson, OutputFormat::Csv] {
        let text = write_element_sets(&outcome.sets, format).expect("OMM and CSV carry nine digits");
        assert_eq!(read_element_sets(&text, "again").sets, outcome.sets, "{format:?}");
    }
}

/// Element sets made up for tests that must not depend on the data.
fn synthetic_sets(n: usize) -> Vec<ElementSet> {
    let epoch = Epoch::parse_iso("2023-03-31T00:00:00Z").expect("valid time");
    orbit::synthetic::catalogue(n, epoch, 17)
}

/// Lines of the real catalogue (or made-up ones when the data is absent), for mutation.
fn sample_lines() -> &'static [String] {
    static LINES: OnceLock<Vec<String>> = OnceLock::new();
    LINES.get_or_init(|| {
        let text = data_file(CATALOGUES[0].0)
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_else(|| tle::write(&synthetic_sets(20), true).unwrap_or_default());
        text.lines().take(3000).map(str::to_owned).collect()
    })
}

/// Real CCSDS messages (or ones written here) for mutation.
fn sample_messages() -> &'static [String] {
    static MESSAGES: OnceLock<Vec<String>> = OnceLock::new();
    MESSAGES.get_or_init(|| {
        let sets = synthetic_sets(3);
        let mut messages = vec![
            omm::write_kvn(&sets, &header()).unwrap_or_default(),
            omm::write_xml(&sets, &header()).unwrap_or_default(),
            omm::write_json(&sets).unwrap_or_default(),
            csv::write(&sets).unwrap_or_default(),
        ];
        for path in valid_cdm_files().iter().take(12) {
            messages.extend(std::fs::read_to_string(path).ok());
        }
        messages
    })
}

/// Every reader, fed the same text.
fn read_everything(text: &str) {
    let _ = read_element_sets(text, "fuzz");
    let _ = tle::read(text, "fuzz");
    let _ = tle::read_with(text, &TleOptions { verify_checksum: false, ..TleOptions::default() });
    let _ = omm::read_kvn(text, "fuzz");
    let _ = omm::read_xml(text, "fuzz");
    let _ = omm::read_json(text, "fuzz");
    let _ = csv::read(text, "fuzz");
    let _ = cdm::parse_kvn(text, "fuzz");
    let _ = cdm::parse_xml(text, "fuzz");
}

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, char),
    Delete(usize),
    Replace(usize, char),
    DuplicateLine(usize),
    DropLine(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let interesting = prop::sample::select(vec![
        ' ', '-', '+', '.', '0', '9', 'E', '\n', '\r', '<', '>', '/', '"', '=', '[', ']', ',', '&', '{', '}',
        '\u{0}', 'é', '\u{2212}',
    ]);
    let character = prop_oneof![interesting, any::<char>()];
    let edit = prop_oneof![
        (any::<usize>(), character.clone()).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), character).prop_map(|(i, c)| Edit::Replace(i, c)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        any::<usize>().prop_map(Edit::DropLine),
    ];
    prop::collection::vec(edit, 1..8)
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut text = text.to_owned();
    for edit in edits {
        let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
        let at = |i: usize| boundaries[i % boundaries.len()];
        match *edit {
            Edit::Insert(i, c) => text.insert(at(i), c),
            Edit::Delete(i) | Edit::Replace(i, _) => {
                let start = at(i);
                if start < text.len() {
                    text.remove(start);
                    if let Edit::Replace(_, c) = *edit {
                        text.insert(start, c);
                    }
                }
            }
            Edit::DuplicateLine(i) | Edit::DropLine(i) => {
                let mut lines: Vec<&str> = text.split('\n').collect();
                let index = i % lines.len();
                if matches!(edit, Edit::DropLine(_)) {
                    lines.remove(index);
                } else {
                    lines.insert(index, lines[index]);
                }
                text = lines.join("\n");
            }
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_a_parser(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        read_everything(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_catalogue_lines_never_panic(start in 0usize..2997, count in 1usize..7, edits in edits()) {
        let lines = sample_lines();
        let start = start % lines.len().max(1);
        let end = (start + count).min(lines.len());
        let text = lines.get(start..end).unwrap_or_default().join("\n");
        read_everything(&apply(&text, &edits));
    }

    #[test]
    fn mutated_ccsds_messages_never_panic(which in any::<usize>(), edits in edits()) {
        let messages = sample_messages();
        let text = messages.get(which % messages.len().max(1)).cloned().unwrap_or_default();
        read_everything(&apply(&text, &edits));
    }

    #[test]
    fn keyword_soup_never_panics(
        lines in prop::collection::vec(
            (
                prop::sample::select(vec![
                    "CCSDS_OMM_VERS", "CCSDS_CDM_VERS", "OBJECT", "OBJECT_NAME", "OBJECT_ID", "EPOCH", "TCA",
                    "MEAN_MOTION", "NORAD_CAT_ID", "CX_X", "CR_R", "CDRG_DRG", "CDRG_R", "X", "USER_DEFINED_",
                    "USER_DEFINED_A", "COMMENT", "MEAN_ELEMENT_THEORY", "EPHEMERIS_TYPE", "BTERM", "ECCENTRICITY",
                ]),
                prop::sample::select(vec![
                    "", "3.0", "1.0", "OBJECT1", "OBJECT2", "SGP4-XP", "4", "2023-02-29T00:00:00", "NaN",
                    "1e400", "-0", "99999999999999999999", "UNKNOWN", "[m]", "2020-001T00:00:00", "0.5 [km]",
                ]),
            ),
            0..60,
        ),
    ) {
        let text: String = lines.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
        read_everything(&text);
    }
}

/// A reader of one format.
type Reader = fn(&str, &str) -> ReadOutcome;

fn finite() -> BoxedStrategy<f64> {
    prop_oneof![any::<f64>().prop_filter("finite", |v| v.is_finite()), -1e3..1e3f64, Just(0.0)].boxed()
}

/// `N` finite values (generated on the heap: large arrays of strategies overflow the stack of
/// a debug build).
fn finite_array<const N: usize>() -> BoxedStrategy<[f64; N]> {
    prop::collection::vec(finite(), N)
        .prop_map(|values| {
            let mut array = [0.0; N];
            array.iter_mut().zip(values).for_each(|(slot, value)| *slot = value);
            array
        })
        .boxed()
}

/// Text that every encoding keeps as it is: no control characters, no blanks at the ends,
/// nothing a KVN reader takes for units.
fn plain_text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z(][A-Za-z0-9 ()/.,\"&<>'*-]{{0,{max}}}[A-Za-z0-9)]"))
        .expect("valid regex")
}

prop_compose! {
    fn any_element_set()(
        number in 0u32..=protocol::ids::MAX_CATALOG_NUMBER,
        micros in protocol::time::MIN_EPOCH_MICROS..protocol::time::MAX_EPOCH_MICROS,
        eccentricity in 0.0..1.0f64,
        values in finite_array::<9>(),
        ephemeris_type in prop_oneof![Just(0u8), Just(2u8), Just(4u8), any::<u8>()],
        classification in prop::sample::select(vec!['U', 'C', 'S']),
        numbers in (any::<u32>(), any::<u32>()),
        covariance in proptest::option::of((finite_array::<21>(), any::<bool>())),
        quality in proptest::option::of((proptest::option::of(finite()), proptest::option::of(any::<u32>()), proptest::option::of(finite()))),
        source in prop_oneof![Just(String::new()), plain_text(30)],
        name in plain_text(40),
        cospar in proptest::option::of((1957u32..2100, 1u32..999, "[A-Z]{1,3}")),
    ) -> ElementSet {
        use protocol::records::{Covariance, CovarianceFrame, OrbitEstimate, Quality};
        ElementSet {
            estimate: OrbitEstimate {
                object: ObjectId::Norad(number),
                epoch: Epoch::from_micros(micros),
                mean_motion_rev_per_day: values[0],
                eccentricity,
                inclination_deg: values[1],
                ra_of_asc_node_deg: values[2],
                arg_of_pericenter_deg: values[3],
                mean_anomaly_deg: values[4],
                bstar: values[5],
                mean_motion_dot: values[6],
                mean_motion_ddot: values[7],
                ephemeris_type,
                classification,
                element_set_no: numbers.0,
                rev_at_epoch: numbers.1,
                covariance: covariance.map(|(lower_triangle, teme)| {
                    Box::new(Covariance { frame: if teme { CovarianceFrame::Teme } else { CovarianceFrame::Rtn }, lower_triangle })
                }),
                // A quality stating nothing is no quality (OMM writes nothing for it).
                quality: quality
                    .map(|(rms_km, n_observations, span_days)| Quality { rms_km, n_observations, span_days })
                    .filter(|q| q.rms_km.is_some() || q.n_observations.is_some() || q.span_days.is_some()),
                source,
            },
            name: Some(name),
            cospar_id: cospar.map(|(year, launch, piece)| format!("{year}-{launch:03}{piece}")),
        }
    }
}

prop_compose! {
    fn any_cdm_object()(
        designator in "[0-9]{1,9}",
        name in plain_text(20),
        texts in prop::array::uniform6(plain_text(12)),
        optional in (proptest::option::of(plain_text(8)), proptest::option::of(plain_text(8))),
        state in finite_array::<6>(),
        covariance in finite_array::<21>(),
        rows in (
            proptest::option::of(finite_array::<7>()),
            proptest::option::of(finite_array::<8>()),
            proptest::option::of(finite_array::<9>()),
        ),
        comments in prop::collection::vec(plain_text(30), 0..3),
    ) -> cdm::CdmObject {
        cdm::CdmObject {
            metadata_comments: comments.clone(),
            object_designator: designator,
            catalog_name: texts[0].clone(),
            object_name: name,
            international_designator: texts[1].clone(),
            object_type: optional.0,
            ephemeris_name: texts[2].clone(),
            covariance_method: texts[3].clone(),
            maneuverable: texts[4].clone(),
            orbit_center: optional.1,
            ref_frame: texts[5].clone(),
            metadata_other: vec![cdm::CdmField { keyword: "GRAVITY_MODEL".into(), value: "EGM-96: 36D 36O".into(), units: None }],
            data_comments: comments,
            data_other: vec![cdm::CdmField { keyword: "OBS_USED".into(), value: "NaN".into(), units: None }],
            position_km: [state[0], state[1], state[2]],
            velocity_km_per_s: [state[3], state[4], state[5]],
            covariance: cdm::RtnCovariance { position_velocity: covariance, drag: rows.0, srp: rows.1, thrust: rows.2 },
        }
    }
}

prop_compose! {
    fn any_cdm()(
        objects in (any_cdm_object(), any_cdm_object()),
        times in (protocol::time::MIN_EPOCH_MICROS..protocol::time::MAX_EPOCH_MICROS, protocol::time::MIN_EPOCH_MICROS..protocol::time::MAX_EPOCH_MICROS),
        values in finite_array::<9>(),
        present in prop::array::uniform4(any::<bool>()),
        texts in prop::array::uniform3(plain_text(16)),
    ) -> Cdm {
        cdm::Cdm {
            header: cdm::CdmHeader {
                version: "1.0".into(),
                comments: vec![texts[0].clone()],
                creation_date: Epoch::from_micros(times.0),
                originator: texts[1].clone(),
                message_for: present[0].then(|| texts[2].clone()),
                message_id: texts[2].clone(),
                other: Vec::new(),
            },
            relative: cdm::CdmRelativeData {
                comments: Vec::new(),
                tca: Epoch::from_micros(times.1),
                miss_distance_m: values[0],
                relative_speed_m_per_s: present[1].then_some(values[1]),
                relative_position_rtn_m: present[2].then_some([values[2], values[3], values[4]]),
                relative_velocity_rtn_m_per_s: present[3].then_some([values[5], values[6], values[7]]),
                collision_probability: present[1].then_some(values[8]),
                collision_probability_method: present[2].then(|| "FOSTER-1992".to_owned()),
                other: vec![cdm::CdmField { keyword: "SCREEN_VOLUME_X".into(), value: "200".into(), units: Some("m".into()) }],
            },
            object1: objects.0,
            object2: objects.1,
            user_defined: vec![("NOTE".into(), texts[0].clone())],
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_element_set_round_trips_through_every_omm_encoding(sets in prop::collection::vec(any_element_set(), 1..4)) {
        let encodings: [(&str, String, Reader); 3] = [
            ("KVN", omm::write_kvn(&sets, &header()).expect("KVN"), omm::read_kvn),
            ("XML", omm::write_xml(&sets, &header()).expect("XML"), omm::read_xml),
            ("JSON", omm::write_json(&sets).expect("JSON"), omm::read_json),
        ];
        for (name, text, read) in encodings {
            let back = read(&text, name);
            prop_assert!(back.errors.is_empty(), "{}: {:?}\n{}", name, back.errors, text);
            prop_assert_eq!(&back.sets, &sets, "{}", name);
        }
        // CSV holds no covariance, quality or source, and no SGP4-XP sets.
        let plain: Vec<ElementSet> = sets
            .iter()
            .filter(|s| s.estimate.ephemeris_type != 4)
            .cloned()
            .map(|mut s| {
                s.estimate.covariance = None;
                s.estimate.quality = None;
                s.estimate.source.clear();
                s
            })
            .collect();
        let back = csv::read(&csv::write(&plain).expect("CSV"), "csv");
        prop_assert!(back.errors.is_empty(), "{:?}", back.errors);
        prop_assert_eq!(back.sets, plain);
    }

    #[test]
    fn any_cdm_round_trips_in_kvn_and_xml(message in any_cdm()) {
        let kvn = cdm::write_kvn(&message).expect("KVN");
        prop_assert_eq!(cdm::parse_kvn(&kvn, "kvn").map_err(|e| e.to_string()), Ok(message.clone()), "{}", kvn);
        let xml = cdm::write_xml(&message).expect("XML");
        prop_assert_eq!(cdm::parse_xml(&xml, "xml").map_err(|e| e.to_string()), Ok(message), "{}", xml);
    }
}
