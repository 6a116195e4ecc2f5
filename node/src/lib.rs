//! The Orbital Commons node: daemon, CLI, store, network, orbit formats and SGP4, screening.

pub mod cli;
pub mod data;
pub mod orbit;
