//! portsock-smoltcp's `Stack` fed arbitrary frames through a fuzz device, with a TCP listener
//! (a pool of 2 of the stack's 4 TCP sockets) and a UDP socket open, and the simulated clock
//! (`ManualPlatform`, moved by `Stack::wait`) advanced between frames.
//!
//! Frames are either raw bytes or TCP / UDP segments the harness builds for four peers with
//! the fuzzer's flags, sequence numbers, options and payloads, acknowledging what the stack
//! sent when asked (it reads the stack's frames to know), so that handshakes complete and
//! connections reach every state. The program side accepts, reads, writes, shuts down and
//! drops streams, and receives and sends datagrams, in the fuzzer's order.
//!
//! Checked: nothing panics; every frame the stack sends fits the MTU and carries valid IPv4
//! and TCP checksums; the listener's pool holds `backlog` sockets whenever a free one exists;
//! the UDP socket stays bound; and once the peers fall silent and the program drops its
//! streams, the stack's timers give every socket back: the pool listens in full again.
#![no_main]

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use portsock_core::time::{Clock, Duration};
use portsock_core::transport::{Blocking, Datagram, Listener, Read, Shutdown, Stream, Write};
use portsock_smoltcp::smoltcp::phy::{
    self, Checksum, ChecksumCapabilities, DeviceCapabilities, Medium,
};
use portsock_smoltcp::smoltcp::time::Instant as NetInstant;
use portsock_smoltcp::{Config, ManualPlatform, SocketKind, Stack, TcpListener, UdpSocket};

const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const OURS_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const OURS_V6: Ipv6Addr = Ipv6Addr::new(0xfdaa, 0, 0, 0, 0, 0, 0, 1);
const TCP_PORT: u16 = 80;
const UDP_PORT: u16 = 7;
const TCP_SOCKETS: usize = 4;
const BACKLOG: u16 = 2;
const MAX_STREAMS: usize = 3;

/// A device whose received frames are the fuzzer's and whose sent frames the harness reads.
struct FuzzDevice {
    medium: Medium,
    verify: bool,
    rx: VecDeque<Vec<u8>>,
    tx: Vec<Vec<u8>>,
}

struct Rx(Vec<u8>);
struct Tx<'a>(&'a mut Vec<Vec<u8>>);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let r = f(&mut frame);
        // Keep a bounded number: a flood of output is read once per op.
        if self.0.len() < 64 {
            self.0.push(frame);
        }
        r
    }
}

impl phy::Device for FuzzDevice {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _: NetInstant) -> Option<(Rx, Tx<'_>)> {
        let frame = self.rx.pop_front()?;
        Some((Rx(frame), Tx(&mut self.tx)))
    }

    fn transmit(&mut self, _: NetInstant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = self.medium;
        caps.max_transmission_unit = if self.medium == Medium::Ethernet {
            1514
        } else {
            1500
        };
        // Without verification the fuzzer's raw frames reach TCP and UDP (as on a device that
        // checks in hardware); the harness's own segments carry correct checksums either way.
        let rx = if self.verify {
            Checksum::Both
        } else {
            Checksum::Tx
        };
        let mut checksum = ChecksumCapabilities::default();
        checksum.ipv4 = rx;
        checksum.udp = rx;
        checksum.tcp = rx;
        checksum.icmpv4 = rx;
        checksum.icmpv6 = rx;
        caps.checksum = checksum;
        caps
    }
}

type FuzzStack = Stack<'static, FuzzDevice, ManualPlatform>;

/// Which sequence number a segment carries.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Seq {
    /// The peer's next one in this flow.
    Next,
    /// Near it.
    Near(i16),
    /// Any.
    Any(u32),
}

