//! The network with real nodes on real sockets (127.0.0.1, port 0): gossip and sync converge
//! three agencies' five nodes; a late joiner catches up; a partition heals; a restarted node
//! converges; a newcomer joins by endorsement; hostile peers are refused while the honest
//! nodes converge.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::time::Duration;

use commons_tests::*;
use node::api::SubmitRequest;
use node::client::Client;
use node::core::SubmitSummary;
use node::datadir::DataDir;
use protocol::ids::ObjectId;
use protocol::records::Record;
use protocol::time::Epoch;
use serde_json::json;

const CONVERGE: Duration = Duration::from_secs(60);

fn epoch() -> Epoch {
    // Element epochs near "now" so that none is too far ahead of any node's clock.
    node::core::now_epoch().plus_micros(-3_600_000_000)
}

fn sets(n: usize, seed: u64, at: Epoch) -> Vec<node::orbit::ElementSet> {
    node::synthetic::catalogue(n, at, seed)
}

fn submit(client: &Client, sets: &[node::orbit::ElementSet]) -> anyhow::Result<SubmitSummary> {
    let mut total = SubmitSummary::default();
    for chunk in sets.chunks(2000) {
        let request = SubmitRequest::of(chunk);
        let s: SubmitSummary = client.post("/v1/submit", &request)?;
        total.accepted += s.accepted;
        total.metadata_updates += s.metadata_updates;
        total.rejected.extend(s.rejected);
    }
    Ok(total)
}

fn block(node: &TestNode, peer: &str, blocked: bool) {
    let _: serde_json::Value =
        node.client().post("/v1/admin/block", &json!({ "peer_id": peer, "blocked": blocked })).unwrap();
}

/// Blocks (or lets back) several peers in one request.
fn block_all(node: &TestNode, peers: &[&String], blocked: bool) {
    let _: serde_json::Value =
        node.client().post("/v1/admin/block", &json!({ "peer_ids": peers, "blocked": blocked })).unwrap();
}

fn publish_raw(node: &TestNode, items: &[Vec<u8>]) {
    let _: serde_json::Value = node
        .client()
        .post(
            "/v1/admin/publish-raw",
            &json!({ "items_hex": items.iter().map(hex::encode).collect::<Vec<_>>() }),
        )
        .unwrap();
}

/// Three founding agencies: A and B with a signing node and a relay each, C with one node.
struct ThreeAgencies {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
    dirs: Vec<DataDir>,
}

fn three_agencies() -> ThreeAgencies {
    let (tmp, root) = temp_root();
    let a = agency_dir(&root, "Agency A");
    let a2 = relay_dir(&root, "relay-a");
    let b = agency_dir(&root, "Agency B");
    let b2 = relay_dir(&root, "relay-b");
    let c = agency_dir(&root, "Agency C");
    genesis(&[(&a, vec![&a, &a2]), (&b, vec![&b, &b2]), (&c, vec![&c])], 2, &[&a, &a2, &b, &b2, &c]);
    ThreeAgencies { _tmp: tmp, root, dirs: vec![a, a2, b, b2, c] }
}

fn start_five(t: &ThreeAgencies) -> Vec<TestNode> {
    let c = TestNode::start(&t.dirs[4], &[]);
    let a = TestNode::start(&t.dirs[0], std::slice::from_ref(&c.p2p));
    let a2 = TestNode::start(&t.dirs[1], std::slice::from_ref(&a.p2p));
    let b = TestNode::start(&t.dirs[2], std::slice::from_ref(&c.p2p));
    let b2 = TestNode::start(&t.dirs[3], std::slice::from_ref(&b.p2p));
    let nodes = vec![a, a2, b, b2, c];
    for n in &nodes {
        wait_for("every node admits a peer", CONVERGE, || n.admitted_peers() >= 1);
        // A signing node with a bootstrap peer signs only after its first sync.
        if n.status()["core"]["signing"] == true {
            wait_for("a first sync before signing", CONVERGE, || n.status()["core"]["may_sign"] == true);
        }
    }
    nodes
}

