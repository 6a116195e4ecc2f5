//! Identifiers: objects (NORAD numbers with their Alpha-5 text form, or provisional ids),
//! agencies (ed25519 public keys), updates and networks (blake3 hashes).

use std::fmt;
use std::str::FromStr;

use bincode::{Decode, Encode};

/// The largest catalogue number that Alpha-5 (and so a TLE) can carry: `Z9999`.
pub const MAX_ALPHA5_NUMBER: u32 = 339_999;

/// The largest catalogue number this protocol accepts. OMM carries nine digits.
pub const MAX_CATALOG_NUMBER: u32 = 999_999_999;

/// An ed25519 public key: the identity of an agency. Its human name lives in membership.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct AgencyId(pub [u8; 32]);

/// blake3 of an update's canonical signed header.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct UpdateId(pub [u8; 32]);

/// blake3 of the canonical genesis.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct NetworkId(pub [u8; 32]);

macro_rules! hex_id {
    ($t:ident, $what:literal) => {
        impl $t {
            /// Lower-case hex, 64 characters.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
            /// Parses 64 hex characters.
            pub fn from_hex(text: &str) -> Result<Self, IdParseError> {
                let bytes =
                    hex::decode(text.trim()).map_err(|e| IdParseError::new($what, text, e.to_string()))?;
                let array: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| IdParseError::new($what, text, "expected 32 bytes (64 hex digits)"))?;
                Ok(Self(array))
            }
            /// The first 8 bytes in hex, for logs and tables.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..8])
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($t), self.short())
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
hex_id!(AgencyId, "agency id");
hex_id!(UpdateId, "update id");
hex_id!(NetworkId, "network id");

impl FromStr for UpdateId {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

impl FromStr for NetworkId {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

impl AgencyId {
    /// Base58 (Bitcoin alphabet), the short text form.
    pub fn to_base58(&self) -> String {
        bs58::encode(self.0).into_string()
    }
    /// Parses base58.
    pub fn from_base58(text: &str) -> Result<Self, IdParseError> {
        let bytes = bs58::decode(text.trim())
            .into_vec()
            .map_err(|e| IdParseError::new("agency id", text, e.to_string()))?;
        let array: [u8; 32] =
            bytes.try_into().map_err(|_| IdParseError::new("agency id", text, "expected 32 bytes"))?;
        Ok(Self(array))
    }
}

impl FromStr for AgencyId {
    type Err = IdParseError;
    /// Accepts either text form: 64 hex digits, or base58.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Self::from_hex(s)
        } else {
            Self::from_base58(s)
        }
    }
}

/// An identifier could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {text:?}: {why}")]
pub struct IdParseError {
    pub what: &'static str,
    pub text: String,
    pub why: String,
}

impl IdParseError {
    fn new(what: &'static str, text: &str, why: impl Into<String>) -> Self {
        Self { what, text: text.chars().take(80).collect(), why: why.into() }
    }
}

/// An object in orbit: a NORAD catalogue number, or a provisional id that one agency gives
/// an object that has no catalogue number yet.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub enum ObjectId {
    Norad(u32),
    Provisional { agency: AgencyId, local: u32 },
}

impl ObjectId {
    /// The catalogue number, if this is one.
    pub fn norad(&self) -> Option<u32> {
        match self {
            ObjectId::Norad(n) => Some(*n),
            ObjectId::Provisional { .. } => None,
        }
    }

    /// Whether the header/body rules accept this id (catalogue numbers within nine digits).
    pub fn is_valid(&self) -> bool {
        match self {
            ObjectId::Norad(n) => *n <= MAX_CATALOG_NUMBER,
            ObjectId::Provisional { .. } => true,
        }
    }
}

/// Alpha-5 letters: A–Z without I and O, standing for 10..=33.
const ALPHA5_LETTERS: &[u8; 24] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";

/// Writes a catalogue number as TLE's five characters: digits up to 99 999, Alpha-5 above.
/// `None` above 339 999, which no TLE can carry.
pub fn alpha5_encode(number: u32) -> Option<String> {
    if number < 100_000 {
        Some(format!("{number:05}"))
    } else if number <= MAX_ALPHA5_NUMBER {
        let letter = ALPHA5_LETTERS[(number / 10_000 - 10) as usize] as char;
        Some(format!("{letter}{:04}", number % 10_000))
    } else {
        None
    }
}

