//! Time as a value: [`Instant`] and [`Duration`] in whole milliseconds, and the [`Clock`] trait.
//!
//! Nothing in portsock-core reads a clock. State machines take `now: Instant` as an argument
//! and answer with the [`Instant`] at which they want to be woken (`poll_timeout`); only the
//! drivers in [`drive`](crate::drive) ask a [`Clock`], and tests hand them a manual one
//! ([`mem::ManualClock`](crate::mem::ManualClock)), so every timeout is deterministic.
//!
//! Both types are `u64` milliseconds: an [`Instant`] counts from an epoch the clock chooses
//! (process start on a host, boot on firmware, smoltcp's `Instant::from_millis` on the
//! smoltcp backend), which is all a deadline needs. A `u64` of milliseconds lasts 584 million
//! years, so the `+` and `-` operators saturate instead of panicking; the `checked_*` methods
//! say when that happened.
//!
//! They convert with `From` both ways to `core::time::Duration` (which is
//! `std::time::Duration`): exactly into it, and rounding *up* to whole milliseconds out of it,
//! so a non-zero timeout never becomes zero. Host APIs (portsock-std, the CLI) take std's types
//! and convert at this boundary.
//!
//! ```
//! use portsock_core::time::{Duration, Instant};
//!
//! let sent = Instant::from_millis(1_000);
//! let deadline = sent + Duration::from_millis(200);
//! assert_eq!(deadline - sent, Duration::from_millis(200));
//! assert_eq!(sent - deadline, Duration::ZERO); // saturates: an earlier minus a later instant
//! assert_eq!(sent.checked_duration_since(deadline), None);
//! assert_eq!(Duration::from_secs(2).to_string(), "2.000s");
//! ```

use core::fmt;
use core::ops::{Add, AddAssign, Sub, SubAssign};

/// A point in time: milliseconds since the epoch of the [`Clock`] that produced it.
///
/// Instants from different clocks cannot be compared meaningfully; a driver and the transport
/// it drives must share one clock (see [`Datagram::recv_from`](crate::transport::Datagram)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instant(u64);

/// A span of time in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Duration(u64);

/// A source of the current [`Instant`].
///
/// The only place time enters portsock: drivers call [`now`](Clock::now) before feeding a state
/// machine. Implement it over `std::time::Instant` on a host, a hardware timer on firmware, or
/// use [`mem::ManualClock`](crate::mem::ManualClock) to simulate the flow of time in tests.
pub trait Clock {
    /// The current time. Must never go backwards.
    fn now(&self) -> Instant;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Instant {
        (**self).now()
    }
}

impl Instant {
    /// The clock's epoch.
    pub const ZERO: Self = Self(0);
    /// The latest representable instant; also what saturating arithmetic stops at.
    pub const MAX: Self = Self(u64::MAX);

    /// An instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, or `None` if that is past [`Instant::MAX`].
    pub const fn checked_add(self, d: Duration) -> Option<Self> {
        match self.0.checked_add(d.0) {
            Some(t) => Some(Self(t)),
            None => None,
        }
    }

    /// `self - d`, or `None` if that is before the epoch.
    pub const fn checked_sub(self, d: Duration) -> Option<Self> {
        match self.0.checked_sub(d.0) {
            Some(t) => Some(Self(t)),
            None => None,
        }
    }

