//! Golden vectors: a fixed key signs fixed records, and the exact bytes and ids are pinned
//! here and written to `protocol/tests/vectors/` so another implementation can check itself
//! against them (see `protocol/SPEC.md`). Set `UPDATE_VECTORS=1` to rewrite the files after
//! a deliberate format change (which also needs a new `format_version`).
//!
//! Also pinned bit for bit: SGP4 floats that views depend on, computed with pure-Rust maths.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use std::path::PathBuf;

use common::*;
use protocol::codec;
use protocol::envelope::Envelope;
use protocol::ids::{AgencyId, ObjectId, UpdateId};
use protocol::orbit::Propagator;
use protocol::records::{
    Covariance, CovarianceFrame, ManeuverNotice, NodeBinding, OrbitEstimate, Quality, Record, Retract,
};
use protocol::time::Epoch;
use serde_json::{json, Value};

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn fixed_records(net: &Net) -> Vec<(&'static str, Record)> {
    let mut with_covariance = estimate(25544, Epoch::from_civil(2023, 3, 31, 43_200_000_000), 1);
    let mut lower = [0.0f64; 21];
    for (i, v) in lower.iter_mut().enumerate() {
        *v = if [0, 2, 5, 9, 14, 20].contains(&i) { 1e-3 * (i as f64 + 1.0) } else { 1e-6 };
    }
    with_covariance.covariance =
        Some(Box::new(Covariance { frame: CovarianceFrame::Rtn, lower_triangle: lower }));
    with_covariance.quality =
        Some(Quality { rms_km: Some(0.05), n_observations: Some(42), span_days: Some(2.5) });
    let applicant = &net.others[0];
    vec![
        ("orbit_estimate", Record::OrbitEstimate(estimate(25544, Epoch::from_civil(2023, 3, 31, 0), 0))),
        ("orbit_estimate_covariance", Record::OrbitEstimate(with_covariance)),
        ("object_metadata", Record::ObjectMetadata(metadata(25544, "ISS (ZARYA)"))),
        (
            "maneuver_notice",
            Record::ManeuverNotice(ManeuverNotice {
                object: ObjectId::Norad(25544),
                window_start: Epoch::from_civil(2023, 4, 1, 0),
                window_end: Epoch::from_civil(2023, 4, 1, 3_600_000_000),
                expected_delta_v_mps: Some(0.5),
                description: "reboost".into(),
            }),
        ),
        ("node_binding", Record::NodeBinding(NodeBinding { peer_ids: vec![peer_id_bytes(9)] })),
        (
            "endorse",
            Record::Endorse(protocol::records::Endorse {
                subject: applicant.agency(),
                name: "applicant".into(),
                binding: binding(applicant, net, 50).to_bytes(),
            }),
        ),
        (
            "suspend",
            Record::Suspend(protocol::records::Suspend {
                subject: applicant.agency(),
                reason: "test".into(),
            }),
        ),
        (
            "retract",
            Record::Retract(Retract { target: UpdateId([0x11; 32]), reason: "wrong element set".into() }),
        ),
    ]
}

fn vector_json() -> Value {
    let net = net(2, 1, 2, 3);
    let signer = &net.founders[0];
    let mut updates = Vec::new();
    let mut prev = None;
    for (i, (name, record)) in fixed_records(&net).into_iter().enumerate() {
        let seq = 1_680_220_800_000_000 + i as u64;
        let envelope: Envelope = signer.sign(net.network, seq, prev, &record).expect("fits");
        prev = Some(envelope.id());
        updates.push(json!({
            "name": name,
            "seq": seq,
            "header_hex": hex::encode(codec::encode(&envelope.header.header).unwrap()),
            "signing_bytes_hex": hex::encode(envelope.header.header.signing_bytes()),
            "signature_hex": hex::encode(envelope.header.signature),
            "signed_header_hex": hex::encode(codec::encode(&envelope.header).unwrap()),
            "update_id": envelope.id().to_hex(),
            "body_hex": hex::encode(&envelope.body),
            "body_hash": hex::encode(envelope.header.header.body_hash),
            "envelope_hex": hex::encode(envelope.to_bytes()),
        }));
    }
    json!({
        "description": "Orbital Commons golden vectors, format_version 1. See protocol/SPEC.md.",
        "signer_seed_hex": hex::encode(signer.seed()),
        "signer_agency": signer.agency().to_hex(),
        "signer_agency_base58": signer.agency().to_base58(),
        "genesis_hex": hex::encode(codec::encode(&net.genesis).unwrap()),
        "genesis_json": serde_json::to_value(&net.genesis).unwrap(),
        "network_id": net.network.to_hex(),
        "updates": updates,
    })
}

