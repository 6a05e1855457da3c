//! An in-memory datagram network: [`Network`] and its [`MemSocket`]s.

use core::cell::RefCell;
use core::net::SocketAddr;

use embedded_io::ErrorType;

use super::wake::WakerSlot;
use super::{ManualClock, MemError, Mode, check_timeout};
use crate::time::{Duration, Instant};
use crate::transport::{Blocking, Datagram, Interface, MembershipRequest, Multicast, Received};

/// Memberships one socket can hold.
const MAX_GROUPS: usize = 4;
/// The first port given to sockets bound to port 0.
const EPHEMERAL_BASE: u16 = 49_152;

/// A datagram network of up to `S` sockets, each queueing up to `Q` datagrams of up to `M`
/// bytes, on a [`ManualClock`].
///
/// A datagram to a unicast address goes to the socket bound to it (or to the unspecified
/// address on its port). A datagram to a multicast group goes to every socket on its port that
/// joined the group; with multicast loopback off, not to sockets of the sender's own IP address
/// (its "host"). Hosts are told apart by IP address, so bind the chapter's two receivers to,
/// say, 10.0.0.2:10000 and 10.0.0.3:10000. A full queue drops the datagram, as UDP does;
/// [`drop_next`](Self::drop_next) drops on purpose.
#[derive(Debug)]
pub struct Network<'c, const S: usize, const Q: usize, const M: usize> {
    clock: &'c ManualClock,
    state: RefCell<NetState<S, Q, M>>,
}

/// A socket of a [`Network`]: [`Datagram`], [`Multicast`], [`Blocking`]. Dropping it unbinds
/// it.
#[derive(Debug)]
pub struct MemSocket<'n, const S: usize, const Q: usize, const M: usize> {
    net: &'n Network<'n, S, Q, M>,
    index: usize,
}

#[derive(Debug)]
pub(super) struct NetState<const S: usize, const Q: usize, const M: usize> {
    slots: heapless::Vec<Slot<Q, M>, S>,
    drop_next: usize,
    dropped: u64,
    activity: u64,
    next_port: u16,
}

#[derive(Debug)]
pub(super) struct Slot<const Q: usize, const M: usize> {
    addr: SocketAddr,
    open: bool,
    queue: heapless::Deque<Packet<M>, Q>,
    groups: heapless::Vec<MembershipRequest, MAX_GROUPS>,
    ttl: u8,
    loopback: bool,
    interface: Interface,
    mode: Mode,
    /// The async receiver waiting for a datagram.
    reader: WakerSlot,
}

#[derive(Debug)]
struct Packet<const M: usize> {
    from: SocketAddr,
    data: heapless::Vec<u8, M>,
}

impl<'c, const S: usize, const Q: usize, const M: usize> Network<'c, S, Q, M> {
    /// An empty network on `clock`.
    pub fn new(clock: &'c ManualClock) -> Self {
        let state = NetState {
            slots: heapless::Vec::new(),
            drop_next: 0,
            dropped: 0,
            activity: 0,
            next_port: EPHEMERAL_BASE,
        };
        Self {
            clock,
            state: RefCell::new(state),
        }
    }

    /// Binds a socket to `addr`; port 0 picks a free port from 49152 up.
    ///
    /// # Errors
    ///
    /// [`MemError::AddrInUse`] if a socket is bound to `addr`, [`MemError::TooManySockets`] if
    /// all `S` slots are in use.
    pub fn bind(&self, addr: SocketAddr) -> Result<MemSocket<'_, S, Q, M>, MemError> {
        let mut s = self.state.borrow_mut();
        let mut addr = addr;
        if addr.port() == 0 {
            addr.set_port(s.next_port);
            s.next_port = s.next_port.wrapping_add(1).max(EPHEMERAL_BASE);
        }
        if s.slots.iter().any(|slot| slot.open && slot.addr == addr) {
            return Err(MemError::AddrInUse { addr });
        }
        let slot = Slot {
            addr,
            open: true,
            queue: heapless::Deque::new(),
            groups: heapless::Vec::new(),
            ttl: 1,
            loopback: true,
            interface: Interface::Any,
            mode: Mode::default(),
            reader: WakerSlot::default(),
        };
        let index = match s.slots.iter().position(|slot| !slot.open) {
            Some(i) => {
                s.slots[i] = slot;
                i
            }
            None => {
                s.slots.push(slot).map_err(|_| MemError::TooManySockets)?;
                s.slots.len() - 1
            }
        };
        Ok(MemSocket { net: self, index })
    }

    /// Drops the next `n` datagrams sent, whoever sends them.
    pub fn drop_next(&self, n: usize) {
        self.state.borrow_mut().drop_next = n;
    }

    /// Datagrams dropped so far: on purpose, for a full queue, or for want of a receiver.
    pub fn dropped(&self) -> u64 {
        self.state.borrow().dropped
    }

    /// Successful operations so far (datagrams sent and received), for idle detection.
    pub fn activity(&self) -> u64 {
        self.state.borrow().activity
    }
}

