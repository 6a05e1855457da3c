//! portsock on QEMU's `lm3s6965evb`: a Cortex-M3 with the Stellaris Ethernet MAC.
//!
//! The board support is in [`enet`] (the MAC as a smoltcp device), [`clock`] (PLL, a SysTick
//! millisecond clock and the stack's [`Platform`](portsock_smoltcp::Platform)), [`stack`]
//! (peak stack by painting) and [`control`] (the test harness's UDP port). This `main` wires
//! the core's state machines to sockets of portsock-smoltcp's [`Stack`]: everything the
//! programs do on the wire is `portsock_core`'s; the loop below only accepts connections,
//! steps each machine in turn, logs its events and waits.
//!
//! | port | transport | machine |
//! | --- | --- | --- |
//! | 10000 | TCP | [`EchoSession`] (the chapter's echo server), one connection at a time |
//! | 10001 | TCP | [`RecordReceiver`] of `'I 2s f'` (the chapter's binary-record server), logs the values |
//! | 10002 | UDP | [`DatagramEchoServer`] (the chapter's datagram echo server) |
//! | 10000 | UDP, group 224.3.29.71 | [`MulticastReceiver`] (the chapter's receiver: acks `b'ack'`) |
//! | 10099 | UDP | [`control`]: `uptime`, `stack`, `exit` for the test scripts |
//!
//! The chapter runs its UDP echo server and its multicast receiver on port 10000 each, in
//! separate programs; on one smoltcp interface a UDP port belongs to one socket, and the two
//! machines differ, so the UDP echo moves to 10002 (TCP 10001 is free for the records).
//!
//! Logging is defmt over semihosting: raw frames on QEMU's stdout, decoded on the host with
//! `defmt-print -e <this ELF>` (`scripts/firmware-test` does it).
#![no_std]
#![no_main]

mod clock;
mod control;
mod enet;
mod stack;

use core::mem::MaybeUninit;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::sync::atomic::{AtomicBool, Ordering};

use defmt::{debug, info, warn};
use defmt_semihosting as _;
use portsock_core::drive::{DriveError, step_datagram, step_stream};
use portsock_core::echo::datagram::{DatagramEchoServer, ServerEvent};
use portsock_core::echo::stream::{EchoSession, SessionEvent};
use portsock_core::machine::Status;
use portsock_core::multicast::{self, MulticastReceiver};
use portsock_core::record::{self, RecordReceiver};
use portsock_core::transport::{Blocking, Interface, Listener, MembershipRequest, Multicast};
use portsock_core::wire::structfmt::Format;
use portsock_smoltcp::smoltcp::iface::SocketStorage;
use portsock_smoltcp::smoltcp::socket::udp;
use portsock_smoltcp::smoltcp::wire::IpCidr;
use portsock_smoltcp::{Config, Error, Stack, TcpListener, TcpStream, UdpSocket};

use crate::clock::SysTickPlatform;

/// The firmware's IPv4 address, from `PORTSOCK_FW_IP` at build time (`.cargo/config.toml`).
const IP: &str = env!("PORTSOCK_FW_IP");
const PREFIX_LEN: u8 = 24;

const TCP_ECHO_PORT: u16 = 10_000;
const TCP_RECORD_PORT: u16 = 10_001;
const UDP_ECHO_PORT: u16 = 10_002;
/// The chapter's multicast group and port (`socket_multicast_receiver.py`).
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 3, 29, 71);
const GROUP_PORT: u16 = 10_000;

