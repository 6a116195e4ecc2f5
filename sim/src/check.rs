//! The checkers' comparisons, as pure functions of what the nodes hold, so that tests can show
//! each one failing on a broken input. The world gathers the inputs (only from honest nodes
//! that are up) and turns the verdicts into the report's checks:
//!
//! - **convergence**: every honest node holds the same header and body digests, within the
//!   bound after the last fault;
//! - **no acknowledged update lost**: every update acknowledged to a submitter (its `Persist`
//!   completed) is in every honest node's state at the end, with its body where it is live;
//! - **views equal a rebuild**: the incrementally maintained views equal views computed from
//!   scratch from the same state, during the run and at the end, and are identical on every
//!   honest node;
//! - **membership is identical everywhere**: admitted and suspended agencies agree;
//! - **no forgery accepted**: no header whose signature was forged is held by anyone.

use std::collections::BTreeMap;

use protocol::membership::Membership;
use protocol::sync::Digests;
use protocol::views::Views;

/// Whether every node holds the same digests; otherwise which nodes differ from the most
/// common pair.
pub fn digests_agree(nodes: &[(String, Digests)]) -> Result<(), String> {
    let mut counts: BTreeMap<([u8; 32], [u8; 32]), usize> = BTreeMap::new();
    for (_, d) in nodes {
        *counts.entry((d.headers, d.bodies)).or_default() += 1;
    }
    if counts.len() <= 1 {
        return Ok(());
    }
    let majority = counts.iter().max_by_key(|(_, n)| **n).map(|(k, _)| *k).unwrap_or_default();
    let majority_headers =
        nodes.iter().find(|(_, d)| (d.headers, d.bodies) == majority).map_or(0, |(_, d)| d.n_headers);
    let outliers: Vec<String> = nodes
        .iter()
        .filter(|(_, d)| (d.headers, d.bodies) != majority)
        .map(|(name, d)| {
            let what = if d.headers == majority.0 { "bodies" } else { "headers" };
            format!("{name} ({what}; {} headers)", d.n_headers)
        })
        .collect();
    Err(format!(
        "{} distinct states; {} of {} nodes differ from the majority ({} headers): {}",
        counts.len(),
        outliers.len(),
        nodes.len(),
        majority_headers,
        abbreviate(&outliers)
    ))
}

/// Whether every node derives the same admitted and suspended agencies.
pub fn memberships_agree(nodes: &[(String, &Membership)]) -> Result<(), String> {
    let Some((first_name, first)) = nodes.first() else { return Ok(()) };
    let differing: Vec<String> = nodes
        .iter()
        .filter(|(_, m)| m.admitted != first.admitted || m.suspended != first.suspended)
        .map(|(name, m)| format!("{name} ({} admitted, {} suspended)", m.admitted.len(), m.suspended.len()))
        .collect();
    if differing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} nodes disagree with {first_name} ({} admitted, {} suspended): {}",
            differing.len(),
            first.admitted.len(),
            first.suspended.len(),
            abbreviate(&differing)
        ))
    }
}

/// Whether incrementally maintained views equal a rebuild from scratch.
pub fn views_match(incremental: &Views, rebuilt: &Views) -> Result<(), String> {
    let (a, b) = (incremental.all(), rebuilt.all());
    if a == b {
        return Ok(());
    }
    let only_incremental = a.keys().filter(|k| !b.contains_key(k)).count();
    let only_rebuilt = b.keys().filter(|k| !a.contains_key(k)).count();
    let differing: Vec<String> =
        a.iter().filter(|(k, v)| b.get(*k).is_some_and(|w| w != *v)).map(|(k, _)| k.to_string()).collect();
    Err(format!(
        "{} objects only in the incremental views, {} only in the rebuild, {} differ: {}",
        only_incremental,
        only_rebuilt,
        differing.len(),
        abbreviate(&differing)
    ))
}

/// The first few items of a list, and how many more there are.
pub fn abbreviate(items: &[String]) -> String {
    const SHOWN: usize = 6;
    let mut text = items.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::engine::{Effect, Engine, EngineConfig, Input};
    use protocol::envelope::Signer;
    use protocol::genesis::{Founder, Genesis};
    use protocol::membership::Statement;
    use protocol::records::Record;

    fn genesis(signers: &[Signer]) -> Genesis {
        Genesis {
            network_name: "check-tests".into(),
            founders: signers
                .iter()
                .enumerate()
                .map(|(i, s)| Founder {
                    agency: s.agency(),
                    name: format!("f{i}"),
                    node_peer_ids: vec![vec![i as u8]],
                })
                .collect(),
            endorsement_threshold: 2,
            estimates_per_source: 3,
            shared_orbit_window_s: 86_400,
            max_epoch_ahead_s: 86_400,
        }
        .seal()
        .expect("valid genesis")
    }

    fn signers(n: u8) -> Vec<Signer> {
        (1..=n).map(|i| Signer::from_seed([i; 32])).collect()
    }

    #[test]
    fn digests_agree_names_the_nodes_that_differ() {
        let d = |b: u8, n| Digests { headers: [b; 32], bodies: [b; 32], n_headers: n };
        let same = vec![("a".to_owned(), d(1, 5)), ("b".to_owned(), d(1, 5))];
        assert!(digests_agree(&same).is_ok());
        let mut split = same.clone();
        split.push(("c".to_owned(), d(2, 4)));
        let err = digests_agree(&split).expect_err("c differs");
        assert!(err.contains("c (headers; 4 headers)") && !err.contains("a ("), "{err}");
        // Same headers, different bodies: still a disagreement, named as bodies.
        let bodies =
            vec![("a".to_owned(), d(1, 5)), ("b".to_owned(), Digests { bodies: [9; 32], ..d(1, 5) })];
        assert!(digests_agree(&bodies).expect_err("bodies differ").contains("bodies"));
    }

    #[test]
    fn memberships_agree_catches_a_node_that_missed_a_suspension() {
        let s = signers(3);
        let g = genesis(&s);
        let before = Membership::derive(&g, []);
        let votes = [
            Statement::Suspend { author: s[0].agency(), subject: s[2].agency() },
            Statement::Suspend { author: s[1].agency(), subject: s[2].agency() },
        ];
        let after = Membership::derive(&g, &votes);
        assert_eq!(after.suspended.len(), 1, "a strict majority of founders suspends");
        assert!(memberships_agree(&[("a".into(), &after), ("b".into(), &after)]).is_ok());
        let err = memberships_agree(&[("a".into(), &after), ("b".into(), &before)]).expect_err("b missed it");
        assert!(err.contains("b (3 admitted, 0 suspended)"), "{err}");
    }

    #[test]
    fn views_match_catches_views_that_are_not_the_rebuild() {
        let s = signers(2);
        let estimate = orbit::synthetic::iss_2020_07_12();
        let now = estimate.epoch;
        let seed = s[0].seed();
        let mut engine =
            Engine::new(genesis(&s), EngineConfig::default(), Some(Signer::from_seed(seed)), [0; 32]);
        let effects = engine.handle(now, Input::Submit { records: vec![Record::OrbitEstimate(estimate)] });
        assert!(effects.iter().any(|e| matches!(e, Effect::Submitted(r) if r.iter().all(Result::is_ok))));
        let rebuilt = Views::rebuild(engine.state());
        assert!(views_match(engine.views(), &rebuilt).is_ok());
        let err = views_match(&Views::default(), &rebuilt).expect_err("an empty view set is not the rebuild");
        assert!(err.contains("1 only in the rebuild"), "{err}");
    }
}
