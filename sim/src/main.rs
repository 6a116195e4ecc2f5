//! `commons-sim`: runs the deterministic simulator (`run`), measures its speed (`bench`), and
//! runs a cluster of real `commons` nodes with faults (`cluster`).

mod cluster;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use sim::config::{DEFAULT_BOUND_S, MAX_NODES, MIN_NODES};
use sim::{CatalogueChoice, Profile, RunConfig, Sabotage};

const PROFILES_HELP: &str =
    "Fault profiles (faults happen in the active phase; the last --bound-s seconds are quiet):
  none        a reliable network, honest members only: the baseline
  lossy       5 % of messages dropped, 3 % duplicated, up to 800 ms of extra delay (reordering)
  partitions  the nodes split into 2 or 3 groups for 10-90 s, then heal; again about every minute
  crashes     nodes crash (losing what was not persisted, a flush in progress included) and
              restart 5-120 s later from their store; about one crash every 4 s per 100 nodes
  hostile     forgers (bad signatures and bodies, by gossip and in sync answers), equivocators
              (two or three updates at one seq), flooders (bursts above the gossip rate limits)
              and members that fall silent; one of each kind per 50 nodes (at least 13 nodes)
  chaos       all of the above at once";

#[derive(Parser, Debug)]
#[command(name = "commons-sim", version, about = "Orbital Commons deterministic simulator", after_help = PROFILES_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The seed: the same seed and settings replay the same run, event for event.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Nodes to simulate.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(MIN_NODES as u64..=MAX_NODES as u64))]
    nodes: u64,
    /// Fault profile: none, lossy, partitions, crashes, hostile or chaos (see below).
    #[arg(long, default_value = "chaos")]
    faults: Profile,
    /// Length of the run in ticks of 100 ms of virtual time.
    #[arg(long, default_value_t = 6000)]
    ticks: u64,
    /// Element sets from: auto (the shared data's real catalogue if present), real, synthetic.
    #[arg(long, default_value = "auto")]
    catalogue: CatalogueChoice,
    /// Seconds after the last fault by which every honest node must agree.
    #[arg(long, default_value_t = DEFAULT_BOUND_S)]
    bound_s: u64,
    /// The nodes' anti-entropy interval, seconds (the node's default is 30).
    #[arg(long, default_value_t = 30)]
    sync_interval_s: u64,
    /// A deliberate defect, to see a checker fail: no-anti-entropy or ack-before-durable.
    #[arg(long)]
    sabotage: Option<Sabotage>,
}

impl RunArgs {
    fn config(&self) -> RunConfig {
        RunConfig {
            seed: self.seed,
            nodes: self.nodes as usize,
            faults: self.faults,
            ticks: self.ticks,
            catalogue: self.catalogue,
            bound_s: self.bound_s,
            sync_interval_s: self.sync_interval_s,
            sabotage: self.sabotage,
        }
    }
}

const CLUSTER_HELP: &str =
    "The run: set up N data directories (node i belongs to agency i % A; nodes 0..A sign,
the others relay) and one genesis; start the seeds, then every node; each agency publishes its
share of the catalogue; the stream of --rate updates/s begins; after --warmup-s, the faults in
turn (kill -9 and restart, partition and heal), each followed by a wait until every node agrees
and --settle-s; after --tail-s the stream stops. Progress goes to standard error, the JSON
report to standard output (or --json), the plot to --svg. Exit status 1 when an acknowledged
update did not reach every node or the nodes did not converge, 2 on an error.

The commons binary: --commons PATH, else $COMMONS_BIN, else next to commons-sim. Build it with
  cargo build --release -p commons-node --bin commons

The benchmark (README): 100 nodes, 10 updates/s, a partition of 30 nodes:
  commons-sim cluster --nodes 100 --agencies 3 --rate 10 --partition-size 30 --cache-mb 4";

/// Seconds, as a non-negative decimal number.
fn seconds(text: &str) -> std::result::Result<Duration, String> {
    let value: f64 = text.parse().map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(value.is_finite() && (0.0..=86_400.0).contains(&value)) {
        return Err(format!("{text}: seconds between 0 and 86400"));
    }
    Ok(Duration::from_secs_f64(value))
}

/// How many objects of the catalogue to publish: a count, or all of them (`None`).
#[derive(Debug, Clone, Copy)]
struct Objects(Option<usize>);

/// A count of objects, or `all`.
fn objects(text: &str) -> std::result::Result<Objects, String> {
    if text == "all" {
        return Ok(Objects(None));
    }
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(Objects(Some(n))),
        _ => Err(format!("{text:?}: a positive number of objects, or `all`")),
    }
}

