//! The merge rules of DESIGN.md §4, one behaviour at a time: membership, forks, retraction,
//! the shared orbit, and "not yet" updates that are accepted once their condition holds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::*;
use protocol::engine::{Effect, Input};
use protocol::error::Rejection;
use protocol::ids::ObjectId;
use protocol::records::Record;
use protocol::time::Epoch;

fn admitted(engine: &protocol::engine::Engine, s: &protocol::Signer) -> bool {
    engine.membership().is_admitted(&s.agency())
}

#[test]
fn endorsement_below_threshold_admits_nobody_and_at_threshold_admits() {
    let net = net(3, 1, 2, 3);
    let applicant = &net.others[0];
    let b = binding(applicant, &net, 50);
    let mut e = engine(&net);
    deliver(&mut e, &[endorse(&net.founders[0], &net, 10, applicant, &b)]);
    assert!(!admitted(&e, applicant), "one endorsement of two needed must not admit");
    deliver(&mut e, &[endorse(&net.founders[1], &net, 10, applicant, &b)]);
    assert!(admitted(&e, applicant), "two distinct endorsers reach k = 2");
    // The carried binding arrived with the endorsement: the applicant's node is gated in.
    assert_eq!(e.agency_of_node(&peer_id_bytes(50)), Some(applicant.agency()));
}

#[test]
fn the_same_endorser_twice_counts_once_and_non_members_count_for_nothing() {
    let net = net(3, 3, 2, 3);
    let (applicant, outsider) = (&net.others[0], &net.others[1]);
    let b = binding(applicant, &net, 50);
    let mut e = engine(&net);
    deliver(
        &mut e,
        &[
            endorse(&net.founders[0], &net, 10, applicant, &b),
            endorse(&net.founders[0], &net, 11, applicant, &b),
        ],
    );
    assert!(!admitted(&e, applicant));
    deliver(&mut e, &[endorse(outsider, &net, 10, applicant, &b)]);
    assert!(!admitted(&e, applicant), "an endorsement by a non-member counts for nothing");
}

#[test]
fn endorsements_by_a_not_yet_member_count_once_it_is_admitted_in_either_order() {
    let net = net(3, 2, 2, 3);
    let (a, c) = (&net.others[0], &net.others[1]);
    let (ba, bc) = (binding(a, &net, 50), binding(c, &net, 51));
    let statements = vec![
        endorse(a, &net, 10, c, &bc),
        endorse(&net.founders[0], &net, 10, c, &bc),
        endorse(&net.founders[0], &net, 11, a, &ba),
        endorse(&net.founders[1], &net, 11, a, &ba),
    ];
    let mut forward = engine(&net);
    deliver(&mut forward, &statements);
    let mut backward = engine(&net);
    let reversed: Vec<_> = statements.iter().rev().cloned().collect();
    deliver(&mut backward, &reversed);
    for e in [&forward, &backward] {
        assert!(admitted(e, a));
        assert!(admitted(e, c), "a's endorsement counts once a is admitted, whatever the order");
    }
    assert_same(&mut forward, &mut backward);
}

#[test]
fn suspension_needs_a_strict_majority_of_founders_and_takes_dependants_and_their_data() {
    let net = net(3, 2, 2, 3);
    let (x, y) = (&net.others[0], &net.others[1]);
    let (bx, by) = (binding(x, &net, 50), binding(y, &net, 51));
    let mut e = engine(&net);
    // x admitted by founders 0 and 1; y admitted by founder 0 and x.
    deliver(
        &mut e,
        &[
            endorse(&net.founders[0], &net, 10, x, &bx),
            endorse(&net.founders[1], &net, 10, x, &bx),
            endorse(&net.founders[0], &net, 11, y, &by),
            endorse(x, &net, 10, y, &by),
        ],
    );
    assert!(admitted(&e, x) && admitted(&e, y));
    let y_estimate = sign(y, &net, 20, &Record::OrbitEstimate(estimate(25544, now(), 1)));
    deliver(&mut e, std::slice::from_ref(&y_estimate));
    assert!(e.view(&ObjectId::Norad(25544)).is_some_and(|v| v.current.len() == 1));
    let digest_with_y = e.state().header_digest();

    // One founder of three is not a strict majority; a non-founder's vote counts for nothing.
    deliver(&mut e, &[suspend(&net.founders[2], &net, 30, x), suspend(y, &net, 30, x)]);
    assert!(admitted(&e, x));
    // Two of three founders suspend x: x leaves, and y (whom x helped admit) leaves too.
    deliver(&mut e, &[suspend(&net.founders[1], &net, 31, x)]);
    assert!(!admitted(&e, x), "a strict majority of founders suspends");
    assert!(!admitted(&e, y), "an agency admitted only with a suspended endorser leaves admitted");
    assert!(e.view(&ObjectId::Norad(25544)).is_none(), "its data leaves every view");
    assert!(!e.state().in_state(&y_estimate.id()), "its headers leave the state");
    assert_ne!(e.state().header_digest(), digest_with_y);
    assert_views_equal_rebuild(&mut e);
}

