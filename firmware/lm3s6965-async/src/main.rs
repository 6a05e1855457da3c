//! portsock on QEMU's `lm3s6965evb`, async: the blocking image's services as embassy tasks.
//!
//! The same board and the same register code as `firmware/lm3s6965` (the board crate), run
//! differently: embassy-executor's thread-mode executor (idle in `wfe`), an embassy-time
//! driver on SysTick ([`time`]), the Ethernet MAC as an embassy-net driver woken by its
//! interrupt ([`eth`]), and embassy-net's stack on it. Every service is a task that runs one of
//! the core's machines with [`run_stream`] or [`run_datagram`] over the sockets of [`net`];
//! nothing the firmware does on the wire is its own.
//!
//! | port | transport | machine | tasks |
//! | --- | --- | --- | --- |
//! | 10000 | TCP | [`EchoSession`] | [`ECHO_TASKS`]: that many clients served at once |
//! | 10001 | TCP | [`RecordReceiver`] of `'I 2s f'`, logs the values | 1 |
//! | 10002 | UDP | [`DatagramEchoServer`] | 1 |
//! | 10000 | UDP, group 224.3.29.71 | [`MulticastReceiver`] (acks `b'ack'`) | 1 |
//! | 10099 | UDP | `control` (feature `control`, test builds only) | 1 |
//!
//! Each TCP task owns one socket that accepts on the port, serves one connection, closes it
//! and accepts again: with [`ECHO_TASKS`] of them a burst of up to that many clients is
//! served together (a client beyond them is refused, as embassy-net has no backlog; the
//! `portsock-embassy` listener pool lifts that). A session on which the client is silent for
//! the idle timeout is aborted by the socket's own timeout.
//!
//! Logging is defmt over semihosting, as in the blocking image.
#![no_std]
#![no_main]

#[cfg(feature = "control")]
mod control;
mod eth;
mod net;
mod time;

use core::net::Ipv4Addr;

use defmt::{debug, info, warn};
use defmt_semihosting as _;
use embassy_executor::{Executor, Spawner};
use embassy_net::tcp::{State, TcpSocket};
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{Config, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use embassy_time::{Duration, with_timeout};
use portsock_core::asynch::drive::{run_datagram, run_stream};
use portsock_core::echo::datagram::{DatagramEchoServer, ServerEvent};
use portsock_core::echo::stream::{EchoSession, SessionEvent};
use portsock_core::multicast::{self, MulticastReceiver};
use portsock_core::record::{self, RecordReceiver};
use portsock_core::wire::structfmt::Format;
#[cfg(feature = "control")]
use portsock_lm3s6965_board::stack;
use portsock_lm3s6965_board::{entropy, sysctl};
use static_cell::{ConstStaticCell, StaticCell};

use crate::eth::Enet;
use crate::net::{TcpStream, Udp};
use crate::time::EmbassyTimer;

/// The firmware's IPv4 address, from `PORTSOCK_FW_IP` at build time (`.cargo/config.toml`).
const IP: &str = env!("PORTSOCK_FW_IP");
const PREFIX_LEN: u8 = 24;

const TCP_ECHO_PORT: u16 = 10_000;
const TCP_RECORD_PORT: u16 = 10_001;
const UDP_ECHO_PORT: u16 = 10_002;
/// The chapter's multicast group and port (`socket_multicast_receiver.py`).
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 3, 29, 71);
const GROUP_PORT: u16 = 10_000;

/// TCP echo tasks: clients served at once.
pub const ECHO_TASKS: usize = 4;
/// Each echo socket's buffers, each way (the window, so the throughput).
const ECHO_RX: usize = 768;
const ECHO_TX: usize = 768;
/// The echo session's buffer: at most this much is read before it is written back.
const ECHO_BUF: usize = 256;
const RECORD_RX: usize = 128;
const RECORD_TX: usize = 64;
/// UDP echo: the largest datagram echoed, and how many may queue each way.
const UDP_ECHO_BYTES: usize = 1_024;
const UDP_ECHO_PACKETS: usize = 2;
/// The multicast receiver's buffer (the chapter's message is 19 bytes).
const MCAST_BYTES: usize = 128;

