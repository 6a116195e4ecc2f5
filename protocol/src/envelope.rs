//! Signed updates: the header, its signature, the envelope that carries header and body,
//! and [`Verified`], which only signature verification can build.
//!
//! The signature covers [`SIGNING_DOMAIN`] followed by the whole canonical header, so no
//! relayer can re-wrap a body or alter any header field. Signatures are checked by ZIP-215
//! rules (`ed25519-zebra`), whose single and batch verification accept exactly the same set:
//! a signature is valid on every node or on none.

use std::collections::BTreeMap;
use std::ops::Deref;

use bincode::{Decode, Encode};
use ed25519_zebra::{Signature, SigningKey, VerificationKey, VerificationKeyBytes};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::codec;
use crate::error::Rejection;
use crate::ids::{AgencyId, NetworkId, ObjectId, UpdateId};
use crate::records::Record;
use crate::time::Epoch;

/// The only format version this build reads and writes.
pub const FORMAT_VERSION: u16 = 1;

/// Prefixed to the canonical header bytes before signing, so a signature over an update can
/// never be mistaken for a signature over anything else.
pub const SIGNING_DOMAIN: &[u8] = b"orbital-commons/update-header/v1";

/// Sequence numbers stay below 2^63: negentropy reserves the top of the range.
pub const MAX_SEQ: u64 = (1 << 63) - 1;

/// How many signatures one batch verification covers. 256–1 024 gives most of the batch
/// speed-up; a failed batch falls back to single checks, so smaller batches waste less then.
pub const VERIFY_BATCH: usize = 512;

/// What an update is. The discriminant is part of the canonical encoding: append only.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    OrbitEstimate,
    ObjectMetadata,
    ManeuverNotice,
    Endorse,
    Suspend,
    NodeBinding,
    Retract,
}

impl Kind {
    /// Membership statements: exempt from the fork cap, and they count even when forked.
    pub fn is_membership(self) -> bool {
        matches!(self, Kind::Endorse | Kind::Suspend)
    }
    /// Kinds that a `Retract` may withdraw.
    pub fn is_retractable(self) -> bool {
        matches!(self, Kind::OrbitEstimate | Kind::ObjectMetadata | Kind::ManeuverNotice)
    }
    /// Kinds whose header names an object.
    pub fn has_object(self) -> bool {
        self.is_retractable()
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OrbitEstimate => "orbit_estimate",
            Kind::ObjectMetadata => "object_metadata",
            Kind::ManeuverNotice => "maneuver_notice",
            Kind::Endorse => "endorse",
            Kind::Suspend => "suspend",
            Kind::NodeBinding => "node_binding",
            Kind::Retract => "retract",
        }
    }
}

/// The signed header: everything the state needs, decidable without the body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode)]
pub struct Header {
    pub format_version: u16,
    pub network_id: NetworkId,
    pub author: AgencyId,
    /// `max(clock µs, previous seq + 1)`: strictly increasing per author, below 2^63.
    pub seq: u64,
    /// The author's previous update, for audit.
    pub prev: Option<UpdateId>,
    pub kind: Kind,
    pub object: Option<ObjectId>,
    pub epoch: Option<Epoch>,
    pub target: Option<UpdateId>,
    pub subject: Option<AgencyId>,
    pub body_hash: [u8; 32],
}

/// A header with its ed25519 signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode)]
pub struct SignedHeader {
    pub header: Header,
    pub signature: [u8; 64],
}

/// What travels: a signed header and the body bytes (the canonical encoding of a
/// [`Record`]). The body is opaque until checked against `body_hash`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Envelope {
    pub header: SignedHeader,
    pub body: Vec<u8>,
}

impl Header {
    /// The bytes a signature covers: the domain separator and the canonical header.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut bytes = SIGNING_DOMAIN.to_vec();
        bincode::encode_into_std_write(self, &mut bytes, codec::CANONICAL)
            .expect("a header is far below the size bound");
        bytes
    }

    /// Permanent checks on the header alone, exact: version, network, seq range, epoch
    /// range, and the optional fields that each kind must and must not carry.
    pub fn check_permanent(&self, network: &NetworkId) -> Result<(), Rejection> {
        if self.format_version != FORMAT_VERSION {
            return Err(Rejection::UnknownVersion(self.format_version));
        }
        if self.network_id != *network {
            return Err(Rejection::WrongNetwork { expected: network.short(), got: self.network_id.short() });
        }
        if self.seq > MAX_SEQ {
            return Err(Rejection::SeqOutOfRange(self.seq));
        }
        let k = self.kind;
        if k.has_object() != self.object.is_some() {
            return Err(Rejection::HeaderInconsistent(
                "object must be present exactly for estimates, metadata and notices",
            ));
        }
        if let Some(object) = self.object {
            if !object.is_valid() {
                return Err(Rejection::HeaderInconsistent("catalogue number has more than nine digits"));
            }
        }
        match (k == Kind::OrbitEstimate, self.epoch) {
            (true, Some(epoch)) if !epoch.in_range() => return Err(Rejection::EpochOutOfRange(epoch.0)),
            (true, Some(_)) | (false, None) => {}
            _ => return Err(Rejection::HeaderInconsistent("epoch must be present exactly for estimates")),
        }
        if (k == Kind::Retract) != self.target.is_some() {
            return Err(Rejection::HeaderInconsistent("target must be present exactly for retractions"));
        }
        if k.is_membership() != self.subject.is_some() {
            return Err(Rejection::HeaderInconsistent(
                "subject must be present exactly for endorsements and suspensions",
            ));
        }
        Ok(())
    }
}

