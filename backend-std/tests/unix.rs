//! Unix-domain sockets in a temporary directory: echo, stale files, modes, path limits,
//! socketpair, datagrams and timeouts.

mod common;

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::thread;

use common::{TempDir, deadline_in, soon};
use portsock_std::prelude::*;
use portsock_std::unix::{
    MAX_PATH_LEN, UnixAddr, UnixBindOptions, UnixDatagram, UnixListener, UnixStream, socketpair,
};

fn is_socket(path: &Path) -> bool {
    fs::symlink_metadata(path)
        .map(|m| m.file_type().is_socket())
        .unwrap_or(false)
}

#[test]
fn stream_echo_through_a_path() {
    let dir = TempDir::new("echo");
    let path = dir.join("uds_socket");
    let mut listener = UnixListener::bind(&path).unwrap();
    assert_eq!(listener.local_addr().unwrap(), UnixAddr::Path(path.clone()));
    let server = thread::spawn(move || {
        let (mut conn, peer) = listener.accept().unwrap();
        let mut data = [0u8; 16];
        loop {
            let n = conn.read(&mut data).unwrap();
            if n == 0 {
                return peer;
            }
            conn.write_all(&data[..n]).unwrap();
        }
    });
    let mut client = UnixStream::connect(&path).unwrap();
    assert_eq!(client.peer_addr().unwrap(), UnixAddr::Path(path.clone()));
    assert_eq!(client.local_addr().unwrap(), UnixAddr::Unnamed);
    let message = b"This is the message.  It will be repeated.";
    client.write_all(message).unwrap();
    let mut back = [0u8; 42];
    client.read_exact(&mut back).unwrap();
    assert_eq!(&back, message);
    client.shutdown(Shutdown::Write).unwrap();
    let peer = server.join().unwrap();
    assert_eq!(peer, UnixAddr::Unnamed);
    assert_eq!(peer.to_string(), "");
}

#[test]
fn stale_socket_file_is_removed() {
    let dir = TempDir::new("stale");
    let path = dir.join("uds_socket");
    drop(UnixListener::bind(&path).unwrap());
    assert!(
        is_socket(&path),
        "closing a listener leaves its node behind"
    );
    // No option needed: the chapter's "unlink first", limited to dead sockets.
    let mut listener = UnixListener::bind(&path).unwrap();
    let _client = UnixStream::connect(&path).unwrap();
    listener.accept().unwrap();

    // The same for datagram sockets.
    let dgram = dir.join("dgram");
    drop(UnixDatagram::bind(&dgram).unwrap());
    assert!(is_socket(&dgram));
    UnixDatagram::bind(&dgram).unwrap();
}

