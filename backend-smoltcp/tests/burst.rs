//! A burst of clients against a listener with a small pool: every SYN that arrives in one go
//! (as they do when the program was busy while clients connected) gets a connection, none a
//! RST. The clients are a bare smoltcp interface on the other end of an in-memory link, so all
//! sixteen SYNs are in the server's queue before its stack polls once: the worst case a
//! loaded machine can produce, every run.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use portsock_core::transport::{Blocking, Listener, Read, TransportError, Write};
use portsock_smoltcp::smoltcp::iface::{Config as IfaceConfig, Interface, SocketHandle, SocketSet};
use portsock_smoltcp::smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use portsock_smoltcp::smoltcp::socket::tcp;
use portsock_smoltcp::smoltcp::time::{Duration, Instant};
use portsock_smoltcp::smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, Ipv4Address};
use portsock_smoltcp::{Config, Platform, Stack, TcpListener, TcpStream, parse_cidr};

const CLIENTS: usize = 16;
const SERVER_PORT: u16 = 10000;

type Queue = Rc<RefCell<VecDeque<Vec<u8>>>>;

/// One end of an in-memory IP link.
struct End {
    rx: Queue,
    tx: Queue,
}

fn link() -> (End, End) {
    let (a, b) = (Queue::default(), Queue::default());
    (
        End {
            rx: a.clone(),
            tx: b.clone(),
        },
        End { rx: b, tx: a },
    )
}

struct Rx(Vec<u8>);
struct Tx(Queue);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let r = f(&mut frame);
        self.0.borrow_mut().push_back(frame);
        r
    }
}

impl Device for End {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx;

    fn receive(&mut self, _: Instant) -> Option<(Rx, Tx)> {
        let frame = self.rx.borrow_mut().pop_front()?;
        Some((Rx(frame), Tx(self.tx.clone())))
    }

    fn transmit(&mut self, _: Instant) -> Option<Tx> {
        Some(Tx(self.tx.clone()))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = 1500;
        caps
    }
}

/// A clock both sides share; the test moves it.
#[derive(Clone)]
struct Shared(Rc<Cell<Instant>>);

impl Platform for Shared {
    fn now(&self) -> Instant {
        self.0.get()
    }

    fn wait(&mut self, _: Option<Duration>) {}
}

/// What became of one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Connecting,
    Connected,
    Echoed,
    Refused,
}

#[test]
fn a_burst_of_sixteen_syns_is_served_not_refused() {
    for backlog in [1, 2, 4] {
        let fates = burst(backlog);
        assert!(
            fates.iter().all(|f| *f == Fate::Echoed),
            "backlog {backlog}: {fates:?}"
        );
    }
}

/// Sixteen clients SYN at once to a server with eight TCP sockets and a pool of `backlog`;
/// each sends 64 bytes and waits for its echo.
fn burst(backlog: u16) -> Vec<Fate> {
    let clock = Shared(Rc::new(Cell::new(Instant::ZERO)));
    let (server_end, mut client_end) = link();

    let config = Config::new([2, 0, 0, 0, 0, 1])
        .with_address(parse_cidr("10.0.0.1/24").unwrap())
        .unwrap();
    let stack = Stack::new(&config, server_end, clock.clone(), vec![]).unwrap();
    stack.add_tcp_sockets(8, 4096, 4096).unwrap();
    let mut listener = TcpListener::bind(
        &stack,
        format!("10.0.0.1:{SERVER_PORT}").parse().unwrap(),
        backlog,
    )
    .unwrap();
    listener.set_nonblocking(true).unwrap();

    let mut iface = Interface::new(
        IfaceConfig::new(HardwareAddress::Ip),
        &mut client_end,
        clock.now(),
    );
    iface.update_ip_addrs(|a| a.push(IpCidr::new(IpAddress::v4(10, 0, 0, 2), 24)).unwrap());
    let mut sockets = SocketSet::new(vec![]);
    let mut clients: Vec<(SocketHandle, Fate, Vec<u8>)> = (0..CLIENTS)
        .map(|k| {
            let mut s = tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; 1024]),
                tcp::SocketBuffer::new(vec![0; 1024]),
            );
            let remote = (Ipv4Address::new(10, 0, 0, 1), SERVER_PORT);
            s.connect(iface.context(), remote, 50_000 + k as u16)
                .unwrap();
            (sockets.add(s), Fate::Connecting, Vec::new())
        })
        .collect();
    // All sixteen SYNs leave before the server looks once.
    iface.poll(clock.now(), &mut client_end, &mut sockets);
    assert_eq!(client_end.tx.borrow().len(), CLIENTS, "sixteen SYNs queued");

    let mut sessions: Vec<(TcpStream<'_, '_, End, Shared>, Vec<u8>)> = Vec::new();
    for _ in 0..200_000 {
        stack.poll();
        loop {
            match listener.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(true).unwrap();
                    sessions.push((s, Vec::new()));
                }
                Err(e) if e.is_would_block() => break,
                Err(e) => panic!("accept: {e}"),
            }
        }
        // Each session echoes what it read; it ends at the client's FIN.
        sessions.retain_mut(|(s, pending)| {
            let mut buf = [0u8; 256];
            let open = match s.read(&mut buf) {
                Ok(0) => false,
                Ok(n) => {
                    pending.extend_from_slice(&buf[..n]);
                    true
                }
                Err(e) if e.is_would_block() => true,
                Err(e) => panic!("session read: {e}"),
            };
            if !pending.is_empty() {
                match s.write(pending) {
                    Ok(n) => drop(pending.drain(..n)),
                    Err(e) if e.is_would_block() => {}
                    Err(e) => panic!("session write: {e}"),
                }
            }
            open || !pending.is_empty()
        });
        stack.poll();

        iface.poll(clock.now(), &mut client_end, &mut sockets);
        for (k, (handle, fate, got)) in clients.iter_mut().enumerate() {
            let s = sockets.get_mut::<tcp::Socket>(*handle);
            let message = [k as u8; 64];
            match (*fate, s.state()) {
                (Fate::Connecting, tcp::State::Closed) => *fate = Fate::Refused,
                (Fate::Connecting, tcp::State::Established) => {
                    assert_eq!(s.send_slice(&message), Ok(64));
                    s.close();
                    *fate = Fate::Connected;
                }
                (Fate::Connected, _) => {
                    if s.can_recv() {
                        s.recv(|b| (b.len(), got.extend_from_slice(b))).unwrap();
                    }
                    if got.len() == message.len() {
                        assert_eq!(got[..], message, "client {k} got another's bytes");
                        *fate = Fate::Echoed;
                    }
                }
                _ => {}
            }
        }
        iface.poll(clock.now(), &mut client_end, &mut sockets);
        if clients
            .iter()
            .all(|c| matches!(c.1, Fate::Echoed | Fate::Refused))
        {
            break;
        }
        if client_end.rx.borrow().is_empty() && client_end.tx.borrow().is_empty() {
            // Nothing in flight: jump to the next retransmission.
            clock.0.set(clock.now() + Duration::from_millis(10));
        }
    }
    clients.into_iter().map(|c| c.1).collect()
}
