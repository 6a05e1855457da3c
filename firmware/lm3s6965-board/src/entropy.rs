//! The seed of the TCP initial sequence numbers: whatever the board offers at boot that an
//! attacker off the link cannot know, hashed into 64 bits.
//!
//! smoltcp draws every initial sequence number (and ephemeral port) from one generator seeded
//! once, at `Stack::new`: with a guessable seed, an off-path attacker can predict the numbers
//! and inject into or reset connections (RFC 6528). The previous seed, `MAC ^ uptime`, was
//! known to anyone who had seen one frame and could count milliseconds since boot.
//!
//! # Sources
//!
//! - **The MAC address**: public, but it keeps two boards booted alike apart.
//! - **The PLL's lock time** (what [`sysctl::start_pll`](crate::sysctl::start_pll) returns): status reads until the PLL reported
//!   lock. On silicon an analog settling time, different from boot to boot by some reads.
//! - **Timer jitter**: at each of [`JITTER_SAMPLES`] millisecond boundaries of the SysTick
//!   clock, how many turns a loop made waiting for it and where the SysTick counter (core
//!   cycles within the millisecond) stood just after. Any interrupt, bus stall or (under
//!   emulation) host hiccup in a millisecond changes the counts.
//!
//! # Limits
//!
//! - **On silicon**, the core and SysTick run from the same crystal, so the loop counts vary
//!   only with what disturbs the loop (interrupts, flash wait states): a few bits at most, and
//!   the PLL gives a few more. A real board should add a physical source: the ADC's internal
//!   temperature sensor read repeatedly (its low bits are noise), or the arrival times of the
//!   first Ethernet frames, or SRAM's power-up contents read before it is cleared.
//! - **Under QEMU without `-icount`** (how `scripts/firmware-test` runs it), the virtual clock
//!   follows the host's: the cycles emulated per millisecond depend on the host's load and
//!   scheduling, which gives a few bits per sample that differ from boot to boot. The PLL
//!   locks at once under QEMU (nothing there).
//! - **Under QEMU with `-icount`**, virtual time is a function of the instructions executed:
//!   every boot sees the same counts, and the seed is the same on every boot of one image and
//!   MAC. Do not rely on it there.
//!
//! Not a cryptographic generator: with tens of bits of entropy at best, the sequence numbers
//! are hard to guess, not impossible.

use cortex_m::peripheral::SYST;

/// Millisecond boundaries sampled at boot (each costs up to 1 ms).
pub const JITTER_SAMPLES: u32 = 16;

/// A 64-bit mixing accumulator: each word is folded in with a multiply and a shift, so every
/// input bit reaches every output bit once [`finish`](Self::finish) has run.
pub struct Seed(u64);

impl Seed {
    /// An empty accumulator (the fractional digits of pi, so that zeros in do not give zero).
    pub fn new() -> Self {
        Self(0x243f_6a88_85a3_08d3)
    }

    /// Folds `word` in.
    pub fn mix(&mut self, word: u32) {
        self.0 = (self.0 ^ u64::from(word)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 ^= self.0 >> 29;
    }

    /// The MAC, the PLL's lock time (`pll_spins`) and [`JITTER_SAMPLES`] samples of timer
    /// jitter, at the boundaries of `now_ms` (a millisecond clock counted by the SysTick
    /// interrupt, which must be running).
    pub fn gather(mac: [u8; 6], pll_spins: u32, now_ms: impl Fn() -> u64) -> Self {
        let mut seed = Self::new();
        seed.mix(u32::from_be_bytes([mac[0], mac[1], mac[2], mac[3]]));
        seed.mix(u32::from_be_bytes([mac[4], mac[5], 0, 0]));
        seed.mix(pll_spins);
        for _ in 0..JITTER_SAMPLES {
            let start = now_ms();
            let mut turns = 0u32;
            while now_ms() == start {
                turns = turns.wrapping_add(1);
            }
            seed.mix(turns);
            seed.mix(SYST::get_current());
        }
        seed
    }

    /// The seed (splitmix64's finaliser over the accumulator).
    pub fn finish(self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
