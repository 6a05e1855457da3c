//! The tour's "choosing a listening address" section (`socket_echo_server_explicit.py`,
//! `socket_echo_server_any.py`): a server bound to one explicit address is reached at that
//! address only; one bound to any address (`''`, `0.0.0.0`) learns what it got from
//! `getsockname()`.
//!
//! Nothing here accepts a connection from beyond the machine: the explicit server listens on
//! 127.0.0.1, and the any-address socket is bound but never listens (a connection to it is
//! refused, whichever interface it comes in on), which is enough for `getsockname()` to show
//! the address and the port the system gave it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use portsock_core::wire::repr::PyAddr;
use portsock_std::prelude::*;
use portsock_std::tcp::TcpStream;
use socket2::{Domain, Protocol, Socket, Type};

use super::sockets::{WAIT, tcp_listener, text};
use super::{Verdict, block, check};
use crate::cli::net::Out;

/// Another loopback address, on which the explicit server must not be reached.
const OTHER_LOOPBACK: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

pub(super) fn listening_address(out: &mut Out) -> Verdict {
    // socket_echo_server_explicit.py: one address, given by the caller.
    let (mut listener, _, local) = tcp_listener()?;
    let mut server = Vec::new();
    server.push(format!(
        "starting up on {} port {}",
        local.ip(),
        local.port()
    ));
    server.push(format!("getsockname() -> {}", PyAddr(local)));
    server.push("waiting for a connection".to_owned());
    let client = TcpStream::connect(local, Some(WAIT)).map_err(text)?;
    let (_conn, peer) = listener.accept().map_err(text)?;
    server.push(format!("client connected: {}", PyAddr(peer)));
    out.line("an explicit address: bind(('127.0.0.1', 0))");
    block(out, "server", &server);
    let elsewhere = SocketAddr::new(OTHER_LOOPBACK.into(), local.port());
    let reached = TcpStream::connect(elsewhere, Some(WAIT));
    let outcome = match &reached {
        Ok(_) => "connected".to_owned(),
        Err(e) => e.to_string(),
    };
    block(
        out,
        "client",
        &[format!("connect({}) -> {outcome}", PyAddr(elsewhere))],
    );
    check(local.ip() == IpAddr::from(Ipv4Addr::LOCALHOST), || {
        format!("getsockname() gave {local}, not 127.0.0.1")
    })?;
    check(
        local.port() != 0 && Ok(peer) == client.local_addr().map_err(text),
        || {
            format!(
                "the server saw {peer}, the client is {:?}",
                client.local_addr()
            )
        },
    )?;
    check(reached.is_err(), || {
        format!("a server bound to {local} was reached at {elsewhere}")
    })?;

    // socket_echo_server_any.py: bind(('', 0)), then ask the socket what it got.
    out.line("");
    out.line("any address: bind(('', 0))");
    let any = any_address_socket()?;
    block(
        out,
        "server",
        &[
            format!("starting up on {} port {}", any.ip(), any.port()),
            "(bound, not listening: the tour takes no connection from beyond this machine;"
                .to_owned(),
            " `portsock echo server --addr :0` listens there, on every interface)".to_owned(),
        ],
    );
    check(any.ip().is_unspecified() && any.port() != 0, || {
        format!("getsockname() of a socket bound to any address gave {any}")
    })
}

/// A TCP socket bound to `0.0.0.0` and a port the system picks, never listening; its
/// `getsockname()`.
fn any_address_socket() -> Result<SocketAddr, String> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).map_err(text)?;
    let any = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
    socket
        .bind(&any.into())
        .map_err(|e| format!("bind {any}: {e}"))?;
    socket
        .local_addr()
        .map_err(text)?
        .as_socket()
        .ok_or_else(|| "getsockname() gave no IP address".to_owned())
}