#[test]
fn golden_vectors_match_the_committed_files() {
    let path = vectors_dir().join("updates.json");
    let generated = serde_json::to_string_pretty(&vector_json()).unwrap() + "\n";
    if std::env::var_os("UPDATE_VECTORS").is_some() || !path.exists() {
        std::fs::create_dir_all(vectors_dir()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        committed,
        generated,
        "the canonical encoding or signing changed: bytes differ from {}",
        path.display()
    );
}

#[test]
fn golden_vectors_verify_and_decode() {
    let net = net(2, 1, 2, 3);
    let v = vector_json();
    for u in v["updates"].as_array().unwrap() {
        let bytes = hex::decode(u["envelope_hex"].as_str().unwrap()).unwrap();
        let (header, body) =
            protocol::envelope::verify_envelope(&bytes, &net.network).expect("vector verifies");
        assert_eq!(header.id.to_hex(), u["update_id"].as_str().unwrap());
        let record: Record = codec::decode(&body).unwrap();
        assert_eq!(record.kind().as_str(), u["name"].as_str().unwrap().trim_end_matches("_covariance"));
        // Canonical: re-encoding gives the same bytes.
        assert_eq!(codec::encode(&record).unwrap(), body);
    }
    assert_eq!(AgencyId::from_hex(v["signer_agency"].as_str().unwrap()).unwrap(), net.founders[0].agency());
}

#[test]
fn sgp4_floats_used_by_views_are_pinned_bit_for_bit() {
    // Near-earth (ISS-like), deep-space 12-hour resonance (Molniya-like) and one-day
    // resonance (geostationary): every branch of SGP4 the views can take. The maths is the
    // pure-Rust libm (vendor/sgp4), so these bits are the same on every platform.
    let epoch = Epoch::from_civil(2023, 3, 31, 0);
    let leo = estimate(25544, epoch, 0);
    let molniya = OrbitEstimate {
        mean_motion_rev_per_day: 2.006_1,
        eccentricity: 0.74,
        inclination_deg: 63.4,
        arg_of_pericenter_deg: 270.0,
        ..estimate(40296, epoch, 0)
    };
    let geo = OrbitEstimate {
        mean_motion_rev_per_day: 1.002_7,
        eccentricity: 0.000_2,
        inclination_deg: 0.05,
        ..estimate(41866, epoch, 0)
    };
    let cases: Vec<serde_json::Value> = [(leo, 720.0), (molniya, 2_880.0), (geo, -1_440.0)]
        .into_iter()
        .map(|(e, minutes)| {
            let p = Propagator::new(&e).unwrap();
            let s = p.propagate_minutes(minutes).unwrap();
            let bits: Vec<u64> =
                s.position_km.iter().chain(s.velocity_km_s.iter()).map(|v| v.to_bits()).collect();
            json!({
                "estimate": serde_json::to_value(&e).unwrap(),
                "minutes": minutes,
                "state_bits_hex": bits.iter().map(|b| format!("{b:016x}")).collect::<Vec<_>>(),
                "position_km": s.position_km,
                "velocity_km_s": s.velocity_km_s,
            })
        })
        .collect();
    let expected_path = vectors_dir().join("sgp4_bits.json");
    let generated = serde_json::to_string_pretty(&cases).unwrap() + "\n";
    if std::env::var_os("UPDATE_VECTORS").is_some() || !expected_path.exists() {
        std::fs::write(&expected_path, &generated).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&expected_path).unwrap(),
        generated,
        "SGP4 results changed bits: views would diverge across builds"
    );
}