#[test]
fn three_agencies_five_nodes_converge_and_a_relay_refuses_to_sign() {
    let t = three_agencies();
    let nodes = start_five(&t);
    let summary = submit(&nodes[0].client(), &sets(20, 1, epoch())).unwrap();
    assert_eq!(summary.accepted, 20);
    let refs: Vec<&TestNode> = nodes.iter().collect();
    wait_for("the update at every node", CONVERGE, || nodes.iter().all(|n| n.headers() == 40));
    let digest = wait_converged(&refs, CONVERGE);
    assert!(!digest.is_empty());
    // The object is visible with A's estimate at a node of another agency.
    let view: serde_json::Value = nodes[3].client().get(&format!("/v1/objects/{}", 90_000)).unwrap();
    assert_eq!(view["view"]["current"].as_array().map(Vec::len), Some(1));
    // A relay holds no signing key.
    let err = submit(&nodes[1].client(), &sets(1, 2, epoch())).unwrap_err().to_string();
    assert!(err.contains("relay"), "{err}");
}

#[test]
fn a_late_joiner_with_an_empty_store_catches_up_on_25000_updates_from_one_member() {
    let (_tmp, root) = temp_root();
    let (a, b) = two_founders(&root);
    let node_a = TestNode::start(&a, &[]);
    let summary = submit(&node_a.client(), &sets(12_500, 3, epoch())).unwrap();
    assert_eq!(summary.accepted, 12_500);
    assert_eq!(node_a.headers(), 25_000);
    let node_b = TestNode::start(&b, std::slice::from_ref(&node_a.p2p));
    wait_converged(&[&node_a, &node_b], Duration::from_secs(180));
    assert_eq!(node_b.headers(), 25_000);
    wait_for("every live body", Duration::from_secs(180), || {
        node_b.status()["core"]["missing_bodies"].as_u64() == Some(0)
    });
    assert_eq!(node_b.status()["core"]["body_digest"], node_a.status()["core"]["body_digest"]);
}

#[test]
fn gossip_over_the_per_author_rate_is_ignored_and_arrives_by_sync() {
    let (_tmp, root) = temp_root();
    let (a, b) = two_founders(&root);
    let node_a = TestNode::start(&a, &[]);
    // B takes at most 20 gossiped updates a second from any one author, and serves metrics.
    let node_b = TestNode::start_configured(
        &b,
        std::slice::from_ref(&node_a.p2p),
        8,
        "max_updates_per_author_per_s = 20\n[metrics]\nenabled = true\nlisten = \"127.0.0.1:0\"",
    );
    wait_converged(&[&node_a, &node_b], CONVERGE);
    // A burst of 1 000 updates by agency A: most of its gossip is over B's limit.
    let summary = submit(&node_a.client(), &sets(500, 7, epoch())).unwrap();
    assert_eq!(summary.accepted, 500);
    wait_converged(&[&node_a, &node_b], CONVERGE);
    let throttled = node_b.status()["network"]["gossip_throttled"].as_u64().unwrap_or(0);
    assert!(throttled > 0, "B ignored none of the burst");
    assert!(node_b.headers() >= 1000, "what was ignored arrived by sync");
    // The headers arrive while B's session is still fetching bodies; it counts once it ends.
    wait_for("B completes a sync session", CONVERGE, || {
        node_b.status()["network"]["syncs_completed"].as_u64().unwrap_or(0) >= 1
    });
    // The limit never penalises: A stays an admitted peer of B.
    assert!(node_b.admitted_peers() >= 1);

    // The Prometheus endpoint shows the same figures.
    let addr = node_b.status()["node"]["metrics"].as_str().expect("metrics are on").to_owned();
    let (head, body) = http_get(&addr, "/metrics");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"), "{head}");
    let metric = |name: &str| -> f64 {
        body.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')).and_then(|v| v.parse().ok()))
            .unwrap_or_else(|| panic!("no {name} in\n{body}"))
    };
    assert!(metric("commons_updates") >= 1000.0);
    assert!(metric("commons_updates_accepted_total") >= 1000.0);
    assert!(metric("commons_gossip_throttled_total") > 0.0);
    assert!(metric("commons_peers") >= 1.0);
    assert!(metric("commons_sync_rounds_total") >= 1.0);
    assert!(metric("commons_store_bytes") > 0.0);
    assert!(body.contains("# TYPE commons_updates_rejected_total counter"), "{body}");
    // Node A has the endpoint off.
    assert!(node_a.status()["node"]["metrics"].is_null());
}

/// A plain HTTP/1.1 GET on loopback: the status and headers, and the body.
fn http_get(addr: &str, path: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("metrics endpoint reachable");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.to_owned(), body.to_owned())
}

