//! The same machines, awaited: async transports and the drivers that run any
//! [`StreamMachine`](crate::machine::StreamMachine) or
//! [`DatagramMachine`](crate::machine::DatagramMachine) over them (feature `async`).
//!
//! ```text
//!   tokio (portsock-std, feature tokio)   embassy-net   any edge-nal 0.7 stack
//!                     \________________________|_____________/
//!                                              |
//!   asynch::transport : Stream (embedded-io-async Read + Write + shutdown, addresses),
//!                       Listener, Datagram, Multicast; asynch::time::Timer
//!   asynch::drive     : run_stream / run_datagram: the blocking drivers' loops, awaited
//!   asynch::sessions  : Sessions::serve: N sessions over one listener, without allocating
//!                                              |
//!   machine           : the same sans-IO machines as the blocking drivers run
//! ```
//!
//! Nothing here names an executor or a timer crate: time comes from the transport's side as a
//! [`Timer`](time::Timer) the backend implements (tokio's clock, embassy-time, a test clock),
//! and the one combinator the drivers need (first of two futures) is written here, without
//! `unsafe` and without allocation.
//!
//! # Why not only edge-nal's traits
//!
//! edge-nal 0.7 is what embedded async networking already speaks, and portsock's traits follow
//! it where they can: streams are `embedded_io_async::{Read, Write}`, a listener's `accept`
//! takes `&self` (so several tasks can accept on one listener, as edge-nal's `TcpAccept` and
//! tokio's `TcpListener` allow) and hands out sockets that may borrow from it (a generic
//! associated type, as edge-nal's). They differ where portsock's users need more:
//! - one trait per socket kind, not per capability pair, generic over the address type, so a
//!   Unix socket (a path) is a [`Stream`](transport::Stream) as well as a TCP one (edge-nal's
//!   addresses are `SocketAddr` only);
//! - [`Received`](crate::machine::Received) reports a datagram's full length (truncation), as
//!   the blocking [`Datagram`](crate::transport::Datagram) does;
//! - time is a [`Timer`](time::Timer) of the transport's, not `embassy-time`'s global one, so
//!   tokio hosts need no embassy time driver;
//! - there is no would-block: an async operation waits. Deadlines are the driver's business
//!   (the machine's `poll_timeout`), not the socket's.
//!
//! Adapters both ways between these traits and edge-nal's live behind `edge-nal` features:
//! `edge` (this crate's feature `edge-nal`) runs portsock's machines over any edge-nal stack;
//! portsock-std's `tokio::edge` (its feature `edge-nal`) exposes portsock's tokio sockets as an
//! edge-nal stack, so edge-net's crates (edge-http, edge-mdns, edge-dhcp) run on them.
//!
//! # Cancellation
//!
//! Every operation's doc says whether it is *cancel-safe*, in tokio's sense: dropping its
//! future before it completes loses nothing, so awaiting it again (or something else) is
//! correct. The drivers hand a byte to the machine only once a read completed and tell it a
//! write happened only once the write completed, so a driver future over cancel-safe reads and
//! writes is itself cancel-safe: run it again with the same machine and no byte is lost or
//! repeated.
//!
//! | operation | cancel-safe |
//! |---|---|
//! | [`Read::read`](transport::Read::read), [`Write::write`](transport::Write::write) on a [`Stream`](transport::Stream) | yes: required of every backend |
//! | `Write::write_all`, `Read::read_exact` (embedded-io-async's provided methods) | no: what was done before the drop is not reported |
//! | [`Write::flush`](transport::Write::flush), [`Stream::shutdown`](transport::Stream::shutdown) | the backend's to state; the drivers ask again after a drop |
//! | [`Listener::accept`](transport::Listener::accept) | yes: a connection stays in the backlog |
//! | [`Datagram::send_to`](transport::Datagram::send_to) | yes: sent whole or not at all |
//! | [`Datagram::recv_from`](transport::Datagram::recv_from) | yes: required of every backend |
//! | [`Timer::sleep_until`](time::Timer::sleep_until) | yes |
//! | [`select::first`] | if both futures are |
//! | [`drive::run_stream`], [`drive::run_datagram`] | yes, over cancel-safe transports: run again with the same machine |
//! | [`sessions::Sessions::serve`] | no: dropping it closes the open sessions unreported (stop it with its `stop` future) |
//! | the in-memory transport's (`mem`, feature `async`) | yes, every one |
//! | the edge-nal wrappers' (`edge`, feature `edge-nal`) | as the wrapped stack's: they hold no state across an `.await` (edge-nal-std's: yes) |
//!
//! The async transport contract (`contract/asynch.rs` in the repository) tests the first rows
//! on every backend: dropped reads, writes and receives, and `run_stream` dropped mid-read and
//! mid-send, lose or repeat no byte.

#![allow(
    async_fn_in_trait,
    reason = "as in embedded-io-async and edge-nal: the traits serve single-threaded executors \
              (embassy) as well as tokio; a Send bound would shut out the first"
)]

pub mod drive;
#[cfg(feature = "edge-nal")]
pub mod edge;
#[cfg(feature = "embassy-time")]
pub mod embassy_timer;
pub mod select;
pub mod sessions;
pub mod time;
pub mod transport;
