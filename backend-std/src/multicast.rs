//! Multicast on a [`UdpSocket`]: the core's [`Multicast`] over socket2, and the chapter's raw
//! way next to it.
//!
//! **The idiomatic way** is the [`Multicast`] trait: [`join`](Multicast::join) takes the
//! core's validated [`MembershipRequest`] (a group in 224.0.0.0/4 or ff00::/8 and an
//! interface) and calls socket2's `join_multicast_v4` (interface by address),
//! `join_multicast_v4_n` (by index, an `ip_mreqn`) or `join_multicast_v6`. Build the request
//! with [`membership`], which turns a bad group into an `InvalidInput` `io::Error` ("group
//! 10.0.0.1: not a multicast address (expected 224.0.0.0/4)"), or call
//! [`UdpSocket::join_group`], which does both.
//!
//! **The chapter's way** packs the request itself with `struct.pack('4sL',
//! socket.inet_aton(group), socket.INADDR_ANY)` and hands the bytes to
//! `setsockopt(IP_ADD_MEMBERSHIP)`. [`UdpSocket::join_chapter`] does exactly that: the bytes
//! come from the core's struct codec
//! ([`wire::mreq::chapter_request`](portsock_core::wire::mreq::chapter_request)) and go
//! through `libc::setsockopt` unchanged, via [`UdpSocket::join_raw`], which takes any
//! membership layout the kernel reads (`ip_mreq`, `ip_mreqn`, `ipv6_mreq`, for instance from
//! [`MembershipRequest::emit`]). The chapter's request names no interface (`INADDR_ANY`), so
//! the kernel joins on the interface its routing table picks for the group, which on a host
//! with a default route is not the loopback; see the module
//! [`portsock_core::wire::mreq`] for why its 16 bytes still work on 64-bit Linux.
//!
//! Joining on the loopback, which keeps every datagram on this host (`ip(7)`: the interface
//! by address; the sender's `IP_MULTICAST_IF` picks the same one):
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr, SocketAddr};
//! use portsock_std::prelude::*;
//! use portsock_std::udp::UdpSocket;
//!
//! const GROUP: Ipv4Addr = Ipv4Addr::new(224, 3, 29, 71);
//! let lo = Interface::Addr(Ipv4Addr::LOCALHOST);
//!
//! let mut receiver = UdpSocket::bind("0.0.0.0:0".parse()?)?;
//! receiver.join_group(IpAddr::V4(GROUP), lo)?;
//! let port = receiver.local_addr()?.port();
//!
//! let mut sender = UdpSocket::bind("127.0.0.1:0".parse()?)?;
//! sender.set_multicast_interface(lo)?;
//! sender.set_multicast_ttl(1)?;
//! sender.send_to(b"very important data", &SocketAddr::from((GROUP, port)))?;
//!
//! let mut buf = [0u8; 64];
//! let got = receiver.recv_from(&mut buf, Some(SystemClock.now() + Duration::from_secs(5)))?;
//! assert_eq!(got.map(|r| r.len), Some(19));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsFd;

use embedded_io::Error as _;
use portsock_core::transport::{Interface, MembershipRequest, Multicast};
use portsock_core::wire::mreq::{self, IpMreqn, Layout, MembershipError};
use socket2::{InterfaceIndexOrAddress, Socket};

use crate::sys;
use crate::udp::UdpSocket;

/// A [`MembershipRequest`] for `group` on `interface`, with the core's validation error as an
/// `io::Error` of kind `InvalidInput`.
///
/// # Errors
///
/// `InvalidInput` if `group` is not multicast (224.0.0.0/4, ff00::/8), or is IPv6 with an IPv4
/// interface address; the message names the group and what was expected.
pub fn membership(group: IpAddr, interface: Interface) -> io::Result<MembershipRequest> {
    MembershipRequest::new(group, interface).map_err(membership_error)
}

impl UdpSocket {
    /// Joins `group` on `interface`: [`membership`] then [`Multicast::join`].
    ///
    /// # Errors
    ///
    /// As [`membership`] and [`Multicast::join`].
    pub fn join_group(&mut self, group: IpAddr, interface: Interface) -> io::Result<()> {
        let request = membership(group, interface)?;
        self.join(&request)
    }

    /// Leaves `group` joined on `interface`: [`membership`] then [`Multicast::leave`].
    ///
    /// # Errors
    ///
    /// As [`membership`] and [`Multicast::leave`].
    pub fn leave_group(&mut self, group: IpAddr, interface: Interface) -> io::Result<()> {
        let request = membership(group, interface)?;
        self.leave(&request)
    }

