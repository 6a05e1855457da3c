//! portsock on QEMU's `lm3s6965evb`, async: the blocking image's services as embassy tasks.
//!
//! The same board and the same register code as `firmware/lm3s6965` (the board crate), run
//! differently: embassy-executor's raw executor in thread mode (idle in `wfi`, [`executor`]), an embassy-time
//! driver on SysTick ([`time`]), the Ethernet MAC as an embassy-net driver woken by its
//! interrupt ([`eth`]), and embassy-net's stack on it. Every service is a task that runs one of
//! the core's machines with [`run_stream`] or [`run_datagram`] over portsock-embassy's
//! sockets; nothing the firmware does on the wire is its own.
//!
//! | port | transport | machine | tasks |
//! | --- | --- | --- | --- |
//! | 10000 | TCP | [`EchoSession`] | [`ECHO_TASKS`]: that many clients served at once |
//! | 10001 | TCP | [`RecordReceiver`] of `'I 2s f'`, logs the values | 1 |
//! | 10002 | UDP | [`DatagramEchoServer`] | 1 |
//! | 10000 | UDP, group 224.3.29.71 | [`MulticastReceiver`] (acks `b'ack'`) | 1 |
//! | 10099 | UDP | `control` (feature `control`, test builds only) | 1 |
//!
//! The sockets are portsock-embassy's. The TCP echo tasks share one [`TcpListener`] of
//! [`ECHO_BACKLOG`] sockets: each task accepts, serves the connection, drops it (the pool
//! closes it and listens again) and accepts again. Every socket of the pool listens from
//! boot, so a burst of clients is accepted (their first bytes buffered) whether or not the
//! tasks are at `accept` yet, and the spare socket takes a fifth client while four are served. A client silent for the idle timeout is dropped by the
//! socket's own timeout (which also bounds a close that the peer never finishes).
//!
//! Logging is defmt over semihosting, as in the blocking image.
#![no_std]
#![no_main]

#[cfg(feature = "control")]
mod control;
mod eth;
mod executor;
mod time;

use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use defmt::{debug, info, warn};
use defmt_semihosting as _;
use embassy_executor::Spawner;
use embassy_net::{Config, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use embassy_time::Duration;
use portsock_core::asynch::drive::{run_datagram, run_stream};
use portsock_core::asynch::transport::{Interface, Listener, MembershipRequest, Multicast};
use portsock_core::echo::datagram::{DatagramEchoServer, ServerEvent};
use portsock_core::echo::stream::{EchoSession, SessionEvent};
use portsock_core::multicast::{self, MulticastReceiver};
use portsock_core::record::{self, RecordReceiver};
use portsock_core::wire::structfmt::Format;
use portsock_embassy::{EmbassyTimer, TcpListener, TcpResources, UdpResources, UdpSocket};
use portsock_lm3s6965_board::enet::FRAME_MAX;
#[cfg(feature = "control")]
use portsock_lm3s6965_board::stack;
use portsock_lm3s6965_board::{entropy, sysctl};
use static_cell::{ConstStaticCell, StaticCell};

use crate::eth::Enet;
use crate::executor::Executor;

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
/// The echo listener's sockets: one per task and one more, so a fifth client is accepted
/// (and its first bytes buffered) while four are served, and waits for a task instead of
/// being refused. All listen from boot, so a burst is accepted before any task is back at
/// `accept`.
pub const ECHO_BACKLOG: usize = ECHO_TASKS + 1;
/// Each echo socket's buffers, each way (the window, so the throughput; the blocking image's
/// sockets have the same).
const ECHO_RX: usize = 512;
const ECHO_TX: usize = 512;
/// The echo session's buffer: at most this much is read before it is written back.
const ECHO_BUF: usize = 256;
/// The record listener: one connection at a time, as in the blocking image.
const RECORD_BACKLOG: usize = 1;
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

/// Sockets: the two listeners', UDP echo, multicast, control in test builds.
const SOCKETS: usize =
    ECHO_BACKLOG + RECORD_BACKLOG + 2 + if cfg!(feature = "control") { 1 } else { 0 };

type EchoListener = TcpListener<'static, ECHO_BACKLOG>;

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
    static RX: ConstStaticCell<[u8; FRAME_MAX]> = ConstStaticCell::new([0; FRAME_MAX]);
    static TX: ConstStaticCell<[u8; FRAME_MAX]> = ConstStaticCell::new([0; FRAME_MAX]);
    static DRIVER: StaticCell<Enet> = StaticCell::new();
    // Uninitialised until the stack takes it, and built in place: a `const` in `.bss`.
    static RESOURCES: ConstStaticCell<StackResources<SOCKETS>> =
        ConstStaticCell::new(StackResources::new());

    let driver = DRIVER.init(Enet::new(RX.take(), TX.take()));
    let mac = driver.mac();
    let ip: Ipv4Addr = IP.parse().expect("PORTSOCK_FW_IP is an IPv4 address");
    // TCP's initial sequence numbers come from this seed: see the board's `entropy`.
    let seed = entropy::Seed::gather(mac, pll_spins, time::now_ms).finish();
    let config = Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(ip, PREFIX_LEN),
        gateway: None,
        dns_servers: Default::default(),
    });
    let (stack, runner) = embassy_net::new(driver, config, RESOURCES.take(), seed);

    spawner.spawn(network(runner).expect("network task"));
    static ECHO_BUFFERS: ConstStaticCell<TcpResources<ECHO_BACKLOG, ECHO_RX, ECHO_TX>> =
        ConstStaticCell::new(TcpResources::new());
    static ECHO_LISTENER: StaticCell<EchoListener> = StaticCell::new();
    let listener =
        TcpListener::new(stack, any(TCP_ECHO_PORT), ECHO_BUFFERS.take()).expect("echo port");
    let listener: &'static EchoListener = ECHO_LISTENER.init(listener);
    for id in 0..ECHO_TASKS {
        spawner.spawn(tcp_echo(listener, id).expect("an echo task per slot"));
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
    info!(
        "test build: control port {=u16}; stack peak at boot {=usize} bytes",
        control::PORT,
        stack::peak()
    );
}

