//! Time conversions: the core's millisecond [`Instant`] / [`Duration`] and smoltcp's.

use portsock_core::time::{Duration, Instant};
use smoltcp::time::{Duration as NetDuration, Instant as NetInstant};

/// A core instant as a smoltcp instant.
pub(crate) fn to_net(t: Instant) -> NetInstant {
    NetInstant::from_millis(i64::try_from(t.as_millis()).unwrap_or(i64::MAX))
}

/// A smoltcp instant as a core instant (whole milliseconds; before the epoch is zero).
pub(crate) fn from_net(t: NetInstant) -> Instant {
    Instant::from_millis(u64::try_from(t.total_millis()).unwrap_or(0))
}

/// A smoltcp duration as a core one (whole milliseconds).
pub(crate) fn from_net_duration(d: NetDuration) -> Duration {
    Duration::from_millis(d.total_millis())
}

pub(crate) fn to_net_duration(d: Duration) -> NetDuration {
    NetDuration::from_millis(d.as_millis())
}
