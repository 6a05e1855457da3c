//! `echo client --proto udp --count N [--size B] [--rate PPS]`: UDP load against an echo
//! server. N datagrams of B bytes go out at PPS per second on one socket while the echoes
//! are read between sends; each datagram carries its sequence number and send time, so the
//! report can say what was sent, received, lost, reordered, duplicated or corrupted, and the
//! round trips' min, p50, p99 and max.
//!
//! A datagram is `seq` (8 bytes, big-endian), the send time in nanoseconds since the run
//! began (8 bytes), then filler derived from `seq`: an echo is good only if every byte
//! matches what that `seq` sent. The run is bounded: at most [`MAX_COUNT`] datagrams, and
//! it stops `--timeout` (1 s by default) after the last send even if echoes are missing.
//!
//! [`datagram`] holds the datagram's layout and the tally of echoes, [`options`] the command
//! line's checks and the backends.

mod datagram;
mod options;

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use portsock_core::time::{Clock, Duration};
use portsock_core::transport::Datagram;
use serde_json::json;

use self::datagram::{Report, Tally, fill};
pub(crate) use self::options::{LoadArgs, client};
use super::CliError;
use super::net::{Out, PyAddr, Thousands};

/// The most datagrams one run sends (their round trips are kept for the percentiles).
pub(crate) const MAX_COUNT: usize = 1_000_000;
/// The smallest datagram: the sequence number and the send time.
pub(crate) const HEADER: usize = 16;
/// `--size`'s default.
pub(crate) const DEFAULT_SIZE: usize = 64;
/// `--rate`'s default, datagrams per second.
pub(crate) const DEFAULT_RATE: u64 = 1_000;
/// Datagrams sent back to back at most before the socket is read again.
const BURST: u64 = 64;
/// Echoes taken at most before the next sends are due again.
const DRAIN: usize = 256;

/// What to send.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    pub(crate) count: usize,
    pub(crate) size: usize,
    /// Datagrams per second.
    pub(crate) rate: u64,
    /// How long to wait for echoes after the last send.
    pub(crate) linger: StdDuration,
}

