//! Binary records between the smoltcp stack and CPython's `struct` over a TAP device (see
//! `tests/common/tap.rs`).

mod common;

use common::tap::records::records_both_ways;
use common::tap::{KERNEL_V4, SMOL_V4, Stack};

/// CPython sends the chapter's record to smoltcp and smoltcp to CPython (see
/// [`records_both_ways`]).
#[test]
fn binary_records_with_cpython_struct() {
    records_both_ways(Stack::Smoltcp, "bin", SMOL_V4, KERNEL_V4);
}
