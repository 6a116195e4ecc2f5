//! Fixtures for the protocol tests: a small network of fixed keys, element sets that SGP4
//! accepts, and helpers that drive engines (gossip, bulk, and the real sync messages).
#![allow(dead_code)]

use protocol::engine::{Effect, Engine, EngineConfig, Input, Peer};
use protocol::envelope::{Envelope, Signer};
use protocol::genesis::{Founder, Genesis};
use protocol::ids::{NetworkId, ObjectId, UpdateId};
use protocol::records::{
    Endorse, NodeBinding, ObjectMetadata, ObjectType, OrbitEstimate, Record, Retract, Suspend,
};
use protocol::time::Epoch;

/// The fixed "now" of the tests: 2023-03-31T00:00Z, near the catalogue epochs.
pub fn now() -> Epoch {
    Epoch::from_civil(2023, 3, 31, 0)
}

/// A network of `n_founders` founders with fixed keys, plus `n_others` agencies with keys
/// that are not founders (applicants).
pub struct Net {
    pub genesis: Genesis,
    pub network: NetworkId,
    pub founders: Vec<Signer>,
    pub others: Vec<Signer>,
}

pub fn signer(i: u8) -> Signer {
    let mut seed = [0u8; 32];
    seed[0] = i;
    seed[31] = 0x5a;
    Signer::from_seed(seed)
}

pub fn peer_id_bytes(i: u8) -> Vec<u8> {
    vec![0x00, 0x24, 0x08, 0x01, 0x12, 0x20, i]
}

pub fn net(n_founders: u8, n_others: u8, k: u32, estimates_per_source: u32) -> Net {
    let founders: Vec<Signer> = (1..=n_founders).map(signer).collect();
    let others: Vec<Signer> = (0..n_others).map(|i| signer(100 + i)).collect();
    let genesis = Genesis {
        network_name: "test-network".into(),
        founders: founders
            .iter()
            .enumerate()
            .map(|(i, s)| Founder {
                agency: s.agency(),
                name: format!("founder-{i}"),
                node_peer_ids: vec![peer_id_bytes(i as u8)],
            })
            .collect(),
        endorsement_threshold: k,
        estimates_per_source,
        shared_orbit_window_s: 3 * 86_400,
        max_epoch_ahead_s: 86_400,
    }
    .seal()
    .expect("valid genesis");
    let network = genesis.network_id();
    Net { genesis, network, founders, others }
}

/// An ISS-like element set, varied by `variant` (a few km to tens of km apart).
pub fn estimate(object: u32, epoch: Epoch, variant: u32) -> OrbitEstimate {
    OrbitEstimate {
        object: ObjectId::Norad(object),
        epoch,
        mean_motion_rev_per_day: 15.5 + f64::from(object % 7) * 0.01 + f64::from(variant) * 1e-5,
        eccentricity: 0.0005 + f64::from(variant % 5) * 1e-5,
        inclination_deg: 51.64,
        ra_of_asc_node_deg: 100.0 + f64::from(object % 11),
        arg_of_pericenter_deg: 90.0,
        mean_anomaly_deg: 10.0 + f64::from(variant) * 0.01,
        bstar: 1e-4,
        mean_motion_dot: 1e-5,
        mean_motion_ddot: 0.0,
        ephemeris_type: 0,
        classification: 'U',
        element_set_no: 999,
        rev_at_epoch: 12345,
        covariance: None,
        quality: None,
        source: "test".into(),
    }
}

pub fn metadata(object: u32, name: &str) -> ObjectMetadata {
    ObjectMetadata {
        object: ObjectId::Norad(object),
        name: Some(name.into()),
        cospar_id: Some("1998-067A".into()),
        object_type: Some(ObjectType::Payload),
        owner: None,
        launch_date: None,
        decay_date: None,
        rcs_m2: None,
        size_m: None,
    }
}

pub fn sign(signer: &Signer, net: &Net, seq: u64, record: &Record) -> Envelope {
    signer.sign(net.network, seq, None, record).expect("fits")
}

