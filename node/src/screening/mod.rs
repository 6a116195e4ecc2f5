//! Conjunction assessment, computed by each node for itself (DESIGN.md §6).
//!
//! Built so far: [`pc`], the probability of collision of one encounter (Foster's 2D method),
//! checked against NASA CARA's and Alfano's published values, and [`hbr`], per-object
//! hard-body radii from NASA CARA's table. All-vs-all screening and
//! incremental re-screening (issue 6) are not built yet.

pub mod hbr;
pub mod pc;
