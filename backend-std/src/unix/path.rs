//! Preparing a path for `bind(2)`: the length limit, the stale-socket rule and the file mode.
//!
//! **Is the socket at a path stale?** A node outlives its socket, and whether a socket is still
//! bound to it shows only by knocking. A probe of the same type would be a connection the live
//! server accepts (a one-shot server would serve it as its one client), so the probe is a
//! datagram socket's `connect(2)`, which the peer never sees: refused means no socket is bound
//! there (stale); "wrong protocol type" means a live stream or seqpacket socket, success or
//! "not permitted" a live datagram socket.
//!
//! **Between the probe and the unlink** another process may unlink the stale node and bind a
//! live one. The node's identity (device, inode) is read before the probe and again right
//! before `unlink(2)`, and the unlink happens only if it is the same stale node: a node never
//! becomes live again once its socket is gone. (A new node could get the freed inode number
//! only after the old one was unlinked, so the ctime is compared as well.) What is left is the
//! moment between that last `lstat(2)` and `unlink(2)`, as in [`SocketNode::remove`].

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use socket2::{Domain, SockAddr, Socket, Type};

use super::UnixBindOptions;
use super::node::{NodeId, SocketNode};
use crate::sock::context;

/// The longest path a Unix socket can bind or connect to, in bytes: `sun_path` is 108 bytes
/// and ends with a NUL.
pub const MAX_PATH_LEN: usize = 107;

/// Refuses a path the kernel cannot take, naming it.
pub(crate) fn check_path(path: &Path) -> io::Result<()> {
    let len = path.as_os_str().len();
    if len == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "empty Unix socket path",
        ));
    }
    if len > MAX_PATH_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{}: Unix socket path of {len} bytes is longer than the limit of {MAX_PATH_LEN} (sun_path holds 108 bytes with the NUL)",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// A socket of type `ty` bound to `path`, with a stale socket file removed first and the mode
/// applied after, as `options` say; and the node it bound.
pub(crate) fn bind_path(
    path: &Path,
    ty: Type,
    options: UnixBindOptions,
) -> io::Result<(Socket, SocketNode)> {
    check_path(path)?;
    if options.remove_stale {
        remove_stale(path)?;
    }
    let socket = Socket::new(Domain::UNIX, ty, None)?;
    socket
        .bind(&SockAddr::unix(path)?)
        .map_err(|e| context(e, format!("bind {}", path.display())))?;
    let node = SocketNode::bound(path)?;
    if let Some(mode) = options.mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(|e| context(e, format!("chmod {mode:o} {}", path.display())))?;
    }
    Ok((socket, node))
}

/// Removes the socket file at `path` if no socket is bound to it any more; refuses anything
/// else that is there (see the module docs for the probe and the race it closes).
fn remove_stale(path: &Path) -> io::Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(context(e, path.display())),
        Ok(meta) => meta,
    };
    let file_type = meta.file_type();
    if !file_type.is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{}: exists and is not a socket (it is {}); refusing to remove it",
                path.display(),
                describe(file_type)
            ),
        ));
    }
    let probe = Socket::new(Domain::UNIX, Type::DGRAM, None)?;
    match probe.connect(&SockAddr::unix(path)?) {
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
        Ok(()) => return Err(in_use(path)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPROTOTYPE | libc::EPERM)) => {
            return Err(in_use(path));
        }
        Err(e) => {
            return Err(context(
                e,
                format!(
                    "{}: cannot tell whether the socket there is stale",
                    path.display()
                ),
            ));
        }
    }
    // Stale when probed; unlink it only if the path still names that node.
    let still = fs::symlink_metadata(path).ok();
    let same = still.is_some_and(|now| {
        NodeId::of(&now) == NodeId::of(&meta)
            && (now.ctime(), now.ctime_nsec()) == (meta.ctime(), meta.ctime_nsec())
    });
    if !same {
        // Replaced (or removed) since the probe: whatever is there now is not ours to judge;
        // bind(2) will say whether the path is free.
        return Ok(());
    }
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(context(
            e,
            format!("removing stale socket {}", path.display()),
        )),
        _ => Ok(()),
    }
}

fn in_use(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::AddrInUse,
        format!(
            "{}: a socket is already bound there and in use",
            path.display()
        ),
    )
}

fn describe(t: fs::FileType) -> &'static str {
    if t.is_file() {
        "a regular file"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a socket"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_length_limit_names_path_and_limit() {
        assert!(check_path(Path::new(&"a".repeat(107))).is_ok());
        let long = format!("/tmp/{}", "x".repeat(103));
        let err = check_path(Path::new(&long)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("{long}: Unix socket path of 108 bytes")),
            "{msg}"
        );
        assert!(msg.contains("limit of 107"), "{msg}");
        assert_eq!(
            check_path(Path::new("")).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
