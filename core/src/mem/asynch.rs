//! The in-memory transport, awaited (feature `async`): [`MemStream`], [`MemListener`] and
//! [`MemSocket`] implement the [`asynch::transport`](crate::asynch::transport) traits and
//! [`ManualClock`] is a [`Timer`].
//!
//! An operation that cannot proceed registers its task's waker in the shared state and
//! returns `Pending`; the other side's operation (or [`ManualClock::advance`]) wakes it. The
//! blocking side's mode (non-blocking, timeouts) does not apply: an async operation waits.
//! Every operation is cancel-safe: it changes the state only in the poll that completes it.
//!
//! ```
//! use core::pin::pin;
//! use core::task::{Context, Poll, Waker};
//! use portsock_core::asynch::transport::{Read, Write};
//! use portsock_core::mem::StreamPair;
//!
//! let pair = StreamPair::<8>::new();
//! let (mut a, mut b) = pair.split();
//! let mut cx = Context::from_waker(Waker::noop());
//! let mut buf = [0u8; 8];
//! let mut read = pin!(Read::read(&mut b, &mut buf));
//! assert!(read.as_mut().poll(&mut cx).is_pending()); // nothing sent yet: the read waits
//! let mut write = pin!(Write::write(&mut a, b"hi"));
//! assert_eq!(write.as_mut().poll(&mut cx), Poll::Ready(Ok(2)));
//! assert_eq!(read.as_mut().poll(&mut cx), Poll::Ready(Ok(2)));
//! ```

use core::future::poll_fn;
use core::net::SocketAddr;
use core::task::Poll;

use embedded_io_async::{Read, Write};

use super::{ManualClock, MemError, MemListener, MemSocket, MemStream};
use crate::asynch::time::Timer;
use crate::asynch::transport::{self, Interface, MembershipRequest, Received, Shutdown};
use crate::time::Instant;
use crate::transport as blocking;

/// Cancel-safe: a read dropped before it completes took no byte.
impl<const N: usize> Read for MemStream<'_, N> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, MemError> {
        poll_fn(|cx| {
            self.with(|s, end| match s.try_read(end, buf) {
                Ok(Some(n)) => Poll::Ready(Ok(n)),
                Ok(None) => {
                    s.wait_readable(end, cx.waker());
                    Poll::Pending
                }
                Err(e) => Poll::Ready(Err(e)),
            })
        })
        .await
    }
}

/// Cancel-safe: a write dropped before it completes sent no byte.
impl<const N: usize> Write for MemStream<'_, N> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, MemError> {
        poll_fn(|cx| {
            self.with(|s, end| match s.try_write(end, buf) {
                Ok(Some(n)) => Poll::Ready(Ok(n)),
                Ok(None) => {
                    s.wait_writable(end, cx.waker());
                    Poll::Pending
                }
                Err(e) => Poll::Ready(Err(e)),
            })
        })
        .await
    }

    async fn flush(&mut self) -> Result<(), MemError> {
        self.with(|s, _| s.try_flush())
    }
}

impl<const N: usize> transport::Stream for MemStream<'_, N> {
    type Addr = SocketAddr;

    /// Completes at once (cancel-safe).
    async fn shutdown(&mut self, how: Shutdown) -> Result<(), MemError> {
        self.with(|s, end| s.shutdown(end, how))
    }

    fn local_addr(&self) -> Result<SocketAddr, MemError> {
        blocking::Stream::local_addr(self)
    }

    fn peer_addr(&self) -> Result<SocketAddr, MemError> {
        blocking::Stream::peer_addr(self)
    }
}

impl<'p, const N: usize> transport::Listener for MemListener<'p, N> {
    type Addr = SocketAddr;
    type Stream<'a>
        = MemStream<'p, N>
    where
        Self: 'a;

    /// Waits for a [`connect`](MemListener::connect); connections are accepted in order, by
    /// whichever task asks first.
    async fn accept(&self) -> Result<(MemStream<'p, N>, SocketAddr), MemError> {
        poll_fn(|cx| match self.try_accept() {
            Some(accepted) => Poll::Ready(Ok(accepted)),
            None => {
                self.wait_connect(cx.waker());
                Poll::Pending
            }
        })
        .await
    }

    fn local_addr(&self) -> Result<SocketAddr, MemError> {
        blocking::Listener::local_addr(self)
    }
}

