//! `--backend embassy`: the network commands on portsock-embassy's sockets, on an embassy-net
//! 0.9 stack over a TAP device. The protocol code is the core's machines, run by the core's
//! async drivers ([`portsock_core::asynch::drive`]); this module builds the stack from the
//! same options as `--backend smoltcp` ([`stack`]) and runs a command's future beside the
//! stack's runner ([`EmbassyNet::block_on`]).
//!
//! The TAP driver is embassy-net's own (embassy-net-tuntap), behind a [`pcap`] capture for
//! `--pcap`. It waits for frames on async-io's reactor, so the command runs under
//! `async_io::block_on`; time is embassy-time's host driver, which
//! [`EmbassyTimer`](portsock_embassy::EmbassyTimer) reads.
//!
//! ```ignore
//! let net = embassy::stack(&args.backend)?;
//! let stack = net.stack();
//! net.block_on(async move {
//!     // portsock-embassy's sockets on `stack`, the core's machines over them
//! })?;
//! ```

pub(crate) mod dgram;
mod pcap;
pub(crate) mod stream;

use std::cell::RefCell;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use embassy_net::{
    Config, ConfigV4, ConfigV6, Ipv4Cidr, Ipv6Cidr, Runner, Stack, StackResources, StaticConfigV4,
    StaticConfigV6,
};
use embassy_net_tuntap::TunTapDevice;
use portsock_core::asynch::select::{Either, first};
use portsock_embassy::{Family, TcpResources};

use super::CliError;
use super::net::{BackendArg, HostPort};

/// The device under the stack: the TAP, with its frames captured for `--pcap`.
type Device = pcap::Capture<TunTapDevice>;

/// The stack's socket entries: TCP pools (a listener's backlog, a client's connector), UDP
/// sockets and the DNS socket together.
const SOCKETS: usize = 32;
/// Each TCP socket's receive and transmit buffer (embassy's pools are sized at compile time:
/// `--tcp-buffer` is the smoltcp backend's).
pub(crate) const TCP_BUFFER: usize = 16 * 1024;
/// How long a command waits at exit for its connections to finish closing (the peer's
/// acknowledgement of the last bytes and of the FIN): nothing is sent once the process exits.
pub(crate) const LINGER: embassy_time::Duration = embassy_time::Duration::from_secs(5);
/// The options of `--backend smoltcp` that the embassy backend does not have.
const SMOLTCP_ONLY: &str = "applies to --backend smoltcp only (the embassy backend has no fault injector, and its socket buffers are fixed at 16 KiB)";

/// A TCP pool of `N` sockets with the backend's buffers.
pub(crate) type Tcp<const N: usize> = TcpResources<N, TCP_BUFFER, TCP_BUFFER>;

/// A pool's buffers, for the life of the process (the sockets borrow them for `'static`,
/// as the stack's own resources).
pub(crate) fn tcp_resources<const N: usize>() -> &'static mut Tcp<N> {
    Box::leak(Box::new(Tcp::<N>::new()))
}

/// An embassy-net stack on a TAP device, and its runner (which moves the frames and the
/// timers: it runs inside [`block_on`](Self::block_on)).
pub(crate) struct EmbassyNet {
    stack: Stack<'static>,
    runner: RefCell<Runner<'static, Device>>,
}

