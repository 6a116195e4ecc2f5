//! Anti-entropy messages and the negentropy plumbing (DESIGN.md §5). The session logic lives
//! in the engine; the network only carries these messages over request-response, and the
//! simulator carries them over its simulated links, so both run exactly the same sync.
//!
//! A session, driven by the initiator:
//! 1. `Digest`: compare state digests; equal headers and bodies means already in sync.
//! 2. `Reconcile`: negentropy rounds over the header items `(seq, UpdateId)`.
//! 3. `FetchHeaders`: the ids the initiator lacks, in pages of [`MAX_IDS_PER_FETCH`].
//! 4. `FetchBodies`: the live bodies it lacks, in pages of [`MAX_BODIES_PER_FETCH`].

use bincode::{Decode, Encode};
use negentropy::{Id, NegentropyStorageVector};

use crate::envelope::SignedHeader;
use crate::ids::UpdateId;

/// Most ids one header fetch asks for: 16 384 × 32 bytes = 512 KiB stays below the 1 MiB
/// request cap, and the answer (about 330 bytes a header, 5.4 MiB) below 10 MiB. Large pages
/// keep round trips few: a late joiner fetches 100 000 headers in 7.
pub const MAX_IDS_PER_FETCH: usize = 16_384;
/// Most bodies one fetch asks for. Bodies are usually a few hundred bytes; the responder stops
/// at [`MAX_BODY_BYTES_PER_ANSWER`] whatever their size, and the rest is asked for again.
pub const MAX_BODIES_PER_FETCH: usize = 8192;
/// Body bytes one answer carries at most: well below the 10 MiB response cap.
pub const MAX_BODY_BYTES_PER_ANSWER: usize = 8 * 1024 * 1024;
/// negentropy's frame size limit per round, bytes: rounds stay well below 1 MiB.
pub const NEGENTROPY_FRAME_LIMIT: u64 = 256 * 1024;
/// Bound on one encoded sync request (the cbor codec's default request cap).
pub const MAX_SYNC_REQUEST_BYTES: usize = 1024 * 1024;
/// Bound on one encoded sync response (the cbor codec's default response cap).
pub const MAX_SYNC_RESPONSE_BYTES: usize = 10 * 1024 * 1024;
/// Most negentropy rounds one session may take before it is abandoned (and retried later).
pub const MAX_RECONCILE_ROUNDS: u32 = 64;

/// Members an anti-entropy round starts a session with. Syncing with every member each round
/// cost every node a session per link at once and stalled gossip validation behind them; new
/// peers and healed links are synced on admission anyway.
pub const SYNC_PEERS_PER_ROUND: usize = 2;

/// The members an anti-entropy round syncs with: the [`SYNC_PEERS_PER_ROUND`] synced with
/// longest ago (never first), ties broken by the caller's per-node, per-round hash. Items are
/// `(last completed session, tie-break, peer)`.
pub fn peers_to_sync<T: Ord, P: Ord>(members: impl IntoIterator<Item = (Option<T>, u64, P)>) -> Vec<P> {
    let mut members: Vec<_> = members.into_iter().collect();
    members.sort_unstable();
    members.into_iter().take(SYNC_PEERS_PER_ROUND).map(|(_, _, peer)| peer).collect()
}

/// State digests: the cheap "already in sync" check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct Digests {
    pub headers: [u8; 32],
    pub bodies: [u8; 32],
    pub n_headers: u64,
}

/// A request from a session's initiator.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum SyncRequest {
    Digest(Digests),
    Reconcile(Vec<u8>),
    FetchHeaders(Vec<UpdateId>),
    FetchBodies(Vec<UpdateId>),
}

/// The responder's answer.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum SyncResponse {
    Digest(Digests),
    Reconcile(Vec<u8>),
    /// The headers asked for that the responder holds in its state.
    Headers(Vec<SignedHeader>),
    /// The bodies asked for that the responder holds; others are simply absent.
    Bodies(Vec<(UpdateId, Vec<u8>)>),
    /// The request was refused (malformed, too large, or reconciliation failed).
    Refused(String),
}

fn sync_config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Fixint,
    bincode::config::Limit<{ MAX_SYNC_RESPONSE_BYTES }>,
> {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<{ MAX_SYNC_RESPONSE_BYTES }>()
}

impl SyncRequest {
    pub fn to_bytes(&self) -> Vec<u8> {
        bincode::encode_to_vec(self, sync_config()).expect("requests are built within bounds")
    }
    /// Decodes a request, refusing anything over [`MAX_SYNC_REQUEST_BYTES`] or with trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() > MAX_SYNC_REQUEST_BYTES {
            return Err(format!("sync request of {} bytes exceeds {}", bytes.len(), MAX_SYNC_REQUEST_BYTES));
        }
        decode_exact(bytes)
    }
}

impl SyncResponse {
    pub fn to_bytes(&self) -> Vec<u8> {
        bincode::encode_to_vec(self, sync_config()).expect("responses are built within bounds")
    }
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        decode_exact(bytes)
    }
}

fn decode_exact<T: bincode::Decode<()>>(bytes: &[u8]) -> Result<T, String> {
    let (value, used) = bincode::decode_from_slice(bytes, sync_config()).map_err(|e| e.to_string())?;
    if used != bytes.len() {
        return Err(format!("{} trailing bytes", bytes.len() - used));
    }
    Ok(value)
}

/// A sealed negentropy storage of the state's items.
pub fn storage_of<'a>(items: impl Iterator<Item = &'a (u64, UpdateId)>) -> NegentropyStorageVector {
    let mut storage = NegentropyStorageVector::new();
    for (seq, id) in items {
        storage.insert(*seq, Id::from_byte_array(id.0)).expect("storage is unsealed while filling");
    }
    storage.seal().expect("sealed once");
    storage
}
