//! TCP over the stack: a listener with a pool of listening sockets, and streams.

use core::net::SocketAddr;

use crate::addr::{endpoint_to_addr, to_listen_endpoint, to_net_endpoint};
use crate::error::{SocketKind, TcpError};
use crate::mode::{Mode, impl_blocking};
use crate::platform::Platform;
use crate::stack::{
    Inner, ListenerEntry, Stack, Use, check_tcp_timers, from_net_duration, to_net_duration,
};
use portsock_core::time::Duration;
use portsock_core::transport::{
    ErrorType, Listener, Read, ReadReady, Shutdown, Stream, Write, WriteReady,
};
use smoltcp::iface::SocketHandle;
use smoltcp::phy::Device;
use smoltcp::socket::tcp;

/// A TCP listener: `backlog` smoltcp sockets listening on one port, so that several clients
/// can connect at once (a smoltcp socket holds one connection).
///
/// The pool holds `backlog` sockets: those listening and those holding a connection not
/// accepted yet, as the kernel's accept queue holds `backlog` connections. An accepted
/// connection's socket leaves the pool and a free socket takes its place at once; the stack
/// also refills the pool between one arriving frame and the next, so a socket freed while a
/// burst is read in is listening for the rest of it. A SYN that finds no socket listening
/// (the pool is full of connections, or no TCP socket is free) is dropped, not refused as
/// smoltcp alone would (a RST): the client sends it again a moment later, as it does when
/// Linux's accept queue is full.
///
/// A listener on an IPv4 address takes IPv4 clients only, as a kernel's `AF_INET` socket
/// does: smoltcp's socket listening on the unspecified address completes a handshake of
/// either family, so on `0.0.0.0` [`accept`](Listener::accept) resets an IPv6 connection (its
/// client sees the reset on its next read or write) instead of handing it out, and its socket
/// listens again. On `::` the listener takes both families, as Linux's `AF_INET6` socket does
/// by default (`IPV6_V6ONLY` off); an IPv4 client's address is then its IPv4 address.
///
/// ```
/// use portsock_smoltcp::{Config, ManualPlatform, Stack, TcpListener};
/// use smoltcp::phy::{Loopback, Medium};
///
/// let config = Config::new([2, 0, 0, 0, 0, 1]).with_address(portsock_smoltcp::parse_cidr("127.0.0.1/8")?)?;
/// let stack = Stack::new(&config, Loopback::new(Medium::Ip), ManualPlatform::default(), vec![])?;
/// stack.add_tcp_sockets(2, 4096, 4096)?;
/// let listener = TcpListener::bind(&stack, "127.0.0.1:10000".parse()?, 2)?;
/// assert_eq!(listener.local_addr_ip().port(), 10000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TcpListener<'s, 'a, D: Device, P: Platform> {
    stack: &'s Stack<'a, D, P>,
    entry: ListenerEntry,
    local: SocketAddr,
    mode: Mode,
}

impl<'s, 'a, D: Device, P: Platform> TcpListener<'s, 'a, D, P> {
    /// Listens on `addr` (an unspecified address: every address of the interface) with a pool
    /// of `backlog` sockets, listening or holding connections not accepted yet.
    ///
    /// # Errors
    ///
    /// [`TcpError::AddrInUse`] if the port is taken, [`TcpError::NoFreeSocket`] if no TCP
    /// socket is free, [`TcpError::TooManyListeners`] past [`MAX_LISTENERS`](crate::MAX_LISTENERS),
    /// [`TcpError::InvalidInput`] for port 0 or a zero backlog, [`TcpError::Unaddressable`]
    /// for an address that is not the interface's.
    pub fn bind(
        stack: &'s Stack<'a, D, P>,
        addr: SocketAddr,
        backlog: u16,
    ) -> Result<Self, TcpError> {
        if addr.port() == 0 {
            return Err(TcpError::InvalidInput(
                "a listener needs a port other than 0",
            ));
        }
        if backlog == 0 {
            return Err(TcpError::InvalidInput(
                "a listener needs a backlog of at least 1",
            ));
        }
        let endpoint = to_listen_endpoint(addr)?;
        let mut inner = stack.inner();
        if inner.port_in_use(SocketKind::Tcp, addr.port(), None) {
            return Err(TcpError::AddrInUse(addr.port()));
        }
        if !inner
            .slots
            .iter()
            .any(|s| s.kind == SocketKind::Tcp && s.used == Use::Free)
        {
            return Err(TcpError::NoFreeSocket);
        }
        if let Some(ip) = endpoint.addr
            && !inner.iface.has_ip_addr(ip)
        {
            return Err(TcpError::Unaddressable);
        }
        let id = inner.new_listener_id();
        let entry = ListenerEntry {
            id,
            endpoint,
            backlog,
        };
        inner
            .listeners
            .push(entry)
            .map_err(|_| TcpError::TooManyListeners)?;
        inner.top_up(entry);
        drop(inner);
        Ok(Self {
            stack,
            entry,
            local: addr,
            mode: Mode::default(),
        })
    }