impl EmbassyNet {
    /// The stack, to make sockets on (a `Stack` is a copyable handle).
    pub(crate) fn stack(&self) -> Stack<'static> {
        self.stack
    }

    /// Runs `f` to completion while the stack's runner runs beside it, on this thread, once
    /// the interface is up and configured (at once with static addresses on a TAP, whose
    /// link is always up). The runner is paused between calls: frames wait in the TAP's
    /// queue meanwhile. Not reentrant: `f` must not call `block_on` again (that panics).
    pub(crate) fn block_on<F: Future>(&self, f: F) -> F::Output {
        let mut runner = self.runner.borrow_mut();
        let stack = self.stack;
        async_io::block_on(async move {
            let command = async move {
                stack.wait_config_up().await;
                f.await
            };
            match first(runner.run(), command).await {
                Either::First(never) => never,
                Either::Second(out) => out,
            }
        })
    }

    /// Where a server binds: an address of the interface, or any address for an empty host
    /// and for `localhost` (the stack has no loopback; the TAP is its only link).
    pub(crate) fn bind_addr(&self, hp: &HostPort, option: &str) -> Result<SocketAddr, CliError> {
        if hp.host.is_empty() || hp.host == "localhost" {
            let any = if self.stack.config_v4().is_some() {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            } else {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            };
            return Ok(SocketAddr::new(any, hp.port));
        }
        hp.host.parse::<IpAddr>().map_or_else(
            |_| {
                Err(CliError::new(
                    format_args!("{option} {:?}", hp.host),
                    "the embassy backend binds an address of --ip (or :PORT for any)",
                ))
            },
            |ip| Ok(SocketAddr::new(ip, hp.port)),
        )
    }

    /// Where a client connects: an IP literal, or a name resolved by the stack's DNS (--dns),
    /// as an A record when the stack has an IPv4 address (else, or failing that, AAAA).
    pub(crate) fn peer_addr(&self, hp: &HostPort, option: &str) -> Result<SocketAddr, CliError> {
        if hp.host == "localhost" {
            return Err(CliError::new(
                format_args!("{option} localhost"),
                "the embassy stack has no loopback: give the peer's address on the TAP's network (e.g. 192.168.69.100:10000)",
            ));
        }
        if let Ok(ip) = hp.host.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, hp.port));
        }
        let stack = self.stack;
        let families: &[Family] = if stack.config_v4().is_some() {
            &[Family::V4, Family::V6]
        } else {
            &[Family::V6]
        };
        let found = self.block_on(async {
            let mut last = None;
            for family in families {
                match portsock_embassy::resolve(stack, &hp.host, *family).await {
                    Ok(ip) => return Ok(ip),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.expect("at least one family"))
        });
        found.map(|ip| SocketAddr::new(ip, hp.port)).map_err(|e| {
            CliError::new(
                format_args!("{option} {:?}", hp.host),
                format_args!("{e} (the embassy backend resolves names with --dns SERVER)"),
            )
        })
    }
}

/// Builds the stack `args` describe: the TAP device `--tap`, at most one `--ip` per family,
/// `--gateway` and `--dns` per family, `--mac`, `--pcap`.
///
/// # Errors
///
/// A missing --tap or --ip, a malformed option, an option of the smoltcp backend only, a TAP
/// device that cannot be opened.
pub(crate) fn stack(args: &BackendArg) -> Result<EmbassyNet, CliError> {
    for (option, given) in [
        ("--drop-chance", args.drop_chance.is_some()),
        ("--corrupt-chance", args.corrupt_chance.is_some()),
        ("--rate-limit", args.rate_limit.is_some()),
        ("--tcp-buffer", args.tcp_buffer.is_some()),
    ] {
        if given {
            return Err(CliError::new(option, SMOLTCP_ONLY));
        }
    }
    let tap = args.tap.as_deref().ok_or_else(|| {
        CliError::new(
            "--backend embassy",
            "needs --tap TAP (an existing TAP device) and --ip ADDR/PREFIX",
        )
    })?;
    let config = config(args)?;
    let mac = match &args.mac {
        None => [0x02, 0, 0, 0, 0, 0x01],
        Some(text) => super::parse::mac(text).ok_or_else(|| {
            CliError::new(format_args!("--mac {text:?}"), super::parse::MAC_EXPECTED)
        })?,
    };
    if mac[0] & 1 == 1 {
        return Err(CliError::new(
            format_args!("--mac {}", args.mac.as_deref().unwrap_or_default()),
            "a multicast address cannot be an interface's (the first octet must be even)",
        ));
    }
    let mut device = open_tap(tap).map_err(|e| CliError::new(format_args!("--tap {tap}"), e))?;
    device.set_hardware_address(mac);
    let device =
        pcap::Capture::new(device, args.pcap.as_deref()).map_err(|e| CliError::new("--pcap", e))?;
    // A different seed per run, so TCP's initial sequence numbers differ between runs.
    let seed = u64::from(std::process::id())
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    let resources = Box::leak(Box::new(StackResources::<SOCKETS>::new()));
    let (stack, runner) = embassy_net::new(device, config, resources, seed);
    Ok(EmbassyNet {
        stack,
        runner: RefCell::new(runner),
    })
}

