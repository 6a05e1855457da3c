//! A listener on an IPv4 address serves IPv4 clients only, as a kernel's `AF_INET` socket
//! does: smoltcp's socket listening on the unspecified address completes a handshake of either
//! family, and the listener resets an IPv6 connection at `accept` instead of handing it out,
//! then listens again. On `::` it takes both, as Linux's `AF_INET6` socket does by default.
//! One stack over an in-process `Loopback` device, client and server on it.

use std::net::SocketAddr;

use portsock_core::time::Duration;
use portsock_core::transport::{Blocking, Error as _, ErrorKind, Listener, Read, Stream, Write};
use portsock_smoltcp::smoltcp::phy::{Loopback, Medium};
use portsock_smoltcp::{
    Config, ManualPlatform, Stack, TcpError, TcpListener, TcpStream, parse_cidr,
};

type LoStack = Stack<'static, Loopback, ManualPlatform>;

fn stack() -> LoStack {
    let config = Config::new([2, 0, 0, 0, 0, 1])
        .with_address(parse_cidr("127.0.0.1/8").unwrap())
        .unwrap()
        .with_address(parse_cidr("::1/128").unwrap())
        .unwrap();
    let s = Stack::new(
        &config,
        Loopback::new(Medium::Ip),
        ManualPlatform::default(),
        vec![],
    )
    .unwrap();
    s.add_tcp_sockets(6, 4096, 4096).unwrap();
    s
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Connects to `to`, has `listener` accept it and moves a few bytes: the accepted peer.
fn served(
    stack: &LoStack,
    listener: &mut TcpListener<'_, 'static, Loopback, ManualPlatform>,
    to: &str,
) -> SocketAddr {
    let timeout = Some(Duration::from_secs(5));
    let mut client = TcpStream::connect(stack, addr(to), timeout).expect("connect");
    listener.set_nonblocking(false).unwrap();
    listener.set_read_timeout(timeout).unwrap();
    let (mut server, peer) = listener.accept().expect("the client");
    assert_eq!(peer, client.local_addr().unwrap());
    client.write_all(b"same family").unwrap();
    client.flush().unwrap();
    let mut buf = [0u8; 11];
    server.set_read_timeout(timeout).unwrap();
    server.read_exact(&mut buf).expect("the client's bytes");
    assert_eq!(&buf, b"same family");
    peer
}

/// A listener of backlog 1 on 0.0.0.0: an IPv6 client is reset and never accepted; then an
/// IPv4 client is accepted on the same pool socket, listening again, and its bytes arrive.
#[test]
fn any_ipv4_listener_resets_ipv6_clients_and_serves_ipv4() {
    let stack = stack();
    let mut listener = TcpListener::bind(&stack, addr("0.0.0.0:10000"), 1).unwrap();
    listener.set_nonblocking(true).unwrap();
    let timeout = Some(Duration::from_secs(5));

    // smoltcp completes the IPv6 handshake on its own...
    let mut wrong = TcpStream::connect(&stack, addr("[::1]:10000"), timeout)
        .expect("the handshake, before any accept");
    // ...and accept resets it rather than handing it out.
    match listener.accept() {
        Ok((_, peer)) => panic!("a listener on 0.0.0.0 accepted an IPv6 client, {peer}"),
        Err(e) => assert_eq!(e, TcpError::WouldBlock, "{e}"),
    }
    wrong.set_read_timeout(timeout).unwrap();
    let err = wrong
        .read(&mut [0u8; 16])
        .expect_err("the IPv6 client is reset");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    drop(wrong);

    // The pool's one socket listens again: an IPv4 client is served.
    let peer = served(&stack, &mut listener, "127.0.0.1:10000");
    assert!(peer.is_ipv4());
}

/// A listener on `::` serves an IPv6 client and an IPv4 one, each under its own address.
#[test]
fn any_ipv6_listener_serves_both_families() {
    let stack = stack();
    let mut listener = TcpListener::bind(&stack, addr("[::]:10000"), 2).unwrap();
    assert!(served(&stack, &mut listener, "[::1]:10000").is_ipv6());
    assert!(served(&stack, &mut listener, "127.0.0.1:10000").is_ipv4());
}
