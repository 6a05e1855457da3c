//! The poll / wait loop: taking frames in and sending, waiting through the platform, and the
//! loop every blocking call runs.

use portsock_core::time::{Clock, Duration, Instant};
use smoltcp::iface::{PollIngressSingleResult, PollResult};
use smoltcp::phy::Device;
use smoltcp::socket::udp;
use smoltcp::time::Instant as NetInstant;

use crate::error::{Blocked, SocketKind};
use crate::platform::Platform;

use super::pool::Use;
use super::time::{to_net, to_net_duration};
use super::{Inner, Stack};

/// At most this many interface polls per [`Stack::poll`].
const POLL_ROUNDS: usize = 64;

impl<'a, D: Device, P: Platform> Stack<'a, D, P> {
    /// Processes every frame that has arrived and sends whatever the sockets have queued
    /// (smoltcp's `Interface::poll`); returns whether a socket's state may have changed.
    /// Blocking calls do this themselves; event loops over non-blocking sockets call it
    /// between rounds.
    pub fn poll(&self) -> bool {
        self.inner().poll()
    }

    /// Waits (through the [`Platform`]) until a frame may have arrived or the interface has a
    /// timer due, but no later than `deadline`. For event loops: step every socket, `wait`.
    ///
    /// It returns at once, without waiting, when a socket's state changed since the last
    /// `wait` (data or a FIN that arrived during another socket's call): step again first.
    pub fn wait(&self, deadline: Option<Instant>) {
        let mut guard = self.inner();
        let inner = &mut *guard;
        inner.poll();
        if core::mem::take(&mut inner.dirty) {
            // Some socket changed since the last wait (perhaps inside another socket's
            // call): let the caller step its sockets first.
            return;
        }
        inner.idle(deadline.map(to_net));
    }

    /// Polls until every dropped stream has finished closing (its FIN sent and acknowledged)
    /// and every queued datagram has left (some wait for the neighbour's address), or
    /// `timeout` passes; returns whether they all did. Call it before a program exits, as
    /// nothing is sent once the stack is gone.
    pub fn finish(&self, timeout: Duration) -> bool {
        let deadline = self.now() + timeout;
        loop {
            let busy = {
                let mut inner = self.inner();
                inner.poll();
                inner.slots.iter().any(|s| match s.kind {
                    SocketKind::Tcp => s.used == Use::Closing,
                    // A datagram waits in its socket until the neighbour's address is known
                    // (a dropped socket with some is `Closing` until they left).
                    SocketKind::Udp => {
                        s.used == Use::Closing
                            || inner.sockets.get::<udp::Socket>(s.handle).send_queue() > 0
                    }
                    SocketKind::Dns => false,
                })
            };
            if !busy {
                return true;
            }
            if self.now() >= deadline {
                return false;
            }
            self.wait(Some(deadline));
        }
    }

    /// Runs `attempt` after each poll until it gives an answer: the loop every blocking call
    /// is. Non-blocking: one try, then "would block". Blocking: waits through the platform
    /// until `deadline` (then "timed out"); a try is always made before the
    /// deadline is checked, so something already there is taken.
    pub(crate) fn block<T, E: From<Blocked>>(
        &self,
        nonblocking: bool,
        deadline: Option<NetInstant>,
        mut attempt: impl FnMut(&mut Inner<'a, D, P>) -> Option<Result<T, E>>,
    ) -> Result<T, E> {
        let mut answer = None;
        self.block_until(nonblocking, deadline, &mut |inner| {
            answer = attempt(inner);
            answer.is_some()
        })?;
        answer.unwrap_or(Err(E::from(Blocked::WouldBlock)))
    }

    /// [`block`](Self::block)'s loop, once for every caller (not a copy per closure type:
    /// firmware pays for it once): `ready` says whether the attempt gave an answer.
    #[inline(never)]
    fn block_until(
        &self,
        nonblocking: bool,
        deadline: Option<NetInstant>,
        ready: &mut dyn FnMut(&mut Inner<'a, D, P>) -> bool,
    ) -> Result<(), Blocked> {
        let mut guard = self.inner();
        let inner = &mut *guard;
        // Try what is already there before polling: a poll can fire a timer (TIME-WAIT's)
        // that makes smoltcp reset a socket and drop the bytes it still holds.
        if ready(inner) {
            inner.poll();
            return Ok(());
        }
        loop {
            inner.poll();
            if ready(inner) {
                // Send what the attempt queued (data, an ACK opening the window) right away.
                inner.poll();
                return Ok(());
            }
            if nonblocking {
                return Err(Blocked::WouldBlock);
            }
            if deadline.is_some_and(|d| inner.platform.now() >= d) {
                return Err(Blocked::TimedOut);
            }
            inner.idle(deadline);
        }
    }

    /// The deadline `timeout` from now, on the network clock.
    pub(crate) fn deadline_in(&self, timeout: Option<Duration>) -> Option<NetInstant> {
        timeout.map(|t| self.inner().platform.now() + to_net_duration(t))
    }
}

impl<'a, D: Device, P: Platform> Inner<'a, D, P> {
    /// Waits through the platform until the interface's next timer or `deadline`, whichever
    /// comes first (a frame arriving may end it sooner).
    fn idle(&mut self, deadline: Option<NetInstant>) {
        let now = self.platform.now();
        let mut delay = self.iface.poll_delay(now, &self.sockets);
        if let Some(deadline) = deadline {
            let left = if deadline > now {
                deadline - now
            } else {
                smoltcp::time::Duration::ZERO
            };
            delay = Some(delay.map_or(left, |d| d.min(left)));
        }
        self.platform.wait(delay);
    }

    /// Polls until the interface has nothing more to do: a frame it just sent may already be
    /// waiting to be received (a `Loopback` device, or a fast peer), and `poll_delay` does
    /// not know about frames in the device. Bounded, so a flood cannot starve the caller.
    ///
    /// Frames are taken in one at a time, and the listeners' pools refilled before each: a
    /// burst of SYNs that arrived while the program was busy finds a listening socket for each
    /// (smoltcp's own `poll` would take them all in at once and refuse those past the pool).
    pub(crate) fn poll(&mut self) -> bool {
        let mut changed = false;
        for _ in 0..POLL_ROUNDS {
            let now = self.platform.now();
            let mut round = false;
            self.iface.poll_maintenance(now);
            self.note_open();
            loop {
                self.refill();
                match self
                    .iface
                    .poll_ingress_single(now, &mut self.device, &mut self.sockets)
                {
                    PollIngressSingleResult::None => break,
                    PollIngressSingleResult::PacketProcessed => {}
                    PollIngressSingleResult::SocketStateChanged => round = true,
                }
            }
            // A reset arrives as a frame; smoltcp closes a connection for silence only when
            // it is about to send: a connection open before the egress and closed after it,
            // without the peer's FIN, timed out.
            self.note_open();
            while self
                .iface
                .poll_egress(now, &mut self.device, &mut self.sockets)
                == PollResult::SocketStateChanged
            {
                round = true;
            }
            self.note_timeouts();
            self.reap();
            let moved = self.device.take_moved();
            if round {
                changed = true;
            } else if moved == 0 {
                break;
            }
        }
        self.dirty |= changed;
        changed
    }
}
