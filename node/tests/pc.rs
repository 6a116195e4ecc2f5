//! Collision probability (Foster 2D, circular hard body) against published values: Alfano's
//! test cases 1–11, NASA CARA's 53 real conjunctions (the `Pc2D_NoAdj` column), the real
//! ION SCV8 / STARLINK 1233 message, and a non-positive-definite covariance. Uses the shared
//! data (`../shared/data` or `$COMMONS_DATA`); skips with a message when it is absent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use node::data::data_file;
use node::orbit::cdm;
use node::screening::pc::{foster_2d, hard_body_radius_of, Encounter, MissVector, PcError};

fn pc_of(relative: &str, hbr_m: f64) -> Option<Result<f64, PcError>> {
    pc_with(relative, hbr_m, MissVector::AsGiven)
}

fn pc_with(relative: &str, hbr_m: f64, miss: MissVector) -> Option<Result<f64, PcError>> {
    let path = data_file(relative)?;
    let text = std::fs::read_to_string(&path).unwrap();
    let message = cdm::parse(&text, &path.display().to_string()).unwrap();
    Some(foster_2d(&Encounter::from_cdm(&message), hbr_m, miss).map(|p| p.pc))
}

fn assert_relative(what: &str, got: f64, expected: f64, tolerance: f64) {
    let error = (got / expected - 1.0).abs();
    assert!(error <= tolerance, "{what}: Pc {got:e}, published {expected:e} (relative error {error:e})");
}

#[test]
fn alfano_test_cases_1_to_11_match_the_published_2d_values() {
    // (case, combined hard-body radius m, Pc), from pc-reference-values.csv (CARA's unit test).
    let cases = [
        (1, 15.0, 0.146749549),
        (2, 4.0, 0.006222267),
        (3, 15.0, 0.100351176),
        (4, 15.0, 0.049323406),
        (5, 10.0, 0.044487386),
        (6, 10.0, 0.004335455),
        (7, 10.0, 0.000158147),
        (8, 4.0, 0.036948008),
        (9, 6.0, 0.290146291),
        (10, 6.0, 0.290146291),
        (11, 4.0, 0.002672026),
    ];
    for (case, hbr, expected) in cases {
        let Some(pc) = pc_of(&format!("cdm-pc/nasa-cara/SampleCDMs/AlfanoTestCase{case:02}.cdm"), hbr) else {
            return;
        };
        assert_relative(&format!("Alfano case {case}"), pc.unwrap(), expected, 1e-3);
    }
}

#[test]
fn the_53_cara_conjunctions_match_pc2d_noadj_tiny_values_included() {
    let Some(table) = data_file("cdm-pc/nasa-cara/PcTestCaseCDMs/CARA_PcMethod_Test_Conjunctions.csv") else {
        return;
    };
    let text = std::fs::read_to_string(table).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (id, hbr) = (column("Conjunction_ID"), column("HBR_m"));
    let (no_adj, adjusted) = (column("Pc2D_NoAdj"), column("Pc2D"));
    let mut checked = 0;
    let mut smallest = f64::INFINITY;
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let fields = split_csv(line);
        let relative = format!("cdm-pc/nasa-cara/PcTestCaseCDMs/{}.cdm", fields[id]);
        let radius: f64 = fields[hbr].parse().unwrap();
        // As given (Pc2D_NoAdj), and moved to the true TCA (Pc2D).
        for (column, miss) in [(no_adj, MissVector::AsGiven), (adjusted, MissVector::AtTrueTca)] {
            let expected: f64 = fields[column].parse().unwrap();
            let pc = pc_with(&relative, radius, miss).unwrap().unwrap();
            if expected == 0.0 {
                assert!(pc < 1e-300, "{}: Pc {pc:e}, published 0", fields[id]);
            } else {
                assert_relative(&format!("{} ({miss:?})", fields[id]), pc, expected, 1e-3);
                smallest = smallest.min(expected);
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 53, "every conjunction in the table was checked");
    assert!(smallest < 1e-10, "the table's tiny probabilities were among those checked ({smallest:e})");
}

/// Splits one CSV line, honouring double quotes.
fn split_csv(line: &str) -> Vec<&str> {
    let mut fields = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, ch) in line.char_indices() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                fields.push(line[start..i].trim_matches('"'));
                start = i + 1;
            }
            _ => {}
        }
    }
    fields.push(line[start..].trim_matches('"'));
    fields
}

