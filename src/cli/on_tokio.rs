//! `--runtime tokio` for the datagram programs: the UDP echo server and the multicast
//! receiver run the same machines with the core's async driver,
//! [`run_datagram`](portsock_core::asynch::drive::run_datagram), over portsock-std's tokio
//! [`UdpSocket`](portsock_std::tokio::UdpSocket) on a single-threaded runtime (one socket
//! needs no more), and print the same lines. The socket is bound and set up by the blocking
//! code first (the same errors, before the first line), then handed to tokio.

use std::future::Future;

use portsock_core::asynch::drive::run_datagram;
use portsock_core::echo::datagram::DatagramEchoServer;
use portsock_core::multicast::{CHAPTER_RECEIVE_SIZE, MulticastReceiver};
use portsock_std::tokio::{TokioTimer, UdpSocket};

use super::CliError;
use super::echo::datagram_server_line;
use super::multicast::receiver_line;
use super::net::Out;

/// Runs `future` to completion on a single-threaded tokio runtime.
fn block_on<F: Future>(future: F) -> Result<F::Output, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new("runtime", e))?;
    Ok(runtime.block_on(future))
}

/// The bound blocking `socket`, on tokio.
fn on_tokio(socket: portsock_std::udp::UdpSocket) -> Result<UdpSocket, CliError> {
    UdpSocket::from_std(socket.into_socket().into()).map_err(|e| CliError::new("udp", e))
}

/// `echo server --proto udp --runtime tokio`: echoes datagrams received into a `size`-byte
/// buffer, `count` of them (forever without). Returns how many were echoed.
///
/// # Errors
///
/// The socket failed.
pub(crate) fn serve_datagram(
    socket: portsock_std::udp::UdpSocket,
    size: usize,
    count: Option<usize>,
    out: &mut Out,
) -> Result<usize, CliError> {
    block_on(async {
        let mut socket = on_tokio(socket)?;
        let mut server = DatagramEchoServer::new(vec![0u8; size]);
        if let Some(n) = count {
            server = server.with_limit(n);
        }
        run_datagram(&mut socket, &mut server, &TokioTimer, &mut |s| {
            while let Some(event) = s.poll_event() {
                datagram_server_line(out, event);
            }
        })
        .await
        .map_err(|e| CliError::new("udp", e))?;
        Ok(server.served())
    })?
}

/// `multicast receive --runtime tokio`: acknowledges `count` datagrams (forever without) on
/// `socket`, already bound and joined to the group. Returns how many were acknowledged.
///
/// # Errors
///
/// The socket failed.
pub(crate) fn multicast_receive(
    socket: portsock_std::udp::UdpSocket,
    count: Option<usize>,
    out: &mut Out,
) -> Result<usize, CliError> {
    block_on(async {
        let mut socket = on_tokio(socket)?;
        let mut receiver = MulticastReceiver::new(vec![0u8; CHAPTER_RECEIVE_SIZE]);
        if let Some(n) = count {
            receiver = receiver.with_limit(n);
        }
        run_datagram(&mut socket, &mut receiver, &TokioTimer, &mut |r| {
            while let Some(event) = r.poll_event() {
                receiver_line(out, event);
            }
        })
        .await
        .map_err(|e| CliError::new("multicast receive", e))?;
        Ok(receiver.acknowledged())
    })?
}