/// Silent this long, a client is dropped (the socket's timeout aborts the connection).
const ECHO_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const RECORD_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing connection may take to finish its close before it is reset.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Sockets: the echo tasks', the record task's, UDP echo, multicast, control in test builds.
const SOCKETS: usize = ECHO_TASKS + 1 + 2 + if cfg!(feature = "control") { 1 } else { 0 };

defmt::timestamp!("{=u64:ms}", time::now_ms());

#[cortex_m_rt::entry]
fn main() -> ! {
    // The stack's high-water mark, which the control port of test builds reports.
    #[cfg(feature = "control")]
    stack::paint();
    let core = cortex_m::Peripherals::take().expect("core peripherals taken once");
    let pll = sysctl::start_pll();
    time::init(core.SYST);
    if pll.is_none() {
        warn!("PLL did not lock; the millisecond clock is wrong");
    }

    static EXECUTOR: StaticCell<Executor> = StaticCell::new();
    EXECUTOR
        .init(Executor::new())
        .run(|spawner| bring_up(spawner, pll.unwrap_or(0)))
}

/// Brings the interface up and spawns the tasks.
fn bring_up(spawner: Spawner, pll_spins: u32) {
    static DRIVER: StaticCell<Enet> = StaticCell::new();
    static RESOURCES: StaticCell<StackResources<SOCKETS>> = StaticCell::new();

    let driver = DRIVER.init_with(Enet::new);
    let mac = driver.mac();
    let ip: Ipv4Addr = IP.parse().expect("PORTSOCK_FW_IP is an IPv4 address");
    // TCP's initial sequence numbers come from this seed: see the board's `entropy`.
    let seed = entropy::Seed::gather(mac, pll_spins, time::now_ms).finish();
    let config = Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(ip, PREFIX_LEN),
        gateway: None,
        dns_servers: Default::default(),
    });
    let (stack, runner) = embassy_net::new(
        driver,
        config,
        RESOURCES.init_with(StackResources::new),
        seed,
    );
    if stack.join_multicast_group(GROUP).is_err() {
        warn!("multicast: could not join {}", GROUP);
    }

    spawner.spawn(network(runner).expect("network task"));
    static ECHO_BUFFERS: ConstStaticCell<[[u8; ECHO_RX + ECHO_TX]; ECHO_TASKS]> =
        ConstStaticCell::new([[0; ECHO_RX + ECHO_TX]; ECHO_TASKS]);
    for (id, buffers) in ECHO_BUFFERS.take().iter_mut().enumerate() {
        spawner.spawn(tcp_echo(stack, id, buffers).expect("an echo task per slot"));
    }
    spawner.spawn(tcp_records(stack).expect("records task"));
    spawner.spawn(udp_echo(stack).expect("udp echo task"));
    spawner.spawn(multicast_receiver(stack).expect("multicast task"));
    #[cfg(feature = "control")]
    spawner.spawn(control::serve(stack).expect("control task"));

    info!(
        "portsock-fw up (async, embassy): ip {}/{=u8} mac {=[u8]:02x}; tcp echo {=u16} x{=usize}, tcp records {=u16}, udp echo {=u16}, multicast {}:{=u16}",
        ip,
        PREFIX_LEN,
        mac,
        TCP_ECHO_PORT,
        ECHO_TASKS,
        TCP_RECORD_PORT,
        UDP_ECHO_PORT,
        GROUP,
        GROUP_PORT
    );
    #[cfg(feature = "control")]
    info!("test build: control port {=u16}", control::PORT);
}

/// embassy-net's stack: moves frames between the driver and the sockets.
#[embassy_executor::task]
async fn network(mut runner: Runner<'static, &'static mut Enet>) -> ! {
    runner.run().await
}

