//! portsock-std's tokio streams (feature `tokio`): TCP on the loopback and Unix sockets in a
//! temporary directory, with the core's echo machines run by the core's async driver, and with
//! blocking `std::net` peers on threads.

mod common;

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::thread;

use common::TempDir;
use portsock_core::asynch::drive::run_stream;
use portsock_core::asynch::transport::{Listener, Read, Shutdown, Stream, Write};
use portsock_core::echo::CHAPTER_MESSAGE;
use portsock_core::echo::stream::{EchoClient, EchoSession};
use portsock_std::tokio::{TcpListener, TcpStream, UnixListener, UnixStream};
use portsock_std::unix::UnixAddr;

/// A message long enough to fill the socket buffers many times over, never periodic in 256.
fn long_message(len: usize) -> &'static [u8] {
    Vec::leak((0..len).map(|i| (i % 251) as u8).collect())
}

/// Serves one echo session on `server` and runs the verifying client on `client`, side by
/// side in this task; returns what the server echoed.
async fn stream_echo<S, C>(mut server: S, mut client: C, message: &'static [u8]) -> u64
where
    S: Stream<Error = std::io::Error>,
    C: Stream<Error = std::io::Error>,
{
    let served = async {
        let mut session = EchoSession::new([0u8; 4096]);
        run_stream(&mut server, &mut session, &mut |_| {})
            .await
            .map(|()| session.received())
    };
    let echoed = async {
        let mut echo = EchoClient::new(message, [0u8; 4096]).with_chunk(4096);
        let result = run_stream(&mut client, &mut echo, &mut |_| {}).await;
        drop(client); // the session ends at the client's FIN
        result.map(|()| echo.received())
    };
    let (served, echoed) = tokio::join!(served, echoed);
    assert_eq!(echoed.unwrap(), message.len());
    served.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_echo_session_and_client() {
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let client = TcpStream::connect(addr).await.unwrap();
    let (server, peer) = listener.accept().await.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
    assert_eq!(client.peer_addr().unwrap(), addr);
    assert_eq!(stream_echo(server, client, CHAPTER_MESSAGE).await, 42);
}

#[tokio::test(flavor = "current_thread")]
async fn tcp_echo_of_a_long_message_on_one_thread() {
    let message = long_message(2_000_000);
    let listener = TcpListener::bind("[::1]:0".parse().unwrap()).await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    assert_eq!(
        stream_echo(server, client, message).await,
        message.len() as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_echo_session_and_client_and_the_node() {
    let dir = TempDir::new("tokio-unix");
    let path = dir.join("uds_socket");
    let listener = UnixListener::bind(&path).await.unwrap();
    assert_eq!(
        listener.local_addr().unwrap(),
        UnixAddr::from(path.as_path())
    );
    assert_eq!(listener.node().unwrap().path(), path);

    let client = UnixStream::connect(&path).await.unwrap();
    let (server, peer) = listener.accept().await.unwrap();
    assert_eq!(peer, UnixAddr::Unnamed); // the client bound no path
    assert_eq!(client.peer_addr().unwrap(), UnixAddr::from(path.as_path()));
    let message = long_message(500_000);
    assert_eq!(
        stream_echo(server, client, message).await,
        message.len() as u64
    );

    let (a, b) = UnixStream::pair().unwrap();
    assert_eq!(stream_echo(a, b, CHAPTER_MESSAGE).await, 42);

    // The node is ours until someone else's replaces it; only ours is removed.
    assert!(listener.remove_node().unwrap());
    assert!(!path.exists());
    assert!(!listener.remove_node().unwrap());
}

#[tokio::test(flavor = "current_thread")]
async fn unix_bind_replaces_a_stale_node_and_refuses_other_files() {
    let dir = TempDir::new("tokio-unix-stale");
    let path = dir.join("uds_socket");
    drop(UnixListener::bind(&path).await.unwrap()); // leaves its node behind
    assert!(path.exists());
    let listener = UnixListener::bind(&path).await.unwrap();
    let err = UnixListener::bind(&path).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
    drop(listener);

    let file = dir.join("plain_file");
    std::fs::write(&file, b"keep me").unwrap();
    let err = UnixListener::bind(&file).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists, "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");

    let long = dir.join(&"x".repeat(120));
    let err = UnixStream::connect(&long).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    assert!(
        err.to_string().contains("longer than the limit of 107"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_with_blocking_std_peers() {
    // A std::net client against the tokio listener and session.
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let message = long_message(300_000);
    let client = thread::spawn(move || {
        let mut sock = std::net::TcpStream::connect(addr).unwrap();
        let mut reader = sock.try_clone().unwrap();
        let echoed = thread::spawn(move || {
            let mut got = Vec::new();
            reader.read_to_end(&mut got).unwrap();
            got
        });
        sock.write_all(message).unwrap();
        sock.shutdown(std::net::Shutdown::Write).unwrap();
        echoed.join().unwrap()
    });
    let (mut conn, _) = listener.accept().await.unwrap();
    let mut session = EchoSession::new([0u8; 4096]);
    run_stream(&mut conn, &mut session, &mut |_| {})
        .await
        .unwrap();
    drop(conn);
    assert_eq!(
        tokio::task::spawn_blocking(move || client.join().unwrap())
            .await
            .unwrap(),
        message
    );

    // The tokio client against a std::net echo server.
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = server.local_addr().unwrap();
    let served = thread::spawn(move || {
        let (mut conn, _) = server.accept().unwrap();
        let mut reader = conn.try_clone().unwrap();
        std::io::copy(&mut reader, &mut conn).unwrap()
    });
    let mut client = TcpStream::connect(addr).await.unwrap();
    let mut echo = EchoClient::new(message, [0u8; 4096]).with_chunk(4096);
    run_stream(&mut client, &mut echo, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(echo.received(), message.len());
    drop(client);
    let copied = tokio::task::spawn_blocking(move || served.join().unwrap())
        .await
        .unwrap();
    assert_eq!(copied, message.len() as u64);
}

#[tokio::test(flavor = "current_thread")]
async fn shutdown_directions() {
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (mut server, _) = listener.accept().await.unwrap();

    // Shutdown::Write: the peer reads what was written, then end of stream.
    client.write_all(b"last words").await.unwrap();
    client.shutdown(Shutdown::Write).await.unwrap();
    let mut buf = [0u8; 32];
    let mut got = Vec::new();
    loop {
        let n = server.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"last words");

    // Shutdown::Read: reads end at once, even with bytes queued or still arriving.
    server.write_all(b"queued").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    client.shutdown(Shutdown::Read).await.unwrap();
    assert_eq!(client.read(&mut buf).await.unwrap(), 0);

    // From and into the tokio type, and the socket behind it.
    let inner: tokio::net::TcpStream = server.into_inner();
    let server = TcpStream::from(inner);
    assert_eq!(
        server.as_ref().local_addr().unwrap(),
        listener.local_addr().unwrap()
    );
    let std_stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let wrapped = TcpStream::from_std(std_stream).unwrap();
    let (accepted, _) = listener.accept().await.unwrap();
    assert_eq!(accepted.peer_addr().unwrap(), wrapped.local_addr().unwrap());
}

#[tokio::test(flavor = "current_thread")]
async fn connect_errors_name_the_address() {
    // Bind then drop: the port is (almost certainly) closed for a moment.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let err = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    assert!(
        err.to_string().starts_with(&format!("connect {addr}: ")),
        "{err}"
    );

    let dir = TempDir::new("tokio-unix-missing");
    let path = dir.join("nobody_here");
    let err = UnixStream::connect(&path).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("nobody_here"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_per_connection() {
    // What a server does: the driver's future over these streams is Send, so it can be spawned.
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut sessions = Vec::new();
        for _ in 0..8 {
            let (mut stream, _) = listener.accept().await?;
            sessions.push(tokio::spawn(async move {
                let mut session = EchoSession::new([0u8; 1024]);
                run_stream(&mut stream, &mut session, &mut |_| {})
                    .await
                    .map(|()| session.received())
            }));
        }
        Ok::<_, std::io::Error>(sessions)
    });
    let clients: Vec<_> = (0..8usize)
        .map(|i| {
            tokio::spawn(async move {
                let message = long_message(10_000 + i * 1_000);
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let mut echo = EchoClient::new(message, [0u8; 1024]).with_chunk(1024);
                run_stream(&mut stream, &mut echo, &mut |_| {})
                    .await
                    .unwrap();
                echo.received()
            })
        })
        .collect();
    let mut expected = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        assert_eq!(client.await.unwrap(), 10_000 + i * 1_000);
        expected.push((10_000 + i * 1_000) as u64);
    }
    let mut served = Vec::new();
    for session in server.await.unwrap().unwrap() {
        served.push(session.await.unwrap().unwrap());
    }
    served.sort_unstable();
    assert_eq!(served, expected);
}

#[tokio::test(flavor = "current_thread")]
async fn tokios_own_io_traits_work_too() {
    // Only tokio's extension traits are used by name here: with the core's Read / Write in
    // scope too, `read` and `write_all` would name two methods.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = TempDir::new("tokio-io-traits");
    let path = dir.join("uds_socket");
    let listener = UnixListener::bind(&path).await.unwrap();
    let mut client = UnixStream::connect(&path).await.unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    let message = long_message(300_000);
    let sent = async {
        // tokio::io::copy from a reader, then tokio's shutdown: the peer's end of stream.
        let copied = tokio::io::copy(&mut &message[..], &mut client)
            .await
            .unwrap();
        tokio::io::AsyncWriteExt::shutdown(&mut client)
            .await
            .unwrap();
        copied
    };
    let received = async {
        let mut got = Vec::new();
        AsyncReadExt::read_to_end(&mut server, &mut got)
            .await
            .unwrap();
        got
    };
    let (copied, got) = tokio::join!(sent, received);
    assert_eq!(copied, message.len() as u64);
    assert_eq!(got, message);

    // After the core's Shutdown::Read, tokio's read is end of stream too.
    AsyncWriteExt::write_all(&mut server, b"not for you")
        .await
        .unwrap();
    Stream::shutdown(&mut client, Shutdown::Read).await.unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(AsyncReadExt::read(&mut client, &mut buf).await.unwrap(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn bind_and_connect_by_host_name() {
    // The chapter's "localhost": the listener takes its first IPv4 address.
    let listener = TcpListener::bind_host("localhost", 0).await.unwrap();
    let addr = listener.local_addr().unwrap();
    assert!(addr.ip().is_loopback() && addr.is_ipv4(), "{addr}");
    let client = TcpStream::create_connection("localhost", addr.port())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    assert_eq!(stream_echo(server, client, CHAPTER_MESSAGE).await, 42);

    // Nobody listens there any more: the error names the host and port asked for.
    let port = addr.port();
    drop(listener);
    let err = TcpStream::create_connection("localhost", port)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    assert!(
        err.to_string().starts_with(&format!("localhost:{port}: ")),
        "{err}"
    );
}
