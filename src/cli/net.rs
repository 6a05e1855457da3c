//! What the network commands share: addresses as the chapter spells them (`localhost:10000`),
//! Python's way of printing them, the transcript the chapter's lines go to, and the rule that
//! a command checks all its input before it prints anything.
//!
//! Every network command sets itself up first (parse, resolve, bind or connect) and only then
//! prints the chapter's first line, so a bad argument, an unresolvable host or a refused
//! connection gives one `error:` line and an empty stdout, like every other portsock command.

use std::fmt;
use std::io::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::Args;
use portsock_core::echo::CHAPTER_PORT;
use portsock_core::transport::Interface;
pub(crate) use portsock_core::wire::repr::{PyAddr, Thousands};
use portsock_std::resolve;
use portsock_std::unix::UnixAddr;

use super::parse::{self, parse_port};
use super::{Backend, CliError, jsonl};

/// The chapter's `(host, port)`, as `--addr` spells it.
pub(crate) const DEFAULT_ADDR: &str = "localhost:10000";
/// The chapter's Unix socket path.
pub(crate) const UDS_PATH: &str = "./uds_socket";

/// The `--help` heading of [`BackendArg`]'s options.
pub(crate) const BACKEND_HEADING: &str =
    "Backend options (userspace stacks: --backend smoltcp, embassy)";

/// `--backend` and the smoltcp backend's interface options, shared by the network commands.
/// `--help` lists them under a heading of their own, after the command's options.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = BACKEND_HEADING)]
pub(crate) struct BackendArg {
    /// Which transport runs the protocol: std (OS sockets), smoltcp or embassy (userspace
    /// TCP/IP stacks on a TAP device: they need --tap and --ip).
    #[arg(long, value_enum, default_value_t = Backend::Std)]
    pub(crate) backend: Backend,
    /// smoltcp, embassy: the TAP device to run on (it must exist: `ip tuntap add dev TAP mode tap`).
    #[arg(long, value_name = "TAP")]
    pub(crate) tap: Option<String>,
    /// smoltcp, embassy: the interface's address with its prefix; give it twice for IPv4 and
    /// IPv6 (embassy: one per family).
    #[arg(long, value_name = "ADDR/PREFIX")]
    pub(crate) ip: Vec<String>,
    /// smoltcp, embassy: the default gateway (one per family).
    #[arg(long, value_name = "ADDR")]
    pub(crate) gateway: Vec<String>,
    /// smoltcp, embassy: the interface's Ethernet address [default: 02:00:00:00:00:01].
    #[arg(long, value_name = "MAC")]
    pub(crate) mac: Option<String>,
    /// smoltcp, embassy: write every frame sent and received to this pcap file.
    #[arg(long, value_name = "FILE")]
    pub(crate) pcap: Option<std::path::PathBuf>,
    /// smoltcp: drop this percentage of frames (0-100), each direction (TCP sends them again;
    /// a UDP datagram in a dropped frame is lost, as UDP may lose any).
    #[arg(long, value_name = "PERCENT")]
    pub(crate) drop_chance: Option<u8>,
    /// smoltcp: corrupt one octet of this percentage of frames (0-100).
    #[arg(long, value_name = "PERCENT")]
    pub(crate) corrupt_chance: Option<u8>,
    /// smoltcp: at most this many frames per second each way; more are dropped.
    #[arg(long, value_name = "PPS")]
    pub(crate) rate_limit: Option<u64>,
    /// smoltcp, embassy: a DNS server for name lookups (up to 3; embassy: 3 per family).
    #[arg(long, value_name = "ADDR")]
    pub(crate) dns: Vec<String>,
    /// smoltcp: each TCP socket's receive and transmit buffer, in bytes [default: 65536].
    #[arg(long, value_name = "BYTES")]
    pub(crate) tcp_buffer: Option<usize>,
}