impl SignedHeader {
    /// `UpdateId` = blake3 of the canonical signed header.
    pub fn id(&self) -> UpdateId {
        let bytes = codec::encode(self).expect("a signed header is far below the size bound");
        UpdateId(*blake3::hash(&bytes).as_bytes())
    }
}

/// A value whose signature has been checked. There is no other way to build one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<T>(T);

impl<T> Deref for Verified<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Verified<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// A verified signed header together with its id (computed once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedHeader {
    pub id: UpdateId,
    pub signed: SignedHeader,
}

impl VerifiedHeader {
    pub fn header(&self) -> &Header {
        &self.signed.header
    }
}

impl Verified<VerifiedHeader> {
    /// Pairs a verified header with body bytes that match its `body_hash`.
    pub fn with_body(&self, body: &[u8]) -> Result<(), Rejection> {
        if *blake3::hash(body).as_bytes() == self.signed.header.body_hash {
            Ok(())
        } else {
            Err(Rejection::BodyHashMismatch)
        }
    }

    /// Rebuilds a verified header from this node's own store, where only verified headers are
    /// ever written. The store is local and trusted; bytes from anywhere else go through
    /// [`verify_header`].
    pub fn from_local_store(signed: SignedHeader) -> Self {
        let id = signed.id();
        Verified(VerifiedHeader { id, signed })
    }
}

fn verification_key(author: &AgencyId) -> Result<VerificationKey, Rejection> {
    VerificationKey::try_from(author.0).map_err(|_| Rejection::BadAuthorKey { author: author.short() })
}

fn decode_signature(signed: &SignedHeader) -> Signature {
    Signature::from_bytes(&signed.signature)
}

/// Checks one signed header: permanent header checks, then the signature (ZIP-215).
pub fn verify_header(
    signed: SignedHeader,
    network: &NetworkId,
) -> Result<Verified<VerifiedHeader>, Rejection> {
    signed.header.check_permanent(network)?;
    let key = verification_key(&signed.header.author)?;
    key.verify(&decode_signature(&signed), &signed.header.signing_bytes())
        .map_err(|_| Rejection::BadSignature { author: signed.header.author.short() })?;
    let id = signed.id();
    Ok(Verified(VerifiedHeader { id, signed }))
}

/// Checks many signed headers at once. Batches of [`VERIFY_BATCH`] are verified together;
/// a batch that fails is re-checked one by one to find the bad signatures. The result has
/// one entry per input, in order, and is exactly what [`verify_header`] gives for each.
///
/// `rng_seed` seeds the batch coefficients: it must be unpredictable to whoever wrote the
/// signatures (the node passes fresh OS randomness; the simulator its seeded RNG).
pub fn verify_headers_batch(
    signed: Vec<SignedHeader>,
    network: &NetworkId,
    rng_seed: [u8; 32],
) -> Vec<Result<Verified<VerifiedHeader>, Rejection>> {
    let mut rng = ChaCha20Rng::from_seed(rng_seed);
    let mut out: Vec<Result<Verified<VerifiedHeader>, Rejection>> = Vec::with_capacity(signed.len());
    let mut iter = signed.into_iter().peekable();
    while iter.peek().is_some() {
        let chunk: Vec<SignedHeader> = iter.by_ref().take(VERIFY_BATCH).collect();
        let mut batch = ed25519_zebra::batch::Verifier::new();
        let mut prechecked: Vec<Result<(), Rejection>> = Vec::with_capacity(chunk.len());
        // Whether each author's key decompresses, worked out once per author and batch (a
        // decompression costs about as much as the rest of a batched verification).
        let mut keys: BTreeMap<AgencyId, Result<(), Rejection>> = BTreeMap::new();
        for s in &chunk {
            let pre = s.header.check_permanent(network).and_then(|()| {
                // A key that does not decompress fails here, not inside the batch.
                keys.entry(s.header.author)
                    .or_insert_with(|| verification_key(&s.header.author).map(|_| ()))
                    .clone()
            });
            if pre.is_ok() {
                let vk = VerificationKeyBytes::from(s.header.author.0);
                batch.queue((vk, decode_signature(s), &s.header.signing_bytes()));
            }
            prechecked.push(pre);
        }
        let all_good = batch.verify(&mut rng).is_ok();
        for (s, pre) in chunk.into_iter().zip(prechecked) {
            out.push(match pre {
                Err(e) => Err(e),
                Ok(()) if all_good => {
                    let id = s.id();
                    Ok(Verified(VerifiedHeader { id, signed: s }))
                }
                Ok(()) => verify_header(s, network),
            });
        }
    }
    out
}

