//! The `commons` command line: one module per group of subcommands.

pub mod convert;
pub mod propagate;