    /// `self + d`, stopping at [`Instant::MAX`].
    pub const fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(d.0))
    }

    /// The time from `earlier` to `self`, or `None` if `earlier` is later than `self`.
    pub const fn checked_duration_since(self, earlier: Self) -> Option<Duration> {
        match self.0.checked_sub(earlier.0) {
            Some(d) => Some(Duration(d)),
            None => None,
        }
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later than `self`.
    pub const fn saturating_duration_since(self, earlier: Self) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Self = Self(0);
    /// The longest representable duration.
    pub const MAX: Self = Self(u64::MAX);

    /// `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// `secs` seconds, saturating at [`Duration::MAX`].
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1_000))
    }

    /// The whole duration in milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The whole seconds (rounded down).
    pub const fn as_secs(self) -> u64 {
        self.0 / 1_000
    }

    /// Whether this is [`Duration::ZERO`].
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Self) -> Option<Self> {
        match self.0.checked_add(other.0) {
            Some(d) => Some(Self(d)),
            None => None,
        }
    }

    /// `self - other`, or `None` if `other` is longer.
    pub const fn checked_sub(self, other: Self) -> Option<Self> {
        match self.0.checked_sub(other.0) {
            Some(d) => Some(Self(d)),
            None => None,
        }
    }

    /// `self * n`, or `None` on overflow.
    pub const fn checked_mul(self, n: u64) -> Option<Self> {
        match self.0.checked_mul(n) {
            Some(d) => Some(Self(d)),
            None => None,
        }
    }

    /// `self + other`, stopping at [`Duration::MAX`].
    pub const fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }

    /// `self - other`, stopping at zero.
    pub const fn saturating_sub(self, other: Self) -> Self {
        Self(self.0.saturating_sub(other.0))
    }
}

/// Saturates at [`Instant::MAX`]; use [`Instant::checked_add`] to detect it.
impl Add<Duration> for Instant {
    type Output = Self;

    fn add(self, d: Duration) -> Self {
        self.saturating_add(d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

/// Saturates at the epoch; use [`Instant::checked_sub`] to detect it.
impl Sub<Duration> for Instant {
    type Output = Self;

    fn sub(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(d.0))
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        *self = *self - d;
    }
}

/// The time from `earlier` to `self`, zero if `earlier` is later (as
/// [`Instant::saturating_duration_since`]).
impl Sub for Instant {
    type Output = Duration;

    fn sub(self, earlier: Self) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

/// Saturates at [`Duration::MAX`].
impl Add for Duration {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        self.saturating_add(other)
    }
}

impl AddAssign for Duration {
    fn add_assign(&mut self, other: Self) {
        *self = *self + other;
    }
}

/// Saturates at zero.
impl Sub for Duration {
    type Output = Self;

    fn sub(self, other: Self) -> Self {
        self.saturating_sub(other)
    }
}

impl SubAssign for Duration {
    fn sub_assign(&mut self, other: Self) {
        *self = *self - other;
    }
}

/// Exact: every whole number of milliseconds is a `core::time::Duration` (which is
/// `std::time::Duration`), [`Duration::MAX`] included.
impl From<Duration> for core::time::Duration {
    fn from(d: Duration) -> Self {
        Self::from_millis(d.0)
    }
}

/// Rounds **up** to whole milliseconds and saturates at [`Duration::MAX`].
///
/// Up, so that a timeout converted from std's nanoseconds is never shorter than asked and a
/// non-zero one never becomes [`Duration::ZERO`] (which [`Blocking`](crate::transport::Blocking)
/// refuses, and which a deadline would treat as "already passed"): 0.5 ms is 1 ms, 1.001 ms
/// is 2 ms, exactly 3 ms stays 3 ms.
///
/// ```
/// use portsock_core::time::Duration;
///
/// assert_eq!(Duration::from(std::time::Duration::from_micros(500)), Duration::from_millis(1));
/// assert_eq!(Duration::from(std::time::Duration::from_micros(1_001)), Duration::from_millis(2));
/// assert_eq!(Duration::from(std::time::Duration::from_millis(3)), Duration::from_millis(3));
/// assert_eq!(Duration::from(std::time::Duration::ZERO), Duration::ZERO);
/// ```
impl From<core::time::Duration> for Duration {
    fn from(d: core::time::Duration) -> Self {
        let whole = d.as_millis();
        let part = !d.subsec_nanos().is_multiple_of(1_000_000);
        let millis = whole.saturating_add(u128::from(part));
        Self(u64::try_from(millis).unwrap_or(u64::MAX))
    }
}

/// Seconds with millisecond precision: `12.345s`.
impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1_000, self.0 % 1_000)
    }
}

