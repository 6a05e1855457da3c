//! The core's async N-sessions helper (`asynch::sessions::Sessions`) over portsock-std's tokio
//! listeners and timer: two workers serve an idle client and three echo clients at once, the
//! idle one closed by the idle timeout on tokio's clock.

mod common;

use std::cell::Cell;
use std::time::Duration as StdDuration;

use common::TempDir;
use portsock_core::asynch::drive::run_stream;
use portsock_core::asynch::sessions::{Event, Sessions};
use portsock_core::asynch::transport::{Listener, Stream};
use portsock_core::echo::stream::{EchoClient, EchoSession};
use portsock_core::time::Duration;
use portsock_std::tokio::{TcpListener, TcpStream, TokioTimer, UnixListener, UnixStream};

/// What `serve` reported, counted.
#[derive(Default)]
struct Seen {
    accepted: Cell<usize>,
    finished: Cell<usize>,
    echoed: Cell<u64>,
    idle: Cell<usize>,
    other: Cell<usize>,
}

/// Serves on `listener` with two workers until three sessions finished and one timed out
/// idle, while `clients` (started first) connect; returns what was seen.
async fn serve_two_workers<L, C>(listener: &L, clients: C) -> Seen
where
    L: Listener,
    C: std::future::Future<Output = ()>,
{
    let seen = Seen::default();
    let stop = async {
        while seen.finished.get() < 3 || seen.idle.get() < 1 {
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
    };
    let serve = Sessions::new(listener, &TokioTimer)
        .with_idle_timeout(Duration::from_millis(300))
        .serve::<2, _, _, _, _>(
            |_peer| EchoSession::new([0u8; 1024]),
            |event| match event {
                Event::Accepted { .. } => seen.accepted.set(seen.accepted.get() + 1),
                Event::Stepped { .. } => {}
                Event::Finished { machine, .. } => {
                    seen.finished.set(seen.finished.get() + 1);
                    seen.echoed.set(seen.echoed.get() + machine.sent());
                }
                Event::IdleTimeout { .. } => seen.idle.set(seen.idle.get() + 1),
                _ => seen.other.set(seen.other.get() + 1),
            },
            stop,
        );
    let guard = StdDuration::from_secs(30);
    let ((), ()) = tokio::time::timeout(guard, async { tokio::join!(serve, clients) })
        .await
        .expect("served within 30 s");
    seen
}

/// The idle client (connected first, sends nothing, sees the server close) and three echo
/// clients of different lengths, all at once.
async fn clients<S: Stream>(mut idle: S, echo: [S; 3]) {
    let idle = async {
        let mut buf = [0u8; 8];
        assert_eq!(idle.read(&mut buf).await.ok(), Some(0)); // closed for idleness
    };
    let [a, b, c] = echo;
    let run = |mut stream: S, len: usize| async move {
        let message: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut echo = EchoClient::new(&message, [0u8; 1024])
            .with_chunk(1024)
            .with_half_close(true);
        let done = run_stream(&mut stream, &mut echo, &mut |_| {}).await;
        assert!(done.is_ok(), "echo of {len} bytes failed");
        assert_eq!(echo.received(), len);
    };
    tokio::join!(idle, run(a, 10_000), run(b, 20_000), run(c, 30_000));
}

#[tokio::test(flavor = "current_thread")]
async fn two_workers_serve_tcp_clients_and_close_the_idle_one() {
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    // Connected before serving starts, in order: the idle client takes a worker first.
    let idle = TcpStream::connect(addr).await.unwrap();
    let mut echo = Vec::new();
    for _ in 0..3 {
        echo.push(TcpStream::connect(addr).await.unwrap());
    }
    let echo: [TcpStream; 3] = echo.try_into().unwrap();
    let seen = serve_two_workers(&listener, clients(idle, echo)).await;
    assert_eq!(seen.accepted.get(), 4);
    assert_eq!(seen.finished.get(), 3);
    assert_eq!(seen.echoed.get(), 60_000);
    assert_eq!(seen.idle.get(), 1);
    assert_eq!(seen.other.get(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn two_workers_serve_unix_clients_and_close_the_idle_one() {
    let dir = TempDir::new("tokio-sessions");
    let path = dir.join("uds_socket");
    let listener = UnixListener::bind(&path).await.unwrap();
    let idle = UnixStream::connect(&path).await.unwrap();
    let echo = [
        UnixStream::connect(&path).await.unwrap(),
        UnixStream::connect(&path).await.unwrap(),
        UnixStream::connect(&path).await.unwrap(),
    ];
    let seen = serve_two_workers(&listener, clients(idle, echo)).await;
    assert_eq!(seen.accepted.get(), 4);
    assert_eq!(seen.finished.get(), 3);
    assert_eq!(seen.echoed.get(), 60_000);
    assert_eq!(seen.idle.get(), 1);
}
