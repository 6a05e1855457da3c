//! The data mode, `portsock connect` and `portsock listen`: the user's own bytes, stdin to the
//! socket and the socket to stdout, binary-safe, as `nc` and `socat` move them.
//!
//! A stream session (TCP, Unix) ends when both directions have: stdin's end of file shuts our
//! side down for writing (the peer reads end of stream) while the peer's bytes keep coming to
//! stdout, and the peer's end of stream ends stdout while stdin keeps being sent, until both
//! are done (`nc -N`, `socat`). Stdin on a terminal is the exception: nobody pipes anything
//! there, so the peer's end of stream ends the session. UDP has no end of stream: a session
//! ends once stdin is done and no datagram came for `--wait` seconds. On the userspace stacks
//! (smoltcp, embassy) it runs over TCP and UDP alike; see `userspace_udp` for UDP's limits
//! there.
//!
//! The report (a summary at the end, a progress line on a terminal, `--json` events) goes to
//! stderr, since stdout is the data: [`report`].

#[cfg(feature = "embassy")]
mod embassy;
#[cfg(feature = "embassy")]
mod embassy_udp;
mod feed;
mod kernel;
mod pump;
mod report;
#[cfg(feature = "smoltcp")]
mod smol;
#[cfg(feature = "smoltcp")]
mod smol_udp;
#[cfg(any(feature = "smoltcp", feature = "embassy"))]
mod userspace_udp;

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::net::{BackendArg, HostPort};
use super::parse::parse_port;
use super::{CliError, Output};

/// What `connect` and `listen` share.
#[derive(Debug, Args)]
pub(crate) struct DataOpts {
    /// UDP instead of TCP: each read of stdin is one datagram (at most 16 KiB; on --backend
    /// smoltcp and embassy, at most one frame's payload, as they do not fragment), each
    /// datagram received is written to stdout.
    #[arg(short = 'u', long)]
    pub(crate) udp: bool,
    /// IPv4 addresses only.
    #[arg(short = '4', conflicts_with = "ipv6")]
    pub(crate) ipv4: bool,
    /// IPv6 addresses only.
    #[arg(short = '6')]
    pub(crate) ipv6: bool,
    /// No summary and no progress line on stderr (errors are still reported).
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Events (listening, connected, eof each way, closed) and a final summary as JSON lines
    /// on stderr; stdout stays the data.
    #[arg(long)]
    pub(crate) json: bool,
    /// UDP: once stdin has ended, stop after this many seconds without a datagram [default:
    /// 1 for connect; listen waits until interrupted].
    #[arg(short = 'w', long, value_name = "SECONDS")]
    pub(crate) wait: Option<String>,
    #[command(flatten)]
    pub(crate) backend: BackendArg,
}

/// `portsock connect HOST:PORT` / `portsock connect -U PATH`.
#[derive(Debug, Args)]
pub(crate) struct ConnectCmd {
    /// Where to connect: HOST:PORT (`[::1]:9000` for an IPv6 literal).
    #[arg(value_name = "HOST:PORT", required_unless_present = "unix")]
    target: Option<String>,
    /// A Unix stream socket at this path instead of HOST:PORT.
    #[arg(
        short = 'U',
        long = "unix",
        value_name = "PATH",
        conflicts_with = "target"
    )]
    unix: Option<PathBuf>,
    /// Give up connecting after this many seconds [default: 10].
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<String>,
    #[command(flatten)]
    opts: DataOpts,
}

/// `portsock listen [HOST:]PORT` / `portsock listen -U PATH`.
#[derive(Debug, Args)]
pub(crate) struct ListenCmd {
    /// Where to listen: PORT (every address) or HOST:PORT.
    #[arg(value_name = "[HOST:]PORT", required_unless_present = "unix")]
    target: Option<String>,
    /// A Unix stream socket at this path (created, and removed at the end).
    #[arg(
        short = 'U',
        long = "unix",
        value_name = "PATH",
        conflicts_with = "target"
    )]
    unix: Option<PathBuf>,
    /// Keep listening: serve the next client after one closes, until interrupted. Stdin is
    /// shared, as by `nc -lk`: its bytes go to the client connected at the time (what one
    /// was not sent goes to the next), each session ends at its client's end of stream, and
    /// after stdin's end each client reads end of stream at once (and is still read from).
    #[arg(short = 'k', long)]
    keep: bool,
    #[command(flatten)]
    opts: DataOpts,
}

/// Where a session's socket is, once the arguments are checked.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A host and port, not resolved yet.
    Net(HostPort),
    /// A Unix socket path.
    Unix(PathBuf),
}

/// Which addresses `-4` / `-6` allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FamilyPref {
    /// Both.
    Any,
    /// `-4`.
    V4,
    /// `-6`.
    V6,
}

impl FamilyPref {
    /// Whether `ip` is one this preference allows.
    pub(crate) fn allows(self, ip: std::net::IpAddr) -> bool {
        match self {
            Self::Any => true,
            Self::V4 => ip.is_ipv4(),
            Self::V6 => ip.is_ipv6(),
        }
    }

    /// Where a userspace stack's `listen` binds for `addr`, the stack's own choice: an
    /// unspecified address is `::` (IPv6 and IPv4, as the kernel's `listen` with no host), or
    /// `0.0.0.0` with `-4` (a listener on IPv4 resets IPv6 clients, as an `AF_INET` socket
    /// refuses them); an address of the interface stays.
    #[cfg(any(feature = "smoltcp", feature = "embassy"))]
    pub(crate) fn stack_listen_addr(self, addr: std::net::SocketAddr) -> std::net::SocketAddr {
        use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
        match (self, addr.ip().is_unspecified()) {
            (Self::V4, true) => SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), addr.port()),
            (_, true) => SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), addr.port()),
            (_, false) => addr,
        }
    }
}

