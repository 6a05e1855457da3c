//! Multicast membership requests: the `ip_mreq`, `ip_mreqn` and `ipv6_mreq` byte layouts that
//! `setsockopt(IP_ADD_MEMBERSHIP / IPV6_ADD_MEMBERSHIP)` takes (`ip(7)`, `ipv6(7)`), and the
//! [`MembershipRequest`] value they carry.
//!
//! | layout | bytes | fields |
//! |---|---|---|
//! | [`IpMreq`] (`struct ip_mreq`) | 8 | group `in_addr` 0..4, interface address `in_addr` 4..8 |
//! | [`IpMreqn`] (`struct ip_mreqn`) | 12 | group 0..4, interface address 4..8, interface index `int` 8..12 |
//! | [`Ipv6Mreq`] (`struct ipv6_mreq`) | 20 | group `in6_addr` 0..16, interface index `unsigned int` 16..20 |
//!
//! Addresses are in network byte order (their octets in order); interface indices are native
//! endian, as the kernel reads them.
//!
//! The views follow smoltcp's wire contract: [`IpMreq::new_checked`] checks the length once, and
//! after that no accessor panics. [`MembershipRequest::parse`] additionally refuses a group
//! that is not multicast, so a `MembershipRequest` always holds a valid request.
//!
//! # The chapter's request
//!
//! The chapter joins with `struct.pack('4sL', socket.inet_aton(group), socket.INADDR_ANY)`.
//! Native `L` is a C `unsigned long`: 8 bytes aligned to 8 on 64-bit Linux, so the request is
//! 16 bytes (group, 4 bytes of padding, a zero `u64`), not the 8 of an `ip_mreq`. Linux accepts
//! it because `IP_ADD_MEMBERSHIP` reads any option of 12 bytes or more as an `ip_mreqn`: group,
//! address 0.0.0.0 (the padding), index 0 (half of the zero `u64`), which means "any
//! interface", the same as the `ip_mreq` the chapter meant. [`chapter_request`] builds those
//! bytes with the struct codec and [`MembershipRequest::parse_ip_option`] reads them the way
//! the kernel does:
//!
//! ```
//! use core::net::Ipv4Addr;
//! use portsock_core::wire::mreq::{chapter_request, Interface, MembershipRequest};
//!
//! let group = Ipv4Addr::new(224, 3, 29, 71);
//! let request = MembershipRequest::v4(group, Interface::Any)?;
//! let chapter = chapter_request(group)?;
//! # #[cfg(target_pointer_width = "64")]
//! assert_eq!(chapter.as_bytes().len(), 16);
//!
//! let mut mreq = [0u8; 8];
//! request.emit(&mut mreq)?;
//! assert_eq!(mreq, [224, 3, 29, 71, 0, 0, 0, 0]);
//! assert_eq!(&chapter.as_bytes()[..8], &mreq); // the rest is zero
//! assert!(chapter.as_bytes()[8..].iter().all(|&b| b == 0));
//! assert_eq!(MembershipRequest::parse_ip_option(chapter.as_bytes())?, request);
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use embedded_io::ErrorKind;

use super::structfmt::{Format, PackError, Value};

mod field {
    pub(super) type Field = core::ops::Range<usize>;

    pub(super) const GROUP_V4: Field = 0..4;
    pub(super) const INTERFACE_V4: Field = 4..8;
    pub(super) const IFINDEX_V4N: Field = 8..12;
    pub(super) const GROUP_V6: Field = 0..16;
    pub(super) const IFINDEX_V6: Field = 16..20;
}

/// The chapter's format for an IPv4 membership request (`'4sL'`).
pub const CHAPTER_FORMAT: &str = "4sL";

/// Which C structure a request is laid out as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Layout {
    /// `struct ip_mreq`, 8 bytes: group and interface address.
    IpMreq,
    /// `struct ip_mreqn`, 12 bytes: group, interface address and interface index.
    IpMreqn,
    /// `struct ipv6_mreq`, 20 bytes: group and interface index.
    Ipv6Mreq,
}

impl Layout {
    /// The size of the structure in bytes.
    pub const fn size(self) -> usize {
        match self {
            Self::IpMreq => 8,
            Self::IpMreqn => 12,
            Self::Ipv6Mreq => 20,
        }
    }

    /// The C name of the structure.
    pub const fn name(self) -> &'static str {
        match self {
            Self::IpMreq => "ip_mreq",
            Self::IpMreqn => "ip_mreqn",
            Self::Ipv6Mreq => "ipv6_mreq",
        }
    }
}

/// The interface a group is joined on (or multicast is sent from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Interface {
    /// Let the system choose (`INADDR_ANY`, index 0).
    Any,
    /// An IPv4 interface by one of its addresses (IPv4 groups only).
    Addr(Ipv4Addr),
    /// An interface by index (`if_nametoindex`); IPv4 groups then use an `ip_mreqn`.
    Index(u32),
}

