//! `commons init`, `commons node run`, `commons keys show`, `commons bind-node` and
//! `commons genesis new|add-founder|seal`: setting up a node and founding a network.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use protocol::genesis::{
    Founder, Genesis, DEFAULT_ESTIMATES_PER_SOURCE, DEFAULT_MAX_EPOCH_AHEAD_S, DEFAULT_SHARED_ORBIT_WINDOW_S,
};

use super::table;
use crate::client::Client;
use crate::config::Config;
use crate::datadir::DataDir;

/// Options shared by every subcommand that talks to a node.
#[derive(Debug, Clone, clap::Args)]
pub struct NodeOpts {
    /// The node's data directory (keys, token, api.addr). Default: $COMMONS_HOME or ~/.commons
    #[arg(long, global = true, env = "COMMONS_HOME")]
    pub data_dir: Option<PathBuf>,
    /// Print JSON instead of a human table.
    #[arg(long, global = true)]
    pub json: bool,
}

impl NodeOpts {
    pub fn dir(&self) -> DataDir {
        DataDir::new(self.data_dir.clone().unwrap_or_else(DataDir::default_root))
    }
    pub fn client(&self) -> Result<Client> {
        Client::for_data_dir(&self.dir())
    }
}

/// Prints a value as JSON (pretty).
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The agency's human name (a signing node).
    #[arg(long, conflicts_with = "relay")]
    pub agency: Option<String>,
    /// A relay node: only a libp2p key; the agency's signing node binds it.
    #[arg(long)]
    pub relay: bool,
    /// Install this genesis file (may be added later to a directory that has keys).
    #[arg(long)]
    pub genesis: Option<PathBuf>,
}

pub fn init(args: InitArgs, opts: &NodeOpts) -> Result<()> {
    let dir = opts.dir();
    let report = dir.init(args.agency.as_deref(), args.relay, args.genesis.as_deref())?;
    if opts.json {
        return print_json(&report);
    }
    let mut lines = vec![("data directory", report.root.display().to_string())];
    if let Some(a) = report.agency {
        lines.push(("agency id", a.to_hex()));
    }
    if let Some(p) = report.peer_id {
        lines.push(("node peer id", p.to_string()));
    }
    lines.push((
        "keys",
        if report.created_keys { "created (mode 0600)".into() } else { "kept (already present)".into() },
    ));
    lines.push(("genesis", if report.has_genesis { "installed".into() } else { "none yet".into() }));
    print!("{}", table::pairs(&lines));
    if !report.has_genesis {
        println!("\nNext: found a network (commons genesis new|add-founder|seal) or install one (commons init --genesis FILE).");
    } else {
        println!("\nNext: commons node run --config {}", dir.config().display());
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The config file. Default: config.toml in the data directory.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub fn run(args: RunArgs, opts: &NodeOpts) -> Result<()> {
    let path = args.config.unwrap_or_else(|| opts.dir().config());
    let config = Config::load(&path)?;
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = config.worker_threads {
        builder.worker_threads(threads);
    }
    let runtime = builder.enable_all().build().context("starting the runtime")?;
    runtime.block_on(crate::daemon::run(config, crate::daemon::shutdown_signal(), None))
}

pub fn keys_show(opts: &NodeOpts) -> Result<()> {
    let dir = opts.dir();
    let agency = dir.agency()?;
    let peer = dir.peer_id()?;
    if peer.is_none() {
        bail!("{} holds no keys: create them with `commons init --agency NAME`", dir.root().display());
    }
    let value = serde_json::json!({
        "data_dir": dir.root(),
        "agency": agency.as_ref().map(|a| a.agency.to_hex()),
        "agency_base58": agency.as_ref().map(|a| a.agency.to_base58()),
        "agency_name": agency.as_ref().map(|a| a.name.clone()),
        "signing_key": dir.agency_key().exists(),
        "node_peer_id": peer.map(|p| p.to_string()),
    });
    if opts.json {
        return print_json(&value);
    }
    let mut lines = vec![("data directory", dir.root().display().to_string())];
    if let Some(a) = agency {
        lines.push(("agency", a.name));
        lines.push(("agency id (hex)", a.agency.to_hex()));
        lines.push(("agency id (base58)", a.agency.to_base58()));
    }
    lines.push((
        "signing key",
        if dir.agency_key().exists() {
            "held here (signing node)".into()
        } else {
            "not here (relay node)".into()
        },
    ));
    lines.push(("node peer id", peer.map(|p| p.to_string()).unwrap_or_default()));
    print!("{}", table::pairs(&lines));
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct BindNodeArgs {
    /// The relay node's libp2p peer id (from `commons keys show` on that node).
    pub peer_id: String,
}

pub fn bind_node(args: BindNodeArgs, opts: &NodeOpts) -> Result<()> {
    let answer: serde_json::Value = opts
        .client()?
        .post("/v1/bind-node", &crate::api::BindNodeRequest { peer_id: args.peer_id.clone() })?;
    if opts.json {
        return print_json(&answer);
    }
    println!(
        "bound node {} to this agency (update {})",
        args.peer_id,
        answer["update_id"].as_str().unwrap_or("")
    );
    Ok(())
}

#[derive(Debug, clap::Subcommand)]
pub enum GenesisCommand {
    /// Start a draft genesis for a new network.
    New(GenesisNewArgs),
    /// Add this data directory's agency (and node) as a founder of a draft.
    AddFounder(GenesisFileArgs),
    /// Check the draft, sort the founders, and print the network id.
    Seal(GenesisFileArgs),
}

#[derive(Debug, clap::Args)]
pub struct GenesisNewArgs {
    /// The network's name.
    #[arg(long)]
    pub name: String,
    /// Endorsements needed to admit a member (k ≥ 2). Default: a strict majority of founders.
    #[arg(long)]
    pub threshold: Option<u32>,
    /// Live estimates kept per (object, agency).
    #[arg(long, default_value_t = DEFAULT_ESTIMATES_PER_SOURCE)]
    pub estimates_per_source: u32,
    /// Shared-orbit window, hours.
    #[arg(long, default_value_t = DEFAULT_SHARED_ORBIT_WINDOW_S / 3600)]
    pub window_h: u64,
    /// How far ahead of a node's clock an epoch may be, hours.
    #[arg(long, default_value_t = DEFAULT_MAX_EPOCH_AHEAD_S / 3600)]
    pub max_epoch_ahead_h: u64,
    /// Where to write the draft.
    #[arg(short, long, default_value = "genesis.json")]
    pub output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct GenesisFileArgs {
    /// The genesis draft.
    pub file: PathBuf,
}

fn read_draft(path: &Path) -> Result<Genesis> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a genesis draft", path.display()))
}

fn write_genesis(path: &Path, genesis: &Genesis) -> Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(genesis)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))
}

