//! A device wrapper that counts the frames that really moved, so the stack knows when a poll
//! round did anything (smoltcp's `PollResult` only reports socket state changes, not an ARP or
//! neighbour-discovery exchange that a `Loopback` device holds for the next round).

use core::cell::Cell;

use smoltcp::phy::{Device, DeviceCapabilities, RxToken, TxToken};
use smoltcp::time::Instant;

/// `D`, counting every frame received or sent through it.
#[derive(Debug)]
pub(crate) struct Counted<D> {
    pub(crate) inner: D,
    moved: Cell<u32>,
}

impl<D> Counted<D> {
    pub(crate) const fn new(inner: D) -> Self {
        Self {
            inner,
            moved: Cell::new(0),
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
        self.token.consume(f)
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
        let moved = &self.moved;
        self.inner.receive(timestamp).map(|(rx, tx)| {
            (
                CountedRx { token: rx, moved },
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
