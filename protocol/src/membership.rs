//! Membership (DESIGN.md §4): who is suspended, and who is admitted, as pure functions of
//! the membership statements held. No replay order is involved, so every node that holds the
//! same statements derives the same lists, whatever order they arrived in.
//!
//! 1. `suspended` = agencies for which a strict majority of the genesis founders signed
//!    `Suspend`. It only grows.
//! 2. `admitted` = the least set S containing the founders that are not suspended, and every
//!    agency that is not suspended and is endorsed by at least k distinct members of S.
//!
//! The operator S ↦ founders ∪ {a : endorsers(a) ∩ S ≥ k} is monotone, so iterating it from
//! the unsuspended founders reaches the least fixed point.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::genesis::Genesis;
use crate::ids::AgencyId;

/// One membership statement as the rules see it: who said what about whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Statement {
    Endorse { author: AgencyId, subject: AgencyId },
    Suspend { author: AgencyId, subject: AgencyId },
}

/// The membership derived from a set of statements.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub admitted: BTreeSet<AgencyId>,
    pub suspended: BTreeSet<AgencyId>,
    /// For each admitted non-founder, the admitted members whose endorsements count.
    pub endorsers: BTreeMap<AgencyId, BTreeSet<AgencyId>>,
}

impl Membership {
    /// Derives membership from every known statement. Statements by agencies outside the
    /// result count for nothing, so passing statements of not-yet-members is harmless.
    pub fn derive<'a>(genesis: &Genesis, statements: impl IntoIterator<Item = &'a Statement>) -> Self {
        let threshold = genesis.endorsement_threshold as usize;
        let founders: BTreeSet<AgencyId> = genesis.founders.iter().map(|f| f.agency).collect();
        let mut suspend_votes: BTreeMap<AgencyId, BTreeSet<AgencyId>> = BTreeMap::new();
        let mut endorsements: BTreeMap<AgencyId, BTreeSet<AgencyId>> = BTreeMap::new();
        for statement in statements {
            match *statement {
                Statement::Suspend { author, subject } if founders.contains(&author) => {
                    suspend_votes.entry(subject).or_default().insert(author);
                }
                Statement::Suspend { .. } => {}
                Statement::Endorse { author, subject } if author != subject => {
                    endorsements.entry(subject).or_default().insert(author);
                }
                Statement::Endorse { .. } => {}
            }
        }
        let suspended: BTreeSet<AgencyId> = suspend_votes
            .into_iter()
            .filter(|(_, votes)| 2 * votes.len() > founders.len())
            .map(|(subject, _)| subject)
            .collect();
        let mut admitted: BTreeSet<AgencyId> = founders.difference(&suspended).copied().collect();
        loop {
            let newly: Vec<AgencyId> = endorsements
                .iter()
                .filter(|(subject, _)| !admitted.contains(subject) && !suspended.contains(subject))
                .filter(|(_, by)| by.iter().filter(|e| admitted.contains(e)).count() >= threshold)
                .map(|(subject, _)| *subject)
                .collect();
            if newly.is_empty() {
                break;
            }
            admitted.extend(newly);
        }
        let endorsers = admitted
            .iter()
            .filter(|a| !founders.contains(a))
            .map(|a| {
                let by = endorsements
                    .get(a)
                    .map(|by| by.intersection(&admitted).copied().collect())
                    .unwrap_or_default();
                (*a, by)
            })
            .collect();
        Membership { admitted, suspended, endorsers }
    }

    pub fn is_admitted(&self, agency: &AgencyId) -> bool {
        self.admitted.contains(agency)
    }
}