impl<const S: usize, const Q: usize, const M: usize> NetState<S, Q, M> {
    /// The next datagram queued for socket `i`, copied (truncated) into `buf`.
    pub(super) fn try_recv(&mut self, i: usize, buf: &mut [u8]) -> Option<Received<SocketAddr>> {
        let packet = self.slots[i].queue.pop_front()?;
        let n = packet.data.len().min(buf.len());
        buf[..n].copy_from_slice(&packet.data[..n]);
        self.activity += 1;
        Some(Received {
            len: packet.data.len(),
            from: packet.from,
        })
    }

    /// Registers socket `i`'s task to be woken by its next datagram.
    #[cfg(feature = "async")]
    pub(super) fn wait_datagram(&mut self, i: usize, waker: &core::task::Waker) {
        self.slots[i].reader.register(waker);
    }

    fn deliver(&mut self, from: usize, data: &[u8], to: SocketAddr) {
        let sender = self.slots[from].addr;
        let loopback = self.slots[from].loopback;
        let mut delivered = false;
        for slot in self
            .slots
            .iter_mut()
            .filter(|slot| slot.open && slot.addr.port() == to.port())
        {
            let wanted = if to.ip().is_multicast() {
                let member = slot.groups.iter().any(|g| g.group() == to.ip());
                member && (loopback || slot.addr.ip() != sender.ip())
            } else {
                slot.addr == to
                    || (slot.addr.ip().is_unspecified() && slot.addr.is_ipv4() == to.is_ipv4())
            };
            if !wanted {
                continue;
            }
            let packet = Packet {
                from: sender,
                data: heapless::Vec::from_slice(data).unwrap_or_default(),
            };
            if slot.queue.push_back(packet).is_ok() {
                delivered = true;
                slot.reader.wake();
            }
            if !to.ip().is_multicast() {
                break;
            }
        }
        if !delivered {
            self.dropped += 1;
        }
    }
}

impl<const S: usize, const Q: usize, const M: usize> MemSocket<'_, S, Q, M> {
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut NetState<S, Q, M>, usize) -> R) -> R {
        f(&mut self.net.state.borrow_mut(), self.index)
    }

    pub(super) fn slot<R>(&self, f: impl FnOnce(&mut Slot<Q, M>) -> R) -> R {
        self.with(|s, i| f(&mut s.slots[i]))
    }

    /// Datagrams waiting to be received.
    pub fn queued(&self) -> usize {
        self.slot(|slot| slot.queue.len())
    }

    /// Sends (delivers, drops or loses) one datagram; never waits.
    pub(super) fn send(&self, data: &[u8], to: &SocketAddr) -> Result<(), MemError> {
        if data.len() > M {
            return Err(MemError::TooLarge {
                len: data.len(),
                mtu: M,
            });
        }
        self.with(|s, i| {
            s.activity += 1;
            if s.drop_next > 0 {
                s.drop_next -= 1;
                s.dropped += 1;
                return;
            }
            s.deliver(i, data, *to);
        });
        Ok(())
    }
}

impl<const S: usize, const Q: usize, const M: usize> ErrorType for MemSocket<'_, S, Q, M> {
    type Error = MemError;
}

impl<const S: usize, const Q: usize, const M: usize> Datagram for MemSocket<'_, S, Q, M> {
    type Addr = SocketAddr;

    fn send_to(&mut self, data: &[u8], to: &SocketAddr) -> Result<(), MemError> {
        self.send(data, to)
    }

    fn recv_from(
        &mut self,
        buf: &mut [u8],
        deadline: Option<Instant>,
    ) -> Result<Option<Received<SocketAddr>>, MemError> {
        let clock = self.net.clock;
        self.with(|s, i| match s.try_recv(i, buf) {
            Some(received) => Ok(Some(received)),
            None => s.slots[i].mode.wait_until(clock, deadline).map(|()| None),
        })
    }

    fn local_addr(&self) -> Result<SocketAddr, MemError> {
        Ok(self.slot(|slot| slot.addr))
    }
}