#[derive(clap::Args, Debug)]
struct ClusterArgs {
    /// Real nodes to start.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(2..=cluster::MAX_NODES as u64))]
    nodes: u64,
    /// Agencies (founders of the genesis), at least 2; each has one signing node.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(2..=cluster::MAX_NODES as u64))]
    agencies: u64,
    /// Stream updates per second, all agencies together.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Objects of the catalogue published before the stream: a number, or `all`.
    #[arg(long, default_value = "3000", value_parser = objects)]
    objects: Objects,
    /// Element sets from: auto (the shared data's real catalogue if present), real, synthetic.
    #[arg(long, default_value = "auto")]
    catalogue: CatalogueChoice,
    /// Nodes every other node bootstraps from.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=cluster::MAX_NODES as u64))]
    seeds: u64,
    /// Random peers each node dials besides the seeds.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(0..=64))]
    degree: u64,
    /// Nodes killed with SIGKILL (one at a time) and restarted.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=100))]
    kills: u64,
    /// Seconds a killed node stays down.
    #[arg(long, default_value = "5", value_parser = seconds)]
    down_s: Duration,
    /// Partitions (one at a time), each healed.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=100))]
    partitions: u64,
    /// Nodes on the minority side of a partition. Default: 30 % of --nodes.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=cluster::MAX_NODES as u64))]
    partition_size: Option<u64>,
    /// Seconds a partition lasts.
    #[arg(long, default_value = "15", value_parser = seconds)]
    partition_s: Duration,
    /// Seconds of stream before the first fault.
    #[arg(long, default_value = "20", value_parser = seconds)]
    warmup_s: Duration,
    /// Seconds of stream after each fault's convergence.
    #[arg(long, default_value = "15", value_parser = seconds)]
    settle_s: Duration,
    /// Seconds of stream after the last fault.
    #[arg(long, default_value = "10", value_parser = seconds)]
    tail_s: Duration,
    /// Seconds of quiet, catalogue held, before memory at idle is read.
    #[arg(long, default_value = "5", value_parser = seconds)]
    idle_s: Duration,
    /// Keep streaming while waiting for convergence after a heal (digests then rarely match:
    /// convergence is measured from arrival times only).
    #[arg(long)]
    stream_through_heals: bool,
    /// The nodes' gossipsub heartbeat, ms.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    heartbeat_ms: u64,
    /// The nodes' anti-entropy interval, seconds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    sync_interval_s: u64,
    /// The nodes' store page cache, MiB (small: many nodes share one machine).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=4096))]
    cache_mb: u64,
    /// Threads of each node's async runtime (1: a hundred nodes on two cores wake each other
    /// least).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    worker_threads: u64,
    /// Let the nodes screen for conjunctions (off: it is CPU the cluster does not measure).
    #[arg(long)]
    screening: bool,
    /// RUST_LOG for the nodes (each logs to node.log in its data directory).
    #[arg(long, default_value = "warn")]
    node_log: String,
    /// Seconds a node may take to start (and the cluster to connect).
    #[arg(long, default_value = "120", value_parser = seconds)]
    start_timeout_s: Duration,
    /// Seconds the nodes may take to agree on the catalogue.
    #[arg(long, default_value = "900", value_parser = seconds)]
    catalogue_timeout_s: Duration,
    /// Seconds the nodes may take to agree after a heal, and after the stream.
    #[arg(long, default_value = "120", value_parser = seconds)]
    converge_timeout_s: Duration,
    /// Milliseconds between samples of every node's status and /proc.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(50..=60_000))]
    sample_ms: u64,
    /// Seed of the random choices (links, victims, partition sides).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The commons binary.
    #[arg(long, env = "COMMONS_BIN")]
    commons: Option<PathBuf>,
    /// Where the run's directory is made. Default: the system's temporary directory.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the nodes' data directories and logs.
    #[arg(long)]
    keep: bool,
    /// Write the JSON report to this file instead of standard output.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the plot here.
    #[arg(long, default_value = "cluster.svg")]
    svg: PathBuf,
    /// No progress on standard error.
    #[arg(long)]
    quiet: bool,
}