impl BackendArg {
    /// For the std and smoltcp backends: refuses the userspace stacks' options on std.
    /// Returns whether the command runs on smoltcp. `--backend embassy` is refused here:
    /// a command that runs on embassy asks [`on_embassy`](Self::on_embassy) first.
    pub(crate) fn check(&self) -> Result<bool, CliError> {
        match self.backend {
            Backend::Smoltcp if cfg!(feature = "smoltcp") => return Ok(true),
            Backend::Smoltcp => {
                return Err(CliError::new(
                    "--backend smoltcp",
                    "this portsock was built without the smoltcp feature",
                ));
            }
            Backend::Embassy => {
                return Err(CliError::new(
                    "--backend embassy",
                    "this command does not run on the embassy backend (yet): use std or smoltcp",
                ));
            }
            Backend::Std => {}
        }
        let stack_only = [
            ("--tap", self.tap.is_some()),
            ("--ip", !self.ip.is_empty()),
            ("--gateway", !self.gateway.is_empty()),
            ("--mac", self.mac.is_some()),
            ("--pcap", self.pcap.is_some()),
            ("--dns", !self.dns.is_empty()),
        ];
        if let Some((option, _)) = stack_only.iter().find(|(_, given)| *given) {
            return Err(CliError::new(
                option,
                "applies to --backend smoltcp or embassy only (the std backend uses the host's interfaces)",
            ));
        }
        let smoltcp_only = [
            ("--drop-chance", self.drop_chance.is_some()),
            ("--corrupt-chance", self.corrupt_chance.is_some()),
            ("--tcp-buffer", self.tcp_buffer.is_some()),
            ("--rate-limit", self.rate_limit.is_some()),
        ];
        match smoltcp_only.iter().find(|(_, given)| *given) {
            Some((option, _)) => Err(CliError::new(
                option,
                "applies to --backend smoltcp only (the std backend uses the host's interfaces)",
            )),
            None => Ok(false),
        }
    }

    /// Whether the command runs on the embassy backend (`--backend embassy`, in a portsock
    /// built with the `embassy` feature); the embassy stack's builder checks its options.
    pub(crate) fn on_embassy(&self) -> Result<bool, CliError> {
        if self.backend != Backend::Embassy {
            return Ok(false);
        }
        if cfg!(feature = "embassy") {
            Ok(true)
        } else {
            Err(CliError::new(
                "--backend embassy",
                "this portsock was built without the embassy feature",
            ))
        }
    }
}

/// A `HOST:PORT` argument, split but not resolved. `[::1]:10000` for an IPv6 literal; an empty
/// host (`:10000`) is the chapter's `''`, any address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPort {
    /// The host name or literal, without brackets.
    pub(crate) host: String,
    /// The port.
    pub(crate) port: u16,
}

impl HostPort {
    /// Parses `text` (the value of option `option`).
    pub(crate) fn parse(option: &str, text: &str) -> Result<Self, CliError> {
        let (host, port) = parse::host_port(text)
            .map_err(|what| CliError::new(format_args!("{option} {text:?}"), what))?;
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }

    /// The address a server binds and a chapter client (an `AF_INET` socket) connects to: `''`
    /// is any IPv4 address, a name its first IPv4 address ([`resolve::bind_addr`]).
    pub(crate) fn resolve(&self, option: &str) -> Result<SocketAddr, CliError> {
        resolve::bind_addr(&self.host, self.port).map_err(|e| CliError::new(option, e))
    }

    /// The host as the chapter prints it: `localhost`, `127.0.0.1`, `''` for any.
    pub(crate) fn host_text(&self) -> &str {
        if self.host.is_empty() {
            "''"
        } else {
            &self.host
        }
    }
}

/// The chapter's port, for commands that take `--port`.
pub(crate) fn port_arg(text: Option<&str>) -> Result<u16, CliError> {
    match text {
        None => Ok(CHAPTER_PORT),
        Some(t) => parse_port(t).map_err(|what| CliError::new("--port", what)),
    }
}