/// Seconds with millisecond precision: `0.200s`.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1_000, self.0 % 1_000)
    }
}

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use super::*;

    #[test]
    fn instant_arithmetic_saturates() {
        let t = Instant::from_millis(5);
        assert_eq!(t + Duration::from_millis(7), Instant::from_millis(12));
        assert_eq!(t - Duration::from_millis(7), Instant::ZERO);
        assert_eq!(Instant::MAX + Duration::from_millis(1), Instant::MAX);
        assert_eq!(t - Instant::from_millis(9), Duration::ZERO);
        assert_eq!(Instant::from_millis(9) - t, Duration::from_millis(4));
        let mut u = t;
        u += Duration::from_millis(1);
        u -= Duration::from_millis(3);
        assert_eq!(u, Instant::from_millis(3));
    }

    #[test]
    fn instant_checked_reports_overflow() {
        assert_eq!(Instant::MAX.checked_add(Duration::from_millis(1)), None);
        assert_eq!(Instant::ZERO.checked_sub(Duration::from_millis(1)), None);
        assert_eq!(
            Instant::from_millis(3).checked_add(Duration::from_millis(4)),
            Some(Instant::from_millis(7))
        );
        assert_eq!(
            Instant::from_millis(3).checked_sub(Duration::from_millis(3)),
            Some(Instant::ZERO)
        );
        assert_eq!(
            Instant::from_millis(3).checked_duration_since(Instant::from_millis(4)),
            None
        );
        assert_eq!(
            Instant::from_millis(4).checked_duration_since(Instant::from_millis(3)),
            Some(Duration::from_millis(1))
        );
    }

    #[test]
    fn duration_arithmetic() {
        assert_eq!(Duration::from_secs(3), Duration::from_millis(3_000));
        assert_eq!(Duration::from_secs(u64::MAX), Duration::MAX);
        assert_eq!(Duration::from_millis(2_999).as_secs(), 2);
        assert_eq!(Duration::MAX + Duration::from_millis(1), Duration::MAX);
        assert_eq!(
            Duration::from_millis(1) - Duration::from_millis(2),
            Duration::ZERO
        );
        assert_eq!(Duration::MAX.checked_add(Duration::from_millis(1)), None);
        assert_eq!(Duration::ZERO.checked_sub(Duration::from_millis(1)), None);
        assert_eq!(
            Duration::from_millis(2).checked_mul(3),
            Some(Duration::from_millis(6))
        );
        assert_eq!(Duration::MAX.checked_mul(2), None);
        assert!(Duration::ZERO.is_zero() && !Duration::from_millis(1).is_zero());
    }

    #[test]
    fn core_duration_conversions() {
        let d: core::time::Duration = Duration::from_millis(1_500).into();
        assert_eq!(d, core::time::Duration::from_millis(1_500));
        // Rounded up: a non-zero timeout never becomes zero, nor shorter than asked.
        assert_eq!(
            Duration::from(core::time::Duration::from_micros(2_999)),
            Duration::from_millis(3)
        );
        assert_eq!(
            Duration::from(core::time::Duration::from_nanos(1)),
            Duration::from_millis(1)
        );
        assert_eq!(
            Duration::from(core::time::Duration::from_micros(500)),
            Duration::from_millis(1)
        );
        assert_eq!(
            Duration::from(core::time::Duration::from_millis(2_000)),
            Duration::from_millis(2_000)
        );
        assert_eq!(
            Duration::from(core::time::Duration::from_nanos(2_000_000_001)),
            Duration::from_millis(2_001)
        );
        assert_eq!(Duration::from(core::time::Duration::ZERO), Duration::ZERO);
        assert_eq!(Duration::from(core::time::Duration::MAX), Duration::MAX);
        // Whole milliseconds survive the round trip both ways.
        for ms in [0, 1, 999, 1_000, 86_400_000, u64::MAX] {
            let d = Duration::from_millis(ms);
            assert_eq!(Duration::from(core::time::Duration::from(d)), d);
        }
    }

    #[test]
    fn display_is_seconds_with_millis() {
        assert_eq!(Duration::from_millis(200).to_string(), "0.200s");
        assert_eq!(Instant::from_millis(12_345).to_string(), "12.345s");
    }

    #[test]
    fn clock_through_reference() {
        struct Fixed;
        impl Clock for Fixed {
            fn now(&self) -> Instant {
                Instant::from_millis(42)
            }
        }
        fn read(c: impl Clock) -> Instant {
            c.now()
        }
        assert_eq!(read(&Fixed), Instant::from_millis(42));
    }
}