/// Which acknowledgement number a segment carries.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Ack {
    /// Everything the stack sent in this flow.
    All,
    /// Near it.
    Near(i16),
    /// Any.
    Any(u32),
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// A frame of any bytes.
    Raw(Vec<u8>),
    /// A TCP segment from peer `peer`'s port `1000 + sport % 8`, to the listener or anywhere.
    Tcp {
        peer: u8,
        sport: u8,
        elsewhere: Option<u16>,
        flags: u8,
        seq: Seq,
        ack: Ack,
        window: u16,
        options: Vec<u8>,
        payload: Vec<u8>,
    },
    /// A UDP datagram from peer `peer`, to the socket or anywhere.
    Udp {
        peer: u8,
        sport: u16,
        elsewhere: Option<u16>,
        payload: Vec<u8>,
    },
    /// The clock moves this many milliseconds, timers firing on the way.
    Advance(u16),
    /// The clock moves this many seconds.
    Leap(u8),
    Accept,
    Read {
        stream: u8,
        len: u16,
    },
    Write {
        stream: u8,
        data: Vec<u8>,
    },
    Shutdown {
        stream: u8,
        both: bool,
    },
    Drop(u8),
    Recv,
    Send {
        peer: u8,
        data: Vec<u8>,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    ethernet: bool,
    verify: bool,
    ops: Vec<Op>,
}

/// What the harness knows of one TCP flow (peer, port).
#[derive(Default, Clone, Copy)]
struct Flow {
    /// The peer's next sequence number.
    peer_next: u32,
    /// The stack's next sequence number, from its last segment.
    stack_next: u32,
}

fuzz_target!(|input: Input| {
    let device = FuzzDevice {
        medium: if input.ethernet {
            Medium::Ethernet
        } else {
            Medium::Ip
        },
        verify: input.verify,
        rx: VecDeque::new(),
        tx: Vec::new(),
    };
    let config = Config::new(MAC)
        .with_address(portsock_smoltcp::parse_cidr("10.0.0.1/24").unwrap())
        .unwrap()
        .with_address(portsock_smoltcp::parse_cidr("fdaa::1/64").unwrap())
        .unwrap();
    let stack: FuzzStack = Stack::new(&config, device, ManualPlatform::default(), vec![]).unwrap();
    stack.add_tcp_sockets(TCP_SOCKETS, 2048, 2048).unwrap();
    stack.add_udp_sockets(2, 4, 512).unwrap();
    let mut listener =
        TcpListener::bind(&stack, SocketAddr::from(([0, 0, 0, 0], TCP_PORT)), BACKLOG).unwrap();
    listener.set_nonblocking(true).unwrap();
    let mut udp = UdpSocket::bind(&stack, SocketAddr::from((OURS_V4, UDP_PORT))).unwrap();
    udp.set_nonblocking(true).unwrap();

    let mut h = Harness {
        stack: &stack,
        ethernet: input.ethernet,
        flows: HashMap::new(),
        dropped: false,
    };
    let mut streams = Vec::new();
    for op in input.ops.iter().take(128) {
        h.run(op, &mut listener, &mut udp, &mut streams);
        stack.poll();
        h.read_output();
        h.check(&listener, streams.len());
    }

    // The peers fall silent and the program lets go: the stack's timers must give every
    // socket back, and the listener's pool must be listening in full again.
    drop(streams);
    for _ in 0..40 {
        h.advance(Duration::from_secs(15));
        h.read_output();
    }
    assert_eq!(
        listener.listening(),
        usize::from(BACKLOG),
        "the pool listens again once the peers are gone"
    );
    assert_eq!(
        stack.free_sockets(SocketKind::Tcp),
        TCP_SOCKETS - usize::from(BACKLOG),
        "every dropped stream finished closing"
    );
});

struct Harness<'s> {
    stack: &'s FuzzStack,
    ethernet: bool,
    flows: HashMap<(u8, u16), Flow>,
    dropped: bool,
}

type Streams<'s> = Vec<portsock_smoltcp::TcpStream<'s, 'static, FuzzDevice, ManualPlatform>>;

