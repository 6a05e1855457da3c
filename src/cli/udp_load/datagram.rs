//! The load's datagram (sequence number, send time, filler) and the tally of its echoes.

use std::net::SocketAddr;
use std::time::Instant as StdInstant;

use portsock_core::transport::Received;

use super::HEADER;

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
    pub(super) rtts: Vec<u64>,
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
    pub(super) fn percentile(&mut self, pct: u64) -> Option<u64> {
        percentile(&mut self.rtts, pct)
    }
}

/// The report as the echoes come in.
pub(super) struct Tally {
    pub(super) report: Report,
    /// Which sequence numbers came back.
    pub(super) seen: Vec<bool>,
    /// The highest sequence number come back so far.
    pub(super) highest: Option<u64>,
    pub(super) size: usize,
}

impl Tally {
    /// Counts the echo of `received.len` bytes in `buf`, arrived now.
    pub(super) fn take(
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
pub(super) fn fill(buf: &mut [u8], seq: u64, at_ns: u64) {
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
