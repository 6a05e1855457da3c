//! The system clock (PLL, 50 MHz) and a millisecond clock counted by the SysTick interrupt.
//!
//! # Frequency, on silicon and under QEMU
//!
//! The LM3S6965 comes out of reset on its internal oscillator (12 MHz ± 30 %), useless for
//! time keeping. [`init`] switches to the PLL driven by the EVB's 8 MHz crystal: 400 MHz PLL,
//! /2, /SYSDIV+1 with SYSDIV = 3 → 50 MHz, the part's maximum (datasheet, "System Control":
//! bypass, XTAL/OSCSRC, clear PWRDN, SYSDIV + USESYSDIV, wait for PLLLRIS, clear BYPASS).
//!
//! QEMU (`hw/arm/stellaris.c`, `ssys_calculate_system_clock`) ignores the oscillator, XTAL
//! and BYPASS and sets the CPU clock period to `5 ns * (SYSDIV + 1)` on every RCC write: 80 ns
//! (12.5 MHz) after reset, and 20 ns (50 MHz) with our SYSDIV = 3. So both agree on 50 MHz
//! once [`init`] has run, and a firmware that never touched RCC would see 12.5 MHz under QEMU
//! but roughly 12 MHz on silicon. QEMU raises PLLLRIS as soon as PWRDN goes from 1 to 0.
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

use crate::enet;

/// The core clock after [`init`].
pub const SYSCLK_HZ: u32 = 50_000_000;
const TICK_HZ: u32 = 1_000;

const SYSCTL_RIS: usize = 0x400f_e050;
const SYSCTL_MISC: usize = 0x400f_e058;
const SYSCTL_RCC: usize = 0x400f_e060;

const RCC_MOSCDIS: u32 = 1 << 0;
const RCC_OSCSRC_MASK: u32 = 0b11 << 4;
const RCC_XTAL_MASK: u32 = 0xf << 6;
/// XTAL = 0xE: an 8 MHz crystal (the LM3S6965 EVB's).
const RCC_XTAL_8MHZ: u32 = 0xe << 6;
const RCC_BYPASS: u32 = 1 << 11;
const RCC_PWRDN: u32 = 1 << 13;
const RCC_USESYSDIV: u32 = 1 << 22;
const RCC_SYSDIV_MASK: u32 = 0xf << 23;
/// SYSDIV = 3: 200 MHz / 4 = 50 MHz.
const RCC_SYSDIV_50MHZ: u32 = 3 << 23;
const RIS_PLLLRIS: u32 = 1 << 6;
/// Status reads to wait for PLL lock (about 0.5 ms on silicon) before giving up on it.
const PLL_LOCK_SPINS: u32 = 100_000;

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
    let locked = start_pll();
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(SYSCLK_HZ / TICK_HZ - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
    locked
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

fn start_pll() -> bool {
    let mut rcc = read(SYSCTL_RCC);
    // 1. Run from the raw oscillator while the PLL is reconfigured.
    rcc = (rcc | RCC_BYPASS) & !RCC_USESYSDIV;
    write(SYSCTL_RCC, rcc);
    // 2. Main oscillator with an 8 MHz crystal, PLL powered up.
    rcc &= !(RCC_MOSCDIS | RCC_OSCSRC_MASK | RCC_XTAL_MASK | RCC_PWRDN);
    rcc |= RCC_XTAL_8MHZ;
    write(SYSCTL_MISC, RIS_PLLLRIS);
    write(SYSCTL_RCC, rcc);
    // 3. The divider.
    rcc = (rcc & !RCC_SYSDIV_MASK) | RCC_SYSDIV_50MHZ | RCC_USESYSDIV;
    write(SYSCTL_RCC, rcc);
    // 4. Lock, then 5. leave bypass.
    let mut spins = 0;
    while read(SYSCTL_RIS) & RIS_PLLLRIS == 0 {
        spins += 1;
        if spins == PLL_LOCK_SPINS {
            return false;
        }
    }
    PLL_SPINS.store(spins, Ordering::Relaxed);
    write(SYSCTL_RCC, rcc & !RCC_BYPASS);
    true
}

#[exception]
fn SysTick() {
    let lo = MILLIS_LO.load(Ordering::Relaxed).wrapping_add(1);
    if lo == 0 {
        MILLIS_HI.fetch_add(1, Ordering::Release);
    }
    MILLIS_LO.store(lo, Ordering::Release);
}

fn read(addr: usize) -> u32 {
    // SAFETY: `addr` is one of the SYSCTL register constants above: 32-bit, aligned, always
    // readable MMIO outside Rust's memory.
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

fn write(addr: usize, value: u32) {
    // SAFETY: as for `read`; the clock registers are owned by this module alone.
    unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
}
