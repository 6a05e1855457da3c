//! portsock's [`Timer`] on embassy-time.

use portsock_core::asynch::time::Timer;
use portsock_core::time::{Clock, Instant};

/// The core's clock and timer on embassy-time: portsock's millisecond [`Instant`] from
/// embassy-time's, and [`sleep_until`](Timer::sleep_until) on embassy-time's timer queue.
///
/// embassy-time needs a time driver at link time: the HAL's on firmware, embassy-time's own
/// on a host (its `std` feature and a `generic-queue-N` feature).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmbassyTimer;

impl Clock for EmbassyTimer {
    fn now(&self) -> Instant {
        Instant::from_millis(embassy_time::Instant::now().as_millis())
    }
}

impl Timer for EmbassyTimer {
    /// Cancel-safe: a dropped embassy-time timer has no effect.
    async fn sleep_until(&self, at: Instant) {
        // The first tick at or after `at` (embassy-time's `from_millis` rounds down, which at
        // a tick rate under 1 kHz would wake before `now` reads `at`).
        let ticks = at
            .as_millis()
            .saturating_mul(embassy_time::TICK_HZ)
            .div_ceil(1000);
        embassy_time::Timer::at(embassy_time::Instant::from_ticks(ticks)).await;
    }
}
