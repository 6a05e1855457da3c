//! Peak stack use by painting: fill the free stack with a pattern at boot, later find the
//! lowest word that no longer holds it.
//!
//! cortex-m-rt gives the stack everything between the end of `.bss` (`_stack_end`) and the
//! top of RAM (`_stack_start`), growing down. The measure is a lower bound only in the usual
//! sense: a frame that reserved stack without writing all of it is not counted.

use core::ptr;

const PAINT: u32 = 0xa5c3_5a3c;

unsafe extern "C" {
    static mut _stack_start: u32;
    static mut _stack_end: u32;
}

/// The stack region `[bottom, top)` from the linker script.
fn region() -> (usize, usize) {
    (&raw mut _stack_end as usize, &raw mut _stack_start as usize)
}

/// Fills the unused part of the stack (below the current stack pointer) with the pattern.
/// Call it first thing in `main`, before interrupts are enabled.
pub fn paint() {
    let (bottom, _) = region();
    let sp = cortex_m::register::msp::read() as usize;
    let mut at = bottom;
    // Leave the words just below SP alone: the compiler may keep spills there.
    while at + 64 < sp {
        // SAFETY: `at` is a 4-aligned address in [_stack_end, SP - 64): stack memory below the
        // deepest frame, which no live object uses; interrupts are not yet enabled, so no
        // exception frame can be there either.
        unsafe { ptr::write_volatile(at as *mut u32, PAINT) };
        at += 4;
    }
}

/// The stack region's size in bytes.
pub fn size() -> usize {
    let (bottom, top) = region();
    top - bottom
}

/// The most stack used so far, in bytes: from the top down to the lowest overwritten word.
pub fn peak() -> usize {
    let (bottom, top) = region();
    let mut at = bottom;
    while at < top {
        // SAFETY: `at` is a 4-aligned address inside the stack region; reading a word there
        // races with nothing (single core, and an interrupt only writes below the current SP).
        if unsafe { ptr::read_volatile(at as *const u32) } != PAINT {
            break;
        }
        at += 4;
    }
    top - at
}
