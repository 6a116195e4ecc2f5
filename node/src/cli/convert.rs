//! `commons convert`: element sets from one format to another.
