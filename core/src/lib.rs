//! # portsock-core
//!
//! The `#![no_std]`, allocator-free heart of portsock. Everything here is pure computation:
//! no sockets, no clock, no heap. The backends (`portsock-std` on OS sockets, `portsock-smoltcp`
//! on a userspace TCP/IP stack) and the firmware all run this same code.
//!
//! ```text
//!   portsock (CLI, examples)           firmware main loop
//!            |                                |
//!   portsock-std (socket2)      portsock-smoltcp (smoltcp)
//!            \________________________________/
//!                            |
//!                     portsock-core
//!
//!   drive      : the loops that run any machine over any transport (step_* / run_*)
//!        |            \
//!   echo/, multicast,   transport : the traits every backend implements (embedded-io
//!   record: sans-IO                 streams, listeners, datagrams, multicast, timeouts);
//!   state machines                  mem: an in-memory implementation for tests
//!        |            /
//!   machine    : the sans-IO vocabulary: StreamMachine, DatagramMachine, Status,
//!                Buffer, Transmit, Received, Shutdown
//!   time       : Instant / Duration in milliseconds; time is always an argument
//!   wire/      : struct codec, inet text <-> bytes, mreq layouts, Python reprs
//!   table/     : socket constants, services, protocols
//! ```
//!
//! Each layer depends only on the ones below it: the wire codecs know nothing of machines; the
//! machines (`echo`, `multicast`, `record`) know [`machine`] and nothing of sockets or
//! drivers; the transports know [`machine`]'s `Shutdown` and `Received` and nothing of
//! machines; and [`drive`] alone joins a machine to a transport, as quinn drives quinn-proto
//! and quinn-proto never imports quinn.
//!
//! ```
//! use portsock_core::wire::structfmt::{Format, Value};
//!
//! let fmt = Format::parse("I 2s f")?;
//! let mut buf = [0u8; 12];
//! fmt.pack_into(&mut buf, 0, &[Value::Int(1), Value::Bytes(b"ab"), Value::Float(2.7)])?;
//! assert_eq!(buf, [1, 0, 0, 0, b'a', b'b', 0, 0, 0xcd, 0xcc, 0x2c, 0x40]);
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    feature = "document-features",
    doc = concat!("\n## Feature flags\n\n", document_features::document_features!())
)]

// The README, the page crates.io shows, is a doc test too, so its examples cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(any(test, feature = "std"))]
extern crate std;

#[cfg(feature = "async")]
pub mod asynch;
pub mod drive;
pub mod echo;
mod log;
pub mod machine;
pub mod mem;
pub mod multicast;
pub mod record;
pub mod table;
pub mod time;
pub mod transport;
pub mod wire;
