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

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use portsock_core::time::{Clock, Duration};
use portsock_core::transport::{Datagram, Received};
use serde_json::json;

use portsock_std::time::SystemClock;
use portsock_std::udp::UdpSocket;

use super::CliError;
use super::echo::client_bind_addr;
use super::net::{BackendArg, HostPort, Out, PyAddr, Thousands};

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

/// What came back.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) sent: u64,
    /// Distinct datagrams echoed intact.
    pub(crate) received: u64,
    /// Echoes that arrived after one with a higher sequence number.
    pub(crate) reordered: u64,
    pub(crate) duplicated: u64,
    /// Echoes whose bytes differ from what was sent (or of an unknown sequence number).
    pub(crate) corrupt: u64,
    /// Datagrams from another address than the server's, ignored.
    pub(crate) foreign: u64,
    /// Round trips of the intact echoes, in nanoseconds.
    rtts: Vec<u64>,
    /// From the start to the end of the run (the last echo, or the wait after the last send).
    pub(crate) seconds: f64,
    /// From the start to the last send.
    pub(crate) send_seconds: f64,
}

impl Report {
    pub(crate) fn lost(&self) -> u64 {
        self.sent - self.received
    }

    /// The round trip at `pct` percent (nearest rank), in nanoseconds; sorts once.
    fn percentile(&mut self, pct: u64) -> Option<u64> {
        percentile(&mut self.rtts, pct)
    }
}

/// The report as the echoes come in.
struct Tally {
    report: Report,
    /// Which sequence numbers came back.
    seen: Vec<bool>,
    /// The highest sequence number come back so far.
    highest: Option<u64>,
    size: usize,
}

impl Tally {
    /// Counts the echo of `received.len` bytes in `buf`, arrived now.
    fn take(
        &mut self,
        buf: &[u8],
        received: Received<SocketAddr>,
        server: SocketAddr,
        start: StdInstant,
    ) {
        let arrived = start.elapsed().as_nanos() as u64;
        let report = &mut self.report;
        if received.from != server {
            report.foreign += 1;
            return;
        }
        let data = &buf[..received.copied(buf.len())];
        match check(data, self.size) {
            Some((seq, at)) if (seq as usize) < self.seen.len() && at <= arrived => {
                if self.seen[seq as usize] {
                    report.duplicated += 1;
                    return;
                }
                self.seen[seq as usize] = true;
                report.received += 1;
                report.rtts.push(arrived - at);
                if self.highest.is_some_and(|h| seq < h) {
                    report.reordered += 1;
                } else {
                    self.highest = Some(seq);
                }
            }
            _ => report.corrupt += 1,
        }
    }
}

/// The nearest-rank `pct` percentile of `values` (sorted in place).
fn percentile(values: &mut [u64], pct: u64) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = (pct as usize * values.len()).div_ceil(100).max(1);
    values.get(rank - 1).copied()
}

/// Fills `buf` as datagram `seq` sent `at_ns` after the start.
fn fill(buf: &mut [u8], seq: u64, at_ns: u64) {
    buf[..8].copy_from_slice(&seq.to_be_bytes());
    buf[8..HEADER].copy_from_slice(&at_ns.to_be_bytes());
    for (i, b) in buf[HEADER..].iter_mut().enumerate() {
        *b = filler(seq, i);
    }
}

fn filler(seq: u64, i: usize) -> u8 {
    (seq as usize).wrapping_mul(31).wrapping_add(i) as u8
}

/// The `seq` and send time of an echo of `size` bytes, if it is intact.
fn check(data: &[u8], size: usize) -> Option<(u64, u64)> {
    if data.len() != size {
        return None;
    }
    let seq = u64::from_be_bytes(data[..8].try_into().ok()?);
    let at = u64::from_be_bytes(data[8..HEADER].try_into().ok()?);
    let intact = data[HEADER..]
        .iter()
        .enumerate()
        .all(|(i, b)| *b == filler(seq, i));
    intact.then_some((seq, at))
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

/// The load options of `echo client`, checked: `None` without `--count`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LoadArgs {
    pub(crate) count: Option<usize>,
    pub(crate) size: Option<usize>,
    pub(crate) rate: Option<u64>,
    /// Whether `--chunk` was given (the load reads whole datagrams).
    pub(crate) chunk: bool,
}