impl ClusterArgs {
    /// The run's settings, checked (before the commons binary is looked for, so that a bad
    /// setting is named first).
    fn config(&self) -> Result<cluster::ClusterConfig> {
        let mut c = cluster::ClusterConfig::new(self.nodes as usize, self.agencies as usize, PathBuf::new());
        c.seeds = self.seeds as usize;
        c.degree = self.degree as usize;
        c.rate_per_s = self.rate;
        c.objects = self.objects.0;
        c.catalogue = self.catalogue;
        c.kills = self.kills as usize;
        c.down = self.down_s;
        c.partitions = self.partitions as usize;
        c.partition_size = self.partition_size.map(|p| p as usize);
        c.partition = self.partition_s;
        c.warmup = self.warmup_s;
        c.settle = self.settle_s;
        c.tail = self.tail_s;
        c.idle = self.idle_s;
        c.stream_through_heals = self.stream_through_heals;
        c.start_timeout = self.start_timeout_s;
        c.catalogue_timeout = self.catalogue_timeout_s;
        c.converge_timeout = self.converge_timeout_s;
        c.sample_every = Duration::from_millis(self.sample_ms);
        c.node = cluster::nodes::NodeSettings {
            heartbeat_ms: self.heartbeat_ms,
            sync_interval_s: self.sync_interval_s,
            cache_mb: self.cache_mb,
            worker_threads: self.worker_threads,
            screening: self.screening,
            log_filter: self.node_log.clone(),
        };
        c.seed = self.seed;
        c.dir = self.dir.clone();
        c.keep = self.keep;
        c.progress = !self.quiet;
        c.validate()?;
        c.commons = cluster::nodes::find_commons(self.commons.as_deref())?;
        Ok(c)
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs one simulation, checks it, and reports: JSON on standard output (or to --json),
    /// a plain-text summary on standard error. Exits 1 when a check fails.
    #[command(after_help = PROFILES_HELP)]
    Run {
        #[command(flatten)]
        args: RunArgs,
        /// Write the JSON report to this file instead of standard output.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Measures simulated node-seconds per wall-clock second, one run per profile, and prints
    /// a table.
    #[command(after_help = PROFILES_HELP)]
    Bench {
        /// Nodes per run.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(MIN_NODES as u64..=MAX_NODES as u64))]
        nodes: u64,
        /// Length of each run in ticks of 100 ms.
        #[arg(long, default_value_t = 6000)]
        ticks: u64,
        /// Profiles to run, comma-separated.
        #[arg(long, default_value = "none,lossy,crashes,chaos", value_delimiter = ',')]
        faults: Vec<Profile>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "auto")]
        catalogue: CatalogueChoice,
    },
    /// Starts N real `commons node run` processes on 127.0.0.1, publishes a catalogue and a
    /// stream of updates, kills and restarts nodes, partitions and heals, and measures
    /// delivery latency, convergence, memory and bandwidth: a JSON report and an SVG plot.
    #[command(after_help = CLUSTER_HELP)]
    Cluster(Box<ClusterArgs>),
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("commons-sim: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { args, json } => {
            let config = args.config();
            let report = sim::run(config)?;
            let text = serde_json::to_string_pretty(&report).context("encoding the report")?;
            match json {
                Some(path) => std::fs::write(&path, text + "\n")
                    .with_context(|| format!("writing the report to {}", path.display()))?,
                None => {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{text}").context("writing the report to standard output")?;
                }
            }
            eprint!("{}", report.summary());
            if report.passed {
                Ok(ExitCode::SUCCESS)
            } else {
                for failure in report.failures() {
                    eprintln!("check failed: {}: {}", failure.name, failure.detail);
                }
                eprintln!("seed {} failed; replay with:\n  {}", report.config.seed, report.replay);
                Ok(ExitCode::from(1))
            }
        }
        Command::Bench { nodes, ticks, faults, seed, catalogue } => {
            println!(
                "{:<11} {:>5} {:>7} {:>8} {:>8} {:>9} {:>14} {:>13} {:>6}",
                "profile",
                "nodes",
                "sim s",
                "wall s",
                "cpu s",
                "events",
                "node-s/wall-s",
                "node-s/cpu-s",
                "check"
            );
            for profile in faults {
                let mut config = RunConfig::new(seed, nodes as usize, profile, ticks);
                config.catalogue = catalogue;
                let report = sim::run(config)?;
                let p = &report.performance;
                let or_dash =
                    |v: Option<f64>, digits: usize| v.map_or("-".to_owned(), |v| format!("{v:.digits$}"));
                println!(
                    "{:<11} {:>5} {:>7.0} {:>8.2} {:>8} {:>9} {:>14.0} {:>13} {:>6}",
                    profile.name(),
                    nodes,
                    p.simulated_s,
                    p.wall_s,
                    or_dash(p.cpu_s, 2),
                    p.events,
                    p.node_seconds_per_wall_second,
                    or_dash(p.node_seconds_per_cpu_second, 0),
                    if report.passed { "pass" } else { "FAIL" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Cluster(args) => run_cluster(&args),
    }
}

fn run_cluster(args: &ClusterArgs) -> Result<ExitCode> {
    let config = args.config()?;
    let stop = cluster::wait::interrupt_flag()?;
    let report = cluster::run(&config, &stop)?;
    let text = serde_json::to_string_pretty(&report).context("encoding the report")?;
    match &args.json {
        Some(path) => std::fs::write(path, text + "\n")
            .with_context(|| format!("writing the report to {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{text}").context("writing the report to standard output")?;
        }
    }
    std::fs::write(&args.svg, cluster::svg::plot(&report))
        .with_context(|| format!("writing the plot to {}", args.svg.display()))?;
    eprint!("{}", report.summary());
    eprintln!("plot: {}", args.svg.display());
    Ok(if report.passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
