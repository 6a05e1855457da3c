//! Setting a stack up.

use core::fmt;

use super::NoIpv6;

/// Why a [`Config`](crate::Config), [`parse_cidr`](crate::parse_cidr), [`Stack::new`](crate::Stack::new)
/// or a `Stack::add_*` call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum StackError {
    /// A value out of range or malformed; the text says which and what was expected.
    InvalidInput(&'static str),
    /// Something this build or smoltcp cannot do (an IPv6 address without the `ipv6`
    /// feature, a device medium other than Ethernet or IP).
    Unsupported(&'static str),
    /// The socket table has no room for another socket (see [`crate::MAX_SOCKETS`], or the
    /// storage given to [`Stack::new`](crate::Stack::new)).
    TooManySockets,
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidInput(what) => write!(f, "invalid input: {what}"),
            Self::Unsupported(what) => write!(f, "not supported by the smoltcp backend: {what}"),
            Self::TooManySockets => write!(
                f,
                "the stack's socket table is full ({} sockets at most, or the storage given)",
                crate::MAX_SOCKETS
            ),
        }
    }
}

impl core::error::Error for StackError {}

impl From<NoIpv6> for StackError {
    fn from(_: NoIpv6) -> Self {
        Self::Unsupported(NoIpv6::TEXT)
    }
}

#[cfg(feature = "std")]
impl From<StackError> for std::io::Error {
    fn from(e: StackError) -> Self {
        use std::io::ErrorKind as K;
        let kind = match e {
            StackError::InvalidInput(_) => K::InvalidInput,
            StackError::Unsupported(_) => K::Unsupported,
            StackError::TooManySockets => K::OutOfMemory,
        };
        Self::new(kind, e)
    }
}