#[test]
fn a_forked_endorsement_still_counts() {
    let net = net(3, 1, 2, 3);
    let applicant = &net.others[0];
    let b = binding(applicant, &net, 50);
    let mut e = engine(&net);
    // Founder 0 signs an endorsement and an estimate at the same seq: a fork.
    deliver(
        &mut e,
        &[
            endorse(&net.founders[0], &net, 10, applicant, &b),
            sign(&net.founders[0], &net, 10, &Record::OrbitEstimate(estimate(25544, now(), 1))),
            endorse(&net.founders[1], &net, 10, applicant, &b),
        ],
    );
    assert!(e.state().is_forked(&net.founders[0].agency(), 10));
    assert!(admitted(&e, applicant), "a member cannot take back an endorsement by forking it");
    let view = e.view(&ObjectId::Norad(25544));
    assert!(view.is_none_or(|v| v.current.is_empty()), "the forked estimate counts in no view");
}

#[test]
fn updates_from_a_not_yet_member_are_held_and_accepted_when_admitted_in_either_order() {
    let net = net(3, 1, 2, 3);
    let applicant = &net.others[0];
    let b = binding(applicant, &net, 50);
    let data = sign(applicant, &net, 20, &Record::OrbitEstimate(estimate(25544, now(), 3)));
    let endorsements = [
        endorse(&net.founders[0], &net, 10, applicant, &b),
        endorse(&net.founders[1], &net, 10, applicant, &b),
    ];

    let mut data_first = engine(&net);
    let effects = deliver(&mut data_first, std::slice::from_ref(&data));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::GossipVerdict { verdict: protocol::engine::Verdict::Ignore, .. })),
        "held, not forwarded, not penalised"
    );
    assert!(!effects.iter().any(|e| matches!(e, Effect::Penalise { .. })));
    assert!(data_first.state().contains(&data.id()) && !data_first.state().in_state(&data.id()));
    deliver(&mut data_first, &endorsements);
    assert!(data_first.state().in_state(&data.id()), "accepted the moment the endorsement arrives");

    let mut endorsements_first = engine(&net);
    deliver(&mut endorsements_first, &endorsements);
    deliver(&mut endorsements_first, std::slice::from_ref(&data));
    assert_same(&mut data_first, &mut endorsements_first);
    assert_eq!(data_first.view(&ObjectId::Norad(25544)).map(|v| v.current.len()), Some(1));
}

#[test]
fn an_epoch_too_far_ahead_waits_and_is_accepted_later() {
    let net = net(2, 0, 2, 3);
    let future = now().plus_micros(3 * 86_400 * 1_000_000);
    let env = sign(&net.founders[0], &net, 10, &Record::OrbitEstimate(estimate(25544, future, 0)));
    let mut e = engine(&net);
    let effects = e.handle(now(), Input::Envelopes { from: None, items: vec![env.to_bytes()] });
    assert!(effects
        .iter()
        .any(|x| matches!(x, Effect::Rejected { rejection: Rejection::EpochInFuture { .. }, .. })));
    assert!(!e.state().contains(&env.id()), "not yet: not stored, not blacklisted");
    let later = future.plus_micros(-3600 * 1_000_000);
    e.handle(later, Input::Envelopes { from: None, items: vec![env.to_bytes()] });
    assert!(e.state().in_state(&env.id()), "accepted once the clock allows it");
}

