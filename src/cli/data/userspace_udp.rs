//! What UDP's data mode on the userspace stacks shares (`--backend smoltcp`: [`smol_udp`],
//! `--backend embassy`: [`embassy_udp`]): how large a datagram may be, and stdin read a
//! datagram at a time.
//!
//! Neither stack fragments or reassembles IP packets (smoltcp is built without its
//! fragmentation features, and embassy-net leaves them out), so a datagram is one frame of the
//! TAP: a larger one would be dropped by the stack without a word. Stdin is therefore read in
//! pieces of at most one frame's payload, [`frame_payload`] (1,472 bytes over IPv4 and 1,452
//! over IPv6 on a 1,500-byte MTU): each read is one datagram, as on the kernel (whose pieces
//! are at most 16 KiB), and a longer write to stdin goes out as several datagrams. A datagram
//! larger than a frame from the peer arrives in fragments, which the stack drops: it is lost,
//! as UDP may lose any datagram.
//!
//! [`smol_udp`]: super::smol_udp
//! [`embassy_udp`]: super::embassy_udp

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd as _;
#[cfg(feature = "embassy")]
use std::os::fd::OwnedFd;
#[cfg(feature = "smoltcp")]
use std::sync::mpsc::{self, Receiver};
use std::thread;
#[cfg(feature = "embassy")]
use std::thread::JoinHandle;

use crate::cli::CliError;
use crate::cli::net::{BackendArg, Thousands};

/// The largest piece of stdin read at once, as on the kernel.
const MOST: usize = 16 * 1024;
/// Datagrams queued between stdin's thread and the stack's loop.
#[cfg(feature = "smoltcp")]
const QUEUED: usize = 64;

/// The largest UDP payload to `to` in one IP packet of `ip_mtu` bytes (no IP options, no
/// extension headers: what both stacks send).
pub(super) fn frame_payload(ip_mtu: usize, to: SocketAddr) -> usize {
    let headers = if to.is_ipv4() { 20 + 8 } else { 40 + 8 };
    ip_mtu.saturating_sub(headers).min(MOST)
}

/// The size of each read of stdin: `limit` ([`frame_payload`]), or a clear error when the link
/// cannot carry a datagram at all.
pub(super) fn read_size(backend: &str, limit: usize, to: SocketAddr) -> Result<usize, CliError> {
    if limit == 0 {
        return Err(CliError::new(
            format_args!("--backend {backend}"),
            format_args!(
                "the TAP's frames carry no UDP payload to {to} (its MTU is smaller than the headers); raise it with `ip link set TAP mtu 1500`"
            ),
        ));
    }
    Ok(limit)
}

/// Checks that the stack can send to `peer` before anything is said or sent: `peer` is on the
/// network of an `--ip`, or a `--gateway` of its family leads there (or it is multicast or
/// IPv6 link-local, on the link). A UDP socket has no connection to fail, and embassy-net
/// would take the datagrams and drop them at the interface; the kernel refuses such a
/// `connect(2)` ("Network is unreachable").
pub(super) fn check_route(backend: &BackendArg, peer: SocketAddr) -> Result<(), CliError> {
    let ip = peer.ip();
    let link_local = matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80);
    let on_link = backend.ip.iter().any(|text| {
        let Some((addr, prefix)) = text.split_once('/') else {
            return false;
        };
        match (addr.parse::<IpAddr>(), prefix.parse::<u32>(), ip) {
            (Ok(IpAddr::V4(ours)), Ok(bits), IpAddr::V4(theirs)) if bits <= 32 => {
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                u32::from(ours) & mask == u32::from(theirs) & mask
            }
            (Ok(IpAddr::V6(ours)), Ok(bits), IpAddr::V6(theirs)) if bits <= 128 => {
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                u128::from(ours) & mask == u128::from(theirs) & mask
            }
            _ => false,
        }
    });
    let gateway = backend
        .gateway
        .iter()
        .filter_map(|g| g.parse::<IpAddr>().ok())
        .any(|g| g.is_ipv4() == ip.is_ipv4());
    if on_link || gateway || ip.is_multicast() || link_local {
        return Ok(());
    }
    Err(CliError::new(
        format_args!("HOST:PORT {peer}"),
        "no route to host: on none of the networks of --ip, and no --gateway of its family",
    ))
}