    /// The address it listens on.
    pub fn local_addr_ip(&self) -> SocketAddr {
        self.local
    }

    /// How many sockets are listening right now (the pool, less the accepted ones not yet
    /// replaced).
    pub fn listening(&self) -> usize {
        let inner = self.stack.inner();
        inner
            .slots
            .iter()
            .filter(|s| {
                s.used == Use::Listening(self.entry.id)
                    && inner.sockets.get::<tcp::Socket>(s.handle).state() == tcp::State::Listen
            })
            .count()
    }
}

impl<D: Device, P: Platform> Drop for TcpListener<'_, '_, D, P> {
    fn drop(&mut self) {
        let Ok(mut guard) = self.stack.try_inner() else {
            return;
        };
        let inner = &mut *guard;
        inner.listeners.retain(|l| l.id != self.entry.id);
        for i in 0..inner.slots.len() {
            if inner.slots[i].used == Use::Listening(self.entry.id) {
                // Unaccepted connections are reset, as the kernel does when a listening
                // socket closes with a full accept queue.
                inner
                    .sockets
                    .get_mut::<tcp::Socket>(inner.slots[i].handle)
                    .abort();
                inner.slots[i].used = Use::Closing;
            }
        }
    }
}

impl<D: Device, P: Platform> ErrorType for TcpListener<'_, '_, D, P> {
    type Error = TcpError;
}

/// Whether a socket taken from a listener's pool holds a connection to hand out.
fn is_connected(state: tcp::State) -> bool {
    !matches!(
        state,
        tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed
    )
}

/// Resets the IPv6 connections of listener `id`'s pool when it listens on IPv4 (`local`): the
/// unspecified address takes a handshake of either family. The socket closes: the stack sends
/// the reset on its next poll, before the socket is reaped and listens again.
fn refuse_other_family<D: Device, P: Platform>(
    inner: &mut Inner<'_, D, P>,
    id: u16,
    local: SocketAddr,
) {
    if local.is_ipv6() {
        // `::` takes both families.
        return;
    }
    for i in 0..inner.slots.len() {
        let slot = inner.slots[i];
        if slot.used != Use::Listening(id) {
            continue;
        }
        let socket = inner.sockets.get_mut::<tcp::Socket>(slot.handle);
        let other = socket
            .local_endpoint()
            .is_some_and(|l| endpoint_to_addr(l).is_ipv6());
        if is_connected(socket.state()) && other {
            socket.abort();
            inner.slots[i].used = Use::Closing;
        }
    }
}

impl<'s, 'a, D: Device, P: Platform> Listener for TcpListener<'s, 'a, D, P> {
    type Addr = SocketAddr;
    type Stream = TcpStream<'s, 'a, D, P>;

    fn accept(&mut self) -> Result<(Self::Stream, SocketAddr), TcpError> {
        let id = self.entry.id;
        let deadline = self.stack.deadline_in(self.mode.read_timeout);
        let (handle, peer) =
            self.stack
                .block::<_, TcpError>(self.mode.nonblocking, deadline, |inner| {
                    refuse_other_family(inner, id, self.local);
                    let found = inner.slots.iter().find_map(|s| {
                        if s.used != Use::Listening(id) {
                            return None;
                        }
                        let socket = inner.sockets.get::<tcp::Socket>(s.handle);
                        if is_connected(socket.state()) {
                            socket.remote_endpoint().map(|peer| (s.handle, peer))
                        } else {
                            None
                        }
                    });
                    let (handle, peer) = found?;
                    inner.set_use(handle, Use::Owned);
                    inner.top_up(self.entry);
                    Some(Ok((handle, peer)))
                })?;
        Ok((TcpStream::new(self.stack, handle), endpoint_to_addr(peer)))
    }

