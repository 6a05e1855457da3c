//! `portsock hostname` and `portsock lookup ...`: the chapter's look-up programs, printing what
//! they print (`socket_gethostbyname.py`, `socket_gethostbyname_ex.py`, `socket_getfqdn.py`,
//! `socket_gethostbyaddr.py`, `socket_getservbyname.py`, `socket_getservbyport.py`,
//! `socket_getprotobyname.py`, `socket_getaddrinfo.py`), or JSON with `--json`.
//!
//! The programs that catch look-up errors (`host`, `host-ex`; `fqdn` cannot fail) print them
//! inline, as the chapter does. The others print the answers they found and an `error: <input>:
//! <Python's message>` line on stderr for each input that failed (with `--json`, an object with
//! an `error` member in its place). Either way the exit status is 1 if any look-up in the list
//! failed, unless `--always-zero` keeps the chapter's 0 ([`status`]). Bad input (a port that is
//! no number, or out of range) is found before any look-up: one `error:` line, nothing on
//! stdout, exit 1.

mod status;

use std::fmt::Write as _;
use std::io;

use clap::{Args, Subcommand, ValueEnum};
use portsock_core::table::consts::IPPROTO;
use portsock_std::consts::{host_value, name_on_host};
use portsock_std::lookup::text::{ip_text, py_list_repr};
use portsock_std::lookup::{self, AddrInfo, AiFlags, Hints, HostEntry, ResolveError};
use serde_json::{Value, json};

use super::{CliError, Output};

/// `portsock hostname`.
#[derive(Debug, Args)]
pub(crate) struct HostnameCmd {
    /// Print `{"hostname": ...}` instead of the bare name.
    #[arg(long)]
    json: bool,
}

impl HostnameCmd {
    pub(crate) fn run(self) -> Output {
        let name = lookup::gethostname().map_err(|e| CliError::new("gethostname", e))?;
        if self.json {
            return Ok(json_line(&json!({ "hostname": name })));
        }
        Ok(format!("{name}\n"))
    }
}

/// `portsock lookup ...`.
#[derive(Debug, Args)]
pub(crate) struct LookupCmd {
    #[command(subcommand)]
    what: What,
    /// Print one JSON array (an object per input) instead of the chapter's lines.
    #[arg(long, global = true)]
    json: bool,
    /// Exit 0 even if a look-up in the list failed, as the chapter's programs do (the errors
    /// are still printed).
    #[arg(long, global = true)]
    always_zero: bool,
}