/// TCP sockets: one listening per listener, one per open connection, one spare to listen
/// again while a connection is closing. Their buffers bound the window (throughput); 512
/// bytes each way keeps the image within issue #6's 16 KiB of RAM (static + stack), and
/// still echoes about 1 MiB/s under QEMU (`scripts/firmware-bench`).
const TCP_SOCKETS: usize = 3;
const TCP_RX: usize = 512;
const TCP_TX: usize = 512;
/// The echo session's buffer: at most this much is read before it is written back (half
/// the socket's transmit buffer, so a read can always be written back soon).
const ECHO_BUF: usize = 256;
/// UDP echo: the largest datagram echoed, and how many may queue each way.
const UDP_ECHO_BYTES: usize = 1_024;
const UDP_ECHO_PACKETS: usize = 2;
/// The multicast receiver's buffer (the chapter's message is 19 bytes).
const MCAST_BYTES: usize = 128;
const UDP_SOCKETS: usize = 3;
const SOCKETS: usize = TCP_SOCKETS + UDP_SOCKETS;

type FwStack = Stack<'static, enet::Enet, SysTickPlatform>;
type FwStream = TcpStream<'static, 'static, enet::Enet, SysTickPlatform>;

/// Hands out a `&'static mut` to a static initialised at compile time (so it lives in
/// `.bss`/`.data`, never on the stack), once; a second call panics.
macro_rules! take_static {
    ($ty:ty = $init:expr) => {{
        static TAKEN: AtomicBool = AtomicBool::new(false);
        static mut CELL: $ty = $init;
        assert!(!TAKEN.swap(true, Ordering::AcqRel), "static taken twice");
        // SAFETY: TAKEN makes this the only reference ever created to CELL, and CELL is
        // private to this block.
        unsafe { &mut *(&raw mut CELL) }
    }};
}

/// Gives the stack a UDP socket over static buffers: `$packets` datagrams of at most `$bytes`
/// bytes in all, each way.
macro_rules! static_udp {
    ($stack:expr, $packets:expr, $bytes:expr) => {
        add_udp(
            $stack,
            take_static!(
                [udp::PacketMetadata; 2 * $packets] = [udp::PacketMetadata::EMPTY; 2 * $packets]
            ),
            take_static!([u8; 2 * $bytes] = [0; 2 * $bytes]),
        )
    };
}

defmt::timestamp!("{=u64:ms}", clock::now_ms());

#[cortex_m_rt::entry]
fn main() -> ! {
    stack::paint();
    let core = cortex_m::Peripherals::take().expect("core peripherals taken once");
    if !clock::init(core.SYST) {
        warn!("PLL did not lock; the millisecond clock is wrong");
    }
    let (stack, ip, mac) = bring_up();

    let any = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
    let mut echo_listener = TcpListener::bind(stack, any(TCP_ECHO_PORT), 1).expect("echo port");
    let mut record_listener =
        TcpListener::bind(stack, any(TCP_RECORD_PORT), 1).expect("record port");
    let mut udp_echo = UdpSocket::bind(stack, any(UDP_ECHO_PORT)).expect("udp echo port");
    let mut mcast = UdpSocket::bind(stack, any(GROUP_PORT)).expect("group port");
    let request =
        MembershipRequest::new(IpAddr::V4(GROUP), Interface::Any).expect("a group address");
    mcast.join(&request).expect("room in the group table");
    let mut control = UdpSocket::bind(stack, any(control::PORT)).expect("control port");
    for result in [
        echo_listener.set_nonblocking(true),
        record_listener.set_nonblocking(true),
        udp_echo.set_nonblocking(true),
        mcast.set_nonblocking(true),
        control.set_nonblocking(true),
    ] {
        result.expect("non-blocking mode");
    }

    let machines = machines();
    // The connection each stream machine serves, if any.
    let mut echo: Option<FwStream> = None;
    let mut records: Option<FwStream> = None;

    info!(
        "portsock-fw up: ip {}/{=u8} mac {=[u8]:02x}; tcp echo {=u16}, tcp records {=u16}, udp echo {=u16}, multicast {}:{=u16}, control {=u16}",
        ip,
        PREFIX_LEN,
        mac,
        TCP_ECHO_PORT,
        TCP_RECORD_PORT,
        UDP_ECHO_PORT,
        GROUP,
        GROUP_PORT,
        control::PORT
    );

    let mut exit_at = None;
    loop {
        // One function per service: each one's temporaries leave the stack when it returns,
        // instead of all of them sitting in `main`'s frame.
        serve_echo(&mut echo_listener, &mut echo, machines);
        serve_records(&mut record_listener, &mut records, machines);
        serve_udp_echo(&mut udp_echo, machines, stack);
        serve_multicast(&mut mcast, machines, stack);

        if let control::Action::Exit = control::serve(&mut control, stack) {
            exit_at = Some(clock::now_ms() + control::EXIT_GRACE_MS);
        }
        if exit_at.is_some_and(|at| clock::now_ms() >= at) {
            control::exit(stack);
        }

        // Returns at once if a socket changed during the steps; otherwise sleeps until a
        // frame arrives or the interface has a timer due.
        stack.wait(exit_at.map(|_| portsock_core::time::Instant::from_millis(clock::now_ms() + 1)));
    }
}

