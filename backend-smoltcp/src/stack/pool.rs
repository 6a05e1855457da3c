//! The socket table: which socket is free, owned, closing or in a listener's pool, and the
//! bookkeeping around it (listeners' pools, ephemeral ports, timed-out connections).

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::phy::Device;
use smoltcp::socket::{tcp, udp};
use smoltcp::time::Instant as NetInstant;
use smoltcp::wire::IpAddress;

use crate::error::{SocketKind, StackError, TcpError};
use crate::platform::Platform;

use super::Inner;
use super::config::ORPHAN_FIN_TIMEOUT;

/// The first port handed out when a socket binds to port 0 or connects (IANA's dynamic range).
pub(super) const EPHEMERAL_FIRST: u16 = 49152;

/// [`ORPHAN_FIN_TIMEOUT`] in milliseconds, as [`Slot::closing_since`] counts.
const ORPHAN_FIN_MS: u32 = ORPHAN_FIN_TIMEOUT.as_millis() as u32;

/// The clock's milliseconds modulo 2^32 (truncation intended: differences wrap).
fn millis32(now: NetInstant) -> u32 {
    now.total_millis() as u32
}

/// What a tracked socket is being used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// Idle, ready to be handed out.
    Free,
    /// Listening for (or holding a not yet accepted) connection for listener `id`.
    Listening(u16),
    /// Owned by a `TcpStream`, a `UdpSocket` or the DNS resolver.
    Owned,
    /// Dropped by its owner while the connection still closes; freed once it has.
    Closing,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub handle: SocketHandle,
    pub kind: SocketKind,
    pub used: Use,
    /// The peer's FIN has arrived (seen after a poll). smoltcp forgets it when the socket
    /// closes (TIME-WAIT's timer, or the last ACK), so a stream asks here to tell a graceful
    /// end from a reset.
    pub fin_seen: bool,
    /// The TCP socket was open before the last poll's timers ran (see `Inner::poll`).
    pub open: bool,
    /// smoltcp closed the TCP connection because its peer stayed silent past the timeout.
    pub timed_out: bool,
    /// When its owner dropped it, in milliseconds modulo 2^32 (meaningful while `used` is
    /// [`Use::Closing`]; compared by wrapping difference, so 32 bits keep the slot small).
    pub closing_since: u32,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ListenerEntry {
    pub id: u16,
    pub endpoint: smoltcp::wire::IpListenEndpoint,
    pub backlog: u16,
}

impl<'a, D: Device, P: Platform> Inner<'a, D, P> {
    /// Remembers which TCP sockets in use are open (see [`note_timeouts`](Self::note_timeouts)).
    pub(super) fn note_open(&mut self) {
        for slot in &mut self.slots {
            if slot.kind == SocketKind::Tcp && matches!(slot.used, Use::Owned | Use::Listening(_)) {
                slot.open =
                    self.sockets.get::<tcp::Socket>(slot.handle).state() != tcp::State::Closed;
            }
        }
    }

    /// Marks the TCP sockets that [`note_open`](Self::note_open) saw open and smoltcp's timers
    /// have closed since, without a FIN from the peer: their peer was silent past the timeout.
    pub(super) fn note_timeouts(&mut self) {
        for slot in &mut self.slots {
            if slot.kind == SocketKind::Tcp && slot.open && !slot.fin_seen {
                let state = self.sockets.get::<tcp::Socket>(slot.handle).state();
                if state == tcp::State::Closed {
                    slot.timed_out = true;
                    slot.open = false;
                }
            }
        }
    }

    /// Gives a TCP socket about to be handed out (to a connect or a listener's pool) the
    /// stack's timers, and undoes what its last user set.
    fn prepare_tcp(&mut self, handle: SocketHandle) {
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        socket.set_timeout(self.tcp_timeout);
        socket.set_keep_alive(self.tcp_keep_alive);
        socket.set_nagle_enabled(true);
        if let Some(slot) = self.slot_mut(handle) {
            slot.fin_seen = false;
            slot.open = false;
            slot.timed_out = false;
        }
    }

    /// Tops up every listener's pool, and tells the device which listeners have no socket
    /// listening (a SYN to them is dropped, not refused: the client sends it again).
    pub(super) fn refill(&mut self) {
        self.device.full.clear();
        for l in 0..self.listeners.len() {
            let entry = self.listeners[l];
            if self.top_up(entry) == 0 {
                let _ = self.device.full.push(entry.endpoint.port);
            }
        }
    }

