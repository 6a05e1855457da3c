//! [`ResolveError`]: what a look-up failure carries, the resolver's code and message.

use std::error::Error;
use std::fmt;
use std::io;

/// Where a look-up failure comes from, which says what [`ResolveError::code`] means. Each
/// origin is one of the exceptions Python's `socket` module raises for the same failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorOrigin {
    /// `getaddrinfo(3)`: the code is an `EAI_*` value (`EAI_NONAME` = -2), the message
    /// `gai_strerror(3)`'s. Python's `socket.gaierror`.
    Gai,
    /// `gethostbyname_r(3)` / `gethostbyaddr_r(3)`: the code is `h_errno` (`HOST_NOT_FOUND` =
    /// 1), the message `hstrerror(3)`'s. Python's `socket.herror`.
    Host,
    /// A system error: the code is `errno`, the message `strerror(3)`'s. Python's `OSError`
    /// with an errno.
    Os,
    /// A look-up that found nothing, or an answer that cannot be used, with a message and no
    /// code (`service/proto not found`). Python's `OSError` without an errno.
    Lookup,
    /// An argument no resolver can take (a name with a NUL byte). Python's `ValueError`.
    Input,
}

/// A failed look-up: the resolver's code and message, and the input it failed on.
///
/// Functions of [`crate::lookup`] return it inside an [`io::Error`] (get it back with
/// [`ResolveError::of`]), whose kind follows the code: `NotFound` for names, addresses and
/// services that do not exist, `InvalidInput` for arguments the resolver refuses.
///
/// `Display` is `<input>: <what Python prints>`:
///
/// ```
/// use portsock_std::lookup::{ErrorOrigin, ResolveError};
///
/// let err = ResolveError::new(ErrorOrigin::Gai, Some(-2), "Name or service not known", "nosuchname");
/// assert_eq!(err.python_str(), "[Errno -2] Name or service not known");
/// assert_eq!(err.to_string(), "nosuchname: [Errno -2] Name or service not known");
/// assert_eq!(err.python_type(), "gaierror");
/// let io: std::io::Error = err.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
/// assert_eq!(ResolveError::of(&io).and_then(|e| e.code()), Some(-2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResolveError {
    origin: ErrorOrigin,
    code: Option<i32>,
    message: String,
    input: String,
}

impl ResolveError {
    /// A failure of `origin` with `code` and `message`, looking up `input`.
    pub fn new(
        origin: ErrorOrigin,
        code: Option<i32>,
        message: impl Into<String>,
        input: impl Into<String>,
    ) -> Self {
        Self {
            origin,
            code,
            message: message.into(),
            input: input.into(),
        }
    }

    /// The `ResolveError` inside `err`, if a look-up of this crate made it.
    pub fn of(err: &io::Error) -> Option<&Self> {
        err.get_ref().and_then(|inner| inner.downcast_ref::<Self>())
    }

    /// Which call failed, which says what [`code`](Self::code) means.
    pub fn origin(&self) -> ErrorOrigin {
        self.origin
    }

    /// The resolver's code (`EAI_*`, `h_errno` or `errno`, see [`ErrorOrigin`]), if it gave one.
    pub fn code(&self) -> Option<i32> {
        self.code
    }