/// Reads TLE's five-character catalogue field: digits (blank-padded) or Alpha-5.
pub fn alpha5_decode(text: &str) -> Result<u32, IdParseError> {
    let t = text.trim();
    let err = |why: &str| IdParseError::new("catalogue number", text, why);
    let first = t.chars().next().ok_or_else(|| err("empty"))?;
    if first.is_ascii_digit() {
        if t.len() > 5 {
            return Err(err("more than five digits"));
        }
        return t.parse::<u32>().map_err(|_| err("not a number"));
    }
    let rest = &t[first.len_utf8()..];
    if rest.len() != 4 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("Alpha-5 is a letter followed by four digits"));
    }
    let upper = first.to_ascii_uppercase() as u8;
    let index = ALPHA5_LETTERS
        .iter()
        .position(|&l| l == upper)
        .ok_or_else(|| err("Alpha-5 letters are A-Z without I and O"))?;
    let tail: u32 = rest.parse().map_err(|_| err("not a number"))?;
    Ok((index as u32 + 10) * 10_000 + tail)
}

impl fmt::Display for ObjectId {
    /// Catalogue numbers print as plain decimal; provisional ids as `P-<agency base58>-<n>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectId::Norad(n) => write!(f, "{n}"),
            ObjectId::Provisional { agency, local } => {
                write!(f, "P-{}-{local}", agency.to_base58())
            }
        }
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({self})")
    }
}

impl FromStr for ObjectId {
    type Err = IdParseError;
    /// Accepts decimal (`25544`), Alpha-5 (`A0001`) and provisional (`P-<agency>-<n>`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if let Some(rest) = t.strip_prefix("P-") {
            let (agency, local) = rest
                .rsplit_once('-')
                .ok_or_else(|| IdParseError::new("object id", s, "expected P-<agency>-<number>"))?;
            let agency = agency.parse()?;
            let local = local
                .parse()
                .map_err(|_| IdParseError::new("object id", s, "local number is not a number"))?;
            return Ok(ObjectId::Provisional { agency, local });
        }
        if t.len() == 5 && t.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return alpha5_decode(t).map(ObjectId::Norad);
        }
        let n: u32 = t.parse().map_err(|_| {
            IdParseError::new("object id", s, "expected a catalogue number, Alpha-5, or P-<agency>-<n>")
        })?;
        if n > MAX_CATALOG_NUMBER {
            return Err(IdParseError::new("object id", s, "catalogue numbers have at most nine digits"));
        }
        Ok(ObjectId::Norad(n))
    }
}

impl serde::Serialize for ObjectId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for ObjectId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Either {
            Number(u32),
            Text(String),
        }
        match Either::deserialize(d)? {
            Either::Number(n) => Ok(ObjectId::Norad(n)),
            Either::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn alpha5_known_values() {
        assert_eq!(alpha5_encode(25544).as_deref(), Some("25544"));
        assert_eq!(alpha5_encode(100_000).as_deref(), Some("A0000"));
        assert_eq!(alpha5_encode(180_000).as_deref(), Some("J0000"));
        assert_eq!(alpha5_encode(339_999).as_deref(), Some("Z9999"));
        assert_eq!(alpha5_encode(340_000), None);
        assert_eq!(alpha5_decode("A0000"), Ok(100_000));
        assert_eq!(alpha5_decode("J0000"), Ok(180_000));
        assert_eq!(alpha5_decode(" 4632"), Ok(4632));
        assert!(alpha5_decode("I0000").is_err());
        assert!(alpha5_decode("O1234").is_err());
    }

    proptest! {
        #[test]
        fn alpha5_round_trips(n in 0u32..=MAX_ALPHA5_NUMBER) {
            let text = alpha5_encode(n).unwrap();
            prop_assert_eq!(text.len(), 5);
            prop_assert_eq!(alpha5_decode(&text), Ok(n));
        }

        #[test]
        fn object_id_text_round_trips(n in 0u32..=MAX_CATALOG_NUMBER, key in any::<[u8; 32]>(), local in any::<u32>()) {
            let norad = ObjectId::Norad(n);
            prop_assert_eq!(norad.to_string().parse::<ObjectId>(), Ok(norad));
            let provisional = ObjectId::Provisional { agency: AgencyId(key), local };
            prop_assert_eq!(provisional.to_string().parse::<ObjectId>(), Ok(provisional));
        }

        #[test]
        fn agency_id_both_text_forms_round_trip(key in any::<[u8; 32]>()) {
            let id = AgencyId(key);
            prop_assert_eq!(id.to_hex().parse::<AgencyId>(), Ok(id));
            prop_assert_eq!(id.to_base58().parse::<AgencyId>(), Ok(id));
        }
    }
}
