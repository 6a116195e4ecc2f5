//! `commons demo`: a local network of five nodes from three agencies on loopback, each a real
//! daemon (the same `daemon::run` as `commons node run`) with its own data directory, keys
//! and store. Agencies publish their share of a catalogue (the shared 2023-03-31 catalogue when
//! present, else a synthetic population generated in code), the network converges, one
//! agency's newer estimate sits beside another's, one node screens the catalogue for
//! conjunctions and shows the closest with how each source sees them, and everything stops
//! cleanly.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use protocol::genesis::{Founder, Genesis};

use crate::api::SubmitRequest;
use crate::client::Client;
use crate::config::Config;
use crate::core::SubmitSummary;
use crate::datadir::DataDir;
use crate::orbit::ElementSet;

/// Objects published in the demo, so that it finishes in well under a minute on two cores.
pub const DEMO_OBJECTS: usize = 3000;

struct DemoNode {
    label: String,
    client: Client,
    p2p: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

impl DemoNode {
    fn start(label: &str, dir: &DataDir, bootstrap: &[String], screening: bool) -> Result<DemoNode> {
        let list = bootstrap.iter().map(|b| format!("\"{b}\"")).collect::<Vec<_>>().join(", ");
        let toml = format!(
            "data_dir = \"{}\"\n[api]\nlisten = \"127.0.0.1:0\"\n[network]\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\nbootstrap = [{list}]\n\
             [gossip]\nheartbeat_ms = 200\nmesh_n = 4\nmesh_n_low = 2\nmesh_n_high = 8\n[sync]\ninterval_s = 1\n[store]\ncache_mb = 16\n[screening]\nenabled = {screening}\nwindow_h = 24.0\nthreshold_km = 5.0\n",
            dir.root().display()
        );
        let config = Config::from_toml(&toml, None)?;
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
            runtime.block_on(crate::daemon::run(
                config,
                async move {
                    let _ = shutdown_rx.await;
                },
                Some(ready_tx),
            ))
        });
        let api = ready_rx.blocking_recv().context("a demo node failed to start")?;
        let client = Client::new(&api.to_string(), dir.read_token().ok(), dir.root().to_owned());
        let start = Instant::now();
        let p2p = loop {
            let status: serde_json::Value = client.get("/v1/status")?;
            if let Some(addr) =
                status["network"]["listen_addrs"].as_array().and_then(|a| a.first()).and_then(|a| a.as_str())
            {
                break format!("{addr}/p2p/{}", status["node"]["peer_id"].as_str().unwrap_or_default());
            }
            if start.elapsed() > Duration::from_secs(20) {
                bail!("node {label} did not start listening");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Ok(DemoNode {
            label: label.to_owned(),
            client,
            p2p,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        })
    }

    fn status(&self) -> Result<serde_json::Value> {
        self.client.get("/v1/status")
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for DemoNode {
    fn drop(&mut self) {
        self.stop();
    }
}

fn catalogue(epoch: protocol::time::Epoch) -> (Vec<ElementSet>, String) {
    if let Some(path) = crate::data::data_dir()
        .map(|d| d.join("catalog/full-catalog-3le-2023-03-31.txt"))
        .filter(|p| p.exists())
    {
        if let Ok(text) = std::fs::read_to_string(&path) {
            let mut sets = crate::orbit::read_element_sets(&text, &path.display().to_string()).sets;
            // Move the epochs near today, keeping their spread, so no node finds them stale.
            let newest = sets.iter().map(|s| s.estimate.epoch).max().unwrap_or(epoch);
            for s in &mut sets {
                s.estimate.epoch = epoch.plus_micros(s.estimate.epoch.0 - newest.0);
            }
            sets.truncate(DEMO_OBJECTS);
            return (
                sets,
                format!("the first {DEMO_OBJECTS} objects of the shared catalogue {}", path.display()),
            );
        }
    }
    (
        crate::synthetic::catalogue(DEMO_OBJECTS, epoch, 2026),
        format!("a synthetic population of {DEMO_OBJECTS} objects (shells, debris, GEO)"),
    )
}

fn submit(client: &Client, sets: &[ElementSet]) -> Result<SubmitSummary> {
    let request = SubmitRequest::of(sets);
    client.post("/v1/submit", &request)
}

/// Waits for University East's screening of the converged catalogue and prints the closest
/// approaches, with how the sources see each.
fn show_conjunctions(east: &DemoNode) -> Result<()> {
    let t = Instant::now();
    let deadline = t + Duration::from_secs(60);
    let screening = loop {
        let status = east.status()?;
        let s = &status["core"]["screening"];
        let objects = s["objects"].as_u64().unwrap_or(0);
        if objects > 0 && objects >= status["core"]["objects"].as_u64().unwrap_or(u64::MAX) {
            break s.clone();
        }
        if Instant::now() > deadline {
            bail!("University East's screening did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let reports: Vec<crate::core::ConjunctionReport> = east.client.get("/v1/conjunctions?limit=200")?;
    println!(
        "6. University East screened its own copy of the catalogue ({} objects, the next 24 h, 5 km): {} close approaches.",
        screening["objects"],
        screening["conjunctions"]
    );
    let mut closest: Vec<&crate::core::ConjunctionReport> = reports.iter().collect();
    closest.sort_by(|a, b| a.event.miss_distance_km.total_cmp(&b.event.miss_distance_km));
    if closest.is_empty() {
        println!("   none within 5 km in this sample of the catalogue.");
    }
    for r in closest.iter().take(5) {
        let e = &r.event;
        let who = |o: protocol::ids::ObjectId, n: &Option<String>| match n {
            Some(n) => format!("{o} ({n})"),
            None => o.to_string(),
        };
        let sources: Vec<String> = r
            .spread
            .iter()
            .flat_map(|s| s.per_source.iter())
            .map(|p| {
                let name = |a: &protocol::ids::AgencyId| {
                    r.agency_names.get(&a.to_hex()).cloned().unwrap_or_else(|| a.short())
                };
                let miss = p
                    .approach
                    .as_ref()
                    .map_or("no approach".to_owned(), |a| format!("{:.3} km", a.miss_distance_km));
                format!("{} × {}: {miss}", name(&p.source.0), name(&p.source.1))
            })
            .collect();
        println!(
            "   {}  {} and {}: {:.3} km at {:.1} km/s; by source: {}",
            e.tca.to_iso_millis(),
            who(e.primary, &r.primary_name),
            who(e.secondary, &r.secondary_name),
            e.miss_distance_km,
            e.relative_speed_km_s,
            sources.join("; ")
        );
    }
    Ok(())
}

/// Runs the demo in a temporary directory that it removes at the end.
pub fn run() -> Result<()> {
    let root: PathBuf = std::env::temp_dir().join(format!("commons-demo-{}", std::process::id()));
    let result = run_in(&root);
    let _ = std::fs::remove_dir_all(&root);
    result
}

fn run_in(root: &Path) -> Result<()> {
    let started = Instant::now();
    println!("Orbital Commons demo: 3 agencies, 5 nodes, on 127.0.0.1 (data in {})", root.display());
    let names = ["Agency North", "Agency South", "University East"];
    let signing: Vec<DataDir> = names
        .iter()
        .map(|n| {
            let d = DataDir::new(root.join(n.replace(' ', "-").to_lowercase()));
            d.init(Some(n), false, None).map(|_| d)
        })
        .collect::<Result<_>>()?;
    let relays: Vec<DataDir> = ["north-relay", "south-relay"]
        .iter()
        .map(|n| {
            let d = DataDir::new(root.join(n));
            d.init(None, true, None).map(|_| d)
        })
        .collect::<Result<_>>()?;
    let peer = |d: &DataDir| -> Result<Vec<u8>> { Ok(d.peer_id()?.context("node key")?.to_bytes()) };
    let founders = [
        (&signing[0], vec![peer(&signing[0])?, peer(&relays[0])?]),
        (&signing[1], vec![peer(&signing[1])?, peer(&relays[1])?]),
        (&signing[2], vec![peer(&signing[2])?]),
    ];
    let genesis = Genesis {
        network_name: "demo".into(),
        founders: founders
            .iter()
            .map(|(d, peers)| -> Result<Founder> {
                let info = d.agency()?.context("agency info")?;
                Ok(Founder { agency: info.agency, name: info.name, node_peer_ids: peers.clone() })
            })
            .collect::<Result<_>>()?,
        endorsement_threshold: 2,
        estimates_per_source: 3,
        shared_orbit_window_s: 3 * 86_400,
        max_epoch_ahead_s: 86_400,
    }
    .seal()?;
    for d in signing.iter().chain(relays.iter()) {
        std::fs::write(d.genesis(), serde_json::to_string_pretty(&genesis)?)?;
    }
    println!(
        "1. Genesis sealed: founders {}, endorsement threshold k = 2, network id {}",
        names.join(", "),
        genesis.network_id().short()
    );

    // University East's node also screens the catalogue for conjunctions (every node may).
    let east = DemoNode::start("University East", &signing[2], &[], true)?;
    let north = DemoNode::start("Agency North", &signing[0], std::slice::from_ref(&east.p2p), false)?;
    let north_relay = DemoNode::start("North relay", &relays[0], std::slice::from_ref(&north.p2p), false)?;
    let south = DemoNode::start("Agency South", &signing[1], std::slice::from_ref(&east.p2p), false)?;
    let south_relay = DemoNode::start("South relay", &relays[1], std::slice::from_ref(&south.p2p), false)?;
    let nodes = [&north, &north_relay, &south, &south_relay, &east];
    let deadline = Instant::now() + Duration::from_secs(30);
    while nodes
        .iter()
        .any(|n| n.status().map(|s| s["network"]["admitted"].as_u64().unwrap_or(0) == 0).unwrap_or(true))
    {
        if Instant::now() > deadline {
            bail!("the demo nodes did not admit each other within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("2. Five nodes running; each admitted its peers by the gating handshake.");

    let now = crate::core::now_epoch().plus_micros(-3_600_000_000);
    let (sets, source) = catalogue(now);
    println!("3. Publishing {source}: each agency signs its third at its signing node.");
    let t = Instant::now();
    for (i, node) in [&north, &south, &east].iter().enumerate() {
        let share: Vec<ElementSet> = sets.iter().skip(i).step_by(3).cloned().collect();
        let summary = submit(&node.client, &share)?;
        println!("   {}: {} element sets signed and stored", node.label, summary.accepted);
    }
    let total_updates: u64 = north.status()?["core"]["headers"].as_u64().unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let digests: Vec<String> = nodes
            .iter()
            .map(|n| n.status().map(|s| s["core"]["header_digest"].as_str().unwrap_or("").to_owned()))
            .collect::<Result<_>>()?;
        let headers: Vec<u64> = nodes
            .iter()
            .map(|n| n.status().map(|s| s["core"]["headers"].as_u64().unwrap_or(0)))
            .collect::<Result<_>>()?;
        if digests.windows(2).all(|w| w[0] == w[1]) && headers[0] >= total_updates {
            println!(
                "4. All five nodes hold the same {} signed updates (state digest {}) {:.1} s after publishing began.",
                headers[0],
                &digests[0][..16],
                t.elapsed().as_secs_f64()
            );
            break;
        }
        if Instant::now() > deadline {
            bail!("the nodes did not converge within 60 s: {headers:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    // Agency South publishes its own, newer estimate of an object Agency North published.
    let mut newer = sets[0].clone();
    newer.estimate.epoch = newer.estimate.epoch.plus_micros(1_800_000_000);
    // Thirty minutes later along the same orbit, plus a small disagreement (0.01° of anomaly).
    let advance_deg = 360.0 * newer.estimate.mean_motion_rev_per_day / 48.0;
    newer.estimate.mean_anomaly_deg =
        (newer.estimate.mean_anomaly_deg + advance_deg + 0.01).rem_euclid(360.0);
    submit(&south.client, std::slice::from_ref(&newer))?;
    let object = newer.estimate.object;
    let deadline = Instant::now() + Duration::from_secs(30);
    let report: crate::core::ObjectReport = loop {
        let r: crate::core::ObjectReport = east.client.get(&format!("/v1/objects/{object}"))?;
        if r.view["current"].as_array().is_some_and(|c| c.len() == 2) {
            break r;
        }
        if Instant::now() > deadline {
            bail!("Agency South's estimate did not reach University East");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    println!(
        "5. Agency South published a newer estimate of object {object} ({}); University East's node now shows both sources:",
        newer.name.as_deref().unwrap_or("unnamed")
    );
    let shared = &report.view["shared"];
    for source in shared["sources"].as_array().into_iter().flatten() {
        let agency = source["agency"].as_str().unwrap_or_default();
        println!(
            "   {:<16} epoch {}  {} m from the shared orbit{}",
            report.agency_names.get(agency).map(String::as_str).unwrap_or(agency),
            source["epoch"].as_str().unwrap_or_default(),
            source["distance_m"],
            if source["update_id"] == shared["update_id"] {
                "  (chosen: the medoid of the sources)"
            } else {
                ""
            }
        );
    }
    show_conjunctions(&east)?;
    for mut node in [north_relay, south_relay, north, south, east] {
        node.stop();
    }
    println!(
        "7. All nodes stopped cleanly in {:.1} s; nothing is left running.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
