//! `commons propagate`: TEME states of element sets over a time span.