    pub(super) fn add(
        &mut self,
        kind: SocketKind,
        add: impl FnOnce(&mut SocketSet<'a>) -> SocketHandle,
    ) -> Result<(), StackError> {
        if self.slots.is_full() {
            return Err(StackError::TooManySockets);
        }
        // SocketSet::add panics when fixed storage is full; check first.
        if self
            .storage_capacity
            .is_some_and(|cap| self.sockets.iter().count() >= cap)
        {
            return Err(StackError::TooManySockets);
        }
        let handle = add(&mut self.sockets);
        let _ = self.slots.push(Slot {
            handle,
            kind,
            used: Use::Free,
            fin_seen: false,
            open: false,
            timed_out: false,
            closing_since: 0,
        });
        Ok(())
    }

    /// Frees the sockets whose closing has finished, and tops up listeners' pools.
    pub(super) fn reap(&mut self) {
        for i in 0..self.slots.len() {
            let slot = self.slots[i];
            if slot.kind == SocketKind::Tcp && slot.used == Use::Owned && !slot.fin_seen {
                let state = self.sockets.get::<tcp::Socket>(slot.handle).state();
                self.slots[i].fin_seen = matches!(
                    state,
                    tcp::State::CloseWait
                        | tcp::State::LastAck
                        | tcp::State::Closing
                        | tcp::State::TimeWait
                );
            }
            if let Use::Listening(_) = slot.used {
                // A connection that closed (reset, or timed out) before it was accepted
                // leaves the pool; the socket listens again on the next top-up.
                if self.sockets.get::<tcp::Socket>(slot.handle).state() == tcp::State::Closed {
                    self.slots[i].used = Use::Free;
                }
            }
            if slot.used == Use::Closing && slot.kind == SocketKind::Udp {
                let socket = self.sockets.get_mut::<udp::Socket>(slot.handle);
                if socket.send_queue() == 0 {
                    socket.close();
                    self.slots[i].used = Use::Free;
                }
            }
            if slot.used == Use::Closing && slot.kind == SocketKind::Tcp {
                let socket = self.sockets.get_mut::<tcp::Socket>(slot.handle);
                match socket.state() {
                    tcp::State::Closed => self.slots[i].used = Use::Free,
                    _ if socket.recv_queue() > 0 => {
                        // Data arrived for a stream nobody will read: reset the connection,
                        // as the kernel does, so the peer's writes fail instead of filling a
                        // window that never opens.
                        socket.abort();
                        self.slots[i].used = Use::Free;
                    }
                    tcp::State::TimeWait => {
                        // Our side closed first and the peer's FIN is acknowledged: nothing
                        // of ours is in flight any more. Recycle the socket instead of
                        // holding it for 2 MSL.
                        socket.abort();
                        self.slots[i].used = Use::Free;
                    }
                    tcp::State::FinWait2
                        if millis32(self.platform.now()).wrapping_sub(slot.closing_since)
                            >= ORPHAN_FIN_MS =>
                    {
                        // Ours was acknowledged, theirs never came: the peer keeps its side
                        // open (and may answer keep-alives for ever). Reset it, as Linux
                        // does after `tcp_fin_timeout`.
                        socket.abort();
                        self.slots[i].used = Use::Free;
                    }
                    _ => {}
                }
            }
        }
        self.refill();
    }

    /// Keeps listener `entry`'s pool at `backlog` sockets (while free TCP sockets last):
    /// those listening plus those holding a connection not accepted yet, as the kernel bounds
    /// a listener's accept queue. With every one of them holding a connection, none listens,
    /// and the device drops a SYN to the port (see `Counted`), as Linux drops a SYN when the
    /// accept queue is full. Returns how many sockets listen.
    pub(crate) fn top_up(&mut self, entry: ListenerEntry) -> usize {
        let (mut listening, mut pool) = (0, 0);
        for s in &self.slots {
            if s.used == Use::Listening(entry.id) {
                pool += 1;
                if self.sockets.get::<tcp::Socket>(s.handle).state() == tcp::State::Listen {
                    listening += 1;
                }
            }
        }
        for i in 0..self.slots.len() {
            if pool >= usize::from(entry.backlog) {
                break;
            }
            let slot = self.slots[i];
            if slot.kind == SocketKind::Tcp && slot.used == Use::Free {
                self.prepare_tcp(slot.handle);
                let socket = self.sockets.get_mut::<tcp::Socket>(slot.handle);
                if socket.listen(entry.endpoint).is_ok() {
                    self.slots[i].used = Use::Listening(entry.id);
                    listening += 1;
                    pool += 1;
                }
            }
        }
        listening
    }

    /// Whether `dst` can be sent to: on one of the interface's networks, multicast or
    /// broadcast, or covered by a route (the default gateway of its family).
    pub(crate) fn has_route(&mut self, dst: IpAddress) -> bool {
        if dst.is_multicast() || dst.is_broadcast() {
            return true;
        }
        if self.iface.ip_addrs().iter().any(|c| c.contains_addr(&dst)) {
            return true;
        }
        let mut routed = false;
        self.iface
            .routes_mut()
            .update(|routes| routed = routes.iter().any(|r| r.cidr.contains_addr(&dst)));
        routed
    }

    /// Claims a free socket of `kind`.
    pub(crate) fn claim(&mut self, kind: SocketKind) -> Option<SocketHandle> {
        let slot = self
            .slots
            .iter_mut()
            .find(|s| s.kind == kind && s.used == Use::Free)?;
        slot.used = Use::Owned;
        let handle = slot.handle;
        if kind == SocketKind::Tcp {
            self.prepare_tcp(handle);
        } else if let Some(slot) = self.slot_mut(handle) {
            slot.fin_seen = false;
        }
        Some(handle)
    }

    pub(crate) fn slot_mut(&mut self, handle: SocketHandle) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| s.handle == handle)
    }

    pub(crate) fn set_use(&mut self, handle: SocketHandle, used: Use) {
        let now = millis32(self.platform.now());
        if let Some(slot) = self.slot_mut(handle) {
            if used == Use::Owned && slot.used != Use::Owned {
                slot.fin_seen = false;
            }
            if used == Use::Closing && slot.used != Use::Closing {
                slot.closing_since = now;
            }
            slot.used = used;
        }
    }

    /// Whether the peer's FIN arrived on this socket while it was owned.
    pub(crate) fn fin_seen(&self, handle: SocketHandle) -> bool {
        self.slots.iter().any(|s| s.handle == handle && s.fin_seen)
    }

    /// Why this TCP socket is closed when its owner did not close it: its peer stayed silent
    /// past the timeout, or else `otherwise` (a reset, or a refused connect).
    pub(crate) fn closed_error(&self, handle: SocketHandle, otherwise: TcpError) -> TcpError {
        if self.slots.iter().any(|s| s.handle == handle && s.timed_out) {
            TcpError::ConnectionTimedOut
        } else {
            otherwise
        }
    }

    pub(crate) fn new_listener_id(&mut self) -> u16 {
        let id = self.next_listener;
        self.next_listener = self.next_listener.wrapping_add(1).max(1);
        id
    }

    /// Whether a TCP (or UDP) socket other than `except` uses local `port`.
    pub(crate) fn port_in_use(
        &self,
        kind: SocketKind,
        port: u16,
        except: Option<SocketHandle>,
    ) -> bool {
        if kind == SocketKind::Tcp && self.listeners.iter().any(|l| l.endpoint.port == port) {
            return true;
        }
        self.slots.iter().any(|s| {
            Some(s.handle) != except
                && s.kind == kind
                && s.used != Use::Free
                && match kind {
                    SocketKind::Tcp => {
                        let t = self.sockets.get::<tcp::Socket>(s.handle);
                        t.local_endpoint().map(|e| e.port) == Some(port)
                            || (t.state() == tcp::State::Listen && t.listen_endpoint().port == port)
                    }
                    SocketKind::Udp => {
                        self.sockets.get::<udp::Socket>(s.handle).endpoint().port == port
                    }
                    SocketKind::Dns => false,
                }
        })
    }

    /// A local port from the dynamic range that no socket of `kind` uses.
    pub(crate) fn ephemeral_port(&mut self, kind: SocketKind) -> Option<u16> {
        for _ in 0..=(u16::MAX - EPHEMERAL_FIRST) {
            let port = self.next_port;
            self.next_port = if port == u16::MAX {
                EPHEMERAL_FIRST
            } else {
                port + 1
            };
            if !self.port_in_use(kind, port, None) {
                return Some(port);
            }
        }
        None
    }
}