/// [`verify_headers_batch`] spread over `threads` scoped threads (the caller chooses how many;
/// this crate does not ask the OS). Each thread's batch coefficients come from its own seed
/// derived from `rng_seed`. The result is the same as verifying in one thread.
pub fn verify_headers_parallel(
    signed: Vec<SignedHeader>,
    network: &NetworkId,
    rng_seed: [u8; 32],
    threads: usize,
) -> Vec<Result<Verified<VerifiedHeader>, Rejection>> {
    let threads = threads.max(1);
    if threads == 1 || signed.len() < 2 * VERIFY_BATCH {
        return verify_headers_batch(signed, network, rng_seed);
    }
    let per_thread = signed.len().div_ceil(threads);
    let mut chunks: Vec<Vec<SignedHeader>> = Vec::with_capacity(threads);
    let mut rest = signed;
    while !rest.is_empty() {
        let tail = rest.split_off(per_thread.min(rest.len()));
        chunks.push(std::mem::replace(&mut rest, tail));
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| {
                let mut hasher = blake3::Hasher::new();
                hasher.update(&rng_seed);
                hasher.update(&(i as u64).to_le_bytes());
                let seed = *hasher.finalize().as_bytes();
                scope.spawn(move || verify_headers_batch(chunk, network, seed))
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("verification does not panic")).collect()
    })
}

/// Decodes an envelope from the wire and checks its header and signature. The body is only
/// checked against the hash; decoding it and its physical checks happen in validation.
pub fn verify_envelope(
    bytes: &[u8],
    network: &NetworkId,
) -> Result<(Verified<VerifiedHeader>, Vec<u8>), Rejection> {
    let envelope: Envelope = codec::decode(bytes)?;
    let header = verify_header(envelope.header, network)?;
    header.with_body(&envelope.body)?;
    Ok((header, envelope.body))
}

/// An agency's signing key. Exactly one node of an agency holds it (DESIGN.md §7).
pub struct Signer {
    key: SigningKey,
    agency: AgencyId,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.agency.short())
    }
}

impl Signer {
    /// A signer from its 32-byte secret seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = SigningKey::from(seed);
        let agency = AgencyId(VerificationKeyBytes::from(&key).into());
        Self { key, agency }
    }
    /// The secret seed, for writing the key file.
    pub fn seed(&self) -> [u8; 32] {
        self.key.into()
    }
    pub fn agency(&self) -> AgencyId {
        self.agency
    }
    /// Signs a record as an update with the given seq and prev. Fails only if the record
    /// does not fit the size bound.
    pub fn sign(
        &self,
        network: NetworkId,
        seq: u64,
        prev: Option<UpdateId>,
        record: &Record,
    ) -> Result<Envelope, Rejection> {
        let body = codec::encode(record)?;
        let header = Header {
            format_version: FORMAT_VERSION,
            network_id: network,
            author: self.agency,
            seq,
            prev,
            kind: record.kind(),
            object: record.object(),
            epoch: record.epoch(),
            target: record.target(),
            subject: record.subject(),
            body_hash: *blake3::hash(&body).as_bytes(),
        };
        let signature: [u8; 64] = self.key.sign(&header.signing_bytes()).into();
        let envelope = Envelope { header: SignedHeader { header, signature }, body };
        // The whole envelope must fit the bound the receivers enforce.
        codec::encode(&envelope)?;
        Ok(envelope)
    }

    /// Signs like [`Signer::sign`] and returns, with the envelope, its header as
    /// [`Verified`] and the envelope's canonical bytes, each computed once.
    ///
    /// A signature this signer has just made needs no check: ed25519 signing is deterministic
    /// and `ed25519-zebra` derives the public key from the same secret, so the signature is
    /// valid by construction. (Checking our own signatures cost a third of local ingest.)
    /// Peers verify everything they receive regardless.
    pub fn sign_own(
        &self,
        network: NetworkId,
        seq: u64,
        prev: Option<UpdateId>,
        record: &Record,
    ) -> Result<SignedOwn, Rejection> {
        let envelope = self.sign(network, seq, prev, record)?;
        let bytes = envelope.to_bytes();
        let signed = envelope.header.clone();
        let id = signed.id();
        Ok(SignedOwn { header: Verified(VerifiedHeader { id, signed }), envelope, bytes })
    }
}

/// An update this node's own [`Signer`] has just signed (see [`Signer::sign_own`]).
#[derive(Debug)]
pub struct SignedOwn {
    pub header: Verified<VerifiedHeader>,
    pub envelope: Envelope,
    /// The envelope's canonical bytes, as published.
    pub bytes: Vec<u8>,
}

impl Envelope {
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self).expect("envelopes are checked against the bound when signed")
    }
    pub fn id(&self) -> UpdateId {
        self.header.id()
    }
}
