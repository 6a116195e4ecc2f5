//! Conjunction assessment, computed by each node for itself (DESIGN.md §6).
//!
//! - [`screen`]: all-against-all screening of a catalogue over a window, incremental
//!   re-screening of the objects an update changed, and the spread of one event across sources;
//! - [`pc`]: the probability of collision of one encounter (Foster's 2D method), checked against
//!   NASA CARA's and Alfano's published values;
//! - [`hbr`]: per-object hard-body radii from NASA CARA's table.

pub mod hbr;
pub mod pc;
pub mod screen;
pub mod service;