pub fn genesis(command: GenesisCommand, opts: &NodeOpts) -> Result<()> {
    match command {
        GenesisCommand::New(a) => {
            if a.output.exists() {
                bail!("{} exists; refusing to overwrite it", a.output.display());
            }
            let draft = Genesis {
                network_name: a.name,
                founders: Vec::new(),
                endorsement_threshold: a.threshold.unwrap_or(0),
                estimates_per_source: a.estimates_per_source,
                shared_orbit_window_s: a.window_h * 3600,
                max_epoch_ahead_s: a.max_epoch_ahead_h * 3600,
            };
            write_genesis(&a.output, &draft)?;
            println!(
                "wrote draft genesis {}; each founder runs: commons genesis add-founder {}",
                a.output.display(),
                a.output.display()
            );
        }
        GenesisCommand::AddFounder(a) => {
            let mut draft = read_draft(&a.file)?;
            let dir = opts.dir();
            let agency = dir
                .agency()?
                .context("this data directory holds no agency key: run `commons init --agency NAME` first")?;
            let peer = dir.peer_id()?.context("this data directory holds no node key")?;
            if draft.founders.iter().any(|f| f.agency == agency.agency) {
                bail!("{} is already a founder in {}", agency.name, a.file.display());
            }
            draft.founders.push(Founder {
                agency: agency.agency,
                name: agency.name.clone(),
                node_peer_ids: vec![peer.to_bytes()],
            });
            write_genesis(&a.file, &draft)?;
            println!("added founder {} ({}) with node {}", agency.name, agency.agency.short(), peer);
        }
        GenesisCommand::Seal(a) => {
            let mut draft = read_draft(&a.file)?;
            if draft.endorsement_threshold == 0 {
                draft.endorsement_threshold = Genesis::default_threshold(draft.founders.len());
            }
            let sealed = draft.seal().with_context(|| format!("{} cannot be sealed", a.file.display()))?;
            write_genesis(&a.file, &sealed)?;
            if opts.json {
                return print_json(
                    &serde_json::json!({ "network_id": sealed.network_id().to_hex(), "founders": sealed.founders.len() }),
                );
            }
            println!("sealed {}: network id {}", a.file.display(), sealed.network_id().to_hex());
            println!("each founder installs it: commons init --data-dir DIR --genesis {}", a.file.display());
        }
    }
    Ok(())
}