impl<'s> Harness<'s> {
    fn run(
        &mut self,
        op: &Op,
        listener: &mut TcpListener<'s, 'static, FuzzDevice, ManualPlatform>,
        udp: &mut UdpSocket<'s, 'static, FuzzDevice, ManualPlatform>,
        streams: &mut Streams<'s>,
    ) {
        match op {
            Op::Raw(frame) => self.inject(frame.clone()),
            Op::Tcp {
                peer,
                sport,
                elsewhere,
                flags,
                seq,
                ack,
                window,
                options,
                payload,
            } => {
                let peer = peer % 5;
                let sport = 1000 + u16::from(sport % 8);
                let flow = self.flows.entry((peer, sport)).or_default();
                let seq = match *seq {
                    Seq::Next => flow.peer_next,
                    Seq::Near(d) => flow.peer_next.wrapping_add_signed(i32::from(d)),
                    Seq::Any(s) => s,
                };
                let ack = match *ack {
                    Ack::All => flow.stack_next,
                    Ack::Near(d) => flow.stack_next.wrapping_add_signed(i32::from(d)),
                    Ack::Any(a) => a,
                };
                let payload = &payload[..payload.len().min(1200)];
                let used = payload.len() as u32 + u32::from(flags & 0x03 != 0);
                flow.peer_next = seq.wrapping_add(used);
                let segment = tcp_segment(
                    sport,
                    elsewhere.unwrap_or(TCP_PORT),
                    seq,
                    ack,
                    *flags,
                    *window,
                    options,
                    payload,
                );
                self.inject_ip(peer, 6, segment);
            }
            Op::Udp {
                peer,
                sport,
                elsewhere,
                payload,
            } => {
                let payload = &payload[..payload.len().min(1200)];
                let mut d = Vec::with_capacity(8 + payload.len());
                d.extend_from_slice(&sport.to_be_bytes());
                d.extend_from_slice(&elsewhere.unwrap_or(UDP_PORT).to_be_bytes());
                d.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
                d.extend_from_slice(&[0, 0]);
                d.extend_from_slice(payload);
                self.inject_ip(peer % 5, 17, d);
            }
            Op::Advance(ms) => self.advance(Duration::from_millis(u64::from(*ms))),
            Op::Leap(s) => self.advance(Duration::from_secs(u64::from(*s))),
            Op::Accept => {
                if streams.len() < MAX_STREAMS
                    && let Ok((mut stream, peer)) = listener.accept()
                {
                    assert_eq!(stream.local_addr().map(|a| a.port()), Ok(TCP_PORT));
                    assert_eq!(stream.peer_addr(), Ok(peer));
                    stream.set_nonblocking(true).unwrap();
                    streams.push(stream);
                }
            }
            Op::Read { stream, len } => {
                if let Some(s) = pick(streams, *stream) {
                    let mut buf = vec![0; usize::from(*len % 4096).max(1)];
                    if let Ok(n) = s.read(&mut buf) {
                        assert!(n <= buf.len());
                    }
                }
            }
            Op::Write { stream, data } => {
                if let Some(s) = pick(streams, *stream)
                    && !data.is_empty()
                    && let Ok(n) = s.write(data)
                {
                    assert!(n > 0 && n <= data.len());
                }
            }
            Op::Shutdown { stream, both } => {
                if let Some(s) = pick(streams, *stream) {
                    let how = if *both {
                        Shutdown::Both
                    } else {
                        Shutdown::Write
                    };
                    let _ = s.shutdown(how);
                }
            }
            Op::Drop(i) => {
                if !streams.is_empty() {
                    streams.swap_remove(usize::from(*i) % streams.len());
                    self.dropped = true;
                }
            }
            Op::Recv => {
                let mut buf = [0u8; 256];
                if let Ok(Some(r)) = udp.recv_from(&mut buf, None) {
                    assert!(matches!(r.from.ip(), IpAddr::V4(_)));
                }
            }
            Op::Send { peer, data } => {
                let to = SocketAddr::new(peer_ip(peer % 5), 9);
                let _ = udp.send_to(&data[..data.len().min(512)], &to);
            }
        }
    }

    /// Moves the clock `by`, stopping at each of the stack's timers on the way.
    fn advance(&self, by: Duration) {
        let target = self.stack.now() + by;
        for _ in 0..256 {
            self.stack.poll();
            if self.stack.now() >= target {
                break;
            }
            self.stack.wait(Some(target));
        }
        self.stack.poll();
    }