impl LoadArgs {
    /// The load asked for, or `None` (the chapter's one message); `udp` says whether the
    /// client runs over UDP, `linger` is `--timeout`.
    pub(crate) fn load(
        self,
        udp: bool,
        message_given: bool,
        linger: Option<StdDuration>,
    ) -> Result<Option<Load>, CliError> {
        let Some(count) = self.count else {
            if self.size.is_some() || self.rate.is_some() {
                let option = if self.size.is_some() {
                    "--size"
                } else {
                    "--rate"
                };
                return Err(CliError::new(option, "applies with --count N (UDP load)"));
            }
            return Ok(None);
        };
        if !udp {
            return Err(CliError::new(
                "--count",
                "a UDP load test: --proto udp (a stream's echo is verified byte by byte already)",
            ));
        }
        if message_given {
            return Err(CliError::new(
                "--message",
                "the load's datagrams carry sequence numbers and times: give --size instead",
            ));
        }
        if self.chunk {
            return Err(CliError::new(
                "--chunk",
                "the load reads each echo whole: give --size for the datagrams' size",
            ));
        }
        if count == 0 || count > MAX_COUNT {
            return Err(CliError::new(
                format_args!("--count {count}"),
                format_args!("expected 1 to {}", Thousands(MAX_COUNT as u64)),
            ));
        }
        let size = self.size.unwrap_or(DEFAULT_SIZE);
        if size < HEADER {
            return Err(CliError::new(
                format_args!("--size {size}"),
                format_args!("expected at least {HEADER} bytes (sequence number and send time)"),
            ));
        }
        let rate = self.rate.unwrap_or(DEFAULT_RATE);
        if rate == 0 || rate > 10_000_000 {
            return Err(CliError::new(
                format_args!("--rate {rate}"),
                "expected 1 to 10,000,000 datagrams per second",
            ));
        }
        Ok(Some(Load {
            count,
            size,
            rate,
            linger: linger.unwrap_or(StdDuration::from_secs(1)),
        }))
    }
}

/// `echo client --proto udp --count N` on the std or smoltcp backend.
///
/// # Errors
///
/// Bad input, a socket that failed, echoes altered or none at all.
pub(crate) fn client(backend: &BackendArg, hp: &HostPort, load: Load) -> Result<(), CliError> {
    if backend.on_embassy()? {
        return Err(CliError::new(
            "--count",
            "a UDP load runs on --backend std or smoltcp",
        ));
    }
    if backend.check()? {
        #[cfg(feature = "smoltcp")]
        {
            let stack = super::smol::stack(backend)?;
            let server = super::smol::peer_addr(&stack, hp, "--addr")?;
            check_size(server, load.size)?;
            let mut socket = portsock_smoltcp::UdpSocket::bind(&stack, client_bind_addr(server))
                .map_err(|e| CliError::new("udp", e))?;
            let done = run(&mut socket, &stack, server, load, &mut Out::stdout());
            super::smol::linger(&stack);
            return done;
        }
    }
    let server = hp.resolve("--addr")?;
    check_size(server, load.size)?;
    let mut socket =
        UdpSocket::bind(client_bind_addr(server)).map_err(|e| CliError::new("udp", e))?;
    run(&mut socket, &SystemClock, server, load, &mut Out::stdout())
}

fn check_size(server: SocketAddr, size: usize) -> Result<(), CliError> {
    let limit = UdpSocket::max_payload(&server);
    if size > limit {
        return Err(CliError::new(
            format_args!("--size {size}"),
            format_args!(
                "UDP over {} to {server} carries at most {} bytes",
                if server.is_ipv4() { "IPv4" } else { "IPv6" },
                Thousands(limit as u64)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentile(&mut v, 50), Some(50));
        assert_eq!(percentile(&mut v, 99), Some(99));
        assert_eq!(percentile(&mut v, 0), Some(1));
        assert_eq!(percentile(&mut v, 100), Some(100));
        assert_eq!(percentile(&mut [7], 99), Some(7));
        assert_eq!(percentile(&mut [], 50), None);
    }

    #[test]
    fn an_echo_is_intact_only_if_every_byte_matches() {
        let mut buf = vec![0u8; 40];
        fill(&mut buf, 5, 1234);
        assert_eq!(check(&buf, 40), Some((5, 1234)));
        assert_eq!(check(&buf[..39], 40), None);
        let mut bad = buf.clone();
        bad[30] ^= 1;
        assert_eq!(check(&bad, 40), None);
        // Another sequence number's filler does not pass for this one.
        let mut other = buf.clone();
        other[..8].copy_from_slice(&6u64.to_be_bytes());
        assert_eq!(check(&other, 40), None);
    }
}
