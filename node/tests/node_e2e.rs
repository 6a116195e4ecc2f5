//! One node end to end through the real `commons` binary: set up, run, submit, query,
//! export; a kill -9 in the middle of a large submission; bad input of every kind.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use node::api::SubmitRequest;
use node::client::Client;
use node::core::{CatalogueEntry, CheckReport, SubmitSummary};
use protocol::time::Epoch;

const BIN: &str = env!("CARGO_BIN_EXE_commons");

fn commons(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN).arg("--data-dir").arg(dir).args(args).output().expect("the commons binary runs")
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "command failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Waits for a condition, failing after `timeout` (never a bare sleep).
fn wait_for(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A network of two founders; the first one's node is the one under test.
struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

fn setup(max_request_bytes: usize) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let genesis = tmp.path().join("genesis.json");
    ok(commons(&a, &["init", "--agency", "Test Agency A"]));
    ok(commons(&b, &["init", "--agency", "Test Agency B"]));
    ok(commons(&a, &["genesis", "new", "--name", "e2e", "-o", genesis.to_str().unwrap()]));
    ok(commons(&a, &["genesis", "add-founder", genesis.to_str().unwrap()]));
    ok(commons(&b, &["genesis", "add-founder", genesis.to_str().unwrap()]));
    ok(commons(&a, &["genesis", "seal", genesis.to_str().unwrap()]));
    ok(commons(&a, &["init", "--genesis", genesis.to_str().unwrap()]));
    std::fs::write(
        a.join("config.toml"),
        format!(
            "[api]\nlisten = \"127.0.0.1:0\"\nmax_request_bytes = {max_request_bytes}\n[network]\nenabled = false\n[screening]\nenabled = false\n"
        ),
    )
    .unwrap();
    Setup { _tmp: tmp, dir: a }
}

struct RunningNode {
    child: Child,
    dir: PathBuf,
}

