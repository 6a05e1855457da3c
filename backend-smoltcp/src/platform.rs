//! Time and waiting: what the stack needs from the machine it runs on.

use smoltcp::time::{Duration, Instant};

/// The clock the stack runs on and the way it idles while a blocking call waits.
///
/// The stack reads [`now`](Platform::now) before every poll of the interface and converts it
/// into the core's millisecond [`Instant`](portsock_core::time::Instant) for deadlines, so the
/// core's drivers must be given this same clock (the stack is itself a
/// [`Clock`](portsock_core::time::Clock)).
///
/// Implementations: [`StdPlatform`](crate::std_support::StdPlatform) (the host's monotonic
/// clock; waits in `select(2)` on the TAP descriptor), [`ManualPlatform`] (a simulated clock
/// that jumps to the next timer: deterministic in-process tests), and on firmware a hardware
/// timer with `wfi` or a busy loop.
pub trait Platform {
    /// The current time; never goes backwards.
    fn now(&self) -> Instant;

    /// Waits until a frame may have arrived, or at most `timeout` (`None`: no timer is due, so
    /// only a frame can wake it). Returning early is always allowed: the stack polls and
    /// checks again.
    fn wait(&mut self, timeout: Option<Duration>);
}

/// A simulated clock: `wait` does not sleep, it moves time forward by the timeout (1 ms when
/// the interface has no timer due). Deterministic, and as fast as the CPU: made for the
/// in-process [`Loopback`](smoltcp::phy::Loopback) tests, where no frame can arrive from
/// outside while the stack waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManualPlatform {
    now: Instant,
}

impl ManualPlatform {
    /// A clock at `start`.
    pub const fn new(start: Instant) -> Self {
        Self { now: start }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
    }
}

impl Default for ManualPlatform {
    /// A clock at zero.
    fn default() -> Self {
        Self::new(Instant::ZERO)
    }
}

impl Platform for ManualPlatform {
    fn now(&self) -> Instant {
        self.now
    }

    fn wait(&mut self, timeout: Option<Duration>) {
        self.now += timeout.unwrap_or(Duration::from_millis(1));
    }
}

impl<P: Platform + ?Sized> Platform for &mut P {
    fn now(&self) -> Instant {
        (**self).now()
    }

    fn wait(&mut self, timeout: Option<Duration>) {
        (**self).wait(timeout);
    }
}
