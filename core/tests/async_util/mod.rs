//! A test executor for the async tests over the in-memory transport: `block_on` on this
//! thread, which lets the manual clock jump to the next sleeper's instant whenever every task
//! waits (as tokio's paused clock does), and fails instead of hanging when every task waits
//! and nobody sleeps.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use portsock_core::mem::ManualClock;

thread_local! {
    /// This test's clock: each test runs on a thread of its own.
    static CLOCK: &'static ManualClock = Box::leak(Box::new(ManualClock::new()));
}

/// The clock of the test running on this thread.
pub fn clock() -> &'static ManualClock {
    CLOCK.with(|c| *c)
}

/// Polls at most this many times in a row without the clock moving before calling it a
/// livelock.
const MAX_BUSY_POLLS: u64 = 10_000_000;

/// A waker that notes it was called.
struct Woken(AtomicBool);

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs `fut` to completion on this thread's [`clock`].
pub fn block_on<F: Future>(fut: F) -> F::Output {
    block_on_clock(clock(), fut)
}

/// Runs `fut` to completion: polls it while something woke it; when nothing did, moves
/// `clock` to the next sleeper's instant.
///
/// # Panics
///
/// When every task waits and no task sleeps (a deadlock), or after an implausible number of
/// polls without the clock moving (a livelock).
pub fn block_on_clock<F: Future>(clock: &ManualClock, fut: F) -> F::Output {
    let woken = Arc::new(Woken(AtomicBool::new(false)));
    let waker = Waker::from(woken.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    let mut busy = 0u64;
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        if woken.0.swap(false, Ordering::Relaxed) {
            busy += 1;
            assert!(
                busy < MAX_BUSY_POLLS,
                "livelock: {busy} polls, the clock still"
            );
            continue;
        }
        busy = 0;
        if clock.advance_to_next_wake().is_none() {
            panic!(
                "deadlock at {}: every task waits and none sleeps",
                clock.now()
            );
        }
    }
}
