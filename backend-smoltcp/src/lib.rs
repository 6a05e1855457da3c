//! # portsock-smoltcp
//!
//! portsock's backend on the [`smoltcp`] userspace TCP/IP stack: a TAP interface for testing
//! against the Linux kernel, an in-process loopback device for tests, and the same code on
//! firmware. Without the `std` feature it builds `no_std` for Cortex-M (see
//! `scripts/check-no-std`). The stack and its transports arrive with the smoltcp-backend work;
//! for now the crate pins the smoltcp configuration portsock needs.
#![no_std]
#![deny(unsafe_code)]

#[cfg(feature = "std")]
extern crate std;

pub use smoltcp;
