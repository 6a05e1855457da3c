//! Look-ups that never reach a resolver: literals, the wildcard, services and protocols, and
//! the fallback rule. Look-ups against real names are in the workspace's `tests/lookup_*.rs`,
//! compared with CPython.

use super::*;

fn resolve_error(err: &io::Error) -> &ResolveError {
    ResolveError::of(err).unwrap_or_else(|| panic!("not a ResolveError: {err:?}"))
}

#[test]
fn literals_skip_the_resolver() {
    assert_eq!(
        gethostbyname("10.9.0.10").unwrap(),
        Ipv4Addr::new(10, 9, 0, 10)
    );
    assert_eq!(gethostbyname("").unwrap(), Ipv4Addr::UNSPECIFIED);
    assert_eq!(gethostbyname("<broadcast>").unwrap(), Ipv4Addr::BROADCAST);
    let entry = gethostbyname_ex("10.9.0.10").unwrap();
    assert_eq!(entry.name, "10.9.0.10");
    assert!(entry.aliases.is_empty());
    assert_eq!(entry.addresses, [IpAddr::V4(Ipv4Addr::new(10, 9, 0, 10))]);
}

#[test]
fn an_ipv6_literal_is_no_ipv4_host() {
    // getaddrinfo(AF_INET) answers EAI_ADDRFAMILY for an IPv6 literal, without a resolver.
    let err = gethostbyname("::1").unwrap_err();
    let e = resolve_error(&err);
    assert_eq!(e.origin(), ErrorOrigin::Gai);
    assert_eq!(
        e.python_str(),
        "[Errno -9] Address family for hostname not supported"
    );
    assert_eq!(e.input(), "::1");
}

#[test]
fn the_wildcard_has_two_addresses_for_gethostbyaddr() {
    let err = gethostbyaddr("").unwrap_err();
    assert_eq!(
        resolve_error(&err).python_str(),
        "wildcard resolved to multiple address"
    );
    assert_eq!(resolve_error(&err).python_type(), "OSError");
}

#[test]
fn gethostbyname_ex_of_the_empty_name_is_an_herror() {
    let err = gethostbyname_ex("").unwrap_err();
    let e = resolve_error(&err);
    assert_eq!(e.origin(), ErrorOrigin::Host);
    assert_eq!(e.python_str(), "[Errno 3] Unknown server error");
}

#[test]
fn nul_bytes_are_refused_before_any_call() {
    for err in [
        gethostbyname("a\0b").unwrap_err(),
        gethostbyname_ex("a\0b").unwrap_err(),
        gethostbyaddr("a\0b").unwrap_err(),
        getservbyname("http\0", None).unwrap_err(),
        getservbyname("http", Some("tcp\0")).unwrap_err(),
        getprotobyname("\0").unwrap_err(),
    ] {
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(resolve_error(&err).python_type(), "ValueError");
    }
}

#[test]
fn the_chapters_services_and_protocols() {
    for (name, port) in [
        ("http", 80),
        ("https", 443),
        ("ftp", 21),
        ("gopher", 70),
        ("smtp", 25),
        ("imap", 143),
        ("imaps", 993),
        ("pop3", 110),
        ("pop3s", 995),
    ] {
        assert_eq!(getservbyname(name, None).unwrap(), port, "{name}");
        assert_eq!(getservbyname(name, Some("tcp")).unwrap(), port, "{name}");
    }
    // `imap` is an alias; the entry's name is `imap2`.
    assert_eq!(getservbyport(143, None).unwrap(), "imap2");
    assert_eq!(getservbyport(21, Some("udp")).unwrap(), "fsp");
    for (name, number) in [("icmp", 1), ("udp", 17), ("tcp", 6), ("TCP", 6)] {
        assert_eq!(getprotobyname(name).unwrap(), number, "{name}");
    }
}

#[test]
fn misses_are_python_oserrors() {
    for (err, text, input) in [
        (
            getservbyname("HTTP", Some("tcp")).unwrap_err(),
            "service/proto not found",
            "HTTP/tcp",
        ),
        (
            getservbyport(1, Some("udp")).unwrap_err(),
            "port/proto not found",
            "1/udp",
        ),
        (
            getprotobyname("Tcp").unwrap_err(),
            "protocol not found",
            "Tcp",
        ),
    ] {
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let e = resolve_error(&err);
        assert_eq!((e.python_str().as_str(), e.input()), (text, input));
        assert_eq!(e.code(), None);
    }
}

#[test]
fn unavailable_databases_fall_back_to_the_builtin_table() {
    let gone = || NssAnswer::<u16>::Unavailable(io::Error::from_raw_os_error(libc::ENOENT));
    assert_eq!(from_system_or_builtin(gone(), |p| p, || Some(80)), Some(80));
    assert_eq!(from_system_or_builtin(gone(), |p| p, || None), None);
    // A database that exists but lacks the entry is the answer, as in Python.
    assert_eq!(
        from_system_or_builtin(NssAnswer::<u16>::NotFound, |p| p, || Some(80)),
        None
    );
    assert_eq!(
        from_system_or_builtin(NssAnswer::Found(8080u16), |p| p, || Some(80)),
        Some(8080)
    );
}

#[test]
fn gethostname_is_the_kernels() {
    let name = gethostname().unwrap();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(name, kernel.trim_end());
}