/// One of the [`ECHO_TASKS`] TCP echo servers: accept, echo until the client is done, close.
#[embassy_executor::task(pool_size = ECHO_TASKS)]
async fn tcp_echo(
    stack: Stack<'static>,
    id: usize,
    buffers: &'static mut [u8; ECHO_RX + ECHO_TX],
) -> ! {
    let (rx, tx) = buffers.split_at_mut(ECHO_RX);
    let mut socket = TcpSocket::new(stack, rx, tx);
    loop {
        socket.set_timeout(Some(ECHO_IDLE_TIMEOUT));
        if let Err(e) = socket.accept(TCP_ECHO_PORT).await {
            warn!("echo {=usize}: accept: {}", id, e);
            reset(&mut socket).await;
            continue;
        }
        info!(
            "echo {=usize}: connection from {}",
            id,
            socket.remote_endpoint()
        );
        let mut session = EchoSession::new([0u8; ECHO_BUF]).with_chunk(ECHO_BUF);
        let run = run_stream(&mut TcpStream(&mut socket), &mut session, &mut |m| {
            while let Some(event) = m.poll_event() {
                match event {
                    SessionEvent::Received(data) => {
                        debug!("echo {=usize}: received {=usize} bytes", id, data.len())
                    }
                    SessionEvent::PeerClosed => info!("echo {=usize}: no more data, closing", id),
                    _ => {}
                }
            }
        })
        .await;
        match run {
            Ok(()) => info!("echo {=usize}: done", id),
            Err(e) => warn!("echo {=usize}: {}", id, e),
        }
        close(&mut socket).await;
    }
}

/// Binary records: one record per connection, unpacked by the core's codec.
#[embassy_executor::task]
async fn tcp_records(stack: Stack<'static>) -> ! {
    static RX: ConstStaticCell<[u8; RECORD_RX]> = ConstStaticCell::new([0; RECORD_RX]);
    static TX: ConstStaticCell<[u8; RECORD_TX]> = ConstStaticCell::new([0; RECORD_TX]);
    let mut socket = TcpSocket::new(stack, RX.take(), TX.take());
    let format = Format::parse(record::CHAPTER_FORMAT).expect("the chapter's format");
    loop {
        socket.set_timeout(Some(RECORD_IDLE_TIMEOUT));
        if let Err(e) = socket.accept(TCP_RECORD_PORT).await {
            warn!("records: accept: {}", e);
            reset(&mut socket).await;
            continue;
        }
        info!("records: connection from {}", socket.remote_endpoint());
        let mut receiver = RecordReceiver::new(format, [0u8; 16]).expect("16 bytes hold 'I 2s f'");
        let run = run_stream(&mut TcpStream(&mut socket), &mut receiver, &mut |m| {
            while let Some(event) = m.poll_event() {
                let record::ReceiverEvent::Received { bytes, values } = event else {
                    continue;
                };
                info!("records: received {=[u8]:02x}", bytes);
                for value in values {
                    info!("records: unpacked {}", value);
                }
            }
        })
        .await;
        match run {
            Ok(()) => info!("records: done"),
            Err(e) => warn!("records: {}", e),
        }
        close(&mut socket).await;
    }
}

/// Closes a served connection: the FIN after the data, then, if the peer has not finished
/// the close within [`CLOSE_GRACE`] (or we closed first and wait in FIN-WAIT-2 or TIME-WAIT),
/// a reset, so the socket is free to accept again.
async fn close(socket: &mut TcpSocket<'_>) {
    socket.close();
    let _ = with_timeout(CLOSE_GRACE, socket.flush()).await;
    if socket.state() != State::Closed {
        reset(socket).await;
    }
}

/// Resets the connection (if any) and waits, bounded, for the reset to leave.
async fn reset(socket: &mut TcpSocket<'_>) {
    socket.abort();
    let _ = with_timeout(CLOSE_GRACE, socket.flush()).await;
}

