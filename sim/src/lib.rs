//! The Orbital Commons deterministic simulator (DESIGN.md §9).
//!
//! # The model
//!
//! A run simulates N nodes (2 to 200) of one network for a number of ticks of virtual time,
//! from one seed. **What is real**: every node runs the real `protocol::engine::Engine` — the
//! same verification, CRDT state, views, membership and negentropy anti-entropy sessions as
//! the daemon — fed with `Input`s and carried out `Effect` by `Effect` exactly as
//! `node::core` does (a `Persist` durable before anything after it; restarts through
//! `Engine::restore` from what was persisted). Sync messages travel as the canonical bytes the
//! node sends, and the gating handshake applies the node's filter. Updates are real signed
//! envelopes of element sets from a real catalogue (the shared data, read through `orbit`),
//! or from the built-in synthetic one when the data is absent.
//!
//! **What is simulated** ([`node`], [`world`]): links with latency, the libp2p connection
//! life cycle (dial, handshake, close, the time a dead connection takes to notice),
//! request-response with ids and timeouts, gossipsub reduced to flooding over connected
//! members with a duplicate cache and rate limits, the store (a map that only completed
//! `Persist` batches write, each taking virtual time to flush), and the clock.
//!
//! **Faults** (the `--faults` profiles, [`config::Profile`]), during the active phase of
//! the run: messages dropped, duplicated, delayed and so reordered; partitions into two or
//! three groups, healed later; crashes that lose everything not persisted (a flush in
//! progress included) and restarts from the store; and hostile members ([`hostile`]):
//! forgers, equivocators, flooders and members that fall silent. The last
//! `--bound-s` seconds of every run are quiet: faults end, crashed nodes restart,
//! partitions heal, and agencies stop publishing.
//!
//! # The guarantees checked ([`check`])
//!
//! After every run: every honest node (all up and connected by then) holds the same state
//! digests within the bound after the last fault; no update acknowledged to a submitter is
//! ever lost (checked at every crash against the node's store, and at the end on every
//! honest node); incrementally maintained views equal a rebuild (audited during the run and
//! on every node at the end) and are identical everywhere; membership is identical
//! everywhere; no forged header is held by anyone.
//!
//! # Determinism
//!
//! One seeded ChaCha8 stream, one event queue ordered by (time, scheduling order), ordered
//! maps only, virtual time only. A run is a pure function of its [`config::RunConfig`] and
//! the catalogue; the report's trace digest is the proof that a seed replays exactly, and a
//! failing run prints its seed and the command that replays it.

pub mod check;
pub mod config;
pub mod hostile;
pub mod node;
pub mod report;
pub mod workload;
pub mod world;

pub use config::{CatalogueChoice, Profile, RunConfig, Sabotage};
pub use report::Report;
pub use world::run;
