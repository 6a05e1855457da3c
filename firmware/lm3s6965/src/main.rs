//! portsock on QEMU's `lm3s6965evb`: a Cortex-M3 with the Stellaris Ethernet MAC.
//!
//! The board support is in [`enet`] (the MAC as a smoltcp device), [`clock`] (PLL and a
//! SysTick millisecond clock), [`stack`] (peak stack by painting) and [`control`] (the test
//! harness's UDP port). This `main` is a temporary proof of the driver: a smoltcp interface
//! that answers ping and echoes UDP datagrams on port 10000; the core's echo, multicast and
//! record machines over portsock-smoltcp's `Stack` replace the echo socket.
//!
//! Logging is defmt over semihosting: raw frames on QEMU's stdout, decoded on the host with
//! `defmt-print -e <this ELF>` (`scripts/firmware-test` does it).
#![no_std]
#![no_main]

mod clock;
mod control;
mod enet;
mod stack;

use core::net::Ipv4Addr;
use core::sync::atomic::{AtomicBool, Ordering};

use defmt::{info, warn};
use defmt_semihosting as _;
use smoltcp::iface::{Config, Interface, SocketSet, SocketStorage};
use smoltcp::socket::udp;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr};

/// The firmware's IPv4 address, from `PORTSOCK_FW_IP` at build time (`.cargo/config.toml`).
const IP: &str = env!("PORTSOCK_FW_IP");
const PREFIX_LEN: u8 = 24;
/// The chapter's echo port.
const ECHO_PORT: u16 = 10_000;
const SOCKETS: usize = 4;
const UDP_PACKETS: usize = 4;
const UDP_BYTES: usize = 1_536;

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

defmt::timestamp!("{=u64:ms}", clock::now_ms());

#[cortex_m_rt::entry]
fn main() -> ! {
    stack::paint();
    let core = cortex_m::Peripherals::take().expect("core peripherals taken once");
    let locked = clock::init(core.SYST);
    if !locked {
        warn!("PLL did not lock; the millisecond clock is wrong");
    }

    let rx = take_static!([u8; enet::FRAME_MAX] = [0; enet::FRAME_MAX]);
    let tx = take_static!([u8; enet::FRAME_MAX] = [0; enet::FRAME_MAX]);
    let mut device = enet::Enet::new(rx, tx);
    let mac = EthernetAddress(device.mac());
    let ip: Ipv4Addr = IP.parse().expect("PORTSOCK_FW_IP is an IPv4 address");

    let mut config = Config::new(HardwareAddress::Ethernet(mac));
    config.random_seed = u64::from(u32::from_be_bytes(mac.0[2..].try_into().unwrap_or([1; 4])));
    let mut iface = Interface::new(config, &mut device, clock::smoltcp_now());
    iface.update_ip_addrs(|addrs| {
        addrs
            .push(IpCidr::new(ip.into(), PREFIX_LEN))
            .expect("room for one address");
    });

    let storage = take_static!([SocketStorage<'static>; SOCKETS] = [SocketStorage::EMPTY; SOCKETS]);
    let mut sockets = SocketSet::new(&mut storage[..]);
    let echo = sockets.add(udp_socket(
        take_static!([udp::PacketMetadata; UDP_PACKETS] = [udp::PacketMetadata::EMPTY; UDP_PACKETS]),
        take_static!([u8; UDP_BYTES] = [0; UDP_BYTES]),
        take_static!([udp::PacketMetadata; UDP_PACKETS] = [udp::PacketMetadata::EMPTY; UDP_PACKETS]),
        take_static!([u8; UDP_BYTES] = [0; UDP_BYTES]),
    ));
    sockets
        .get_mut::<udp::Socket>(echo)
        .bind(ECHO_PORT)
        .expect("echo port is free");
    let control = sockets.add(udp_socket(
        take_static!([udp::PacketMetadata; 2] = [udp::PacketMetadata::EMPTY; 2]),
        take_static!([u8; 128] = [0; 128]),
        take_static!([udp::PacketMetadata; 2] = [udp::PacketMetadata::EMPTY; 2]),
        take_static!([u8; 128] = [0; 128]),
    ));
    sockets
        .get_mut::<udp::Socket>(control)
        .bind(control::PORT)
        .expect("control port is free");

    info!(
        "portsock-fw up: ip {}/{} mac {=[u8]:02x} sysclk {=u32} Hz, udp echo on {=u16}, control on {=u16}",
        ip, PREFIX_LEN, mac.0, clock::SYSCLK_HZ, ECHO_PORT, control::PORT
    );

    let mut buf = [0u8; UDP_BYTES];
    let mut exit_at = None;
    loop {
        let now = clock::smoltcp_now();
        let changed = iface.poll(now, &mut device, &mut sockets);

        let socket = sockets.get_mut::<udp::Socket>(echo);
        while let Ok((len, meta)) = socket.recv_slice(&mut buf) {
            info!("udp echo: {=usize} bytes from {}", len, meta.endpoint);
            if socket.send_slice(&buf[..len], meta.endpoint).is_err() {
                warn!("udp echo: no room to answer");
            }
        }

        let socket = sockets.get_mut::<udp::Socket>(control);
        if let control::Action::Exit = control::serve(socket, device.stats()) {
            exit_at = Some(clock::now_ms() + control::EXIT_GRACE_MS);
        }
        if exit_at.is_some_and(|at| clock::now_ms() >= at) {
            control::exit(device.stats());
        }

        if changed == smoltcp::iface::PollResult::None {
            // Poll mode: the MAC's interrupt is masked, so SysTick (1 ms) wakes us.
            cortex_m::asm::wfi();
        }
    }
}

fn udp_socket(
    rx_meta: &'static mut [udp::PacketMetadata],
    rx: &'static mut [u8],
    tx_meta: &'static mut [udp::PacketMetadata],
    tx: &'static mut [u8],
) -> udp::Socket<'static> {
    udp::Socket::new(
        udp::PacketBuffer::new(rx_meta, rx),
        udp::PacketBuffer::new(tx_meta, tx),
    )
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    semihosting::process::exit(101)
}
