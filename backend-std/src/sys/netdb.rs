//! The reentrant `<netdb.h>` look-ups that neither std, socket2 nor `dns-lookup` wrap:
//! `gethostbyname_r(3)`, `gethostbyaddr_r(3)`, `getservbyname_r(3)`, `getservbyport_r(3)`,
//! `getprotobyname_r(3)`, and the two message tables `gai_strerror(3)` / `hstrerror(3)`.
//!
//! Each wrapper owns its scratch buffer, grows it on `ERANGE` (up to [`MAX_BUF`]), and copies
//! the answer out of it before returning, so no pointer into C memory outlives the call. The
//! `_r` variants keep their state in that buffer instead of in static storage, which is what
//! makes them safe to call from several threads at once (the plain `getservbyname(3)` is not).
//!
//! The `libc` crate has the structs (`hostent`, `servent`, `protoent`) but not these
//! functions, so they are declared here with glibc's prototypes (`man 3 gethostbyname_r`).

#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int, c_void};
use std::io;
use std::ptr;

use libc::{hostent, protoent, servent, size_t, socklen_t};

/// The largest scratch buffer a look-up may grow to: a host with thousands of addresses fits.
const MAX_BUF: usize = 1 << 20;

unsafe extern "C" {
    fn gethostbyname_r(
        name: *const c_char,
        ret: *mut hostent,
        buf: *mut c_char,
        buflen: size_t,
        result: *mut *mut hostent,
        h_errnop: *mut c_int,
    ) -> c_int;
    fn gethostbyaddr_r(
        addr: *const c_void,
        len: socklen_t,
        family: c_int,
        ret: *mut hostent,
        buf: *mut c_char,
        buflen: size_t,
        result: *mut *mut hostent,
        h_errnop: *mut c_int,
    ) -> c_int;
    fn getservbyname_r(
        name: *const c_char,
        proto: *const c_char,
        ret: *mut servent,
        buf: *mut c_char,
        buflen: size_t,
        result: *mut *mut servent,
    ) -> c_int;
    fn getservbyport_r(
        port: c_int,
        proto: *const c_char,
        ret: *mut servent,
        buf: *mut c_char,
        buflen: size_t,
        result: *mut *mut servent,
    ) -> c_int;
    fn getprotobyname_r(
        name: *const c_char,
        ret: *mut protoent,
        buf: *mut c_char,
        buflen: size_t,
        result: *mut *mut protoent,
    ) -> c_int;
}

/// A `struct hostent` copied out of the C buffer. Names are raw bytes, as the resolver gave
/// them; addresses are `h_length` bytes each, in network order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostEnt {
    pub(crate) name: Vec<u8>,
    pub(crate) aliases: Vec<Vec<u8>>,
    pub(crate) family: c_int,
    pub(crate) addrs: Vec<Vec<u8>>,
}

/// A `struct servent` copied out of the C buffer; `port` in host order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServEnt {
    pub(crate) name: Vec<u8>,
    pub(crate) port: u16,
}

/// A `struct protoent` copied out of the C buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProtoEnt {
    pub(crate) number: c_int,
}

/// How a `get{serv,proto}by*_r` call ended.
#[derive(Debug)]
pub(crate) enum NssAnswer<T> {
    /// The database had the entry.
    Found(T),
    /// The database was read and has no such entry (the call returned 0 with a null result).
    NotFound,
    /// The database could not be consulted at all: glibc returned an error number, `ENOENT`
    /// when `/etc/services` (or the NSS module) is missing.
    Unavailable(io::Error),
}

/// Why a `gethostby*_r` call found nothing.
#[derive(Debug)]
pub(crate) enum HostFailure {
    /// The resolver's `h_errno` (`HOST_NOT_FOUND` = 1, `TRY_AGAIN` = 2, `NO_RECOVERY` = 3,
    /// `NO_DATA` = 4, `NETDB_INTERNAL` = -1).
    Herror(c_int),
    /// The call itself failed with an error number other than `ERANGE`.
    Os(io::Error),
}