impl Interface {
    /// [`Interface::Any`] for the unspecified address and index 0, so that equal requests
    /// compare equal.
    fn normalized(self) -> Self {
        match self {
            Self::Addr(a) if a.is_unspecified() => Self::Any,
            Self::Index(0) => Self::Any,
            other => other,
        }
    }
}

/// A validated membership request: a multicast group and the interface to join it on.
///
/// The group is always multicast (224.0.0.0/4 or ff00::/8), an IPv6 group never names its
/// interface by IPv4 address, and [`Interface::Any`] stands for the unspecified address and
/// index 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MembershipRequest {
    group: IpAddr,
    interface: Interface,
}

impl MembershipRequest {
    /// A request for `group` on `interface`.
    ///
    /// # Errors
    ///
    /// [`MembershipError::NotMulticast`] unless `group` is multicast;
    /// [`MembershipError::FamilyMismatch`] for an IPv6 group with an IPv4 interface address.
    pub fn new(group: IpAddr, interface: Interface) -> Result<Self, MembershipError> {
        if !group.is_multicast() {
            return Err(MembershipError::NotMulticast { group });
        }
        let interface = interface.normalized();
        if let (IpAddr::V6(_), Interface::Addr(address)) = (group, interface) {
            return Err(MembershipError::FamilyMismatch {
                group,
                interface: address,
            });
        }
        Ok(Self { group, interface })
    }

    /// An IPv4 request.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn v4(group: Ipv4Addr, interface: Interface) -> Result<Self, MembershipError> {
        Self::new(IpAddr::V4(group), interface)
    }

    /// An IPv6 request on the interface with index `index` (0: any).
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn v6(group: Ipv6Addr, index: u32) -> Result<Self, MembershipError> {
        Self::new(IpAddr::V6(group), Interface::Index(index))
    }

    /// The group.
    pub fn group(&self) -> IpAddr {
        self.group
    }

    /// The interface.
    pub fn interface(&self) -> Interface {
        self.interface
    }

    /// The layout [`emit`](Self::emit) writes: `ip_mreq` for an IPv4 group on an address (or
    /// any), `ip_mreqn` for an IPv4 group on an index, `ipv6_mreq` for an IPv6 group.
    pub fn layout(&self) -> Layout {
        match (self.group, self.interface) {
            (IpAddr::V6(_), _) => Layout::Ipv6Mreq,
            (IpAddr::V4(_), Interface::Index(_)) => Layout::IpMreqn,
            (IpAddr::V4(_), _) => Layout::IpMreq,
        }
    }

    /// The number of bytes [`emit`](Self::emit) writes.
    pub fn buffer_len(&self) -> usize {
        self.layout().size()
    }

    /// Reads a request laid out as `layout` from the start of `bytes` (extra bytes are
    /// ignored).
    ///
    /// An `ip_mreqn` with both an address and an index yields the index, which is what Linux
    /// uses in that case.
    ///
    /// # Errors
    ///
    /// [`MreqError::TooShort`] if `bytes` is shorter than the layout,
    /// [`MreqError::Membership`] if the group is not multicast.
    pub fn parse(layout: Layout, bytes: &[u8]) -> Result<Self, MreqError> {
        let (group, interface) = match layout {
            Layout::IpMreq => {
                let p = IpMreq::new_checked(bytes)?;
                (IpAddr::V4(p.group()), Interface::Addr(p.interface()))
            }
            Layout::IpMreqn => {
                let p = IpMreqn::new_checked(bytes)?;
                let interface = match p.ifindex() {
                    0 => Interface::Addr(p.address()),
                    index => Interface::Index(index),
                };
                (IpAddr::V4(p.group()), interface)
            }
            Layout::Ipv6Mreq => {
                let p = Ipv6Mreq::new_checked(bytes)?;
                (IpAddr::V6(p.group()), Interface::Index(p.ifindex()))
            }
        };
        Self::new(group, interface).map_err(MreqError::Membership)
    }

    /// Reads an `IP_ADD_MEMBERSHIP` option value the way Linux does (`do_ip_setsockopt`): 12
    /// bytes or more are an `ip_mreqn`, 8 to 11 bytes an `ip_mreq`.
    ///
    /// # Errors
    ///
    /// As [`parse`](Self::parse); fewer than 8 bytes are too short for an `ip_mreq`.
    pub fn parse_ip_option(optval: &[u8]) -> Result<Self, MreqError> {
        let layout = if optval.len() >= Layout::IpMreqn.size() {
            Layout::IpMreqn
        } else {
            Layout::IpMreq
        };
        Self::parse(layout, optval)
    }

    /// Writes the request into the start of `buf` as [`layout`](Self::layout) says; returns
    /// [`buffer_len`](Self::buffer_len).
    ///
    /// # Errors
    ///
    /// [`MreqError::TooShort`] if `buf` is shorter than that.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, MreqError> {
        let layout = self.layout();
        let v4_address = match self.interface {
            Interface::Addr(a) => a,
            _ => Ipv4Addr::UNSPECIFIED,
        };
        let index = match self.interface {
            Interface::Index(i) => i,
            _ => 0,
        };
        match self.group {
            IpAddr::V4(group) if layout == Layout::IpMreq => {
                let mut p = IpMreq::new_checked(buf)?;
                p.set_group(group);
                p.set_interface(v4_address);
            }
            IpAddr::V4(group) => {
                let mut p = IpMreqn::new_checked(buf)?;
                p.set_group(group);
                p.set_address(v4_address);
                p.set_ifindex(index);
            }
            IpAddr::V6(group) => {
                let mut p = Ipv6Mreq::new_checked(buf)?;
                p.set_group(group);
                p.set_ifindex(index);
            }
        }
        Ok(layout.size())
    }
}