#[derive(Debug, Subcommand)]
enum What {
    /// gethostbyname: `NAME : ADDRESS` per name, errors inline.
    Host {
        /// Host names or IPv4 addresses.
        #[arg(required = true)]
        names: Vec<String>,
        /// With --backend smoltcp or embassy, the stack's DNS client asks --dns SERVER (A
        /// records).
        #[command(flatten)]
        backend: super::net::BackendArg,
    },
    /// gethostbyname_ex: canonical name, aliases and addresses per name, errors inline.
    HostEx {
        /// Host names or IPv4 addresses.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// getfqdn: `NAME : FQDN` per name (this host's when no name is given).
    Fqdn {
        /// Host names (partial ones too, completed by the resolver's search domains).
        names: Vec<String>,
    },
    /// gethostbyaddr: the reverse look-up of each address (or name).
    Addr {
        /// IP addresses (a name is resolved first, as Python does).
        #[arg(required = true)]
        addrs: Vec<String>,
    },
    /// getservbyname: the port of each service name, or of each URL's scheme.
    Service {
        /// Service names (`http`) or URLs (`https://www.mybank.com`).
        #[arg(required = true)]
        names: Vec<String>,
        /// Only entries of this protocol (`tcp`, `udp`).
        #[arg(long)]
        proto: Option<String>,
    },
    /// getservbyport: the service name of each port, as `NAME://example.com/`.
    Port {
        /// Port numbers, 0-65535.
        #[arg(required = true, allow_negative_numbers = true)]
        ports: Vec<String>,
        /// Only entries of this protocol (`tcp`, `udp`).
        #[arg(long)]
        proto: Option<String>,
    },
    /// getprotobyname: the number of each protocol, with its IPPROTO_ constant.
    Proto {
        /// Protocol names or aliases (`icmp`, `udp`, `TCP`).
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// getaddrinfo: every (family, type, protocol, canonical name, address) to reach a service.
    Addrinfo {
        /// A host name or address literal.
        host: String,
        /// A service name (`http`) or port number.
        service: String,
        /// Only this address family.
        #[arg(long, value_enum)]
        family: Option<FamilyArg>,
        /// Only this socket type.
        #[arg(long = "type", value_enum)]
        socktype: Option<TypeArg>,
        /// Only this protocol: a name from the protocols database (`tcp`, `udp`) or a number.
        #[arg(long)]
        proto: Option<String>,
        /// Ask for the canonical name (AI_CANONNAME).
        #[arg(long)]
        canonname: bool,
        /// Another AI_ flag by name (AI_PASSIVE, AI_NUMERICHOST, AI_NUMERICSERV, AI_ADDRCONFIG,
        /// AI_V4MAPPED, AI_ALL, AI_CANONNAME); repeat for several.
        #[arg(long = "flag", value_name = "AI_NAME")]
        flags: Vec<String>,
    },
}

/// `--family` for `lookup addrinfo`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum FamilyArg {
    /// AF_INET (IPv4).
    Inet,
    /// AF_INET6 (IPv6).
    Inet6,
    /// AF_UNSPEC (both; the default).
    Unspec,
}

/// `--type` for `lookup addrinfo`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum TypeArg {
    /// SOCK_STREAM (TCP).
    Stream,
    /// SOCK_DGRAM (UDP).
    Dgram,
    /// SOCK_RAW.
    Raw,
}

impl LookupCmd {
    pub(crate) fn run(self) -> Output {
        let json = self.json;
        let listed = |(out, failed)| status::finish(out, failed, self.always_zero);
        match self.what {
            What::Host { names, backend } => {
                if backend.on_embassy()? {
                    #[cfg(feature = "embassy")]
                    return listed(super::embassy::dgram::lookup_host(&backend, &names, json)?);
                }
                #[cfg(feature = "smoltcp")]
                if backend.check()? {
                    return listed(smoltcp_host(&backend, &names, json)?);
                }
                #[cfg(not(feature = "smoltcp"))]
                backend.check()?;
                listed(host(&names, json))
            }
            What::HostEx { names } => listed(host_ex(&names, json)),
            What::Fqdn { names } => fqdn(&names, json),
            What::Addr { addrs } => listed(addr(&addrs, json)),
            What::Service { names, proto } => listed(service(&names, proto.as_deref(), json)),
            What::Port { ports, proto } => listed(port(&ports, proto.as_deref(), json)?),
            What::Proto { names } => listed(proto(&names, json)),
            What::Addrinfo {
                host,
                service,
                family,
                socktype,
                proto,
                canonname,
                flags,
            } => {
                let hints = hints(family, socktype, proto.as_deref(), canonname, &flags)?;
                addrinfo(&host, &service, hints, json)
            }
        }
    }
}

/// What a list of look-ups gives: the text for stdout, and the inputs that failed.
pub(crate) type Listed = (String, Vec<CliError>);

/// `socket_gethostbyname.py`: `NAME : ADDRESS` or `NAME : <error>`.
fn host(names: &[String], json: bool) -> Listed {
    let mut out = String::new();
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for name in names {
        let result = lookup::gethostbyname(name);
        if let Err(e) = &result {
            failed.push(cli_error(name, e));
        }
        if json {
            rows.push(match &result {
                Ok(ip) => json!({ "name": name, "address": ip_text(&(*ip).into()) }),
                Err(e) => json!({ "name": name, "error": error_json(e) }),
            });
            continue;
        }
        let shown = match result {
            Ok(ip) => ip_text(&ip.into()),
            Err(e) => python_str(&e),
        };
        let _ = writeln!(out, "{name} : {shown}");
    }
    (listing(out, rows, json), failed)
}

