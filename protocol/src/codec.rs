//! The one canonical encoding: bincode 2.0.1 with a single fixed configuration.
//!
//! Every byte that is hashed, signed or sent goes through [`encode`] and [`decode`]. The
//! configuration is little-endian, fixed-width integers (so the layout is easy to specify
//! byte by byte in `SPEC.md`), and a hard limit of [`MAX_UPDATE_BYTES`]. Decoding rejects
//! trailing bytes: one value has exactly one encoding.

use bincode::config::{self, Configuration, Fixint, Limit, LittleEndian};

use crate::error::DecodeError;

/// The size bound of one encoded update (header, signature and body): 16 KiB. An orbit
/// estimate with covariance is about 600 bytes; the bound leaves room for metadata and
/// endorsements carrying a binding while keeping a flood cheap to reject.
pub const MAX_UPDATE_BYTES: usize = 16 * 1024;

/// The canonical configuration. Never change it within one `format_version`.
pub type Canonical = Configuration<LittleEndian, Fixint, Limit<MAX_UPDATE_BYTES>>;

/// The canonical configuration value.
pub const CANONICAL: Canonical =
    config::standard().with_little_endian().with_fixed_int_encoding().with_limit::<MAX_UPDATE_BYTES>();

/// Encodes a value canonically. Values built by this crate always fit the bound; a value
/// that does not (an oversized metadata string, say) is an error, never a panic.
pub fn encode<T: bincode::Encode>(value: &T) -> Result<Vec<u8>, DecodeError> {
    let bytes =
        bincode::encode_to_vec(value, CANONICAL).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if bytes.len() > MAX_UPDATE_BYTES {
        return Err(DecodeError::TooLarge { len: bytes.len(), max: MAX_UPDATE_BYTES });
    }
    Ok(bytes)
}

/// Decodes a value canonically: over-size input and trailing bytes are errors.
pub fn decode<T: bincode::Decode<()>>(bytes: &[u8]) -> Result<T, DecodeError> {
    if bytes.len() > MAX_UPDATE_BYTES {
        return Err(DecodeError::TooLarge { len: bytes.len(), max: MAX_UPDATE_BYTES });
    }
    let (value, used) = bincode::decode_from_slice(bytes, CANONICAL).map_err(|e| match e {
        bincode::error::DecodeError::UnexpectedEnd { .. } => DecodeError::Truncated,
        bincode::error::DecodeError::LimitExceeded => {
            DecodeError::TooLarge { len: bytes.len(), max: MAX_UPDATE_BYTES }
        }
        other => DecodeError::Malformed(other.to_string()),
    })?;
    if used != bytes.len() {
        return Err(DecodeError::TrailingBytes { extra: bytes.len() - used });
    }
    Ok(value)
}