impl<const S: usize, const Q: usize, const M: usize> Multicast for MemSocket<'_, S, Q, M> {
    fn join(&mut self, request: &MembershipRequest) -> Result<(), MemError> {
        self.slot(|slot| {
            if request.group().is_ipv4() != slot.addr.is_ipv4() {
                return Err(MemError::WrongFamily);
            }
            if slot.groups.iter().any(|g| g.group() == request.group()) {
                return Err(MemError::AlreadyMember);
            }
            slot.groups
                .push(*request)
                .map_err(|_| MemError::TooManyGroups)
        })
    }

    fn leave(&mut self, request: &MembershipRequest) -> Result<(), MemError> {
        self.slot(|slot| {
            let i = slot
                .groups
                .iter()
                .position(|g| g == request)
                .ok_or(MemError::NotMember)?;
            slot.groups.swap_remove(i);
            Ok(())
        })
    }

    fn set_multicast_ttl(&mut self, ttl: u8) -> Result<(), MemError> {
        self.slot(|slot| slot.ttl = ttl);
        Ok(())
    }

    fn multicast_ttl(&self) -> Result<u8, MemError> {
        Ok(self.slot(|slot| slot.ttl))
    }

    fn set_multicast_loop(&mut self, on: bool) -> Result<(), MemError> {
        self.slot(|slot| slot.loopback = on);
        Ok(())
    }

    fn multicast_loop(&self) -> Result<bool, MemError> {
        Ok(self.slot(|slot| slot.loopback))
    }

    fn set_multicast_interface(&mut self, interface: Interface) -> Result<(), MemError> {
        let is_v4 = self.slot(|slot| slot.addr.is_ipv4());
        if matches!(interface, Interface::Addr(_)) && !is_v4 {
            return Err(MemError::WrongFamily);
        }
        self.slot(|slot| slot.interface = interface);
        Ok(())
    }
}