/// The chapter's lines, or the JSON array of `rows`.
fn listing(out: String, rows: Vec<Value>, json: bool) -> String {
    if json {
        json_line(&Value::Array(rows))
    } else {
        out
    }
}

/// `lookup host --backend smoltcp`: gethostbyname through smoltcp's DNS socket (A records,
/// CNAMEs followed), printed as `host` prints it.
#[cfg(feature = "smoltcp")]
fn smoltcp_host(
    backend: &super::net::BackendArg,
    names: &[String],
    json: bool,
) -> Result<Listed, CliError> {
    use portsock_smoltcp::{DnsError, Family};
    if backend.dns.is_empty() {
        return Err(CliError::new(
            "--backend smoltcp",
            "lookup host needs --dns SERVER (the stack has no resolver configuration of its own)",
        ));
    }
    let stack = super::smol::stack(backend)?;
    Ok(stack_hosts(names, json, |name| {
        stack
            .resolve(
                name,
                Family::V4,
                portsock_core::time::Duration::from_secs(5),
            )
            .map(|ips| ips[0])
            .map_err(|e| match e {
                DnsError::NotFound => NOT_FOUND.to_owned(),
                other => other.to_string(),
            })
    }))
}

/// The chapter prints CPython's error text; the DNS answer "no such name" is glibc's
/// EAI_NONAME there.
#[cfg(any(feature = "smoltcp", feature = "embassy"))]
pub(crate) const NOT_FOUND: &str = "[Errno -2] Name or service not known";

/// `host`'s lines (or JSON) for a userspace stack's lookups, and the names that failed:
/// `resolve` gives a name's first IPv4 address or the error text to print.
#[cfg(any(feature = "smoltcp", feature = "embassy"))]
pub(crate) fn stack_hosts(
    names: &[String],
    json: bool,
    mut resolve: impl FnMut(&str) -> Result<std::net::IpAddr, String>,
) -> Listed {
    let mut out = String::new();
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for name in names {
        let result = resolve(name);
        if let Err(e) = &result {
            failed.push(CliError::new(name, e));
        }
        if json {
            rows.push(match &result {
                Ok(ip) => json!({ "name": name, "address": ip.to_string() }),
                Err(e) => json!({ "name": name, "error": { "message": e } }),
            });
            continue;
        }
        let shown = match result {
            Ok(ip) => ip.to_string(),
            Err(e) => e,
        };
        let _ = writeln!(out, "{name} : {shown}");
    }
    (listing(out, rows, json), failed)
}

/// `socket_gethostbyname_ex.py`: the name, then its entry or `ERROR: ...`, then a blank line.
fn host_ex(names: &[String], json: bool) -> Listed {
    let mut out = String::new();
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for name in names {
        let result = lookup::gethostbyname_ex(name);
        if let Err(e) = &result {
            failed.push(cli_error(name, e));
        }
        if json {
            rows.push(match &result {
                Ok(entry) => with_entry(json!({ "name": name }), entry),
                Err(e) => json!({ "name": name, "error": error_json(e) }),
            });
            continue;
        }
        let _ = writeln!(out, "{name}");
        match result {
            Ok(entry) => {
                let _ = writeln!(out, "  Hostname: {}", entry.name);
                let _ = writeln!(out, "  Aliases : {}", py_list_repr(&entry.aliases));
                let _ = writeln!(out, " Addresses: {}", addresses_repr(&entry));
            }
            Err(e) => {
                let _ = writeln!(out, "ERROR: {}", python_str(&e));
            }
        }
        out.push('\n');
    }
    (listing(out, rows, json), failed)
}

