//! The system clock (PLL, 50 MHz) and a millisecond clock counted by the SysTick interrupt.
//!
//! # Frequency
//!
//! [`init`] starts the PLL (the board crate's [`sysctl::start_pll`], where silicon and QEMU
//! are compared): 50 MHz on both.
//!
//! SysTick counts the *core* clock (CLKSOURCE = 1): QEMU does not connect SysTick's
//! reference clock on this board ("This SoC does not connect the systick reference clock"),
//! so with CLKSOURCE = 0 it would never tick. Under QEMU (no `-icount`) the virtual clock
//! follows the host's, so one SysTick period is one host millisecond; `scripts/firmware-test`
//! checks the rate against the host's clock.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use portsock_core::time::{Clock, Instant};
use portsock_smoltcp::Platform;

use portsock_lm3s6965_board::sysctl;

use crate::enet;

/// The core clock after [`init`].
pub const SYSCLK_HZ: u32 = sysctl::SYSCLK_HZ;
const TICK_HZ: u32 = 1_000;

static MILLIS_LO: AtomicU32 = AtomicU32::new(0);
/// Status reads the PLL took to lock (see [`pll_lock_spins`]).
static PLL_SPINS: AtomicU32 = AtomicU32::new(0);
static MILLIS_HI: AtomicU32 = AtomicU32::new(0);

/// The millisecond clock, as a core [`Clock`] (for the portsock `Stack` and the drivers).
#[allow(
    dead_code,
    reason = "the core machines' drivers take it once main runs them"
)]
#[derive(Clone, Copy, Debug)]
pub struct SysTickClock;

impl Clock for SysTickClock {
    fn now(&self) -> Instant {
        Instant::from_millis(now_ms())
    }
}

/// The stack's [`Platform`]: the SysTick clock, and `wait` sleeps (`wfi`) until the next
/// interrupt: SysTick's (at most 1 ms) or the MAC's "frame received" ([`enet::arm_rx_wakeup`]).
pub struct SysTickPlatform(());

impl SysTickPlatform {
    /// The platform; call [`init`] first.
    pub fn new() -> Self {
        Self(())
    }
}

impl Platform for SysTickPlatform {
    fn now(&self) -> smoltcp::time::Instant {
        smoltcp_now()
    }

    fn wait(&mut self, timeout: Option<smoltcp::time::Duration>) {
        if timeout == Some(smoltcp::time::Duration::ZERO) {
            return;
        }
        // With interrupts masked (PRIMASK), so the wake-up cannot be taken between the check
        // and `wfi`: an interrupt that becomes pending still ends `wfi`, and its handler runs
        // once `free` unmasks them.
        cortex_m::interrupt::free(|_| {
            if enet::arm_rx_wakeup() {
                cortex_m::asm::wfi();
            }
        });
    }
}

/// Switches the core to 50 MHz from the PLL and starts the 1 ms SysTick interrupt.
/// Returns whether the PLL reported lock (it always does under QEMU).
pub fn init(mut syst: SYST) -> bool {
    let spins = sysctl::start_pll();
    PLL_SPINS.store(spins.unwrap_or(0), Ordering::Relaxed);
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(SYSCLK_HZ / TICK_HZ - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
    spins.is_some()
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

/// How many status reads the PLL took to report lock in [`init`]: on silicon an analog
/// settling time that varies from boot to boot (an entropy source, see `entropy`); under
/// QEMU always the same.
pub fn pll_lock_spins() -> u32 {
    PLL_SPINS.load(Ordering::Relaxed)
}

/// The same time for smoltcp.
pub fn smoltcp_now() -> smoltcp::time::Instant {
    smoltcp::time::Instant::from_millis(now_ms() as i64)
}

#[exception]
fn SysTick() {
    let lo = MILLIS_LO.load(Ordering::Relaxed).wrapping_add(1);
    if lo == 0 {
        MILLIS_HI.fetch_add(1, Ordering::Release);
    }
    MILLIS_LO.store(lo, Ordering::Release);
}