#[test]
fn a_partition_of_two_from_three_heals_with_nothing_lost_and_a_restarted_node_converges() {
    let t = three_agencies();
    let mut nodes = start_five(&t);
    let ids: Vec<String> = nodes.iter().map(TestNode::peer_id).collect();
    // Side one: A and its relay. Side two: B, its relay, and C.
    let (one, two) = ([0usize, 1], [2usize, 3, 4]);
    // A request naming a bad peer id is refused whole, and names it.
    let bad = nodes[0]
        .client()
        .post::<_, serde_json::Value>(
            "/v1/admin/block",
            &json!({ "peer_ids": [ids[2], "not-a-peer"], "blocked": true }),
        )
        .unwrap_err();
    assert!(format!("{bad:#}").contains("\"not-a-peer\""), "{bad:#}");
    // Side one blocks side two in one request per node; side two blocks peer by peer.
    let two_ids: Vec<&String> = two.iter().map(|&j| &ids[j]).collect();
    for &i in &one {
        block_all(&nodes[i], &two_ids, true);
        for &j in &two {
            block(&nodes[j], &ids[i], true);
        }
    }
    let updates = |s: SubmitSummary| (s.accepted + s.metadata_updates) as u64;
    let side_one = updates(submit(&nodes[0].client(), &sets(30, 10, epoch())).unwrap());
    let side_two =
        updates(submit(&nodes[2].client(), &sets(40, 20, epoch().plus_micros(60_000_000))).unwrap());
    wait_for("side one agrees", CONVERGE, || nodes[1].headers() == side_one);
    wait_for("side two agrees", CONVERGE, || {
        nodes[3].headers() == side_two && nodes[4].headers() == side_two
    });
    assert_ne!(nodes[0].digest(), nodes[2].digest(), "the sides differ while partitioned");
    for &i in &one {
        block_all(&nodes[i], &two_ids, false);
        for &j in &two {
            block(&nodes[j], &ids[i], false);
        }
    }
    // Redial across the healed cut in one request; a bad address refuses the request whole.
    let bad = nodes[0]
        .client()
        .post::<_, serde_json::Value>("/v1/admin/dial", &json!({ "addrs": [nodes[2].p2p, "/ip4/nowhere"] }))
        .unwrap_err();
    assert!(format!("{bad:#}").contains("\"/ip4/nowhere\""), "{bad:#}");
    let across: Vec<&String> = two.iter().map(|&j| &nodes[j].p2p).collect();
    let _: serde_json::Value = nodes[0].client().post("/v1/admin/dial", &json!({ "addrs": across })).unwrap();
    let refs: Vec<&TestNode> = nodes.iter().collect();
    wait_converged(&refs, CONVERGE);
    assert_eq!(nodes[4].headers(), side_one + side_two, "nothing lost on either side");

    // Restart a node while another keeps submitting: it comes back and converges.
    let restarted = nodes.remove(3);
    restarted.stop();
    let during =
        updates(submit(&nodes[0].client(), &sets(25, 30, epoch().plus_micros(120_000_000))).unwrap());
    let b2 = TestNode::start(&t.dirs[3], std::slice::from_ref(&nodes[2].p2p));
    let after = updates(submit(&nodes[2].client(), &sets(25, 40, epoch().plus_micros(180_000_000))).unwrap());
    nodes.push(b2);
    let refs: Vec<&TestNode> = nodes.iter().collect();
    wait_converged(&refs, CONVERGE);
    assert_eq!(nodes[4].headers(), side_one + side_two + during + after, "the restarted node has everything");
    let _ = &t.root;
}