impl<const S: usize, const Q: usize, const M: usize> transport::Datagram
    for MemSocket<'_, S, Q, M>
{
    type Addr = SocketAddr;

    /// Never waits: the datagram is delivered, dropped (loss, a full queue) or refused as too
    /// large at once.
    async fn send_to(&mut self, data: &[u8], to: &SocketAddr) -> Result<(), MemError> {
        self.send(data, to)
    }

    async fn recv_from(&mut self, buf: &mut [u8]) -> Result<Received<SocketAddr>, MemError> {
        poll_fn(|cx| {
            self.with(|s, i| match s.try_recv(i, buf) {
                Some(received) => Poll::Ready(Ok(received)),
                None => {
                    s.wait_datagram(i, cx.waker());
                    Poll::Pending
                }
            })
        })
        .await
    }

    fn local_addr(&self) -> Result<SocketAddr, MemError> {
        blocking::Datagram::local_addr(self)
    }
}

impl<const S: usize, const Q: usize, const M: usize> transport::Multicast
    for MemSocket<'_, S, Q, M>
{
    fn join(&mut self, request: &MembershipRequest) -> Result<(), MemError> {
        blocking::Multicast::join(self, request)
    }

    fn leave(&mut self, request: &MembershipRequest) -> Result<(), MemError> {
        blocking::Multicast::leave(self, request)
    }

    fn set_multicast_ttl(&mut self, ttl: u8) -> Result<(), MemError> {
        blocking::Multicast::set_multicast_ttl(self, ttl)
    }

    fn multicast_ttl(&self) -> Result<u8, MemError> {
        blocking::Multicast::multicast_ttl(self)
    }

    fn set_multicast_loop(&mut self, on: bool) -> Result<(), MemError> {
        blocking::Multicast::set_multicast_loop(self, on)
    }

    fn multicast_loop(&self) -> Result<bool, MemError> {
        blocking::Multicast::multicast_loop(self)
    }

    fn set_multicast_interface(&mut self, interface: Interface) -> Result<(), MemError> {
        blocking::Multicast::set_multicast_interface(self, interface)
    }
}

