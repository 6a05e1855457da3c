//! Host conveniences (feature `std`): the host's clock, TAP devices, fault injection and
//! packet capture, and sockets with allocated buffers.

use std::boxed::Box;
use std::format;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::vec;
use std::vec::Vec;

use smoltcp::phy::{Device, FaultInjector, Medium, PcapMode, PcapWriter, TunTapInterface};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::{Duration, Instant};

use crate::error::StackError;
use crate::platform::Platform;
use crate::stack::Stack;

/// The host's monotonic clock, with microsecond resolution (smoltcp's timers and TCP's RTT
/// estimate want better than milliseconds), waiting in `select(2)` on a device descriptor.
#[derive(Debug, Clone, Copy)]
pub struct StdPlatform {
    epoch: std::time::Instant,
    fd: Option<RawFd>,
}

impl StdPlatform {
    /// A clock starting now that waits on `fd` (a TAP device's descriptor) for frames, or,
    /// with `None`, just sleeps out the timeout (for the in-process `Loopback`, where frames
    /// only come from the stack itself).
    pub fn new(fd: Option<RawFd>) -> Self {
        Self {
            epoch: std::time::Instant::now(),
            fd,
        }
    }

    /// For a TAP device: waits on its descriptor.
    pub fn for_tap(tap: &TunTapInterface) -> Self {
        Self::new(Some(tap.as_raw_fd()))
    }
}

impl Platform for StdPlatform {
    fn now(&self) -> Instant {
        let micros = self.epoch.elapsed().as_micros();
        Instant::from_micros(i64::try_from(micros).unwrap_or(i64::MAX))
    }

    fn wait(&mut self, timeout: Option<Duration>) {
        match self.fd {
            // An error (EINTR) only ends the wait early, which is allowed.
            Some(fd) => {
                let _ = smoltcp::phy::wait(fd, timeout);
            }
            None => {
                let t = timeout.unwrap_or(Duration::from_millis(1));
                std::thread::sleep(std::time::Duration::from_micros(t.total_micros()));
            }
        }
    }
}

/// Opens the TAP device `name` (Ethernet medium). It must exist in this process's network
/// namespace (`ip tuntap add dev NAME mode tap`), and opening it needs `CAP_NET_ADMIN` unless
/// it was created with `user` set to this user.
///
/// # Errors
///
/// The system's error, with the device's name and what to check.
pub fn open_tap(name: &str) -> io::Result<TunTapInterface> {
    // Opening a name that does not exist would create a new device (as root): refuse instead.
    // `ip netns exec` mounts the namespace's own /sys, so this sees the right devices.
    let sys = Path::new("/sys/class/net").join(name);
    if name.is_empty() || name.contains('/') || !sys.exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "no network device {name:?} in this network namespace (create it with \
                 `ip tuntap add dev {name} mode tap`)"
            ),
        ));
    }
    TunTapInterface::new(name, Medium::Ethernet).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot open TAP device {name:?}: {e} (does it exist in this network namespace: \
                 `ip tuntap add dev {name} mode tap`, and may this user open it?)"
            ),
        )
    })
}

/// What to do to frames on their way in and out: smoltcp's [`FaultInjector`] and
/// [`PcapWriter`] wrapped around a device.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Chance, in percent, that a frame is dropped (each direction).
    pub drop_pct: u8,
    /// Chance, in percent, that a frame gets one random octet changed.
    pub corrupt_pct: u8,
    /// Seed of the fault injector's random numbers.
    pub seed: u32,
    /// At most this many frames per second in each direction (`None`: unlimited); frames over
    /// the rate are dropped, as a policer does, counted in 100 ms buckets.
    pub rate_limit: Option<u64>,
}

/// The device chain the CLI and the tests use: a device, then fault injection, then an
/// optional pcap capture of what really crossed the wire (after faults were applied on the
/// way out, before they are applied on the way in).
pub type Wrapped<D> = FaultInjector<PcapWriter<D, Box<dyn io::Write>>>;

/// Wraps `device` in a capture (to `pcap`, if given) and a fault injector.
///
/// # Errors
///
/// Creating the capture file.
pub fn wrap<D: Device>(device: D, faults: &Faults, pcap: Option<&Path>) -> io::Result<Wrapped<D>> {
    let sink: Box<dyn io::Write> = match pcap {
        Some(path) => Box::new(io::BufWriter::new(File::create(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create pcap file {}: {e}", path.display()),
            )
        })?)),
        None => Box::new(io::sink()),
    };
    let capture = PcapWriter::new(device, sink, PcapMode::Both);
    let mut injector = FaultInjector::new(capture, faults.seed);
    injector.set_drop_chance(faults.drop_pct);
    injector.set_corrupt_chance(faults.corrupt_pct);
    if let Some(pps) = faults.rate_limit {
        let per_bucket = pps.div_ceil(10).max(1);
        injector.set_bucket_interval(smoltcp::time::Duration::from_millis(100));
        injector.set_max_tx_rate(per_bucket);
        injector.set_max_rx_rate(per_bucket);
    }
    Ok(injector)
}

impl<D: Device, P: Platform> Stack<'_, D, P> {
    /// Adds `count` TCP sockets with allocated buffers of `rx` and `tx` bytes.
    ///
    /// # Errors
    ///
    /// As [`Stack::add_tcp_socket`].
    pub fn add_tcp_sockets(&self, count: usize, rx: usize, tx: usize) -> Result<(), StackError> {
        for _ in 0..count {
            self.add_tcp_socket(tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; rx]),
                tcp::SocketBuffer::new(vec![0; tx]),
            ))?;
        }
        Ok(())
    }

    /// Adds `count` UDP sockets, each with room for `packets` datagrams of up to `payload`
    /// bytes in each direction.
    ///
    /// # Errors
    ///
    /// As [`Stack::add_tcp_socket`].
    pub fn add_udp_sockets(
        &self,
        count: usize,
        packets: usize,
        payload: usize,
    ) -> Result<(), StackError> {
        for _ in 0..count {
            let buffer = || {
                udp::PacketBuffer::new(
                    vec![udp::PacketMetadata::EMPTY; packets],
                    vec![0; payload * packets],
                )
            };
            self.add_udp_socket(udp::Socket::new(buffer(), buffer()))?;
        }
        Ok(())
    }

    /// Adds the DNS socket with room for `queries` lookups at once.
    ///
    /// # Errors
    ///
    /// As [`Stack::add_dns_socket`].
    pub fn add_dns(&self, queries: usize) -> Result<(), StackError> {
        let mut slots: Vec<Option<smoltcp::socket::dns::DnsQuery>> = Vec::with_capacity(queries);
        slots.resize_with(queries, || None);
        self.add_dns_socket(slots)
    }
}
