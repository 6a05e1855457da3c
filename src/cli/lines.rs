//! The chapter's server lines, written once for every server of the command line: the
//! one-at-a-time servers (`echo`), the mio and tokio servers behind `--concurrent`
//! (`concurrent`, `binary`) and the smoltcp one (`smol`).
//!
//! ```text
//! connection from ('127.0.0.1', 52186)
//! received b'This is the mess'
//! sending data back to the client
//! ...
//! received b''
//! no data from ('127.0.0.1', 52186)
//! ```
//!
//! With many clients at once their lines interleave. A failed connection, which would end the
//! chapter's server with a traceback, gets `error from ADDR: ERROR`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use portsock_core::echo::stream::{EchoSession, SessionEvent};
use portsock_core::record::{Hexlify, ReceiverEvent, RecordReceiver};
use portsock_core::wire::repr::{PyBytes, write_tuple};
use portsock_server::{Closed, Observer, Peer, Stats};

use serde_json::{Value, json};

use super::hexin::encode as encode_hex;
use super::jsonl;
use super::net::{Out, PyAddr, PyShow, Thousands};
use super::printer::Printer;

/// Where lines go: stdout at once ([`Out`]), or through the event loop's [`Printer`]. With
/// `--json` the text lines are dropped and the events written, one JSON object per line.
pub(crate) trait Lines {
    fn line(&mut self, line: fmt::Arguments<'_>);
    /// One event as a JSON object, written only with `--json`.
    fn event(&mut self, value: Value);
}

impl Lines for Out {
    fn line(&mut self, line: fmt::Arguments<'_>) {
        Self::line(self, line);
    }

    fn event(&mut self, value: Value) {
        Self::event(self, value);
    }
}

impl Lines for Printer {
    fn line(&mut self, line: fmt::Arguments<'_>) {
        if !jsonl::on() {
            Self::line(self, line);
        }
    }

    fn event(&mut self, value: Value) {
        if jsonl::on() {
            Self::line(self, format_args!("{value}"));
        }
    }
}

/// A peer as the chapter prints it (`Display`: `('127.0.0.1', 52186)`) and as the JSON
/// events name it ([`plain`](Self::plain): `127.0.0.1:52186`, a Unix path, `""` for an
/// unnamed Unix client).
pub(crate) trait ShowPeer: fmt::Display {
    fn plain(&self) -> String;
}

impl ShowPeer for PyAddr {
    fn plain(&self) -> String {
        self.0.to_string()
    }
}

impl ShowPeer for PyPeer<'_> {
    fn plain(&self) -> String {
        match self.0 {
            Peer::Tcp(addr) => addr.to_string(),
            Peer::Unix(addr) => addr.to_string(),
            _ => self.to_string(),
        }
    }
}

/// What failed when it is not a peer (`accept`).
impl ShowPeer for &str {
    fn plain(&self) -> String {
        (*self).to_owned()
    }
}

/// A peer of any transport, both ways of showing it computed once.
pub(crate) struct Named {
    py: String,
    plain: String,
}

impl Named {
    pub(crate) fn of(addr: &impl PyShow) -> Self {
        Self {
            py: addr.py(),
            plain: addr.plain(),
        }
    }
}

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.py)
    }
}

impl ShowPeer for Named {
    fn plain(&self) -> String {
        self.plain.clone()
    }
}

/// A server's first line, `starting up on localhost port 10000` (or `on PATH`), and the
/// address it listens on, for its `{"event":"listening","addr":...}` event.
pub(crate) struct StartingUp {
    pub(crate) text: String,
    pub(crate) addr: String,
}

impl fmt::Display for StartingUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl StartingUp {
    /// `starting up on PATH`, a Unix server's.
    pub(crate) fn unix(path: &std::path::Path) -> Self {
        Self {
            text: format!("starting up on {}", path.display()),
            addr: path.display().to_string(),
        }
    }

    /// The line (if `announce`) and the event.
    pub(crate) fn print(&self, out: &mut impl Lines, announce: bool) {
        if announce {
            out.line(format_args!("{self}"));
        }
        out.event(json!({ "event": "listening", "addr": self.addr }));
    }
}

/// `connection from ('127.0.0.1', 52186)`; `{"event":"connection","peer":...}`.
pub(crate) fn connection_from(out: &mut impl Lines, peer: &dyn ShowPeer) {
    out.line(format_args!("connection from {peer}"));
    out.event(json!({ "event": "connection", "peer": peer.plain() }));
}

