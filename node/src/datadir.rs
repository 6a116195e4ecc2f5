//! The data directory: keys, genesis, config, API token and the store, in one place.
//!
//! ```text
//! <data_dir>/config.toml    commented settings (deploy/config.example.toml)
//! <data_dir>/genesis.json   the network's genesis (network_id = blake3 of its canonical form)
//! <data_dir>/agency.key     the agency signing key (hex seed, mode 0600); signing node only
//! <data_dir>/agency.json    the agency's name and public id
//! <data_dir>/node.key       the node's libp2p identity (protobuf, mode 0600)
//! <data_dir>/api.token      bearer token for writes through the local API (mode 0600)
//! <data_dir>/api.addr       the API address of the running node (written at start)
//! <data_dir>/store/         the sled store
//! ```

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use libp2p::identity::Keypair;
use libp2p::PeerId;
use protocol::envelope::Signer;
use protocol::genesis::Genesis;
use protocol::ids::AgencyId;
use serde::{Deserialize, Serialize};

/// The commented config written into a new data directory.
pub const CONFIG_TEMPLATE: &str = include_str!("../../deploy/config.example.toml");

/// What `agency.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgencyInfo {
    pub name: String,
    pub agency: AgencyId,
}

/// Paths within one data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    /// The default: `$COMMONS_HOME`, else `~/.commons`.
    pub fn default_root() -> PathBuf {
        if let Some(home) = std::env::var_os("COMMONS_HOME") {
            return PathBuf::from(home);
        }
        std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".")).join(".commons")
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    pub fn genesis(&self) -> PathBuf {
        self.root.join("genesis.json")
    }
    pub fn agency_key(&self) -> PathBuf {
        self.root.join("agency.key")
    }
    pub fn agency_info(&self) -> PathBuf {
        self.root.join("agency.json")
    }
    pub fn node_key(&self) -> PathBuf {
        self.root.join("node.key")
    }
    pub fn token(&self) -> PathBuf {
        self.root.join("api.token")
    }
    pub fn api_addr(&self) -> PathBuf {
        self.root.join("api.addr")
    }
    pub fn store(&self) -> PathBuf {
        self.root.join("store")
    }

    /// Creates a data directory with fresh keys. Refuses to overwrite existing keys; a
    /// genesis may be added to a directory that has keys already.
    pub fn init(&self, agency_name: Option<&str>, relay: bool, genesis: Option<&Path>) -> Result<InitReport> {
        fs::create_dir_all(&self.root).with_context(|| format!("cannot create {}", self.root.display()))?;
        // The store, config and token are this node's alone.
        fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {} to its owner", self.root.display()))?;
        let has_keys = self.node_key().exists() || self.agency_key().exists();
        if has_keys && genesis.is_none() {
            bail!(
                "{} already holds keys; refusing to overwrite them (to add a genesis: commons init --data-dir {} --genesis FILE)",
                self.root.display(),
                self.root.display()
            );
        }
        if !has_keys {
            if !relay {
                let name = agency_name
                    .context("a signing node needs --agency NAME (or --relay for a relay node)")?;
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
                let signer = Signer::from_seed(seed);
                write_secret(&self.agency_key(), hex::encode(seed).as_bytes())?;
                let info = AgencyInfo { name: name.to_owned(), agency: signer.agency() };
                fs::write(self.agency_info(), serde_json::to_string_pretty(&info)? + "\n")?;
            }
            let keypair = Keypair::generate_ed25519();
            write_secret(
                &self.node_key(),
                &keypair.to_protobuf_encoding().context("encoding the node key")?,
            )?;
            let mut token = [0u8; 32];
            getrandom::fill(&mut token).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
            write_secret(&self.token(), hex::encode(token).as_bytes())?;
            if !self.config().exists() {
                fs::write(self.config(), CONFIG_TEMPLATE)?;
            }
        }
        if let Some(path) = genesis {
            let genesis = read_genesis(path)?;
            fs::write(self.genesis(), serde_json::to_string_pretty(&genesis)? + "\n")?;
        }
        Ok(InitReport {
            root: self.root.clone(),
            agency: self.agency()?.map(|a| a.agency),
            peer_id: self.peer_id()?,
            created_keys: !has_keys,
            has_genesis: self.genesis().exists(),
        })
    }

    /// The agency signing key, if this is the signing node.
    pub fn signer(&self) -> Result<Option<Signer>> {
        let path = self.agency_key();
        if !path.exists() {
            return Ok(None);
        }
        check_private(&path)?;
        let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let bytes =
            hex::decode(text.trim()).with_context(|| format!("{} is not a hex key", path.display()))?;
        let seed: [u8; 32] =
            bytes.try_into().map_err(|_| anyhow::anyhow!("{} must hold 32 bytes", path.display()))?;
        Ok(Some(Signer::from_seed(seed)))
    }

    pub fn agency(&self) -> Result<Option<AgencyInfo>> {
        let path = self.agency_info();
        if !path.exists() {
            return Ok(None);
        }
        let text = fs::read_to_string(&path)?;
        Ok(Some(serde_json::from_str(&text).with_context(|| format!("{} is malformed", path.display()))?))
    }

    pub fn node_keypair(&self) -> Result<Keypair> {
        let path = self.node_key();
        check_private(&path)?;
        let bytes = fs::read(&path).with_context(|| {
            format!(
                "cannot read the node key {} (create a data directory with `commons init`)",
                path.display()
            )
        })?;
        Keypair::from_protobuf_encoding(&bytes)
            .with_context(|| format!("{} is not a libp2p key", path.display()))
    }

    pub fn peer_id(&self) -> Result<Option<PeerId>> {
        if !self.node_key().exists() {
            return Ok(None);
        }
        Ok(Some(self.node_keypair()?.public().to_peer_id()))
    }

    pub fn read_token(&self) -> Result<String> {
        let path = self.token();
        Ok(fs::read_to_string(&path)
            .with_context(|| {
                format!("cannot read the API token {} (is this the node's data directory?)", path.display())
            })?
            .trim()
            .to_owned())
    }

    pub fn load_genesis(&self) -> Result<Genesis> {
        let path = self.genesis();
        if !path.exists() {
            bail!(
                "{} has no genesis.json: found a network with `commons genesis new|add-founder|seal`, \
                 or install one with `commons init --data-dir {} --genesis FILE`",
                self.root.display(),
                self.root.display()
            );
        }
        read_genesis(&path)
    }
}

