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
//! while it is still single-threaded) and checks both processes' lines; the permissions
//! section runs `portsock echo client` as a child too, as another user when the tour runs as
//! root.

mod child;
mod listening;
mod names;
mod permissions;
mod sockets;

use std::net::IpAddr;
use std::time::Instant as StdInstant;

use portsock_core::table::consts::{self, IPPROTO};
use portsock_core::wire::inet::{self, Family};
use portsock_core::wire::repr::PyBytes;
use portsock_std::consts::host_value;
use portsock_std::lookup;

use super::net::Out;
use super::{CliError, Output};

/// What a section returns: `Err(why)` if something did not check out.
type Verdict = Result<(), String>;

/// A section: its title (the chapter's programs in brackets) and what runs it.
type Section = (&'static str, fn(&mut Out) -> Verdict);

const SECTIONS: [Section; 14] = [
    (
        "Host names [gethostname, gethostbyname, gethostbyname_ex, getfqdn, gethostbyaddr]",
        names::host_names,
    ),
    (
        "Finding service information [getaddrinfo, with and without filters]",
        names::addresses,
    ),
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
        "Choosing a listening address [socket_echo_server_explicit.py, socket_echo_server_any.py]",
        listening::listening_address,
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
        "Permissions [the socket node's mode, a client refused]",
        permissions::permissions,
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
        "Binary data [socket_binary_client.py, socket_binary_server.py, padding]",
        sockets::binary,
    ),
    (
        "Non-blocking communication and timeouts [setblocking, settimeout]",
        sockets::nonblocking,
    ),
];

#[derive(Debug, clap::Args)]
pub(crate) struct TourCmd {
    /// JSON lines on stdout instead of the transcript: a `section` object per section
    /// (`number`, `title`, `verified`, `why` if it failed, its transcript's `lines`), then a
    /// `summary` (`sections`, `failed`, `seconds`).
    #[arg(long)]
    json: bool,
}

impl TourCmd {
    pub(crate) fn run(self) -> Output {
        super::jsonl::enable(self.json);
        run()
    }
}

pub(crate) fn run() -> Output {
    let started = StdInstant::now();
    let mut out = Out::stdout();
    out.line("portsock tour: the PyMOTW-3 socket chapter, end to end, on this machine only");
    let mut failed = Vec::new();
    let json = super::jsonl::on();
    for (i, (title, section)) in SECTIONS.iter().enumerate() {
        out.line("");
        out.line(format_args!("== {}. {title} ==", i + 1));
        // With --json a section's lines are kept for its object.
        let mut kept = Out::buffer();
        let verdict = section(if json { &mut kept } else { &mut out });
        out.event(serde_json::json!({
            "event": "section",
            "number": i + 1,
            "title": title,
            "verified": verdict.is_ok(),
            "why": verdict.as_ref().err(),
            "lines": kept.into_lines(),
        }));
        match verdict {
            Ok(()) => out.line("-- verified"),
            Err(why) => {
                out.line(format_args!("-- FAILED: {why}"));
                failed.push(i + 1);
            }
        }
    }
    out.line("");
    let secs = started.elapsed().as_secs_f64();
    out.event(serde_json::json!({
        "event": "summary", "sections": SECTIONS.len(), "failed": failed, "seconds": secs,
    }));
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
    // The system's databases (/etc/services, /etc/protocols), as Python reads them.
    for (scheme, expected) in SCHEMES {
        let port = lookup::getservbyname(scheme, None);
        out.line(format_args!(
            "{scheme:>6} : {}",
            port.as_ref()
                .map_or("not found".into(), ToString::to_string)
        ));
        check(port.as_ref().ok() == Some(&expected), || {
            format!("{scheme}: expected port {expected}, got {port:?}")
        })?;
    }
    out.line("");
    // The reverse lookup gives the file's official name, which may be another name for the
    // scheme (netbase calls port 143 `imap2`, with `imap` as an alias): it must lead back to
    // the same port.
    for (scheme, port) in SCHEMES {
        let service = lookup::getservbyport(port, None);
        out.line(format_args!(
            "{}://example.com/",
            service.as_deref().unwrap_or("<unknown>")
        ));
        let back = service
            .as_deref()
            .ok()
            .and_then(|name| lookup::getservbyname(name, None).ok());
        check(back == Some(port), || {
            format!("port {port} ({scheme}): got {service:?}, which gives port {back:?}")
        })?;
    }
    out.line("");
    for (name, expected) in [("icmp", 1), ("udp", 17), ("tcp", 6)] {
        let number = lookup::getprotobyname(name).map_err(|e| format!("{name}: {e}"))?;
        let constant = consts::name_of(IPPROTO, number)
            .ok_or_else(|| format!("protocol {name}: {number} is no IPPROTO_ constant"))?;
        let value = host_value(constant).unwrap_or(-1);
        out.line(format_args!(
            "{name:>4} -> {number:2} (socket.{constant:<12} = {value:2})"
        ));
        check(number == expected && number == value, || {
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
