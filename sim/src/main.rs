//! `commons-sim`: runs the deterministic simulator (`run`), and measures its speed (`bench`).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

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
    }
}