/// The stack's static configuration from --ip, --gateway and --dns.
fn config(args: &BackendArg) -> Result<Config, CliError> {
    if args.ip.is_empty() {
        return Err(CliError::new(
            "--backend embassy",
            "needs --ip ADDR/PREFIX, the interface's address (e.g. 192.168.69.1/24)",
        ));
    }
    let mut v4: Option<StaticConfigV4> = None;
    let mut v6: Option<StaticConfigV6> = None;
    for text in &args.ip {
        let option = format!("--ip {text:?}");
        let (ip, prefix) = cidr(text).ok_or_else(|| {
            CliError::new(
                &option,
                "expected ADDR/PREFIX, e.g. 192.168.69.1/24 or fdaa::1/64",
            )
        })?;
        let twice =
            "the embassy backend takes one address per family (embassy-net's static configuration)";
        match ip {
            IpAddr::V4(a) if prefix <= 32 => {
                if v4.is_some() {
                    return Err(CliError::new(&option, twice));
                }
                v4 = Some(StaticConfigV4 {
                    address: Ipv4Cidr::new(a, prefix),
                    gateway: None,
                    dns_servers: heapless::Vec::new(),
                });
            }
            IpAddr::V6(a) if prefix <= 128 => {
                if v6.is_some() {
                    return Err(CliError::new(&option, twice));
                }
                v6 = Some(StaticConfigV6 {
                    address: Ipv6Cidr::new(a, prefix),
                    gateway: None,
                    dns_servers: heapless::Vec::new(),
                });
            }
            _ => return Err(CliError::new(&option, "prefix length out of range")),
        }
    }
    let no_family = |option: &str, text: &str| {
        CliError::new(
            format_args!("{option} {text}"),
            "no --ip of that family to reach it from",
        )
    };
    for text in &args.gateway {
        let ip: IpAddr = text.parse().map_err(|_| {
            CliError::new(format_args!("--gateway {text:?}"), "expected an IP address")
        })?;
        match (ip, &mut v4, &mut v6) {
            (IpAddr::V4(a), Some(c), _) => c.gateway = Some(a),
            (IpAddr::V6(a), _, Some(c)) => c.gateway = Some(a),
            _ => return Err(no_family("--gateway", text)),
        }
    }
    for text in &args.dns {
        let ip: IpAddr = text
            .parse()
            .map_err(|_| CliError::new(format_args!("--dns {text:?}"), "expected an IP address"))?;
        let full = || CliError::new(format_args!("--dns {text}"), "at most 3 servers per family");
        match (ip, &mut v4, &mut v6) {
            (IpAddr::V4(a), Some(c), _) => c.dns_servers.push(a).map_err(|_| full())?,
            (IpAddr::V6(a), _, Some(c)) => c.dns_servers.push(a).map_err(|_| full())?,
            _ => return Err(no_family("--dns", text)),
        }
    }
    // embassy-net's Config is non-exhaustive: fill in a default one.
    let mut config = Config::default();
    config.ipv4 = v4.map_or(ConfigV4::None, ConfigV4::Static);
    config.ipv6 = v6.map_or(ConfigV6::None, ConfigV6::Static);
    Ok(config)
}

/// `192.168.69.1/24`, `fdaa::1/64`: the address and the prefix length (not yet checked
/// against the family).
fn cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (ip, prefix) = text.split_once('/')?;
    if !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((ip.parse().ok()?, prefix.parse().ok()?))
}

/// Opens the existing TAP device `name`. Opening a name that does not exist would create a
/// new device (as root): refuse instead. `ip netns exec` mounts the namespace's own /sys, so
/// this sees the namespace's devices.
fn open_tap(name: &str) -> std::io::Result<TunTapDevice> {
    let sys = Path::new("/sys/class/net").join(name);
    if name.is_empty() || name.contains('/') || !sys.exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "no network device {name:?} in this network namespace (create it with \
                 `ip tuntap add dev {name} mode tap`)"
            ),
        ));
    }
    TunTapDevice::new(name).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "cannot open TAP device {name:?}: {e} (is it a TAP device of this network \
                 namespace, and may this user open it?)"
            ),
        )
    })
}
