//! Time: an embassy-time driver on SysTick (the core's timer, portsock-embassy's
//! `EmbassyTimer`, sits on embassy-time).
//!
//! # The driver
//!
//! SysTick interrupts every millisecond (`tick-hz-1_000`: one embassy-time tick is one
//! millisecond); its handler counts, and when the earliest alarm is due it wakes the expired
//! timers through embassy-time-queue-utils' [`Queue`], which says when the next one is due.
//! A 1 kHz interrupt costs little here (the blocking image takes the same one) and needs no
//! compare register; a tickless driver on a general-purpose timer would let the core sleep
//! longer, at the price of a 16/32-bit timer's wrap-around handling. SysTick counts the core
//! clock: QEMU does not connect its reference clock on this board (see the blocking image's
//! `clock.rs`), and one period is one host millisecond under QEMU without `-icount`.
//!
//! Between the executor's `wfi`s (`executor.rs`) the SysTick interrupt wakes the core every
//! millisecond; nothing runs then unless a timer expired.

use core::cell::{Cell, RefCell};
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::Waker;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::Mutex;
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;
use portsock_lm3s6965_board::sysctl::SYSCLK_HZ;

const TICK_HZ: u32 = 1_000;
const _: () = assert!(embassy_time_driver::TICK_HZ == TICK_HZ as u64);

static MILLIS_LO: AtomicU32 = AtomicU32::new(0);
static MILLIS_HI: AtomicU32 = AtomicU32::new(0);

/// The driver's state: the timer queue and when its earliest timer is due (`u64::MAX`: none).
struct SysTickDriver {
    queue: Mutex<RefCell<Queue>>,
    alarm: Mutex<Cell<u64>>,
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    queue: Mutex::new(RefCell::new(Queue::new())),
    alarm: Mutex::new(Cell::new(u64::MAX)),
});

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        now_ms()
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let mut queue = self.queue.borrow_ref_mut(cs);
            if queue.schedule_wake(at, waker) {
                // The queue's earliest deadline changed; one already due is woken here.
                self.alarm.borrow(cs).set(queue.next_expiration(now_ms()));
            }
        });
    }
}

/// Starts the 1 ms SysTick interrupt. Call it once the PLL runs (50 MHz).
pub fn init(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(SYSCLK_HZ / TICK_HZ - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Milliseconds since [`init`].
pub fn now_ms() -> u64 {
    // The interrupt is the only writer; retry if it carried into the high word meanwhile.
    loop {
        let hi = MILLIS_HI.load(Ordering::Acquire);
        let lo = MILLIS_LO.load(Ordering::Acquire);
        if MILLIS_HI.load(Ordering::Acquire) == hi {
            return (u64::from(hi) << 32) | u64::from(lo);
        }
    }
}

#[exception]
fn SysTick() {
    let lo = MILLIS_LO.load(Ordering::Relaxed).wrapping_add(1);
    if lo == 0 {
        MILLIS_HI.fetch_add(1, Ordering::Release);
    }
    MILLIS_LO.store(lo, Ordering::Release);
    critical_section::with(|cs| {
        let alarm = DRIVER.alarm.borrow(cs);
        let now = now_ms();
        if now >= alarm.get() {
            alarm.set(DRIVER.queue.borrow_ref_mut(cs).next_expiration(now));
        }
    });
}
