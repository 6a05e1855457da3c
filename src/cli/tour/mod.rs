//! `portsock tour`: the whole chapter in one command, on this machine only.
//!
//! Each section runs one part of the chapter, prints its lines, and checks what came back:
//! looked-up numbers against the chapter's, packed bytes against the chapter's hex, every
//! echoed byte against what was sent (the core's echo machines verify them), acks against the
//! number of receivers. A section ends with `-- verified` or `-- FAILED: <why>`; the command
//! exits 0 only if every section verified.
//!
//! Everything stays on the machine: servers listen on 127.0.0.1 with a port the system
//! chooses, Unix sockets live in a fresh temporary directory, multicast is joined and sent on
//! the loopback interface (127.0.0.1). Servers run in threads, with timeouts, so a failure
//! ends a section instead of hanging the tour. The socketpair section forks, which a process
//! with threads must not do, so it runs `portsock socketpair` as a child process (which forks
//! while it is still single-threaded) and checks both processes' lines.

mod sockets;

use std::net::IpAddr;
use std::time::Instant as StdInstant;

use portsock_core::table::consts::{self, IPPROTO};
use portsock_core::table::protocols::getprotobyname;
use portsock_core::table::services::{getservbyname, getservbyport};
use portsock_core::wire::inet::{self, Family};
use portsock_core::wire::repr::PyBytes;
use portsock_std::resolve;

use super::net::Out;
use super::{CliError, Output};

/// What a section returns: `Err(why)` if something did not check out.
type Verdict = Result<(), String>;

