//! Connections ping-ponging at a steady pace on one mio loop: each sends a [`MESSAGE`]-byte
//! message every `interval`, the connections' turns spread evenly over the interval, and
//! checks every echoed byte against the pattern (`echo/client.rs`). A connection whose echo
//! is not back when its next turn comes skips that turn (counted as late). A wrong byte, an
//! early end of stream or a socket error counts as an error, and the connection is made again.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use crate::client::{PERIOD, Pattern, check};

/// The size of each message.
pub(crate) const MESSAGE: usize = 64;

/// What happened over one stretch of the run.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) round_trips: u64,
    pub(crate) errors: u64,
    /// Turns skipped because the last echo was not back yet.
    pub(crate) late: u64,
    pub(crate) latencies: Vec<Duration>,
    /// The first error's text.
    pub(crate) first_error: Option<String>,
}

impl Tally {
    /// The 99th percentile of the round trips' latency.
    pub(crate) fn p99(&mut self) -> Option<Duration> {
        self.latencies.sort_unstable();
        let last = self.latencies.len().checked_sub(1)?;
        Some(self.latencies[last * 99 / 100])
    }

    fn error(&mut self, e: &io::Error) {
        self.errors += 1;
        self.first_error.get_or_insert_with(|| e.to_string());
    }
}

struct Player {
    conn: TcpStream,
    start: usize,
    /// Messages whose echo came back whole.
    round: u64,
    /// Bytes of the current echo so far.
    got: usize,
    awaiting: bool,
    sent_at: Instant,
}

/// The connections and their schedule.
pub(crate) struct Players {
    addr: SocketAddr,
    poll: Poll,
    events: Events,
    players: Vec<Player>,
    pattern: Pattern,
    interval: Duration,
    began: Instant,
    /// Turns taken so far, all connections together.
    turns: u64,
    buf: [u8; MESSAGE],
}

impl Players {
    /// Connects `n` clients to `addr`, one after another.
    pub(crate) fn connect(addr: SocketAddr, n: usize, interval: Duration) -> io::Result<Self> {
        let poll = Poll::new()?;
        let mut players = Vec::with_capacity(n);
        for i in 0..n {
            let mut conn = open(addr)?;
            poll.registry()
                .register(&mut conn, Token(i), Interest::READABLE)?;
            players.push(Player {
                conn,
                start: (i * 104_729) % PERIOD,
                round: 0,
                got: 0,
                awaiting: false,
                sent_at: Instant::now(),
            });
        }
        Ok(Self {
            addr,
            poll,
            events: Events::with_capacity(1024),
            players,
            pattern: Pattern::new(),
            interval,
            began: Instant::now(),
            turns: 0,
            buf: [0; MESSAGE],
        })
    }

    /// When turn `turn` is due.
    fn due(&self, turn: u64) -> Instant {
        let n = self.players.len() as u64;
        let nanos = self.interval.as_nanos() as u64;
        self.began + Duration::from_nanos((turn / n) * nanos + (turn % n) * nanos / n)
    }

    /// Plays until `until`, adding what happened to `tally`.
    pub(crate) fn play(&mut self, until: Instant, tally: &mut Tally) -> io::Result<()> {
        if self.turns == 0 {
            self.began = Instant::now();
        }
        loop {
            let now = Instant::now();
            if now >= until {
                return Ok(());
            }
            while self.due(self.turns) <= now {
                let i = (self.turns % self.players.len() as u64) as usize;
                self.turns += 1;
                if self.players[i].awaiting {
                    tally.late += 1;
                } else if let Err(e) = self.serve(i) {
                    tally.error(&e);
                    self.reconnect(i)?;
                }
            }
            let wait = self
                .due(self.turns)
                .min(until)
                .saturating_duration_since(now);
            self.poll.poll(&mut self.events, Some(wait))?;
            let ready: Vec<usize> = self.events.iter().map(|e| e.token().0).collect();
            for i in ready {
                if let Err(e) = self.receive(i, tally) {
                    tally.error(&e);
                    self.reconnect(i)?;
                }
            }
        }
    }

    /// Sends player `i`'s next message.
    fn serve(&mut self, i: usize) -> io::Result<()> {
        let p = &mut self.players[i];
        let message = self.pattern.at(p.start, p.round * MESSAGE as u64, MESSAGE);
        p.sent_at = Instant::now();
        match p.conn.write(message)? {
            MESSAGE => {
                p.awaiting = true;
                Ok(())
            }
            n => Err(io::Error::other(format!("short write of {n} bytes"))),
        }
    }

    /// Reads what came back for player `i` and checks it.
    fn receive(&mut self, i: usize, tally: &mut Tally) -> io::Result<()> {
        let p = &mut self.players[i];
        loop {
            if !p.awaiting {
                // Nothing is due back: any byte now is one too many.
                return match p.conn.read(&mut self.buf) {
                    Ok(0) => Err(io::Error::other("the server closed the connection")),
                    Ok(_) => Err(io::Error::other("bytes came back that were not sent")),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
                    Err(e) => Err(e),
                };
            }
            let n = match p.conn.read(&mut self.buf[p.got..]) {
                Ok(0) => return Err(io::Error::other("the server closed the connection")),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            };
            let at = p.round * MESSAGE as u64 + p.got as u64;
            check(
                self.pattern.at(p.start, at, n),
                &self.buf[p.got..p.got + n],
                at,
            )?;
            p.got += n;
            if p.got == MESSAGE {
                tally.round_trips += 1;
                tally.latencies.push(p.sent_at.elapsed());
                p.round += 1;
                p.got = 0;
                p.awaiting = false;
            }
        }
    }

    /// Replaces player `i`'s connection with a new one, from the start of its pattern.
    fn reconnect(&mut self, i: usize) -> io::Result<()> {
        let p = &mut self.players[i];
        let _ = self.poll.registry().deregister(&mut p.conn);
        p.conn = open(self.addr)?;
        self.poll
            .registry()
            .register(&mut p.conn, Token(i), Interest::READABLE)?;
        p.round = 0;
        p.got = 0;
        p.awaiting = false;
        Ok(())
    }

    /// Closes every connection with a reset (no `TIME_WAIT` left behind).
    pub(crate) fn close(self) {
        for p in &self.players {
            let _ = socket2::SockRef::from(&p.conn).set_linger(Some(Duration::ZERO));
        }
    }
}

/// A new non-blocking connection with `TCP_NODELAY`.
fn open(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    s.set_nodelay(true)?;
    s.set_nonblocking(true)?;
    Ok(TcpStream::from_std(s))
}
