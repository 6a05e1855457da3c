//! `echo client`'s load options, checked, and the load on the std or smoltcp backend.

use std::net::SocketAddr;
use std::time::Duration as StdDuration;

use portsock_std::time::SystemClock;
use portsock_std::udp::UdpSocket;

use super::super::CliError;
use super::super::echo::client_bind_addr;
use super::super::net::{BackendArg, HostPort, Out, Thousands};
use super::{DEFAULT_RATE, DEFAULT_SIZE, HEADER, Load, MAX_COUNT, run};

/// The load options of `echo client`, checked: `None` without `--count`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LoadArgs {
    pub(crate) count: Option<usize>,
    pub(crate) size: Option<usize>,
    pub(crate) rate: Option<u64>,
    /// Whether `--chunk` was given (the load reads whole datagrams).
    pub(crate) chunk: bool,
}

impl LoadArgs {
    /// The load asked for, or `None` (the chapter's one message); `udp` says whether the
    /// client runs over UDP, `linger` is `--timeout`.
    pub(crate) fn load(
        self,
        udp: bool,
        message_given: bool,
        linger: Option<StdDuration>,
    ) -> Result<Option<Load>, CliError> {
        let Some(count) = self.count else {
            if self.size.is_some() || self.rate.is_some() {
                let option = if self.size.is_some() {
                    "--size"
                } else {
                    "--rate"
                };
                return Err(CliError::new(option, "applies with --count N (UDP load)"));
            }
            return Ok(None);
        };
        if !udp {
            return Err(CliError::new(
                "--count",
                "a UDP load test: --proto udp (a stream's echo is verified byte by byte already)",
            ));
        }
        if message_given {
            return Err(CliError::new(
                "--message",
                "the load's datagrams carry sequence numbers and times: give --size instead",
            ));
        }
        if self.chunk {
            return Err(CliError::new(
                "--chunk",
                "the load reads each echo whole: give --size for the datagrams' size",
            ));
        }
        if count == 0 || count > MAX_COUNT {
            return Err(CliError::new(
                format_args!("--count {count}"),
                format_args!("expected 1 to {}", Thousands(MAX_COUNT as u64)),
            ));
        }
        let size = self.size.unwrap_or(DEFAULT_SIZE);
        if size < HEADER {
            return Err(CliError::new(
                format_args!("--size {size}"),
                format_args!("expected at least {HEADER} bytes (sequence number and send time)"),
            ));
        }
        let rate = self.rate.unwrap_or(DEFAULT_RATE);
        if rate == 0 || rate > 10_000_000 {
            return Err(CliError::new(
                format_args!("--rate {rate}"),
                "expected 1 to 10,000,000 datagrams per second",
            ));
        }
        Ok(Some(Load {
            count,
            size,
            rate,
            linger: linger.unwrap_or(StdDuration::from_secs(1)),
        }))
    }
}

/// `echo client --proto udp --count N` on the std or smoltcp backend.
///
/// # Errors
///
/// Bad input, a socket that failed, echoes altered or none at all.
pub(crate) fn client(backend: &BackendArg, hp: &HostPort, load: Load) -> Result<(), CliError> {
    if backend.on_embassy()? {
        return Err(CliError::new(
            "--count",
            "a UDP load runs on --backend std or smoltcp",
        ));
    }
    if backend.check()? {
        #[cfg(feature = "smoltcp")]
        {
            let stack = super::super::smol::stack(backend)?;
            let server = super::super::smol::peer_addr(&stack, hp, "--addr")?;
            check_size(server, load.size)?;
            let mut socket = portsock_smoltcp::UdpSocket::bind(&stack, client_bind_addr(server))
                .map_err(|e| CliError::new("udp", e))?;
            let done = run(&mut socket, &stack, server, load, &mut Out::stdout());
            super::super::smol::linger(&stack);
            return done;
        }
    }
    let server = hp.resolve("--addr")?;
    check_size(server, load.size)?;
    let mut socket =
        UdpSocket::bind(client_bind_addr(server)).map_err(|e| CliError::new("udp", e))?;
    run(&mut socket, &SystemClock, server, load, &mut Out::stdout())
}

fn check_size(server: SocketAddr, size: usize) -> Result<(), CliError> {
    let limit = UdpSocket::max_payload(&server);
    if size > limit {
        return Err(CliError::new(
            format_args!("--size {size}"),
            format_args!(
                "UDP over {} to {server} carries at most {} bytes",
                if server.is_ipv4() { "IPv4" } else { "IPv6" },
                Thousands(limit as u64)
            ),
        ));
    }
    Ok(())
}
