//! The LM3S6965's Ethernet MAC as a smoltcp [`Device`], in poll mode: `receive` looks at the
//! frame counter, `transmit` at the transmit-request bit, and the interrupt only ends `wfi`
//! ([`arm_rx_wakeup`]). The registers, and where QEMU's model differs from the silicon, are
//! in the board crate ([`portsock_lm3s6965_board::enet`]), shared with the async image.

use cortex_m_rt::exception;
use portsock_lm3s6965_board::enet as mac;
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

pub use portsock_lm3s6965_board::enet::{FRAME_MAX, arm_rx_wakeup};

/// The Ethernet MAC with its frame buffers.
pub struct Enet {
    mac: [u8; 6],
    rx: &'static mut [u8; FRAME_MAX],
    tx: &'static mut [u8; FRAME_MAX],
    stats: Stats,
}

/// Frame counters, for the log.
#[derive(Clone, Copy, Default, Debug, defmt::Format)]
pub struct Stats {
    /// Frames handed to smoltcp.
    pub received: u32,
    /// Frames sent.
    pub sent: u32,
    /// Received frames dropped: too short or too long for the buffer.
    pub dropped: u32,
    /// Frames lost in the MAC: its receive FIFO overflowed (MACRIS.FOV).
    pub overruns: u32,
}

impl Enet {
    /// Brings the controller up ([`mac::init`]), all interrupt sources masked.
    ///
    /// `rx` and `tx` are the frame buffers (one frame each; the FIFOs are the real queue).
    pub fn new(rx: &'static mut [u8; FRAME_MAX], tx: &'static mut [u8; FRAME_MAX]) -> Self {
        Self {
            mac: mac::init(),
            rx,
            tx,
            stats: Stats::default(),
        }
    }

    /// The station address (from USER0/USER1, which QEMU fills from `-nic ...,mac=`).
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Frame counters so far (the control port of test builds reports them).
    #[cfg(feature = "control")]
    pub fn stats(&self) -> Stats {
        self.stats
    }
}

/// Every interrupt but SysTick's lands here: the Ethernet one masks itself again (it was
/// only there to end `wfi`; the main loop polls the FIFO).
#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if irqn == mac::IRQ {
        mac::mask_interrupts();
    }
}

impl Device for Enet {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        if mac::take_overrun() {
            self.stats.overruns += 1;
        }
        while mac::frame_waiting() {
            let Some(len) = mac::read_frame(self.rx) else {
                self.stats.dropped += 1;
                continue;
            };
            self.stats.received += 1;
            let rx = RxToken {
                frame: &self.rx[..len],
            };
            let tx = TxToken {
                buf: &mut *self.tx,
                sent: &mut self.stats.sent,
            };
            return Some((rx, tx));
        }
        None
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_>> {
        mac::tx_idle().then_some(TxToken {
            buf: &mut *self.tx,
            sent: &mut self.stats.sent,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = FRAME_MAX;
        // One frame in flight: the transmit FIFO holds exactly one.
        caps.max_burst_size = Some(1);
        caps
    }
}

/// A received frame, already out of the FIFO.
pub struct RxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// The right to send one frame.
pub struct TxToken<'a> {
    buf: &'a mut [u8; FRAME_MAX],
    sent: &'a mut u32,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let len = len.min(FRAME_MAX);
        let frame = &mut self.buf[..len];
        let result = f(frame);
        if len >= mac::HEADER {
            mac::write_frame(frame);
            *self.sent += 1;
        }
        result
    }
}