/// An echo session's event as the chapter prints it; `received` (`len`, `data_hex`), `sent`
/// (`len`) and `peer_closed` events.
pub(crate) fn echo_event(out: &mut impl Lines, peer: &dyn ShowPeer, event: SessionEvent<'_>) {
    match event {
        SessionEvent::Received(data) => {
            out.line(format_args!("received {}", PyBytes(data)));
            out.event(json!({
                "event": "received", "peer": peer.plain(), "len": data.len(), "data_hex": encode_hex(data),
            }));
        }
        SessionEvent::Sending(len) => {
            out.line(format_args!("sending data back to the client"));
            out.event(json!({ "event": "sent", "peer": peer.plain(), "len": len }));
        }
        SessionEvent::PeerClosed => {
            out.line(format_args!("received b''"));
            out.line(format_args!("no data from {peer}"));
            out.event(json!({ "event": "peer_closed", "peer": peer.plain() }));
        }
        _ => {}
    }
}

/// A record received: `received b'<hex>'` and `unpacked: (...)`; returns the tuple as Python
/// prints it.
pub(crate) fn record_event(out: &mut impl Lines, event: ReceiverEvent<'_>) -> Option<String> {
    let ReceiverEvent::Received { bytes, values } = event else {
        return None;
    };
    let hex = Hexlify(bytes).to_string();
    out.line(format_args!("received {}", PyBytes(hex.as_bytes())));
    let mut tuple = String::new();
    // Writing to a String cannot fail.
    let _ = write_tuple(&mut tuple, values);
    out.line(format_args!("unpacked: {tuple}"));
    out.event(json!({
        "event": "record", "len": bytes.len(), "data_hex": hex, "unpacked": tuple,
    }));
    Some(tuple)
}

/// How a connection ended, when it is worth a line: `error from ADDR: ERROR`, or
/// `idle timeout: closed ADDR`.
pub(crate) fn closed(out: &mut impl Lines, peer: &dyn ShowPeer, how: Closed<'_>) {
    match how {
        Closed::Failed(e) => error_from(out, peer, e),
        Closed::IdleTimeout => idle_closed(out, peer),
        _ => {}
    }
}

/// `idle timeout: closed ADDR`: a connection silent for the idle timeout was closed.
pub(crate) fn idle_closed(out: &mut impl Lines, peer: &dyn ShowPeer) {
    out.line(format_args!("idle timeout: closed {peer}"));
    out.event(json!({ "event": "idle_timeout", "peer": peer.plain() }));
}

/// `error from ADDR: ERROR`: a connection failed (where the chapter's server would stop with a
/// traceback).
pub(crate) fn error_from(out: &mut impl Lines, peer: &dyn ShowPeer, error: &dyn fmt::Display) {
    out.line(format_args!("error from {peer}: {error}"));
    out.event(json!({ "event": "error", "peer": peer.plain(), "error": error.to_string() }));
}

/// The `--quiet` server's last line: connections, bytes, duration and rate.
pub(crate) fn summary(out: &mut impl Lines, stats: &Stats, ran: std::time::Duration) {
    let secs = ran.as_secs_f64();
    let rate = if secs > 0.0 {
        stats.bytes_received as f64 / secs / 1e6
    } else {
        0.0
    };
    out.line(format_args!(
        "served {} connections ({} failed, {} timed out): {} bytes in, {} bytes out, {secs:.3} s, {rate:.1} MB/s",
        Thousands(stats.accepted),
        Thousands(stats.failed),
        Thousands(stats.timed_out),
        Thousands(stats.bytes_received),
        Thousands(stats.bytes_sent),
    ));
    out.event(json!({
        "event": "summary",
        "connections": stats.accepted,
        "failed": stats.failed,
        "timed_out": stats.timed_out,
        "bytes_in": stats.bytes_received,
        "bytes_out": stats.bytes_sent,
        "seconds": secs,
        "mb_per_s": rate,
    }));
}

/// A client's address as Python's `print()` shows what `accept()` returned.
pub(crate) struct PyPeer<'a>(pub(crate) &'a Peer);

impl fmt::Display for PyPeer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Peer::Tcp(addr) => PyAddr(*addr).fmt(f),
            Peer::Unix(addr) => f.write_str(&addr.py()),
            _ => write!(f, "{:?}", self.0),
        }
    }
}

/// Stops the server an observer watches: the mio server's handle, or the tokio server's.
pub(crate) trait StopServer {
    fn stop(&self);
}

