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
//!        wire/   : struct codec, inet text <-> bytes, Python reprs
//!        table/  : socket constants, services, protocols
//! ```
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
pub mod mem;
pub mod multicast;
pub mod record;
pub mod table;
pub mod time;
pub mod transport;
pub mod wire;
