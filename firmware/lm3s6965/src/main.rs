//! portsock on QEMU's `lm3s6965evb`: a Cortex-M3 with the Stellaris Ethernet MAC.
//!
//! The board support is in [`enet`] (the MAC as a smoltcp device), [`clock`] (PLL, a
//! SysTick millisecond clock and the stack's [`Platform`](portsock_smoltcp::Platform)) and
//! the board crate's `entropy` (the TCP sequence numbers' seed, and its limits under QEMU);
//! test builds (feature `control`) add the board crate's `stack` (peak stack by painting) and
//! `control` (the test harness's UDP port). This `main` wires
//! the core's state machines to sockets of portsock-smoltcp's [`Stack`]: everything the
//! programs do on the wire is `portsock_core`'s; the loop below only hands each TCP listener to
//! the core's [`Sessions`] (which accepts, steps and retires), steps the UDP machines, logs
//! their events and waits.
//!
//! | port | transport | machine |
//! | --- | --- | --- |
//! | 10000 | TCP | [`EchoSession`] (the chapter's echo server), one connection at a time |
//! | 10001 | TCP | [`RecordReceiver`] of `'I 2s f'` (the chapter's binary-record server), logs the values |
//! | 10002 | UDP | [`DatagramEchoServer`] (the chapter's datagram echo server) |
//! | 10000 | UDP, group 224.3.29.71 | [`MulticastReceiver`] (the chapter's receiver: acks `b'ack'`) |
//! | 10099 | UDP | `control`: `uptime`, `stack`, `exit` for the test scripts (feature `control` only: `scripts/firmware-test` turns it on; never in a board's image, as anyone could stop it) |
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
#[cfg(feature = "control")]
mod control;
mod enet;

use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use defmt::{debug, info, warn};
use defmt_semihosting as _;
use portsock_core::drive::sessions::{Event, Sessions, Slot, Turn};
use portsock_core::drive::{DriveError, step_datagram};
use portsock_core::echo::datagram::{DatagramEchoServer, ServerEvent};
use portsock_core::echo::stream::{EchoSession, SessionEvent};
use portsock_core::machine::{Status, StreamMachine};
use portsock_core::multicast::{self, MulticastReceiver};
use portsock_core::record::{self, RecordReceiver};
use portsock_core::time::{Duration, Instant};
use portsock_core::transport::{Blocking, Interface, MembershipRequest, Multicast};
use portsock_core::wire::structfmt::Format;
use portsock_smoltcp::smoltcp::socket::udp;
use portsock_smoltcp::smoltcp::wire::IpCidr;
use portsock_smoltcp::{Config, Stack, StackResources, TcpListener, UdpSocket};
use static_cell::{ConstStaticCell, StaticCell};

use portsock_lm3s6965_board::entropy;
#[cfg(feature = "control")]
use portsock_lm3s6965_board::stack;

use crate::clock::SysTickPlatform;

/// The firmware's IPv4 address, from `PORTSOCK_FW_IP` at build time (`.cargo/config.toml`).
const IP: &str = env!("PORTSOCK_FW_IP");
const PREFIX_LEN: u8 = 24;

/// A session on which nothing was read or written this long is closed (gracefully: the
/// client reads end-of-file), so one client that connects and stays silent cannot hold a
/// service's only slot; TCP keep-alive drops a peer that vanished, not one that is quiet.
const ECHO_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// A record is 12 bytes, sent at once: a client silent this long is not sending one.
const RECORD_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

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
/// UDP echo, multicast, and the control port in test builds.
const UDP_SOCKETS: usize = 2 + CONTROL_SOCKETS;
const CONTROL_SOCKETS: usize = if cfg!(feature = "control") { 1 } else { 0 };
const SOCKETS: usize = TCP_SOCKETS + UDP_SOCKETS;

type FwStack = Stack<'static, enet::Enet, SysTickPlatform>;

