//! The node a Unix socket binds belongs to that socket only while the path still names it:
//! a server removes it only if it is still its own, and the stale-socket probe of a second
//! bind is not a connection the live server would accept.

mod common;

use std::fs;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use common::TempDir;
use portsock_std::prelude::*;
use portsock_std::unix::{UnixDatagram, UnixListener, UnixStream};

fn is_socket(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

#[test]
fn a_listener_removes_its_own_node_once() {
    let dir = TempDir::new("own-node");
    let path = dir.join("uds_socket");
    let listener = UnixListener::bind(&path).unwrap();
    let node = listener.node().expect("bound to a path");
    assert_eq!(node.path(), path);
    assert!(node.is_current().unwrap());
    assert!(listener.remove_node().unwrap(), "its own node is removed");
    assert!(!path.exists());
    assert!(!listener.remove_node().unwrap(), "nothing left to remove");
}

#[test]
fn a_replaced_node_is_left_to_its_new_owner() {
    let dir = TempDir::new("replaced");
    let path = dir.join("uds_socket");
    let a = UnixListener::bind(&path).unwrap();
    // B takes the path over as the chapter's server does: unlink whatever is there, bind.
    fs::remove_file(&path).unwrap();
    let mut b = UnixListener::bind(&path).unwrap();
    assert!(!a.node().unwrap().is_current().unwrap());
    assert!(
        !a.remove_node().unwrap(),
        "A's node is gone: B's is not A's to remove"
    );
    drop(a);
    assert!(is_socket(&path), "B's node is still there");
    let mut client = UnixStream::connect(&path).unwrap();
    let (mut conn, _) = b.accept().unwrap();
    client.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping", "B still answers");

    // The same for a datagram socket's node.
    let dgram = dir.join("dgram");
    let a = UnixDatagram::bind(&dgram).unwrap();
    fs::remove_file(&dgram).unwrap();
    let _b = UnixDatagram::bind(&dgram).unwrap();
    assert!(!a.remove_node().unwrap());
    assert!(is_socket(&dgram));
}

#[test]
fn the_stale_probe_is_not_a_connection_to_the_live_server() {
    let dir = TempDir::new("probe");
    let path = dir.join("uds_socket");
    let mut live = UnixListener::bind(&path).unwrap();
    live.set_nonblocking(true).unwrap();
    let err = UnixListener::bind(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    // A one-shot server would have served the probe as its one client.
    assert_eq!(
        live.accept().map(|_| ()).unwrap_err().kind(),
        io::ErrorKind::WouldBlock,
        "the probe reached the live server's accept queue"
    );
    assert!(live.node().unwrap().is_current().unwrap());

    // A live datagram socket is probed without a datagram reaching it either.
    let dgram = dir.join("dgram");
    let mut live = UnixDatagram::bind(&dgram).unwrap();
    live.set_nonblocking(true).unwrap();
    assert_eq!(
        UnixDatagram::bind(&dgram).unwrap_err().kind(),
        io::ErrorKind::AddrInUse
    );
    let mut buf = [0u8; 8];
    assert_eq!(
        live.recv_from(&mut buf, None).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
}
