//! Typed errors at the protocol boundary. Every rejection says what was wrong and of which
//! of the three kinds of DESIGN.md §3 it is, because the kind decides what happens next.

use crate::ids::UpdateId;

/// Why bytes could not be decoded as a canonical value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("truncated: the bytes end before the value does")]
    Truncated,
    #[error("too large: {len} bytes, the bound is {max}")]
    TooLarge { len: usize, max: usize },
    #[error("{extra} trailing bytes after the value")]
    TrailingBytes { extra: usize },
    #[error("malformed: {0}")]
    Malformed(String),
}

/// The three kinds of validation (DESIGN.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectKind {
    /// Invalid forever: dropped, and the peer that sent it is penalised.
    Permanent,
    /// The body fails its checks: the update is kept as evidence but counts in no view.
    Defective,
    /// Depends on the receiver's state or clock: held or dropped, never blacklisted.
    NotYet,
    /// Not an error of the update: the node refuses it for a local reason (a full pool,
    /// an already-known update, a relay node asked to sign). Never penalised.
    Local,
}

/// A rejected update: what was wrong, and of which kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    // --- permanent: header checks, exact ---
    #[error("cannot decode the update: {0}")]
    Decode(#[from] DecodeError),
    #[error("unknown format version {0}")]
    UnknownVersion(u16),
    #[error("wrong network: the update is for network {got}, this node is on {expected}")]
    WrongNetwork { expected: String, got: String },
    #[error("bad signature by {author}")]
    BadSignature { author: String },
    #[error("author key {author} is not a valid ed25519 public key")]
    BadAuthorKey { author: String },
    #[error("seq {0} is not below 2^63")]
    SeqOutOfRange(u64),
    #[error("epoch {0} µs is outside 1957..2200")]
    EpochOutOfRange(i64),
    #[error("header is inconsistent: {0}")]
    HeaderInconsistent(&'static str),
    // --- permanent: the body bytes do not match the header's hash (a peer's fault) ---
    #[error("body bytes do not match the header's body_hash")]
    BodyHashMismatch,
    // --- not yet ---
    #[error("author {author} is not (yet) an admitted member")]
    NotAdmitted { author: String },
    #[error("epoch lies {ahead_s} s ahead of this node's clock (the bound is {bound_s} s)")]
    EpochInFuture { ahead_s: i64, bound_s: i64 },
    // --- local ---
    #[error("already known: {0}")]
    Duplicate(UpdateId),
    #[error("a third data header at ({author}, seq {seq}) is not stored: two already prove the fork")]
    ForkCapReached { author: String, seq: u64 },
    #[error("the pending pool is full ({0} updates)")]
    PendingFull(usize),
    #[error("this node cannot sign: {0}")]
    CannotSign(&'static str),
    #[error("the record cannot be submitted: {0}")]
    BadSubmission(String),
}

impl Rejection {
    /// The kind of validation this rejection belongs to.
    pub fn kind(&self) -> RejectKind {
        use Rejection::*;
        match self {
            Decode(_)
            | UnknownVersion(_)
            | WrongNetwork { .. }
            | BadSignature { .. }
            | BadAuthorKey { .. }
            | SeqOutOfRange(_)
            | EpochOutOfRange(_)
            | HeaderInconsistent(_)
            | BodyHashMismatch => RejectKind::Permanent,
            NotAdmitted { .. } | EpochInFuture { .. } => RejectKind::NotYet,
            Duplicate(_) | ForkCapReached { .. } | PendingFull(_) | CannotSign(_) | BadSubmission(_) => {
                RejectKind::Local
            }
        }
    }

    /// Whether the peer that sent this should be penalised (only for permanent faults).
    pub fn penalises_sender(&self) -> bool {
        self.kind() == RejectKind::Permanent
    }

    /// A short machine-readable reason, for metrics labels and JSON.
    pub fn reason_code(&self) -> &'static str {
        use Rejection::*;
        match self {
            Decode(DecodeError::Truncated) => "truncated",
            Decode(DecodeError::TooLarge { .. }) => "oversized",
            Decode(DecodeError::TrailingBytes { .. }) => "trailing_bytes",
            Decode(DecodeError::Malformed(_)) => "malformed",
            UnknownVersion(_) => "unknown_version",
            WrongNetwork { .. } => "wrong_network",
            BadSignature { .. } => "bad_signature",
            BadAuthorKey { .. } => "bad_author_key",
            SeqOutOfRange(_) => "seq_out_of_range",
            EpochOutOfRange(_) => "epoch_out_of_range",
            HeaderInconsistent(_) => "header_inconsistent",
            BodyHashMismatch => "body_hash_mismatch",
            NotAdmitted { .. } => "not_admitted",
            EpochInFuture { .. } => "epoch_in_future",
            Duplicate(_) => "duplicate",
            ForkCapReached { .. } => "fork_cap",
            PendingFull(_) => "pending_full",
            CannotSign(_) => "cannot_sign",
            BadSubmission(_) => "bad_submission",
        }
    }
}