/// A UDP socket's buffers, each in a static of its own (initialised at compile time, so in
/// `.bss`/`.data`, never on the stack), handed to [`add_udp`]: `$packets` datagrams of at most
/// `$bytes` bytes in all, each way.
macro_rules! static_udp {
    ($stack:expr, $packets:expr, $bytes:expr) => {{
        static META: ConstStaticCell<[udp::PacketMetadata; 2 * $packets]> =
            ConstStaticCell::new([udp::PacketMetadata::EMPTY; 2 * $packets]);
        static PAYLOAD: ConstStaticCell<[u8; 2 * $bytes]> = ConstStaticCell::new([0; 2 * $bytes]);
        add_udp($stack, META.take(), PAYLOAD.take())
    }};
}

defmt::timestamp!("{=u64:ms}", clock::now_ms());

#[cortex_m_rt::entry]
fn main() -> ! {
    // The stack's high-water mark, which the control port of test builds reports.
    #[cfg(feature = "control")]
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
    #[cfg(feature = "control")]
    let mut control = UdpSocket::bind(stack, any(control::PORT)).expect("control port");
    #[cfg(feature = "control")]
    assert!(control.set_nonblocking(true).is_ok(), "non-blocking mode");
    let nonblocking = [
        echo_listener.set_nonblocking(true).is_ok(),
        record_listener.set_nonblocking(true).is_ok(),
        udp_echo.set_nonblocking(true).is_ok(),
        mcast.set_nonblocking(true).is_ok(),
    ];
    assert!(nonblocking.iter().all(|ok| *ok), "non-blocking mode");

    let Machines {
        echo,
        records,
        udp_echo: udp_echo_machine,
        multicast: multicast_machine,
    } = machines();
    // One connection at a time each: a slot apiece.
    let mut echo = Sessions::new(echo).with_idle_timeout(ECHO_IDLE_TIMEOUT, stack);
    let mut records = Sessions::new(records).with_idle_timeout(RECORD_IDLE_TIMEOUT, stack);

    info!(
        "portsock-fw up: ip {}/{=u8} mac {=[u8]:02x}; tcp echo {=u16}, tcp records {=u16}, udp echo {=u16}, multicast {}:{=u16}",
        ip, PREFIX_LEN, mac, TCP_ECHO_PORT, TCP_RECORD_PORT, UDP_ECHO_PORT, GROUP, GROUP_PORT
    );
    #[cfg(feature = "control")]
    info!("test build: control port {=u16}", control::PORT);

    #[cfg(feature = "control")]
    let mut exit_at = None;
    loop {
        // One function per service: each one's temporaries leave the stack when it returns,
        // instead of all of them sitting in `main`'s frame.
        let echo_turn = serve_echo(&mut echo_listener, &mut echo);
        let records_turn = serve_records(&mut record_listener, &mut records);
        let more = echo_turn.more | records_turn.more;
        serve_udp_echo(&mut udp_echo, udp_echo_machine, stack);
        serve_multicast(&mut mcast, multicast_machine, stack);

        #[cfg(feature = "control")]
        {
            if let control::Action::Exit = control::serve(&mut control, stack) {
                exit_at = Some(clock::now_ms() + control::EXIT_GRACE_MS);
            }
            if exit_at.is_some_and(|at| clock::now_ms() >= at) {
                control::exit(stack);
            }
        }
        #[cfg(feature = "control")]
        let exit_deadline = exit_at.map(|_| Instant::from_millis(clock::now_ms() + 1));
        #[cfg(not(feature = "control"))]
        let exit_deadline = None;
        // Wake for the first session to go idle too.
        let deadline = earliest(
            earliest(echo_turn.deadline, records_turn.deadline),
            exit_deadline,
        );

        // Returns at once if a socket changed during the steps; otherwise sleeps until a
        // frame arrives or the interface has a timer due. A session cut short by its step
        // budget has more to do at once: then only move frames.
        if more {
            stack.poll();
        } else {
            stack.wait(deadline);
        }
    }
}

type FwListener = TcpListener<'static, 'static, enet::Enet, SysTickPlatform>;
type FwUdp = UdpSocket<'static, 'static, enet::Enet, SysTickPlatform>;

type EchoSlot = Slot<FwListener, EchoSession<[u8; ECHO_BUF]>>;
type RecordSlot = Slot<FwListener, RecordReceiver<'static, [u8; 16]>>;

