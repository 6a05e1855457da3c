//! Preparing a path for `bind(2)`: the length limit, the stale-socket rule and the file mode.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use socket2::{Domain, SockAddr, Socket, Type};

use super::UnixBindOptions;
use crate::sock::context;

/// The longest path a Unix socket can bind or connect to, in bytes: `sun_path` is 108 bytes
/// and ends with a NUL.
pub const MAX_PATH_LEN: usize = 107;

/// Refuses a path the kernel cannot take, naming it.
pub(super) fn check_path(path: &Path) -> io::Result<()> {
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
/// applied after, as `options` say.
pub(super) fn bind_path(path: &Path, ty: Type, options: UnixBindOptions) -> io::Result<Socket> {
    check_path(path)?;
    if options.remove_stale {
        remove_stale(path, ty)?;
    }
    let socket = Socket::new(Domain::UNIX, ty, None)?;
    socket
        .bind(&SockAddr::unix(path)?)
        .map_err(|e| context(e, format!("bind {}", path.display())))?;
    if let Some(mode) = options.mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(|e| context(e, format!("chmod {mode:o} {}", path.display())))?;
    }
    Ok(socket)
}

/// Removes the socket file at `path` if no socket is bound to it any more; refuses anything
/// else that is there.
fn remove_stale(path: &Path, ty: Type) -> io::Result<()> {
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
    // A socket node outlives its socket. Whether one is still bound there shows only by
    // knocking: a refused connection means stale. (A live stream server sees the probe as a
    // connection that closes at once.)
    let probe = Socket::new(Domain::UNIX, ty, None)?;
    probe.set_nonblocking(true)?;
    match probe.connect(&SockAddr::unix(path)?) {
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => fs::remove_file(path)
            .map_err(|e| context(e, format!("removing stale socket {}", path.display()))),
        Ok(()) => Err(in_use(path)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(in_use(path)),
        Err(e) => Err(context(
            e,
            format!(
                "{}: cannot tell whether the socket there is stale",
                path.display()
            ),
        )),
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