#[test]
fn a_live_socket_is_not_removed() {
    let dir = TempDir::new("live");
    let path = dir.join("uds_socket");
    let mut first = UnixListener::bind(&path).unwrap();
    let err = UnixListener::bind(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    // The first server still owns the path, and its first connection is a client's (the
    // probe is not a connection: tests/unix_node.rs).
    let _client = UnixStream::connect(&path).unwrap();
    first.accept().unwrap();

    let dgram = dir.join("dgram");
    let _live = UnixDatagram::bind(&dgram).unwrap();
    assert_eq!(
        UnixDatagram::bind(&dgram).unwrap_err().kind(),
        io::ErrorKind::AddrInUse
    );
}

#[test]
fn a_regular_file_is_refused_and_kept_intact() {
    let dir = TempDir::new("regular");
    let path = dir.join("uds_socket");
    fs::write(&path, b"precious data").unwrap();
    for err in [
        UnixListener::bind(&path).unwrap_err(),
        UnixDatagram::bind(&path).unwrap_err(),
    ] {
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(
            err.to_string(),
            format!(
                "{}: exists and is not a socket (it is a regular file); refusing to remove it",
                path.display()
            )
        );
    }
    assert_eq!(fs::read(&path).unwrap(), b"precious data");

    // Nor a directory, nor a symlink (even one pointing at a stale socket).
    let sub = dir.join("a_dir");
    fs::create_dir(&sub).unwrap();
    assert!(
        UnixListener::bind(&sub)
            .unwrap_err()
            .to_string()
            .contains("(it is a directory)")
    );
    assert!(sub.is_dir());
    let stale = dir.join("stale");
    drop(UnixListener::bind(&stale).unwrap());
    let link = dir.join("link");
    std::os::unix::fs::symlink(&stale, &link).unwrap();
    assert!(
        UnixListener::bind(&link)
            .unwrap_err()
            .to_string()
            .contains("(it is a symbolic link)")
    );
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(is_socket(&stale));
}

#[test]
fn keeping_existing_files_leaves_bind_to_fail() {
    let dir = TempDir::new("keep");
    let path = dir.join("uds_socket");
    drop(UnixListener::bind(&path).unwrap());
    let err =
        UnixListener::bind_with(&path, UnixBindOptions::new().remove_stale(false)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert!(
        err.to_string()
            .starts_with(&format!("bind {}: ", path.display())),
        "{err}"
    );
    assert!(is_socket(&path));
}

#[test]
fn file_mode_is_applied_to_the_node() {
    let dir = TempDir::new("mode");
    for mode in [0o600, 0o660, 0o666] {
        let path = dir.join(&format!("sock-{mode:o}"));
        let _l = UnixListener::bind_with(&path, UnixBindOptions::new().mode(mode)).unwrap();
        let got = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, mode, "{}", path.display());
        let dgram = dir.join(&format!("dgram-{mode:o}"));
        let _d = UnixDatagram::bind_with(&dgram, UnixBindOptions::new().mode(mode)).unwrap();
        assert_eq!(
            fs::metadata(&dgram).unwrap().permissions().mode() & 0o777,
            mode
        );
    }
}

fn long_path(dir: &TempDir, len: usize) -> PathBuf {
    let base = dir.path().as_os_str().len() + 1;
    assert!(base < len, "temp dir path too long for the test");
    dir.path().join("s".repeat(len - base))
}

#[test]
fn over_long_paths_are_refused_naming_path_and_limit() {
    let dir = TempDir::new("long");
    let path = long_path(&dir, MAX_PATH_LEN + 1);
    let expected = format!(
        "{}: Unix socket path of 108 bytes is longer than the limit of 107 (sun_path holds 108 bytes with the NUL)",
        path.display()
    );
    let errors = [
        UnixListener::bind(&path).unwrap_err(),
        UnixStream::connect(&path).unwrap_err(),
        UnixDatagram::bind(&path).unwrap_err(),
        UnixDatagram::unbound()
            .unwrap()
            .send_to(b"x", &UnixAddr::Path(path.clone()))
            .unwrap_err(),
    ];
    for err in errors {
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(err.to_string(), expected);
    }
    assert!(!path.exists());
    // Exactly at the limit works.
    let ok = long_path(&dir, MAX_PATH_LEN);
    let _l = UnixListener::bind(&ok).unwrap();
    let _c = UnixStream::connect(&ok).unwrap();
}

#[test]
fn connect_errors_name_the_path() {
    let dir = TempDir::new("connect");
    let missing = dir.join("missing");
    let err = UnixStream::connect(&missing).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(
        err.to_string()
            .starts_with(&format!("connect {}: ", missing.display())),
        "{err}"
    );
    let stale = dir.join("stale");
    drop(UnixListener::bind(&stale).unwrap());
    assert_eq!(
        UnixStream::connect(&stale).unwrap_err().kind(),
        io::ErrorKind::ConnectionRefused
    );
}

#[test]
fn socketpair_ping_pong() {
    let (mut parent, mut child) = socketpair().unwrap();
    assert_eq!(parent.local_addr().unwrap(), UnixAddr::Unnamed);
    assert_eq!(child.peer_addr().unwrap(), UnixAddr::Unnamed);
    let other = thread::spawn(move || {
        let mut buf = [0u8; 1024];
        let n = child.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ping");
        child.write_all(b"pong").unwrap();
    });
    parent.write_all(b"ping").unwrap();
    let mut buf = [0u8; 1024];
    let n = parent.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"pong");
    other.join().unwrap();
    assert_eq!(
        parent.read(&mut buf).unwrap(),
        0,
        "the child's end is closed"
    );
}