#[test]
fn forks_are_seen_whatever_the_order_and_a_third_header_is_not_stored() {
    let net = net(3, 0, 2, 3);
    let f = &net.founders[0];
    let at_seq: Vec<_> =
        (0..3).map(|v| sign(f, &net, 10, &Record::OrbitEstimate(estimate(25544, now(), v)))).collect();
    let other = sign(f, &net, 11, &Record::OrbitEstimate(estimate(20580, now(), 0)));
    let mut ids: Vec<_> = at_seq.iter().map(|e| e.id()).collect();
    ids.sort();
    let mut orders = vec![vec![0, 1, 2], vec![2, 1, 0], vec![1, 2, 0]];
    orders.push(vec![2, 0, 1]);
    let mut engines = Vec::new();
    for order in orders {
        let mut e = engine(&net);
        let envelopes: Vec<_> = order.iter().map(|&i| at_seq[i].clone()).chain([other.clone()]).collect();
        deliver(&mut e, &envelopes);
        assert!(e.state().is_forked(&f.agency(), 10));
        assert!(e.state().contains(&ids[0]) && e.state().contains(&ids[1]), "the two smallest ids are kept");
        assert!(!e.state().contains(&ids[2]), "a third data header at that seq is not stored");
        assert!(
            e.view(&ObjectId::Norad(25544)).is_none_or(|v| v.current.is_empty()),
            "both forked updates count in no view"
        );
        let fork_shown = e.view(&ObjectId::Norad(25544)).map(|v| v.forks.len()).unwrap_or(0);
        assert_eq!(fork_shown, 1, "the fork is shown with its proof");
        assert_eq!(
            e.view(&ObjectId::Norad(20580)).map(|v| v.current.len()),
            Some(1),
            "the author's other updates still count"
        );
        engines.push(e);
    }
    for i in 1..engines.len() {
        let (first, other) = two_mut(&mut engines, 0, i);
        assert_same(first, other);
    }
}

#[test]
fn retraction_frees_the_slot_and_the_next_newest_becomes_current() {
    let net = net(3, 0, 2, 2);
    let f = &net.founders[0];
    let old =
        sign(f, &net, 10, &Record::OrbitEstimate(estimate(25544, now().plus_micros(-7_200_000_000), 1)));
    let mid =
        sign(f, &net, 11, &Record::OrbitEstimate(estimate(25544, now().plus_micros(-3_600_000_000), 2)));
    let new = sign(f, &net, 12, &Record::OrbitEstimate(estimate(25544, now(), 3)));
    let retract_new = retract(f, &net, 13, new.id());
    let all = [old.clone(), mid.clone(), new.clone(), retract_new.clone()];

    let mut e = engine(&net);
    deliver(&mut e, &all[..3]);
    let current =
        |e: &mut protocol::engine::Engine| e.view(&ObjectId::Norad(25544)).map(|v| v.current[0].update_id);
    assert_eq!(current(&mut e), Some(new.id()));
    assert!(
        e.state().get(&old.id()).is_some_and(|x| x.body.is_none()),
        "K = 2: the oldest body is compacted"
    );
    deliver(&mut e, &all[3..]);
    assert_eq!(current(&mut e), Some(mid.id()), "the next-newest becomes current");
    // The oldest is live again; its body is wanted and arrives by anti-entropy.
    assert!(e.state().missing_bodies().contains(&old.id()));
    offer_all_bodies(&mut e, &all);
    assert!(e.state().missing_bodies().is_empty());

    // Any order, including the retraction before its target, gives the same.
    let mut reversed = engine(&net);
    let rev: Vec<_> = all.iter().rev().cloned().collect();
    deliver(&mut reversed, &rev);
    offer_all_bodies(&mut reversed, &all);
    assert_same(&mut e, &mut reversed);
}

#[test]
fn a_retract_aimed_at_another_agencys_update_changes_nothing() {
    let net = net(3, 0, 2, 3);
    let (a, b) = (&net.founders[0], &net.founders[1]);
    let est = sign(a, &net, 10, &Record::OrbitEstimate(estimate(25544, now(), 1)));
    let mut e = engine(&net);
    deliver(&mut e, std::slice::from_ref(&est));
    let before = e.views().all().clone();
    deliver(&mut e, &[retract(b, &net, 11, est.id())]);
    assert_eq!(e.views().all(), &before);
    assert!(!e.state().is_retracted(&est.id()));
}

