//! Cancellation on real sockets: the async stream driver, dropped mid-read and mid-send over
//! and over on both ends of a large echo, then run again with the same machine and stream,
//! loses and repeats no byte (the client machine checks every echoed byte against the one it
//! sent, and fails on the first difference or an early end).

mod common;

use std::time::Duration;

use common::TempDir;
use portsock_core::asynch::drive::run_stream;
use portsock_core::asynch::transport::{ErrorType, Listener as _, Read, Shutdown, Stream, Write};
use portsock_core::echo::stream::{EchoClient, EchoSession};
use portsock_core::machine::StreamMachine;
use portsock_std::tokio::{TcpListener, TcpStream, UnixListener, UnixStream};

/// How long each attempt may run before it is dropped: mostly not at all (one poll, then it
/// is dropped at whatever it was waiting for), sometimes a little longer.
const CUTS: [Duration; 5] = [
    Duration::ZERO,
    Duration::ZERO,
    Duration::from_micros(50),
    Duration::ZERO,
    Duration::from_millis(1),
];

/// Runs `machine` over `stream` to the end, dropping the driver's future each time its slice
/// of [`CUTS`] runs out and starting it again; returns how many times it was dropped.
async fn run_with_cuts<S, M>(stream: &mut S, machine: &mut M) -> usize
where
    S: Stream<Error = std::io::Error>,
    M: StreamMachine,
    M::Error: std::fmt::Debug,
{
    let mut cut = 0;
    loop {
        let slice = CUTS[cut % CUTS.len()];
        match tokio::time::timeout(slice, run_stream(stream, machine, &mut |_| {})).await {
            Ok(result) => return result.map(|()| cut).unwrap(),
            Err(_elapsed) => {
                cut += 1;
                // Let the other end run: a zero slice does not wait for the timer.
                tokio::task::yield_now().await;
            }
        }
    }
}

/// Bytes the TCP client may have in flight: enough to fill the send buffer while the server
/// is not reading, less than the buffers between the two hold at the least.
const WINDOW: usize = 192 * 1024;

/// The same for a Unix stream, whose buffers are charged per packet (`SO_SNDBUF` of 208 KiB
/// each way, including the packets' overhead): the echo client's default.
const UNIX_WINDOW: usize = 64 * 1024;

/// Longer than any of these echoes takes on a busy machine: a hang fails the test instead.
const GUARD: Duration = Duration::from_secs(120);

/// A stream that counts the reads and writes dropped before they completed: the proof that
/// the cuts landed mid-read and mid-send.
struct Watched<S> {
    inner: S,
    reads_dropped: usize,
    writes_dropped: usize,
}

/// Adds one to its counter when dropped, unless [`done`](Self::done) first.
struct DropCount<'a>(Option<&'a mut usize>);

impl DropCount<'_> {
    fn done(mut self) {
        self.0 = None;
    }
}

impl Drop for DropCount<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.0.take() {
            *n += 1;
        }
    }
}

impl<S: Stream> ErrorType for Watched<S> {
    type Error = S::Error;
}

impl<S: Stream> Read for Watched<S> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, S::Error> {
        let count = DropCount(Some(&mut self.reads_dropped));
        let n = self.inner.read(buf).await;
        count.done();
        n
    }
}

impl<S: Stream> Write for Watched<S> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, S::Error> {
        let count = DropCount(Some(&mut self.writes_dropped));
        let n = self.inner.write(buf).await;
        count.done();
        n
    }

    async fn flush(&mut self) -> Result<(), S::Error> {
        self.inner.flush().await
    }
}

impl<S: Stream> Stream for Watched<S> {
    type Addr = S::Addr;

    async fn shutdown(&mut self, how: Shutdown) -> Result<(), S::Error> {
        self.inner.shutdown(how).await
    }

    fn local_addr(&self) -> Result<S::Addr, S::Error> {
        self.inner.local_addr()
    }

    fn peer_addr(&self) -> Result<S::Addr, S::Error> {
        self.inner.peer_addr()
    }
}

impl<S> Watched<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            reads_dropped: 0,
            writes_dropped: 0,
        }
    }
}

/// A message no shift of itself matches (period 251, prime), larger than any socket buffer.
fn message() -> Vec<u8> {
    (0..8_000_000u32).map(|i| (i % 251) as u8).collect()
}

/// The echo of [`message`] with both ends cut short, side by side on this thread.
async fn echo_with_cuts<S>(server: S, client: S, window: usize)
where
    S: Stream<Error = std::io::Error>,
{
    let (mut server, mut client) = (Watched::new(server), Watched::new(client));
    let message = message();
    let served = async {
        let mut session = EchoSession::new([0u8; 4096]);
        let cuts = run_with_cuts(&mut server, &mut session).await;
        (session.received(), session.sent(), cuts)
    };
    let echoed = async {
        // A window near what the socket buffers hold, so the client's sends block (and are
        // dropped) while the server is not reading, as well as its reads. (Any more and the
        // two could wait on each other for good: an echo server stops reading while it cannot
        // write.)
        let mut echo = EchoClient::new(&message, [0u8; 4096])
            .with_chunk(4096)
            .with_window(window)
            .with_half_close(true);
        let cuts = run_with_cuts(&mut client, &mut echo).await;
        assert!(echo.is_done());
        (echo.received(), cuts)
    };
    let both = async { tokio::join!(served, echoed) };
    let ((served, sent, server_cuts), (echoed, client_cuts)) = tokio::time::timeout(GUARD, both)
        .await
        .expect("the echo hung");
    let len = message.len() as u64;
    assert_eq!((served, sent, echoed as u64), (len, len, len));
    assert!(
        server_cuts > 0 && client_cuts > 0,
        "{server_cuts} {client_cuts}"
    );
    // The cuts landed mid-read on both ends, and mid-send (the server's writes wait while the
    // client is cut short and not reading).
    assert!(server.reads_dropped > 0 && client.reads_dropped > 0);
    assert!(server.writes_dropped > 0 || client.writes_dropped > 0);
    eprintln!(
        "dropped mid-read {} + {}, mid-send {} + {} (server + client)",
        server.reads_dropped, client.reads_dropped, server.writes_dropped, client.writes_dropped
    );
}

#[tokio::test(flavor = "current_thread")]
async fn tcp_echo_survives_being_dropped_mid_read_and_mid_send() {
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    echo_with_cuts(server, client, WINDOW).await;
}

#[tokio::test(flavor = "current_thread")]
async fn unix_echo_survives_being_dropped_mid_read_and_mid_send() {
    let dir = TempDir::new("tokio-cancel");
    let path = dir.join("uds_socket");
    let listener = UnixListener::bind(&path).await.unwrap();
    let client = UnixStream::connect(&path).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    echo_with_cuts(server, client, UNIX_WINDOW).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_echo_with_cuts_across_threads() {
    // The server in its own task on another worker, so cuts land at other moments.
    let listener = TcpListener::bind("[::1]:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut session = EchoSession::new([0u8; 1024]);
        run_with_cuts(&mut stream, &mut session).await;
        session.received()
    });
    let message = message();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut echo = EchoClient::new(&message, [0u8; 4096])
        .with_chunk(4096)
        .with_window(WINDOW)
        .with_half_close(true);
    let echoed = tokio::time::timeout(GUARD, run_with_cuts(&mut stream, &mut echo)).await;
    echoed.expect("the echo hung");
    assert_eq!(echo.received(), message.len());
    assert_eq!(server.await.unwrap(), message.len() as u64);
}
