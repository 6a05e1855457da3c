//! # portsock-smoltcp
//!
//! portsock's backend on the [`smoltcp`] userspace TCP/IP stack: a TAP interface for testing
//! against the Linux kernel, an in-process loopback device for tests, and the same code on
//! firmware. Without the `std` feature it builds `no_std`, with no allocator, for Cortex-M (see
//! `scripts/check-no-std` and `firmware/`).
//!
//! A [`Stack`] owns a smoltcp `Interface`, its `SocketSet`, a `phy::Device` and a
//! [`Platform`] (clock and idle). Its sockets implement portsock-core's transport traits:
//!
//! | type | core traits |
//! |---|---|
//! | [`TcpListener`] | `Listener`, `Blocking` (a pool of listening sockets: several clients at once) |
//! | [`TcpStream`] | `Read`, `Write`, `Stream`, `Blocking` |
//! | [`UdpSocket`] | `Datagram`, `Multicast` (IGMP / MLD through the interface), `Blocking` |
//!
//! and [`Stack::resolve`] looks names up with smoltcp's DNS socket. So the core's state
//! machines and drivers (`portsock_core::drive`) run here exactly as they run on the host's
//! sockets; this crate holds no protocol logic.
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `std` (default) | TAP devices, a `std::time` clock, allocating helpers; implies the three below |
//! | `ipv6` | IPv6 addresses, sockets and MLD (without it, an IPv6 address is "not supported": e.g. [`TcpError::Unsupported`]) |
//! | `dns` | `Stack::resolve` over smoltcp's DNS socket |
//! | `medium-ip` | devices without a link layer (`Medium::Ip`: `Loopback`, TUN); Ethernet is always in |
//! | `defmt` | `defmt::Format` for the backend's types |
//!
//! Without `std`, the crate is IPv4 over Ethernet only unless those are asked for: firmware
//! pays only for what it uses (`firmware/lm3s6965` builds it with `defmt` alone).
//!
//! ```
//! use portsock_core::drive::step_datagram;
//! use portsock_core::echo::datagram::{DatagramEchoClient, DatagramEchoServer};
//! use portsock_core::transport::Blocking;
//! use portsock_smoltcp::{Config, ManualPlatform, Stack, UdpSocket};
//! use smoltcp::phy::{Loopback, Medium};
//!
//! // One interface on an in-process loopback device, with a simulated clock.
//! let config = Config::new([2, 0, 0, 0, 0, 1]).with_address(portsock_smoltcp::parse_cidr("127.0.0.1/8")?)?;
//! let stack = Stack::new(&config, Loopback::new(Medium::Ip), ManualPlatform::default(), vec![])?;
//! stack.add_udp_sockets(2, 4, 1500)?;
//!
//! // The core's datagram echo server and client, on two sockets of the stack.
//! let server_addr = "127.0.0.1:10000".parse()?;
//! let mut server_socket = UdpSocket::bind(&stack, server_addr)?;
//! server_socket.set_nonblocking(true)?;
//! let mut server = DatagramEchoServer::new([0u8; 1500]);
//! let mut client_socket = UdpSocket::bind(&stack, "127.0.0.1:0".parse()?)?;
//! client_socket.set_nonblocking(true)?;
//! let mut client = DatagramEchoClient::new(b"hello", server_addr, [0u8; 1500]);
//!
//! // One thread, two machines: step each in turn until the client has its verified echo
//! // (each step is Running, Blocked or Done; an error is a real failure).
//! while !client.is_done() {
//!     step_datagram(&mut client_socket, &mut client, &stack, &mut |_| {})?;
//!     step_datagram(&mut server_socket, &mut server, &stack, &mut |_| {})?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![no_std]
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    feature = "document-features",
    doc = concat!("\n## Feature flags\n\n", document_features::document_features!())
)]

// The README, the page crates.io shows, is a doc test too, so its examples cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(feature = "std")]
extern crate std;

mod addr;
mod checksummed;
mod counted;
#[cfg(feature = "dns")]
mod dns;
mod error;
mod mode;
mod platform;
mod stack;
#[cfg(feature = "std")]
mod std_support;
mod tcp;
mod udp;

pub use checksummed::Checksummed;
#[cfg(feature = "dns")]
pub use dns::{Family, MAX_RESULTS};
#[cfg(feature = "dns")]
pub use error::DnsError;
pub use error::{MulticastProblem, SocketKind, StackError, TcpError, UdpError};
pub use platform::{ManualPlatform, Platform};
#[cfg(feature = "dns")]
pub use stack::MAX_DNS_SERVERS;
pub use stack::{
    Config, DEFAULT_TCP_KEEP_ALIVE, DEFAULT_TCP_TIMEOUT, MAX_ADDRS, MAX_LISTENERS, MAX_SOCKETS,
    ORPHAN_FIN_TIMEOUT, Stack, StackResources, parse_cidr,
};
#[cfg(feature = "std")]
pub use std_support::{Faults, StdPlatform, Wrapped, open_tap, wrap};
pub use tcp::{TcpListener, TcpStream};
pub use udp::{MAX_UDP_PAYLOAD_V4, UdpSocket};

pub use smoltcp;