/// `gethostbyname_r(3)`: the IPv4 host entry for `name` (glibc's `/etc/hosts`, DNS, ...).
pub(crate) fn host_by_name(name: &CStr) -> Result<HostEnt, HostFailure> {
    host_lookup(|ret, buf, len, result, h_errnop| {
        // SAFETY: `name` is a NUL-terminated string; `ret`, `result` and `h_errnop` point to
        // live, writable values and `buf` to `len` writable bytes, all owned by `host_lookup`
        // for the duration of the call.
        unsafe { gethostbyname_r(name.as_ptr(), ret, buf, len, result, h_errnop) }
    })
}

/// `gethostbyaddr_r(3)`: the host entry for the address `addr` (4 bytes for `AF_INET`, 16 for
/// `AF_INET6`, network order).
pub(crate) fn host_by_addr(addr: &[u8], family: c_int) -> Result<HostEnt, HostFailure> {
    let len = socklen_t::try_from(addr.len()).map_err(|_| {
        HostFailure::Os(io::Error::new(
            io::ErrorKind::InvalidInput,
            "address too long",
        ))
    })?;
    host_lookup(|ret, buf, buflen, result, h_errnop| {
        // SAFETY: `addr` is valid for reads of `len` bytes for the whole call; the other
        // pointers are as in `host_by_name`.
        unsafe {
            gethostbyaddr_r(
                addr.as_ptr().cast(),
                len,
                family,
                ret,
                buf,
                buflen,
                result,
                h_errnop,
            )
        }
    })
}

/// `getservbyname_r(3)`: the first service called (or aliased) `name` with protocol `proto`
/// (any when `None`).
pub(crate) fn serv_by_name(name: &CStr, proto: Option<&CStr>) -> NssAnswer<ServEnt> {
    let proto = proto.map_or(ptr::null(), CStr::as_ptr);
    serv_lookup(|ret, buf, len, result| {
        // SAFETY: `name` and `proto` (when not null) are NUL-terminated strings that outlive
        // the call; `ret`, `buf` (`len` bytes) and `result` are owned by `serv_lookup`.
        unsafe { getservbyname_r(name.as_ptr(), proto, ret, buf, len, result) }
    })
}

/// `getservbyport_r(3)`: the first service on `port` (host order) with protocol `proto`.
pub(crate) fn serv_by_port(port: u16, proto: Option<&CStr>) -> NssAnswer<ServEnt> {
    let proto = proto.map_or(ptr::null(), CStr::as_ptr);
    // The C function takes the port in network order, in an int.
    let net_port = c_int::from(port.to_be());
    serv_lookup(|ret, buf, len, result| {
        // SAFETY: as in `serv_by_name`.
        unsafe { getservbyport_r(net_port, proto, ret, buf, len, result) }
    })
}

/// `getprotobyname_r(3)`: the first protocol called (or aliased) `name`.
pub(crate) fn proto_by_name(name: &CStr) -> NssAnswer<ProtoEnt> {
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: `protoent` is plain data (pointers and an int) for which all-zero is valid.
        let mut ent: protoent = unsafe { std::mem::zeroed() };
        let mut result: *mut protoent = ptr::null_mut();
        // SAFETY: `name` is NUL-terminated; `ent`, `result` and `buf` (`buf.len()` bytes) are
        // live and writable for the call.
        let rc = unsafe {
            getprotobyname_r(
                name.as_ptr(),
                &raw mut ent,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &raw mut result,
            )
        };
        match nss_status(rc, result.is_null(), &mut buf) {
            Some(NssAnswer::Found(())) => {
                return NssAnswer::Found(ProtoEnt {
                    number: ent.p_proto,
                });
            }
            Some(NssAnswer::NotFound) => return NssAnswer::NotFound,
            Some(NssAnswer::Unavailable(e)) => return NssAnswer::Unavailable(e),
            None => {}
        }
    }
}

/// `gai_strerror(3)`: the resolver's text for a `getaddrinfo` error code.
pub(crate) fn gai_message(code: c_int) -> String {
    // SAFETY: gai_strerror returns a pointer to a static, NUL-terminated string for any code
    // (glibc: "Unknown error" for codes it does not know), never null.
    static_text(unsafe { libc::gai_strerror(code) })
}