/// TCP echo: accept when idle, then step the session until the client has closed (or has
/// been silent for [`ECHO_IDLE_TIMEOUT`]).
#[inline(never)]
fn serve_echo(
    listener: &mut FwListener,
    sessions: &mut Sessions<'static, FwListener, EchoSession<[u8; ECHO_BUF]>>,
) -> Turn {
    sessions.poll(
        listener,
        &mut |_| echo_session(),
        &mut |event| match event {
            Event::Stepped { machine, .. } => {
                while let Some(event) = machine.poll_event() {
                    match event {
                        SessionEvent::Received(data) => {
                            debug!("echo: received {=usize} bytes", data.len())
                        }
                        SessionEvent::PeerClosed => info!("echo: no more data, closing"),
                        _ => {}
                    }
                }
            }
            // Dropping a finished stream closes it in the background.
            event => log_session("echo", event),
        },
    )
}

/// Binary records: one record per connection, unpacked by the core's codec (a client silent
/// for [`RECORD_IDLE_TIMEOUT`] is closed).
#[inline(never)]
fn serve_records(
    listener: &mut FwListener,
    sessions: &mut Sessions<'static, FwListener, RecordReceiver<'static, [u8; 16]>>,
) -> Turn {
    sessions.poll(
        listener,
        &mut |_| record_receiver(),
        &mut |event| match event {
            Event::Stepped { machine, .. } => {
                while let Some(event) = machine.poll_event() {
                    let record::ReceiverEvent::Received { bytes, values } = event else {
                        continue;
                    };
                    info!("records: received {=[u8]:02x}", bytes);
                    for value in values {
                        info!("records: unpacked {}", value);
                    }
                }
            }
            event => log_session("records", event),
        },
    )
}

