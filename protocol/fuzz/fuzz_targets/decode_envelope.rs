//! Fuzz the canonical decoders and envelope verification: arbitrary bytes never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::ids::NetworkId;

fuzz_target!(|data: &[u8]| {
    let _ = protocol::envelope::verify_envelope(data, &NetworkId([0; 32]));
    let _ = protocol::codec::decode::<protocol::Envelope>(data);
    let _ = protocol::codec::decode::<protocol::Record>(data);
    let _ = protocol::sync::SyncRequest::from_bytes(data);
    let _ = protocol::sync::SyncResponse::from_bytes(data);
});
