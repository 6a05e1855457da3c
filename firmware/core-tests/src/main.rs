//! portsock-core's tests on the Cortex-M3 (QEMU `lm3s6965evb`): the CPython conformance
//! vectors (struct codec, inet conversions) and the sans-IO machines over the core's in-memory
//! transport, on the target where `usize` is 32 bits, native `@l` is 4 bytes and `u64`/`f64`
//! align to 8.
//!
//! A custom harness (no `test` crate on `thumbv7m-none-eabi`): each test is a function that
//! returns `Err` with what went wrong; the harness runs them all, logs each over defmt, prints
//! `N passed, N failed` and leaves QEMU through semihosting with status 0 only if none failed.
//! A panic (overflow checks are on) ends the run with status 101.
#![no_std]
#![no_main]

#[cfg(feature = "machines")]
mod datagrams;
#[cfg(feature = "machines")]
mod machines;
#[cfg(feature = "vectors")]
mod vectors;

#[cfg(not(any(feature = "vectors", feature = "machines")))]
compile_error!("build one of the two images: --features vectors, or --features machines");

use cortex_m as _; // its critical-section implementation (single core)
use defmt::{error, info};
use defmt_semihosting as _;

/// What a failing test reports: a line of text, built without an allocator.
pub type Failure = heapless::String<160>;
/// A test's outcome.
pub type Outcome = Result<(), Failure>;

/// Fails the enclosing test with a formatted message unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err($crate::fail(format_args!($($arg)+)));
        }
    };
}

/// A [`Failure`] from format arguments (cut at its capacity).
pub fn fail(args: core::fmt::Arguments<'_>) -> Failure {
    let mut text = Failure::new();
    let _ = core::fmt::Write::write_fmt(&mut text, args);
    text
}

#[cfg(feature = "vectors")]
const VECTORS: &[(&str, fn() -> Outcome)] = &[
    ("native_sizes_are_32_bit", vectors::native_sizes_are_32_bit),
    ("struct_vectors", vectors::struct_vectors),
    ("inet_vectors", vectors::inet_vectors),
];
#[cfg(not(feature = "vectors"))]
const VECTORS: &[(&str, fn() -> Outcome)] = &[];

#[cfg(feature = "machines")]
const MACHINES: &[(&str, fn() -> Outcome)] = &[
    (
        "stream_echo_chapter_transcript",
        machines::stream_echo_chapter_transcript,
    ),
    (
        "stream_echo_one_byte_at_a_time",
        machines::stream_echo_one_byte_at_a_time,
    ),
    (
        "record_chapter_one_byte_at_a_time",
        machines::record_chapter_one_byte_at_a_time,
    ),
    (
        "record_blocking_roundtrip",
        machines::record_blocking_roundtrip,
    ),
    ("datagram_echo_chapter", datagrams::datagram_echo_chapter),
    (
        "datagram_echo_lost_after_retries",
        datagrams::datagram_echo_lost_after_retries,
    ),
    (
        "multicast_chapter_two_receivers",
        datagrams::multicast_chapter_two_receivers,
    ),
];
#[cfg(not(feature = "machines"))]
const MACHINES: &[(&str, fn() -> Outcome)] = &[];

#[cortex_m_rt::entry]
fn main() -> ! {
    let image = match (VECTORS.is_empty(), MACHINES.is_empty()) {
        (false, true) => "vectors",
        (true, false) => "machines",
        _ => "vectors + machines",
    };
    info!(
        "running {=usize} tests ({=str}) on {=str}",
        VECTORS.len() + MACHINES.len(),
        image,
        "thumbv7m-none-eabi (lm3s6965evb)"
    );
    let (mut passed, mut failed) = (0usize, 0usize);
    for (name, test) in VECTORS.iter().chain(MACHINES) {
        match test() {
            Ok(()) => {
                passed += 1;
                info!("test {=str} ... ok", name);
            }
            Err(why) => {
                failed += 1;
                error!("test {=str} ... FAILED: {=str}", name, why.as_str());
            }
        }
    }
    if failed == 0 {
        info!(
            "test result: ok. {=usize} passed, {=usize} failed",
            passed, failed
        );
    } else {
        error!(
            "test result: FAILED. {=usize} passed, {=usize} failed",
            passed, failed
        );
    }
    info!("{=usize} passed, {=usize} failed", passed, failed);
    semihosting::process::exit(if failed == 0 { 0 } else { 1 })
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    error!("panic: {}", defmt::Display2Format(info));
    semihosting::process::exit(101)
}
