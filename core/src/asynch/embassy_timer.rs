//! portsock's [`Timer`] on embassy-time (feature `embassy-time`): the one `EmbassyTimer`, which
//! `asynch::edge` (feature `edge-nal`: edge-nal's own clock) and portsock-embassy both
//! re-export.

use crate::time::{Clock, Instant};

use super::time::Timer;

/// A [`Timer`] on `embassy_time`, the clock edge-nal itself uses (`with_timeout`,
/// `WithTimeout`): portsock milliseconds from embassy-time's `Instant`.
///
/// embassy-time needs a time driver at link time once `now` or `sleep_until` is used: on
/// firmware the HAL's, on a host embassy-time's own (its `std` feature), which works under any
/// executor (it wakes the task's waker from a thread).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmbassyTimer;

impl Clock for EmbassyTimer {
    fn now(&self) -> Instant {
        Instant::from_millis(embassy_time::Instant::now().as_millis())
    }
}

impl Timer for EmbassyTimer {
    /// Cancel-safe: embassy-time's timer has no effect once dropped.
    async fn sleep_until(&self, at: Instant) {
        // The first tick at or after `at`: embassy's `from_millis` rounds down, which at a tick
        // rate below 1 kHz would wake before `now` reads `at`.
        let ticks = at
            .as_millis()
            .saturating_mul(embassy_time::TICK_HZ)
            .div_ceil(1000);
        embassy_time::Timer::at(embassy_time::Instant::from_ticks(ticks)).await;
    }
}