type FwListener = TcpListener<'static, 'static, enet::Enet, SysTickPlatform>;
type FwUdp = UdpSocket<'static, 'static, enet::Enet, SysTickPlatform>;

/// TCP echo: accept when idle, then step the session until the client has closed.
#[inline(never)]
fn serve_echo(listener: &mut FwListener, echo: &mut Option<FwStream>, machines: &mut Machines) {
    if echo.is_none()
        && let Some(stream) = accept(listener, "echo")
    {
        machines.new_echo();
        *echo = Some(stream);
    }
    if let Some(stream) = echo {
        let step = step_stream(stream, &mut machines.echo, &mut |s| {
            while let Some(event) = s.poll_event() {
                match event {
                    SessionEvent::Received(data) => {
                        debug!("echo: received {=usize} bytes", data.len())
                    }
                    SessionEvent::PeerClosed => info!("echo: no more data, closing"),
                    _ => {}
                }
            }
        });
        if finished("echo", step) {
            *echo = None; // dropping the stream closes it in the background
        }
    }
}

/// Binary records: one record per connection, unpacked by the core's codec.
#[inline(never)]
fn serve_records(
    listener: &mut FwListener,
    records: &mut Option<FwStream>,
    machines: &mut Machines,
) {
    if records.is_none()
        && let Some(stream) = accept(listener, "records")
    {
        machines.new_records();
        *records = Some(stream);
    }
    if let Some(stream) = records {
        let step = step_stream(stream, &mut machines.records, &mut |r| {
            while let Some(event) = r.poll_event() {
                let record::ReceiverEvent::Received { bytes, values } = event else {
                    continue;
                };
                info!("records: received {=[u8]:02x}", bytes);
                for value in values {
                    info!("records: unpacked {}", value);
                }
            }
        });
        if finished("records", step) {
            *records = None;
        }
    }
}

/// UDP echo: never finishes.
#[inline(never)]
fn serve_udp_echo(socket: &mut FwUdp, machines: &mut Machines, stack: &'static FwStack) {
    let step = step_datagram(socket, &mut machines.udp_echo, stack, &mut |m| {
        while let Some(event) = m.poll_event() {
            if let ServerEvent::Received { from, len, .. } = event {
                info!("udp echo: {=usize} bytes from {}", len, from);
            }
        }
    });
    let _ = finished("udp echo", step);
}

/// The multicast receiver: never finishes.
#[inline(never)]
fn serve_multicast(socket: &mut FwUdp, machines: &mut Machines, stack: &'static FwStack) {
    let step = step_datagram(socket, &mut machines.multicast, stack, &mut |m| {
        while let Some(event) = m.poll_event() {
            match event {
                multicast::ReceiverEvent::Received { from, data, .. } => {
                    info!("multicast: received {=[u8]:a} from {}", data, from);
                }
                multicast::ReceiverEvent::Acknowledged { to } => {
                    info!("multicast: sending acknowledgement to {}", to);
                }
                _ => {}
            }
        }
    });
    let _ = finished("multicast", step);
}

