//! What hostile members send. Each is a founder of its own agency, with its own genesis key,
//! so everything it signs itself is valid; what makes it hostile is what it does with that:
//!
//! - a **forger** sends updates whose signatures do not verify: its own updates with a bit
//!   flipped, updates that claim an honest agency as their author, and envelopes whose body
//!   does not match the signed hash; by gossip, and appended to its sync answers. Honest
//!   nodes must reject every one, penalise the sender, and ban it at the fault limit;
//! - an **equivocator** signs two or three different estimates at one seq and shows each to
//!   different peers. The state keeps two headers per (author, seq) as the fork's proof;
//!   honest founders then vote to suspend it;
//! - a **flooder** publishes valid updates far above the gossip rate limits; the excess is
//!   ignored at the edge and delivered by anti-entropy;
//! - a **silent** member stops sending anything, sync answers included, and never resumes.

use protocol::envelope::{Envelope, SignedHeader, Signer};
use protocol::ids::{AgencyId, NetworkId};
use protocol::records::{OrbitEstimate, Record};
use protocol::time::Epoch;

/// One forgery: bytes to gossip, and the id of the forged header when its signature is
/// what is forged (a body swap keeps a genuine header).
#[derive(Debug)]
pub struct Forgery {
    pub bytes: Vec<u8>,
    pub forged_id: Option<protocol::ids::UpdateId>,
}

fn note(now: Epoch) -> Record {
    Record::ManeuverNotice(protocol::records::ManeuverNotice {
        object: protocol::ids::ObjectId::Norad(99_999),
        window_start: now,
        window_end: now.plus_micros(3_600_000_000),
        expected_delta_v_mps: Some(0.1),
        description: "forged".into(),
    })
}

/// A header signed by `signer` and then corrupted, so that its signature fails.
pub fn forged_header(signer: &Signer, network: NetworkId, now: Epoch) -> SignedHeader {
    let seq = now.0.max(1) as u64;
    match signer.sign(network, seq, None, &note(now)) {
        Ok(mut envelope) => {
            envelope.header.signature[7] ^= 0x40;
            envelope.header
        }
        Err(_) => unreachable_header(signer, network, seq),
    }
}

/// A minimal header for the impossible case that a tiny record does not fit the bound.
fn unreachable_header(signer: &Signer, network: NetworkId, seq: u64) -> SignedHeader {
    let envelope = signer
        .sign(
            network,
            seq,
            None,
            &Record::Retract(protocol::records::Retract {
                target: protocol::ids::UpdateId([0; 32]),
                reason: String::new(),
            }),
        )
        .expect("a retraction with an empty reason fits the size bound");
    envelope.header
}

/// One forgery of the kind `variant` selects (taken modulo 3).
pub fn forge(signer: &Signer, network: NetworkId, now: Epoch, victim: AgencyId, variant: u64) -> Forgery {
    let seq = now.0.max(1) as u64;
    let Ok(mut envelope) = signer.sign(network, seq, None, &note(now)) else {
        let header = unreachable_header(signer, network, seq);
        return Forgery { bytes: Envelope { header, body: Vec::new() }.to_bytes(), forged_id: None };
    };
    match variant % 3 {
        0 => {
            envelope.header.signature[3] ^= 0x01;
            Forgery { forged_id: Some(envelope.id()), bytes: envelope.to_bytes() }
        }
        1 => {
            envelope.header.header.author = victim;
            Forgery { forged_id: Some(envelope.id()), bytes: envelope.to_bytes() }
        }
        _ => {
            envelope.body.push(0);
            Forgery { forged_id: None, bytes: envelope.to_bytes() }
        }
    }
}

/// Two or three different estimates signed at one seq: a fork.
pub fn equivocate(
    signer: &Signer,
    network: NetworkId,
    seq: u64,
    base: &OrbitEstimate,
    variants: usize,
) -> Vec<Envelope> {
    (0..variants)
        .filter_map(|v| {
            let mut estimate = base.clone();
            estimate.mean_anomaly_deg = (estimate.mean_anomaly_deg + 0.5 * (v as f64 + 1.0)) % 360.0;
            estimate.source = format!("equivocation {v}");
            signer.sign(network, seq, None, &Record::OrbitEstimate(estimate)).ok()
        })
        .collect()
}