/// The bytes of the chapter's `struct.pack('4sL', inet_aton(group), INADDR_ANY)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChapterRequest {
    bytes: [u8; 16],
    len: usize,
}

impl ChapterRequest {
    /// The packed request: 16 bytes where a C `long` is 8 bytes, 8 where it is 4.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&self.bytes)
    }
}

/// Packs the chapter's membership request for `group` with the struct codec
/// ([`CHAPTER_FORMAT`], native sizes), interface `INADDR_ANY`.
///
/// Only `INADDR_ANY` is offered: a nonzero address packed through `L` lands in the index
/// field of the `ip_mreqn` the kernel reads on 64-bit targets.
///
/// # Errors
///
/// A [`PackError`] if the target's native `L` made the record longer than 16 bytes (no known
/// target does).
pub fn chapter_request(group: Ipv4Addr) -> Result<ChapterRequest, PackError> {
    let format = Format::parse(CHAPTER_FORMAT)?;
    let mut bytes = [0u8; 16];
    let octets = group.octets();
    let len = format.pack(&mut bytes, &[Value::Bytes(&octets), Value::Int(0)])?;
    Ok(ChapterRequest { bytes, len })
}

/// Why a [`MembershipRequest`] could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MembershipError {
    /// The group is not a multicast address (224.0.0.0/4, ff00::/8).
    NotMulticast {
        /// The address given.
        group: IpAddr,
    },
    /// An IPv6 group with an IPv4 interface address; IPv6 names interfaces by index.
    FamilyMismatch {
        /// The group.
        group: IpAddr,
        /// The interface address given.
        interface: Ipv4Addr,
    },
}

/// Why a membership request layout could not be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MreqError {
    /// The buffer is shorter than the structure.
    TooShort {
        /// The structure.
        layout: Layout,
        /// Its size.
        need: usize,
        /// The buffer's size.
        got: usize,
    },
    /// The bytes hold an invalid request.
    Membership(MembershipError),
}

impl fmt::Display for MembershipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotMulticast {
                group: group @ IpAddr::V4(_),
            } => {
                write!(
                    f,
                    "group {group}: not a multicast address (expected 224.0.0.0/4)"
                )
            }
            Self::NotMulticast { group } => {
                write!(
                    f,
                    "group {group}: not a multicast address (expected ff00::/8)"
                )
            }
            Self::FamilyMismatch { group, interface } => write!(
                f,
                "group {group}: an IPv6 group takes an interface index, not the IPv4 address {interface}"
            ),
        }
    }
}

impl fmt::Display for MreqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { layout, need, got } => {
                write!(f, "buffer of {got} bytes, {} needs {need}", layout.name())
            }
            Self::Membership(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for MembershipError {}
impl core::error::Error for MreqError {}

impl embedded_io::Error for MembershipError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }
}

impl embedded_io::Error for MreqError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::TooShort { .. } => ErrorKind::InvalidInput,
            Self::Membership(_) => ErrorKind::InvalidData,
        }
    }
}

impl From<MembershipError> for MreqError {
    fn from(e: MembershipError) -> Self {
        Self::Membership(e)
    }
}

