//! The LM3S6965's registers that portsock's two firmware images share: the Stellaris Ethernet
//! MAC ([`enet`]) and the system clock's PLL ([`sysctl`]); and what both do alike on it: the
//! TCP sequence numbers' seed ([`entropy`]), the stack's high-water mark ([`stack`]) and the
//! test harness's answer lines ([`line`](mod@line)).
//!
//! Register level only: what a frame is to a network stack (smoltcp's `Device` in the blocking
//! image, `embassy_net_driver::Driver` in the async one) and who waits for the MAC's interrupt
//! (`wfi` in a poll loop, or a waker) is each image's business. A crate rather than a shared
//! module: each image is its own Cargo package (its own lock file, profile and dependency set:
//! smoltcp 0.14 under portsock-smoltcp in one, embassy-net's smoltcp in the other), and a path
//! dependency is how two packages share code. Every MMIO access is in the crate's `Reg`; with
//! LTO the calls inline as they did when the code sat in the image.
#![no_std]

pub mod enet;
pub mod entropy;
pub mod line;
pub mod stack;
pub mod sysctl;

use core::ptr;

/// One 32-bit memory-mapped register.
#[derive(Clone, Copy)]
pub(crate) struct Reg(pub(crate) usize);

impl Reg {
    pub(crate) fn read(self) -> u32 {
        // SAFETY: every `Reg` is a constant of this crate, the address of a 32-bit, 4-aligned
        // register of the Ethernet MAC or SYSCTL that is readable at any time; a read has no
        // effect on memory Rust knows about (MACDATA's FIFO pop is the device's own state).
        unsafe { ptr::read_volatile(self.0 as *const u32) }
    }

    pub(crate) fn write(self, value: u32) {
        // SAFETY: as for `read`: a valid, aligned MMIO register outside Rust's memory; writing
        // it changes only device state, which this crate alone owns.
        unsafe { ptr::write_volatile(self.0 as *mut u32, value) }
    }
}