/// `socket_getfqdn.py`: `{name:>10} : {fqdn}`; with no name, this host's fully qualified name.
fn fqdn(names: &[String], json: bool) -> Output {
    let fqdn_of = |name: &str| lookup::getfqdn(name).map_err(|e| CliError::new("gethostname", e));
    if names.is_empty() {
        let fqdn = fqdn_of("")?;
        if json {
            return Ok(json_line(&json!([{ "name": "", "fqdn": fqdn }])));
        }
        return Ok(format!("{fqdn}\n"));
    }
    let mut out = String::new();
    let mut rows = Vec::new();
    for name in names {
        let fqdn = fqdn_of(name)?;
        if json {
            rows.push(json!({ "name": name, "fqdn": fqdn }));
        } else {
            let _ = writeln!(out, "{name:>10} : {fqdn}");
        }
    }
    Ok(if json {
        json_line(&Value::Array(rows))
    } else {
        out
    })
}

/// `socket_gethostbyaddr.py`: Hostname / Aliases / Addresses, a blank line between addresses.
fn addr(addrs: &[String], json: bool) -> Listed {
    let mut blocks = Vec::new();
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for input in addrs {
        let entry = match lookup::gethostbyaddr(input) {
            Ok(entry) => entry,
            Err(e) => {
                rows.push(json!({ "address": input, "error": error_json(&e) }));
                failed.push(cli_error(input, &e));
                continue;
            }
        };
        if json {
            rows.push(with_entry(json!({ "address": input }), &entry));
        } else {
            blocks.push(format!(
                "Hostname : {}\nAliases  : {}\nAddresses: {}\n",
                entry.name,
                py_list_repr(&entry.aliases),
                addresses_repr(&entry)
            ));
        }
    }
    (listing(blocks.join("\n"), rows, json), failed)
}

/// `socket_getservbyname.py`: `{scheme:>6} : {port}` for each URL's scheme (or service name).
fn service(names: &[String], proto: Option<&str>, json: bool) -> Listed {
    let mut out = String::new();
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for arg in names {
        let name = url_scheme(arg).unwrap_or_else(|| arg.clone());
        let port = match lookup::getservbyname(&name, proto) {
            Ok(port) => port,
            Err(e) => {
                rows.push(json!({ "name": arg, "service": name, "proto": proto, "error": error_json(&e) }));
                failed.push(cli_error(arg, &e));
                continue;
            }
        };
        if json {
            rows.push(json!({ "name": arg, "service": name, "proto": proto, "port": port }));
        } else {
            let _ = writeln!(out, "{name:>6} : {port}");
        }
    }
    (listing(out, rows, json), failed)
}

/// `socket_getservbyport.py`: `{name}://example.com/` for each port.
///
/// # Errors
///
/// A port that is no integer, or out of range: bad input, found before any look-up.
fn port(ports: &[String], proto: Option<&str>, json: bool) -> Result<Listed, CliError> {
    let numbers = ports
        .iter()
        .map(|arg| {
            let number: i64 = arg
                .parse()
                .map_err(|_| CliError::new(format_args!("port {arg:?}"), "expected an integer"))?;
            // Python checks the range before the look-up (OverflowError).
            u16::try_from(number).map_err(|_| {
                CliError::new(
                    format_args!("port {arg}"),
                    "getservbyport: port must be 0-65535.",
                )
            })
        })
        .collect::<Result<Vec<u16>, CliError>>()?;
    let mut out = String::new();
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for (arg, number) in ports.iter().zip(numbers) {
        let name = match lookup::getservbyport(number, proto) {
            Ok(name) => name,
            Err(e) => {
                rows.push(json!({ "port": number, "proto": proto, "error": error_json(&e) }));
                failed.push(cli_error(arg, &e));
                continue;
            }
        };
        if json {
            rows.push(json!({ "port": number, "proto": proto, "name": name }));
        } else {
            let _ = writeln!(out, "{name}://example.com/");
        }
    }
    Ok((listing(out, rows, json), failed))
}