/// The machines, with their buffers: in a static rather than in `main`'s frame, and each
/// (re)made in place by a function of its own, so that a machine under construction never
/// sits in `main`'s frame beside the live one.
struct Machines {
    echo: EchoSession<[u8; ECHO_BUF]>,
    records: RecordReceiver<'static, [u8; 16]>,
    udp_echo: DatagramEchoServer<&'static mut [u8; UDP_ECHO_BYTES]>,
    multicast: MulticastReceiver<'static, &'static mut [u8; MCAST_BYTES]>,
}

/// The machines, made once, one field at a time (a whole `Machines` would be built on the
/// stack first).
#[inline(never)]
fn machines() -> &'static mut Machines {
    // The machines made once get buffers of their own (a `[u8; N]` argument is a copy on the
    // stack); the stream machines, remade for each connection, hold theirs.
    let udp_echo_buf = take_static!([u8; UDP_ECHO_BYTES] = [0; UDP_ECHO_BYTES]);
    let multicast_buf = take_static!([u8; MCAST_BYTES] = [0; MCAST_BYTES]);
    let cell = take_static!(MaybeUninit<Machines> = MaybeUninit::uninit());
    let m = cell.as_mut_ptr();
    // SAFETY: `m` points to the static, ours alone; every field is written before the
    // `assume_init_mut` below, each once, through a raw place (no reference to uninit data).
    unsafe {
        (&raw mut (*m).echo).write(echo_session());
        (&raw mut (*m).records).write(record_receiver());
        (&raw mut (*m).udp_echo).write(DatagramEchoServer::new(udp_echo_buf));
        (&raw mut (*m).multicast).write(MulticastReceiver::new(multicast_buf));
        cell.assume_init_mut()
    }
}

impl Machines {
    /// A fresh echo session, for a new connection.
    #[inline(never)]
    fn new_echo(&mut self) {
        self.echo = echo_session();
    }

    /// A fresh record receiver, for a new connection.
    #[inline(never)]
    fn new_records(&mut self) {
        self.records = record_receiver();
    }
}

fn echo_session() -> EchoSession<[u8; ECHO_BUF]> {
    EchoSession::new([0u8; ECHO_BUF]).with_chunk(ECHO_BUF)
}

fn record_receiver() -> RecordReceiver<'static, [u8; 16]> {
    let format = Format::parse(record::CHAPTER_FORMAT).expect("the chapter's format");
    RecordReceiver::new(format, [0u8; 16]).expect("16 bytes hold 'I 2s f'")
}

/// Brings the interface up with its sockets, the stack in a static: out of line, so that
/// what only its construction needs (the stack and its sockets before they move into their
/// places) leaves the stack when it returns instead of staying in `main`'s frame.
#[inline(never)]
fn bring_up() -> (&'static FwStack, Ipv4Addr, [u8; 6]) {
    let rx = take_static!([u8; enet::FRAME_MAX] = [0; enet::FRAME_MAX]);
    let tx = take_static!([u8; enet::FRAME_MAX] = [0; enet::FRAME_MAX]);
    let device = enet::Enet::new(rx, tx);
    let mac = device.mac();
    let ip: Ipv4Addr = IP.parse().expect("PORTSOCK_FW_IP is an IPv4 address");
    let seed = u64::from(u32::from_be_bytes([mac[2], mac[3], mac[4], mac[5]])) ^ clock::now_ms();
    let config = Config::new(mac)
        .with_address(IpCidr::new(ip.into(), PREFIX_LEN))
        .expect("room for one address")
        .with_random_seed(seed);
    let storage = socket_storage();
    let cell = take_static!(MaybeUninit<FwStack> = MaybeUninit::uninit());
    let stack: &'static FwStack = cell.write(
        Stack::new(&config, device, SysTickPlatform::new(), storage).expect("a unicast MAC"),
    );
    add_sockets(stack);
    (stack, ip, mac)
}