/// Runs `load` against `server` on `socket` (any datagram transport and its clock), printing
/// the first line, then the report (or `start`, `progress` each second and `summary` JSON
/// events).
///
/// # Errors
///
/// The socket failed, or no echo came back intact at all, or some came back altered.
pub(crate) fn run<T, C>(
    socket: &mut T,
    clock: &C,
    server: SocketAddr,
    load: Load,
    out: &mut Out,
) -> Result<(), CliError>
where
    T: Datagram<Addr = SocketAddr, Error: fmt::Display>,
    C: Clock + ?Sized,
{
    out.line(format_args!(
        "sending {} datagrams of {} bytes to {} at {}/s",
        Thousands(load.count as u64),
        Thousands(load.size as u64),
        PyAddr(server),
        Thousands(load.rate)
    ));
    out.event(json!({
        "event": "start", "peer": server.to_string(), "count": load.count,
        "size": load.size, "rate": load.rate,
    }));
    let mut tally = Tally {
        report: Report {
            rtts: Vec::with_capacity(load.count),
            ..Report::default()
        },
        seen: vec![false; load.count],
        highest: None,
        size: load.size,
    };
    let mut send_buf = vec![0u8; load.size];
    let mut recv_buf = vec![0u8; load.size + 1];
    let count = load.count as u64;
    let gap_ns = 1_000_000_000 / load.rate.max(1);
    let start = StdInstant::now();
    let mut next_progress = StdDuration::from_secs(1);
    let mut last_send = start;
    let mut next = 0u64;
    loop {
        let now = start.elapsed();
        let mut burst = 0;
        while next < count && burst < BURST && next * gap_ns <= now.as_nanos() as u64 {
            let at = start.elapsed().as_nanos() as u64;
            fill(&mut send_buf, next, at);
            socket
                .send_to(&send_buf, &server)
                .map_err(|e| CliError::new(format_args!("send to {}", PyAddr(server)), e))?;
            last_send = StdInstant::now();
            next += 1;
            burst += 1;
        }
        tally.report.sent = next;
        if now >= next_progress {
            next_progress += StdDuration::from_secs(1);
            out.event(json!({
                "event": "progress", "seconds": now.as_secs_f64(),
                "sent": tally.report.sent, "received": tally.report.received,
            }));
        }
        let all_sent = next == count;
        if all_sent && (tally.report.received == count || last_send.elapsed() >= load.linger) {
            break;
        }
        // Take every echo already waiting (a bounded number, so sending keeps its pace),
        // then, if none was, wait for one until the next send is due (or, all sent, the
        // linger's end), rounded up to the clock's millisecond.
        let mut took = 0;
        while took < DRAIN {
            // A deadline already past takes a datagram that is waiting, and waits for none.
            let got = socket
                .recv_from(&mut recv_buf, Some(clock.now()))
                .map_err(|e| CliError::new(format_args!("echo from {}", PyAddr(server)), e))?;
            let Some(received) = got else { break };
            tally.take(&recv_buf, received, server, start);
            took += 1;
        }
        if took > 0 || burst == BURST {
            continue;
        }
        let until = if all_sent {
            load.linger.saturating_sub(last_send.elapsed())
        } else {
            StdDuration::from_nanos(next * gap_ns).saturating_sub(start.elapsed())
        };
        let wait = Duration::from_millis(until.as_micros().div_ceil(1000) as u64);
        let deadline = clock.now().saturating_add(wait);
        let got = socket
            .recv_from(&mut recv_buf, Some(deadline))
            .map_err(|e| CliError::new(format_args!("echo from {}", PyAddr(server)), e))?;
        if let Some(received) = got {
            tally.take(&recv_buf, received, server, start);
        }
    }
    let mut report = tally.report;
    report.seconds = start.elapsed().as_secs_f64();
    report.send_seconds = last_send.duration_since(start).as_secs_f64();
    print_report(out, &mut report, load);
    if report.corrupt > 0 {
        return Err(CliError::new(
            format_args!("echo from {}", PyAddr(server)),
            format_args!(
                "{} echoes differed from what was sent",
                Thousands(report.corrupt)
            ),
        ));
    }
    if report.received == 0 {
        return Err(CliError::new(
            format_args!("echo from {}", PyAddr(server)),
            format_args!(
                "none of {} datagrams came back within {:.3} s of the last",
                Thousands(report.sent),
                load.linger.as_secs_f64()
            ),
        ));
    }
    Ok(())
}

fn print_report(out: &mut Out, report: &mut Report, load: Load) {
    let lost_pct = 100.0 * report.lost() as f64 / report.sent.max(1) as f64;
    out.line(format_args!(
        "sent {}, received {}, lost {} ({lost_pct:.2}%), reordered {}, duplicated {}, corrupt {}",
        Thousands(report.sent),
        Thousands(report.received),
        Thousands(report.lost()),
        Thousands(report.reordered),
        Thousands(report.duplicated),
        Thousands(report.corrupt),
    ));
    let ms = |ns: Option<u64>| ns.map(|n| n as f64 / 1e6);
    let (min, p50, p99, max) = (
        ms(report.percentile(0)),
        ms(report.percentile(50)),
        ms(report.percentile(99)),
        ms(report.percentile(100)),
    );
    if let (Some(min), Some(p50), Some(p99), Some(max)) = (min, p50, p99, max) {
        out.line(format_args!(
            "round trip: min {min:.3} ms, p50 {p50:.3} ms, p99 {p99:.3} ms, max {max:.3} ms"
        ));
    }
    let rate = report.sent as f64 / report.send_seconds.max(1e-9);
    out.line(format_args!(
        "sent in {:.3} s ({rate:.0} datagrams/s), {:.3} s in all",
        report.send_seconds, report.seconds
    ));
    if report.foreign > 0 {
        out.note(format_args!(
            "ignored {} datagrams from other addresses",
            Thousands(report.foreign)
        ));
    }
    out.event(json!({
        "event": "summary",
        "sent": report.sent,
        "received": report.received,
        "lost": report.lost(),
        "lost_percent": lost_pct,
        "reordered": report.reordered,
        "duplicated": report.duplicated,
        "corrupt": report.corrupt,
        "foreign": report.foreign,
        "rtt_ms": { "min": min, "p50": p50, "p99": p99, "max": max },
        "seconds": report.seconds,
        "send_seconds": report.send_seconds,
        "sent_per_s": rate,
        "size": load.size,
        "rate": load.rate,
    }));
}