/// UDP echo: never finishes.
#[embassy_executor::task]
async fn udp_echo(stack: Stack<'static>) -> ! {
    static META: ConstStaticCell<[PacketMetadata; 2 * UDP_ECHO_PACKETS]> =
        ConstStaticCell::new([PacketMetadata::EMPTY; 2 * UDP_ECHO_PACKETS]);
    static PAYLOAD: ConstStaticCell<[u8; 2 * UDP_ECHO_BYTES]> =
        ConstStaticCell::new([0; 2 * UDP_ECHO_BYTES]);
    static BUF: ConstStaticCell<[u8; UDP_ECHO_BYTES]> = ConstStaticCell::new([0; UDP_ECHO_BYTES]);
    let mut socket = udp_socket(stack, META.take(), PAYLOAD.take());
    socket.bind(UDP_ECHO_PORT).expect("udp echo port");
    let mut machine = DatagramEchoServer::new(BUF.take());
    let run = run_datagram(
        &mut Udp(&mut socket),
        &mut machine,
        &EmbassyTimer,
        &mut |m| {
            while let Some(event) = m.poll_event() {
                if let ServerEvent::Received { from, len, .. } = event {
                    info!("udp echo: {=usize} bytes from {}", len, from);
                }
            }
        },
    )
    .await;
    match run {
        Ok(()) => info!("udp echo: done"),
        Err(e) => warn!("udp echo: {}", e),
    }
    park().await
}

/// The chapter's multicast receiver: never finishes.
#[embassy_executor::task]
async fn multicast_receiver(stack: Stack<'static>) -> ! {
    static META: ConstStaticCell<[PacketMetadata; 4]> =
        ConstStaticCell::new([PacketMetadata::EMPTY; 4]);
    static PAYLOAD: ConstStaticCell<[u8; 2 * MCAST_BYTES]> =
        ConstStaticCell::new([0; 2 * MCAST_BYTES]);
    static BUF: ConstStaticCell<[u8; MCAST_BYTES]> = ConstStaticCell::new([0; MCAST_BYTES]);
    let mut socket = udp_socket(stack, META.take(), PAYLOAD.take());
    socket.bind(GROUP_PORT).expect("group port");
    let mut machine = MulticastReceiver::new(BUF.take());
    let run = run_datagram(
        &mut Udp(&mut socket),
        &mut machine,
        &EmbassyTimer,
        &mut |m| {
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
        },
    )
    .await;
    match run {
        Ok(()) => info!("multicast: done"),
        Err(e) => warn!("multicast: {}", e),
    }
    park().await
}

/// A UDP socket on `stack`: the first half of `meta` and `payload` receives, the second sends.
pub fn udp_socket(
    stack: Stack<'static>,
    meta: &'static mut [PacketMetadata],
    payload: &'static mut [u8],
) -> UdpSocket<'static> {
    let (rx_meta, tx_meta) = meta.split_at_mut(meta.len() / 2);
    let (rx, tx) = payload.split_at_mut(payload.len() / 2);
    UdpSocket::new(stack, rx_meta, rx, tx_meta, tx)
}

/// A task whose service ended (it failed, logged) waits forever.
async fn park() -> ! {
    loop {
        embassy_time::Timer::after_secs(3_600).await;
    }
}

/// Built with `-C panic=immediate-abort` (`.cargo/config.toml`), a panic never gets here: it
/// is a `udf` instruction, which lands in `HardFault`. Kept for builds without that flag.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    match info.location() {
        Some(at) => defmt::error!("panic at {=str}:{=u32}", at.file(), at.line()),
        None => defmt::error!("panic"),
    }
    semihosting::process::exit(101)
}

/// A panic (a `udf`, see `panic`) or a fault: logs where, and ends QEMU with status 101.
#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    defmt::error!(
        "hard fault (a panic is a udf) at pc {=u32:#010x}, lr {=u32:#010x}",
        frame.pc(),
        frame.lr()
    );
    semihosting::process::exit(101)
}
