//! The genesis: the founders, the endorsement threshold k, the live estimates per source K,
//! and the shared-orbit window. Every parameter that affects the state or a view lives here,
//! never in a node's config. `network_id` = blake3 of the canonical genesis.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::error::DecodeError;
use crate::ids::{AgencyId, NetworkId};

/// A founding agency: its key, human name and the peer ids of its nodes.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Founder {
    pub agency: AgencyId,
    pub name: String,
    /// libp2p peer ids (multihash bytes, hex in JSON) of the founder's nodes at genesis.
    #[serde(with = "peer_ids_hex")]
    pub node_peer_ids: Vec<Vec<u8>>,
}

/// The genesis of one network.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Genesis {
    pub network_name: String,
    /// Founders, sorted by agency key (sealing sorts them).
    pub founders: Vec<Founder>,
    /// Endorsements from distinct admitted members needed to admit an agency (k ≥ 2).
    pub endorsement_threshold: u32,
    /// Live estimates kept per (object, agency): K ≥ 1.
    pub estimates_per_source: u32,
    /// Candidates for the shared orbit lie within this many seconds of the reference epoch.
    pub shared_orbit_window_s: u64,
    /// How far ahead of a node's clock an estimate's epoch may lie before it waits ("not yet").
    pub max_epoch_ahead_s: u64,
}

/// Sensible defaults for a new genesis.
pub const DEFAULT_ESTIMATES_PER_SOURCE: u32 = 3;
/// Three days: element sets older than that relative to the others are stale for screening.
pub const DEFAULT_SHARED_ORBIT_WINDOW_S: u64 = 3 * 86_400;
/// One day: an epoch further ahead than this is not an observation yet.
pub const DEFAULT_MAX_EPOCH_AHEAD_S: u64 = 86_400;

/// A genesis that cannot found a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    #[error("a genesis needs at least two founders, it has {0}")]
    TooFewFounders(usize),
    #[error("founder {0} appears twice")]
    DuplicateFounder(String),
    #[error("endorsement threshold k = {0} must be at least 2")]
    ThresholdTooLow(u32),
    #[error("estimates per source K = {0} must be between 1 and 64")]
    BadEstimatesPerSource(u32),
    #[error("founders must be sorted by agency key (seal the genesis)")]
    NotSorted,
    #[error("the founder name {0:?} is empty or longer than 128 bytes")]
    BadName(String),
    #[error("cannot encode the genesis: {0}")]
    Encoding(#[from] DecodeError),
}

impl Genesis {
    /// The default threshold: a strict majority of the founders, at least 2.
    pub fn default_threshold(n_founders: usize) -> u32 {
        ((n_founders / 2 + 1) as u32).max(2)
    }

    /// Sorts the founders by key and checks the rules. A sealed genesis has one id.
    pub fn seal(mut self) -> Result<Self, GenesisError> {
        self.founders.sort_by_key(|f| f.agency);
        self.validate()?;
        Ok(self)
    }

    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.founders.len() < 2 {
            return Err(GenesisError::TooFewFounders(self.founders.len()));
        }
        for pair in self.founders.windows(2) {
            if pair[0].agency == pair[1].agency {
                return Err(GenesisError::DuplicateFounder(pair[0].agency.short()));
            }
            if pair[0].agency > pair[1].agency {
                return Err(GenesisError::NotSorted);
            }
        }
        for f in &self.founders {
            if f.name.trim().is_empty() || f.name.len() > 128 {
                return Err(GenesisError::BadName(f.name.clone()));
            }
        }
        if self.endorsement_threshold < 2 {
            return Err(GenesisError::ThresholdTooLow(self.endorsement_threshold));
        }
        if !(1..=64).contains(&self.estimates_per_source) {
            return Err(GenesisError::BadEstimatesPerSource(self.estimates_per_source));
        }
        codec::encode(self)?;
        Ok(())
    }

    /// `network_id` = blake3 of the canonical genesis.
    pub fn network_id(&self) -> NetworkId {
        let bytes = codec::encode(self).expect("a validated genesis fits the size bound");
        NetworkId(*blake3::hash(&bytes).as_bytes())
    }

    pub fn is_founder(&self, agency: &AgencyId) -> bool {
        self.founders.iter().any(|f| f.agency == *agency)
    }

    pub fn founder_name(&self, agency: &AgencyId) -> Option<&str> {
        self.founders.iter().find(|f| f.agency == *agency).map(|f| f.name.as_str())
    }
}

mod peer_ids_hex {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(list: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(hex::encode))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?
            .into_iter()
            .map(|t| hex::decode(t).map_err(serde::de::Error::custom))
            .collect()
    }
}
