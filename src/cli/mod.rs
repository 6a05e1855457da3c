//! Command-line parsing (clap derive) and dispatch. Every subcommand returns `Result<(), CliError>`;
//! `run` prints `error: <input>: <what was expected>` on stderr and exits non-zero on failure, and
//! prints nothing on stdout in that case (output is built first, written last).
//!
//! The network commands (`echo`, `multicast`, `binary`, `socketpair`, `tour`) print the
//! chapter's lines as they happen instead, so they check every argument and set their sockets
//! up (resolve, bind, connect) before the first line: bad input still leaves stdout empty.

mod args;
mod binary;
mod concurrent;
mod consts;
mod data;
mod docs;
mod echo;
#[cfg(feature = "embassy")]
mod embassy;
mod hexin;
mod inet;
mod jsonl;
mod lines;
mod lookup;
mod mcast_watch;
mod multicast;
mod net;
#[cfg(feature = "tokio")]
mod on_tokio;
mod parse;
mod printer;
#[cfg(feature = "smoltcp")]
mod smol;
mod socketpair;
mod structcmd;
mod tour;
mod udp_load;

use std::fmt;
use std::io::Write as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// A failure to report: the input it concerns and what was wrong or expected.
#[derive(Debug)]
pub(crate) struct CliError {
    input: String,
    what: String,
}

impl CliError {
    pub(crate) fn new(input: impl fmt::Display, what: impl fmt::Display) -> Self {
        Self {
            input: input.to_string(),
            what: what.to_string(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.input, self.what)
    }
}

/// Which transport implementation a network command runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum Backend {
    /// OS sockets through socket2 (`portsock-std`).
    #[default]
    Std,
    /// The smoltcp userspace stack (`portsock-smoltcp`).
    Smoltcp,
    /// portsock-embassy's sockets on an embassy-net stack.
    Embassy,
}

#[derive(Debug, Parser)]
#[command(
    name = "portsock",
    version,
    about = "Sockets, lookups and Python-struct-exact records: the PyMOTW socket chapter in Rust"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Binary records packed exactly like Python's `struct` module.
    #[command(name = "struct", subcommand)]
    Struct(structcmd::StructCmd),
    /// IPv4/IPv6 text <-> packed bytes, as `socket.inet_aton/ntoa/pton/ntop` (glibc rules).
    Inet(inet::InetArgs),
    /// Socket constants by prefix (`AF_`, `SOCK_`, `IPPROTO_`), as the chapter's `get_constants`.
    Constants(consts::ConstantsCmd),
    /// This host's name, as `socket.gethostname()`.
    Hostname(lookup::HostnameCmd),
    /// Names, addresses, services and protocols, as the chapter's look-up programs print them.
    Lookup(lookup::LookupCmd),
    /// The chapter's echo server and client over TCP, UDP or a Unix socket.
    #[command(subcommand)]
    Echo(echo::EchoCmd),
    /// The chapter's multicast sender and receiver (on the loopback unless --iface says otherwise).
    #[command(subcommand)]
    Multicast(multicast::MulticastCmd),
    /// The chapter's binary record client and server ('I 2s f', as Python's struct packs it).
    #[command(subcommand)]
    Binary(binary::BinaryCmd),
    /// Move your own bytes: stdin to a TCP, UDP or Unix peer and its bytes to stdout (nc,
    /// socat); a summary on stderr.
    Connect(data::ConnectCmd),
    /// Wait for one peer (or, with -k, one after another) and move bytes as `connect` does.
    Listen(data::ListenCmd),
    /// The chapter's parent/child ping-pong over socketpair() and fork().
    Socketpair(socketpair::SocketpairCmd),
    /// The whole chapter end to end on this machine: lookups, conversions, TCP/UDP/Unix echo,
    /// socketpair, multicast, binary records, non-blocking mode and timeouts.
    Tour(tour::TourCmd),
    /// A shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(docs::CompletionsCmd),
    /// The manual page, portsock.1, on stdout (or every page into --out-dir).
    Man(docs::ManCmd),
}

/// Parse the command line, run it, report.
pub(crate) fn run() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Struct(cmd) => cmd.run(),
        Command::Inet(cmd) => cmd.run(),
        Command::Constants(cmd) => cmd.run(),
        Command::Hostname(cmd) => cmd.run(),
        Command::Lookup(cmd) => cmd.run(),
        Command::Echo(cmd) => cmd.run(),
        Command::Multicast(cmd) => cmd.run(),
        Command::Binary(cmd) => cmd.run(),
        Command::Connect(cmd) => cmd.run(),
        Command::Listen(cmd) => cmd.run(),
        Command::Socketpair(cmd) => cmd.run(),
        Command::Tour(cmd) => cmd.run(),
        Command::Completions(cmd) => cmd.run(),
        Command::Man(cmd) => cmd.run(),
    };
    match result {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`portsock ... | head`) is not an error worth a panic.
            let _ = stdout.write_all(out.as_bytes());
            let _ = stdout.flush();
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The library's log lines (the core's `log` feature: a peer closing, a lost datagram, a
/// truncated record) on stderr when `RUST_LOG` asks for them, with env_logger's syntax
/// (`RUST_LOG=debug`, `RUST_LOG=portsock_core::echo=debug`). Without `RUST_LOG` (or with it
/// empty) no logger is installed at all, so nothing but the command's own output is printed.
fn init_logging() {
    if std::env::var_os("RUST_LOG").is_some_and(|v| !v.is_empty()) {
        env_logger::Builder::from_env("RUST_LOG")
            .target(env_logger::Target::Stderr)
            .init();
    }
}

/// What every subcommand returns: the whole stdout text, or the error to report.
pub(crate) type Output = Result<String, CliError>;