/// `socket_getprotobyname.py`: `{name:>4} -> {number:2} (socket.{constant:<12} = {value:2})`.
fn proto(names: &[String], json: bool) -> Listed {
    let mut out = String::new();
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for name in names {
        let number = match lookup::getprotobyname(name) {
            Ok(number) => number,
            Err(e) => {
                rows.push(json!({ "name": name, "error": error_json(&e) }));
                failed.push(cli_error(name, &e));
                continue;
            }
        };
        let constant = name_on_host(IPPROTO, number);
        if json {
            rows.push(json!({ "name": name, "number": number, "constant": constant }));
            continue;
        }
        match constant {
            Some(c) => {
                let _ = writeln!(out, "{name:>4} -> {number:2} (socket.{c:<12} = {number:2})");
            }
            // The chapter's program has no line for a protocol without a constant (KeyError).
            None => {
                let _ = writeln!(out, "{name:>4} -> {number:2}");
            }
        }
    }
    (listing(out, rows, json), failed)
}

/// `socket_getaddrinfo.py` / `socket_getaddrinfo_extra_args.py`: five lines and a blank line
/// per result.
fn addrinfo(host: &str, service: &str, hints: Hints, json: bool) -> Output {
    let found = lookup::getaddrinfo(Some(host), Some(service), hints)
        .map_err(|e| cli_error(&format!("{host} {service}"), &e))?;
    if json {
        return Ok(json_line(&Value::Array(
            found.iter().map(addrinfo_json).collect(),
        )));
    }
    Ok(found.iter().map(|a| format!("{a}\n\n")).collect())
}

/// The hints from `lookup addrinfo`'s options, with this host's constant values.
fn hints(
    family: Option<FamilyArg>,
    socktype: Option<TypeArg>,
    proto: Option<&str>,
    canonname: bool,
    flag_names: &[String],
) -> Result<Hints, CliError> {
    let constant = |name: &str| {
        host_value(name).ok_or_else(|| CliError::new(name, "not defined on this platform"))
    };
    let family = match family {
        None | Some(FamilyArg::Unspec) => 0,
        Some(FamilyArg::Inet) => constant("AF_INET")?,
        Some(FamilyArg::Inet6) => constant("AF_INET6")?,
    };
    let socktype = match socktype {
        None => 0,
        Some(TypeArg::Stream) => constant("SOCK_STREAM")?,
        Some(TypeArg::Dgram) => constant("SOCK_DGRAM")?,
        Some(TypeArg::Raw) => constant("SOCK_RAW")?,
    };
    let protocol = match proto {
        None => 0,
        Some(p) => match p.parse::<i32>() {
            Ok(n) => n,
            Err(_) => lookup::getprotobyname(p).map_err(|e| cli_error(p, &e))?,
        },
    };
    let mut flags = if canonname {
        AiFlags::CANONNAME
    } else {
        AiFlags::NONE
    };
    for name in flag_names {
        let upper = name.to_ascii_uppercase();
        let full = if upper.starts_with("AI_") {
            upper
        } else {
            format!("AI_{upper}")
        };
        flags |= AiFlags::by_name(&full).ok_or_else(|| {
            CliError::new(
                format_args!("flag {name:?}"),
                "expected one of AI_ADDRCONFIG, AI_ALL, AI_CANONNAME, AI_NUMERICHOST, \
                 AI_NUMERICSERV, AI_PASSIVE, AI_V4MAPPED",
            )
        })?;
    }
    Ok(Hints {
        family,
        socktype,
        protocol,
        flags,
    })
}

