//! The Orbital Commons node: daemon, CLI, store, network, orbit formats and SGP4, screening.

pub mod api;
pub mod cli;
pub mod client;
pub mod config;
pub mod core;
pub mod daemon;
pub mod datadir;
pub mod demo;
pub mod metrics;
pub mod network;
pub mod screening;
pub mod store;
pub mod writer;

// The orbit formats, SGP4 propagation, the synthetic catalogue and the shared-data locator live in
// the pure `commons-orbit` crate, which the simulator uses too.
pub use orbit;
pub use orbit::{data, synthetic};