impl StopServer for portsock_server::ShutdownHandle {
    fn stop(&self) {
        // Waking our own loop cannot fail in a way worth stopping for: the flag is set.
        let _ = self.shutdown();
    }
}

#[cfg(feature = "tokio")]
impl StopServer for portsock_server::tokio::TokioShutdownHandle {
    fn stop(&self) {
        self.shutdown();
    }
}

/// The server observer of the command line: the chapter's lines for every connection (or, if
/// `quiet`, only the errors), through a [`Printer`]; it stops the server (through `H`) once
/// `limit` connections have closed. The mio server has one; the tokio server a clone per
/// connection (its own batch of lines, the same count of closed connections), so the lines
/// are the same whichever runtime serves.
#[derive(Clone)]
pub(crate) struct ServerLines<H> {
    pub(crate) out: Printer,
    pub(crate) quiet: bool,
    pub(crate) closed: Arc<AtomicUsize>,
    pub(crate) limit: Option<usize>,
    pub(crate) stop: H,
}

impl<H: StopServer> ServerLines<H> {
    fn count_close(&mut self, peer: &Peer, how: Closed<'_>) {
        closed(&mut self.out, &PyPeer(peer), how);
        let closed = self.closed.fetch_add(1, Ordering::AcqRel) + 1;
        if self.limit.is_some_and(|n| closed >= n) {
            self.stop.stop();
        }
    }
}

impl<H: StopServer> Observer<EchoSession<Box<[u8]>>> for ServerLines<H> {
    fn accepted(&mut self, _id: u64, peer: &Peer) {
        if !self.quiet {
            connection_from(&mut self.out, &PyPeer(peer));
        }
    }

    fn events(&mut self, _id: u64, peer: &Peer, session: &mut EchoSession<Box<[u8]>>) {
        if self.quiet {
            return;
        }
        while let Some(event) = session.poll_event() {
            echo_event(&mut self.out, &PyPeer(peer), event);
        }
    }

    fn closed(&mut self, _id: u64, peer: &Peer, how: Closed<'_>) {
        self.count_close(peer, how);
    }

    fn turn_done(&mut self) {
        self.out.flush();
    }
}

impl<H: StopServer> Observer<RecordReceiver<'_, Box<[u8]>>> for ServerLines<H> {
    fn events(&mut self, _id: u64, _peer: &Peer, receiver: &mut RecordReceiver<'_, Box<[u8]>>) {
        if self.quiet {
            return;
        }
        while let Some(event) = receiver.poll_event() {
            record_event(&mut self.out, event);
        }
    }

    fn closed(&mut self, _id: u64, peer: &Peer, how: Closed<'_>) {
        self.count_close(peer, how);
    }

    fn turn_done(&mut self) {
        self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_print_as_python_prints_them() {
        let v4 = Peer::Tcp("127.0.0.1:10000".parse().unwrap());
        assert_eq!(PyPeer(&v4).to_string(), "('127.0.0.1', 10000)");
        let v6 = Peer::Tcp("[::1]:10000".parse().unwrap());
        assert_eq!(PyPeer(&v6).to_string(), "('::1', 10000, 0, 0)");
        let unix = Peer::Unix(portsock_std::unix::UnixAddr::Unnamed);
        assert_eq!(PyPeer(&unix).to_string(), "");
    }

    #[test]
    fn the_chapter_lines_of_a_session() {
        let mut out = Out::buffer();
        let peer = PyAddr("127.0.0.1:52186".parse().unwrap());
        connection_from(&mut out, &peer);
        echo_event(&mut out, &peer, SessionEvent::Received(b"This is the mess"));
        echo_event(&mut out, &peer, SessionEvent::Sending(16));
        echo_event(&mut out, &peer, SessionEvent::PeerClosed);
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        closed(&mut out, &peer, Closed::Failed(&reset));
        closed(&mut out, &peer, Closed::Shutdown);
        closed(&mut out, &peer, Closed::IdleTimeout);
        assert_eq!(
            out.into_lines(),
            [
                "connection from ('127.0.0.1', 52186)".to_owned(),
                "received b'This is the mess'".into(),
                "sending data back to the client".into(),
                "received b''".into(),
                "no data from ('127.0.0.1', 52186)".into(),
                format!("error from ('127.0.0.1', 52186): {reset}"),
                "idle timeout: closed ('127.0.0.1', 52186)".into(),
            ]
        );
    }
}
