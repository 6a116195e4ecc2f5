//! The `commons` command line: one module per group of subcommands.

pub mod catalogue;
pub mod conjunctions;
pub mod convert;
pub mod members;
pub mod node;
pub mod pc;
pub mod propagate;
pub mod screen;
pub mod table;