/// The checked options of one command.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) target: Target,
    pub(crate) udp: bool,
    pub(crate) family: FamilyPref,
    pub(crate) report: report::Style,
    /// UDP: silence after stdin's end that ends the session (`None`: never).
    pub(crate) wait: Option<Duration>,
    /// Connect: how long to try.
    pub(crate) timeout: Duration,
    /// Listen: serve client after client.
    pub(crate) keep: bool,
}

impl ConnectCmd {
    pub(crate) fn run(self) -> Output {
        let target = match (self.unix, self.target) {
            (Some(path), _) => Target::Unix(path),
            (None, Some(text)) => Target::Net(HostPort::parse("HOST:PORT", &text)?),
            (None, None) => unreachable!("clap requires HOST:PORT or -U"),
        };
        if let Target::Net(hp) = &target {
            if hp.port == 0 {
                return Err(CliError::new(
                    format_args!("HOST:PORT {:?}", format!("{}:0", hp.host)),
                    "port 0 cannot be connected to (expected 1 to 65535)",
                ));
            }
            if hp.host.is_empty() {
                return Err(CliError::new(
                    "HOST:PORT",
                    "expected a host before the port (e.g. localhost:9000)",
                ));
            }
        }
        let timeout = match &self.timeout {
            None => Duration::from_secs(10),
            Some(t) => super::net::seconds("--timeout", t)?,
        };
        let wait = Some(wait_arg(&self.opts, Duration::from_secs(1))?);
        let session = Session::new(target, &self.opts, wait, timeout, false)?;
        dispatch(&self.opts, session, false)
    }
}

impl ListenCmd {
    pub(crate) fn run(self) -> Output {
        let target = match (self.unix, self.target) {
            (Some(path), _) => Target::Unix(path),
            (None, Some(text)) => Target::Net(listen_target(&text)?),
            (None, None) => unreachable!("clap requires [HOST:]PORT or -U"),
        };
        let wait = match &self.opts.wait {
            None => None,
            Some(_) => Some(wait_arg(&self.opts, Duration::ZERO)?),
        };
        let session = Session::new(target, &self.opts, wait, Duration::ZERO, self.keep)?;
        dispatch(&self.opts, session, true)
    }
}

impl Session {
    fn new(
        target: Target,
        opts: &DataOpts,
        wait: Option<Duration>,
        timeout: Duration,
        keep: bool,
    ) -> Result<Self, CliError> {
        if opts.udp && matches!(target, Target::Unix(_)) {
            return Err(CliError::new(
                "-u with -U",
                "the data mode moves Unix stream sockets only (give -U PATH without -u)",
            ));
        }
        if keep && opts.udp {
            return Err(CliError::new(
                "-k with -u",
                "UDP has no connections to serve one after another (listen -u already takes every datagram of its peer)",
            ));
        }
        let family = match (opts.ipv4, opts.ipv6) {
            (true, _) => FamilyPref::V4,
            (_, true) => FamilyPref::V6,
            _ => FamilyPref::Any,
        };
        if family != FamilyPref::Any && matches!(target, Target::Unix(_)) {
            return Err(CliError::new(
                if opts.ipv4 { "-4" } else { "-6" },
                "applies to HOST:PORT, not to a Unix socket path (-U)",
            ));
        }
        Ok(Self {
            target,
            udp: opts.udp,
            family,
            report: report::Style::new(opts.quiet, opts.json),
            wait,
            timeout,
            keep,
        })
    }
}

/// Runs `session` on the backend the options name.
fn dispatch(opts: &DataOpts, session: Session, listen: bool) -> Output {
    if opts.backend.on_embassy()? {
        #[cfg(feature = "embassy")]
        {
            embassy::run(&opts.backend, &session, listen)?;
            return Ok(String::new());
        }
    }
    let on_smoltcp = opts.backend.check()?;
    if !on_smoltcp {
        if listen {
            kernel::listen(&session)?;
        } else {
            kernel::connect(&session)?;
        }
        return Ok(String::new());
    }
    #[cfg(feature = "smoltcp")]
    {
        smol::run(&opts.backend, &session, listen)?;
        Ok(String::new())
    }
    #[cfg(not(feature = "smoltcp"))]
    unreachable!("BackendArg::check refuses smoltcp without the feature")
}

/// `--wait`, or `default`.
fn wait_arg(opts: &DataOpts, default: Duration) -> Result<Duration, CliError> {
    if opts.wait.is_some() && !opts.udp {
        return Err(CliError::new(
            "--wait",
            "applies to UDP (-u) only: a stream ends with its end of stream",
        ));
    }
    match &opts.wait {
        None => Ok(default),
        Some(t) => super::net::seconds("--wait", t),
    }
}

/// `9000` (every address) or `HOST:9000`.
fn listen_target(text: &str) -> Result<HostPort, CliError> {
    if !text.contains(':') {
        let port = parse_port(text)
            .map_err(|what| CliError::new(format_args!("[HOST:]PORT {text:?}"), what))?;
        return Ok(HostPort {
            host: String::new(),
            port,
        });
    }
    HostPort::parse("[HOST:]PORT", text)
}
