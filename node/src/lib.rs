//! The Orbital Commons node: daemon, CLI, store, network, orbit formats and SGP4, screening.

pub mod api;
pub mod cli;
pub mod client;
pub mod config;
pub mod core;
pub mod daemon;
pub mod data;
pub mod datadir;
pub mod demo;
pub mod network;
pub mod orbit;
pub mod screening;
pub mod store;
pub mod synthetic;
