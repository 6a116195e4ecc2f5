//! Fuzz the engine: arbitrary gossip bytes and sync requests never panic it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::engine::{Engine, EngineConfig, Input, Peer};
use protocol::envelope::Signer;
use protocol::genesis::{Founder, Genesis};
use protocol::time::Epoch;

fuzz_target!(|data: &[u8]| {
    let founders = (1u8..=2)
        .map(|i| Founder { agency: Signer::from_seed([i; 32]).agency(), name: format!("f{i}"), node_peer_ids: vec![vec![i]] })
        .collect();
    let genesis = Genesis {
        network_name: "fuzz".into(),
        founders,
        endorsement_threshold: 2,
        estimates_per_source: 3,
        shared_orbit_window_s: 86_400,
        max_epoch_ahead_s: 86_400,
    }
    .seal()
    .expect("valid genesis");
    let mut engine = Engine::new(genesis, EngineConfig::default(), None, [0; 32]);
    let now = Epoch::from_civil(2023, 3, 31, 0);
    engine.handle(now, Input::Gossip { from: Peer("fuzz".into()), message_id: vec![], bytes: data.to_vec() });
    if let Ok(request) = protocol::sync::SyncRequest::from_bytes(data) {
        let _ = engine.respond(&request);
    }
});