/// Sleeps until the clock is moved to the instant ([`advance`](ManualClock::advance),
/// [`set`](ManualClock::set), [`advance_to_next_wake`](ManualClock::advance_to_next_wake)).
impl Timer for ManualClock {
    async fn sleep_until(&self, at: Instant) {
        poll_fn(|cx| {
            if self.now() >= at {
                return Poll::Ready(());
            }
            self.sleepers
                .borrow_mut()
                .register(cx.waker(), at.as_millis());
            Poll::Pending
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use core::pin::pin;
    use core::task::{Context, Waker};

    use super::*;
    use crate::asynch::transport::{Datagram, Listener};
    use crate::mem::{Network, StreamPair};
    use crate::time::Duration;

    fn noop() -> Context<'static> {
        Context::from_waker(Waker::noop())
    }

    #[test]
    fn a_full_pipe_makes_the_writer_wait_until_the_reader_reads() {
        let pair = StreamPair::<2>::new();
        let (mut a, mut b) = pair.split();
        let mut cx = noop();
        assert_eq!(
            pin!(Write::write(&mut a, b"abc")).poll(&mut cx),
            Poll::Ready(Ok(2))
        );
        let mut write = pin!(Write::write(&mut a, b"c"));
        assert!(
            write.as_mut().poll(&mut cx).is_pending(),
            "two bytes fill it"
        );
        let mut buf = [0u8; 1];
        assert_eq!(
            pin!(Read::read(&mut b, &mut buf)).poll(&mut cx),
            Poll::Ready(Ok(1))
        );
        assert_eq!(write.as_mut().poll(&mut cx), Poll::Ready(Ok(1)));
    }

    #[test]
    fn end_of_stream_and_reset_end_a_wait() {
        let pair = StreamPair::<4>::new();
        let (mut a, mut b) = pair.split();
        let mut cx = noop();
        let mut buf = [0u8; 4];
        let mut read = pin!(Read::read(&mut b, &mut buf));
        assert!(read.as_mut().poll(&mut cx).is_pending());
        assert_eq!(
            pin!(transport::Stream::shutdown(&mut a, Shutdown::Write)).poll(&mut cx),
            Poll::Ready(Ok(()))
        );
        assert_eq!(read.as_mut().poll(&mut cx), Poll::Ready(Ok(0)));
        let pair = StreamPair::<4>::new();
        let (_a, mut b) = pair.split();
        let mut buf = [0u8; 4];
        let mut read = pin!(Read::read(&mut b, &mut buf));
        assert!(read.as_mut().poll(&mut cx).is_pending());
        pair.reset();
        assert_eq!(
            read.as_mut().poll(&mut cx),
            Poll::Ready(Err(MemError::ConnectionReset))
        );
    }

    #[test]
    fn accept_waits_for_a_connect() {
        let pairs: [StreamPair<'_, 4>; 1] = [StreamPair::new()];
        let listener = MemListener::new("127.0.0.1:7".parse().unwrap(), &pairs);
        let mut cx = noop();
        let mut accept = pin!(Listener::accept(&listener));
        assert!(accept.as_mut().poll(&mut cx).is_pending());
        let client = listener.connect().unwrap();
        let Poll::Ready(Ok((_, peer))) = accept.as_mut().poll(&mut cx) else {
            panic!("the connection is there")
        };
        assert_eq!(peer, blocking::Stream::local_addr(&client).unwrap());
    }

    #[test]
    fn recv_from_waits_for_a_datagram_and_reports_its_length() {
        let clock = ManualClock::new();
        let net = Network::<2, 2, 8>::new(&clock);
        let mut a = net.bind("10.0.0.1:1".parse().unwrap()).unwrap();
        let mut b = net.bind("10.0.0.2:2".parse().unwrap()).unwrap();
        let mut cx = noop();
        let mut buf = [0u8; 2];
        let mut recv = pin!(Datagram::recv_from(&mut b, &mut buf));
        assert!(recv.as_mut().poll(&mut cx).is_pending());
        let to = "10.0.0.2:2".parse().unwrap();
        assert_eq!(
            pin!(Datagram::send_to(&mut a, b"hello", &to)).poll(&mut cx),
            Poll::Ready(Ok(()))
        );
        let Poll::Ready(Ok(got)) = recv.as_mut().poll(&mut cx) else {
            panic!("the datagram is there")
        };
        assert_eq!((got.len, got.from), (5, "10.0.0.1:1".parse().unwrap()));
    }

    #[test]
    fn multicast_membership_through_the_async_traits() {
        use crate::asynch::transport::Multicast;

        let clock = ManualClock::new();
        let net = Network::<3, 2, 8>::new(&clock);
        let group = "224.3.29.71".parse().unwrap();
        let req = MembershipRequest::v4(group, Interface::Any).unwrap();
        let mut sender = net.bind("10.0.0.1:0".parse().unwrap()).unwrap();
        let mut member = net.bind("10.0.0.2:10000".parse().unwrap()).unwrap();
        Multicast::join(&mut member, &req).unwrap();
        Multicast::set_multicast_ttl(&mut sender, 2).unwrap();
        assert_eq!(Multicast::multicast_ttl(&sender), Ok(2));
        Multicast::set_multicast_loop(&mut sender, false).unwrap();
        assert_eq!(Multicast::multicast_loop(&sender), Ok(false));
        let mut cx = noop();
        let mut buf = [0u8; 8];
        {
            let mut recv = pin!(Datagram::recv_from(&mut member, &mut buf));
            assert!(recv.as_mut().poll(&mut cx).is_pending());
            let to = SocketAddr::from((group, 10000));
            assert!(
                pin!(Datagram::send_to(&mut sender, b"all", &to))
                    .poll(&mut cx)
                    .is_ready()
            );
            assert!(matches!(
                recv.as_mut().poll(&mut cx),
                Poll::Ready(Ok(Received { len: 3, .. }))
            ));
        }
        Multicast::leave(&mut member, &req).unwrap();
        assert_eq!(
            Multicast::leave(&mut member, &req),
            Err(MemError::NotMember)
        );
    }

    #[test]
    fn a_sleep_ends_when_the_clock_reaches_it() {
        let clock = ManualClock::new();
        let mut cx = noop();
        let mut sleep = pin!(clock.sleep_until(Instant::from_millis(100)));
        assert!(sleep.as_mut().poll(&mut cx).is_pending());
        assert_eq!(clock.next_wake(), Some(Instant::from_millis(100)));
        clock.advance(Duration::from_millis(99));
        assert!(sleep.as_mut().poll(&mut cx).is_pending());
        assert_eq!(
            clock.advance_to_next_wake(),
            Some(Instant::from_millis(100))
        );
        assert_eq!(sleep.as_mut().poll(&mut cx), Poll::Ready(()));
        assert_eq!(clock.next_wake(), None);
        assert_eq!(clock.advance_to_next_wake(), None, "nobody sleeps");
        assert_eq!(clock.now(), Instant::from_millis(100));
    }
}