#[test]
fn one_agency_with_a_far_future_epoch_or_an_odd_orbit_cannot_capture_the_shared_orbit() {
    let net = net(3, 0, 2, 3);
    let object = 25544;
    let a = sign(&net.founders[0], &net, 10, &Record::OrbitEstimate(estimate(object, now(), 1)));
    let b = sign(
        &net.founders[1],
        &net,
        10,
        &Record::OrbitEstimate(estimate(object, now().plus_micros(600_000_000), 2)),
    );
    // Far future (within the not-yet bound of one day, but beyond agreement).
    let far = sign(
        &net.founders[2],
        &net,
        10,
        &Record::OrbitEstimate(estimate(object, now().plus_micros(20 * 3_600_000_000), 3)),
    );
    let mut e = engine(&net);
    deliver(&mut e, &[a.clone(), b.clone(), far.clone()]);
    let shared = e.view(&ObjectId::Norad(object)).and_then(|v| v.shared.clone()).expect("a shared orbit");
    assert_ne!(shared.update_id, far.id(), "the far-future epoch does not win");

    let mut odd_estimate = estimate(object, now(), 4);
    odd_estimate.ra_of_asc_node_deg += 40.0;
    odd_estimate.mean_anomaly_deg += 90.0;
    let odd = sign(&net.founders[2], &net, 10, &Record::OrbitEstimate(odd_estimate));
    let mut e = engine(&net);
    deliver(&mut e, &[odd.clone(), a.clone(), b.clone()]);
    let shared = e.view(&ObjectId::Norad(object)).and_then(|v| v.shared.clone()).expect("a shared orbit");
    assert_ne!(shared.update_id, odd.id(), "the odd orbit does not win while two others agree");
    let odd_distance = shared.sources.iter().find(|s| s.update_id == odd.id()).and_then(|s| s.distance_m);
    assert!(
        odd_distance.is_some_and(|d| d > 1_000_000),
        "its distance from the shared orbit is shown: {odd_distance:?}"
    );
}

#[test]
fn a_nan_filled_body_makes_its_update_defective_with_its_flag_and_no_penalty() {
    let net = net(2, 0, 2, 3);
    let mut bad = estimate(25544, now(), 1);
    bad.eccentricity = f64::NAN;
    bad.inclination_deg = f64::NAN;
    let env = sign(&net.founders[0], &net, 10, &Record::OrbitEstimate(bad));
    let mut e = engine(&net);
    let effects = deliver(&mut e, std::slice::from_ref(&env));
    assert!(
        !effects.iter().any(|x| matches!(x, Effect::Penalise { .. })),
        "nobody is penalised for a defective body"
    );
    let entry = e.state().get(&env.id()).expect("kept as evidence");
    assert!(entry.defect().is_some());
    let view = e.view(&ObjectId::Norad(25544)).expect("the flag is shown");
    assert!(view.current.is_empty(), "a defective update counts in no view");
    assert_eq!(view.defects.len(), 1);
    assert!(view.defects[0].reason.contains("eccentricity"), "{}", view.defects[0].reason);
}

#[test]
fn metadata_consensus_is_the_value_most_agencies_claim() {
    let net = net(3, 0, 2, 3);
    let claims = [
        sign(&net.founders[0], &net, 10, &Record::ObjectMetadata(metadata(25544, "ISS (ZARYA)"))),
        sign(&net.founders[1], &net, 10, &Record::ObjectMetadata(metadata(25544, "ISS (ZARYA)"))),
        sign(&net.founders[2], &net, 10, &Record::ObjectMetadata(metadata(25544, "ISS"))),
    ];
    let mut e = engine(&net);
    deliver(&mut e, &claims);
    let view = e.view(&ObjectId::Norad(25544)).expect("view");
    assert_eq!(view.claims.len(), 3);
    assert_eq!(view.consensus.name.as_deref(), Some("ISS (ZARYA)"));
}

