//! The chapter's echo protocol as sans-IO state machines.
//!
//! * [`stream`]: [`EchoSession`](stream::EchoSession), the server side of one connection
//!   (`socket_echo_server.py`: `recv(16)`, print, `sendall`, until the client closes), and
//!   [`EchoClient`](stream::EchoClient) (`socket_echo_client.py`: `sendall` the message, then
//!   read until the whole message came back, here verifying every byte).
//! * [`datagram`]: [`DatagramEchoServer`](datagram::DatagramEchoServer) and
//!   [`DatagramEchoClient`](datagram::DatagramEchoClient) (`socket_echo_server_dgram.py`,
//!   `socket_echo_client_dgram.py`), with a reply timeout so loss is an error, not a hang.
//!
//! The stream machines read as much as their buffer holds (`EchoSession::new`,
//! `EchoClient::new`), one system call per buffer where 16-byte reads take one per 16 bytes.
//! The chapter's `recv(16)` is an explicit choice: [`EchoSession::chapter`](stream::EchoSession::chapter),
//! [`EchoClient::chapter`](stream::EchoClient::chapter) (or `.with_chunk(CHAPTER_CHUNK)`), as
//! the examples and `portsock tour` use, so their transcripts show the chapter's 16-byte lines.
//!
//! The machines read no clock, own no socket and allocate nothing: they work in a
//! [`Buffer`](crate::machine::Buffer) the caller gives them (`[u8; N]`, `&mut [u8]`, or a
//! `Vec<u8>` on a host), are fed with `handle_*` and asked with `poll_*`, as quinn-proto's
//! `Connection` (see [`machine`](crate::machine)). A driver runs them over any transport; the
//! chapter's lines are printed from their events.

pub mod datagram;
pub mod stream;

/// The chapter's message (`socket_echo_client.py`, `socket_echo_client_dgram.py`).
pub const CHAPTER_MESSAGE: &[u8] = b"This is the message.  It will be repeated.";

/// The chapter's receive size: `connection.recv(16)` / `sock.recv(16)`.
pub const CHAPTER_CHUNK: usize = 16;

/// The chapter's datagram receive size: `sock.recvfrom(4096)`.
pub const CHAPTER_DATAGRAM_SIZE: usize = 4096;

/// The chapter's port.
pub const CHAPTER_PORT: u16 = 10_000;