    /// The chapter's join: packs `struct.pack('4sL', inet_aton(group), INADDR_ANY)` with the
    /// core's struct codec and passes the bytes to `setsockopt(IP_ADD_MEMBERSHIP)`
    /// ([`join_raw`](Self::join_raw)).
    ///
    /// The request names no interface, so the kernel picks the one its routing table has for
    /// `group`: on a host with a default route that is not the loopback, and the join is
    /// announced (IGMP) on that network. Use [`join_group`](Self::join_group) with an
    /// interface to stay on one.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `group` is not multicast or the socket is IPv6; `setsockopt(2)`'s
    /// error (`ENODEV` when no route leads to the group).
    pub fn join_chapter(&mut self, group: Ipv4Addr) -> io::Result<()> {
        MembershipRequest::v4(group, Interface::Any).map_err(membership_error)?;
        let request =
            mreq::chapter_request(group).map_err(|e| io::Error::new(e.kind().into(), e))?;
        self.join_raw(request.as_bytes())
    }

    /// `setsockopt(IP_ADD_MEMBERSHIP)` (IPv4 socket) or `setsockopt(IPV6_ADD_MEMBERSHIP)`
    /// (IPv6 socket) with `optval` passed through `libc` as it is: an `ip_mreq` (8 bytes),
    /// an `ip_mreqn` (12 bytes or more, as Linux reads any longer value, which is how the
    /// chapter's 16-byte `'4sL'` works) or an `ipv6_mreq` (20 bytes).
    ///
    /// The bytes are first read the way the kernel will read them
    /// ([`MembershipRequest::parse_ip_option`], [`MembershipRequest::parse`]), so a short
    /// value or a group that is not multicast gets a clear error instead of `EINVAL`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a value too short for its layout, `InvalidData` for a group that is
    /// not multicast; `setsockopt(2)`'s error.
    pub fn join_raw(&mut self, optval: &[u8]) -> io::Result<()> {
        self.membership_raw(optval, true)
    }

    /// `setsockopt(IP_DROP_MEMBERSHIP)` / `setsockopt(IPV6_DROP_MEMBERSHIP)` with `optval`, as
    /// [`join_raw`](Self::join_raw).
    ///
    /// # Errors
    ///
    /// As [`join_raw`](Self::join_raw); `AddrNotAvailable` if this socket has no such
    /// membership.
    pub fn leave_raw(&mut self, optval: &[u8]) -> io::Result<()> {
        self.membership_raw(optval, false)
    }

    fn options(&self) -> Options<'_> {
        Options::new(self.socket(), self.is_ipv6())
    }

    fn membership_raw(&mut self, optval: &[u8], join: bool) -> io::Result<()> {
        let parsed = if self.is_ipv6() {
            MembershipRequest::parse(Layout::Ipv6Mreq, optval)
        } else {
            MembershipRequest::parse_ip_option(optval)
        };
        parsed.map_err(|e| io::Error::new(e.kind().into(), e))?;
        let (level, name) = match (self.is_ipv6(), join) {
            (false, true) => (libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP),
            (false, false) => (libc::IPPROTO_IP, libc::IP_DROP_MEMBERSHIP),
            (true, true) => (libc::IPPROTO_IPV6, libc::IPV6_ADD_MEMBERSHIP),
            (true, false) => (libc::IPPROTO_IPV6, libc::IPV6_DROP_MEMBERSHIP),
        };
        sys::setsockopt_bytes(self.as_fd(), level, name, optval)
    }
}

impl Multicast for UdpSocket {
    /// Joins with socket2: `join_multicast_v4` for an interface address (or any),
    /// `join_multicast_v4_n` (`ip_mreqn`) for an interface index, `join_multicast_v6`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the group's family is not the socket's; the kernel's error with the
    /// group and interface named (`ENODEV`: no such interface, `EADDRINUSE`: already joined).
    fn join(&mut self, request: &MembershipRequest) -> io::Result<()> {
        self.options().join(request)
    }

    fn leave(&mut self, request: &MembershipRequest) -> io::Result<()> {
        self.options().leave(request)
    }

    fn set_multicast_ttl(&mut self, ttl: u8) -> io::Result<()> {
        self.options().set_multicast_ttl(ttl)
    }

    fn multicast_ttl(&self) -> io::Result<u8> {
        self.options().multicast_ttl()
    }

