//! A device wrapper that counts the frames that really moved, so the stack knows when a poll
//! round did anything (smoltcp's `PollResult` only reports socket state changes, not an ARP or
//! neighbour-discovery exchange that a `Loopback` device holds for the next round), and that
//! drops a SYN to a listener whose pool is empty, as Linux drops one when a listener's accept
//! queue is full: smoltcp would answer it with a RST (connection refused), while a dropped SYN
//! is sent again by the client a moment later, when a socket may be listening.

use core::cell::Cell;

use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant;

use crate::stack::MAX_LISTENERS;

/// `D`, counting every frame received or sent through it.
#[derive(Debug)]
pub(crate) struct Counted<D> {
    pub(crate) inner: D,
    moved: Cell<u32>,
    /// Local TCP ports of listeners with no socket listening right now: a SYN to one of them
    /// is dropped instead of refused.
    pub(crate) full: heapless::Vec<u16, MAX_LISTENERS>,
}

impl<D> Counted<D> {
    pub(crate) const fn new(inner: D) -> Self {
        Self {
            inner,
            moved: Cell::new(0),
            full: heapless::Vec::new(),
        }
    }

    /// Frames moved since the last call.
    pub(crate) fn take_moved(&self) -> u32 {
        self.moved.replace(0)
    }
}

pub(crate) struct CountedRx<'a, T> {
    token: T,
    moved: &'a Cell<u32>,
    full: &'a [u16],
    medium: Medium,
}

pub(crate) struct CountedTx<'a, T> {
    token: T,
    moved: &'a Cell<u32>,
}

impl<T: RxToken> RxToken for CountedRx<'_, T> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        self.moved.set(self.moved.get().wrapping_add(1));
        let (full, medium) = (self.full, self.medium);
        self.token.consume(|frame| {
            if !full.is_empty() && syn_port(frame, medium).is_some_and(|p| full.contains(&p)) {
                // smoltcp ignores an empty frame.
                f(&[])
            } else {
                f(frame)
            }
        })
    }

    fn meta(&self) -> smoltcp::phy::PacketMeta {
        self.token.meta()
    }
}

impl<T: TxToken> TxToken for CountedTx<'_, T> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        self.moved.set(self.moved.get().wrapping_add(1));
        self.token.consume(len, f)
    }

    fn set_meta(&mut self, meta: smoltcp::phy::PacketMeta) {
        self.token.set_meta(meta);
    }
}

impl<D: Device> Device for Counted<D> {
    type RxToken<'a>
        = CountedRx<'a, D::RxToken<'a>>
    where
        Self: 'a;
    type TxToken<'a>
        = CountedTx<'a, D::TxToken<'a>>
    where
        Self: 'a;

    fn receive(&mut self, timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let medium = self.inner.capabilities().medium;
        let (moved, full) = (&self.moved, self.full.as_slice());
        self.inner.receive(timestamp).map(|(rx, tx)| {
            (
                CountedRx {
                    token: rx,
                    moved,
                    full,
                    medium,
                },
                CountedTx { token: tx, moved },
            )
        })
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<Self::TxToken<'_>> {
        let moved = &self.moved;
        self.inner
            .transmit(timestamp)
            .map(|token| CountedTx { token, moved })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.inner.capabilities()
    }
}

/// The destination port of `frame` if it is a TCP SYN opening a connection (SYN without ACK),
/// over IPv4 or IPv6 (no extension headers), on an Ethernet or IP medium.
fn syn_port(frame: &[u8], medium: Medium) -> Option<u16> {
    let ip = match medium {
        Medium::Ethernet => match frame.get(12..14)? {
            [0x08, 0x00] | [0x86, 0xdd] => frame.get(14..)?,
            _ => return None,
        },
        #[allow(unreachable_patterns)]
        _ => frame,
    };
    let tcp = match ip.first()? >> 4 {
        4 => {
            let header = usize::from(ip[0] & 0x0f) * 4;
            let first_fragment = ip.get(6..8)? == [0, 0] || ip.get(6..8)? == [0x40, 0];
            if *ip.get(9)? != 6 || !first_fragment {
                return None;
            }
            ip.get(header..)?
        }
        6 if *ip.get(6)? == 6 => ip.get(40..)?,
        _ => return None,
    };
    let flags = *tcp.get(13)?;
    // SYN set; ACK and RST clear.
    (flags & 0x16 == 0x02).then(|| u16::from_be_bytes([tcp[2], tcp[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 TCP segment from port 40000 to 10000 with these flags.
    fn segment(flags: u8) -> [u8; 40] {
        let mut p = [0u8; 40];
        p[0] = 0x45;
        p[9] = 6;
        p[20..22].copy_from_slice(&40000u16.to_be_bytes());
        p[22..24].copy_from_slice(&10000u16.to_be_bytes());
        p[33] = flags;
        p
    }

    #[test]
    fn a_syn_is_told_from_other_segments() {
        assert_eq!(syn_port(&segment(0x02), Medium::Ip), Some(10000));
        assert_eq!(syn_port(&segment(0x12), Medium::Ip), None, "SYN-ACK");
        assert_eq!(syn_port(&segment(0x10), Medium::Ip), None, "ACK");
        assert_eq!(syn_port(&segment(0x04), Medium::Ip), None, "RST");
        let mut eth = [0u8; 54];
        eth[12..14].copy_from_slice(&[0x08, 0x00]);
        eth[14..].copy_from_slice(&segment(0x02));
        assert_eq!(syn_port(&eth, Medium::Ethernet), Some(10000));
        eth[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(syn_port(&eth, Medium::Ethernet), None, "ARP");
        assert_eq!(
            syn_port(&segment(0x02)[..30], Medium::Ip),
            None,
            "truncated"
        );
        let mut udp = segment(0x02);
        udp[9] = 17;
        assert_eq!(syn_port(&udp, Medium::Ip), None, "UDP");
    }
}