impl<const S: usize, const Q: usize, const M: usize> Blocking for MemSocket<'_, S, Q, M> {
    fn set_nonblocking(&mut self, nonblocking: bool) -> Result<(), MemError> {
        self.slot(|slot| slot.mode.nonblocking = nonblocking);
        Ok(())
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> Result<(), MemError> {
        let timeout = check_timeout(timeout)?;
        self.slot(|slot| slot.mode.read_timeout = timeout);
        Ok(())
    }

    fn read_timeout(&self) -> Result<Option<Duration>, MemError> {
        Ok(self.slot(|slot| slot.mode.read_timeout))
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> Result<(), MemError> {
        let timeout = check_timeout(timeout)?;
        self.slot(|slot| slot.mode.write_timeout = timeout);
        Ok(())
    }

    fn write_timeout(&self) -> Result<Option<Duration>, MemError> {
        Ok(self.slot(|slot| slot.mode.write_timeout))
    }
}

impl<const S: usize, const Q: usize, const M: usize> Drop for MemSocket<'_, S, Q, M> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.net.state.try_borrow_mut()
            && let Some(slot) = s.slots.get_mut(self.index)
        {
            slot.open = false;
            slot.queue.clear();
            slot.groups.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Interface;

    type Net<'c> = Network<'c, 4, 2, 8>;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn unicast_delivers_and_truncates() {
        let clock = ManualClock::new();
        let net = Net::new(&clock);
        let mut a = net.bind(addr("10.0.0.1:0")).unwrap();
        let mut b = net.bind(addr("10.0.0.2:7")).unwrap();
        assert_eq!(a.local_addr(), Ok(addr("10.0.0.1:49152")));
        a.send_to(b"abcdef", &addr("10.0.0.2:7")).unwrap();
        let mut buf = [0u8; 4];
        let r = b.recv_from(&mut buf, None).unwrap().unwrap();
        assert_eq!(
            r,
            Received {
                len: 6,
                from: addr("10.0.0.1:49152")
            }
        );
        assert!(r.is_truncated(buf.len()));
        assert_eq!(&buf, b"abcd");
        assert_eq!(
            a.send_to(&[0; 9], &addr("10.0.0.2:7")),
            Err(MemError::TooLarge { len: 9, mtu: 8 })
        );
        assert_eq!(
            net.bind(addr("10.0.0.2:7")).map(|_| ()),
            Err(MemError::AddrInUse {
                addr: addr("10.0.0.2:7")
            })
        );
    }

    #[test]
    fn full_queues_and_unknown_destinations_drop() {
        let clock = ManualClock::new();
        let net = Net::new(&clock);
        let mut a = net.bind(addr("10.0.0.1:1")).unwrap();
        let b = net.bind(addr("10.0.0.2:2")).unwrap();
        for _ in 0..3 {
            a.send_to(b"x", &addr("10.0.0.2:2")).unwrap();
        }
        a.send_to(b"x", &addr("10.0.0.9:2")).unwrap();
        assert_eq!((b.queued(), net.dropped()), (2, 2));
        net.drop_next(1);
        drop(b);
        let mut b = net.bind(addr("10.0.0.2:2")).unwrap();
        a.send_to(b"y", &addr("10.0.0.2:2")).unwrap();
        assert_eq!((b.queued(), net.dropped()), (0, 3));
        b.set_nonblocking(true).unwrap();
        assert_eq!(b.recv_from(&mut [0u8; 1], None), Err(MemError::WouldBlock));
    }

    #[test]
    fn recv_deadline_advances_the_clock() {
        let clock = ManualClock::new();
        let net = Net::new(&clock);
        let mut a = net.bind(addr("10.0.0.1:1")).unwrap();
        assert_eq!(
            a.recv_from(&mut [0u8; 1], Some(Instant::from_millis(200))),
            Ok(None)
        );
        assert_eq!(clock.now(), Instant::from_millis(200));
        assert_eq!(a.recv_from(&mut [0u8; 1], None), Err(MemError::WouldBlock));
        a.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        assert_eq!(a.recv_from(&mut [0u8; 1], None), Err(MemError::TimedOut));
        assert_eq!(clock.now(), Instant::from_millis(250));
    }

    #[test]
    fn multicast_reaches_members_on_the_port() {
        let clock = ManualClock::new();
        let net = Net::new(&clock);
        let group = addr("224.3.29.71:10000");
        let req = MembershipRequest::v4("224.3.29.71".parse().unwrap(), Interface::Any).unwrap();
        let mut sender = net.bind(addr("10.0.0.1:0")).unwrap();
        let mut r1 = net.bind(addr("10.0.0.2:10000")).unwrap();
        let mut r2 = net.bind(addr("10.0.0.3:10000")).unwrap();
        let other_port = net.bind(addr("10.0.0.4:9999")).unwrap();
        r1.join(&req).unwrap();
        assert_eq!(r1.join(&req), Err(MemError::AlreadyMember));
        sender.send_to(b"hello", &group).unwrap();
        assert_eq!((r1.queued(), r2.queued(), other_port.queued()), (1, 0, 0));
        r2.join(&req).unwrap();
        sender.set_multicast_ttl(1).unwrap();
        assert_eq!(sender.multicast_ttl(), Ok(1));
        sender.send_to(b"again", &group).unwrap();
        assert_eq!((r1.queued(), r2.queued()), (2, 1));
        r1.leave(&req).unwrap();
        assert_eq!(r1.leave(&req), Err(MemError::NotMember));
        let v6 = MembershipRequest::v6("ff02::1".parse().unwrap(), 0).unwrap();
        assert_eq!(r1.join(&v6), Err(MemError::WrongFamily));
    }

    #[test]
    fn multicast_loopback_controls_the_senders_host() {
        let clock = ManualClock::new();
        let net = Net::new(&clock);
        let group = addr("224.3.29.71:10000");
        let req = MembershipRequest::v4("224.3.29.71".parse().unwrap(), Interface::Any).unwrap();
        let mut local = net.bind(addr("10.0.0.1:10000")).unwrap();
        local.join(&req).unwrap();
        let mut sender = net.bind(addr("10.0.0.1:0")).unwrap();
        sender.set_multicast_loop(false).unwrap();
        assert_eq!(sender.multicast_loop(), Ok(false));
        sender.send_to(b"x", &group).unwrap();
        assert_eq!(local.queued(), 0);
        sender.set_multicast_loop(true).unwrap();
        sender.send_to(b"x", &group).unwrap();
        assert_eq!(local.queued(), 1);
        assert_eq!(
            sender.set_multicast_interface(Interface::Addr("10.0.0.1".parse().unwrap())),
            Ok(())
        );
    }
}