/// A section: its title (the chapter's programs in brackets) and what runs it.
type Section = (&'static str, fn(&mut Out) -> Verdict);

const SECTIONS: [Section; 11] = [
    ("Host names [gethostname, gethostbyname]", host_names),
    (
        "Services and protocols [getservbyname, getservbyport, getprotobyname]",
        services,
    ),
    (
        "IP address conversions [inet_aton, inet_ntoa, inet_pton, inet_ntop]",
        conversions,
    ),
    (
        "TCP echo [socket_echo_server.py, socket_echo_client.py]",
        sockets::tcp_echo,
    ),
    (
        "Easy client connections [socket_echo_client_easy.py: create_connection]",
        sockets::create_connection,
    ),
    (
        "UDP echo [socket_echo_server_dgram.py, socket_echo_client_dgram.py]",
        sockets::udp_echo,
    ),
    (
        "Unix domain sockets [socket_echo_server_uds.py, socket_echo_client_uds.py]",
        sockets::unix_echo,
    ),
    (
        "Parent and child [socket_socketpair.py: socketpair, fork]",
        sockets::socketpair,
    ),
    (
        "Multicast on the loopback [socket_multicast_sender.py, socket_multicast_receiver.py]",
        sockets::multicast,
    ),
    (
        "Binary data [socket_binary_client.py, socket_binary_server.py]",
        sockets::binary,
    ),
    (
        "Non-blocking communication and timeouts [setblocking, settimeout]",
        sockets::nonblocking,
    ),
];

pub(crate) fn run() -> Output {
    let started = StdInstant::now();
    let mut out = Out::stdout();
    out.line("portsock tour: the PyMOTW-3 socket chapter, end to end, on this machine only");
    let mut failed = Vec::new();
    for (i, (title, section)) in SECTIONS.iter().enumerate() {
        out.line("");
        out.line(format_args!("== {}. {title} ==", i + 1));
        match section(&mut out) {
            Ok(()) => out.line("-- verified"),
            Err(why) => {
                out.line(format_args!("-- FAILED: {why}"));
                failed.push(i + 1);
            }
        }
    }
    out.line("");
    let secs = started.elapsed().as_secs_f64();
    if failed.is_empty() {
        out.line(format_args!(
            "tour: all {} sections verified in {secs:.2} s",
            SECTIONS.len()
        ));
        return Ok(String::new());
    }
    let list: Vec<String> = failed.iter().map(ToString::to_string).collect();
    out.line(format_args!(
        "tour: {} of {} sections FAILED ({})",
        failed.len(),
        SECTIONS.len(),
        list.join(", ")
    ));
    Err(CliError::new(
        "tour",
        format_args!("section(s) {} failed (see the transcript)", list.join(", ")),
    ))
}

/// `Err(why)` unless `ok`.
fn check(ok: bool, why: impl FnOnce() -> String) -> Verdict {
    if ok { Ok(()) } else { Err(why()) }
}

fn host_names(out: &mut Out) -> Verdict {
    // gethostname(2) is the kernel's UTS name, which /proc shows (no libc call needed).
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_err(|e| format!("cannot read the host name: {e}"))?;
    let name = name.trim();
    out.line(format_args!("gethostname() : {name}"));
    check(!name.is_empty(), || "the host name is empty".into())?;
    // gethostbyname answers IPv4 only: the first IPv4 address the resolver gives.
    let addrs = resolve::resolve("localhost", 0).map_err(|e| e.to_string())?;
    let v4 = addrs.iter().map(|a| a.ip()).find(IpAddr::is_ipv4);
    let Some(v4) = v4 else {
        return Err(format!("localhost has no IPv4 address: {addrs:?}"));
    };
    out.line(format_args!("localhost : {v4}"));
    check(addrs.iter().all(|a| a.ip().is_loopback()), || {
        format!("localhost resolves beyond the loopback: {addrs:?}")
    })
}

/// The chapter's URL schemes and the ports it prints for them.
const SCHEMES: [(&str, u16); 9] = [
    ("http", 80),
    ("https", 443),
    ("ftp", 21),
    ("gopher", 70),
    ("smtp", 25),
    ("imap", 143),
    ("imaps", 993),
    ("pop3", 110),
    ("pop3s", 995),
];

fn services(out: &mut Out) -> Verdict {
    for (scheme, expected) in SCHEMES {
        let port = getservbyname(scheme, None).map(|s| s.port);
        out.line(format_args!(
            "{scheme:>6} : {}",
            port.map_or("not found".into(), |p| p.to_string())
        ));
        check(port == Some(expected), || {
            format!("{scheme}: expected port {expected}, got {port:?}")
        })?;
    }
    out.line("");
    // The reverse lookup gives the file's official name, which may be another name for the
    // scheme (netbase calls port 143 `imap2`, with `imap` as an alias).
    for (scheme, port) in SCHEMES {
        let service = getservbyport(port, None);
        out.line(format_args!(
            "{}://example.com/",
            service.map_or("<unknown>", |s| s.name)
        ));
        check(service.is_some_and(|s| s.is_named(scheme)), || {
            format!("port {port}: expected {scheme}, got {service:?}")
        })?;
    }
    out.line("");
    for (name, expected) in [("icmp", 1), ("udp", 17), ("tcp", 6)] {
        let number = getprotobyname(name).map(|p| p.number);
        let constant = number.and_then(|n| consts::name_of(IPPROTO, i32::from(n)));
        let (Some(number), Some(constant)) = (number, constant) else {
            return Err(format!("protocol {name}: not found"));
        };
        let value = consts::by_name(constant).map_or(-1, |c| c.value);
        out.line(format_args!(
            "{name:>4} -> {number:2} (socket.{constant:<12} = {value:2})"
        ));
        check(number == expected && i32::from(number) == value, || {
            format!("protocol {name}: expected {expected}, got {number} ({constant} = {value})")
        })?;
    }
    Ok(())
}

fn conversions(out: &mut Out) -> Verdict {
    for (text, hex) in [("192.168.1.1", "c0a80101"), ("127.0.0.1", "7f000001")] {
        let packed = inet::inet_aton(text.as_bytes())
            .map_err(|e| format!("{text}: {e}"))?
            .octets();
        let unpacked = inet::inet_ntoa(&packed).map_err(|e| format!("{text}: {e}"))?;
        print_conversion(out, text, &packed, &unpacked);
        check(hexlify(&packed) == hex && unpacked == text, || {
            format!("{text}: packed {}, unpacked {unpacked}", hexlify(&packed))
        })?;
    }
    let text = "2002:ac10:10a:1234:21e:52ff:fe74:40e";
    let hex = "2002ac10010a1234021e52fffe74040e";
    let packed = match inet::inet_pton(Family::Inet6, text.as_bytes()) {
        Ok(IpAddr::V6(a)) => a.octets(),
        other => return Err(format!("{text}: {other:?}")),
    };
    let unpacked = inet::inet_ntop(Family::Inet6, &packed).map_err(|e| format!("{text}: {e}"))?;
    print_conversion(out, text, &packed, &unpacked);
    check(hexlify(&packed) == hex && unpacked == text, || {
        format!("{text}: packed {}, unpacked {unpacked}", hexlify(&packed))
    })
}

fn print_conversion(out: &mut Out, text: &str, packed: &[u8], unpacked: &str) {
    out.line(format_args!("Original: {text}"));
    out.line(format_args!(
        "Packed  : {}",
        PyBytes(hexlify(packed).as_bytes())
    ));
    out.line(format_args!("Unpacked: {unpacked}"));
}

/// `binascii.hexlify` without the `b''`.
fn hexlify(bytes: &[u8]) -> String {
    portsock_core::record::Hexlify(bytes).to_string()
}

/// Prints one side's transcript, each line behind its name: `  server | received b'...'`.
fn block(out: &mut Out, who: &str, lines: &[String]) {
    for line in lines {
        if line.is_empty() {
            out.line(format_args!("{who:>10} |"));
        } else {
            out.line(format_args!("{who:>10} | {line}"));
        }
    }
}