/// embassy-net's stack: moves frames between the driver and the sockets.
#[embassy_executor::task]
async fn network(mut runner: Runner<'static, &'static mut Enet>) -> ! {
    runner.run().await
}

/// Every address of the stack, `port`.
fn any(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
}

/// One of the [`ECHO_TASKS`] TCP echo servers: accept, echo until the client is done, drop
/// the stream (the pool closes it and listens again).
#[embassy_executor::task(pool_size = ECHO_TASKS)]
async fn tcp_echo(listener: &'static EchoListener, id: usize) -> ! {
    loop {
        let (mut stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                warn!("echo {=usize}: accept: {}", id, e);
                embassy_time::Timer::after_millis(10).await;
                continue;
            }
        };
        stream.socket().set_timeout(Some(ECHO_IDLE_TIMEOUT));
        info!("echo {=usize}: connection from {}", id, peer);
        let mut session = EchoSession::new([0u8; ECHO_BUF]).with_chunk(ECHO_BUF);
        let run = run_stream(&mut stream, &mut session, &mut |m| {
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
    }
}

/// Binary records: one record per connection, unpacked by the core's codec.
#[embassy_executor::task]
async fn tcp_records(stack: Stack<'static>) -> ! {
    static BUFFERS: ConstStaticCell<TcpResources<RECORD_BACKLOG, RECORD_RX, RECORD_TX>> =
        ConstStaticCell::new(TcpResources::new());
    let listener =
        TcpListener::new(stack, any(TCP_RECORD_PORT), BUFFERS.take()).expect("record port");
    let format = Format::parse(record::CHAPTER_FORMAT).expect("the chapter's format");
    loop {
        let (mut stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                warn!("records: accept: {}", e);
                embassy_time::Timer::after_millis(10).await;
                continue;
            }
        };
        stream.socket().set_timeout(Some(RECORD_IDLE_TIMEOUT));
        info!("records: connection from {}", peer);
        let mut receiver = RecordReceiver::new(format, [0u8; 16]).expect("16 bytes hold 'I 2s f'");
        let run = run_stream(&mut stream, &mut receiver, &mut |m| {
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
    }
}

/// UDP echo: never finishes.
#[embassy_executor::task]
async fn udp_echo(stack: Stack<'static>) -> ! {
    static BUFFERS: ConstStaticCell<UdpResources<UDP_ECHO_PACKETS, UDP_ECHO_BYTES>> =
        ConstStaticCell::new(UdpResources::new());
    static BUF: ConstStaticCell<[u8; UDP_ECHO_BYTES]> = ConstStaticCell::new([0; UDP_ECHO_BYTES]);
    let mut socket =
        UdpSocket::bind(stack, any(UDP_ECHO_PORT), BUFFERS.take()).expect("udp echo port");
    let mut machine = DatagramEchoServer::new(BUF.take());
    let run = run_datagram(&mut socket, &mut machine, &EmbassyTimer, &mut |m| {
        while let Some(event) = m.poll_event() {
            if let ServerEvent::Received { from, len, .. } = event {
                info!("udp echo: {=usize} bytes from {}", len, from);
            }
        }
    })
    .await;
    match run {
        Ok(()) => info!("udp echo: done"),
        Err(e) => warn!("udp echo: {}", e),
    }
    park().await
}

/// The chapter's multicast receiver: joins the group, never finishes.
#[embassy_executor::task]
async fn multicast_receiver(stack: Stack<'static>) -> ! {
    static BUFFERS: ConstStaticCell<UdpResources<2, MCAST_BYTES>> =
        ConstStaticCell::new(UdpResources::new());
    static BUF: ConstStaticCell<[u8; MCAST_BYTES]> = ConstStaticCell::new([0; MCAST_BYTES]);
    let mut socket = UdpSocket::bind(stack, any(GROUP_PORT), BUFFERS.take()).expect("group port");
    let request =
        MembershipRequest::new(IpAddr::V4(GROUP), Interface::Any).expect("a group address");
    if let Err(e) = socket.join(&request) {
        warn!("multicast: could not join {}: {}", GROUP, e);
    }
    let mut machine = MulticastReceiver::new(BUF.take());
    let run = run_datagram(&mut socket, &mut machine, &EmbassyTimer, &mut |m| {
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
    })
    .await;
    match run {
        Ok(()) => info!("multicast: done"),
        Err(e) => warn!("multicast: {}", e),
    }
    park().await
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