    fn local_addr(&self) -> Result<SocketAddr, TcpError> {
        Ok(self.local)
    }
}

/// A TCP connection on the stack: embedded-io [`Read`] + [`Write`] and the core's [`Stream`].
///
/// Reads return what has arrived (at least one byte) or `Ok(0)` after the peer's FIN; writes
/// queue into the socket's transmit buffer (at least one byte) and [`Write::flush`] waits until
/// everything written has been acknowledged. Dropping it closes the connection gracefully in
/// the background (the stack keeps sending until the FIN is acknowledged; see
/// [`Stack::finish`]).
///
/// One smoltcp rule to know: once both sides have sent their FIN and ours is acknowledged,
/// the socket sits in TIME-WAIT for 10 s and then smoltcp resets it, **discarding bytes not
/// read by then**. Read to the end of stream within that time (the core's machines do, as
/// long as they are stepped); the kernel, by contrast, keeps them until the socket is closed.
pub struct TcpStream<'s, 'a, D: Device, P: Platform> {
    stack: &'s Stack<'a, D, P>,
    handle: SocketHandle,
    mode: Mode,
    read_shut: bool,
    write_shut: bool,
    /// The peer's FIN was read: from then on reads return end of stream, even once smoltcp
    /// has closed and reset the socket (which forgets the FIN).
    eof: bool,
}

impl<'s, 'a, D: Device, P: Platform> TcpStream<'s, 'a, D, P> {
    fn new(stack: &'s Stack<'a, D, P>, handle: SocketHandle) -> Self {
        Self {
            stack,
            handle,
            mode: Mode::default(),
            read_shut: false,
            write_shut: false,
            eof: false,
        }
    }

    /// Connects to `remote` from an ephemeral port, waiting at most `timeout` (`None`: until
    /// smoltcp gives up) for the handshake, like Python's `create_connection` for one address.
    ///
    /// # Errors
    ///
    /// [`TcpError::ConnectionRefused`], [`TcpError::TimedOut`], [`TcpError::Unaddressable`] for an
    /// unspecified address or port 0, [`TcpError::NoRoute`], [`TcpError::NoFreeSocket`].
    pub fn connect(
        stack: &'s Stack<'a, D, P>,
        remote: SocketAddr,
        timeout: Option<Duration>,
    ) -> Result<Self, TcpError> {
        if remote.ip().is_unspecified() || remote.port() == 0 {
            return Err(TcpError::Unaddressable);
        }
        let remote = to_net_endpoint(remote)?;
        let handle = {
            let mut guard = stack.inner();
            let inner = &mut *guard;
            if !inner.has_route(remote.addr) {
                return Err(TcpError::NoRoute);
            }
            let port = inner
                .ephemeral_port(SocketKind::Tcp)
                .ok_or(TcpError::AddrInUse(0))?;
            let handle = inner.claim(SocketKind::Tcp).ok_or(TcpError::NoFreeSocket)?;
            let socket = inner.sockets.get_mut::<tcp::Socket>(handle);
            if let Err(e) = socket.connect(inner.iface.context(), remote, port) {
                inner.set_use(handle, Use::Free);
                return Err(match e {
                    tcp::ConnectError::Unaddressable => TcpError::Unaddressable,
                    _ => TcpError::InvalidInput("socket was not closed"),
                });
            }
            handle
        };
        let stream = Self::new(stack, handle);
        let deadline = stack.deadline_in(timeout);
        let result = stack.block(false, deadline, |inner| {
            let socket = inner.sockets.get::<tcp::Socket>(handle);
            match socket.state() {
                tcp::State::SynSent | tcp::State::SynReceived => None,
                tcp::State::Closed => {
                    Some(Err(inner.closed_error(handle, TcpError::ConnectionRefused)))
                }
                _ => Some(Ok(())),
            }
        });
        match result {
            Ok(()) => Ok(stream),
            Err(e) => {
                stack.inner().sockets.get_mut::<tcp::Socket>(handle).abort();
                Err(e)
            }
        }
    }

