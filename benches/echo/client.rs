//! The load: one client thread with a mio event loop over every connection, the same for
//! every server, checking every echoed byte against what was sent.
//!
//! Bytes come from one pseudo-random pattern with a prime period, [`PERIOD`]; each connection
//! starts at its own offset in it, so a byte echoed on the wrong connection, twice, or out of
//! order differs from the expected one. The pattern is stored one write longer than the
//! period, so the bytes due at any offset are one contiguous slice and checking is a
//! `memcmp`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mio::net::{TcpStream, UnixStream};
use mio::{Events, Interest, Poll, Token};

/// The size of each write in the throughput runs.
pub(crate) const WRITE: usize = 64 * 1024;
/// The size of each ping-pong message.
pub(crate) const MESSAGE: usize = 64;
/// The pattern's period: a prime, so it lines up with no write or read size.
pub(crate) const PERIOD: usize = 65_521;
/// How long the event loop may see nothing happen before a run is declared stuck.
const STALL: Duration = Duration::from_secs(30);
/// How long an accept burst may take before it is reported as "more than this".
pub(crate) const ACCEPT_LIMIT: Duration = Duration::from_secs(30);

/// Where a client connects.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// What a ping-pong run measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PingPong {
    pub(crate) round_trips: usize,
    pub(crate) elapsed: Duration,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
}

impl PingPong {
    pub(crate) fn per_second(&self) -> f64 {
        self.round_trips as f64 / self.elapsed.as_secs_f64()
    }
}

/// The bytes every client sends.
pub(crate) struct Pattern(Vec<u8>);

impl Pattern {
    pub(crate) fn new() -> Self {
        let mut x: u64 = 0x853c_49e6_748f_ea9b;
        let mut bytes: Vec<u8> = (0..PERIOD)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        // One write more, continuing the period, so any slice of up to WRITE bytes is whole.
        for i in 0..WRITE {
            bytes.push(bytes[i]);
        }
        Self(bytes)
    }

    /// `len` (at most [`WRITE`]) bytes of the stream that starts at `start`, from `at` on.
    pub(crate) fn at(&self, start: usize, at: u64, len: usize) -> &[u8] {
        let from = (start as u64 + at) % PERIOD as u64;
        let from = from as usize;
        &self.0[from..from + len]
    }
}

/// A connected stream, non-blocking.
enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Conn {
    /// Connects and waits for the connection (a blocking connect); if `warm_up` is given,
    /// also sends it and waits for its echo (so the server has accepted and served this
    /// connection before the next one comes); then goes non-blocking.
    fn connect(target: &Target, warm_up: Option<&[u8]>) -> io::Result<Self> {
        fn ready<S: Read + Write>(s: &mut S, warm_up: Option<&[u8]>) -> io::Result<()> {
            let Some(message) = warm_up else {
                return Ok(());
            };
            s.write_all(message)?;
            let mut back = vec![0u8; message.len()];
            s.read_exact(&mut back)?;
            check(message, &back, 0)
        }
        match target {
            Target::Tcp(addr) => {
                let mut s = std::net::TcpStream::connect(addr)?;
                s.set_nodelay(true)?;
                ready(&mut s, warm_up)?;
                s.set_nonblocking(true)?;
                Ok(Self::Tcp(TcpStream::from_std(s)))
            }
            Target::Unix(path) => {
                let mut s = std::os::unix::net::UnixStream::connect(path)?;
                ready(&mut s, warm_up)?;
                s.set_nonblocking(true)?;
                Ok(Self::Unix(UnixStream::from_std(s)))
            }
        }
    }

    fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Self::Tcp(s) => s,
            Self::Unix(s) => s,
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.read(buf),
            Self::Unix(s) => s.read(buf),
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.write(buf),
            Self::Unix(s) => s.write(buf),
        }
    }

    fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.shutdown(Shutdown::Write),
            Self::Unix(s) => s.shutdown(Shutdown::Write),
        }
    }

    /// Makes the coming close skip `TIME_WAIT` (`SO_LINGER` 0: the close resets). Used only
    /// after the FIN exchange is complete; otherwise the tens of thousands of connections a
    /// run opens would sit in `TIME_WAIT` for a minute and slow every later `connect`'s search
    /// for a free port.
    fn skip_time_wait(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => socket2::SockRef::from(s).set_linger(Some(Duration::ZERO)),
            Self::Unix(_) => Ok(()),
        }
    }
}

