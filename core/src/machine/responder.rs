//! The shared core of [`DatagramEchoServer`](crate::echo::datagram::DatagramEchoServer) and
//! [`MulticastReceiver`](crate::multicast::MulticastReceiver): receive one datagram, reply to
//! its sender (or not), repeat.

use super::{Buffer, Received, Transmit};

/// Receive one datagram, optionally reply to its sender, repeat: the shared core of
/// [`DatagramEchoServer`](crate::echo::datagram::DatagramEchoServer) and [`MulticastReceiver`](crate::multicast::MulticastReceiver).
#[derive(Debug, Clone)]
pub(crate) struct Responder<B, A> {
    buf: B,
    current: Option<Incoming<A>>,
    phase: Phase,
    served: usize,
    limit: Option<usize>,
}

#[derive(Debug, Clone)]
struct Incoming<A> {
    from: A,
    len: usize,
    copied: usize,
    reply: bool,
}

/// Where the responder is, and whether that step's event was polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting { reported: bool },
    Received { reported: bool },
    Replied { reported: bool },
}

/// A [`Responder`] event, renamed by each machine.
pub(crate) enum Step<'a, A> {
    Waiting,
    Received {
        from: &'a A,
        data: &'a [u8],
        len: usize,
    },
    Replied {
        to: &'a A,
        len: usize,
    },
}

impl<B: Buffer, A> Responder<B, A> {
    pub(crate) fn new(buf: B) -> Self {
        Self {
            buf,
            current: None,
            phase: Phase::Waiting { reported: false },
            served: 0,
            limit: None,
        }
    }

    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.limit = Some(limit);
    }

    pub(crate) fn served(&self) -> usize {
        self.served
    }

    pub(crate) fn capacity(&self) -> usize {
        self.buf.as_ref().len()
    }

    fn limit_reached(&self) -> bool {
        self.limit.is_some_and(|l| self.served >= l)
    }

    fn replying(&self) -> bool {
        self.phase == (Phase::Received { reported: true })
            || self.phase == (Phase::Received { reported: false })
    }

    /// Done once the limit is reached and no reply is pending; events may still be waiting to
    /// be polled (a driver that ignores events must not stall).
    pub(crate) fn is_done(&self) -> bool {
        let reply_pending = self.replying() && self.current.as_ref().is_some_and(|c| c.reply);
        self.limit_reached() && !reply_pending
    }

    pub(crate) fn recv_buf(&mut self) -> Option<&mut [u8]> {
        let reply_pending = self.replying() && self.current.as_ref().is_some_and(|c| c.reply);
        if self.limit_reached() || reply_pending || self.buf.as_ref().is_empty() {
            return None;
        }
        Some(self.buf.as_mut())
    }

    pub(crate) fn handle_received(&mut self, received: Received<A>, reply: bool) {
        let copied = received.copied(self.capacity());
        self.current = Some(Incoming {
            from: received.from,
            len: received.len,
            copied,
            reply,
        });
        self.phase = Phase::Received { reported: false };
        if !reply {
            self.served += 1;
        }
    }

    /// The reply, with `payload` choosing its bytes from the received data.
    pub(crate) fn poll_transmit<'s>(
        &'s self,
        payload: impl FnOnce(&'s [u8]) -> &'s [u8],
    ) -> Option<Transmit<'s, A>> {
        let current = self
            .current
            .as_ref()
            .filter(|c| c.reply && self.replying())?;
        let data = self.buf.as_ref().get(..current.copied).unwrap_or_default();
        Some(Transmit {
            to: &current.from,
            payload: payload(data),
        })
    }

    pub(crate) fn handle_sent(&mut self) {
        if self.current.as_ref().is_some_and(|c| c.reply) && self.replying() {
            self.served += 1;
            self.phase = Phase::Replied { reported: false };
        }
    }

    pub(crate) fn poll_step(&mut self) -> Option<Step<'_, A>> {
        let more = !self.limit_reached();
        let reply = self.current.as_ref().is_some_and(|c| c.reply);
        match self.phase {
            Phase::Waiting { reported: false } if more => {
                self.phase = Phase::Waiting { reported: true };
                Some(Step::Waiting)
            }
            Phase::Received { reported: false } => {
                self.phase = Phase::Received { reported: true };
                let c = self.current.as_ref()?;
                let data = self.buf.as_ref().get(..c.copied).unwrap_or_default();
                Some(Step::Received {
                    from: &c.from,
                    data,
                    len: c.len,
                })
            }
            Phase::Replied { reported: false } => {
                self.phase = Phase::Replied { reported: true };
                let c = self.current.as_ref()?;
                Some(Step::Replied {
                    to: &c.from,
                    len: c.copied,
                })
            }
            Phase::Received { reported: true } if !reply && more => {
                self.phase = Phase::Waiting { reported: true };
                Some(Step::Waiting)
            }
            Phase::Replied { reported: true } if more => {
                self.phase = Phase::Waiting { reported: true };
                Some(Step::Waiting)
            }
            _ => None,
        }
    }
}
