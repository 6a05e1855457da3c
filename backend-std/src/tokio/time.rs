//! [`TokioTimer`]: tokio's clock and timers as the core's [`Clock`] and async [`Timer`].

use portsock_core::asynch::time::Timer;
use portsock_core::time::{Clock, Instant};

use crate::time::SystemClock;

/// tokio's clock as a core [`Clock`] and [`Timer`]: what
/// [`run_datagram`](portsock_core::asynch::drive::run_datagram) takes to fire a machine's
/// timers.
///
/// Its instants are whole milliseconds since the process epoch of
/// [`SystemClock`] ([`SystemClock::epoch`]), read on `tokio::time::Instant`, so they compare
/// with `SystemClock`'s and with the deadlines of this crate's blocking sockets. With tokio's
/// clock paused (`tokio::time::pause`, feature `test-util`) they follow tokio's virtual time
/// instead, which is what a test that advances time wants.
///
/// ```
/// use portsock_core::asynch::time::Timer as _;
/// use portsock_core::time::{Clock as _, Duration};
/// use portsock_std::tokio::TokioTimer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let timer = TokioTimer;
/// let at = timer.now() + Duration::from_millis(20);
/// timer.sleep_until(at).await;
/// assert!(timer.now() >= at);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokioTimer;

impl TokioTimer {
    /// The epoch as a tokio instant.
    fn epoch() -> tokio::time::Instant {
        tokio::time::Instant::from_std(SystemClock::epoch())
    }
}

impl Clock for TokioTimer {
    fn now(&self) -> Instant {
        let since = tokio::time::Instant::now().saturating_duration_since(Self::epoch());
        Instant::from_millis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }
}

impl Timer for TokioTimer {
    /// Sleeps on tokio's timer until `at` ([`Instant::MAX`], or any instant tokio cannot
    /// represent, is never reached).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping it has no effect.
    async fn sleep_until(&self, at: Instant) {
        let wake = Self::epoch().checked_add(std::time::Duration::from_millis(at.as_millis()));
        match wake {
            Some(wake) => tokio::time::sleep_until(wake).await,
            None => std::future::pending().await,
        }
    }
}
