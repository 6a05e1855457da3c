//! The tour's look-up sections: host names (`gethostname`, `gethostbyname`, `gethostbyname_ex`,
//! `getfqdn`, `gethostbyaddr`) and server addresses (`getaddrinfo`, unfiltered and filtered
//! with `AI_CANONNAME`), asked only about this machine's own names, so they answer the same on
//! a fresh machine with no network: `localhost` and `127.0.0.1` come from `/etc/hosts`.
//!
//! What the system answers is shown as it is (a machine may list `localhost` under another
//! canonical name, or have no IPv6 loopback); what is checked is what every such answer has in
//! common: `localhost` is among the names, every address is a loopback address, and the
//! reverse look-up leads back to an address of the same name.

use std::net::IpAddr;

use portsock_std::consts::host_value;
use portsock_std::lookup::text::{ip_text, py_list_repr};
use portsock_std::lookup::{self, AiFlags, Hints, HostEntry};

use super::{Verdict, check};
use crate::cli::net::Out;

/// The name every section asks about.
const LOCALHOST: &str = "localhost";
/// The address the reverse look-up asks about.
const LOOPBACK: &str = "127.0.0.1";

pub(super) fn host_names(out: &mut Out) -> Verdict {
    // The system's own answers (gethostname(2), then glibc's resolver: /etc/hosts for
    // `localhost`), asked only about this machine.
    let name = lookup::gethostname().map_err(|e| format!("gethostname: {e}"))?;
    out.line(format_args!("gethostname() : {name}"));
    check(!name.is_empty(), || "the host name is empty".into())?;
    let v4 = lookup::gethostbyname(LOCALHOST).map_err(|e| format!("{LOCALHOST}: {e}"))?;
    out.line(format_args!("{LOCALHOST} : {v4}"));
    check(v4.is_loopback(), || {
        format!("{LOCALHOST} resolves beyond the loopback: {v4}")
    })?;

    // socket_gethostbyname_ex.py: the canonical name, the other names, every address.
    out.line("");
    let entry = lookup::gethostbyname_ex(LOCALHOST)
        .map_err(|e| format!("gethostbyname_ex({LOCALHOST}): {e}"))?;
    out.line(LOCALHOST);
    print_entry(out, "  Hostname:", "  Aliases :", " Addresses:", &entry);
    check(names(&entry).any(|n| n == LOCALHOST), || {
        format!("gethostbyname_ex({LOCALHOST}) does not name {LOCALHOST}: {entry:?}")
    })?;
    all_loopback(&entry)?;

    // socket_getfqdn.py: the fully qualified name, which for a name without a dot in its
    // entry is the name the reverse look-up gives.
    out.line("");
    let fqdn = lookup::getfqdn(LOCALHOST).map_err(|e| format!("getfqdn({LOCALHOST}): {e}"))?;
    out.line(format_args!("{LOCALHOST:>10} : {fqdn}"));
    let back = lookup::gethostbyname(&fqdn).map_err(|e| format!("{fqdn}: {e}"))?;
    check(back.is_loopback(), || {
        format!("getfqdn({LOCALHOST}) is {fqdn}, which resolves to {back}")
    })?;

    // socket_gethostbyaddr.py: the reverse look-up of the loopback address.
    out.line("");
    let entry =
        lookup::gethostbyaddr(LOOPBACK).map_err(|e| format!("gethostbyaddr({LOOPBACK}): {e}"))?;
    print_entry(out, "Hostname :", "Aliases  :", "Addresses:", &entry);
    check(
        entry.addresses.iter().any(|a| a.to_string() == LOOPBACK),
        || format!("gethostbyaddr({LOOPBACK}) lists other addresses: {entry:?}"),
    )?;
    let forward = lookup::gethostbyname(&entry.name).map_err(|e| format!("{}: {e}", entry.name))?;
    check(forward.is_loopback(), || {
        format!(
            "{LOOPBACK} is named {}, which resolves to {forward}",
            entry.name
        )
    })
}

pub(super) fn addresses(out: &mut Out) -> Verdict {
    let constant =
        |name: &str| host_value(name).ok_or_else(|| format!("{name} is not defined here"));
    // socket_getaddrinfo.py: every way to reach the service, no filter.
    out.line(format_args!("getaddrinfo('{LOCALHOST}', 'http')"));
    let found = lookup::getaddrinfo(Some(LOCALHOST), Some("http"), Hints::default())
        .map_err(|e| format!("getaddrinfo({LOCALHOST}, http): {e}"))?;
    for info in &found {
        out.line("");
        for line in info.to_string().lines() {
            out.line(line);
        }
    }
    check(!found.is_empty(), || {
        format!("getaddrinfo({LOCALHOST}, http) found nothing")
    })?;
    check(
        found
            .iter()
            .all(|a| a.sockaddr.ip().is_loopback() && a.sockaddr.port() == 80),
        || format!("{LOCALHOST}:http resolves beyond the loopback or port 80: {found:?}"),
    )?;
    check(found.iter().all(|a| a.canonname.is_empty()), || {
        format!("a canonical name came back unasked: {found:?}")
    })?;

    // socket_getaddrinfo_extra_args.py: IPv4 TCP only, with the canonical name.
    let hints = Hints {
        family: constant("AF_INET")?,
        socktype: constant("SOCK_STREAM")?,
        protocol: constant("IPPROTO_TCP")?,
        flags: AiFlags::CANONNAME,
    };
    out.line("");
    out.line(format_args!(
        "getaddrinfo('{LOCALHOST}', 'http', AF_INET, SOCK_STREAM, IPPROTO_TCP, AI_CANONNAME)"
    ));
    let filtered = lookup::getaddrinfo(Some(LOCALHOST), Some("http"), hints)
        .map_err(|e| format!("getaddrinfo({LOCALHOST}, http, ...): {e}"))?;
    for info in &filtered {
        out.line("");
        for line in info.to_string().lines() {
            out.line(line);
        }
    }
    check(!filtered.is_empty(), || {
        "the filtered getaddrinfo found nothing".into()
    })?;
    check(
        filtered.iter().all(|a| {
            a.family == hints.family
                && a.socktype == hints.socktype
                && a.protocol == hints.protocol
                && a.sockaddr.ip().is_loopback()
        }),
        || format!("the filter let other results through: {filtered:?}"),
    )?;
    // glibc gives the canonical name in the first result only.
    check(!filtered[0].canonname.is_empty(), || {
        "AI_CANONNAME asked, but no canonical name came back".into()
    })?;
    check(found.len() >= filtered.len(), || {
        format!(
            "the unfiltered call found {}, fewer than the filtered {}",
            found.len(),
            filtered.len()
        )
    })
}

/// Prints a host entry under the chapter's three labels.
fn print_entry(out: &mut Out, host: &str, aliases: &str, addresses: &str, entry: &HostEntry) {
    out.line(format_args!("{host} {}", entry.name));
    out.line(format_args!("{aliases} {}", py_list_repr(&entry.aliases)));
    out.line(format_args!(
        "{addresses} {}",
        py_list_repr(entry.addresses.iter().map(ip_text))
    ));
}

/// The canonical name and the aliases.
fn names(entry: &HostEntry) -> impl Iterator<Item = &str> {
    std::iter::once(entry.name.as_str()).chain(entry.aliases.iter().map(String::as_str))
}

fn all_loopback(entry: &HostEntry) -> Verdict {
    check(
        !entry.addresses.is_empty() && entry.addresses.iter().all(IpAddr::is_loopback),
        || {
            format!(
                "{} has addresses beyond the loopback: {entry:?}",
                entry.name
            )
        },
    )
}
