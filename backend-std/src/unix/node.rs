//! The file a Unix socket binds, and how to tell whether a path still names it
//! ([`SocketNode`]).

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::sock::context;

/// The socket node a socket bound at a path, as it was right after `bind(2)`. Only the
/// socket's owner hands it out, by reference, so it cannot outlive the socket.
///
/// `bind(2)` creates a socket node at the path; closing the socket leaves the node behind, and
/// anyone may unlink it and bind a node of their own at the same path. So "remove my socket
/// file" must mean "remove the node at this path if it is still the one I bound": the node's
/// identity (device and inode number) is recorded right after `bind(2)` and compared before
/// unlinking ([`remove`](Self::remove)).
///
/// While the socket that bound a node is open the kernel keeps a reference to the node, so
/// its inode number cannot be given to another file: comparing (device, inode) is exact as
/// long as the socket is still open when the comparison runs.
///
/// **The remaining race.** No system call unlinks a path only if it names a given inode, so
/// between the comparison and `unlink(2)` (two consecutive system calls) another process
/// could unlink the node and bind its own, which would then be removed. Only a process that
/// takes the path over at that very moment can lose its node; one that replaced the node at
/// any earlier time keeps it.
#[derive(Debug, PartialEq, Eq)]
pub struct SocketNode {
    path: PathBuf,
    id: NodeId,
}

/// What identifies a file: its device and inode number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NodeId {
    dev: u64,
    ino: u64,
}

impl NodeId {
    /// The identity of the file `path` names, without following a symlink; `None` if
    /// nothing is there.
    pub(super) fn at(path: &Path) -> io::Result<Option<Self>> {
        match fs::symlink_metadata(path) {
            Ok(meta) => Ok(Some(Self::of(&meta))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(context(e, path.display())),
        }
    }

    pub(super) fn of(meta: &fs::Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

impl SocketNode {
    /// Records the node just bound at `path`.
    pub(super) fn bound(path: &Path) -> io::Result<Self> {
        let id = NodeId::at(path)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{}: the socket node vanished right after bind",
                    path.display()
                ),
            )
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            id,
        })
    }

    /// The path it was bound at, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the path still names this node (not removed, not replaced by another).
    ///
    /// # Errors
    ///
    /// `lstat(2)` failed other than with "not found" (no permission on the directory, say).
    pub fn is_current(&self) -> io::Result<bool> {
        Ok(NodeId::at(&self.path)? == Some(self.id))
    }

    /// Removes the path if it still names this node. Returns whether it did: `false` when the
    /// node is gone or another file has taken the path (that file is left alone). Call it
    /// while the socket is still open (see [`SocketNode`] for why, and for the remaining
    /// race).
    ///
    /// # Errors
    ///
    /// `lstat(2)` or `unlink(2)` failed, other than with "not found".
    pub fn remove(&self) -> io::Result<bool> {
        if !self.is_current()? {
            return Ok(false);
        }
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(context(e, format!("removing {}", self.path.display()))),
        }
    }
}