impl RunningNode {
    fn start(dir: &Path) -> RunningNode {
        let _ = std::fs::remove_file(dir.join("api.addr"));
        let child = Command::new(BIN)
            .arg("--data-dir")
            .arg(dir)
            .args(["node", "run"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let node = RunningNode { child, dir: dir.to_owned() };
        wait_for("the node's API", Duration::from_secs(60), || dir.join("api.addr").exists());
        node
    }
    fn client(&self) -> Client {
        Client::for_data_dir(&node::datadir::DataDir::new(&self.dir)).unwrap()
    }
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
    fn stop(mut self) {
        let pid = self.child.id() as i32;
        // SIGTERM: a clean stop with everything acknowledged on disk.
        assert_eq!(
            std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap().code(),
            Some(0)
        );
        let status = self.child.wait().unwrap();
        assert!(status.success(), "a clean stop exits 0: {status:?}");
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wire(sets: &[node::orbit::ElementSet]) -> SubmitRequest {
    SubmitRequest::of(sets)
}

fn check(client: &Client) -> CheckReport {
    client.get("/v1/check").unwrap()
}

#[test]
fn full_catalogues_submit_and_the_newer_estimates_win_in_export() {
    let (Some(older), Some(newer)) = (
        node::data::data_file("catalog/full-catalog-3le-2023-03-25.txt"),
        node::data::data_file("catalog/full-catalog-3le-2023-03-31.txt"),
    ) else {
        return;
    };
    let s = setup(64 << 20);
    let node = RunningNode::start(&s.dir);
    ok(commons(&s.dir, &["submit", older.to_str().unwrap()]));
    let out = ok(commons(&s.dir, &["submit", newer.to_str().unwrap()]));
    assert!(out.contains("accepted"), "{out}");

    let object: serde_json::Value =
        serde_json::from_str(&ok(commons(&s.dir, &["--json", "object", "25544"]))).unwrap();
    let epoch = object["view"]["current"][0]["estimate"]["epoch"].as_str().unwrap().to_owned();
    let newer_sets = node::orbit::read_element_sets(&std::fs::read_to_string(&newer).unwrap(), "newer").sets;
    let iss = newer_sets.iter().find(|s| s.estimate.object == protocol::ids::ObjectId::Norad(25544)).unwrap();
    assert_eq!(epoch, iss.estimate.epoch.to_string(), "the 2023-03-31 element set of the ISS is current");
    let human = ok(commons(&s.dir, &["object", "25544"]));
    assert!(human.contains("ISS (ZARYA)") && human.contains("Test Agency A"), "{human}");

    let export = s.dir.join("export.3le");
    ok(commons(&s.dir, &["export", "--format", "3le", "-o", export.to_str().unwrap()]));
    let parse = |text: &str| -> BTreeMap<String, (String, String, String)> {
        let lines: Vec<&str> = text.lines().collect();
        lines
            .chunks(3)
            .filter(|c| c.len() == 3)
            .map(|c| (c[1][2..7].to_owned(), (c[0].trim_end().to_owned(), c[1].to_owned(), c[2].to_owned())))
            .collect()
    };
    let input_new = parse(&std::fs::read_to_string(&newer).unwrap());
    let input_old = parse(&std::fs::read_to_string(&older).unwrap());
    let exported = parse(&std::fs::read_to_string(&export).unwrap());
    let epoch_of = |line1: &str| line1[18..32].to_owned();
    let mut compared = 0;
    for (number, new) in &input_new {
        // The newer file supersedes an object when its epoch is not older than the old one.
        let supersedes = input_old.get(number).is_none_or(|old| epoch_of(&new.1) >= epoch_of(&old.1));
        if supersedes {
            assert_eq!(
                exported.get(number),
                Some(new),
                "object {number} exports exactly as the 2023-03-31 input"
            );
            compared += 1;
        }
    }
    assert!(compared > 24_000, "compared {compared} objects");
    let report = check(&node.client());
    assert!(report.views_equal_rebuild && report.own_forks == 0, "{report:?}");
    node.stop();
}

#[test]
fn a_node_killed_mid_submission_keeps_every_acknowledged_update_and_never_reuses_a_seq() {
    let s = setup(64 << 20);
    let node = RunningNode::start(&s.dir);
    let epoch = Epoch::from_civil(2023, 3, 31, 0);
    let sets = node::synthetic::catalogue(20_000, epoch, 11);
    let acknowledged: Arc<Mutex<Vec<usize>>> = Arc::default();
    let submitter = {
        let client = node.client();
        let sets = sets.clone();
        let acknowledged = acknowledged.clone();
        std::thread::spawn(move || {
            for (i, batch) in sets.chunks(500).enumerate() {
                match client.post::<_, SubmitSummary>("/v1/submit", &wire(batch)) {
                    Ok(summary) => {
                        assert_eq!(summary.accepted, batch.len());
                        acknowledged.lock().unwrap().push(i);
                    }
                    Err(_) => return,
                }
            }
        })
    };
    wait_for("a first acknowledged batch", Duration::from_secs(120), || {
        !acknowledged.lock().unwrap().is_empty()
    });
    node.kill();
    submitter.join().unwrap();
    let acked: Vec<usize> = acknowledged.lock().unwrap().clone();
    assert!(!acked.is_empty());

    let node = RunningNode::start(&s.dir);
    let client = node.client();
    let before = check(&client);
    assert!(before.views_equal_rebuild, "views equal a rebuild after the crash: {before:?}");
    assert_eq!(before.own_forks, 0);
    assert_eq!(before.headers_in_engine, before.headers_in_store);
    let catalogue: Vec<CatalogueEntry> = client.get("/v1/catalogue").unwrap();
    let held: BTreeMap<_, _> = catalogue.iter().map(|e| (e.object, e.estimate.epoch)).collect();
    for i in &acked {
        for set in &sets[i * 500..(i + 1) * 500] {
            assert_eq!(
                held.get(&set.estimate.object),
                Some(&set.estimate.epoch),
                "acknowledged element set of {} is present",
                set.estimate.object
            );
        }
    }
    // Resubmitting everything after the restart: new seqs continue above every one used.
    let later: Vec<_> = sets
        .iter()
        .take(1000)
        .map(|s| {
            let mut s = s.clone();
            s.estimate.epoch = epoch.plus_micros(3_600_000_000);
            s
        })
        .collect();
    let summary: SubmitSummary = client.post("/v1/submit", &wire(&later)).unwrap();
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    let after = check(&client);
    assert_eq!(after.own_forks, 0, "no seq reused: {after:?}");
    assert!(after.highest_own_seq > before.highest_own_seq);
    assert!(after.views_equal_rebuild);
    node.stop();
}

#[test]
fn bad_input_gets_a_clear_error_and_leaves_the_store_unchanged() {
    let s = setup(200_000);
    let node = RunningNode::start(&s.dir);
    let client = node.client();
    let headers = |c: &Client| check(c).headers_in_store;

    // A file with one corrupt line among good ones.
    let good = "ISS (ZARYA)\n1 25544U 98067A   23090.52840278  .00016717  00000+0  30375-3 0  9992\n2 25544  51.6429 316.5164 0005750  81.0963  21.7569 15.49586962389475\n";
    let bad_checksum = "BROKEN\n1 00005U 58002B   23091.06277074  .00000170  00000+0  18756-3 0  9991\n2 00005  34.2627 333.0139 1847034 252.3237  86.8029 10.85076822315870\n";
    let file = s.dir.join("mixed.tle");
    std::fs::write(&file, format!("{bad_checksum}{good}")).unwrap();
    let before = headers(&client);
    let out = commons(&s.dir, &["submit", "--strict", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("mixed.tle:2") && stderr.contains("checksum"),
        "names the file, line and field: {stderr}"
    );
    assert_eq!(headers(&client), before, "--strict submits nothing");
    let out = commons(&s.dir, &["submit", file.to_str().unwrap()]);
    assert!(!out.status.success(), "a bad record makes the exit status non-zero");
    assert!(headers(&client) > before, "the good record is submitted");
    let before = headers(&client);

    // A wrong token.
    let addr = std::fs::read_to_string(s.dir.join("api.addr")).unwrap();
    let intruder = Client::new(addr.trim(), Some("0".repeat(64)), s.dir.clone());
    let epoch = Epoch::from_civil(2023, 3, 31, 0);
    let sets = node::synthetic::catalogue(10, epoch, 3);
    let err = intruder.post::<_, SubmitSummary>("/v1/submit", &wire(&sets)).unwrap_err().to_string();
    assert!(err.contains("token"), "{err}");
    assert_eq!(headers(&client), before);

    // A request over the size limit (200 000 bytes in this node's config).
    let big = node::synthetic::catalogue(2000, epoch, 4);
    let err = client.post::<_, SubmitSummary>("/v1/submit", &wire(&big)).unwrap_err().to_string();
    assert!(err.contains("larger than the node accepts"), "{err}");
    assert_eq!(headers(&client), before);

    // An unknown object.
    let out = commons(&s.dir, &["object", "99999"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown object 99999"));
    node.stop();

    // No node running.
    let out = commons(&s.dir, &["status"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("commons node run"), "says how to start it: {stderr}");

    // A store of an unknown schema version: refused with a clear message, left unchanged.
    {
        let db = sled::open(s.dir.join("store")).unwrap();
        db.open_tree("meta").unwrap().insert("schema_version", &99u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let out = Command::new(BIN).arg("--data-dir").arg(&s.dir).args(["node", "run"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("schema version 99"), "{stderr}");
    let db = sled::open(s.dir.join("store")).unwrap();
    assert_eq!(db.open_tree("updates").unwrap().len(), before, "the store is unchanged");
}

/// A circular 15.5 rev/day orbit through the x axis at `epoch` (the ascending node), inclined
/// `inclination_deg`, `ahead_deg` of mean anomaly past the node.
fn crossing(object: u32, inclination_deg: f64, ahead_deg: f64, epoch: Epoch) -> node::orbit::ElementSet {
    let estimate = protocol::records::OrbitEstimate {
        object: protocol::ids::ObjectId::Norad(object),
        epoch,
        mean_motion_rev_per_day: 15.5,
        eccentricity: 0.0001,
        inclination_deg,
        ra_of_asc_node_deg: 0.0,
        arg_of_pericenter_deg: 0.0,
        mean_anomaly_deg: ahead_deg,
        bstar: 0.0,
        mean_motion_dot: 0.0,
        ..node::synthetic::iss_2020_07_12()
    };
    node::orbit::ElementSet { estimate, name: Some(format!("CROSSING {object}")), cospar_id: None }
}

#[test]
fn the_node_screens_its_catalogue_and_rescreens_a_changed_object_incrementally() {
    let s = setup(64 << 20);
    std::fs::write(
        s.dir.join("config.toml"),
        "[api]\nlisten = \"127.0.0.1:0\"\n[network]\nenabled = false\n\
         [screening]\nenabled = true\ninterval_s = 3600\nwindow_h = 24.0\nthreshold_km = 20.0\n",
    )
    .unwrap();
    let node = RunningNode::start(&s.dir);
    let client = node.client();
    // An equatorial and a polar orbit through the same node, 0.01° apart, an hour from now:
    // they cross within a few km there (SGP4's short-period terms differ with inclination), and
    // drift apart along track after. Twenty other objects around them.
    let epoch = node::core::now_epoch().plus_micros(3_600_000_000);
    let mut sets = node::synthetic::catalogue(20, epoch, 5);
    sets.push(crossing(95_001, 0.0, 0.0, epoch));
    sets.push(crossing(95_002, 90.0, 0.01, epoch));
    let summary: SubmitSummary = client.post("/v1/submit", &SubmitRequest::of(&sets)).unwrap();
    assert_eq!(summary.accepted, 22, "{summary:?}");
    let screened = |c: &Client| -> serde_json::Value {
        let status: serde_json::Value = c.get("/v1/status").unwrap();
        status["core"]["screening"].clone()
    };
    wait_for("a screening with the crossing pair", Duration::from_secs(120), || {
        screened(&client)["objects"].as_u64() == Some(22)
    });
    let reports: Vec<node::core::ConjunctionReport> = client.get("/v1/conjunctions?object=95002").unwrap();
    assert!(!reports.is_empty(), "the crossing at the node is found");
    for r in &reports {
        let e = &r.event;
        assert_eq!((e.primary.to_string(), e.secondary.to_string()), ("95001".into(), "95002".into()));
        assert!(e.miss_distance_km < 20.0, "{}", e.miss_distance_km);
        assert!(e.relative_speed_km_s > 9.0, "crossing at right angles: {}", e.relative_speed_km_s);
        // One agency publishes both: one source pair, which sees the same approach.
        let spread = r.spread.as_ref().expect("spread requested by default");
        assert_eq!(spread.per_source.len(), 1);
        let min = spread.min_miss_km.expect("the source re-screens the pair");
        assert!((min - e.miss_distance_km).abs() < 0.01, "{min} vs {}", e.miss_distance_km);
        assert_eq!(r.primary_name.as_deref(), Some("CROSSING 95001"));
    }

    // The CLI lists them, and exports them as CDMs.
    let listed: Vec<serde_json::Value> = serde_json::from_str(&ok(commons(
        &s.dir,
        &["--json", "conjunctions", "--object", "95002", "--within", "20km"],
    )))
    .unwrap();
    assert_eq!(listed.len(), reports.len().min(50));
    let table = ok(commons(&s.dir, &["conjunctions", "--object", "95001"]));
    assert!(table.contains("95001 CROSSING 95001") && table.contains("source pair"), "{table}");
    let cdms = ok(commons(&s.dir, &["export", "--format", "cdm"]));
    let all: Vec<node::core::ConjunctionReport> = client.get("/v1/conjunctions?spread=false").unwrap();
    assert_eq!(cdms.matches("CCSDS_CDM_VERS").count(), all.len());
    let first = cdms.split("CCSDS_CDM_VERS").nth(1).expect("one message");
    let parsed = node::orbit::cdm::parse(&format!("CCSDS_CDM_VERS{first}"), "export").expect("a valid CDM");
    assert!((parsed.relative.miss_distance_m - all[0].event.miss_distance_km * 1000.0).abs() < 1e-3);

    // The polar object moves 10° ahead: the approaches open to a thousand km. Only it is
    // re-screened, and its events go.
    let before = screened(&client)["incremental_runs"].as_u64().unwrap_or(0);
    let moved = crossing(95_002, 90.0, 10.0, epoch.plus_micros(1_000_000));
    let _: SubmitSummary =
        client.post("/v1/submit", &SubmitRequest::of(std::slice::from_ref(&moved))).unwrap();
    wait_for("the incremental re-screen", Duration::from_secs(60), || {
        screened(&client)["incremental_runs"].as_u64().unwrap_or(0) > before
    });
    let after: Vec<node::core::ConjunctionReport> = client.get("/v1/conjunctions?object=95002").unwrap();
    assert!(after.is_empty(), "{} events left", after.len());
    node.stop();
}

/// Under systemd (`Type=notify`), the node reports READY=1 once its API answers and
/// STOPPING=1 when SIGTERM starts its clean stop; the test plays the service manager's socket.
#[test]
fn the_node_tells_the_service_manager_when_it_is_ready_and_when_it_stops() {
    use std::os::unix::net::UnixDatagram;
    let s = setup(1 << 20);
    let socket_path = s._tmp.path().join("notify.sock");
    let manager = UnixDatagram::bind(&socket_path).unwrap();
    manager.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let _ = std::fs::remove_file(s.dir.join("api.addr"));
    let child = Command::new(BIN)
        .arg("--data-dir")
        .arg(&s.dir)
        .args(["node", "run"])
        .env("RUST_LOG", "warn")
        .env("NOTIFY_SOCKET", &socket_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let node = RunningNode { child, dir: s.dir.clone() };
    let receive = || {
        let mut buf = [0u8; 512];
        let n = manager.recv(&mut buf).expect("a notification within 60 s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let ready = receive();
    assert!(ready.lines().any(|l| l == "READY=1"), "the first notification is READY=1: {ready:?}");
    // Ready means serving: the API answers at once.
    let status: serde_json::Value = node.client().get("/v1/status").unwrap();
    assert!(status["core"].is_object(), "{status}");
    // SIGTERM; the notification waits in the socket's queue.
    node.stop();
    let stopping = receive();
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "SIGTERM gives STOPPING=1: {stopping:?}");
}