#[test]
fn a_newcomer_joins_by_endorsement_and_only_at_the_threshold() {
    let t = three_agencies();
    let nodes = start_five(&t);
    let d = agency_dir(&t.root, "Agency D");
    std::fs::copy(t.dirs[0].genesis(), d.genesis()).unwrap();
    let node_d = TestNode::start(&d, std::slice::from_ref(&nodes[0].p2p));
    // The applicant writes its signed request (its node has no members to sync with yet).
    let request: node::core::JoinRequest =
        node_d.client().post("/v1/join-request", &json!({ "name": "Agency D" })).unwrap();
    // Its data before admission counts nowhere.
    let early = sets(1, 50, epoch());
    submit(&node_d.client(), &early).unwrap();
    let early_object = early[0].estimate.object;

    let _: serde_json::Value = nodes[0].client().post("/v1/endorse", &request).unwrap();
    let members = |n: &TestNode| -> usize {
        let m: node::core::MembersReport = n.client().get("/v1/members").unwrap();
        m.members.len()
    };
    wait_for("the first endorsement everywhere", CONVERGE, || nodes.iter().all(|n| n.headers() >= 1));
    assert_eq!(members(&nodes[4]), 3, "one endorsement of k = 2 admits nobody");
    let d_id = node_d.peer_id();
    assert_ne!(
        peer_state(&nodes[0], &d_id).as_deref(),
        Some("admitted"),
        "the applicant's node is refused before the threshold"
    );
    let unknown = nodes[4].client().get::<serde_json::Value>(&format!("/v1/objects/{early_object}"));
    assert!(unknown.is_err(), "its updates count nowhere before admission");

    let _: serde_json::Value = nodes[2].client().post("/v1/endorse", &request).unwrap();
    wait_for("admission everywhere", CONVERGE, || nodes.iter().all(|n| members(n) == 4));
    wait_for("the newcomer's node is let in", CONVERGE, || {
        peer_state(&nodes[0], &d_id).as_deref() == Some("admitted")
    });
    let mut all: Vec<&TestNode> = nodes.iter().collect();
    all.push(&node_d);
    wait_converged(&all, CONVERGE);
    // Its early update now counts, and its new submissions are accepted everywhere.
    let later = sets(5, 60, epoch().plus_micros(600_000_000));
    let summary = submit(&node_d.client(), &later).unwrap();
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    let object = later[0].estimate.object;
    wait_for("the newcomer's estimate everywhere", CONVERGE, || {
        nodes.iter().all(|n| {
            n.client()
                .get::<serde_json::Value>(&format!("/v1/objects/{object}"))
                .is_ok_and(|v| v["view"]["current"].as_array().is_some_and(|c| !c.is_empty()))
        })
    });
    wait_converged(&all, CONVERGE);
}

/// Imports signed envelopes into a node's own store (its anti-entropy then serves them).
fn import(node: &TestNode, items: &[Vec<u8>]) {
    let _: serde_json::Value = node
        .client()
        .post("/v1/admin/import", &json!({ "items_hex": items.iter().map(hex::encode).collect::<Vec<_>>() }))
        .unwrap();
}

fn update_held(node: &TestNode, id: &protocol::ids::UpdateId) -> bool {
    node.client().get::<serde_json::Value>(&format!("/v1/updates/{id}")).is_ok()
}

fn current_count(node: &TestNode, object: ObjectId) -> usize {
    node.client()
        .get::<serde_json::Value>(&format!("/v1/objects/{object}"))
        .ok()
        .and_then(|v| v["view"]["current"].as_array().map(Vec::len))
        .unwrap_or(0)
}

fn peer(node: &TestNode, peer: &str) -> Option<serde_json::Value> {
    let peers: Vec<serde_json::Value> = node.client().get("/v1/peers").unwrap();
    peers.into_iter().find(|p| p["peer_id"] == peer)
}

fn peer_state(node: &TestNode, id: &str) -> Option<String> {
    peer(node, id).and_then(|p| p["state"].as_str().map(str::to_owned))
}

