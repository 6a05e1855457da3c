//! [`UnixAddr`]: the address of a Unix-domain socket, and how Python prints it.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use socket2::SockAddr;

use super::path::check_path;

/// The address of a Unix-domain socket (`unix(7)`): a path, nothing (an unbound or
/// `socketpair` socket), or a Linux abstract name.
///
/// `Display` is Python's `str()` of the address: the path, or an empty string for an unnamed
/// socket (so `print('connection from', client_address)` shows nothing after "from"), or
/// `b'\x00name'` for an abstract name. The alternate form `{:#}` is Python's `repr()`:
/// `'./uds_socket'`, `''`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UnixAddr {
    /// No address: the socket was never bound (a connecting client, a `socketpair`).
    Unnamed,
    /// A path in the file system.
    Path(PathBuf),
    /// A name in Linux's abstract namespace (without the leading NUL byte).
    Abstract(Vec<u8>),
}

impl UnixAddr {
    /// The path, if this is a path address.
    pub fn as_path(&self) -> Option<&Path> {
        match self {
            Self::Path(p) => Some(p),
            _ => None,
        }
    }

    /// Whether this is the unnamed address.
    pub fn is_unnamed(&self) -> bool {
        matches!(self, Self::Unnamed)
    }

    /// The kernel's form, for `sendto(2)`.
    pub(crate) fn to_sockaddr(&self) -> io::Result<SockAddr> {
        match self {
            Self::Unnamed => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot send to an unnamed Unix address",
            )),
            Self::Path(p) => {
                check_path(p)?;
                SockAddr::unix(p)
            }
            Self::Abstract(name) => {
                let mut bytes = Vec::with_capacity(name.len() + 1);
                bytes.push(0);
                bytes.extend_from_slice(name);
                SockAddr::unix(OsStr::from_bytes(&bytes))
            }
        }
    }

    /// The address in the kernel's form `addr`.
    pub(crate) fn from_sockaddr(addr: &SockAddr) -> io::Result<Self> {
        // recvfrom(2) on a Unix datagram socket returns no address at all (length 0) for a
        // sender that never bound one.
        if addr.len() == 0 {
            return Ok(Self::Unnamed);
        }
        if let Some(path) = addr.as_pathname() {
            Ok(Self::Path(path.to_path_buf()))
        } else if let Some(name) = addr.as_abstract_namespace() {
            Ok(Self::Abstract(name.to_vec()))
        } else if addr.is_unnamed() {
            Ok(Self::Unnamed)
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not a Unix socket address (family {})", addr.family()),
            ))
        }
    }
}

impl From<&Path> for UnixAddr {
    fn from(path: &Path) -> Self {
        Self::Path(path.to_path_buf())
    }
}

impl From<PathBuf> for UnixAddr {
    fn from(path: PathBuf) -> Self {
        Self::Path(path)
    }
}

impl fmt::Display for UnixAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Python's str of a str is the text; its repr is quoted.
            Self::Unnamed if f.alternate() => f.write_str("''"),
            Self::Unnamed => Ok(()),
            Self::Path(p) if f.alternate() => python_str_repr(f, &p.to_string_lossy()),
            Self::Path(p) => write!(f, "{}", p.display()),
            // Python shows an abstract address as bytes, whose str and repr agree.
            Self::Abstract(name) => python_bytes_repr(f, name),
        }
    }
}
/// Python's `repr()` of a `str`: single quotes unless the text has one and no double quote.
fn python_str_repr(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    write!(f, "{quote}")?;
    for c in s.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c == quote => write!(f, "\\{c}")?,
            c if (c as u32) < 0x20 || c as u32 == 0x7f => write!(f, "\\x{:02x}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    write!(f, "{quote}")
}

/// Python's `repr()` of `bytes` with a leading NUL (an abstract address): `b'\x00name'`.
fn python_bytes_repr(f: &mut fmt::Formatter<'_>, name: &[u8]) -> fmt::Result {
    f.write_str("b'\\x00")?;
    for &b in name {
        match b {
            b'\\' => f.write_str("\\\\")?,
            b'\'' => f.write_str("\\'")?,
            b'\n' => f.write_str("\\n")?,
            b'\r' => f.write_str("\\r")?,
            b'\t' => f.write_str("\\t")?,
            0x20..0x7f => write!(f, "{}", char::from(b))?,
            _ => write!(f, "\\x{b:02x}")?,
        }
    }
    f.write_str("'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_python_str_and_alternate_is_repr() {
        let p = UnixAddr::from(Path::new("./uds_socket"));
        assert_eq!(p.to_string(), "./uds_socket");
        assert_eq!(format!("{p:#}"), "'./uds_socket'");
        assert_eq!(UnixAddr::Unnamed.to_string(), "");
        assert_eq!(format!("{:#}", UnixAddr::Unnamed), "''");
        assert_eq!(
            format!("{:#}", UnixAddr::from(Path::new("it's"))),
            "\"it's\""
        );
        assert_eq!(
            UnixAddr::Abstract(b"name\x01'".to_vec()).to_string(),
            "b'\\x00name\\x01\\''"
        );
    }

    #[test]
    fn addresses_convert_from_the_kernel_form() {
        let path = UnixAddr::from(Path::new("/tmp/x.sock"));
        assert_eq!(
            UnixAddr::from_sockaddr(&path.to_sockaddr().unwrap()).unwrap(),
            path
        );
        let abs = UnixAddr::Abstract(b"portsock".to_vec());
        assert_eq!(
            UnixAddr::from_sockaddr(&abs.to_sockaddr().unwrap()).unwrap(),
            abs
        );
        assert_eq!(
            UnixAddr::Unnamed.to_sockaddr().unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        let inet = SockAddr::from("127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap());
        assert_eq!(
            UnixAddr::from_sockaddr(&inet).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