/// The scheme of a URL as Python's `urlparse` finds it (lowercased), or `None` for a plain
/// name: the text before the first `:`, if it starts with a letter and has only letters,
/// digits, `+`, `-` and `.`.
fn url_scheme(arg: &str) -> Option<String> {
    let (scheme, _) = arg.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

/// Python's list of address strings: `['10.9.0.10']`.
fn addresses_repr(entry: &HostEntry) -> String {
    py_list_repr(entry.addresses.iter().map(ip_text))
}

/// `object` with a host entry's `hostname`, `aliases` and `addresses`.
fn with_entry(mut object: Value, entry: &HostEntry) -> Value {
    object["hostname"] = json!(entry.name);
    object["aliases"] = json!(entry.aliases);
    object["addresses"] = json!(entry.addresses.iter().map(ip_text).collect::<Vec<_>>());
    object
}

/// One `getaddrinfo` result: numbers, their constant names, and the address tuple as a list.
fn addrinfo_json(a: &AddrInfo) -> Value {
    let ip = ip_text(&a.sockaddr.ip());
    let sockaddr = match a.sockaddr {
        std::net::SocketAddr::V4(v4) => json!([ip, v4.port()]),
        std::net::SocketAddr::V6(v6) => json!([ip, v6.port(), v6.flowinfo(), v6.scope_id()]),
    };
    json!({
        "family": a.family,
        "family_name": a.family_name(),
        "type": a.socktype,
        "type_name": a.socktype_name(),
        "proto": a.protocol,
        "proto_name": a.protocol_name(),
        "canonname": a.canonname,
        "sockaddr": sockaddr,
    })
}

/// An error as `{"type": "gaierror", "errno": -2, "message": "Name or service not known"}`.
fn error_json(err: &io::Error) -> Value {
    match ResolveError::of(err) {
        Some(e) => json!({ "type": e.python_type(), "errno": e.code(), "message": e.message() }),
        None => {
            json!({ "type": "OSError", "errno": err.raw_os_error(), "message": err.to_string() })
        }
    }
}

/// What Python prints for the exception: `[Errno -2] Name or service not known`.
fn python_str(err: &io::Error) -> String {
    ResolveError::of(err).map_or_else(|| err.to_string(), ResolveError::python_str)
}

/// The CLI's error line for a failed look-up of `input`.
fn cli_error(input: &str, err: &io::Error) -> CliError {
    CliError::new(input, python_str(err))
}

fn json_line(value: &Value) -> String {
    format!("{value}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes_as_urlparse_finds_them() {
        assert_eq!(url_scheme("http://www.python.org").as_deref(), Some("http"));
        assert_eq!(
            url_scheme("POP3S://pop.example.com").as_deref(),
            Some("pop3s")
        );
        assert_eq!(url_scheme("svn+ssh://host").as_deref(), Some("svn+ssh"));
        assert_eq!(url_scheme("http"), None);
        assert_eq!(url_scheme("://x"), None);
        assert_eq!(url_scheme("1http://x"), None);
    }

    #[test]
    fn hints_from_options() {
        let h = hints(
            Some(FamilyArg::Inet),
            Some(TypeArg::Stream),
            Some("tcp"),
            true,
            &["passive".to_owned(), "AI_NUMERICSERV".to_owned()],
        )
        .unwrap();
        assert_eq!((h.family, h.socktype, h.protocol), (2, 1, 6));
        assert_eq!(
            h.flags,
            AiFlags::CANONNAME | AiFlags::PASSIVE | AiFlags::NUMERICSERV
        );
        assert_eq!(
            hints(None, None, Some("17"), false, &[]).unwrap().protocol,
            17
        );
        assert!(hints(None, None, None, false, &["AI_NOPE".to_owned()]).is_err());
        assert!(hints(None, None, Some("nosuchproto"), false, &[]).is_err());
    }

    #[test]
    fn the_chapters_protocol_lines() {
        let (out, failed) = proto(&["icmp".into(), "udp".into(), "tcp".into()], false);
        assert!(failed.is_empty());
        assert_eq!(
            out,
            "icmp ->  1 (socket.IPPROTO_ICMP =  1)\n udp -> 17 (socket.IPPROTO_UDP  = 17)\n \
             tcp ->  6 (socket.IPPROTO_TCP  =  6)\n"
        );
    }
}
