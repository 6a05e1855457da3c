//! Bytes <-> values: no state, no time, no I/O.
//!
//! Every parser here takes untrusted input and returns a small `Copy` error naming what was
//! wrong; none of them panics, whatever the input (each has a fuzz target under `fuzz/`).

pub mod inet;
pub mod mreq;
pub mod repr;
pub mod structfmt;
