//! The Orbital Commons protocol core: identifiers, records, signed updates, the canonical
//! encoding, validation, membership, the CRDT state, the derived views and the sans-IO
//! [`Engine`](engine::Engine).
//!
//! This crate does no I/O, reads no clock and uses no ambient randomness: time and random
//! seeds come in as arguments. The `node` crate feeds it real inputs; the `sim` crate drives
//! the very same engine with virtual time and a simulated network.

pub mod codec;
pub mod engine;
pub mod envelope;
pub mod error;
pub mod flatset;
pub mod genesis;
pub mod ids;
pub mod membership;
pub mod orbit;
pub mod records;
pub mod state;
pub mod sync;
pub mod time;
pub mod validate;
pub mod views;

pub use envelope::{Envelope, Header, Kind, SignedHeader, Signer, Verified};
pub use error::{DecodeError, RejectKind, Rejection};
pub use genesis::Genesis;
pub use ids::{AgencyId, NetworkId, ObjectId, UpdateId};
pub use records::{ObjectMetadata, OrbitEstimate, Record};
pub use time::Epoch;