    fn set_multicast_loop(&mut self, on: bool) -> io::Result<()> {
        self.options().set_multicast_loop(on)
    }

    fn multicast_loop(&self) -> io::Result<bool> {
        self.options().multicast_loop()
    }

    /// `IP_MULTICAST_IF` with an address (any: `0.0.0.0`) or, for an index, an `ip_mreqn`
    /// laid out by the core's [`IpMreqn`] view; `IPV6_MULTICAST_IF` with an index (any: 0).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an IPv4 address on an IPv6 socket; the kernel's error (`ENODEV`,
    /// `EADDRNOTAVAIL`: no interface has that address or index).
    fn set_multicast_interface(&mut self, interface: Interface) -> io::Result<()> {
        self.options().set_multicast_interface(interface)
    }
}

/// The multicast options of one UDP socket, whichever wrapper holds it: the blocking
/// [`UdpSocket`] here and the tokio one (feature `tokio`) share this code.
pub(crate) struct Options<'a> {
    socket: &'a Socket,
    ipv6: bool,
}

impl<'a> Options<'a> {
    /// The options of `socket`, an IPv6 one if `ipv6`.
    pub(crate) fn new(socket: &'a Socket, ipv6: bool) -> Self {
        Self { socket, ipv6 }
    }

    fn is_ipv6(&self) -> bool {
        self.ipv6
    }

    fn socket(&self) -> &Socket {
        self.socket
    }

    /// Joins with socket2: `join_multicast_v4` for an interface address (or any),
    /// `join_multicast_v4_n` (`ip_mreqn`) for an interface index, `join_multicast_v6`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the group's family is not the socket's; the kernel's error with the
    /// group and interface named (`ENODEV`: no such interface, `EADDRINUSE`: already joined).
    pub(crate) fn join(&self, request: &MembershipRequest) -> io::Result<()> {
        self.check_family(request.group())?;
        if self.is_ipv6() {
            self.membership_v6(request, true)
        } else {
            self.membership_v4(request, true)
        }
    }

    pub(crate) fn leave(&self, request: &MembershipRequest) -> io::Result<()> {
        self.check_family(request.group())?;
        if self.is_ipv6() {
            self.membership_v6(request, false)
        } else {
            self.membership_v4(request, false)
        }
    }

    pub(crate) fn set_multicast_ttl(&self, ttl: u8) -> io::Result<()> {
        if self.is_ipv6() {
            self.socket().set_multicast_hops_v6(u32::from(ttl))
        } else {
            self.socket().set_multicast_ttl_v4(u32::from(ttl))
        }
    }

