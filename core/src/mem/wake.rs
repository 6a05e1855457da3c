//! Who to wake: the in-memory transport's waker registrations, fixed-size, without allocation
//! or `unsafe` (the state they live in is already behind the transport's `RefCell`s).
//!
//! The blocking side never registers anything, but it wakes like the async side does, so a
//! blocking write from a test wakes an awaiting reader. Wakers are woken while the state is
//! borrowed: an executor's `wake` schedules a poll, it never polls. Without the `async` feature
//! nobody can register, and the types are empty (the firmware's in-memory pairs and clocks stay
//! the size they were).

#[cfg(feature = "async")]
use core::task::Waker;

/// One waiting task: a pipe's reader or writer, a socket's receiver (one `&mut` end, so one
/// task at a time).
#[derive(Debug, Default)]
pub(super) struct WakerSlot(#[cfg(feature = "async")] Option<Waker>);

/// Up to `K` waiting tasks, each with a key (the instant a sleeper waits for, in milliseconds;
/// 0 for an accept), for what several tasks share: a listener, a clock.
///
/// A task registered again keeps one entry with the smaller key. With all `K` entries taken,
/// a new task evicts the one with the latest key, which is woken at once: it polls again and
/// registers again, so more than `K` tasks waiting at once still work, only less efficiently.
#[derive(Debug)]
pub(super) struct WakerList<const K: usize> {
    #[cfg(feature = "async")]
    entries: [Option<(Waker, u64)>; K],
}

#[cfg(not(feature = "async"))]
impl WakerSlot {
    /// Nobody can wait without the `async` feature.
    pub(super) fn wake(&mut self) {}
}

#[cfg(not(feature = "async"))]
impl<const K: usize> WakerList<K> {
    pub(super) const fn new() -> Self {
        Self {}
    }

    pub(super) fn wake_until(&mut self, _: u64) {}

    pub(super) fn wake_all(&mut self) {}

    pub(super) fn earliest(&self) -> Option<u64> {
        None
    }
}

#[cfg(feature = "async")]
impl WakerSlot {
    /// Remembers `waker` (replacing a previous task's).
    pub(super) fn register(&mut self, waker: &Waker) {
        match &mut self.0 {
            Some(old) if old.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
    }

    /// Wakes the task waiting, if any.
    pub(super) fn wake(&mut self) {
        if let Some(waker) = self.0.take() {
            waker.wake();
        }
    }
}

#[cfg(feature = "async")]
impl<const K: usize> WakerList<K> {
    /// Nobody waiting.
    pub(super) const fn new() -> Self {
        Self {
            entries: [const { None }; K],
        }
    }

    /// Remembers `waker` until a key of `key` or later is woken.
    pub(super) fn register(&mut self, waker: &Waker, key: u64) {
        for (old, at) in self.entries.iter_mut().flatten() {
            if old.will_wake(waker) {
                *at = (*at).min(key);
                return;
            }
        }
        if let Some(free) = self.entries.iter_mut().find(|e| e.is_none()) {
            *free = Some((waker.clone(), key));
            return;
        }
        let latest = self
            .entries
            .iter_mut()
            .max_by_key(|e| e.as_ref().map_or(0, |(_, at)| *at));
        if let Some(entry) = latest
            && let Some((evicted, _)) = entry.replace((waker.clone(), key))
        {
            evicted.wake();
        }
    }

    /// Wakes (and forgets) every task whose key is `key` or earlier.
    pub(super) fn wake_until(&mut self, key: u64) {
        for entry in &mut self.entries {
            if entry.as_ref().is_some_and(|(_, at)| *at <= key)
                && let Some((waker, _)) = entry.take()
            {
                waker.wake();
            }
        }
    }

    /// Wakes every task.
    pub(super) fn wake_all(&mut self) {
        self.wake_until(u64::MAX);
    }

    /// The earliest key waited for.
    pub(super) fn earliest(&self) -> Option<u64> {
        self.entries.iter().flatten().map(|(_, at)| *at).min()
    }
}

impl<const K: usize> Default for WakerList<K> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(all(test, feature = "async"))]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    /// A waker counting its wakes.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    fn wakes(c: &Count) -> usize {
        c.0.load(Ordering::Relaxed)
    }

    #[test]
    fn a_slot_wakes_its_task_once() {
        let (count, waker) = counter();
        let mut slot = WakerSlot::default();
        slot.wake();
        slot.register(&waker);
        slot.register(&waker);
        slot.wake();
        slot.wake();
        assert_eq!(wakes(&count), 1);
    }

    #[test]
    fn a_list_wakes_the_due_and_keeps_the_rest() {
        let (early, w1) = counter();
        let (late, w2) = counter();
        let mut list = WakerList::<4>::new();
        list.register(&w1, 100);
        list.register(&w1, 50);
        list.register(&w2, 300);
        assert_eq!(
            list.earliest(),
            Some(50),
            "one entry per task, its earliest key"
        );
        list.wake_until(200);
        assert_eq!((wakes(&early), wakes(&late)), (1, 0));
        assert_eq!(list.earliest(), Some(300));
        list.wake_all();
        assert_eq!((wakes(&early), wakes(&late)), (1, 1));
        assert_eq!(list.earliest(), None);
    }

    #[test]
    fn a_full_list_evicts_and_wakes_the_latest() {
        let (a, wa) = counter();
        let (b, wb) = counter();
        let (c, wc) = counter();
        let mut list = WakerList::<2>::new();
        list.register(&wa, 10);
        list.register(&wb, 20);
        list.register(&wc, 5);
        assert_eq!(
            (wakes(&a), wakes(&b), wakes(&c)),
            (0, 1, 0),
            "the latest was woken to register again"
        );
        list.wake_until(10);
        assert_eq!((wakes(&a), wakes(&c)), (1, 1));
    }
}