    /// The resolver's message (`Name or service not known`), without the code.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What was being looked up: the name, address, `service/proto` or `host:service`.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The name of the exception Python raises for this failure: `gaierror`, `herror`,
    /// `OSError` or `ValueError`.
    pub fn python_type(&self) -> &'static str {
        match self.origin {
            ErrorOrigin::Gai => "gaierror",
            ErrorOrigin::Host => "herror",
            ErrorOrigin::Os | ErrorOrigin::Lookup => "OSError",
            ErrorOrigin::Input => "ValueError",
        }
    }

    /// What `str(exc)` gives in Python: `[Errno -2] Name or service not known` when there is a
    /// code, the bare message otherwise.
    pub fn python_str(&self) -> String {
        match self.code {
            Some(code) => format!("[Errno {code}] {}", self.message),
            None => self.message.clone(),
        }
    }

    /// The `io::ErrorKind` this failure maps to.
    fn io_kind(&self) -> io::ErrorKind {
        let Some(code) = self.code else {
            return match self.origin {
                ErrorOrigin::Input => io::ErrorKind::InvalidInput,
                _ => io::ErrorKind::NotFound,
            };
        };
        match self.origin {
            ErrorOrigin::Gai => match code {
                libc::EAI_NONAME | libc::EAI_NODATA | libc::EAI_SERVICE => io::ErrorKind::NotFound,
                libc::EAI_BADFLAGS | libc::EAI_FAMILY | libc::EAI_SOCKTYPE => {
                    io::ErrorKind::InvalidInput
                }
                libc::EAI_MEMORY => io::ErrorKind::OutOfMemory,
                _ => io::ErrorKind::Other,
            },
            // HOST_NOT_FOUND, NO_DATA
            ErrorOrigin::Host if code == 1 || code == 4 => io::ErrorKind::NotFound,
            ErrorOrigin::Host => io::ErrorKind::Other,
            ErrorOrigin::Os => io::Error::from_raw_os_error(code).kind(),
            ErrorOrigin::Lookup => io::ErrorKind::NotFound,
            ErrorOrigin::Input => io::ErrorKind::InvalidInput,
        }
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.input, self.python_str())
    }
}

impl Error for ResolveError {}

impl From<ResolveError> for io::Error {
    fn from(err: ResolveError) -> Self {
        Self::new(err.io_kind(), err)
    }
}

/// `strerror(3)` for `errno`, without std's ` (os error N)` suffix.
pub(crate) fn strerror(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    let suffix = format!(" (os error {errno})");
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_strings_for_every_origin() {
        let host = ResolveError::new(ErrorOrigin::Host, Some(1), "Unknown host", "10.0.0.1");
        assert_eq!(host.python_type(), "herror");
        assert_eq!(host.to_string(), "10.0.0.1: [Errno 1] Unknown host");
        let serv = ResolveError::new(
            ErrorOrigin::Lookup,
            None,
            "service/proto not found",
            "x/tcp",
        );
        assert_eq!(serv.python_str(), "service/proto not found");
        assert_eq!(serv.python_type(), "OSError");
        assert_eq!(io::Error::from(serv).kind(), io::ErrorKind::NotFound);
        let nul = ResolveError::new(ErrorOrigin::Input, None, "embedded null character", "a\0");
        assert_eq!(nul.python_type(), "ValueError");
        assert_eq!(io::Error::from(nul).kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn io_kinds_follow_the_code() {
        let kind =
            |origin, code| io::Error::from(ResolveError::new(origin, Some(code), "m", "i")).kind();
        assert_eq!(
            kind(ErrorOrigin::Gai, libc::EAI_AGAIN),
            io::ErrorKind::Other
        );
        assert_eq!(
            kind(ErrorOrigin::Gai, libc::EAI_FAMILY),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(ErrorOrigin::Gai, libc::EAI_NODATA),
            io::ErrorKind::NotFound
        );
        assert_eq!(kind(ErrorOrigin::Host, 2), io::ErrorKind::Other);
        assert_eq!(kind(ErrorOrigin::Os, libc::ENOENT), io::ErrorKind::NotFound);
    }

    #[test]
    fn strerror_drops_the_suffix() {
        assert_eq!(strerror(libc::ENOENT), "No such file or directory");
        assert_eq!(
            strerror(libc::EAFNOSUPPORT),
            "Address family not supported by protocol"
        );
    }

    #[test]
    fn of_finds_only_our_errors() {
        let io = io::Error::other("plain");
        assert!(ResolveError::of(&io).is_none());
    }
}