/// `hstrerror(3)`: the resolver's text for an `h_errno` value.
pub(crate) fn h_message(code: c_int) -> String {
    // SAFETY: hstrerror returns a pointer to a static, NUL-terminated string for any code
    // (glibc: "Unknown resolver error" for codes it does not know), never null.
    static_text(unsafe { libc::hstrerror(code) })
}

/// Copies a static C string; an (unexpected) null pointer gives an empty string.
fn static_text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: `p` is non-null and, per the callers, points to a NUL-terminated static string.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Runs a `gethostby*_r` call with a growing buffer and copies the entry out.
fn host_lookup(
    mut call: impl FnMut(*mut hostent, *mut c_char, size_t, *mut *mut hostent, *mut c_int) -> c_int,
) -> Result<HostEnt, HostFailure> {
    // CPython uses a fixed 16 KiB buffer; start there and grow instead of failing.
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // SAFETY: `hostent` is plain data for which all-zero (null pointers) is valid.
        let mut ent: hostent = unsafe { std::mem::zeroed() };
        let mut result: *mut hostent = ptr::null_mut();
        let mut h_errno: c_int = 0;
        let rc = call(
            &raw mut ent,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &raw mut result,
            &raw mut h_errno,
        );
        if rc == libc::ERANGE && buf.len() < MAX_BUF {
            let bigger = buf.len() * 2;
            buf.resize(bigger, 0);
            continue;
        }
        if result.is_null() {
            // glibc reports a failed look-up through h_errno and returns 0 or an errno; a
            // NETDB_INTERNAL h_errno means "see errno", which is what `rc` then holds.
            if h_errno == -1 && rc != 0 {
                return Err(HostFailure::Os(io::Error::from_raw_os_error(rc)));
            }
            return Err(HostFailure::Herror(h_errno));
        }
        // SAFETY: the call succeeded, so `ent`'s pointers are null or point into `buf` (or to
        // static data), which is alive and unmodified until this copy is done.
        return Ok(unsafe { copy_hostent(&ent) });
    }
}

/// Runs a `getservby*_r` call with a growing buffer and copies the entry out.
fn serv_lookup(
    mut call: impl FnMut(*mut servent, *mut c_char, size_t, *mut *mut servent) -> c_int,
) -> NssAnswer<ServEnt> {
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: `servent` is plain data for which all-zero is valid.
        let mut ent: servent = unsafe { std::mem::zeroed() };
        let mut result: *mut servent = ptr::null_mut();
        let rc = call(
            &raw mut ent,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &raw mut result,
        );
        match nss_status(rc, result.is_null(), &mut buf) {
            Some(NssAnswer::Found(())) => {
                // `s_port` holds the 16-bit port in network order in the low bytes of an int.
                let port = u16::from_be(ent.s_port as u16);
                // SAFETY: the call succeeded, so `s_name` is null or a NUL-terminated string
                // in `buf`, which is still alive.
                let name = unsafe { c_bytes(ent.s_name) };
                return NssAnswer::Found(ServEnt { name, port });
            }
            Some(NssAnswer::NotFound) => return NssAnswer::NotFound,
            Some(NssAnswer::Unavailable(e)) => return NssAnswer::Unavailable(e),
            None => {}
        }
    }
}

/// Interprets a `get*_r` return code: `None` means "retry, the buffer has grown".
fn nss_status(rc: c_int, result_null: bool, buf: &mut Vec<u8>) -> Option<NssAnswer<()>> {
    match rc {
        0 if result_null => Some(NssAnswer::NotFound),
        0 => Some(NssAnswer::Found(())),
        libc::ERANGE if buf.len() < MAX_BUF => {
            let bigger = buf.len() * 2;
            buf.resize(bigger, 0);
            None
        }
        errno => Some(NssAnswer::Unavailable(io::Error::from_raw_os_error(errno))),
    }
}

