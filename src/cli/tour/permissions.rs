//! The tour's permissions section: a Unix socket is a node in the file system, so its mode
//! says who may connect (the chapter's `ls -l ./uds_socket`, then a client refused with
//! `[Errno 13] Permission denied`).
//!
//! The server's node gets mode 0600 (only its owner may connect). As root, a client runs as
//! user `nobody` (uid and gid 65534, no supplementary groups) and is refused, as the chapter's
//! non-root client is. Without root no process of the tour may become another user, so the
//! node's mode goes to 0000 instead, which refuses its own owner the same way; the transcript
//! says what `nobody` would have seen. The clients are `portsock echo client` child processes,
//! so their lines are the command's own.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::Path;

use portsock_std::unix::{UnixBindOptions, UnixListener, UnixStream};

use super::child::{self, Finished};
use super::sockets::{TempDir, WAIT, text};
use super::{Verdict, block, check};
use crate::cli::net::Out;

/// Debian's `nobody` / `nogroup`.
const NOBODY: u32 = 65534;
/// The mode the server gives its node: read and write for its owner only.
const OWNER_ONLY: u32 = 0o600;

pub(super) fn permissions(out: &mut Out) -> Verdict {
    let dir = TempDir::new().map_err(text)?;
    let path = dir.path().join("uds_socket");
    let _listener =
        UnixListener::bind_with(&path, UnixBindOptions::new().mode(OWNER_ONLY)).map_err(text)?;
    let meta = fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    out.line(format_args!("$ ls -ln {}", path.display()));
    out.line(format_args!(
        "{} 1 {} {} 0 uds_socket",
        mode_text(meta.mode(), meta.file_type().is_socket()),
        meta.uid(),
        meta.gid()
    ));
    check(
        meta.file_type().is_socket() && meta.mode() & 0o7777 == OWNER_ONLY,
        || {
            format!(
                "the node's mode is {:o}, not a socket of mode 600",
                meta.mode()
            )
        },
    )?;
    UnixStream::connect(&path).map_err(|e| format!("its owner cannot connect: {e}"))?;
    out.line(format_args!("its owner (uid {}) connects: ok", meta.uid()));

    // The node belongs to whoever created it: this process's effective user.
    let args = [
        "echo",
        "client",
        "--proto",
        "unix",
        "--path",
        path.to_str().ok_or("the temporary path is not UTF-8")?,
    ];
    let (who, refused) = if meta.uid() == 0 {
        match as_nobody(&args, dir.path()) {
            Ok(finished) => ("nobody", finished),
            Err(why) => {
                // A user namespace without uid 65534, say: the refusal cannot be shown.
                out.line(format_args!(
                    "a client as uid {NOBODY} cannot run here: {why}"
                ));
                return would_show(out, &path);
            }
        }
    } else {
        out.line("not root: no client can run as another user here; with the node's mode at");
        out.line("0000 its own owner is refused instead, as `nobody` would be at 0600:");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).map_err(text)?;
        let cmd = child::portsock(&args)?
            .spawn()
            .map_err(|e| format!("portsock echo client: {e}"))?;
        ("owner", child::finish(cmd, "portsock echo client", WAIT)?)
    };
    out.line(format_args!("$ portsock {}", args.join(" ")));
    let Finished {
        status,
        stdout,
        stderr,
    } = refused;
    let lines: Vec<String> = stdout
        .lines()
        .chain(stderr.lines())
        .map(Into::into)
        .collect();
    block(out, who, &lines);
    check(
        status.code() == Some(1)
            && stdout == format!("connecting to {}\n", path.display())
            && stderr.contains("Permission denied"),
        || format!("expected a refusal, got exit {status}, {stdout:?}, {stderr:?}"),
    )
}

/// `portsock ARGS` as `nobody`, run from a copy in `dir` if `nobody` may not run this one
/// (it may live under a directory only its owner can enter).
fn as_nobody(args: &[&str], dir: &Path) -> Result<Finished, String> {
    let exe = std::env::current_exe().map_err(text)?;
    // std drops the supplementary groups too when root sets a uid.
    let spawn = |exe: &Path| child::command(exe, args).uid(NOBODY).gid(NOBODY).spawn();
    let child = match spawn(&exe) {
        Ok(child) => child,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            let copy = dir.join("portsock");
            fs::copy(&exe, &copy).map_err(|e| format!("copy {}: {e}", exe.display()))?;
            fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).map_err(text)?;
            spawn(&copy).map_err(|e| format!("{}: {e}", copy.display()))?
        }
        Err(e) => return Err(format!("{}: {e}", exe.display())),
    };
    child::finish(child, "portsock echo client as nobody", WAIT)
}

/// What the refused client would print, where none could run.
fn would_show(out: &mut Out, path: &Path) -> Verdict {
    out.line("as another user, the client would print:");
    block(
        out,
        "nobody",
        &[
            format!("connecting to {}", path.display()),
            format!(
                "error: --path: connect {}: Permission denied (os error 13)",
                path.display()
            ),
        ],
    );
    Ok(())
}

/// `ls -l`'s first column: `srw-------`.
fn mode_text(mode: u32, socket: bool) -> String {
    let mut text = String::from(if socket { "s" } else { "-" });
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 0o7;
        text.push(if bits & 4 != 0 { 'r' } else { '-' });
        text.push(if bits & 2 != 0 { 'w' } else { '-' });
        text.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    text
}

#[cfg(test)]
mod tests {
    use super::mode_text;

    #[test]
    fn modes_as_ls_shows_them() {
        assert_eq!(mode_text(0o140600, true), "srw-------");
        assert_eq!(mode_text(0o755, true), "srwxr-xr-x");
        assert_eq!(mode_text(0o644, false), "-rw-r--r--");
        assert_eq!(mode_text(0, true), "s---------");
    }
}