    /// Closes the connection abortively, as `SO_LINGER` 0 and `close` do on the kernel: a RST
    /// goes out on the next poll (made here), bytes not sent or not read are discarded, and
    /// the peer's next read fails with a connection reset (`ErrorKind::ConnectionReset`)
    /// instead of reading end of stream. Dropping a stream, by contrast, closes it gracefully.
    pub fn abort(self) {
        self.with(tcp::Socket::abort);
        self.stack.poll();
        // Drop hands the (now closed) socket back to the stack.
    }

    /// The connection's smoltcp state, for diagnostics.
    pub fn state(&self) -> tcp::State {
        self.stack
            .inner()
            .sockets
            .get::<tcp::Socket>(self.handle)
            .state()
    }

    /// Bytes received and not read yet, and bytes written and not acknowledged yet.
    pub fn queues(&self) -> (usize, usize) {
        self.with(|s| (s.recv_queue(), s.send_queue()))
    }

    /// Sets how long the peer may stay silent while this connection waits for it before it
    /// fails with [`TcpError::ConnectionTimedOut`] (`None`: never); the stack's
    /// [`Config::with_tcp_timeout`](crate::Config::with_tcp_timeout) is the default.
    ///
    /// # Errors
    ///
    /// [`TcpError::InvalidInput`] for zero, or a timeout not longer than the keep-alive interval.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<(), TcpError> {
        check_tcp_timers(timeout, self.keep_alive()).map_err(TcpError::InvalidInput)?;
        self.with(|s| s.set_timeout(timeout.map(to_net_duration)));
        Ok(())
    }

    /// The connection's TCP timeout.
    pub fn timeout(&self) -> Option<Duration> {
        self.with(|s| s.timeout()).map(from_net_duration)
    }

    /// Sets how long the connection may be idle before a keep-alive probe is sent (`None`:
    /// no probes); the stack's
    /// [`Config::with_tcp_keep_alive`](crate::Config::with_tcp_keep_alive) is the default.
    ///
    /// # Errors
    ///
    /// [`TcpError::InvalidInput`] for zero, or an interval not shorter than the timeout.
    pub fn set_keep_alive(&mut self, interval: Option<Duration>) -> Result<(), TcpError> {
        check_tcp_timers(self.timeout(), interval).map_err(TcpError::InvalidInput)?;
        self.with(|s| s.set_keep_alive(interval.map(to_net_duration)));
        Ok(())
    }

    /// The connection's keep-alive interval.
    pub fn keep_alive(&self) -> Option<Duration> {
        self.with(|s| s.keep_alive()).map(from_net_duration)
    }

    /// Sets TCP_NODELAY (smoltcp's Nagle switch, the opposite sense).
    pub fn set_nodelay(&mut self, nodelay: bool) {
        self.stack
            .inner()
            .sockets
            .get_mut::<tcp::Socket>(self.handle)
            .set_nagle_enabled(!nodelay);
    }

    fn with<R>(&self, f: impl FnOnce(&mut tcp::Socket<'a>) -> R) -> R {
        f(self
            .stack
            .inner()
            .sockets
            .get_mut::<tcp::Socket>(self.handle))
    }
}

impl<D: Device, P: Platform> Drop for TcpStream<'_, '_, D, P> {
    fn drop(&mut self) {
        let Ok(mut guard) = self.stack.try_inner() else {
            return;
        };
        let inner = &mut *guard;
        let socket = inner.sockets.get_mut::<tcp::Socket>(self.handle);
        socket.close();
        inner.set_use(self.handle, Use::Closing);
    }
}

impl<D: Device, P: Platform> ErrorType for TcpStream<'_, '_, D, P> {
    type Error = TcpError;
}

