//! The host's clock for the core's time values, and every conversion between them and std's.
//!
//! portsock-core counts time in whole milliseconds from an epoch the clock chooses
//! ([`portsock_core::time`]). [`SystemClock`] picks one epoch per process: the first time
//! anything here asks for it, it reads [`std::time::Instant::now`] into a `OnceLock`, and every
//! core [`Instant`] is milliseconds since then. It is monotonic, so a deadline never jumps when
//! the wall clock is changed.
//!
//! Durations convert with `From` in both directions (`core::time::Duration` is
//! `std::time::Duration`), rounding up to whole milliseconds into the core's (so a non-zero
//! timeout never becomes zero). A deadline turns into the timeout left until it with
//! [`SystemClock::remaining`]. The sockets of this crate take std's types in their own methods
//! (`set_read_timeout`, `recv_from`); only the core's traits and drivers need these
//! conversions.
//!
//! ```
//! use portsock_core::time::{Clock, Duration};
//! use portsock_std::time::SystemClock;
//!
//! let deadline = SystemClock.now() + Duration::from_millis(200);
//! let left: std::time::Duration = SystemClock::remaining(deadline);
//! assert!(left <= std::time::Duration::from_millis(200));
//! assert_eq!(Duration::from(std::time::Duration::from_micros(1_999)), Duration::from_millis(2));
//! ```

use std::sync::OnceLock;

use portsock_core::time::{Clock, Duration, Instant};

/// The process's epoch: the first moment anything asked for it.
static EPOCH: OnceLock<std::time::Instant> = OnceLock::new();

/// The host's monotonic clock ([`std::time::Instant`]) as a core [`Clock`]: milliseconds since
/// a process-wide epoch.
///
/// Every `SystemClock` value reads the same epoch, so instants from different values compare.
/// This is the clock [`UdpSocket`](crate::udp::UdpSocket) and
/// [`UnixDatagram`](crate::unix::UnixDatagram) read `recv_from` deadlines on; hand the same
/// clock to the core's drivers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl SystemClock {
    /// The epoch: the [`std::time::Instant`] that core [`Instant::ZERO`] stands for.
    pub fn epoch() -> std::time::Instant {
        *EPOCH.get_or_init(std::time::Instant::now)
    }

    /// The core instant for a std instant: whole milliseconds since the [epoch](Self::epoch),
    /// rounded down ([`Instant::ZERO`] for anything before it).
    pub fn from_std(t: std::time::Instant) -> Instant {
        let since = t.saturating_duration_since(Self::epoch());
        Instant::from_millis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }

    /// The std instant for a core instant, or `None` if it lies beyond what
    /// [`std::time::Instant`] can represent (e.g. [`Instant::MAX`]).
    pub fn to_std(t: Instant) -> Option<std::time::Instant> {
        Self::epoch().checked_add(std::time::Duration::from_millis(t.as_millis()))
    }

    /// The std instant for a core deadline, saturating: an instant beyond what
    /// [`std::time::Instant`] holds (e.g. [`Instant::MAX`]) becomes one about a century away,
    /// still a deadline (which replaces a socket's read timeout) rather than none.
    pub(crate) fn deadline_to_std(t: Instant) -> std::time::Instant {
        Self::to_std(t).unwrap_or_else(|| {
            let epoch = Self::epoch();
            [100 * 365 * 86_400, 86_400, 0]
                .into_iter()
                .find_map(|secs| epoch.checked_add(std::time::Duration::from_secs(secs)))
                .unwrap_or(epoch)
        })
    }

    /// The time left until `deadline`: zero once it has passed. This is the timeout to wait
    /// for when a state machine's `poll_timeout` says `deadline`.
    pub fn remaining(deadline: Instant) -> std::time::Duration {
        (deadline - Self.now()).into()
    }

    /// The instant `timeout` from now (saturating at [`Instant::MAX`]).
    pub fn deadline_in(timeout: std::time::Duration) -> Instant {
        Self.now() + Duration::from(timeout)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Self::from_std(std::time::Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_counts_milliseconds_from_the_epoch() {
        let epoch = SystemClock::epoch();
        assert_eq!(SystemClock::from_std(epoch), Instant::ZERO);
        let later = epoch + std::time::Duration::from_micros(1_500_999);
        assert_eq!(SystemClock::from_std(later), Instant::from_millis(1_500));
        assert_eq!(
            SystemClock::to_std(Instant::from_millis(1_500)),
            Some(epoch + std::time::Duration::from_millis(1_500))
        );
        let t = Instant::from_millis(86_400_000);
        assert_eq!(SystemClock::to_std(t).map(SystemClock::from_std), Some(t));
        // Before the epoch saturates instead of wrapping.
        if let Some(before) = epoch.checked_sub(std::time::Duration::from_secs(1)) {
            assert_eq!(SystemClock::from_std(before), Instant::ZERO);
        }
    }

    #[test]
    fn clock_is_monotonic_and_advances() {
        let a = SystemClock.now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = SystemClock.now();
        assert!(b - a >= Duration::from_millis(20), "{a} -> {b}");
    }

    #[test]
    fn remaining_time_until_a_deadline() {
        let deadline = SystemClock::deadline_in(std::time::Duration::from_millis(500));
        let left = SystemClock::remaining(deadline);
        assert!(
            left <= std::time::Duration::from_millis(500)
                && left >= std::time::Duration::from_millis(400),
            "{left:?}"
        );
        let past = SystemClock.now() - Duration::from_millis(1);
        assert_eq!(SystemClock::remaining(past), std::time::Duration::ZERO);
        assert_eq!(
            SystemClock::deadline_in(std::time::Duration::MAX),
            Instant::MAX
        );
    }
}
