//! `commons`: the Orbital Commons command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use node::cli::{catalogue, members, node as setup};

/// mimalloc instead of the system allocator: the engine task allocates what the store writer
/// frees, and glibc's arenas made that cross-thread traffic a tenth of ingest.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Orbital Commons: a peer-to-peer catalogue of objects in orbit.
#[derive(Debug, Parser)]
#[command(name = "commons", version)]
struct Cli {
    #[command(flatten)]
    opts: setup::NodeOpts,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A local demo network: 5 nodes of 3 agencies on loopback, publishing and converging.
    Demo,
    /// Create a data directory: agency signing key, node key, API token, commented config.
    Init(setup::InitArgs),
    /// Run the node daemon.
    #[command(subcommand)]
    Node(NodeCommand),
    /// Found a network: build the genesis file among the founders.
    #[command(subcommand)]
    Genesis(setup::GenesisCommand),
    /// The node, agency, network, counts, state digest and uptime.
    Status,
    /// One object: the shared orbit, every agency's estimate side by side, metadata.
    Object(catalogue::ObjectArgs),
    /// Find objects by name, COSPAR id, type, owner or orbit regime.
    Search(catalogue::SearchArgs),
    /// Every update about an object, with author, time and id.
    History(catalogue::HistoryArgs),
    /// Sign element sets (TLE, 3LE, OMM, CSV) as this agency and store them.
    Submit(catalogue::SubmitArgs),
    /// Write the shared catalogue, or one agency's, as TLE, 3LE, OMM or CSV; or conjunctions as CDM.
    Export(catalogue::ExportArgs),
    /// Connected peers: id, agency, addresses, score, latency.
    Peers,
    /// The members of the network and how each was admitted.
    Members,
    /// Write a signed request to join, for members to endorse.
    JoinRequest(members::JoinRequestArgs),
    /// Endorse an applicant's request file.
    Endorse(members::EndorseArgs),
    /// Vote to suspend an agency (founders' votes count).
    Suspend(members::SuspendArgs),
    /// Bind a relay node to this agency.
    BindNode(setup::BindNodeArgs),
    /// Show this data directory's keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Check a running node's consistency (views equal a rebuild, no own forks).
    Check,
    /// Convert element sets between TLE, 3LE, OMM (KVN, XML, JSON) and CelesTrak CSV.
    Convert(node::cli::convert::ConvertArgs),
    /// TEME states of element sets over a time span.
    Propagate(node::cli::propagate::PropagateArgs),
    /// Collision probability of a conjunction data message (Foster 2D).
    Pc(node::cli::pc::PcArgs),
    /// Conjunction screening of element sets over a window, offline.
    Screen(node::cli::screen::ScreenArgs),
    /// Close approaches this node's screening found, with how each source sees them.
    Conjunctions(node::cli::conjunctions::ConjunctionsArgs),
}

#[derive(Debug, Subcommand)]
enum NodeCommand {
    /// Run the daemon until SIGINT or SIGTERM.
    Run(setup::RunArgs),
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// The agency id and node peer id of this data directory.
    Show,
}

/// Errors are printed as one plain `error: ...` line with their causes (not anyhow's Debug
/// form, which adds a backtrace whenever `RUST_BACKTRACE` is set), and the exit status is 1.
fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let opts = &cli.opts;
    if matches!(cli.command, Command::Node(_)) {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
            )
            .with_writer(std::io::stderr)
            .init();
    }
    match cli.command {
        Command::Demo => node::demo::run(),
        Command::Init(args) => setup::init(args, opts),
        Command::Node(NodeCommand::Run(args)) => setup::run(args, opts),
        Command::Genesis(command) => setup::genesis(command, opts),
        Command::Status => catalogue::status(opts),
        Command::Object(args) => catalogue::object(args, opts),
        Command::Search(args) => catalogue::search(args, opts),
        Command::History(args) => catalogue::history(args, opts),
        Command::Submit(args) => catalogue::submit(args, opts),
        Command::Export(args) => catalogue::export(args, opts),
        Command::Peers => catalogue::peers(opts),
        Command::Members => members::members(opts),
        Command::JoinRequest(args) => members::join_request(args, opts),
        Command::Endorse(args) => members::endorse(args, opts),
        Command::Suspend(args) => members::suspend(args, opts),
        Command::BindNode(args) => setup::bind_node(args, opts),
        Command::Keys(KeysCommand::Show) => setup::keys_show(opts),
        Command::Check => catalogue::check(opts),
        Command::Convert(args) => node::cli::convert::run(args),
        Command::Propagate(args) => node::cli::propagate::run(args),
        Command::Pc(args) => node::cli::pc::run(args),
        Command::Screen(args) => node::cli::screen::run(args),
        Command::Conjunctions(args) => node::cli::conjunctions::run(args, opts),
    }
}
