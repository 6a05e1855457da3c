//! Time for async drivers: a [`Clock`] that can also wait.

use crate::time::{Clock, Instant};

/// A clock that can sleep: what an async driver needs to fire a machine's timers.
///
/// The backend implements it on its runtime's clock (tokio's `Instant`, embassy-time); core
/// names no timer crate. The instants are those of [`Clock::now`], so a machine's
/// `poll_timeout` and the timer agree.
pub trait Timer: Clock {
    /// Completes once [`now`](Clock::now) has reached `at` (at once if it already has).
    ///
    /// Cancel-safe: dropping it before it completes has no effect.
    async fn sleep_until(&self, at: Instant);
}

impl<T: Timer + ?Sized> Timer for &T {
    async fn sleep_until(&self, at: Instant) {
        (**self).sleep_until(at).await;
    }
}