    fn inject(&self, frame: Vec<u8>) {
        self.stack.with_device(|d| {
            if d.rx.len() < 32 {
                d.rx.push_back(frame);
            }
        });
    }

    /// Wraps an IP payload from peer `peer` (0-3 IPv4, 4 IPv6) and queues it.
    fn inject_ip(&self, peer: u8, proto: u8, mut segment: Vec<u8>) {
        let src = peer_ip(peer);
        let dst = match src {
            IpAddr::V4(_) => IpAddr::V4(OURS_V4),
            IpAddr::V6(_) => IpAddr::V6(OURS_V6),
        };
        let at = if proto == 6 { 16 } else { 6 };
        let sum = checksum(&pseudo_header(src, dst, proto, segment.len()), &segment);
        segment[at..at + 2].copy_from_slice(&sum.to_be_bytes());
        let packet = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let mut p = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0];
                p[2..4].copy_from_slice(&((20 + segment.len()) as u16).to_be_bytes());
                p.extend_from_slice(&s.octets());
                p.extend_from_slice(&d.octets());
                let sum = checksum(&[], &p);
                p[10..12].copy_from_slice(&sum.to_be_bytes());
                p.extend_from_slice(&segment);
                p
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let mut p = vec![0x60, 0, 0, 0];
                p.extend_from_slice(&(segment.len() as u16).to_be_bytes());
                p.extend_from_slice(&[proto, 64]);
                p.extend_from_slice(&s.octets());
                p.extend_from_slice(&d.octets());
                p.extend_from_slice(&segment);
                p
            }
            _ => unreachable!("one family"),
        };
        let ethertype: u16 = if src.is_ipv4() { 0x0800 } else { 0x86dd };
        self.inject(self.frame(peer, ethertype, packet));
    }

    fn frame(&self, peer: u8, ethertype: u16, packet: Vec<u8>) -> Vec<u8> {
        if !self.ethernet {
            return packet;
        }
        let mut f = MAC.to_vec();
        f.extend_from_slice(&peer_mac(peer));
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(&packet);
        f
    }

    /// Reads what the stack sent: TCP segments tell each flow's sequence numbers; ARP
    /// requests for a peer are answered (neighbour solicitations are left unanswered).
    fn read_output(&mut self) {
        let frames = self.stack.with_device(|d| std::mem::take(&mut d.tx));
        for frame in frames {
            let mtu = if self.ethernet { 1514 } else { 1500 };
            assert!(frame.len() <= mtu, "a frame of {} bytes", frame.len());
            let (ethertype, packet) = if self.ethernet {
                if frame.len() < 14 {
                    continue;
                }
                (u16::from_be_bytes([frame[12], frame[13]]), &frame[14..])
            } else {
                (
                    if frame.first().is_some_and(|b| b >> 4 == 6) {
                        0x86dd
                    } else {
                        0x0800
                    },
                    &frame[..],
                )
            };
            match ethertype {
                0x0806 => self.answer_arp(packet),
                0x0800 if packet.len() >= 20 => {
                    let ihl = usize::from(packet[0] & 0x0f) * 4;
                    assert_eq!(checksum(&[], &packet[..ihl]), 0, "IPv4 header checksum");
                    let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
                    let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
                    if packet[9] == 6 {
                        let tcp = packet.get(ihl..).unwrap_or_default();
                        let pseudo = pseudo_header(src.into(), dst.into(), 6, tcp.len());
                        assert_eq!(checksum(&pseudo, tcp), 0, "TCP checksum");
                        self.note_segment(IpAddr::V4(dst), tcp);
                    }
                }
                0x86dd if packet.len() >= 40 && packet[6] == 6 => {
                    let src: [u8; 16] = packet[8..24].try_into().unwrap();
                    let dst: [u8; 16] = packet[24..40].try_into().unwrap();
                    let tcp = &packet[40..];
                    let pseudo =
                        pseudo_header(IpAddr::V6(src.into()), IpAddr::V6(dst.into()), 6, tcp.len());
                    assert_eq!(checksum(&pseudo, tcp), 0, "TCP checksum");
                    self.note_segment(IpAddr::V6(dst.into()), tcp);
                }
                _ => {}
            }
        }
    }

    fn note_segment(&mut self, dst: IpAddr, tcp: &[u8]) {
        if tcp.len() < 20 {
            return;
        }
        let Some(peer) = (0..5).find(|&p| peer_ip(p) == dst) else {
            return;
        };
        let port = u16::from_be_bytes([tcp[2], tcp[3]]);
        let seq = u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]);
        let header = usize::from(tcp[12] >> 4) * 4;
        let len = tcp.len().saturating_sub(header) as u32 + u32::from(tcp[13] & 0x03 != 0);
        let flow = self.flows.entry((peer, port)).or_default();
        flow.stack_next = seq.wrapping_add(len);
    }

    fn answer_arp(&self, arp: &[u8]) {
        // A request (op 1) for one of the peers' addresses.
        if arp.len() < 28 || arp[7] != 1 {
            return;
        }
        let target = Ipv4Addr::new(arp[24], arp[25], arp[26], arp[27]);
        let Some(peer) = (0..4).find(|&p| peer_ip(p) == IpAddr::V4(target)) else {
            return;
        };
        let mut reply = vec![0, 1, 8, 0, 6, 4, 0, 2];
        reply.extend_from_slice(&peer_mac(peer));
        reply.extend_from_slice(&target.octets());
        reply.extend_from_slice(&MAC);
        reply.extend_from_slice(&OURS_V4.octets());
        self.inject(self.frame(peer, 0x0806, reply));
    }

    fn check(&self, listener: &TcpListener<'s, 'static, FuzzDevice, ManualPlatform>, held: usize) {
        let listening = listener.listening();
        assert!(listening <= usize::from(BACKLOG), "{listening} listening");
        assert_eq!(
            self.stack.free_sockets(SocketKind::Udp),
            1,
            "the UDP socket stays bound"
        );
        // Every TCP socket is free, in the pool, held by the program or closing; while one is
        // free the pool is full.
        let free = self.stack.free_sockets(SocketKind::Tcp);
        let others = TCP_SOCKETS - free - held;
        if free > 0 {
            assert!(
                others >= usize::from(BACKLOG),
                "a free socket and a short pool"
            );
            if !self.dropped {
                assert_eq!(others, usize::from(BACKLOG));
            }
        }
    }
}

