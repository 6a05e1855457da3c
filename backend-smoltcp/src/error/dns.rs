//! Name lookups.

use core::fmt;

use super::Blocked;

/// Why [`Stack::resolve`](crate::Stack::resolve) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DnsError {
    /// No answer before the lookup's timeout.
    TimedOut,
    /// No DNS server is configured ([`Config::with_dns_server`](crate::Config::with_dns_server)),
    /// or the stack has no DNS socket ([`Stack::add_dns_socket`](crate::Stack::add_dns_socket)).
    NoServer,
    /// The name is not a valid DNS name, or is too long.
    InvalidName,
    /// The server answered that the name does not exist or has no address of that family, or
    /// every server failed.
    NotFound,
    /// Too many lookups at once (the DNS socket's query slots are all in use).
    Busy,
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TimedOut => "timed out",
            Self::NoServer => "no DNS server configured",
            Self::InvalidName => "not a valid DNS name",
            Self::NotFound => "Name or service not known",
            Self::Busy => "too many DNS lookups at once",
        })
    }
}

impl core::error::Error for DnsError {}

impl From<Blocked> for DnsError {
    fn from(_: Blocked) -> Self {
        // A lookup always blocks; only its deadline ends it without an answer.
        Self::TimedOut
    }
}

#[cfg(feature = "std")]
impl From<DnsError> for std::io::Error {
    fn from(e: DnsError) -> Self {
        use std::io::ErrorKind as K;
        let kind = match e {
            DnsError::TimedOut => K::TimedOut,
            DnsError::InvalidName => K::InvalidInput,
            DnsError::NotFound => K::NotFound,
            DnsError::NoServer | DnsError::Busy => K::Other,
        };
        Self::new(kind, e)
    }
}