#[test]
fn hostile_peers_are_refused_while_the_honest_nodes_converge() {
    let (_tmp, root) = temp_root();
    let a = agency_dir(&root, "Agency A");
    let b = agency_dir(&root, "Agency B");
    let m = agency_dir(&root, "Mallory");
    let x = agency_dir(&root, "Outsider");
    let x2 = agency_dir(&root, "Impostor");
    let g = genesis(&[(&a, vec![&a]), (&b, vec![&b]), (&m, vec![&m])], 2, &[&a, &b, &m, &x, &x2]);
    let network = g.network_id();
    let node_a = TestNode::start(&a, &[]);
    let node_b = TestNode::start(&b, std::slice::from_ref(&node_a.p2p));
    let node_m = TestNode::start(&m, std::slice::from_ref(&node_a.p2p));
    wait_for("members connected", CONVERGE, || node_a.admitted_peers() >= 2);
    // Nodes with a bootstrap peer sign only after their first sync.
    for node in [&node_b, &node_m] {
        wait_for("a first sync before signing", CONVERGE, || node.status()["core"]["may_sign"] == true);
    }
    // One object per seed, so that each update below is about an object of its own.
    let estimate = |seed: u64| {
        let mut e = sets(1, seed, epoch())[0].estimate.clone();
        e.object = ObjectId::Norad(80_000 + seed as u32);
        e
    };

    // A non-member: refused, and what it publishes is never accepted.
    let node_x = TestNode::start(&x, std::slice::from_ref(&node_a.p2p));
    let x_update =
        x.signer().unwrap().unwrap().sign(network, 10, None, &Record::OrbitEstimate(estimate(70))).unwrap();
    publish_raw(&node_x, &[x_update.to_bytes()]);

    // A non-member presenting a copy of a member's public binding in the handshake.
    let bound: serde_json::Value =
        node_m.client().post("/v1/bind-node", &json!({ "peer_id": node_m.peer_id() })).unwrap();
    let binding: serde_json::Value =
        node_m.client().get(&format!("/v1/updates/{}", bound["update_id"].as_str().unwrap())).unwrap();
    let node_x2 = TestNode::start(&x2, &[]);
    let _: serde_json::Value = node_x2
        .client()
        .post("/v1/admin/present", &json!({ "items_hex": [binding["envelope_hex"]] }))
        .unwrap();
    let _: serde_json::Value =
        node_x2.client().post("/v1/admin/dial", &json!({ "addr": node_a.p2p })).unwrap();

    // A member: garbage, a forged signature, another network's update, an oversized message.
    let signer_m = m.signer().unwrap().unwrap();
    let mut forged = signer_m.sign(network, 20, None, &Record::OrbitEstimate(estimate(71))).unwrap();
    forged.header.signature[0] ^= 1;
    let wrong_network = signer_m
        .sign(protocol::ids::NetworkId([9; 32]), 21, None, &Record::OrbitEstimate(estimate(72)))
        .unwrap();
    publish_raw(
        &node_m,
        &[b"garbage".to_vec(), forged.to_bytes(), wrong_network.to_bytes(), vec![7u8; 20 * 1024]],
    );

    // A member equivocating (three updates at one seq), a defective body, and an honest update.
    let forked: Vec<protocol::Envelope> = (73..76)
        .map(|seed| signer_m.sign(network, 30, None, &Record::OrbitEstimate(estimate(seed))).unwrap())
        .collect();
    let mut nan = estimate(76);
    nan.eccentricity = f64::NAN;
    let defective = signer_m.sign(network, 31, None, &Record::OrbitEstimate(nan)).unwrap();
    let honest = signer_m.sign(network, 32, None, &Record::OrbitEstimate(estimate(77))).unwrap();
    // The equivocator's node holds all of them (so anti-entropy serves them even after its
    // gossip score fell below the graylist for the garbage above) and gossips them too.
    let mallory_updates: Vec<Vec<u8>> =
        forked.iter().chain([&honest]).map(protocol::Envelope::to_bytes).collect();
    import(&node_m, &mallory_updates);
    publish_raw(&node_m, &mallory_updates);
    // The defective body (validly signed by Mallory) reaches A only through B, an honest
    // relay whose score the garbage above did not touch: B gossips it and serves it.
    import(&node_b, &[defective.to_bytes()]);
    publish_raw(&node_b, &[defective.to_bytes()]);

    wait_for("the honest update of the equivocator", CONVERGE, || {
        current_count(&node_a, estimate(77).object) == 1 && current_count(&node_b, estimate(77).object) == 1
    });
    let mut ids: Vec<protocol::ids::UpdateId> = forked.iter().map(protocol::Envelope::id).collect();
    ids.sort();
    wait_for("the fork at both honest nodes", CONVERGE, || {
        [&node_a, &node_b].iter().all(|n| update_held(n, &ids[0]) && update_held(n, &ids[1]))
    });
    for n in [&node_a, &node_b] {
        assert!(!update_held(n, &ids[2]), "a third data header at a forked seq is not stored");
        let check: node::core::CheckReport = n.client().get("/v1/check").unwrap();
        assert_eq!(check.forks, 1, "the equivocation is one fork");
        for seed in 73..76 {
            assert_eq!(current_count(n, estimate(seed).object), 0, "both forked updates count nowhere");
        }
    }
    wait_for("the defective body flagged", CONVERGE, || {
        node_a.status()["core"]["defective"].as_u64().unwrap_or(0) >= 1
    });
    assert!(update_held(&node_a, &defective.id()), "kept as evidence");
    assert!(!update_held(&node_a, &forged.id()) && !update_held(&node_a, &wrong_network.id()));
    // No penalty for relaying a defective body: a rejected message costs 100 points, far
    // below the graylist, and the score moves as soon as the message is judged.
    let relay = peer(&node_a, &node_b.peer_id()).expect("B is a peer of A");
    assert_eq!(relay["state"], "admitted", "no penalty for a defective body: {relay}");
    assert!(relay["score"].as_f64().unwrap_or(0.0) >= 0.0, "no penalty for a defective body: {relay}");

    // The outsiders were refused, and nothing of theirs is accepted.
    assert_ne!(peer_state(&node_a, &node_x.peer_id()).as_deref(), Some("admitted"));
    assert_ne!(peer_state(&node_a, &node_x2.peer_id()).as_deref(), Some("admitted"));
    assert!(!update_held(&node_a, &x_update.id()));

    // A flood of 10 000 messages from the member: it is cut off, the others are served.
    let flood: Vec<Vec<u8>> = (0..10_000u32).map(|i| format!("flood {i}").into_bytes()).collect();
    for chunk in flood.chunks(2000) {
        publish_raw(&node_m, chunk);
    }
    let summary = submit(&node_b.client(), &sets(10, 78, epoch())).unwrap();
    assert_eq!(summary.accepted, 10);
    wait_for("the flooder scored down or cut off", CONVERGE, || {
        let peers: Vec<serde_json::Value> = node_a.client().get("/v1/peers").unwrap();
        match peers.iter().find(|p| p["peer_id"] == node_m.peer_id().as_str()) {
            None => true,
            Some(p) => p["score"].as_f64().is_some_and(|s| s < 0.0),
        }
    });
    wait_converged(&[&node_a, &node_b], CONVERGE);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_signing_node_restored_from_an_old_backup_syncs_before_it_signs_and_never_forks() {
    let (_tmp, root) = temp_root();
    let (a, b) = two_founders(&root);
    let node_b = TestNode::start(&b, &[]);
    let node_a = TestNode::start(&a, std::slice::from_ref(&node_b.p2p));
    wait_for("A synced with its configured peer", CONVERGE, || node_a.status()["core"]["may_sign"] == true);
    submit(&node_a.client(), &sets(10, 90, epoch())).unwrap();
    wait_converged(&[&node_a, &node_b], CONVERGE);
    let a_id = node_a.peer_id();
    node_a.stop();
    // The backup, then more work the backup does not have.
    let backup = root.join("backup-store");
    copy_dir(&a.store(), &backup);
    let node_a = TestNode::start(&a, std::slice::from_ref(&node_b.p2p));
    wait_for("A synced again", CONVERGE, || node_a.status()["core"]["may_sign"] == true);
    submit(&node_a.client(), &sets(10, 91, epoch().plus_micros(60_000_000))).unwrap();
    wait_converged(&[&node_a, &node_b], CONVERGE);
    let before_restore: node::core::CheckReport = node_a.client().get("/v1/check").unwrap();
    node_a.stop();

    // Restore the old backup; B refuses A for now, so A cannot sync.
    std::fs::remove_dir_all(a.store()).unwrap();
    copy_dir(&backup, &a.store());
    block(&node_b, &a_id, true);
    let node_a = TestNode::start(&a, std::slice::from_ref(&node_b.p2p));
    let err =
        submit(&node_a.client(), &sets(5, 92, epoch().plus_micros(120_000_000))).unwrap_err().to_string();
    assert!(err.contains("not yet synced"), "a restored signing node does not sign before it syncs: {err}");

    block(&node_b, &a_id, false);
    wait_for("A synced after the restore", CONVERGE, || node_a.status()["core"]["may_sign"] == true);
    let summary = submit(&node_a.client(), &sets(5, 92, epoch().plus_micros(120_000_000))).unwrap();
    assert!(summary.rejected.is_empty());
    wait_converged(&[&node_a, &node_b], CONVERGE);
    for node in [&node_a, &node_b] {
        let check: node::core::CheckReport = node.client().get("/v1/check").unwrap();
        assert_eq!(check.forks, 0, "no seq was reused: {check:?}");
    }
    let after: node::core::CheckReport = node_a.client().get("/v1/check").unwrap();
    assert!(
        after.highest_own_seq > before_restore.highest_own_seq,
        "continues above the agency's highest seq: {after:?} vs {before_restore:?}"
    );
    // (A clock set back changes nothing: seq = max(clock, highest reserved or seen + 1), which
    // protocol/tests/rules.rs checks with the clock going back an hour.)
}
