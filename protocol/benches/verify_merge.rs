//! Verify-and-merge throughput in memory, single thread: 100 000 distinct signed orbit
//! updates from 10 agencies. Prints a table; run with
//! `cargo bench -p commons-protocol --bench verify_merge`.
//!
//! Measures single ZIP-215 verification, batch verification, and the engine's whole ingest
//! path (batch verify, merge into the CRDT state, compaction, view refresh), and the resident
//! memory the engine adds per stored update.
#![allow(clippy::disallowed_methods)] // a benchmark reads the clock; the library never does

use std::time::Instant;

use protocol::engine::{Engine, EngineConfig, Input};
use protocol::envelope::{verify_header, verify_headers_batch, Envelope, Signer};
use protocol::genesis::{Founder, Genesis};
use protocol::ids::ObjectId;
use protocol::records::{OrbitEstimate, Record};
use protocol::time::Epoch;

/// Resident memory of this process in bytes (Linux `/proc/self/status`), 0 elsewhere.
fn rss_bytes() -> isize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<isize>().ok()))
        .map_or(0, |kb| kb * 1024)
}

const N_AGENCIES: usize = 10;
const N_UPDATES: usize = 100_000;
const CHUNK: usize = 1024;
const N_SUBMIT: usize = 20_000;

fn estimate(object: u32, epoch: Epoch, agency: usize) -> OrbitEstimate {
    OrbitEstimate {
        object: ObjectId::Norad(object),
        epoch,
        mean_motion_rev_per_day: 14.0 + f64::from(object % 200) * 0.01,
        eccentricity: 0.001 + f64::from(object % 50) * 1e-4,
        inclination_deg: f64::from(object % 180),
        ra_of_asc_node_deg: f64::from(object % 360),
        arg_of_pericenter_deg: 90.0,
        mean_anomaly_deg: agency as f64,
        bstar: 1e-4,
        mean_motion_dot: 1e-5,
        mean_motion_ddot: 0.0,
        ephemeris_type: 0,
        classification: 'U',
        element_set_no: 999,
        rev_at_epoch: 1,
        covariance: None,
        quality: None,
        source: String::new(),
    }
}

fn main() {
    let signers: Vec<Signer> = (0..N_AGENCIES as u8).map(|i| Signer::from_seed([i + 1; 32])).collect();
    let genesis = Genesis {
        network_name: "bench".into(),
        founders: signers
            .iter()
            .enumerate()
            .map(|(i, s)| Founder {
                agency: s.agency(),
                name: format!("agency-{i}"),
                node_peer_ids: vec![vec![i as u8]],
            })
            .collect(),
        endorsement_threshold: 6,
        estimates_per_source: 3,
        shared_orbit_window_s: 3 * 86_400,
        max_epoch_ahead_s: 86_400,
    }
    .seal()
    .expect("valid");
    let network = genesis.network_id();
    let now = Epoch::from_civil(2023, 3, 31, 0);
    eprintln!("signing {N_UPDATES} updates...");
    let envelopes: Vec<Envelope> = (0..N_UPDATES)
        .map(|i| {
            let agency = i % N_AGENCIES;
            let object = (i / N_AGENCIES) as u32;
            let seq = 1_680_000_000_000_000 + i as u64;
            let record = Record::OrbitEstimate(estimate(object, now, agency));
            signers[agency].sign(network, seq, None, &record).expect("fits")
        })
        .collect();
    let bytes: Vec<Vec<u8>> = envelopes.iter().map(Envelope::to_bytes).collect();
    let mean_bytes = bytes.iter().map(Vec::len).sum::<usize>() / bytes.len();

    let t = Instant::now();
    for e in &envelopes {
        verify_header(e.header.clone(), &network).expect("valid");
    }
    let single_rate = N_UPDATES as f64 / t.elapsed().as_secs_f64();

    let t = Instant::now();
    for (k, chunk) in envelopes.chunks(CHUNK).enumerate() {
        let headers = chunk.iter().map(|e| e.header.clone()).collect();
        let results = verify_headers_batch(headers, &network, [k as u8; 32]);
        assert!(results.iter().all(Result::is_ok));
    }
    let batch_rate = N_UPDATES as f64 / t.elapsed().as_secs_f64();

    // One bad signature per chunk: the fallback finds it.
    let mut tampered = envelopes[..CHUNK].to_vec();
    tampered[17].header.signature[3] ^= 1;
    let t = Instant::now();
    let results = verify_headers_batch(tampered.into_iter().map(|e| e.header).collect(), &network, [9; 32]);
    let fallback_ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);

    let before = rss_bytes();
    let mut engine = Engine::new(genesis.clone(), EngineConfig::default(), None, [3; 32]);
    let t = Instant::now();
    for chunk in bytes.chunks(CHUNK) {
        engine.handle(now, Input::Envelopes { from: None, items: chunk.to_vec() });
    }
    let merge_rate = N_UPDATES as f64 / t.elapsed().as_secs_f64();
    assert_eq!(engine.state().n_headers(), N_UPDATES);
    let held = rss_bytes() - before;

    let t = Instant::now();
    let n_views = engine.views().all().len();
    let views_s = t.elapsed().as_secs_f64();

    // A local submission: sign (one chain: each header names the last id) and merge.
    let mut own =
        Engine::new(genesis.clone(), EngineConfig::default(), Some(Signer::from_seed([1; 32])), [4; 32]);
    let records: Vec<Record> =
        (0..N_SUBMIT as u32).map(|o| Record::OrbitEstimate(estimate(o, now, 0))).collect();
    let t = Instant::now();
    for chunk in records.chunks(CHUNK) {
        own.handle(now, Input::Submit { records: chunk.to_vec() });
    }
    let submit_us = t.elapsed().as_secs_f64() * 1e6 / N_SUBMIT as f64;
    assert_eq!(own.state().n_headers(), N_SUBMIT);
    let t = Instant::now();
    for (i, record) in records.iter().enumerate() {
        std::hint::black_box(signers[0].sign(network, i as u64 + 1, None, record).expect("fits"));
    }
    let sign_us = t.elapsed().as_secs_f64() * 1e6 / N_SUBMIT as f64;

    println!("| measure (single thread, {N_UPDATES} orbit updates, {N_AGENCIES} agencies) | value |");
    println!("|---|---|");
    println!("| envelope size, mean | {mean_bytes} bytes |");
    println!("| ed25519-zebra single verification | {single_rate:.0} /s |");
    println!("| ed25519-zebra batch verification ({CHUNK} per batch) | {batch_rate:.0} /s |");
    println!("| batch of {CHUNK} with one bad signature (fallback finds it) | {fallback_ms:.1} ms |");
    println!("| engine ingest: batch verify + merge + compaction | {merge_rate:.0} updates/s |");
    println!(
        "| resident memory added per stored update (headers, bodies, indexes) | {} bytes |",
        held / N_UPDATES as isize
    );
    println!("| views of all {n_views} objects (SGP4 medoid of 10 sources each) | {:.2} s |", views_s);
    println!("| signing one update (encode the body, hash, ed25519) | {sign_us:.1} µs |");
    println!("| engine submit: sign, chain and merge, {N_SUBMIT} updates | {submit_us:.1} µs an update |");
}
