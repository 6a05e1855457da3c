//! Watching and exercising a multicast group beyond the chapter's one datagram:
//! `multicast receive --no-ack [--hex]` prints every datagram with its arrival time and
//! answers nothing (a listener that changes nothing on the group), and `multicast send
//! --count N --interval S` sends the message N times, collecting each one's replies as the
//! chapter's sender does before the next goes out.

use std::fmt;
use std::net::SocketAddr;
use std::time::Instant as StdInstant;

use portsock_core::time::Clock;
use portsock_core::transport::Datagram;
use portsock_core::wire::repr::PyBytes;
use serde_json::json;

use super::hexin::encode as encode_hex;
use super::multicast::{Collect, send_round};
use super::net::Out;
use super::{CliError, jsonl};

/// The largest UDP payload: a watcher keeps every datagram whole.
const MAX_DATAGRAM: usize = 65_535;

/// How `multicast receive --no-ack` shows what it sees.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Watch {
    /// Payloads as lowercase hex instead of Python's bytes repr.
    pub(crate) hex: bool,
    /// Datagrams to see before returning (forever without).
    pub(crate) count: Option<usize>,
}

/// Receives datagrams on a joined `socket` and prints each one, answering none: `TIME FROM
/// LEN bytes PAYLOAD` (`2026-12-06T13:52:01.123456Z 127.0.0.1:41234 19 bytes b'very
/// important data'`), or a `received` event with `time`, `peer`, `len` and `data_hex`.
/// Returns how many were seen.
///
/// # Errors
///
/// The socket failed.
pub(crate) fn watch<T>(socket: &mut T, watch: Watch, out: &mut Out) -> Result<usize, CliError>
where
    T: Datagram<Addr = SocketAddr, Error: fmt::Display>,
{
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut seen = 0;
    while watch.count.is_none_or(|n| seen < n) {
        let Some(received) = socket
            .recv_from(&mut buf, None)
            .map_err(|e| CliError::new("multicast receive", e))?
        else {
            continue;
        };
        let time = jiff::Timestamp::now();
        seen += 1;
        let data = &buf[..received.copied(buf.len())];
        let from = received.from;
        if watch.hex {
            out.line(format_args!(
                "{time:.6} {from} {} bytes {}",
                data.len(),
                encode_hex(data)
            ));
        } else {
            out.line(format_args!(
                "{time:.6} {from} {} bytes {}",
                data.len(),
                PyBytes(data)
            ));
        }
        out.event(jsonl::data(
            "received",
            data,
            json!({ "time": format!("{time:.6}"), "peer": from.to_string(), "seq": seen }),
        ));
    }
    out.event(json!({ "event": "summary", "datagrams": seen }));
    Ok(seen)
}

/// How `multicast send --count N --interval S` repeats the chapter's send.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Repeat {
    /// Datagrams to send.
    pub(crate) count: usize,
    /// From one send to the next (longer when collecting the replies took longer).
    pub(crate) interval: std::time::Duration,
}

/// Sends `message` to `group` `repeat.count` times, `repeat.interval` apart, collecting each
/// one's replies as `wait` says (the chapter's lines each time), then `closing socket` and a
/// `summary` event (datagrams sent, replies, seconds). Returns the replies in all.
///
/// # Errors
///
/// The socket failed.
pub(crate) fn send_repeated<T, C>(
    socket: &mut T,
    clock: &C,
    group: SocketAddr,
    message: &[u8],
    wait: Collect,
    repeat: Repeat,
    out: &mut Out,
) -> Result<usize, CliError>
where
    T: Datagram<Addr = SocketAddr, Error: fmt::Display>,
    C: Clock + ?Sized,
{
    let started = StdInstant::now();
    let mut replies = 0;
    for seq in 1..=repeat.count {
        if seq > 1 {
            // On a schedule from the start, so a slow round does not push every later one.
            let due = started + repeat.interval * (seq as u32 - 1);
            std::thread::sleep(due.saturating_duration_since(StdInstant::now()));
        }
        replies += send_round(socket, clock, group, message, wait, out)?.len();
    }
    out.line("closing socket");
    out.event(json!({
        "event": "summary",
        "sent": repeat.count,
        "replies": replies,
        "seconds": started.elapsed().as_secs_f64(),
    }));
    Ok(replies)
}