impl<D: Device, P: Platform> Read for TcpStream<'_, '_, D, P> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, TcpError> {
        if buf.is_empty() || self.read_shut || self.eof {
            return Ok(0);
        }
        let handle = self.handle;
        let deadline = self.stack.deadline_in(self.mode.read_timeout);
        let n = self.stack.block(self.mode.nonblocking, deadline, |inner| {
            let socket = inner.sockets.get_mut::<tcp::Socket>(handle);
            match socket.recv_slice(buf) {
                Ok(0) => None,
                Ok(n) => Some(Ok(n)),
                Err(tcp::RecvError::Finished) => Some(Ok(0)),
                Err(tcp::RecvError::InvalidState) => match socket.state() {
                    tcp::State::SynSent | tcp::State::SynReceived => None,
                    // Closed after a graceful end (TIME-WAIT expired, or our FIN was
                    // acknowledged after theirs): end of stream, not a reset.
                    _ if inner.fin_seen(handle) => Some(Ok(0)),
                    _ => Some(Err(inner.closed_error(handle, TcpError::ConnectionReset))),
                },
            }
        })?;
        self.eof = n == 0;
        Ok(n)
    }
}

impl<D: Device, P: Platform> ReadReady for TcpStream<'_, '_, D, P> {
    fn read_ready(&mut self) -> Result<bool, TcpError> {
        self.stack.poll();
        Ok(self.read_shut || self.with(|s| s.can_recv() || !s.may_recv()))
    }
}

impl<D: Device, P: Platform> Write for TcpStream<'_, '_, D, P> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, TcpError> {
        if self.write_shut {
            return Err(TcpError::BrokenPipe);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let handle = self.handle;
        let deadline = self.stack.deadline_in(self.mode.write_timeout);
        self.stack.block(self.mode.nonblocking, deadline, |inner| {
            let socket = inner.sockets.get_mut::<tcp::Socket>(handle);
            if !socket.may_send() {
                return Some(Err(match socket.state() {
                    tcp::State::SynSent | tcp::State::SynReceived => return None,
                    tcp::State::Closed | tcp::State::TimeWait => {
                        inner.closed_error(handle, TcpError::ConnectionReset)
                    }
                    _ => TcpError::BrokenPipe,
                }));
            }
            match socket.send_slice(buf) {
                Ok(0) => None,
                Ok(n) => Some(Ok(n)),
                Err(_) => Some(Err(TcpError::ConnectionReset)),
            }
        })
    }

    fn flush(&mut self) -> Result<(), TcpError> {
        let handle = self.handle;
        let deadline = self.stack.deadline_in(self.mode.write_timeout);
        self.stack.block(self.mode.nonblocking, deadline, |inner| {
            let socket = inner.sockets.get::<tcp::Socket>(handle);
            if socket.send_queue() == 0 {
                Some(Ok(()))
            } else if socket.state() == tcp::State::Closed {
                Some(Err(inner.closed_error(handle, TcpError::ConnectionReset)))
            } else {
                None
            }
        })
    }
}

impl<D: Device, P: Platform> WriteReady for TcpStream<'_, '_, D, P> {
    fn write_ready(&mut self) -> Result<bool, TcpError> {
        self.stack.poll();
        Ok(self.write_shut || self.with(|s| s.can_send() || !s.may_send()))
    }
}

impl<D: Device, P: Platform> Stream for TcpStream<'_, '_, D, P> {
    type Addr = SocketAddr;

    fn shutdown(&mut self, how: Shutdown) -> Result<(), TcpError> {
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.read_shut = true;
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) && !self.write_shut {
            self.write_shut = true;
            // smoltcp's close() is a half-close: the FIN follows the queued data.
            self.with(tcp::Socket::close);
            self.stack.poll();
        }
        Ok(())
    }

    fn local_addr(&self) -> Result<SocketAddr, TcpError> {
        self.with(|s| s.local_endpoint())
            .map(endpoint_to_addr)
            .ok_or(TcpError::NotConnected)
    }

    fn peer_addr(&self) -> Result<SocketAddr, TcpError> {
        self.with(|s| s.remote_endpoint())
            .map(endpoint_to_addr)
            .ok_or(TcpError::NotConnected)
    }
}

impl_blocking!(TcpListener, TcpError);
impl_blocking!(TcpStream, TcpError);
