//! What the examples share: their command line and an error type that prints as a sentence.
//!
//! Every example takes a few optional positional arguments (host, port, path, group) that
//! override the chapter's defaults, plus the options its usage line lists:
//!
//! * `--count N` / `--once`: a server exits after N connections (or datagrams) instead of
//!   running forever, so a test can wait for it to finish;
//! * `--iface ADDR`: the interface multicast uses, `127.0.0.1` unless given, so nothing leaves
//!   the machine by default.
// Each example uses only part of this module.
#![allow(dead_code)]

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::process;
use std::str::FromStr;

use portsock::core::echo::CHAPTER_PORT;
use portsock::std::resolve;

/// The chapter's host.
pub(crate) const HOST: &str = "localhost";
/// The chapter's Unix socket path.
pub(crate) const UDS_PATH: &str = "./uds_socket";
/// The interface multicast uses unless `--iface` says otherwise: the loopback, so the group's
/// datagrams never leave this machine.
pub(crate) const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// The command line, checked against the example's usage line.
#[derive(Debug)]
pub(crate) struct Args {
    positional: Vec<String>,
    count: Option<usize>,
    iface: Option<Ipv4Addr>,
}

impl Args {
    /// Parses the command line against `usage` ("[HOST] [PORT] [--count N | --once]"): the
    /// upper-case words are the positional arguments, and only the options it names are
    /// accepted. On a bad argument, prints the error and the usage and exits with status 2.
    pub(crate) fn parse(usage: &'static str) -> Self {
        match Self::try_parse(usage, std::env::args().skip(1)) {
            Ok(args) => args,
            Err(message) => {
                eprintln!("error: {message}");
                eprintln!("usage: {} {usage}", program());
                process::exit(2);
            }
        }
    }

    fn try_parse(
        usage: &str,
        argv: impl Iterator<Item = String>,
    ) -> std::result::Result<Self, String> {
        let (max_positional, options) = read_usage(usage);
        let mut args = Self {
            positional: Vec::new(),
            count: None,
            iface: None,
        };
        let mut argv = argv;
        while let Some(arg) = argv.next() {
            if arg == "-h" || arg == "--help" {
                println!("usage: {} {usage}", program());
                process::exit(0);
            }
            if !arg.starts_with("--") {
                args.positional.push(arg);
                continue;
            }
            if !options.contains(&arg.as_str()) {
                return Err(format!("unknown option {arg}"));
            }
            match arg.as_str() {
                "--once" => args.count = Some(1),
                "--count" => args.count = Some(parse_text(&arg, argv.next())?),
                "--iface" => args.iface = Some(parse_text(&arg, argv.next())?),
                _ => return Err(format!("unknown option {arg}")),
            }
        }
        if args.positional.len() > max_positional {
            return Err(format!(
                "too many arguments: {} (at most {max_positional})",
                args.positional.len()
            ));
        }
        Ok(args)
    }

    /// Positional argument `i`, or `default`.
    pub(crate) fn text(&self, i: usize, default: &str) -> String {
        self.positional
            .get(i)
            .map_or_else(|| default.to_owned(), Clone::clone)
    }

    /// Positional argument `i`, which must be there (the chapter's `sys.argv[1]`).
    pub(crate) fn required(&self, i: usize, name: &str) -> String {
        self.positional.get(i).cloned().unwrap_or_else(|| {
            eprintln!("error: {name} is required");
            process::exit(2);
        })
    }

    /// Positional argument `i` parsed as a `T` (a port, a group address), or `default`.
    pub(crate) fn value<T: FromStr>(&self, i: usize, name: &str, default: T) -> T
    where
        T::Err: fmt::Display,
    {
        let Some(text) = self.positional.get(i) else {
            return default;
        };
        text.parse().unwrap_or_else(|e| {
            eprintln!("error: {name} {text:?}: {e}");
            process::exit(2);
        })
    }

    /// Positional argument `i` as a port, or the chapter's 10000.
    pub(crate) fn port(&self, i: usize) -> u16 {
        self.value(i, "port", CHAPTER_PORT)
    }

    /// How many connections (or datagrams) a server handles before it exits: `--count N`,
    /// 1 for `--once`, and `usize::MAX` (forever, as in the chapter) without either.
    pub(crate) fn count(&self) -> usize {
        self.count.unwrap_or(usize::MAX)
    }

    /// The multicast interface: `--iface ADDR`, or the loopback.
    pub(crate) fn iface(&self) -> Ipv4Addr {
        self.iface.unwrap_or(LOOPBACK)
    }
}

/// The positional arguments and options a usage line names.
fn read_usage(usage: &str) -> (usize, Vec<&str>) {
    let mut positional = 0;
    let mut options = Vec::new();
    let mut after_option = false;
    for word in usage.split_whitespace() {
        let word = word.trim_matches(|c| c == '[' || c == ']' || c == '|');
        if word.starts_with("--") {
            options.push(word);
            after_option = true;
        } else if !word.is_empty() && word.chars().all(|c| c.is_ascii_uppercase()) {
            if !after_option {
                positional += 1;
            }
            after_option = false;
        }
    }
    (positional, options)
}

fn parse_text<T: FromStr>(option: &str, text: Option<String>) -> std::result::Result<T, String>
where
    T::Err: fmt::Display,
{
    let text = text.ok_or_else(|| format!("{option} needs a value"))?;
    text.parse().map_err(|e| format!("{option} {text:?}: {e}"))
}

fn program() -> String {
    let argv0 = std::env::args().next().unwrap_or_default();
    argv0.rsplit('/').next().unwrap_or_default().to_owned()
}

/// The address a server named `host` has for a client of an `AF_INET` socket, as the
/// chapter's clients see `('localhost', 10000)`: the first IPv4 address `host` resolves to (or
/// its first address, for an IPv6-only name or literal).
///
/// # Errors
///
/// The name does not resolve.
pub(crate) fn server_addr(host: &str, port: u16) -> io::Result<SocketAddr> {
    // The same choice a server makes for the address it binds.
    resolve::bind_addr(host, port)
}

/// The address a client's datagram socket binds to reach `server`: the loopback for a
/// loopback server (so nothing listens beyond this machine), otherwise any address, which is
/// what an unbound Python socket gets on its first `sendto`.
pub(crate) fn client_bind_addr(server: SocketAddr) -> SocketAddr {
    let ip = match (server.ip().is_loopback(), server) {
        (true, _) => server.ip(),
        (false, SocketAddr::V4(_)) => Ipv4Addr::UNSPECIFIED.into(),
        (false, SocketAddr::V6(_)) => std::net::Ipv6Addr::UNSPECIFIED.into(),
    };
    SocketAddr::new(ip, 0)
}

/// What `main` returns: any error, printed by the runtime as `Error: <message>` with exit
/// status 1.
pub(crate) type Result<T = ()> = std::result::Result<T, Failure>;

/// An error from anywhere in an example, shown as its message rather than as a debug dump.
pub(crate) struct Failure(Box<dyn std::error::Error>);

impl<E: std::error::Error + 'static> From<E> for Failure {
    fn from(e: E) -> Self {
        Self(Box::new(e))
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
