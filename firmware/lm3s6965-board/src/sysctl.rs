//! System control: the PLL that takes the core to 50 MHz.
//!
//! The LM3S6965 comes out of reset on its internal oscillator (12 MHz ± 30 %), useless for
//! time keeping. [`start_pll`] switches to the PLL driven by the EVB's 8 MHz crystal: 400 MHz
//! PLL, /2, /SYSDIV+1 with SYSDIV = 3 → 50 MHz, the part's maximum (datasheet, "System
//! Control": bypass, XTAL/OSCSRC, clear PWRDN, SYSDIV + USESYSDIV, wait for PLLLRIS, clear
//! BYPASS).
//!
//! QEMU (`hw/arm/stellaris.c`, `ssys_calculate_system_clock`) ignores the oscillator, XTAL
//! and BYPASS and sets the CPU clock period to `5 ns * (SYSDIV + 1)` on every RCC write: 80 ns
//! (12.5 MHz) after reset, and 20 ns (50 MHz) with our SYSDIV = 3. So both agree on 50 MHz
//! once [`start_pll`] has run. QEMU raises PLLLRIS as soon as PWRDN goes from 1 to 0.

use crate::Reg;

/// The core clock after [`start_pll`].
pub const SYSCLK_HZ: u32 = 50_000_000;

const SYSCTL_BASE: usize = 0x400f_e000;
const RIS: Reg = Reg(SYSCTL_BASE + 0x050);
const MISC: Reg = Reg(SYSCTL_BASE + 0x058);
const RCC: Reg = Reg(SYSCTL_BASE + 0x060);

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

/// Switches the core to 50 MHz from the PLL. Returns how many status reads the PLL took to
/// report lock (on silicon an analog settling time that varies from boot to boot, an entropy
/// source; under QEMU always the same), or `None` if it never did (the core then stays on the
/// raw oscillator).
pub fn start_pll() -> Option<u32> {
    let mut rcc = RCC.read();
    // 1. Run from the raw oscillator while the PLL is reconfigured.
    rcc = (rcc | RCC_BYPASS) & !RCC_USESYSDIV;
    RCC.write(rcc);
    // 2. Main oscillator with an 8 MHz crystal, PLL powered up.
    rcc &= !(RCC_MOSCDIS | RCC_OSCSRC_MASK | RCC_XTAL_MASK | RCC_PWRDN);
    rcc |= RCC_XTAL_8MHZ;
    MISC.write(RIS_PLLLRIS);
    RCC.write(rcc);
    // 3. The divider.
    rcc = (rcc & !RCC_SYSDIV_MASK) | RCC_SYSDIV_50MHZ | RCC_USESYSDIV;
    RCC.write(rcc);
    // 4. Lock, then 5. leave bypass.
    let mut spins = 0;
    while RIS.read() & RIS_PLLLRIS == 0 {
        spins += 1;
        if spins == PLL_LOCK_SPINS {
            return None;
        }
    }
    RCC.write(rcc & !RCC_BYPASS);
    Some(spins)
}