/// A multicast `--iface`: an IPv4 address (`127.0.0.1`), an interface index (`3`) or a name
/// (`eth0`, looked up in this network namespace).
pub(crate) fn parse_interface(text: &str) -> Result<Interface, CliError> {
    if let Ok(addr) = text.parse::<Ipv4Addr>() {
        return Ok(Interface::Addr(addr));
    }
    if let Ok(index) = text.parse::<u32>() {
        if index == 0 {
            // The kernel reads index 0 as "any interface", which would join wherever the
            // routing table says instead of where the user asked.
            return Err(CliError::new(
                format_args!("--iface {text:?}"),
                "interface indexes start at 1 (0 means any interface): give a name, an index from `ip link` or an IPv4 address",
            ));
        }
        return Ok(Interface::Index(index));
    }
    if text.parse::<IpAddr>().is_ok() {
        return Err(CliError::new(
            format_args!("--iface {text:?}"),
            "an IPv6 interface is named by its name or index, not an address",
        ));
    }
    interface_index(text)
        .map(Interface::Index)
        .map_err(|e| CliError::new(format_args!("--iface {text:?}"), e))
}

/// The index of the interface named `name` in this process's network namespace.
///
/// `if_nametoindex(3)` without `unsafe`: `/proc/net/if_inet6` (per namespace) lists every
/// interface that has an IPv6 address with its index; `/sys/class/net/NAME/ifindex` covers the
/// others (sysfs shows the namespace it was mounted in, which `ip netns exec` remounts).
fn interface_index(name: &str) -> io::Result<u32> {
    if let Ok(table) = std::fs::read_to_string("/proc/net/if_inet6") {
        // Each line: address, index (hex), prefix length, scope, flags, name.
        let found = table.lines().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.get(5) == Some(&name))
                .then(|| fields.get(1).and_then(|i| u32::from_str_radix(i, 16).ok()))
                .flatten()
        });
        if let Some(index) = found {
            return Ok(index);
        }
    }
    let valid = !name.is_empty() && !name.contains('/') && name != "." && name != "..";
    let text = valid
        .then(|| std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex")).ok())
        .flatten();
    text.and_then(|t| t.trim().parse().ok()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "no such interface (expected an IPv4 address, an index or an interface name)",
        )
    })
}

/// A peer address as `print(client_address)` shows it.
pub(crate) trait PyShow {
    /// Python's `str()` of the address.
    fn py(&self) -> String;
    /// The address as the JSON events give it: `127.0.0.1:10000`, `[::1]:10000`, a path.
    fn plain(&self) -> String;
}

impl PyShow for SocketAddr {
    fn py(&self) -> String {
        PyAddr(*self).to_string()
    }

    fn plain(&self) -> String {
        self.to_string()
    }
}

/// An unnamed client prints as nothing, a path as itself.
impl PyShow for UnixAddr {
    fn py(&self) -> String {
        self.to_string()
    }

    fn plain(&self) -> String {
        self.to_string()
    }
}

/// Where a program's lines go: straight to stdout, line by line (the commands), or into a
/// buffer (the tour, which prints each side's transcript as a block).
///
/// With `--json` ([`jsonl::on`]) a stdout `Out` writes [`event`](Self::event)s, one JSON
/// object per line, and drops the text lines.
#[derive(Debug, Default)]
pub(crate) struct Out {
    buffer: Option<Vec<String>>,
    json: bool,
}

impl Out {
    /// Lines printed as they happen (JSON lines instead with `--json`).
    pub(crate) fn stdout() -> Self {
        Self {
            buffer: None,
            json: jsonl::on(),
        }
    }

    /// Lines kept, for [`into_lines`](Self::into_lines).
    pub(crate) fn buffer() -> Self {
        Self {
            buffer: Some(Vec::new()),
            json: false,
        }
    }

    /// One event as a JSON object (`{"event": NAME, ...}`), written only with `--json`.
    pub(crate) fn event(&mut self, value: serde_json::Value) {
        if self.json {
            jsonl::write(&value);
        }
    }

