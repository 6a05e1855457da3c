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
//!   drive      : the blocking loops that run any machine over any transport
//!   echo/, multicast, record : sans-IO state machines (handle_* in, poll_* out)
//!   transport  : the traits every backend implements (embedded-io streams, datagrams,
//!                multicast, timeouts); mem: an in-memory implementation for tests
//!   time       : Instant / Duration in milliseconds; time is always an argument
//!   wire/      : struct codec, inet text <-> bytes, mreq layouts, Python reprs
//!   table/     : socket constants, services, protocols
//! ```
//!
//! Each layer depends only on the ones below it: the wire codecs know nothing of machines, the
//! machines know nothing of sockets, and only the drivers touch a transport.
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

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod drive;
pub mod echo;
mod log;
pub mod mem;
pub mod multicast;
pub mod record;
pub mod table;
pub mod time;
pub mod transport;
pub mod wire;