/// Copies a filled-in `hostent`.
///
/// # Safety
///
/// Every pointer in `ent` must be null or valid as glibc fills it in: `h_name` a C string,
/// `h_aliases` a null-terminated array of C strings, `h_addr_list` a null-terminated array of
/// pointers to `h_length` bytes each.
unsafe fn copy_hostent(ent: &hostent) -> HostEnt {
    let len = usize::try_from(ent.h_length).unwrap_or(0);
    let mut addrs = Vec::new();
    if !ent.h_addr_list.is_null() {
        for i in 0.. {
            // SAFETY: the list is null-terminated (caller's contract), and `i` stops at the
            // first null entry, so every read is inside the array.
            let p = unsafe { *ent.h_addr_list.add(i) };
            if p.is_null() {
                break;
            }
            // SAFETY: each entry points to `h_length` readable bytes (caller's contract).
            addrs.push(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) }.to_vec());
        }
    }
    HostEnt {
        // SAFETY: per the caller's contract.
        name: unsafe { c_bytes(ent.h_name) },
        // SAFETY: per the caller's contract.
        aliases: unsafe { c_list(ent.h_aliases) },
        family: ent.h_addrtype,
        addrs,
    }
}

/// The bytes of a C string, empty for null.
///
/// # Safety
///
/// `p` is null or points to a NUL-terminated string.
unsafe fn c_bytes(p: *const c_char) -> Vec<u8> {
    if p.is_null() {
        return Vec::new();
    }
    // SAFETY: non-null and NUL-terminated (caller's contract).
    unsafe { CStr::from_ptr(p) }.to_bytes().to_vec()
}

/// The strings of a null-terminated array of C strings, empty for null.
///
/// # Safety
///
/// `list` is null or a null-terminated array of pointers to NUL-terminated strings.
unsafe fn c_list(list: *const *mut c_char) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if list.is_null() {
        return out;
    }
    for i in 0.. {
        // SAFETY: the array is null-terminated and `i` stops at the first null entry.
        let p = unsafe { *list.add(i) };
        if p.is_null() {
            break;
        }
        // SAFETY: each entry is a NUL-terminated string (caller's contract).
        out.push(unsafe { c_bytes(p) });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_glibcs() {
        assert_eq!(gai_message(libc::EAI_NONAME), "Name or service not known");
        assert_eq!(h_message(1), "Unknown host");
    }

    #[test]
    fn numeric_hosts_need_no_resolver() {
        // glibc answers a dotted quad itself, without /etc/hosts or DNS.
        let ent = host_by_name(c"10.9.0.10").unwrap();
        assert_eq!(ent.name, b"10.9.0.10");
        assert!(ent.aliases.is_empty());
        assert_eq!(ent.family, libc::AF_INET);
        assert_eq!(ent.addrs, [vec![10, 9, 0, 10]]);
    }

    #[test]
    fn services_and_protocols_through_nss() {
        // Every Debian machine has netbase's files; without them the database is unavailable,
        // which the callers answer from the built-in table.
        let files = std::path::Path::new("/etc/services").exists()
            && std::path::Path::new("/etc/protocols").exists();
        match serv_by_name(c"http", Some(c"tcp")) {
            NssAnswer::Found(s) => assert_eq!((s.name.as_slice(), s.port), (&b"http"[..], 80)),
            other => assert!(!files, "http/tcp: {other:?}"),
        }
        match serv_by_port(443, None) {
            NssAnswer::Found(s) => assert_eq!(s.name, b"https"),
            other => assert!(!files, "443: {other:?}"),
        }
        match proto_by_name(c"udp") {
            NssAnswer::Found(p) => assert_eq!(p.number, 17),
            other => assert!(!files, "udp: {other:?}"),
        }
        assert!(matches!(
            serv_by_name(c"no-such-service-here", None),
            NssAnswer::NotFound | NssAnswer::Unavailable(_)
        ));
    }

    #[test]
    fn a_full_buffer_asks_for_a_retry() {
        let mut buf = vec![0u8; 8];
        assert!(nss_status(libc::ERANGE, true, &mut buf).is_none());
        assert_eq!(buf.len(), 16);
        assert!(matches!(
            nss_status(0, true, &mut buf),
            Some(NssAnswer::NotFound)
        ));
        assert!(matches!(
            nss_status(0, false, &mut buf),
            Some(NssAnswer::Found(()))
        ));
        let Some(NssAnswer::Unavailable(e)) = nss_status(libc::ENOENT, true, &mut buf) else {
            panic!("ENOENT is an unavailable database");
        };
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    }
}