/// One connection of a throughput run: what it sent, and what came back, checked.
struct Flow {
    conn: Conn,
    start: usize,
    total: u64,
    sent: u64,
    received: u64,
}

/// Echoes `total` bytes over `conns` connections at once, in writes of up to [`WRITE`]
/// bytes, and returns how long it took from the first write to the last byte checked.
pub(crate) fn throughput(
    target: &Target,
    conns: usize,
    total: u64,
    pattern: &Pattern,
) -> io::Result<Duration> {
    let mut poll = Poll::new()?;
    let mut flows = Vec::with_capacity(conns);
    for i in 0..conns {
        let mut conn = Conn::connect(target, None)?;
        poll.registry().register(
            conn.source(),
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        flows.push(Flow {
            conn,
            start: (i * 7_919) % PERIOD,
            total: total / conns as u64,
            sent: 0,
            received: 0,
        });
    }
    let mut buf = vec![0u8; WRITE];
    let mut events = Events::with_capacity(1024);
    let started = Instant::now();
    let mut done = 0;
    for flow in &mut flows {
        done += usize::from(pump(flow, &mut buf, pattern)?);
    }
    while done < conns {
        poll.poll(&mut events, Some(STALL))?;
        if events.is_empty() {
            return Err(io::Error::other("throughput run stalled"));
        }
        for event in &events {
            let flow = &mut flows[event.token().0];
            if flow.received < flow.total {
                done += usize::from(pump(flow, &mut buf, pattern)?);
            }
        }
    }
    let elapsed = started.elapsed();
    finish(&mut poll, flows.iter_mut().map(|f| &mut f.conn))?;
    Ok(elapsed)
}

/// Writes and reads what one flow can without blocking; returns whether it is complete.
fn pump(flow: &mut Flow, buf: &mut [u8], pattern: &Pattern) -> io::Result<bool> {
    while flow.sent < flow.total {
        let len = (flow.total - flow.sent).min(WRITE as u64) as usize;
        match flow.conn.write(pattern.at(flow.start, flow.sent, len)) {
            Ok(n) => flow.sent += n as u64,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    loop {
        match flow.conn.read(buf) {
            Ok(0) => return Err(io::Error::other("server closed early")),
            Ok(n) => {
                check(
                    pattern.at(flow.start, flow.received, n),
                    &buf[..n],
                    flow.received,
                )?;
                flow.received += n as u64;
                if flow.received > flow.total {
                    return Err(io::Error::other("more bytes came back than were sent"));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    Ok(flow.received == flow.total)
}

/// One connection of a ping-pong run.
struct Player {
    conn: Conn,
    start: usize,
    /// Round trips done, and the one in flight.
    round: u64,
    got: usize,
    buf: [u8; MESSAGE],
    sent_at: Instant,
}

/// `rounds` round trips of a [`MESSAGE`]-byte message on each of `conns` connections at once
/// (each connection sends its next message when the echo of the last one is back and
/// checked), after two unmeasured warm-up rounds: one as each connection is opened, one with
/// all of them at once.
pub(crate) fn ping_pong(
    target: &Target,
    conns: usize,
    rounds: u64,
    pattern: &Pattern,
) -> io::Result<PingPong> {
    let mut poll = Poll::new()?;
    let mut players = Vec::with_capacity(conns);
    for i in 0..conns {
        // Round 0, one connection at a time, so no server's backlog overflows.
        let start = (i * 104_729) % PERIOD;
        let mut conn = Conn::connect(target, Some(pattern.at(start, 0, MESSAGE)))?;
        poll.registry()
            .register(conn.source(), Token(i), Interest::READABLE)?;
        players.push(Player {
            conn,
            start,
            round: 1,
            got: 0,
            buf: [0; MESSAGE],
            sent_at: Instant::now(),
        });
    }
    let mut events = Events::with_capacity(1024);
    // Warm-up: a round with every connection at once.
    play(
        &mut poll,
        &mut events,
        &mut players,
        1,
        pattern,
        &mut Vec::new(),
    )?;
    let mut latencies = Vec::with_capacity(conns * rounds as usize);
    let started = Instant::now();
    play(
        &mut poll,
        &mut events,
        &mut players,
        rounds,
        pattern,
        &mut latencies,
    )?;
    let elapsed = started.elapsed();
    finish(&mut poll, players.iter_mut().map(|p| &mut p.conn))?;
    latencies.sort_unstable();
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    Ok(PingPong {
        round_trips: latencies.len(),
        elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
    })
}

/// Plays `rounds` more rounds on every player.
fn play(
    poll: &mut Poll,
    events: &mut Events,
    players: &mut [Player],
    rounds: u64,
    pattern: &Pattern,
    latencies: &mut Vec<Duration>,
) -> io::Result<()> {
    let mut playing = players.len();
    let mut until = Vec::with_capacity(players.len());
    for p in players.iter_mut() {
        until.push(p.round + rounds);
        serve_ball(p, pattern)?;
    }
    while playing > 0 {
        poll.poll(events, Some(STALL))?;
        if events.is_empty() {
            return Err(io::Error::other("ping-pong run stalled"));
        }
        for event in events.iter() {
            let i = event.token().0;
            let p = &mut players[i];
            loop {
                match p.conn.read(&mut p.buf[p.got..]) {
                    Ok(0) => return Err(io::Error::other("server closed early")),
                    Ok(n) => p.got += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
                if p.got < MESSAGE {
                    continue;
                }
                let at = p.round * MESSAGE as u64;
                check(pattern.at(p.start, at, MESSAGE), &p.buf, at)?;
                latencies.push(p.sent_at.elapsed());
                p.round += 1;
                p.got = 0;
                if p.round == until[i] {
                    playing -= 1;
                } else {
                    serve_ball(p, pattern)?;
                }
                // One message in flight: nothing more can come until its echo, which raises a
                // new edge, so don't pay a read that would block.
                break;
            }
        }
    }
    Ok(())
}

/// Sends a player's next message; it always fits an idle socket's buffer.
fn serve_ball(p: &mut Player, pattern: &Pattern) -> io::Result<()> {
    let message = pattern.at(p.start, p.round * MESSAGE as u64, MESSAGE);
    p.sent_at = Instant::now();
    match p.conn.write(message) {
        Ok(n) if n == MESSAGE => Ok(()),
        Ok(n) => Err(io::Error::other(format!("short write of {n} bytes"))),
        Err(e) => Err(e),
    }
}

/// Opens `n` TCP connections in one burst (non-blocking `connect`s), then sends a byte on
/// each as soon as it is connected and checks its echo; returns how long until `accepted()`,
/// the server's own count of open connections, reached `n`: `None` if that took more than
/// [`ACCEPT_LIMIT`] (the connections are then reset, unchecked).
///
/// The bytes are not only a check: a server whose accept queue overflowed answers with a SYN
/// cookie and forgets the connection when it drops the client's ACK, and only the client's
/// data, retransmitted, completes such a handshake.
pub(crate) fn accept_burst(
    addr: SocketAddr,
    n: usize,
    mut accepted: impl FnMut() -> io::Result<usize>,
) -> io::Result<Option<Duration>> {
    let mut poll = Poll::new()?;
    let started = Instant::now();
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let mut conn = Conn::Tcp(TcpStream::connect(addr)?);
        poll.registry().register(
            conn.source(),
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        conns.push(conn);
    }
    let issued = started.elapsed();
    let mut all_accepted = None;
    let mut last_asked = Instant::now();
    let mut count = 0;
    let mut retries = 0;
    let mut state = vec![(false, false); n]; // (byte sent, byte back)
    let mut events = Events::with_capacity(1024);
    let mut done = 0;
    while done < n || all_accepted.is_none() {
        if all_accepted.is_none() && last_asked.elapsed() >= Duration::from_millis(1) {
            count = accepted()?;
            if count >= n {
                all_accepted = Some(started.elapsed());
            }
            last_asked = Instant::now();
        }
        if all_accepted.is_none() && started.elapsed() > ACCEPT_LIMIT {
            eprintln!("{n} connects issued in {issued:.2?}, {count} accepted in {ACCEPT_LIMIT:?}");
            for conn in &conns {
                conn.skip_time_wait()?;
            }
            return Ok(None);
        }
        if started.elapsed() > ACCEPT_LIMIT + STALL {
            return Err(io::Error::other(format!("{done} of {n} echoed")));
        }
        poll.poll(&mut events, Some(Duration::from_millis(1)))?;
        for event in &events {
            let i = event.token().0;
            match serve_byte(&mut conns[i], i as u8, &mut state[i]) {
                Ok(true) => done += 1,
                Ok(false) => {}
                // An overflowed peer resets some handshakes; connect again, as a client would.
                Err(e) if is_reset(&e) => {
                    poll.registry().deregister(conns[i].source())?;
                    conns[i] = Conn::Tcp(TcpStream::connect(addr)?);
                    poll.registry().register(
                        conns[i].source(),
                        Token(i),
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    state[i] = (false, false);
                    retries += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
    let elapsed = all_accepted.unwrap_or_default();
    eprintln!(
        "{n} connects issued in {issued:.2?}, all accepted in {elapsed:.2?}, {retries} reset and \
         made again"
    );
    finish(&mut poll, &mut conns)?;
    Ok(Some(elapsed))
}

/// Sends connection `i`'s byte once it is connected, and checks its echo; returns whether
/// the echo just came back.
fn serve_byte(conn: &mut Conn, byte: u8, (sent, back): &mut (bool, bool)) -> io::Result<bool> {
    if !*sent {
        match conn.write(&[byte]) {
            Ok(1) => *sent = true,
            Ok(_) => return Err(io::Error::other("wrote nothing")),
            // Not connected yet (EAGAIN while the handshake is under way).
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    if *back {
        return Ok(false);
    }
    let mut got = [0u8; 1];
    match conn.read(&mut got) {
        Ok(1) if got[0] == byte => {
            *back = true;
            Ok(true)
        }
        Ok(1) => Err(io::Error::other("wrong byte echoed")),
        Ok(_) => Err(io::Error::other("server closed early")),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether the connection was refused or reset (not a wrong or missing byte).
fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::NotConnected
    )
}

/// `rounds` UDP round trips of a [`MESSAGE`]-byte datagram, one at a time.
pub(crate) fn udp_ping_pong(
    server: SocketAddr,
    rounds: u64,
    pattern: &Pattern,
) -> io::Result<PingPong> {
    let socket = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    socket.connect(server)?;
    socket.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut buf = [0u8; 2 * MESSAGE];
    let mut latencies = Vec::with_capacity(rounds as usize);
    let mut once = |round: u64| -> io::Result<Duration> {
        let message = pattern.at(0, round * MESSAGE as u64, MESSAGE);
        let sent_at = Instant::now();
        socket.send(message)?;
        let n = socket.recv(&mut buf)?; // a lost datagram times out: an error, not a hang
        if n != MESSAGE {
            return Err(io::Error::other(format!("datagram of {n} bytes came back")));
        }
        check(message, &buf[..n], round * MESSAGE as u64)?;
        Ok(sent_at.elapsed())
    };
    once(1 << 40)?; // warm-up
    let started = Instant::now();
    for round in 0..rounds {
        latencies.push(once(round)?);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    Ok(PingPong {
        round_trips: latencies.len(),
        elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
    })
}

/// Half-closes every connection and waits for the server to close each in turn, failing if
/// any byte more than was sent comes back.
fn finish<'c>(poll: &mut Poll, conns: impl IntoIterator<Item = &'c mut Conn>) -> io::Result<()> {
    let mut conns: Vec<&mut Conn> = conns.into_iter().collect();
    for conn in &conns {
        conn.shutdown_write()?;
    }
    let mut open = conns.len();
    let mut closed = vec![false; conns.len()];
    let mut events = Events::with_capacity(1024);
    let mut byte = [0u8; 1];
    while open > 0 {
        poll.poll(&mut events, Some(STALL))?;
        if events.is_empty() {
            return Err(io::Error::other(format!(
                "{open} connections not closed by the server"
            )));
        }
        for event in &events {
            let i = event.token().0;
            if closed[i] {
                continue;
            }
            match conns[i].read(&mut byte) {
                Ok(0) => {
                    conns[i].skip_time_wait()?;
                    closed[i] = true;
                    open -= 1;
                }
                Ok(_) => return Err(io::Error::other("more bytes came back than were sent")),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Fails naming the first byte where `got` differs from `expected`.
pub(crate) fn check(expected: &[u8], got: &[u8], offset: u64) -> io::Result<()> {
    if expected[..got.len()] == *got {
        return Ok(());
    }
    let i = expected
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(0);
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "echoed byte {}: expected {:#04x}, got {:#04x}",
            offset + i as u64,
            expected[i],
            got[i]
        ),
    ))
}

/// The target for a Unix socket path.
pub(crate) fn unix(path: &Path) -> Target {
    Target::Unix(path.to_path_buf())
}
