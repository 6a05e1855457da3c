//! What the examples share: the pieces of their command lines and an error type that prints as
//! a sentence.
//!
//! Each example declares its command line with clap, flattening the pieces it takes from here:
//! the positional arguments that override the chapter's defaults (host and port, Unix path,
//! multicast group), and the options
//!
//! * `--count N` / `--once`: a server exits after N connections (or datagrams) instead of
//!   running forever, so a test can wait for it to finish;
//! * `--iface ADDR`: the interface multicast uses, `127.0.0.1` unless given, so nothing leaves
//!   the machine by default.
//!
//! so `--help` shows what each one takes, with the defaults, and a bad argument is refused
//! with clap's message and exit status 2.
// Each example uses only part of this module.
#![allow(dead_code)]

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use portsock::core::echo::CHAPTER_PORT;
use portsock::core::multicast::CHAPTER_GROUP;
use portsock::std::resolve;

/// The chapter's host.
pub(crate) const HOST: &str = "localhost";
/// The chapter's Unix socket path.
pub(crate) const UDS_PATH: &str = "./uds_socket";
/// The interface multicast uses unless `--iface` says otherwise: the loopback, so the group's
/// datagrams never leave this machine.
pub(crate) const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// `[HOST] [PORT]`: where the server is (or listens), the chapter's `('localhost', 10000)`
/// unless given.
#[derive(Debug, clap::Args)]
pub(crate) struct Server {
    /// The server's host name or address.
    #[arg(default_value = HOST)]
    pub(crate) host: String,
    /// The server's port.
    #[arg(default_value_t = CHAPTER_PORT)]
    pub(crate) port: u16,
}

/// `HOST [PORT]`: the chapter's `sys.argv[1]`, which must be given, and the port.
#[derive(Debug, clap::Args)]
pub(crate) struct ExplicitServer {
    /// The host name or address (the chapter's `sys.argv[1]`).
    pub(crate) host: String,
    /// The server's port.
    #[arg(default_value_t = CHAPTER_PORT)]
    pub(crate) port: u16,
}

/// `[PATH]`: the Unix socket's path, the chapter's `./uds_socket` unless given.
#[derive(Debug, clap::Args)]
pub(crate) struct UdsPath {
    /// The Unix socket's path.
    #[arg(default_value = UDS_PATH)]
    pub(crate) path: String,
}

/// `[GROUP] [PORT] [--iface ADDR]`: the multicast group, its port and the interface.
#[derive(Debug, clap::Args)]
pub(crate) struct Group {
    /// The IPv4 multicast group.
    #[arg(default_value_t = CHAPTER_GROUP)]
    pub(crate) group: Ipv4Addr,
    /// The group's port.
    #[arg(default_value_t = CHAPTER_PORT)]
    pub(crate) port: u16,
    /// The interface, by its IPv4 address, the group is joined on or sent from (the loopback
    /// unless given, so nothing leaves this machine).
    #[arg(long, value_name = "ADDR", default_value_t = LOOPBACK)]
    pub(crate) iface: Ipv4Addr,
}

/// `[--count N | --once]`: how long a server runs.
#[derive(Debug, clap::Args)]
pub(crate) struct Count {
    /// Exit after N connections (or datagrams) instead of running until interrupted.
    #[arg(long, value_name = "N", conflicts_with = "once")]
    count: Option<usize>,
    /// Exit after one connection (or datagram): `--count 1`.
    #[arg(long)]
    once: bool,
}

impl Count {
    /// How many connections (or datagrams) a server handles before it exits: `--count N`,
    /// 1 for `--once`, and `usize::MAX` (forever, as in the chapter) without either.
    pub(crate) fn get(&self) -> usize {
        match (self.count, self.once) {
            (Some(n), _) => n,
            (None, true) => 1,
            (None, false) => usize::MAX,
        }
    }
}

/// The address a server named `host` has for a client of an `AF_INET` socket, as the
/// chapter's clients see `('localhost', 10000)`: the first IPv4 address `host` resolves to (or
/// its first address, for an IPv6-only name or literal).
///
/// # Errors
///
/// The name does not resolve.
pub(crate) fn server_addr(host: &str, port: u16) -> io::Result<SocketAddr> {
    // The same choice a server makes for the address it binds.
    resolve::bind_addr(host, port)
}

/// The address a client's datagram socket binds to reach `server`: the loopback for a
/// loopback server (so nothing listens beyond this machine), otherwise any address, which is
/// what an unbound Python socket gets on its first `sendto`.
pub(crate) fn client_bind_addr(server: SocketAddr) -> SocketAddr {
    let ip = match (server.ip().is_loopback(), server) {
        (true, _) => server.ip(),
        (false, SocketAddr::V4(_)) => Ipv4Addr::UNSPECIFIED.into(),
        (false, SocketAddr::V6(_)) => std::net::Ipv6Addr::UNSPECIFIED.into(),
    };
    SocketAddr::new(ip, 0)
}

/// What `main` returns: any error, printed by the runtime as `Error: <message>` with exit
/// status 1.
pub(crate) type Result<T = ()> = std::result::Result<T, Failure>;

/// An error from anywhere in an example, shown as its message rather than as a debug dump.
pub(crate) struct Failure(Box<dyn std::error::Error>);

impl<E: std::error::Error + 'static> From<E> for Failure {
    fn from(e: E) -> Self {
        Self(Box::new(e))
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