#[test]
fn the_real_ion_scv8_starlink_1233_message_with_a_10_m_circle() {
    let relative = "ccsds/orekit/cdm/ION_SCV8_vs_STARLINK_1233.txt";
    let Some(path) = data_file(relative) else { return };
    let message = cdm::parse(&std::fs::read_to_string(&path).unwrap(), relative).unwrap();
    // 5 m + 5 m from the objects' Exclusion Volume Radius comments.
    assert_eq!(hard_body_radius_of(&message), Some(10.0));
    let pc = foster_2d(&Encounter::from_cdm(&message), 10.0, MissVector::AsGiven).unwrap().pc;
    assert_relative("ION SCV8 / STARLINK 1233", pc, 0.003_496_517_644_384_09, 1e-3);
}

#[test]
fn a_non_positive_definite_covariance_gives_no_nan() {
    let Some(result) = pc_of("cdm-pc/nasa-cara/SampleCDMs/OmitronTestCase_Test07_NonPDCovariance.cdm", 20.0)
    else {
        return;
    };
    match result {
        // Published: 0 (to 1e-8) after CARA's repair.
        Ok(pc) => assert!(pc.is_finite() && pc < 1e-8, "Pc {pc:e}"),
        Err(e) => assert!(e.to_string().contains("not positive definite"), "{e}"),
    }
}

#[test]
fn the_pc_command_reports_a_message_and_refuses_bad_input_with_its_reason() {
    let Some(ion) = data_file("ccsds/orekit/cdm/ION_SCV8_vs_STARLINK_1233.txt") else { return };
    let run = |args: &[&str]| {
        let out =
            std::process::Command::new(env!("CARGO_BIN_EXE_commons")).arg("pc").args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stdout, _) = run(&[ion.to_str().unwrap(), "--json"]);
    assert!(ok);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["hard_body_radius_m"], 10.0, "read from the message");
    assert!((json["pc"].as_f64().unwrap() / 0.003_496_517_644_384_09 - 1.0).abs() < 1e-3);
    let (ok, _, stderr) = run(&[ion.to_str().unwrap(), "--hbr", "-3"]);
    assert!(!ok && stderr.contains("--hbr") && stderr.contains("-3"), "{stderr}");
    let (ok, _, stderr) = run(&[env!("CARGO_MANIFEST_DIR")]);
    assert!(!ok && stderr.contains("cannot read"), "{stderr}");
    if let Some(non_pd) = data_file("cdm-pc/nasa-cara/SampleCDMs/OmitronTestCase_Test07_NonPDCovariance.cdm")
    {
        let (ok, _, stderr) = run(&[non_pd.to_str().unwrap(), "--hbr", "20"]);
        assert!(
            !ok && stderr.contains("OmitronTestCase_Test07") && stderr.contains("not positive definite"),
            "{stderr}"
        );
    }
}

#[test]
fn the_cara_hbr_table_gives_a_radius_when_the_message_states_none() {
    let Some(table_path) = data_file("cdm-pc/nasa-cara/hbr/HBR_Mass_Estimates_20260601_ForDistribution.csv")
    else {
        return;
    };
    let Some(cdm_path) = data_file(
        "cdm-pc/nasa-cara/PcTestCaseCDMs/000025994_conj_000026132_20220224_100307_20220221_225515.cdm",
    ) else {
        return;
    };
    let table = node::screening::hbr::HbrTable::read(&table_path).unwrap();
    assert!(table.len() > 20_000, "{} radii", table.len());
    let expected = table.combined_m(25994, 26132).expect("TERRA and its secondary are in the table");
    // The same message without its HBR comment.
    let text = std::fs::read_to_string(&cdm_path).unwrap();
    let stripped: String = text.lines().filter(|l| !l.contains("HBR")).map(|l| format!("{l}\n")).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-hbr.cdm");
    std::fs::write(&path, stripped).unwrap();
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_commons"))
            .arg("pc")
            .arg(&path)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&["--json"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--hbr-table"));
    let out = run(&["--json", "--hbr-table", table_path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["hard_body_radius_m"].as_f64(), Some(expected));
}
