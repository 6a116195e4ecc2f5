//! Network figures with real nodes on loopback, printed as a table:
//! - delivery: 20 nodes, 10 updates/s of about 1 KB for 30 s, time from submit to present at
//!   every node (p50/p95/max) and the share delivered;
//! - catch-up: a late joiner syncing 100 000 updates from one peer, and the reconciliation
//!   bytes for 100 updates missing out of 100 000;
//! - bandwidth: gossip payload bytes per node per update at steady state.
//!
//! `cargo bench -p commons-tests --bench network` (`NETWORK_BENCH_NODES`,
//! `NETWORK_BENCH_SECONDS` and `NETWORK_BENCH_CATCHUP` shrink it for a quick look;
//! `NETWORK_BENCH_TRACE=1` prints the late joiner's progress every 250 ms).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use commons_tests::*;
use node::api::{SubmitRequest, WireElementSet};
use node::core::SubmitSummary;
use protocol::ids::UpdateId;
use protocol::records::{Covariance, CovarianceFrame, Quality};
use serde_json::json;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

fn main() {
    let n_nodes = env_usize("NETWORK_BENCH_NODES", 20);
    let seconds = env_usize("NETWORK_BENCH_SECONDS", 30);
    let catchup = env_usize("NETWORK_BENCH_CATCHUP", 50_000);

    // ---- delivery, n_nodes founders each with one node, a sparse random mesh of dials
    let (_tmp, root) = temp_root();
    let dirs: Vec<_> = (0..n_nodes).map(|i| agency_dir(&root, &format!("agency-{i:02}"))).collect();
    let founders: Vec<_> = dirs.iter().map(|d| (d, vec![d])).collect();
    let all: Vec<_> = dirs.iter().collect();
    genesis(&founders, 2, &all);
    let mut nodes: Vec<TestNode> = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let bootstrap: Vec<String> = [i / 2, i.saturating_sub(1)]
            .into_iter()
            .filter(|&j| j < i)
            .map(|j| nodes[j].p2p.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        nodes.push(TestNode::start(dir, &bootstrap));
    }
    eprintln!("{n_nodes} nodes started");
    for n in &nodes {
        wait_for("every node admitted by a peer", Duration::from_secs(120), || n.admitted_peers() >= 1);
    }
    std::thread::sleep(Duration::from_secs(3)); // let the gossip mesh form (heartbeat 100 ms)
    let clients: Vec<_> = nodes.iter().map(TestNode::client).collect();
    let now = node::core::now_epoch().plus_micros(-3_600_000_000);
    let mut ids: Vec<(UpdateId, i64)> = Vec::new();
    let total = seconds * 10;
    let start = Instant::now();
    for k in 0..total {
        let due = Duration::from_millis(100 * k as u64);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        let mut set =
            node::synthetic::catalogue(1, now.plus_micros(k as i64 * 1_000_000), 1000 + k as u64).remove(0);
        // About 1 KB: a covariance, quality, and the sensor description.
        set.estimate.covariance =
            Some(Box::new(Covariance { frame: CovarianceFrame::Rtn, lower_triangle: [1e-4; 21] }));
        set.estimate.quality =
            Some(Quality { rms_km: Some(0.1), n_observations: Some(40), span_days: Some(2.0) });
        set.estimate.source = "radar ".repeat(80); // within the 512-byte text bound
        set.estimate.object = protocol::ids::ObjectId::Norad(200_000 + k as u32);
        set.name = None;
        set.cospar_id = None;
        let origin = k % nodes.len();
        let request = SubmitRequest {
            sets: vec![WireElementSet { estimate: set.estimate, name: None, cospar_id: None }],
        };
        let submitted_at = node::core::now_epoch().0;
        let summary: SubmitSummary = clients[origin].post("/v1/submit", &request).unwrap();
        assert!(summary.rejected.is_empty(), "the benchmark's update is valid: {:?}", summary.rejected);
        let history: Vec<node::core::HistoryEntry> =
            clients[origin].get(&format!("/v1/objects/{}/history", 200_000 + k as u32)).unwrap();
        ids.push((history[0].update_id, submitted_at));
    }
    eprintln!("{total} updates submitted");
    // Wait until everything is everywhere (or a minute passes), then collect arrival times.
    let id_list: Vec<UpdateId> = ids.iter().map(|(id, _)| *id).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut arrivals: Vec<Vec<Option<i64>>>;
    loop {
        arrivals =
            clients.iter().map(|c| c.post("/v1/arrivals", &json!({ "ids": id_list })).unwrap()).collect();
        if arrivals.iter().all(|a| a.iter().all(Option::is_some)) || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut latencies_ms = Vec::new();
    let mut delivered = 0;
    for (k, (_, submitted)) in ids.iter().enumerate() {
        let everywhere: Option<i64> =
            arrivals.iter().map(|a| a[k]).try_fold(i64::MIN, |acc, t| t.map(|t| acc.max(t)));
        if let Some(t) = everywhere {
            delivered += 1;
            latencies_ms.push((t - submitted).max(0) as f64 / 1000.0);
        }
    }
    latencies_ms.sort_by(f64::total_cmp);
    let update_bytes: f64 = {
        let v: serde_json::Value = clients[0].get(&format!("/v1/updates/{}", ids[0].0)).unwrap();
        v["envelope_hex"].as_str().unwrap().len() as f64 / 2.0
    };
    let gossip_bytes: f64 =
        nodes.iter().map(|n| n.status()["network"]["gossip_bytes"].as_f64().unwrap_or(0.0)).sum::<f64>();
    let per_node_per_update = gossip_bytes / nodes.len() as f64 / total as f64;
    drop(clients);
    drop(nodes);
    println!("| measure | value | goal |");
    println!("|---|---|---|");
    println!(
        "| delivery, {n_nodes} nodes, 10 updates/s of {update_bytes:.0} bytes for {seconds} s: p50 / p95 / max | {:.0} / {:.0} / {:.0} ms | p95 < 300 ms |",
        percentile(&latencies_ms, 0.5),
        percentile(&latencies_ms, 0.95),
        latencies_ms.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "| delivered to every node | {delivered} of {total} ({:.1} %) | 100 % |",
        100.0 * delivered as f64 / total as f64
    );
    println!("| gossip payload per node per update (update is {update_bytes:.0} bytes) | {per_node_per_update:.0} bytes | — |");
    if catchup == 0 {
        return;
    }

    // ---- catch-up of a late joiner from one peer
    let (_tmp2, root2) = temp_root();
    let (a, b) = two_founders(&root2);
    // Both with the node's default store cache (64 MB), as an agency would run them.
    let node_a = TestNode::start_configured(&a, &[], 64, "");
    let sets = node::synthetic::catalogue(catchup, now, 5);
    for chunk in sets.chunks(2000) {
        let request = SubmitRequest::of(chunk);
        let _: SubmitSummary = node_a.client().post("/v1/submit", &request).unwrap();
    }
    let stored = node_a.headers();
    eprintln!("delivery measured; catch-up of {stored} updates");
    let t = Instant::now();
    let node_b = TestNode::start_configured(&b, std::slice::from_ref(&node_a.p2p), 64, "");
    let trace = std::env::var_os("NETWORK_BENCH_TRACE").is_some();
    let mut last_trace = Instant::now();
    wait_for("catch-up", Duration::from_secs(600), || {
        let status = node_b.status();
        let (headers, missing) =
            (status["core"]["headers"].as_u64(), status["core"]["missing_bodies"].as_u64());
        if trace && last_trace.elapsed() >= Duration::from_millis(250) {
            last_trace = Instant::now();
            eprintln!("{:6.2} s: {headers:?} headers, {missing:?} bodies missing", t.elapsed().as_secs_f64());
        }
        headers == Some(stored) && missing == Some(0)
    });
    let catchup_s = t.elapsed().as_secs_f64();
    eprintln!("caught up in {catchup_s:.1} s");
    // The catch-up session can still be finishing (and then reports its 3 MB of reconciliation
    // over 100 000 ids): let it report before the count below starts.
    std::thread::sleep(Duration::from_millis(1500));
    // 100 updates missing out of all: B is cut off while A signs 50 element sets (estimate and
    // metadata each), then reconciles.
    let b_peer = node_b.peer_id();
    let _: serde_json::Value =
        node_a.client().post("/v1/admin/block", &json!({ "peer_id": b_peer, "blocked": true })).unwrap();
    let reconcile_before = node_b.status()["network"]["reconcile_bytes"].as_u64().unwrap_or(0);
    let extra = node::synthetic::catalogue(50, now, 6)
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            s.estimate.object = protocol::ids::ObjectId::Norad(300_000 + i as u32);
            WireElementSet { estimate: s.estimate, name: s.name, cospar_id: s.cospar_id }
        })
        .collect();
    let _: SubmitSummary = node_a.client().post("/v1/submit", &SubmitRequest { sets: extra }).unwrap();
    let missing = node_a.headers() - node_b.headers();
    let _: serde_json::Value =
        node_a.client().post("/v1/admin/block", &json!({ "peer_id": b_peer, "blocked": false })).unwrap();
    wait_for("the missing updates", Duration::from_secs(120), || node_b.headers() == node_a.headers());
    std::thread::sleep(Duration::from_millis(1500)); // the session that fetched them reports
    let reconcile = node_b.status()["network"]["reconcile_bytes"].as_u64().unwrap_or(0) - reconcile_before;

    println!("| late joiner catches up on {stored} updates from one peer | {catchup_s:.1} s | < 10 s for 100 000 |");
    println!("| reconciliation bytes, {missing} missing of {} | {reconcile} bytes ({:.0} per missing update) | ≤ 2 × negentropy's ~32 |", node_a.headers(), reconcile as f64 / missing.max(1) as f64);
}
