//! `commons convert` behaves as a user needs: every bad record is reported with its file, line,
//! object and field, the rest are converted, and `--strict` writes nothing.

use std::process::Command;

use orbit::tle::{self, TleOptions};
use orbit::{read_element_sets, ElementSet};
use protocol::ids::ObjectId;

/// Element sets made up for tests that must not depend on the data.
fn synthetic_sets(n: u32) -> Vec<ElementSet> {
    let base = "1 25544U 98067A   08264.51782528 -.00002182  00000+0 -11606-4 0  2926";
    let base2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537";
    let set = tle::parse_pair(Some("TEST SAT"), base, base2, &TleOptions::default()).expect("base TLE");
    (0..n)
        .map(|i| {
            let mut s = set.clone();
            s.estimate.object = ObjectId::Norad(10_000 + i);
            s.estimate.mean_anomaly_deg = f64::from(i % 360);
            s.name = Some(format!("TEST SAT {i}"));
            s
        })
        .collect()
}

#[test]
fn commons_convert_reports_every_bad_record_and_converts_the_rest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut lines: Vec<String> =
        tle::write(&synthetic_sets(50), true).expect("TLE").lines().map(str::to_owned).collect();
    // Object 10007's line 2 (file line 24) gets a wrong digit; object 10030 loses its line 2.
    let corrupted = lines[23].replacen("51.6416", "51.6417", 1);
    lines[23] = corrupted;
    lines.remove(3 * 30 + 2);
    let input = dir.path().join("catalogue.3le");
    std::fs::write(&input, lines.join("\n") + "\n").expect("write input");
    let output = dir.path().join("out.json");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_commons"))
            .arg("convert")
            .arg(&input)
            .args(["--to", "omm-json", "-o"])
            .arg(&output)
            .args(extra)
            .output()
            .expect("commons runs")
    };
    let result = run(&[]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success(), "{stderr}");
    let input_name = input.display().to_string();
    assert!(stderr.contains(&format!("{input_name}:24: object 10007: checksum")), "{stderr}");
    assert!(stderr.contains(&format!("{input_name}:92: object 10030: line")), "{stderr}");
    assert!(stderr.contains("2 bad records (listed above); the other 48 element sets written"), "{stderr}");
    assert!(!stderr.contains("Stack backtrace"), "{stderr}");
    let written = read_element_sets(&std::fs::read_to_string(&output).expect("output written"), "out.json");
    assert!(written.errors.is_empty(), "{:?}", written.errors);
    assert_eq!(written.sets.len(), 48);

    std::fs::remove_file(&output).expect("remove");
    let strict = run(&["--strict"]);
    assert!(!strict.status.success());
    let stderr = String::from_utf8_lossy(&strict.stderr);
    assert_eq!(stderr.matches("object ").count(), 1, "{stderr}");
    assert!(!output.exists(), "--strict writes nothing");
}