    /// One line of the transcript. On stdout it is written and flushed at once (a test, or a
    /// person, waits for `waiting for a connection`); a closed stdout is not worth a panic.
    pub(crate) fn line(&mut self, line: impl fmt::Display) {
        match &mut self.buffer {
            Some(lines) => lines.push(line.to_string()),
            None if self.json => {}
            None => {
                let mut stdout = io::stdout().lock();
                let _ = writeln!(stdout, "{line}");
                let _ = stdout.flush();
            }
        }
    }

    /// A line outside the chapter's transcript (a client's failure, a truncated datagram): on
    /// stderr for the commands, so stdout stays the chapter's; kept among the lines for the
    /// tour.
    pub(crate) fn note(&mut self, line: impl fmt::Display) {
        match &mut self.buffer {
            Some(lines) => lines.push(line.to_string()),
            None => {
                let mut stderr = io::stderr().lock();
                let _ = writeln!(stderr, "{line}");
            }
        }
    }

    /// The lines kept (none for stdout).
    pub(crate) fn into_lines(self) -> Vec<String> {
        self.buffer.unwrap_or_default()
    }
}

/// Seconds as the chapter gives them (`0.2`) to a duration; `what` names the option, `text`
/// is the value as given.
pub(crate) fn seconds(what: &str, text: &str) -> Result<std::time::Duration, CliError> {
    parse::seconds(text)
        .ok_or_else(|| CliError::new(format_args!("{what} {text}"), parse::SECONDS_EXPECTED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_spellings() {
        let hp = HostPort::parse("--addr", "localhost:10000").unwrap();
        assert_eq!((hp.host.as_str(), hp.port), ("localhost", 10000));
        let hp = HostPort::parse("--addr", "[::1]:0").unwrap();
        assert_eq!((hp.host.as_str(), hp.port), ("::1", 0));
        let hp = HostPort::parse("--addr", ":7").unwrap();
        assert_eq!((hp.host_text(), hp.port), ("''", 7));
        for bad in [
            "localhost",
            "localhost:70000",
            "::1:5",
            "[::1:5",
            "h:",
            "h:-1",
            "[]:0",
            "[localhost]:0",
            "[127.0.0.1]:5",
        ] {
            assert!(HostPort::parse("--addr", bad).is_err(), "{bad}");
        }
        let err = HostPort::parse("--addr", "localhost:70000").unwrap_err();
        assert_eq!(
            err.to_string(),
            "--addr \"localhost:70000\": port 70000 out of range (expected 0 to 65535)"
        );
    }

    #[test]
    fn unnamed_unix_clients_print_as_nothing() {
        assert_eq!(UnixAddr::Unnamed.py(), "");
    }

    #[test]
    fn interfaces_by_address_index_or_name() {
        assert_eq!(
            parse_interface("127.0.0.1").unwrap(),
            Interface::Addr(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(parse_interface("7").unwrap(), Interface::Index(7));
        assert!(matches!(
            parse_interface("lo").unwrap(),
            Interface::Index(i) if i > 0
        ));
        assert!(parse_interface("0").is_err());
        assert!(parse_interface("::1").is_err());
        assert!(parse_interface("no-such-if0").is_err());
        assert!(parse_interface("../x").is_err());
    }

    #[test]
    fn seconds_must_be_positive() {
        assert_eq!(
            seconds("--timeout", "0.2").unwrap(),
            std::time::Duration::from_millis(200)
        );
        assert_eq!(
            seconds("--timeout", "0.001").unwrap(),
            std::time::Duration::from_millis(1)
        );
        for bad in [
            "0", "-1", "nan", "inf", "1e-300", "0.0009", "86401", "1e300", "", "1s",
        ] {
            let err = seconds("--timeout", bad).unwrap_err().to_string();
            assert!(err.starts_with(&format!("--timeout {bad}: ")), "{err}");
        }
    }
}
