//! Bad input never panics and each kind is rejected with its own error: truncated,
//! oversized, trailing bytes, wrong version, wrong network, bad signature, garbage.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::*;
use proptest::prelude::*;
use protocol::codec;
use protocol::engine::{Effect, Input, Peer, Verdict};
use protocol::envelope::{verify_envelope, Envelope, SignedHeader};
use protocol::error::{DecodeError, Rejection};
use protocol::records::Record;
use protocol::sync::{SyncRequest, SyncResponse};

fn sample() -> (Net, Envelope) {
    let net = net(2, 0, 2, 3);
    let e = sign(&net.founders[0], &net, 10, &Record::OrbitEstimate(estimate(25544, now(), 1)));
    (net, e)
}

#[test]
fn truncated_oversized_trailing_wrong_version_network_and_signature_each_have_their_error() {
    let (net, e) = sample();
    let bytes = e.to_bytes();
    assert!(verify_envelope(&bytes, &net.network).is_ok());

    let truncated = verify_envelope(&bytes[..bytes.len() - 3], &net.network);
    assert_eq!(truncated.unwrap_err(), Rejection::Decode(DecodeError::Truncated));

    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(matches!(
        verify_envelope(&trailing, &net.network),
        Err(Rejection::Decode(DecodeError::TrailingBytes { extra: 1 }))
    ));

    let oversized = vec![0u8; codec::MAX_UPDATE_BYTES + 1];
    assert!(matches!(
        verify_envelope(&oversized, &net.network),
        Err(Rejection::Decode(DecodeError::TooLarge { .. }))
    ));

    let mut wrong_version = e.clone();
    wrong_version.header.header.format_version = 2;
    assert_eq!(verify_envelope(&wrong_version.to_bytes(), &net.network), Err(Rejection::UnknownVersion(2)));

    let other = common::net(3, 0, 2, 3);
    assert!(matches!(verify_envelope(&bytes, &other.network), Err(Rejection::WrongNetwork { .. })));

    let mut forged = e.clone();
    forged.header.signature[0] ^= 1;
    assert!(matches!(verify_envelope(&forged.to_bytes(), &net.network), Err(Rejection::BadSignature { .. })));

    let mut wrong_body = e.clone();
    wrong_body.body[3] ^= 1;
    assert_eq!(verify_envelope(&wrong_body.to_bytes(), &net.network), Err(Rejection::BodyHashMismatch));

    let mut altered_seq = e.clone();
    altered_seq.header.header.seq += 1;
    assert!(
        matches!(verify_envelope(&altered_seq.to_bytes(), &net.network), Err(Rejection::BadSignature { .. })),
        "every header field is signed"
    );

    let mut huge_seq = e;
    huge_seq.header.header.seq = 1 << 63;
    assert_eq!(verify_envelope(&huge_seq.to_bytes(), &net.network), Err(Rejection::SeqOutOfRange(1 << 63)));
}

#[test]
fn the_engine_penalises_permanent_faults_and_ignores_the_rest() {
    let (net, e) = sample();
    let mut engine = engine(&net);
    let mut forged = e.clone();
    forged.header.signature[0] ^= 1;
    let verdict = |effects: &[Effect]| {
        effects.iter().find_map(|x| match x {
            Effect::GossipVerdict { verdict, .. } => Some(*verdict),
            _ => None,
        })
    };
    let gossip = |bytes: Vec<u8>| Input::Gossip { from: Peer("x".into()), message_id: vec![], bytes };
    let out = engine.handle(now(), gossip(forged.to_bytes()));
    assert_eq!(verdict(&out), Some(Verdict::Reject));
    assert!(out.iter().any(|x| matches!(x, Effect::Penalise { .. })));
    let out = engine.handle(now(), gossip(b"garbage".to_vec()));
    assert_eq!(verdict(&out), Some(Verdict::Reject));
    let out = engine.handle(now(), gossip(e.to_bytes()));
    assert_eq!(verdict(&out), Some(Verdict::Accept));
    let out = engine.handle(now(), gossip(e.to_bytes()));
    assert_eq!(verdict(&out), Some(Verdict::Ignore), "a duplicate is normal, never penalised");
    assert!(!out.iter().any(|x| matches!(x, Effect::Penalise { .. })));
    assert_eq!(engine.state().n_headers(), 1, "nothing invalid entered the state");
}

#[test]
fn oversized_sync_requests_are_refused() {
    let (net, _) = sample();
    let mut engine = engine(&net);
    let id = protocol::ids::UpdateId([0; 32]);
    let too_many = SyncRequest::FetchHeaders(vec![id; protocol::sync::MAX_IDS_PER_FETCH + 1]);
    assert!(matches!(engine.respond(&too_many), SyncResponse::Refused(_)));
    let too_many = SyncRequest::FetchBodies(vec![id; protocol::sync::MAX_BODIES_PER_FETCH + 1]);
    assert!(matches!(engine.respond(&too_many), SyncResponse::Refused(_)));
    let garbage = SyncRequest::Reconcile(vec![0x05, 0xff, 0xff, 0xff]);
    assert!(matches!(engine.respond(&garbage), SyncResponse::Refused(_)));
    assert!(SyncRequest::from_bytes(&[9, 9, 9]).is_err());
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let (net, _) = sample();
        let _ = verify_envelope(&bytes, &net.network);
        let _ = codec::decode::<Envelope>(&bytes);
        let _ = codec::decode::<SignedHeader>(&bytes);
        let _ = codec::decode::<Record>(&bytes);
        let _ = SyncRequest::from_bytes(&bytes);
        let _ = SyncResponse::from_bytes(&bytes);
        let mut engine = engine(&net);
        let _ = engine.handle(now(), Input::Gossip { from: Peer("x".into()), message_id: vec![], bytes: bytes.clone() });
        let _ = engine.handle(now(), Input::Envelopes { from: None, items: vec![bytes] });
        prop_assert_eq!(engine.state().n_headers(), 0);
    }

    #[test]
    fn mutating_a_valid_envelope_never_panics_and_never_admits_a_forgery(index in 0usize..2048, byte in any::<u8>()) {
        let (net, e) = sample();
        let mut bytes = e.to_bytes();
        let i = index % bytes.len();
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let mut engine = engine(&net);
        engine.handle(now(), Input::Envelopes { from: None, items: vec![bytes.clone()] });
        // A mutation either fails verification, or (if it only touched the body) makes the
        // update defective or undecodable: never a different valid update by the same author.
        if let Ok((header, body)) = verify_envelope(&bytes, &net.network) {
            prop_assert_eq!(header.id, e.id());
            prop_assert_eq!(body, e.body);
        }
    }

    #[test]
    fn records_round_trip_canonically(object in 0u32..339_999, variant in 0u32..1000, minutes in -100_000i64..100_000) {
        let r = Record::OrbitEstimate(estimate(object, now().plus_micros(minutes * 60_000_000), variant));
        let bytes = codec::encode(&r).unwrap();
        let back: Record = codec::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &r);
        prop_assert_eq!(codec::encode(&back).unwrap(), bytes);
    }
}
