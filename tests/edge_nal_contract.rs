//! The async transport contract (`contract/asynch.rs`) on core's edge-nal wrappers
//! (`portsock_core::asynch::edge`) over edge-nal-std's sockets, run under futures-lite's
//! `block_on` with `EmbassyTimer` (embassy-time's host driver) as the clock. Loopback only.
//!
//! One item is left out, by design: `datagram_truncation_reports_the_full_length`.
//! edge-nal-std's `receive` reports the bytes copied, not the datagram's size, and the wrapper
//! passes on what the stack reports (the module docs of `asynch::edge` say so;
//! tests/edge_nal.rs checks what it does instead).
#![cfg(feature = "std")]

#[path = "../contract/asynch.rs"]
mod contract_async;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use edge_nal::{TcpBind, TcpConnect, UdpBind};
use edge_nal_std::{Stack, TcpAcceptor, TcpSocket, UdpSocket};
use futures_lite::future::block_on;
use portsock_core::asynch::edge::{EdgeDatagram, EdgeListener, EdgeStream, EmbassyTimer};
use portsock_core::asynch::transport::Listener;

/// edge-nal-std behind core's wrappers.
struct EdgeNalStd;

impl contract_async::Harness for EdgeNalStd {
    type Addr = SocketAddr;
    type Stream = EdgeStream<TcpSocket>;
    type Listener = EdgeListener<TcpAcceptor>;
    type Datagram = EdgeDatagram<UdpSocket>;
    type Timer = EmbassyTimer;

    fn timer(&self) -> &EmbassyTimer {
        &EmbassyTimer
    }

    /// On a port that was free a moment ago: edge-nal-std's acceptor does not tell which port
    /// it got, so binding port 0 would leave the wrapper without the address.
    async fn listen(&self) -> Self::Listener {
        let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("probe a free port");
        let addr = probe.local_addr().expect("probe's address");
        drop(probe);
        let acceptor = TcpBind::bind(&Stack::new(), addr).await.expect("bind");
        EdgeListener::new(acceptor, addr)
    }

    async fn connect(&self, listener: &Self::Listener) -> Self::Stream {
        let to = listener.local_addr().expect("listener's address");
        let socket = TcpConnect::connect(&Stack::new(), to)
            .await
            .expect("connect");
        let local = socket.get_ref().local_addr().expect("client's address");
        EdgeStream::new(socket, local, to)
    }

    async fn bind(&self) -> Self::Datagram {
        let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let socket = UdpBind::bind(&Stack::new(), any_port).await.expect("bind");
        let local = socket.get_ref().local_addr().expect("socket's address");
        EdgeDatagram::new(socket, local)
    }
}

contract_async::contract_async_tests!(@each EdgeNalStd, block_on;
    stream_echoes_both_ways,
    stream_large_transfer_arrives_whole,
    shutdown_write_is_the_peers_end_of_stream,
    orderly_close_is_end_of_stream,
    accept_returns_the_peer_and_addresses_agree,
    datagram_addresses_name_the_sender,
    read_is_cancel_safe,
    write_is_cancel_safe,
    recv_from_is_cancel_safe,
    run_stream_echoes,
    run_stream_is_cancel_safe,
    run_datagram_echoes,
    run_datagram_fires_the_timeout,
);