fn pick<T>(v: &mut [T], i: u8) -> Option<&mut T> {
    let n = v.len();
    (n > 0).then(|| &mut v[usize::from(i) % n])
}

fn peer_ip(peer: u8) -> IpAddr {
    match peer {
        0..=3 => IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2 + peer)),
        _ => IpAddr::V6(Ipv6Addr::new(0xfdaa, 0, 0, 0, 0, 0, 0, 2)),
    }
}

fn peer_mac(peer: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, 0x10 + peer]
}

#[allow(clippy::too_many_arguments)]
fn tcp_segment(
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let options = &options[..options.len().min(40)];
    let padded = options.len().div_ceil(4) * 4;
    let mut s = Vec::with_capacity(20 + padded + payload.len());
    s.extend_from_slice(&sport.to_be_bytes());
    s.extend_from_slice(&dport.to_be_bytes());
    s.extend_from_slice(&seq.to_be_bytes());
    s.extend_from_slice(&ack.to_be_bytes());
    s.push((((20 + padded) / 4) as u8) << 4);
    s.push(flags);
    s.extend_from_slice(&window.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 0]);
    s.extend_from_slice(options);
    s.resize(20 + padded, 0);
    s.extend_from_slice(payload);
    s
}

fn pseudo_header(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(40);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(&[0, proto]);
            p.extend_from_slice(&(len as u16).to_be_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(&(len as u32).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, proto]);
        }
        _ => {}
    }
    p
}

/// The Internet checksum of `a` then `b` (`a` of even length).
fn checksum(a: &[u8], b: &[u8]) -> u16 {
    let mut sum = 0u32;
    for chunk in a.chunks(2).chain(b.chunks(2)) {
        let word = u16::from_be_bytes([chunk[0], chunk.get(1).copied().unwrap_or(0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