#[test]
fn a_signing_engine_takes_seq_above_everything_reserved_or_seen() {
    let net = net(2, 0, 2, 3);
    let mut e = protocol::engine::Engine::new(
        net.genesis.clone(),
        Default::default(),
        Some(common::signer(1)),
        [1; 32],
    );
    let record = Record::OrbitEstimate(estimate(25544, now(), 1));
    let first = e.handle(now(), Input::Submit { records: vec![record.clone(), record.clone()] });
    let ids: Vec<_> = first
        .iter()
        .find_map(|x| match x {
            Effect::Submitted(results) => Some(results.clone()),
            _ => None,
        })
        .expect("submitted");
    assert!(ids.iter().all(Result::is_ok));
    assert!(matches!(first[0], Effect::Persist(_)), "persist comes before the acknowledgement");
    let reserved = e.reserved_seq();
    assert_eq!(reserved, now().0 as u64 + 1);
    // The clock goes back an hour: seqs still go up.
    let earlier = Epoch(now().0 - 3_600_000_000);
    e.handle(earlier, Input::Submit { records: vec![record] });
    assert_eq!(e.reserved_seq(), reserved + 1);
}

/// A body that no peer holds (compacted everywhere, then live again after a retraction) is
/// asked for once per session, not once per page of the session's budget (found by the
/// simulator: `commons-sim run --seed 2 --nodes 40 --faults partitions --ticks 4000`).
#[test]
fn a_body_held_nowhere_is_asked_for_once_per_session() {
    let net = net(3, 0, 2, 1);
    let f = &net.founders[0];
    let old =
        sign(f, &net, 10, &Record::OrbitEstimate(estimate(25544, now().plus_micros(-3_600_000_000), 1)));
    let new = sign(f, &net, 11, &Record::OrbitEstimate(estimate(25544, now(), 2)));
    let retract_new = retract(f, &net, 12, new.id());
    let (mut a, mut b) = (engine(&net), engine(&net));
    for e in [&mut a, &mut b] {
        deliver(e, &[old.clone(), new.clone()]);
        deliver(e, std::slice::from_ref(&retract_new));
        assert!(e.state().missing_bodies().contains(&old.id()), "K = 1: the old body was compacted");
    }
    let peer = protocol::engine::Peer("b".into());
    let mut effects = a.handle(now(), Input::SyncStart { peer: peer.clone() });
    let mut body_requests = 0;
    for _ in 0..1_000 {
        let Some(request) = effects.iter().find_map(|e| match e {
            Effect::SendSync { request, .. } => Some(request.clone()),
            _ => None,
        }) else {
            break;
        };
        if matches!(request, protocol::sync::SyncRequest::FetchBodies(_)) {
            body_requests += 1;
        }
        let response = b.respond(&request);
        effects = a.handle(now(), Input::SyncResponse { peer: peer.clone(), response });
    }
    assert_eq!(body_requests, 1, "the missing body is asked for once, then the session ends");
    assert!(a.state().missing_bodies().contains(&old.id()), "still wanted from the next peer");
}

/// At most `MAX_SYNC_SESSIONS` sync sessions run at once; the others wait their turn, and a
/// waiting peer that goes away is dropped from the queue.
#[test]
fn sync_sessions_beyond_the_limit_wait_for_a_free_slot() {
    use protocol::engine::{Peer, MAX_SYNC_SESSIONS};
    let net = net(2, 0, 2, 1);
    let mut a = engine(&net);
    let started = |effects: &[Effect]| -> Vec<Peer> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::SendSync { peer, .. } => Some(peer.clone()),
                _ => None,
            })
            .collect()
    };
    let peers: Vec<Peer> = (0..MAX_SYNC_SESSIONS + 2).map(|i| Peer(format!("p{i}"))).collect();
    let mut first = Vec::new();
    for p in &peers {
        first.extend(started(&a.handle(now(), Input::SyncStart { peer: p.clone() })));
    }
    assert_eq!(first, peers[..MAX_SYNC_SESSIONS].to_vec(), "only the first sessions start");
    // The last waiting peer disconnects: it leaves the queue.
    let gone = peers[MAX_SYNC_SESSIONS + 1].clone();
    assert!(
        started(&a.handle(now(), Input::SyncFailed { peer: gone.clone(), reason: "gone".into() })).is_empty()
    );
    // A running session fails: the next waiting peer starts, and no other.
    let next = a.handle(now(), Input::SyncFailed { peer: peers[0].clone(), reason: "closed".into() });
    assert_eq!(started(&next), vec![peers[MAX_SYNC_SESSIONS].clone()]);
    let after = a.handle(now(), Input::SyncFailed { peer: peers[1].clone(), reason: "closed".into() });
    assert!(started(&after).is_empty(), "the disconnected peer was not started: {:?}", started(&after));
}