/// The earlier of two deadlines, if there is one.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Logs a stream session's start and end.
fn log_session<M>(what: &str, event: Event<'_, FwListener, M>)
where
    M: StreamMachine<Error: defmt::Format>,
{
    match event {
        Event::Accepted { peer, .. } => info!("{=str}: connection from {}", what, peer),
        Event::Finished { .. } => info!("{=str}: done", what),
        Event::Failed { error, .. } => warn!("{=str}: {}", what, error),
        Event::IdleTimeout { peer, .. } => warn!("{=str}: idle timeout: closed {}", what, peer),
        Event::AcceptFailed { error } => warn!("{=str}: accept: {}", what, error),
        _ => {}
    }
}

/// UDP echo: never finishes.
#[inline(never)]
fn serve_udp_echo(
    socket: &mut FwUdp,
    machine: &mut DatagramEchoServer<&'static mut [u8; UDP_ECHO_BYTES]>,
    stack: &'static FwStack,
) {
    let step = step_datagram(socket, machine, stack, &mut |m| {
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
fn serve_multicast(
    socket: &mut FwUdp,
    machine: &mut MulticastReceiver<'static, &'static mut [u8; MCAST_BYTES]>,
    stack: &'static FwStack,
) {
    let step = step_datagram(socket, machine, stack, &mut |m| {
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

/// The machines, with their buffers: in a static rather than in `main`'s frame. The stream
/// machines sit in their listener's session slots, made for each connection by
/// [`echo_session`] / [`record_receiver`] (out of line, so a machine under construction never
/// sits in `main`'s frame beside the live one).
struct Machines {
    echo: [EchoSlot; 1],
    records: [RecordSlot; 1],
    udp_echo: DatagramEchoServer<&'static mut [u8; UDP_ECHO_BYTES]>,
    multicast: MulticastReceiver<'static, &'static mut [u8; MCAST_BYTES]>,
}

/// The machines, made once, in a static.
#[inline(never)]
fn machines() -> &'static mut Machines {
    // The machines made once get buffers of their own (a `[u8; N]` argument is a copy on the
    // stack); the stream machines, remade for each connection, hold theirs.
    static UDP_ECHO_BUF: ConstStaticCell<[u8; UDP_ECHO_BYTES]> =
        ConstStaticCell::new([0; UDP_ECHO_BYTES]);
    static MULTICAST_BUF: ConstStaticCell<[u8; MCAST_BYTES]> =
        ConstStaticCell::new([0; MCAST_BYTES]);
    static MACHINES: StaticCell<Machines> = StaticCell::new();
    MACHINES.init_with(|| Machines {
        echo: [None],
        records: [None],
        udp_echo: DatagramEchoServer::new(UDP_ECHO_BUF.take()),
        multicast: MulticastReceiver::new(MULTICAST_BUF.take()),
    })
}

#[inline(never)]
fn echo_session() -> EchoSession<[u8; ECHO_BUF]> {
    EchoSession::new([0u8; ECHO_BUF]).with_chunk(ECHO_BUF)
}

#[inline(never)]
fn record_receiver() -> RecordReceiver<'static, [u8; 16]> {
    let format = Format::parse(record::CHAPTER_FORMAT).expect("the chapter's format");
    RecordReceiver::new(format, [0u8; 16]).expect("16 bytes hold 'I 2s f'")
}

/// Brings the interface up with its sockets, the stack in a static: out of line, so that
/// what only its construction needs (the stack and its sockets before they move into their
/// places) leaves the stack when it returns instead of staying in `main`'s frame.
#[inline(never)]
fn bring_up() -> (&'static FwStack, Ipv4Addr, [u8; 6]) {
    static RX: ConstStaticCell<[u8; enet::FRAME_MAX]> = ConstStaticCell::new([0; enet::FRAME_MAX]);
    static TX: ConstStaticCell<[u8; enet::FRAME_MAX]> = ConstStaticCell::new([0; enet::FRAME_MAX]);
    // The socket table: uninitialised until the stack takes it, so in `.bss`, not in flash.
    static RESOURCES: ConstStaticCell<StackResources<'static, SOCKETS>> =
        ConstStaticCell::new(StackResources::new());
    static STACK: StaticCell<FwStack> = StaticCell::new();

    let device = enet::Enet::new(RX.take(), TX.take());
    let mac = device.mac();
    let ip: Ipv4Addr = IP.parse().expect("PORTSOCK_FW_IP is an IPv4 address");
    // TCP's initial sequence numbers come from this seed: see `entropy` for what goes in.
    let seed = entropy::Seed::gather(mac, clock::pll_lock_spins(), clock::now_ms).finish();
    let config = Config::new(mac)
        .with_address(IpCidr::new(ip.into(), PREFIX_LEN))
        .expect("room for one address")
        .with_random_seed(seed);
    let stack: &'static FwStack = STACK.init(
        Stack::new(&config, device, SysTickPlatform::new(), RESOURCES.take())
            .expect("a unicast MAC"),
    );
    add_sockets(stack);
    (stack, ip, mac)
}

/// Gives the stack its sockets, over static buffers.
fn add_sockets(stack: &'static FwStack) {
    static TCP: ConstStaticCell<[[u8; TCP_RX + TCP_TX]; TCP_SOCKETS]> =
        ConstStaticCell::new([[0; TCP_RX + TCP_TX]; TCP_SOCKETS]);
    for buffers in TCP.take() {
        let (rx, tx) = buffers.split_at_mut(TCP_RX);
        stack
            .add_tcp_buffers(rx, tx)
            .expect("room for a TCP socket");
    }
    // One expansion per socket: each has statics of its own.
    static_udp!(stack, UDP_ECHO_PACKETS, UDP_ECHO_BYTES);
    static_udp!(stack, 2, MCAST_BYTES);
    #[cfg(feature = "control")]
    static_udp!(stack, 2, control::BYTES);
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
/// is a `udf` instruction, which lands in `HardFault`. Kept for builds without that flag.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    // The location only: formatting the message would pull `core::fmt` into the image.
    match info.location() {
        Some(at) => defmt::error!("panic at {=str}:{=u32}", at.file(), at.line()),
        None => defmt::error!("panic"),
    }
    semihosting::process::exit(101)
}

/// A panic (a `udf`, see `panic`) or a fault: logs where, and ends QEMU with status 101.
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