/// Reads and validates a genesis file (JSON).
pub fn read_genesis(path: &Path) -> Result<Genesis> {
    let text = fs::read_to_string(path).with_context(|| format!("cannot read genesis {}", path.display()))?;
    let genesis: Genesis =
        serde_json::from_str(&text).with_context(|| format!("genesis {} is malformed", path.display()))?;
    genesis.validate().with_context(|| format!("genesis {} is not valid", path.display()))?;
    Ok(genesis)
}

/// What `init` did.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    pub root: PathBuf,
    pub agency: Option<AgencyId>,
    #[serde(serialize_with = "display_opt")]
    pub peer_id: Option<PeerId>,
    pub created_keys: bool,
    pub has_genesis: bool,
}

fn display_opt<S: serde::Serializer>(value: &Option<PeerId>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.serialize_str(&v.to_string()),
        None => s.serialize_none(),
    }
}

/// Writes a secret with mode 0600, refusing to overwrite.
fn write_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file =
        fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).with_context(|| {
            format!("cannot create {} (refusing to overwrite an existing key)", path.display())
        })?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Refuses a key file readable by others.
fn check_private(path: &Path) -> Result<()> {
    if let Ok(meta) = fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "{} has mode {mode:o}: a key must be readable by its owner only (chmod 600 {})",
                path.display(),
                path.display()
            );
        }
    }
    Ok(())
}