pub fn binding(signer: &Signer, net: &Net, peer: u8) -> Envelope {
    sign(signer, net, 1, &Record::NodeBinding(NodeBinding { peer_ids: vec![peer_id_bytes(peer)] }))
}

pub fn endorse(
    endorser: &Signer,
    net: &Net,
    seq: u64,
    applicant: &Signer,
    applicant_binding: &Envelope,
) -> Envelope {
    sign(
        endorser,
        net,
        seq,
        &Record::Endorse(Endorse {
            subject: applicant.agency(),
            name: "applicant".into(),
            binding: applicant_binding.to_bytes(),
        }),
    )
}

pub fn suspend(founder: &Signer, net: &Net, seq: u64, subject: &Signer) -> Envelope {
    sign(founder, net, seq, &Record::Suspend(Suspend { subject: subject.agency(), reason: "test".into() }))
}

pub fn retract(author: &Signer, net: &Net, seq: u64, target: UpdateId) -> Envelope {
    sign(author, net, seq, &Record::Retract(Retract { target, reason: "wrong element set".into() }))
}

pub fn engine(net: &Net) -> Engine {
    Engine::new(net.genesis.clone(), EngineConfig::default(), None, [7; 32])
}

/// Delivers envelopes one by one, as gossip.
pub fn deliver(engine: &mut Engine, envelopes: &[Envelope]) -> Vec<Effect> {
    let mut all = Vec::new();
    for (i, e) in envelopes.iter().enumerate() {
        all.extend(engine.handle(
            now(),
            Input::Gossip { from: Peer("gossip".into()), message_id: vec![i as u8], bytes: e.to_bytes() },
        ));
    }
    all
}

/// Runs one real sync session: `a` initiates with `b`, carrying the messages by hand.
pub fn sync(a: &mut Engine, b: &mut Engine) {
    let peer = Peer("b".into());
    let mut effects = a.handle(now(), Input::SyncStart { peer: peer.clone() });
    for _ in 0..10_000 {
        let request = effects.iter().find_map(|e| match e {
            Effect::SendSync { request, .. } => Some(request.clone()),
            _ => None,
        });
        let Some(request) = request else { return };
        let response = b.respond(&request);
        effects = a.handle(now(), Input::SyncResponse { peer: peer.clone(), response });
    }
    panic!("sync did not finish in 10 000 messages");
}

/// Syncs every pair both ways, twice (enough for admission that arrives on either side).
pub fn sync_all(engines: &mut [Engine]) {
    for _ in 0..2 {
        for i in 0..engines.len() {
            for j in 0..engines.len() {
                if i != j {
                    let (a, b) = two_mut(engines, i, j);
                    sync(a, b);
                }
            }
        }
    }
}

pub fn two_mut<T>(items: &mut [T], i: usize, j: usize) -> (&mut T, &mut T) {
    assert_ne!(i, j);
    if i < j {
        let (left, right) = items.split_at_mut(j);
        (&mut left[i], &mut right[0])
    } else {
        let (left, right) = items.split_at_mut(i);
        (&mut right[0], &mut left[j])
    }
}

/// Offers every body ever made to an engine, as anti-entropy from their authors would.
pub fn offer_all_bodies(engine: &mut Engine, envelopes: &[Envelope]) {
    let bodies = envelopes.iter().map(|e| (e.id(), e.body.clone())).collect();
    engine.handle(now(), Input::Bodies { from: None, bodies });
}

/// Asserts two engines hold the same state and views.
pub fn assert_same(a: &mut Engine, b: &mut Engine) {
    assert_eq!(a.membership(), b.membership(), "membership differs");
    assert_eq!(a.state().header_digest(), b.state().header_digest(), "header digests differ");
    assert_eq!(a.state().body_digest(), b.state().body_digest(), "body digests differ");
    let a_views = a.views().all().clone();
    assert_eq!(&a_views, b.views().all(), "views differ");
}

/// Asserts the incrementally maintained views equal a rebuild from the state.
pub fn assert_views_equal_rebuild(engine: &mut Engine) {
    let rebuilt = protocol::views::Views::rebuild(engine.state());
    assert_eq!(engine.views().all(), rebuilt.all(), "incremental views differ from a rebuild");
}