/// The error for a datagram the stack refused as too large (it should not happen: stdin is
/// read in pieces that fit).
pub(super) fn too_large(backend: &str, len: usize, max: usize) -> CliError {
    CliError::new(
        "stdin",
        format_args!(
            "a datagram of {} bytes is too large for the {backend} stack's UDP socket (at most {} bytes; it does not fragment)",
            Thousands(len as u64),
            Thousands(max as u64)
        ),
    )
}

/// A thread reading stdin `size` bytes at most at a time, one datagram per read, into a
/// channel that closes at stdin's end (after an error, if reading failed).
#[cfg(feature = "smoltcp")]
pub(super) fn stdin_datagrams(size: usize) -> Receiver<io::Result<Vec<u8>>> {
    let (tx, rx) = mpsc::sync_channel(QUEUED);
    thread::spawn(move || {
        loop {
            let mut datagram = vec![0u8; size];
            match read_stdin(&mut datagram) {
                Ok(0) => return,
                Ok(n) => {
                    datagram.truncate(n);
                    if tx.send(Ok(datagram)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
    });
    rx
}

/// A `SOCK_SEQPACKET` pair whose other end a thread fills from stdin, `size` bytes at most
/// per record, one record per read of stdin, and closes at stdin's end: read from ours, a
/// record is a datagram and end of file is stdin's (an async reactor can wait for it, as
/// for the TAP). The thread returns stdin's error, if reading failed.
#[cfg(feature = "embassy")]
pub(super) fn stdin_records(size: usize) -> io::Result<(OwnedFd, JoinHandle<io::Result<()>>)> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType, socketpair};
    let (ours, theirs) = socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )?;
    let handle = thread::spawn(move || {
        let mut buf = vec![0u8; size];
        loop {
            let n = read_stdin(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            let mut sent = 0;
            while sent == 0 {
                match rustix::io::write(&theirs, &buf[..n]) {
                    Ok(m) => sent = m,
                    Err(rustix::io::Errno::INTR) => {}
                    // The session is over (ours was dropped): nothing more to pass on.
                    Err(_) => return Ok(()),
                }
            }
        }
    });
    Ok((ours, handle))
}

/// One read of stdin (retried when interrupted); the error says it was reading.
fn read_stdin(buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match rustix::io::read(io::stdin().as_fd(), &mut *buf) {
            Ok(n) => return Ok(n),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                return Err(io::Error::new(
                    io::Error::from(e).kind(),
                    format!("reading: {e}"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_frame_of_payload() {
        let v4: SocketAddr = "192.168.69.100:9".parse().unwrap();
        let v6: SocketAddr = "[fdaa::100]:9".parse().unwrap();
        assert_eq!(frame_payload(1500, v4), 1472);
        assert_eq!(frame_payload(1500, v6), 1452);
        // A jumbo MTU still reads at most the kernel's piece.
        assert_eq!(frame_payload(65_521, v4), MOST);
        assert_eq!(frame_payload(40, v6), 0);
        assert!(read_size("smoltcp", 0, v6).is_err());
        assert_eq!(read_size("smoltcp", 1452, v6).unwrap(), 1452);
    }

    fn backend(ips: &[&str], gateways: &[&str]) -> BackendArg {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            backend: BackendArg,
        }
        let mut args = vec!["t".to_owned()];
        for ip in ips {
            args.extend(["--ip".to_owned(), (*ip).to_owned()]);
        }
        for g in gateways {
            args.extend(["--gateway".to_owned(), (*g).to_owned()]);
        }
        Cli::parse_from(args).backend
    }

    #[test]
    fn routes_of_the_ip_and_gateway_options() {
        let v4_only = backend(&["192.168.69.1/24"], &[]);
        let ok = |b: &BackendArg, to: &str| check_route(b, to.parse().unwrap()).is_ok();
        assert!(ok(&v4_only, "192.168.69.100:9"));
        assert!(!ok(&v4_only, "192.168.70.1:9"));
        assert!(!ok(&v4_only, "[fdaa::100]:9"));
        assert!(ok(&v4_only, "224.3.29.71:10000"));
        let both = backend(&["192.168.69.1/24", "fdaa::1/64"], &["192.168.69.100"]);
        assert!(ok(&both, "10.1.1.1:9"));
        assert!(ok(&both, "[fdaa::100]:9"));
        assert!(ok(&both, "[fe80::1]:9"));
        assert!(!ok(&both, "[fdab::100]:9"));
        let err = check_route(&v4_only, "10.0.0.1:9".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("HOST:PORT 10.0.0.1:9"), "{err}");
    }
}
