//! Property tests of the merge laws (DESIGN.md §4): for random sets of valid, defective and
//! hostile updates — membership statements, suspensions, retractions, forks, superseded
//! estimates, bodies missing — any permutation, duplication, or split into replicas merged
//! later by the real sync messages gives identical views and identical digests. Compaction
//! happens at every step (it is immediate), so "compaction at any point" is covered.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::*;
use proptest::prelude::*;
use protocol::engine::{Engine, Input, Peer};
use protocol::envelope::Envelope;
use protocol::records::Record;

/// One generated action. Authors 0..3 are founders, 3 and 4 are applicants.
#[derive(Debug, Clone)]
enum Op {
    Estimate { author: usize, object: u32, epoch_min: i64, variant: u32 },
    Fork { author: usize, object: u32, variant: u32 },
    Retract { author: usize, target: usize },
    Endorse { author: usize, subject: usize },
    Suspend { author: usize, subject: usize },
    Defective { author: usize, object: u32 },
    Metadata { author: usize, object: u32, name: u8 },
    Forged { author: usize, object: u32 },
    WrongNetwork { author: usize, object: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    let author = 0usize..5;
    let object = prop_oneof![Just(25544u32), Just(20580), Just(43013)];
    prop_oneof![
        6 => (author.clone(), object.clone(), -2000i64..2000, 0u32..50).prop_map(|(author, object, epoch_min, variant)| Op::Estimate { author, object, epoch_min, variant }),
        1 => (author.clone(), object.clone(), 0u32..50).prop_map(|(author, object, variant)| Op::Fork { author, object, variant }),
        2 => (author.clone(), 0usize..64).prop_map(|(author, target)| Op::Retract { author, target }),
        2 => (author.clone(), 3usize..5).prop_map(|(author, subject)| Op::Endorse { author, subject }),
        1 => (0usize..3, 0usize..5).prop_map(|(author, subject)| Op::Suspend { author, subject }),
        1 => (author.clone(), object.clone()).prop_map(|(author, object)| Op::Defective { author, object }),
        1 => (author.clone(), object.clone(), 0u8..3).prop_map(|(author, object, name)| Op::Metadata { author, object, name }),
        1 => (author.clone(), object.clone()).prop_map(|(author, object)| Op::Forged { author, object }),
        1 => (author, object).prop_map(|(author, object)| Op::WrongNetwork { author, object }),
    ]
}

/// Signs the ops into envelopes: each author's seqs increase; forks reuse a seq.
fn build(net: &Net, other_net: &Net, ops: &[Op]) -> Vec<Envelope> {
    let signers: Vec<&protocol::Signer> = net.founders.iter().chain(net.others.iter()).collect();
    let bindings: Vec<Envelope> =
        signers.iter().enumerate().map(|(i, s)| binding(s, net, 40 + i as u8)).collect();
    let mut seq = [100u64; 5];
    let mut out: Vec<Envelope> = Vec::new();
    for op in ops {
        let mut next = |a: usize| {
            seq[a] += 1;
            seq[a]
        };
        match op {
            Op::Estimate { author, object, epoch_min, variant } => {
                let epoch = now().plus_micros(epoch_min * 60_000_000);
                out.push(sign(
                    signers[*author],
                    net,
                    next(*author),
                    &Record::OrbitEstimate(estimate(*object, epoch, *variant)),
                ));
            }
            Op::Fork { author, object, variant } => {
                let s = next(*author);
                for v in [*variant, variant + 1000] {
                    out.push(sign(
                        signers[*author],
                        net,
                        s,
                        &Record::OrbitEstimate(estimate(*object, now(), v)),
                    ));
                }
            }
            Op::Retract { author, target } => {
                if !out.is_empty() {
                    let target = out[target % out.len()].id();
                    out.push(retract(signers[*author], net, next(*author), target));
                }
            }
            Op::Endorse { author, subject } => {
                out.push(endorse(
                    signers[*author],
                    net,
                    next(*author),
                    signers[*subject],
                    &bindings[*subject],
                ));
            }
            Op::Suspend { author, subject } => {
                out.push(suspend(signers[*author], net, next(*author), signers[*subject]))
            }
            Op::Defective { author, object } => {
                let mut e = estimate(*object, now(), 7);
                e.eccentricity = f64::NAN;
                out.push(sign(signers[*author], net, next(*author), &Record::OrbitEstimate(e)));
            }
            Op::Metadata { author, object, name } => {
                let m = metadata(*object, &format!("NAME-{name}"));
                out.push(sign(signers[*author], net, next(*author), &Record::ObjectMetadata(m)));
            }
            Op::Forged { author, object } => {
                let mut e = sign(
                    signers[*author],
                    net,
                    next(*author),
                    &Record::OrbitEstimate(estimate(*object, now(), 9)),
                );
                e.header.signature[5] ^= 0x40;
                out.push(e);
            }
            Op::WrongNetwork { author, object } => {
                out.push(sign(
                    signers[*author],
                    other_net,
                    next(*author),
                    &Record::OrbitEstimate(estimate(*object, now(), 9)),
                ));
            }
        }
    }
    out
}

/// Delivers one envelope either whole (gossip) or as its header alone (a sync fetch).
fn deliver_one(engine: &mut Engine, envelope: &Envelope, header_only: bool) {
    if header_only {
        engine.handle(
            now(),
            Input::Headers { from: Some(Peer("p".into())), headers: vec![envelope.header.clone()] },
        );
    } else {
        engine.handle(
            now(),
            Input::Gossip { from: Peer("p".into()), message_id: vec![], bytes: envelope.to_bytes() },
        );
    }
}

fn scenario() -> impl Strategy<Value = (Vec<Op>, Vec<usize>, Vec<bool>, Vec<usize>, usize)> {
    prop::collection::vec(op(), 1..40).prop_flat_map(|ops| {
        let n = ops.len() * 2 + 2; // forks sign two envelopes per op
        (
            Just(ops),
            Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
            prop::collection::vec(any::<bool>(), n),
            prop::collection::vec(0..n, 0..10),
            0..=n,
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn any_order_duplication_or_split_gives_identical_views_and_digests(
        (ops, permutation, header_only, duplicates, split) in scenario()
    ) {
        let net = net(3, 2, 2, 2);
        let other = common::net(2, 0, 2, 2);
        let envelopes = build(&net, &other, &ops);
        let order: Vec<usize> = permutation.into_iter().filter(|&i| i < envelopes.len()).collect();

        // Replica 1: the order they were made in, whole.
        let mut in_order = engine(&net);
        for e in &envelopes {
            deliver_one(&mut in_order, e, false);
        }
        offer_all_bodies(&mut in_order, &envelopes);

        // Replica 2: shuffled, some as headers alone, some duplicated.
        let mut shuffled = engine(&net);
        for &i in order.iter().chain(duplicates.iter().filter(|&&d| d < envelopes.len())) {
            deliver_one(&mut shuffled, &envelopes[i], header_only[i]);
        }
        offer_all_bodies(&mut shuffled, &envelopes);

        // Replicas 3 and 4: a split, merged later by the real sync protocol.
        let split = split.min(order.len());
        let mut halves = vec![engine(&net), engine(&net)];
        for (k, &i) in order.iter().enumerate() {
            deliver_one(&mut halves[usize::from(k >= split)], &envelopes[i], header_only[i]);
        }
        // Bodies only reach each half from the updates it saw (their authors' nodes).
        for (h, half) in halves.iter_mut().enumerate() {
            let seen: Vec<Envelope> = order.iter().enumerate().filter(|(k, _)| usize::from(*k >= split) == h).map(|(_, &i)| envelopes[i].clone()).collect();
            offer_all_bodies(half, &seen);
        }
        sync_all(&mut halves);
        // Headers travelled only by sync. Bodies that every replica had compacted but that
        // became live again come from their authors' nodes, as anti-entropy would fetch them.
        for half in halves.iter_mut() {
            offer_all_bodies(half, &envelopes);
        }

        assert_same(&mut in_order, &mut shuffled);
        assert_same(&mut in_order, &mut halves[0]);
        assert_same(&mut in_order, &mut halves[1]);
        let [h0, h1] = &mut halves[..] else { unreachable!() };
        for e in [&mut in_order, &mut shuffled, h0, h1] {
            assert_views_equal_rebuild(e);
        }
    }

    #[test]
    fn merge_is_commutative_associative_and_idempotent(
        (ops, permutation, _h, _d, split) in scenario()
    ) {
        let net = net(3, 2, 2, 2);
        let other = common::net(2, 0, 2, 2);
        let envelopes = build(&net, &other, &ops);
        let order: Vec<usize> = permutation.into_iter().filter(|&i| i < envelopes.len()).collect();
        let third = order.len() / 3;
        let split = split.min(order.len()).max(third);
        let parts: Vec<Vec<Envelope>> = vec![
            order[..third].iter().map(|&i| envelopes[i].clone()).collect(),
            order[third..split].iter().map(|&i| envelopes[i].clone()).collect(),
            order[split..].iter().map(|&i| envelopes[i].clone()).collect(),
        ];
        let merged = |groups: &[&[usize]]| {
            // Each group's parts delivered in the given order into one replica: merge as union.
            let mut e = engine(&net);
            for group in groups {
                for &p in *group {
                    deliver(&mut e, &parts[p]);
                    deliver(&mut e, &parts[p]); // idempotent: twice is once
                }
            }
            offer_all_bodies(&mut e, &envelopes);
            e
        };
        let mut abc = merged(&[&[0, 1, 2]]);
        let mut cba = merged(&[&[2, 1, 0]]);
        let mut bac = merged(&[&[1], &[0, 2]]);
        assert_same(&mut abc, &mut cba);
        assert_same(&mut abc, &mut bac);
    }
}
