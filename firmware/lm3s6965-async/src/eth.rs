//! The LM3S6965's Ethernet MAC as an [`embassy_net_driver::Driver`], woken by its interrupt.
//!
//! The registers are the board crate's ([`portsock_lm3s6965_board::enet`]), as in the
//! blocking image; the difference is the waiting. When `receive` finds the receive FIFO empty
//! (or `transmit` finds the transmitter busy) it registers the caller's waker and unmasks
//! "frame received" (or "transmit FIFO empty") in the MAC; the interrupt masks every source
//! again and wakes the network task, which polls the driver once more. An event between the
//! check and the unmask is caught by the board's [`arm_wakeup`](mac::arm_wakeup), which checks
//! again after unmasking.

use core::task::Context;

use cortex_m_rt::exception;
use embassy_net_driver::{Capabilities, HardwareAddress, LinkState};
use embassy_sync::waitqueue::AtomicWaker;
use portsock_lm3s6965_board::enet::{self as mac, FRAME_MAX};

/// The network task's waker, woken by the Ethernet interrupt.
static WAKER: AtomicWaker = AtomicWaker::new();

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
    /// Frames handed to the stack.
    pub received: u32,
    /// Frames sent.
    pub sent: u32,
    /// Received frames dropped: too short or too long for the buffer.
    pub dropped: u32,
    /// Frames lost in the MAC: its receive FIFO overflowed (MACRIS.FOV).
    pub overruns: u32,
}

/// The frame counters, copied out by the network task for the control port.
#[cfg(feature = "control")]
pub static STATS: critical_section::Mutex<core::cell::Cell<Stats>> =
    critical_section::Mutex::new(core::cell::Cell::new(Stats {
        received: 0,
        sent: 0,
        dropped: 0,
        overruns: 0,
    }));

impl Enet {
    /// Brings the controller up ([`mac::init`]), all interrupt sources masked until a wait
    /// arms one.
    ///
    /// `rx` and `tx` are the frame buffers (one frame each; the FIFOs are the real queue),
    /// in statics of their own: a driver that held them would be built on the stack first.
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

    fn publish_stats(&self) {
        #[cfg(feature = "control")]
        critical_section::with(|cs| STATS.borrow(cs).set(self.stats));
    }
}

/// Every interrupt but SysTick's lands here: the Ethernet one masks its sources and wakes
/// the network task.
#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if irqn == mac::IRQ {
        mac::mask_interrupts();
        WAKER.wake();
    }
}

impl embassy_net_driver::Driver for Enet {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, cx: &mut Context) -> Option<(RxToken<'_>, TxToken<'_>)> {
        if mac::take_overrun() {
            self.stats.overruns += 1;
        }
        loop {
            if !mac::frame_waiting() {
                WAKER.register(cx.waker());
                if !mac::arm_wakeup(mac::INT_RX) {
                    // A frame came in meanwhile: be polled again.
                    cx.waker().wake_by_ref();
                }
                self.publish_stats();
                return None;
            }
            match mac::read_frame(self.rx) {
                Some(len) => {
                    self.stats.received += 1;
                    let rx = RxToken {
                        frame: &mut self.rx[..len],
                    };
                    let tx = TxToken {
                        buf: &mut *self.tx,
                        sent: &mut self.stats.sent,
                    };
                    return Some((rx, tx));
                }
                None => self.stats.dropped += 1,
            }
        }
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<TxToken<'_>> {
        if !mac::tx_idle() {
            WAKER.register(cx.waker());
            if mac::arm_wakeup(mac::INT_TX) {
                return None;
            }
        }
        Some(TxToken {
            buf: &mut *self.tx,
            sent: &mut self.stats.sent,
        })
    }

    fn link_state(&mut self, _cx: &mut Context) -> LinkState {
        // QEMU's model has no PHY to ask (see the board crate); silicon would read the PHY's
        // status over MII and wake on its interrupt.
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = FRAME_MAX;
        // One frame in flight: the transmit FIFO holds exactly one.
        caps.max_burst_size = Some(1);
        caps
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}

/// A received frame, already out of the FIFO.
pub struct RxToken<'a> {
    frame: &'a mut [u8],
}

impl embassy_net_driver::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// The right to send one frame.
pub struct TxToken<'a> {
    buf: &'a mut [u8; FRAME_MAX],
    sent: &'a mut u32,
}

impl embassy_net_driver::TxToken for TxToken<'_> {
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
