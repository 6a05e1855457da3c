//! portsock's async transports on [embassy-net](https://docs.rs/embassy-net) 0.9: a firmware
//! that already runs embassy-net runs portsock's machines (echo, records, datagram echo,
//! multicast) on its own stack. `no_std`, no allocator, no `unsafe`.
//!
//! | portsock ([`portsock_core::asynch::transport`]) | here | on embassy-net's |
//! |---|---|---|
//! | `Stream` | [`TcpStream`] | `tcp::TcpSocket` |
//! | `Listener` (with a backlog) | [`TcpListener`] on a [`TcpResources`] | `N` `TcpSocket`s listening on one port |
//! | a client | [`TcpConnector`] on a [`TcpResources`] | `TcpSocket::connect` |
//! | `Datagram`, `Multicast` | [`UdpSocket`] on a [`UdpResources`] | `udp::UdpSocket`, `Stack::join_multicast_group` |
//! | lookups | [`resolve`] (feature `dns`) | `Stack::dns_query` |
//! | `Timer` | [`EmbassyTimer`] | embassy-time |
//!
//! Buffers come from the caller, as embassy-net's own `StackResources` do: put the
//! `*Resources` in a `static_cell::StaticCell` (or a task's frame) and count every socket in
//! the stack's `StackResources<SOCK>` (a listener or connector of `N` takes `N` entries).
//!
//! Errors name what went wrong ([`Error`]) and map to `embedded_io::ErrorKind`, the kinds the
//! core's drivers read.
//!
//! # Cancellation
//!
//! | operation | cancel-safe |
//! |---|---|
//! | `TcpStream` `read`, `write`, `flush` | yes: embassy-net's are each one `poll_fn` that copies only when it completes |
//! | `TcpStream::shutdown` | yes: it awaits nothing (smoltcp queues the FIN after the data) |
//! | `TcpListener::accept` | yes: an established connection stays on its socket for the next `accept` |
//! | `TcpConnector::connect` | the socket returns to the pool; the half-open connection is abandoned |
//! | `UdpSocket` `send_to`, `recv_from` | yes: a datagram is queued or dequeued whole, only when the call completes |
//! | [`resolve`] | yes: embassy-net cancels the query |
//! | `EmbassyTimer::sleep_until` | yes |
//!
//! The async transport contract (`contract/asynch.rs`) checks the first rows on in-memory
//! stacks (`tests/contract_async.rs`).
//!
//! # Example
//!
//! An echo service on port 10000, four clients at once, beside whatever else the firmware's
//! embassy-net stack runs:
//!
//! ```
//! use portsock_core::asynch::sessions::Sessions;
//! use portsock_core::echo::stream::EchoSession;
//! use portsock_embassy::{EmbassyTimer, TcpListener, TcpResources};
//! use static_cell::StaticCell;
//!
//! /// Serves TCP echo on port 10000 of `stack`, 4 connections at once, for ever.
//! async fn echo_service(stack: embassy_net::Stack<'static>) {
//!     // 4 sockets of 1 KiB each way: 8 KiB, and 4 of the stack's socket entries.
//!     static BUFFERS: StaticCell<TcpResources<4, 1024, 1024>> = StaticCell::new();
//!     let addr = "0.0.0.0:10000".parse().expect("an address");
//!     let listener = TcpListener::new(stack, addr, BUFFERS.init(TcpResources::new()))
//!         .expect("port 10000");
//!     Sessions::new(&listener, &EmbassyTimer)
//!         .serve::<4, _, _, _, _>(
//!             |_peer| EchoSession::new([0u8; 512]),
//!             |_event| {},
//!             core::future::pending::<()>(),
//!         )
//!         .await;
//! }
//! # let _ = echo_service;
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    feature = "document-features",
    doc = concat!("\n## Feature flags\n\n", document_features::document_features!())
)]

// The README, the page crates.io shows, is a doc test too, so its examples cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod addr;
mod connector;
#[cfg(feature = "dns")]
mod dns;
mod error;
mod listener;
mod pool;
mod tcp;
mod udp;

pub use connector::{CONNECT_TIMEOUT, TcpConnector};
#[cfg(feature = "dns")]
pub use dns::{Family, resolve};
pub use error::Error;
pub use listener::TcpListener;
pub use pool::{CLOSE_TIMEOUT, TcpResources};
pub use portsock_core::asynch::embassy_timer::EmbassyTimer;
pub use tcp::TcpStream;
pub use udp::{UdpResources, UdpSocket};
