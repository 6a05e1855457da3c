//! `accept_nonblocking`: the accept an event loop uses (portsock-server's), on TCP and Unix
//! listeners, gives streams already in non-blocking mode.

mod common;

use std::io;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

use common::TempDir;

const SOON: Duration = Duration::from_secs(10);

#[test]
fn accept_nonblocking_gives_streams_that_never_block() {
    use portsock_std::prelude::{Listener, Read as _};
    use portsock_std::tcp::TcpListener;
    use portsock_std::unix::UnixListener;

    let mut tcp = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    tcp.set_nonblocking(true).unwrap();
    let err = tcp.accept_nonblocking().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock); // nothing pending
    let _client = TcpStream::connect(tcp.local_addr().unwrap()).unwrap();
    let (mut conn, _) = accept_soon(|| tcp.accept_nonblocking());
    let err = conn.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock); // not TimedOut: non-blocking mode

    let dir = TempDir::new("server-accept-nb");
    let path = dir.join("uds_socket");
    let mut unix = UnixListener::bind(&path).unwrap();
    let _client = UnixStream::connect(&path).unwrap();
    let (mut conn, _) = unix.accept_nonblocking().unwrap(); // blocking listener: waits
    let err = conn.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
}

/// Retries a non-blocking accept for up to 10 s.
fn accept_soon<T>(mut accept: impl FnMut() -> io::Result<T>) -> T {
    let deadline = Instant::now() + SOON;
    loop {
        match accept() {
            Ok(t) => return t,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}
