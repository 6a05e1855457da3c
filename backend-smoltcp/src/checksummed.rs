//! A device wrapper that makes smoltcp compute and verify every checksum.

use smoltcp::phy::{Checksum, ChecksumCapabilities, Device, DeviceCapabilities};
use smoltcp::time::Instant;

/// Wraps a device so smoltcp computes checksums on transmit and verifies them on receive
/// (IPv4, TCP, UDP, ICMP), whatever the device claims.
///
/// smoltcp's [`Loopback`](smoltcp::phy::Loopback) reports checksums as ignored (a frame
/// cannot change between its own transmit and receive), so a
/// [`FaultInjector`](smoltcp::phy::FaultInjector)'s corrupted frames would be delivered as
/// they are. Put this between the two, `FaultInjector<Checksummed<Loopback>>`, and corruption
/// is caught and dropped as on a real link.
#[derive(Debug)]
pub struct Checksummed<D> {
    inner: D,
}

impl<D> Checksummed<D> {
    /// Wraps `inner`.
    pub const fn new(inner: D) -> Self {
        Self { inner }
    }

    /// The wrapped device.
    pub fn into_inner(self) -> D {
        self.inner
    }
}

impl<D: Device> Device for Checksummed<D> {
    type RxToken<'a>
        = D::RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = D::TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        self.inner.receive(timestamp)
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<Self::TxToken<'_>> {
        self.inner.transmit(timestamp)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = self.inner.capabilities();
        let mut checksum = ChecksumCapabilities::default();
        checksum.ipv4 = Checksum::Both;
        checksum.tcp = Checksum::Both;
        checksum.udp = Checksum::Both;
        checksum.icmpv4 = Checksum::Both;
        #[cfg(feature = "ipv6")]
        {
            checksum.icmpv6 = Checksum::Both;
        }
        caps.checksum = checksum;
        caps
    }
}
