//! Scaffolding for the echo server's tests: a server on its own thread, distinct byte patterns,
//! plain-std clients that verify every byte, and waiting on the server's counters.
#![allow(dead_code, unreachable_pub)]

use std::io::{self, Read, Write};
#[cfg(feature = "mio")]
use std::net::SocketAddr;
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
#[cfg(feature = "mio")]
use std::path::Path;
use std::thread;
#[cfg(feature = "mio")]
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portsock_core::echo::stream::EchoSession;
#[cfg(feature = "mio")]
use portsock_server::{EchoServer, Observer, ServerConfig, ShutdownHandle, Stopped};
use portsock_server::{Stats, StatsHandle};

/// The echo server's session type, which its observers watch.
pub type Echo = EchoSession<Box<[u8]>>;

/// How long any single client operation may wait before the test fails instead of hanging.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

// The mio server's (feature `mio`); server_tokio.rs has its own.
#[cfg(feature = "mio")]
/// An echo server running on its own thread, with its observer.
pub struct Running<O = ()> {
    pub addr: SocketAddr,
    pub stop: ShutdownHandle,
    pub stats: StatsHandle,
    thread: JoinHandle<io::Result<(Stopped, O)>>,
}

// The mio server's (feature `mio`); server_tokio.rs has its own.
#[cfg(feature = "mio")]
/// How a [`Running`] server ended.
pub struct Ended<O> {
    pub stopped: Stopped,
    /// From the shutdown request to `run` returning.
    pub took: Duration,
    pub observer: O,
}

// The mio server's (feature `mio`); server_tokio.rs has its own.
#[cfg(feature = "mio")]
impl Running {
    /// Starts a server on 127.0.0.1 (and on the Unix socket `unix`, if given).
    pub fn start(config: ServerConfig, unix: Option<&Path>) -> Self {
        Self::start_with(config, unix, ())
    }
}

// The mio server's (feature `mio`); server_tokio.rs has its own.
#[cfg(feature = "mio")]
impl<O: Observer<Echo> + Send + 'static> Running<O> {
    /// As [`Running::start`], with an observer.
    pub fn start_with(config: ServerConfig, unix: Option<&Path>, observer: O) -> Self {
        let mut server = EchoServer::new(config).expect("server");
        let addr = server
            .bind_tcp("127.0.0.1:0".parse().unwrap())
            .expect("bind");
        if let Some(path) = unix {
            server.bind_unix(path).expect("bind unix");
        }
        let stop = server.shutdown_handle();
        let stats = server.stats();
        let thread = thread::spawn(move || {
            let mut observer = observer;
            let stopped = server.run_with(&mut observer)?;
            Ok((stopped, observer))
        });
        Self {
            addr,
            stop,
            stats,
            thread,
        }
    }

    /// Stops the server through its handle and returns how it ended.
    pub fn stop(self) -> Ended<O> {
        let started = Instant::now();
        self.stop.shutdown().expect("shutdown");
        let (stopped, observer) = self.thread.join().expect("server thread").expect("run");
        Ended {
            stopped,
            took: started.elapsed(),
            observer,
        }
    }

    /// Waits for `run` to return by itself (a signal stopped it).
    pub fn join(self) -> (Stopped, O) {
        self.thread.join().expect("server thread").expect("run")
    }
}

/// Waits until the server's counters satisfy `done`, failing the test with the last
/// snapshot after `within`.
pub fn wait_for(
    stats: &StatsHandle,
    within: Duration,
    what: &str,
    done: impl Fn(&Stats) -> bool,
) -> Stats {
    let deadline = Instant::now() + within;
    loop {
        let now = stats.snapshot();
        if done(&now) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {now:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// `len` bytes that differ from client to client (`seed`) and from offset to offset
/// (xorshift64*), so a byte echoed to the wrong client or at the wrong place shows.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A plain std stream socket a test client uses: TCP or Unix.
pub trait ClientStream: Read + Write + Send + Sized + 'static {
    fn shutdown_write(&self) -> io::Result<()>;
    fn try_clone_stream(&self) -> io::Result<Self>;
    fn set_timeouts(&self, timeout: Duration) -> io::Result<()>;
}

impl ClientStream for TcpStream {
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
    fn try_clone_stream(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn set_timeouts(&self, timeout: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(timeout))?;
        self.set_write_timeout(Some(timeout))
    }
}

impl ClientStream for UnixStream {
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
    fn try_clone_stream(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn set_timeouts(&self, timeout: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(timeout))?;
        self.set_write_timeout(Some(timeout))
    }
}

/// The client side of an idle timeout of `timeout`: one client stays silent, another talks
/// every 50 ms for two and a half timeouts; the silent one must be closed by the server (not
/// before the timeout) and the busy one still echoed.
pub fn idle_and_busy_clients(addr: std::net::SocketAddr, timeout: Duration) {
    let connect = || {
        let c = TcpStream::connect(addr).unwrap();
        c.set_timeouts(IO_TIMEOUT).unwrap();
        c
    };
    let mut idle = connect();
    let mut busy = connect();
    let started = Instant::now();
    while started.elapsed() < timeout * 5 / 2 {
        busy.write_all(b"ping").unwrap();
        let mut back = [0u8; 4];
        busy.read_exact(&mut back).unwrap();
        thread::sleep(Duration::from_millis(50));
    }
    assert!(read_to_eof(&mut idle).unwrap().is_empty()); // closed by the server
    assert!(started.elapsed() >= timeout);
    busy.write_all(b"still").unwrap();
    let mut back = [0u8; 5];
    busy.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"still");
}

/// Reads until end of stream and returns everything read.
pub fn read_to_eof<S: Read>(stream: &mut S) -> io::Result<Vec<u8>> {
    let mut all = Vec::new();
    stream.read_to_end(&mut all)?;
    Ok(all)
}

/// Sends `message` from a second thread while reading the echo, then half-closes and reads
/// to end of stream; fails unless exactly `message` came back, then end of stream. Works for
/// messages larger than every buffer on the way.
pub fn echo_full_duplex<S: ClientStream>(mut stream: S, message: Vec<u8>) -> io::Result<()> {
    let mut writer = stream.try_clone_stream()?;
    let len = message.len();
    let sending = thread::spawn(move || -> io::Result<Vec<u8>> {
        writer.write_all(&message)?;
        writer.shutdown_write()?; // FIN right behind the data
        Ok(message)
    });
    let echoed = read_to_eof(&mut stream)?;
    let message = sending.join().expect("writer thread")?;
    check_echo(&message, &echoed)?;
    assert_eq!(echoed.len(), len);
    Ok(())
}

/// An error naming the first byte where `echoed` differs from `sent`, or the length mismatch.
pub fn check_echo(sent: &[u8], echoed: &[u8]) -> io::Result<()> {
    if let Some(i) = sent.iter().zip(echoed).position(|(a, b)| a != b) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "echoed byte {i}: sent {:#04x}, got {:#04x}",
                sent[i], echoed[i]
            ),
        ));
    }
    if sent.len() != echoed.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("sent {} bytes, {} came back", sent.len(), echoed.len()),
        ));
    }
    Ok(())
}
