//! The attackers and the victim's probe: blocking sockets with timeouts, so that a stalled
//! server shows as a timeout in the figures, never as a hung benchmark.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token};

/// Connects to `addr` with `TCP_NODELAY` and read/write timeouts of `timeout`.
pub(crate) fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    Ok(s)
}

/// Closes with a reset (`SO_LINGER` 0), so that no `TIME_WAIT` is left behind.
pub(crate) fn reset(s: &TcpStream) {
    let _ = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO));
}

/// Round trips of one client, as its latencies; one that timed out counts as the timeout.
#[derive(Debug, Default, Clone)]
pub(crate) struct Trips {
    pub(crate) latencies: Vec<Duration>,
    /// Round trips that got no answer within the timeout.
    pub(crate) failed: usize,
}

impl Trips {
    /// The `q` quantile (0.5: the median), or `None` without round trips.
    pub(crate) fn quantile(&self, q: f64) -> Option<Duration> {
        let mut v = self.latencies.clone();
        v.sort_unstable();
        let last = v.len().checked_sub(1)?;
        Some(v[(last as f64 * q).round() as usize])
    }

    pub(crate) fn max(&self) -> Option<Duration> {
        self.latencies.iter().max().copied()
    }

    pub(crate) fn merge(&mut self, other: Self) {
        self.latencies.extend(other.latencies);
        self.failed += other.failed;
    }
}

/// A client doing `size`-byte round trips on its own connection, one at a time, until
/// `until`, until `max` were made, or until three of them failed (a failure also ends the connection:
/// a late echo would be taken for the next one's, so the probe connects again).
pub(crate) fn probe(
    addr: SocketAddr,
    size: usize,
    max: usize,
    timeout: Duration,
    until: Instant,
) -> io::Result<Trips> {
    let give_up = 3;
    let mut trips = Trips::default();
    let mut conn = connect(addr, timeout)?;
    let mut back = vec![0u8; size];
    let mut round: u64 = 0;
    while trips.latencies.len() < max && trips.failed < give_up && Instant::now() < until {
        round += 1;
        let message: Vec<u8> = (0..size as u64)
            .map(|i| (round.wrapping_mul(31) + i) as u8)
            .collect();
        let sent = Instant::now();
        let ok = conn
            .write_all(&message)
            .and_then(|()| conn.read_exact(&mut back));
        match ok {
            Ok(()) if back == message => trips.latencies.push(sent.elapsed()),
            Ok(()) => return Err(io::Error::other("the probe's echo came back wrong")),
            Err(_) => {
                trips.failed += 1;
                trips.latencies.push(timeout);
                reset(&conn);
                match connect(addr, timeout) {
                    Ok(c) => conn = c,
                    Err(_) => break,
                }
            }
        }
        // Round trips a few milliseconds apart, as an interactive client makes them, rather
        // than a tight loop competing with the server for the two cores.
        thread::sleep(Duration::from_millis(2));
    }
    reset(&conn);
    Ok(trips)
}

/// Sends `len` bytes on one connection (one thread writes, this one reads) and returns how
/// many correct bytes came back before `timeout` passed without any.
pub(crate) fn big_echo(addr: SocketAddr, len: usize, timeout: Duration) -> io::Result<usize> {
    let conn = connect(addr, timeout)?;
    let message: Arc<Vec<u8>> = Arc::new((0..len).map(|i| (i % 251) as u8).collect());
    let mut writer = conn.try_clone()?;
    let sent = Arc::clone(&message);
    let writing = thread::spawn(move || writer.write_all(&sent));
    let mut reader = conn.try_clone()?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0;
    while got < len {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if buf[..n] != message[got..(got + n).min(len)] {
                    return Err(io::Error::other(format!(
                        "echoed byte {got}+ came back wrong"
                    )));
                }
                got += n;
            }
        }
    }
    reset(&conn);
    let _ = conn.shutdown(std::net::Shutdown::Both);
    let _ = writing.join();
    Ok(got)
}

/// `n` clients that each push `each` bytes and never read, on one thread with non-blocking
/// sockets, until they have sent it all or [`Hogs::stop`] is called.
pub(crate) struct Hogs {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: Option<thread::JoinHandle<io::Result<()>>>,
}

impl Hogs {
    /// Connects the `n` hogs (one at a time, so no backlog overflows) and starts pushing.
    pub(crate) fn start(addr: SocketAddr, n: usize, each: u64) -> io::Result<Self> {
        let mut conns = Vec::with_capacity(n);
        for _ in 0..n {
            let s = connect(addr, Duration::from_secs(5))?;
            s.set_nonblocking(true)?;
            conns.push(MioStream::from_std(s));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (flag, count) = (Arc::clone(&stop), Arc::clone(&sent));
        let thread = thread::spawn(move || push(conns, each, &flag, &count));
        Ok(Self {
            stop,
            sent,
            thread: Some(thread),
        })
    }

    /// Bytes the hogs have sent so far.
    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Stops pushing and resets every hog's connection.
    pub(crate) fn stop(mut self) -> io::Result<()> {
        self.stop.store(true, Ordering::Release);
        match self.thread.take().map(thread::JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(io::Error::other("hog thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn push(
    mut conns: Vec<MioStream>,
    each: u64,
    stop: &AtomicBool,
    sent: &AtomicU64,
) -> io::Result<()> {
    let chunk = vec![0x68u8; 64 * 1024];
    let mut poll = Poll::new()?;
    for (i, c) in conns.iter_mut().enumerate() {
        poll.registry().register(c, Token(i), Interest::WRITABLE)?;
    }
    let mut left = vec![each; conns.len()];
    let mut events = Events::with_capacity(256);
    let write = |conn: &mut MioStream, left: &mut u64| {
        while *left > 0 {
            let len = (*left).min(chunk.len() as u64) as usize;
            match conn.write(&chunk[..len]) {
                Ok(n) => {
                    *left -= n as u64;
                    sent.fetch_add(n as u64, Ordering::Relaxed);
                }
                // Full (the server stopped reading), or the server is gone: wait, or give up
                // on this hog.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => *left = 0,
            }
        }
    };
    for (c, l) in conns.iter_mut().zip(&mut left) {
        write(c, l);
    }
    while !stop.load(Ordering::Acquire) {
        poll.poll(&mut events, Some(Duration::from_millis(10)))?;
        for event in &events {
            let i = event.token().0;
            write(&mut conns[i], &mut left[i]);
        }
    }
    for c in &conns {
        let _ = socket2::SockRef::from(c).set_linger(Some(Duration::ZERO));
    }
    Ok(())
}

/// Opens `n` connections one after another, each making one 1-byte round trip (so the server
/// has accepted and served it), then leaves them idle; they close with a reset when dropped.
pub(crate) fn idle(addr: SocketAddr, n: usize) -> io::Result<Vec<TcpStream>> {
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let mut s = connect(addr, Duration::from_secs(10))
            .map_err(|e| io::Error::new(e.kind(), format!("idle connection {i}: {e}")))?;
        let byte = [i as u8];
        let mut back = [0u8];
        s.write_all(&byte)?;
        s.read_exact(&mut back)
            .map_err(|e| io::Error::new(e.kind(), format!("idle connection {i}'s echo: {e}")))?;
        if back != byte {
            return Err(io::Error::other(format!("idle connection {i}: wrong echo")));
        }
        conns.push(s);
    }
    Ok(conns)
}

/// Resets every connection.
pub(crate) fn close_all(conns: Vec<TcpStream>) {
    for c in &conns {
        reset(c);
    }
}