/// The socket table, in `.bss`: `SocketStorage::EMPTY` is not all zeros, so a static
/// initialised with it would put its whole image in flash (2.3 KiB); it is filled at run time.
fn socket_storage() -> &'static mut [SocketStorage<'static>] {
    let cell = take_static!(MaybeUninit<[SocketStorage<'static>; SOCKETS]> = MaybeUninit::uninit());
    let first = cell.as_mut_ptr().cast::<SocketStorage<'static>>();
    for i in 0..SOCKETS {
        // SAFETY: `i` is in bounds of the array behind `first`, which is ours alone.
        unsafe { first.add(i).write(SocketStorage::EMPTY) };
    }
    // SAFETY: every element was written above.
    unsafe { &mut *cell.as_mut_ptr() }
}

/// Gives the stack its sockets, over static buffers.
fn add_sockets(stack: &'static FwStack) {
    let tcp =
        take_static!([[u8; TCP_RX + TCP_TX]; TCP_SOCKETS] = [[0; TCP_RX + TCP_TX]; TCP_SOCKETS]);
    for buffers in tcp {
        let (rx, tx) = buffers.split_at_mut(TCP_RX);
        stack
            .add_tcp_buffers(rx, tx)
            .expect("room for a TCP socket");
    }
    // One expansion per socket: each `take_static!` is its own static.
    static_udp!(stack, UDP_ECHO_PACKETS, UDP_ECHO_BYTES);
    static_udp!(stack, 2, MCAST_BYTES);
    static_udp!(stack, 2, control::BYTES);
    const _: () = assert!(UDP_SOCKETS == 3);
}

/// Gives the stack a UDP socket: the first half of `meta` and `payload` receives, the second
/// half sends.
#[inline(never)]
fn add_udp(
    stack: &'static FwStack,
    meta: &'static mut [udp::PacketMetadata],
    payload: &'static mut [u8],
) {
    let (rx_meta, tx_meta) = meta.split_at_mut(meta.len() / 2);
    let (rx, tx) = payload.split_at_mut(payload.len() / 2);
    stack
        .add_udp_buffers(rx_meta, rx, tx_meta, tx)
        .expect("room for a UDP socket");
}

/// A new connection from `listener`, non-blocking, if one is waiting.
fn accept(listener: &mut FwListener, what: &str) -> Option<FwStream> {
    match listener.accept() {
        Ok((mut stream, peer)) => {
            info!("{=str}: connection from {}", what, peer);
            stream.set_nonblocking(true).ok()?;
            Some(stream)
        }
        Err(Error::WouldBlock) => None,
        Err(e) => {
            warn!("{=str}: accept: {}", what, e);
            None
        }
    }
}

/// Whether a machine's step ended it: done, or failed (logged). Progress and "blocked" (nothing
/// to do now) are not an end.
fn finished<E: defmt::Format, P: defmt::Format>(
    what: &str,
    step: Result<Status, DriveError<E, P>>,
) -> bool {
    match step {
        Ok(Status::Running | Status::Blocked) => false,
        Ok(Status::Done) => {
            info!("{=str}: done", what);
            true
        }
        Err(e) => {
            warn!("{=str}: {}", what, e);
            true
        }
    }
}

/// Built with `-C panic=immediate-abort` (`.cargo/config.toml`), a panic never gets here: it
/// is a `udf` instruction, which lands in [`HardFault`]. Kept for builds without that flag.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    // The location only: formatting the message would pull `core::fmt` into the image.
    match info.location() {
        Some(at) => defmt::error!("panic at {=str}:{=u32}", at.file(), at.line()),
        None => defmt::error!("panic"),
    }
    semihosting::process::exit(101)
}

/// A panic (a `udf`, see [`panic`]) or a fault: logs where, and ends QEMU with status 101.
/// `addr2line -e <ELF> <pc>` names the panicking line.
#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    defmt::error!(
        "hard fault (a panic is a udf) at pc {=u32:#010x}, lr {=u32:#010x}",
        frame.pc(),
        frame.lr()
    );
    semihosting::process::exit(101)
}