    pub(crate) fn multicast_ttl(&self) -> io::Result<u8> {
        let ttl = if self.is_ipv6() {
            self.socket().multicast_hops_v6()?
        } else {
            self.socket().multicast_ttl_v4()?
        };
        u8::try_from(ttl).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the kernel reports a multicast TTL of {ttl}"),
            )
        })
    }

    pub(crate) fn set_multicast_loop(&self, on: bool) -> io::Result<()> {
        if self.is_ipv6() {
            self.socket().set_multicast_loop_v6(on)
        } else {
            self.socket().set_multicast_loop_v4(on)
        }
    }

    pub(crate) fn multicast_loop(&self) -> io::Result<bool> {
        if self.is_ipv6() {
            self.socket().multicast_loop_v6()
        } else {
            self.socket().multicast_loop_v4()
        }
    }

    /// `IP_MULTICAST_IF` with an address (any: `0.0.0.0`) or, for an index, an `ip_mreqn`
    /// laid out by the core's [`IpMreqn`] view; `IPV6_MULTICAST_IF` with an index (any: 0).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an IPv4 address on an IPv6 socket; the kernel's error (`ENODEV`,
    /// `EADDRNOTAVAIL`: no interface has that address or index).
    pub(crate) fn set_multicast_interface(&self, interface: Interface) -> io::Result<()> {
        let result = match (self.is_ipv6(), interface) {
            (false, Interface::Any) => self.socket().set_multicast_if_v4(&Ipv4Addr::UNSPECIFIED),
            (false, Interface::Addr(a)) => self.socket().set_multicast_if_v4(&a),
            (false, Interface::Index(i)) => {
                let mut request = IpMreqn::new_unchecked([0u8; Layout::IpMreqn.size()]);
                request.set_ifindex(i);
                sys::setsockopt_bytes(
                    self.socket.as_fd(),
                    libc::IPPROTO_IP,
                    libc::IP_MULTICAST_IF,
                    &request.into_inner(),
                )
            }
            (true, Interface::Any) => self.socket().set_multicast_if_v6(0),
            (true, Interface::Index(i)) => self.socket().set_multicast_if_v6(i),
            (true, Interface::Addr(a)) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("interface {a}: an IPv6 socket names its multicast interface by index"),
                ));
            }
            (_, other) => return Err(unsupported_interface(other)),
        };
        result.map_err(|e| {
            crate::sock::context(
                e,
                format!("multicast interface {}", interface_name(interface)),
            )
        })
    }

    /// Checks that `group` is of this socket's family.
    fn check_family(&self, group: IpAddr) -> io::Result<()> {
        if group.is_ipv6() == self.is_ipv6() {
            return Ok(());
        }
        let (theirs, ours) = if self.is_ipv6() {
            ("IPv4", "IPv6")
        } else {
            ("IPv6", "IPv4")
        };
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "group {group} is {theirs}, but this socket is {ours}; bind an {theirs} socket for it"
            ),
        ))
    }

    fn membership_v4(&self, request: &MembershipRequest, join: bool) -> io::Result<()> {
        let IpAddr::V4(group) = request.group() else {
            return self.check_family(request.group());
        };
        let socket = self.socket;
        let result = match (request.interface(), join) {
            (Interface::Any, true) => socket.join_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED),
            (Interface::Any, false) => socket.leave_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED),
            (Interface::Addr(a), true) => socket.join_multicast_v4(&group, &a),
            (Interface::Addr(a), false) => socket.leave_multicast_v4(&group, &a),
            (Interface::Index(i), true) => {
                socket.join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(i))
            }
            (Interface::Index(i), false) => {
                socket.leave_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(i))
            }
            (other, _) => return Err(unsupported_interface(other)),
        };
        result.map_err(|e| membership_context(e, request, join))
    }

    fn membership_v6(&self, request: &MembershipRequest, join: bool) -> io::Result<()> {
        let IpAddr::V6(group) = request.group() else {
            return self.check_family(request.group());
        };
        let index = match request.interface() {
            Interface::Any => 0,
            Interface::Index(i) => i,
            other => return Err(unsupported_interface(other)),
        };
        let socket = self.socket;
        let result = if join {
            socket.join_multicast_v6(&group, index)
        } else {
            socket.leave_multicast_v6(&group, index)
        };
        result.map_err(|e| membership_context(e, request, join))
    }
}

/// The core's validation error as an `io::Error` of its kind (`InvalidInput`).
fn membership_error(e: MembershipError) -> io::Error {
    io::Error::new(e.kind().into(), e)
}

fn membership_context(e: io::Error, request: &MembershipRequest, join: bool) -> io::Error {
    let verb = if join { "join" } else { "leave" };
    crate::sock::context(
        e,
        format!(
            "{verb} group {} on {}",
            request.group(),
            interface_name(request.interface())
        ),
    )
}

fn interface_name(interface: Interface) -> String {
    match interface {
        Interface::Any => "any interface".into(),
        Interface::Addr(a) => format!("interface {a}"),
        Interface::Index(i) => format!("interface index {i}"),
        other => format!("{other:?}"),
    }
}

fn unsupported_interface(interface: Interface) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{interface:?}: interface kind not supported by portsock-std"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_refuses_non_multicast_groups_as_invalid_input() {
        let err = membership("10.0.0.1".parse().unwrap(), Interface::Any).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            err.to_string(),
            "group 10.0.0.1: not a multicast address (expected 224.0.0.0/4)"
        );
        let err = membership("::1".parse().unwrap(), Interface::Any).unwrap_err();
        assert_eq!(
            err.to_string(),
            "group ::1: not a multicast address (expected ff00::/8)"
        );
        let err = membership(
            "ff02::1".parse().unwrap(),
            Interface::Addr(Ipv4Addr::LOCALHOST),
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(
            membership(
                "224.3.29.71".parse().unwrap(),
                Interface::Addr(Ipv4Addr::LOCALHOST)
            )
            .is_ok()
        );
    }

    #[test]
    fn interface_names_read_well() {
        assert_eq!(interface_name(Interface::Any), "any interface");
        assert_eq!(
            interface_name(Interface::Addr(Ipv4Addr::LOCALHOST)),
            "interface 127.0.0.1"
        );
        assert_eq!(interface_name(Interface::Index(1)), "interface index 1");
    }
}
