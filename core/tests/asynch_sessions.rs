//! `asynch::sessions::Sessions::serve` over the in-memory transport: N clients echoed at once,
//! the (N+1)th waiting for a free worker, the idle timeout on the manual clock, failures, and
//! a prompt stop.

mod async_util;

use core::cell::{Cell, RefCell};
use core::future::poll_fn;
use core::net::SocketAddr;
use core::task::Poll;

use async_util::{block_on, clock};
use embassy_futures::join::{join, join3};
use portsock_core::asynch::drive::run_stream;
use portsock_core::asynch::sessions::{Event, Sessions};
use portsock_core::asynch::time::Timer;
use portsock_core::asynch::transport::{Listener, Read, Shutdown, Stream, Write};
use portsock_core::echo::stream::{EchoClient, EchoSession};
use portsock_core::mem::{MemError, MemListener, MemStream, StreamPair};
use portsock_core::time::{Duration, Instant};

const PIPE: usize = 64;
type Session = EchoSession<[u8; 64]>;

fn listener<'p>(pairs: &'p [StreamPair<'p, PIPE>]) -> MemListener<'p, PIPE> {
    MemListener::new("127.0.0.1:10000".parse().unwrap(), pairs)
}

fn pairs<const K: usize>() -> [StreamPair<'static, PIPE>; K] {
    core::array::from_fn(|_| StreamPair::new().with_max_io(5, 11))
}

/// A message of `n` bytes, different for each `seed`.
fn message(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8 ^ seed).collect()
}

/// Echoes `message` over `end` with a half-closing client, counting it in `done`.
async fn client(mut end: MemStream<'_, PIPE>, message: &[u8], done: &Cell<usize>) {
    let mut c = EchoClient::new(message, [0u8; 64])
        .with_chunk(64)
        .with_window(PIPE)
        .with_half_close(true);
    run_stream(&mut end, &mut c, &mut |_| {})
        .await
        .expect("the echo");
    assert_eq!(c.received(), message.len());
    done.set(done.get() + 1);
}

