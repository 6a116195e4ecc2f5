//! `commons`: the Orbital Commons command line.
fn main() {}
