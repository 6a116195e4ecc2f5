//! Conjunction assessment, computed by each node for itself (DESIGN.md §6).
//!
//! Built so far: [`pc`], the probability of collision of one encounter (Foster's 2D method),
//! checked against NASA CARA's and Alfano's published values. All-vs-all screening and
//! incremental re-screening (issue 6) are not built yet.

pub mod pc;
