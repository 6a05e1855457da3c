//! Binary records between the embassy backend and CPython's `struct` over a TAP device (see
//! `tests/common/tap.rs`), both ways, IPv4 and IPv6.

mod common;

use common::tap::records::records_both_ways;
use common::tap::{KERNEL_V4, KERNEL_V6, SMOL_V4, SMOL_V6, Stack};

#[test]
fn binary_records_with_cpython_struct_ipv4() {
    records_both_ways(Stack::Embassy, "eb4", SMOL_V4, KERNEL_V4);
}

#[test]
fn binary_records_with_cpython_struct_ipv6() {
    records_both_ways(Stack::Embassy, "eb6", SMOL_V6, KERNEL_V6);
}
