//! The simulator in CI: a fixed list of seeds across every fault profile must pass every
//! check, a seed must replay exactly, and each checker must catch a deliberately broken run.
//!
//! Workspace crates build at opt-level 0 in tests, so the list is small (at most a minute
//! or two on two cores); longer lists run with `commons-sim run` in release.

use sim::config::{Profile, RunConfig, Sabotage};
use sim::report::Report;

/// Every profile, at sizes and lengths that keep the list well inside CI's budget: 120 s of
/// faults and publications, then the convergence bound.
const CI_SEEDS: &[(u64, usize, Profile)] = &[
    (101, 12, Profile::None),
    (202, 12, Profile::Lossy),
    (303, 12, Profile::Partitions),
    (404, 12, Profile::Crashes),
    (505, 13, Profile::Hostile),
    (606, 14, Profile::Chaos),
    (707, 24, Profile::Lossy),
    (808, 24, Profile::Crashes),
    (909, 20, Profile::Chaos),
];

fn config(seed: u64, nodes: usize, faults: Profile) -> RunConfig {
    let mut config = RunConfig::new(seed, nodes, faults, 0);
    config.bound_s = 120;
    config.sync_interval_s = 15;
    config.ticks = (120 + config.bound_s) * 10;
    config
}

fn run(config: RunConfig) -> Report {
    sim::run(config).expect("the configuration is valid and the catalogue loads")
}

fn check<'a>(report: &'a Report, name: &str) -> &'a sim::report::Check {
    report.checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no check named {name}"))
}

#[test]
fn the_ci_seed_list_passes_every_check() {
    let mut failed = Vec::new();
    for &(seed, nodes, faults) in CI_SEEDS {
        let report = run(config(seed, nodes, faults));
        eprint!("{}", report.summary());
        if !report.passed {
            failed.push(format!("seed {seed} ({faults}): replay with `{}`", report.replay));
        }
        assert!(report.updates.acknowledged > 0, "seed {seed}: the workload published nothing");
        if faults.hostile() {
            assert!(
                report.faults.forgeries_sent > 0 && report.faults.flood_updates > 0,
                "seed {seed}: no hostile acts"
            );
        }
    }
    assert!(failed.is_empty(), "failing seeds:\n{}", failed.join("\n"));
}

#[test]
fn a_seed_replays_exactly_and_another_seed_differs() {
    let first = run(config(7, 13, Profile::Chaos));
    let again = run(config(7, 13, Profile::Chaos));
    let other = run(config(8, 13, Profile::Chaos));
    assert_eq!(first.trace_digest, again.trace_digest, "the same seed took a different path");
    assert_eq!(first.traffic.bytes_sent_per_node.max, again.traffic.bytes_sent_per_node.max);
    assert_eq!(first.convergence.converged_at_s, again.convergence.converged_at_s);
    assert_ne!(first.trace_digest, other.trace_digest, "two seeds took the same path");
    assert!(first.replay.contains("--seed 7 --nodes 13 --faults chaos --ticks 2400"), "{}", first.replay);
}

#[test]
fn the_convergence_checker_catches_a_network_without_anti_entropy() {
    // Gossip does not cross a partition; without anti-entropy nothing repairs that.
    let mut broken = config(11, 12, Profile::Partitions);
    broken.sabotage = Some(Sabotage::NoAntiEntropy);
    let report = run(broken);
    assert!(report.faults.partitions > 0 && report.updates.acknowledged > 0, "{}", report.summary());
    assert!(!report.passed);
    assert!(!check(&report, "convergence").passed, "{}", report.summary());
    assert!(report.replay.contains("--sabotage no-anti-entropy"), "{}", report.replay);
    // The same seed with anti-entropy converges: the sabotage is what broke it.
    assert!(check(&run(config(11, 12, Profile::Partitions)), "convergence").passed);
}

#[test]
fn the_no_loss_checker_catches_an_acknowledgement_before_the_write_is_durable() {
    let mut broken = config(12, 12, Profile::None);
    broken.sabotage = Some(Sabotage::AckBeforeDurable);
    let report = run(broken);
    let no_loss = check(&report, "no acknowledged update lost");
    assert!(!no_loss.passed, "{}", report.summary());
    assert!(no_loss.detail.contains("without"), "{}", no_loss.detail);
}

#[test]
fn hostile_members_are_contained() {
    let report = run(config(505, 13, Profile::Hostile));
    assert!(report.passed, "{}", report.summary());
    assert!(report.faults.bans > 0, "the forger was never banned: {}", report.summary());
    assert!(report.faults.gossip_throttled > 0, "the flood was never throttled");
    assert!(report.updates.forks > 0 && report.updates.suspended_agencies == 1, "{}", report.summary());
    assert!(check(&report, "no forgery accepted")
        .detail
        .starts_with(|c: char| c.is_ascii_digit() && c != '0'));
}