/// Completes once `done` counts `n` (polled with the clients, in the same task).
async fn all_done(done: &Cell<usize>, n: usize) {
    poll_fn(|_| {
        if done.get() >= n {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

/// The events as lines, without the `Stepped` ones.
fn record<'l, 'p>(
    log: &'l RefCell<Vec<String>>,
) -> impl FnMut(Event<'_, MemListener<'p, PIPE>, Session>) + 'l {
    move |event| {
        let line = match event {
            Event::Accepted {
                id, worker, peer, ..
            } => format!("accepted {id} by {worker} from {peer}"),
            Event::Stepped { .. } => return,
            Event::Finished { id, machine, .. } => {
                format!("finished {id} after {} bytes", machine.sent())
            }
            Event::Failed { id, error, .. } => format!("failed {id}: {error}"),
            Event::IdleTimeout { id, .. } => format!("idle {id} at {}", clock().now()),
            Event::Closed { id, .. } => format!("closed {id} at {}", clock().now()),
            other => format!("{other:?}"),
        };
        log.borrow_mut().push(line);
    }
}

fn make(_: &SocketAddr) -> Session {
    EchoSession::new([0u8; 64]).with_chunk(64)
}

#[test]
fn n_clients_are_echoed_at_once() {
    let pairs = pairs::<3>();
    let listener = listener(&pairs);
    let ends = [(); 3].map(|()| listener.connect().unwrap());
    let messages = [message(3000, 1), message(2000, 2), message(1000, 3)];
    let done = Cell::new(0);
    let log = RefCell::new(Vec::new());
    let [a, b, c] = ends;
    let clients = join3(
        client(a, &messages[0], &done),
        client(b, &messages[1], &done),
        client(c, &messages[2], &done),
    );
    let server = Sessions::new(&listener, clock()).serve::<3, _, _, _, _>(
        make,
        record(&log),
        all_done(&done, 3),
    );
    block_on(join(clients, server));
    let log = log.into_inner();
    assert_eq!(
        log[..3],
        [
            "accepted 0 by 0 from 127.0.0.1:49152",
            "accepted 1 by 1 from 127.0.0.1:49153",
            "accepted 2 by 2 from 127.0.0.1:49154",
        ],
        "all three served at once: {log:?}"
    );
    let mut finished = log[3..].to_vec();
    finished.sort();
    assert_eq!(
        finished,
        [
            "finished 0 after 3000 bytes",
            "finished 1 after 2000 bytes",
            "finished 2 after 1000 bytes"
        ],
        "{log:?}"
    );
}

#[test]
fn a_client_beyond_n_waits_for_a_free_worker() {
    let pairs = pairs::<3>();
    let listener = listener(&pairs);
    let [a, b, c] = [(); 3].map(|()| listener.connect().unwrap());
    let messages = [message(500, 1), message(3000, 2), message(700, 3)];
    let done = Cell::new(0);
    let log = RefCell::new(Vec::new());
    let clients = join3(
        client(a, &messages[0], &done),
        client(b, &messages[1], &done),
        client(c, &messages[2], &done),
    );
    let server = Sessions::new(&listener, clock()).serve::<2, _, _, _, _>(
        make,
        record(&log),
        all_done(&done, 3),
    );
    block_on(join(clients, server));
    let log = log.into_inner();
    let third = log
        .iter()
        .position(|l| l.starts_with("accepted 2"))
        .expect("the third accepted");
    let first_done = log
        .iter()
        .position(|l| l.starts_with("finished"))
        .expect("a session finished");
    assert!(first_done < third, "the third waited for a worker: {log:?}");
    assert_eq!(
        log[third], "accepted 2 by 0 from 127.0.0.1:49154",
        "the first worker, free first"
    );
    assert_eq!(
        log.iter().filter(|l| l.starts_with("finished")).count(),
        3,
        "{log:?}"
    );
}

#[test]
fn a_silent_session_times_out_and_an_active_one_does_not() {
    let pairs = pairs::<2>();
    let listener = listener(&pairs);
    let [mut silent, mut slow] = [(); 2].map(|()| listener.connect().unwrap());
    let done = Cell::new(0);
    let log = RefCell::new(Vec::new());
    let timer = clock();
    let idle = Duration::from_millis(1_000);
    let silent_client = async {
        let n = Read::read(&mut silent, &mut [0u8; 8]).await.expect("read");
        assert_eq!(n, 0, "the server closed the idle session");
        assert_eq!(
            timer.now(),
            Instant::from_millis(1_000),
            "at the idle timeout"
        );
        done.set(done.get() + 1);
    };
    let slow_client = async {
        // Three bytes 600 ms apart: 1.2 s in all, never 1 s without I/O.
        for byte in [b"a", b"b", b"c"] {
            timer
                .sleep_until(timer.now() + Duration::from_millis(600))
                .await;
            Write::write_all(&mut slow, byte).await.expect("write");
        }
        Stream::shutdown(&mut slow, Shutdown::Write)
            .await
            .expect("shutdown");
        let mut echo = Vec::new();
        let mut buf = [0u8; 8];
        loop {
            match Read::read(&mut slow, &mut buf).await.expect("read") {
                0 => break,
                n => echo.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(echo, b"abc");
        done.set(done.get() + 1);
    };
    let server = Sessions::new(&listener, timer)
        .with_idle_timeout(idle)
        .serve::<1, _, _, _, _>(make, record(&log), all_done(&done, 2));
    block_on(join3(silent_client, slow_client, server));
    assert_eq!(
        log.into_inner(),
        [
            "accepted 0 by 0 from 127.0.0.1:49152",
            "idle 0 at 1.000s",
            "accepted 1 by 0 from 127.0.0.1:49153",
            "finished 1 after 3 bytes",
        ]
    );
}

#[test]
fn a_reset_session_fails_and_the_worker_goes_on() {
    let pairs = pairs::<2>();
    let listener = listener(&pairs);
    let [reset, ok] = [(); 2].map(|()| listener.connect().unwrap());
    reset.abort();
    let done = Cell::new(0);
    let log = RefCell::new(Vec::new());
    let text = message(100, 7);
    let server = Sessions::new(&listener, clock()).serve::<1, _, _, _, _>(
        make,
        record(&log),
        all_done(&done, 1),
    );
    block_on(join(client(ok, &text, &done), server));
    let log = log.into_inner();
    assert_eq!(log[1], "failed 0: transport: connection reset", "{log:?}");
    assert_eq!(log[3], "finished 1 after 100 bytes", "{log:?}");
}

#[test]
fn stop_closes_open_sessions_and_returns_at_once() {
    let pairs = pairs::<3>();
    let listener = listener(&pairs);
    let mut silent = listener.connect().unwrap();
    let log = RefCell::new(Vec::new());
    let timer = clock();
    let stop = timer.sleep_until(Instant::from_millis(500));
    block_on(Sessions::new(&listener, timer).serve::<2, _, _, _, _>(make, record(&log), stop));
    assert_eq!(
        timer.now(),
        Instant::from_millis(500),
        "returned when stop completed"
    );
    assert_eq!(
        log.into_inner(),
        ["accepted 0 by 0 from 127.0.0.1:49152", "closed 0 at 0.500s"]
    );
    let mut buf = [0u8; 4];
    assert_eq!(
        block_on(Read::read(&mut silent, &mut buf)),
        Ok(0),
        "the closed session's peer reads end of stream"
    );
    // A connection made after the stop waits in the backlog: nobody accepts it.
    let _late = listener.connect().unwrap();
    assert_eq!(
        portsock_core::transport::Listener::accept(&mut { listener }).map(|(_, peer)| peer),
        Ok("127.0.0.1:49153".parse().unwrap()),
        "still in the backlog, for the next accept"
    );
}

thread_local! {
    /// Operations the sessions' transport may still make in this poll of the executor.
    static BUDGET: Cell<u32> = const { Cell::new(0) };
}

/// Takes one unit of [`BUDGET`], or returns `Pending` (waking at once) when it is spent: a
/// cooperative budget per poll of the whole task, as tokio's.
fn spend(cx: &mut core::task::Context<'_>) -> Poll<()> {
    BUDGET.with(|b| match b.get() {
        0 => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        n => {
            b.set(n - 1);
            Poll::Ready(())
        }
    })
}

/// A mem stream or listener whose every operation spends [`BUDGET`].
struct Coop<T>(T);

impl<T: embedded_io_async::ErrorType> embedded_io_async::ErrorType for Coop<T> {
    type Error = T::Error;
}

impl<T: Read> Read for Coop<T> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, T::Error> {
        poll_fn(spend).await;
        self.0.read(buf).await
    }
}

impl<T: Write> Write for Coop<T> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, T::Error> {
        poll_fn(spend).await;
        self.0.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), T::Error> {
        self.0.flush().await
    }
}

impl<T: Stream> Stream for Coop<T> {
    type Addr = T::Addr;

    async fn shutdown(&mut self, how: Shutdown) -> Result<(), T::Error> {
        self.0.shutdown(how).await
    }

    fn local_addr(&self) -> Result<T::Addr, T::Error> {
        self.0.local_addr()
    }

    fn peer_addr(&self) -> Result<T::Addr, T::Error> {
        self.0.peer_addr()
    }
}

impl<'p> Listener for Coop<MemListener<'p, PIPE>> {
    type Addr = SocketAddr;
    type Stream<'a>
        = Coop<MemStream<'p, PIPE>>
    where
        Self: 'a;

    async fn accept(&self) -> Result<(Self::Stream<'_>, SocketAddr), MemError> {
        poll_fn(spend).await;
        let (stream, peer) = self.0.accept().await?;
        Ok((Coop(stream), peer))
    }

    fn local_addr(&self) -> Result<SocketAddr, MemError> {
        Listener::local_addr(&self.0)
    }
}

/// Under a cooperative budget per poll of the task (tokio's), a busy session on the first
/// worker does not starve the second: the workers take turns at being polled first, so a short
/// echo on the second finishes long before a long one on the first.
#[test]
fn a_busy_session_does_not_starve_the_others_under_a_task_budget() {
    let pairs = pairs::<2>();
    let listener = Coop(listener(&pairs));
    let [long, short] = [(); 2].map(|()| listener.0.connect().unwrap());
    let (long_text, short_text) = (message(20_000, 1), message(100, 2));
    let done = Cell::new(0);
    let finished = RefCell::new(Vec::new());
    let clients = join(
        client(long, &long_text, &done),
        client(short, &short_text, &done),
    );
    let server = Sessions::new(&listener, clock()).serve::<2, _, _, _, _>(
        make,
        |event| {
            if let Event::Finished { id, .. } = event {
                finished.borrow_mut().push(id);
            }
        },
        all_done(&done, 2),
    );
    let mut both = core::pin::pin!(join(clients, server));
    block_on(poll_fn(|cx| {
        BUDGET.with(|b| b.set(8));
        both.as_mut().poll(cx)
    }));
    assert_eq!(*finished.borrow(), [1, 0], "the short echo finished first");
}