#[test]
fn datagrams_between_paths_show_truncation_and_sender() {
    let dir = TempDir::new("dgram");
    let (a_path, b_path) = (dir.join("a"), dir.join("b"));
    let mut a = UnixDatagram::bind(&a_path).unwrap();
    let mut b = UnixDatagram::bind(&b_path).unwrap();
    a.send_to(&[7u8; 300], &UnixAddr::Path(b_path.clone()))
        .unwrap();
    let mut buf = [0u8; 100];
    let got = b.recv_from(&mut buf, Some(soon())).unwrap().unwrap();
    assert_eq!(got.len, 300);
    assert!(got.is_truncated(buf.len()));
    assert_eq!(got.from, UnixAddr::Path(a_path.clone()));
    assert_eq!(got.from.to_string(), a_path.display().to_string());
    assert_eq!(b.local_addr().unwrap(), UnixAddr::Path(b_path.clone()));

    let mut anon = UnixDatagram::unbound().unwrap();
    anon.send_to(b"who?", &UnixAddr::Path(b_path)).unwrap();
    let got = b.recv_from(&mut buf, Some(soon())).unwrap().unwrap();
    assert_eq!((got.len, &got.from), (4, &UnixAddr::Unnamed));
    assert_eq!(
        b.send_to(b"reply", &got.from).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    assert_eq!(b.recv_from(&mut buf, Some(deadline_in(100))).unwrap(), None);
}

#[test]
fn abstract_addresses_round_trip() {
    let name = format!("portsock-test-{}", std::process::id()).into_bytes();
    let listener = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::DGRAM, None).unwrap();
    let mut with_nul = vec![0u8];
    with_nul.extend_from_slice(&name);
    let addr = socket2::SockAddr::unix(
        <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&with_nul),
    )
    .unwrap();
    listener.bind(&addr).unwrap();
    let mut receiver = UnixDatagram::from_socket(listener).unwrap();
    let expected = UnixAddr::Abstract(name.clone());
    assert_eq!(receiver.local_addr().unwrap(), expected);
    assert_eq!(
        expected.to_string(),
        format!("b'\\x00{}'", String::from_utf8_lossy(&name))
    );
    UnixDatagram::unbound()
        .unwrap()
        .send_to(b"hi", &expected)
        .unwrap();
    assert_eq!(
        receiver
            .recv_from(&mut [0u8; 8], Some(soon()))
            .unwrap()
            .map(|r| r.len),
        Some(2)
    );
}

#[test]
fn unix_stream_timeouts_and_non_blocking() {
    let (mut a, _b) = socketpair().unwrap();
    a.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let err = a.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(!err.is_would_block());
    a.set_nonblocking(true).unwrap();
    let err = a.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    assert!(err.is_would_block());

    let dir = TempDir::new("nb");
    let mut listener = UnixListener::bind(dir.join("s")).unwrap();
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().unwrap_err().is_would_block());
    listener.set_nonblocking(false).unwrap();
    listener
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    assert_eq!(
        listener.accept().unwrap_err().kind(),
        io::ErrorKind::TimedOut
    );

    let mut d = UnixDatagram::bind(dir.join("d")).unwrap();
    d.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    assert_eq!(
        d.recv_from(&mut [0u8; 8], None).unwrap_err().kind(),
        io::ErrorKind::TimedOut
    );
    d.set_nonblocking(true).unwrap();
    assert!(
        d.recv_from(&mut [0u8; 8], None)
            .unwrap_err()
            .is_would_block()
    );
}