macro_rules! view {
    ($(#[$doc:meta])* $name:ident, $layout:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name<T: AsRef<[u8]>> {
            buffer: T,
        }

        impl<T: AsRef<[u8]>> $name<T> {
            /// Wraps `buffer` without checking its length; accessors panic if it is short. Use
            /// [`new_checked`](Self::new_checked) for untrusted input.
            pub const fn new_unchecked(buffer: T) -> Self {
                Self { buffer }
            }

            /// Wraps `buffer` after [`check_len`](Self::check_len); no accessor panics after.
            ///
            /// # Errors
            ///
            /// [`MreqError::TooShort`] if `buffer` is shorter than the structure.
            pub fn new_checked(buffer: T) -> Result<Self, MreqError> {
                let view = Self::new_unchecked(buffer);
                view.check_len()?;
                Ok(view)
            }

            /// Checks that the buffer holds the whole structure (extra bytes are ignored).
            ///
            /// # Errors
            ///
            /// [`MreqError::TooShort`] if it does not.
            pub fn check_len(&self) -> Result<(), MreqError> {
                let got = self.buffer.as_ref().len();
                let need = $layout.size();
                if got < need {
                    return Err(MreqError::TooShort { layout: $layout, need, got });
                }
                Ok(())
            }

            /// The wrapped buffer.
            pub fn into_inner(self) -> T {
                self.buffer
            }

            fn bytes<const N: usize>(&self, range: field::Field) -> [u8; N] {
                let mut out = [0u8; N];
                out.copy_from_slice(&self.buffer.as_ref()[range]);
                out
            }
        }

        impl<T: AsRef<[u8]> + AsMut<[u8]>> $name<T> {
            fn put(&mut self, range: field::Field, bytes: &[u8]) {
                self.buffer.as_mut()[range].copy_from_slice(bytes);
            }
        }
    };
}

view!(
    /// A `struct ip_mreq` (8 bytes): IPv4 group and interface address.
    IpMreq,
    Layout::IpMreq
);
view!(
    /// A `struct ip_mreqn` (12 bytes): IPv4 group, interface address and interface index.
    IpMreqn,
    Layout::IpMreqn
);
view!(
    /// A `struct ipv6_mreq` (20 bytes): IPv6 group and interface index.
    Ipv6Mreq,
    Layout::Ipv6Mreq
);

impl<T: AsRef<[u8]>> IpMreq<T> {
    /// `imr_multiaddr`: the group.
    pub fn group(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.bytes::<4>(field::GROUP_V4))
    }

    /// `imr_interface`: the interface's address (0.0.0.0: any).
    pub fn interface(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.bytes::<4>(field::INTERFACE_V4))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> IpMreq<T> {
    /// Sets `imr_multiaddr`.
    pub fn set_group(&mut self, group: Ipv4Addr) {
        self.put(field::GROUP_V4, &group.octets());
    }

    /// Sets `imr_interface`.
    pub fn set_interface(&mut self, interface: Ipv4Addr) {
        self.put(field::INTERFACE_V4, &interface.octets());
    }
}

impl<T: AsRef<[u8]>> IpMreqn<T> {
    /// `imr_multiaddr`: the group.
    pub fn group(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.bytes::<4>(field::GROUP_V4))
    }

    /// `imr_address`: the interface's address (0.0.0.0: any).
    pub fn address(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.bytes::<4>(field::INTERFACE_V4))
    }

    /// `imr_ifindex`: the interface index (0: by address), native endian. The C field is an
    /// `int`; its bits are returned unsigned.
    pub fn ifindex(&self) -> u32 {
        u32::from_ne_bytes(self.bytes::<4>(field::IFINDEX_V4N))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> IpMreqn<T> {
    /// Sets `imr_multiaddr`.
    pub fn set_group(&mut self, group: Ipv4Addr) {
        self.put(field::GROUP_V4, &group.octets());
    }

    /// Sets `imr_address`.
    pub fn set_address(&mut self, address: Ipv4Addr) {
        self.put(field::INTERFACE_V4, &address.octets());
    }

    /// Sets `imr_ifindex` (native endian).
    pub fn set_ifindex(&mut self, index: u32) {
        self.put(field::IFINDEX_V4N, &index.to_ne_bytes());
    }
}

impl<T: AsRef<[u8]>> Ipv6Mreq<T> {
    /// `ipv6mr_multiaddr`: the group.
    pub fn group(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.bytes::<16>(field::GROUP_V6))
    }

    /// `ipv6mr_interface`: the interface index (0: any), native endian.
    pub fn ifindex(&self) -> u32 {
        u32::from_ne_bytes(self.bytes::<4>(field::IFINDEX_V6))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Mreq<T> {
    /// Sets `ipv6mr_multiaddr`.
    pub fn set_group(&mut self, group: Ipv6Addr) {
        self.put(field::GROUP_V6, &group.octets());
    }

    /// Sets `ipv6mr_interface` (native endian).
    pub fn set_ifindex(&mut self, index: u32) {
        self.put(field::IFINDEX_V6, &index.to_ne_bytes());
    }
}

#[cfg(test)]
mod tests;
