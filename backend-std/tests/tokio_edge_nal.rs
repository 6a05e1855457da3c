//! portsock's tokio sockets as an edge-nal stack (feature `edge-nal`): edge-http 0.8's server
//! and client, written against edge-nal only, running on `portsock_std::tokio::edge::Stack`
//! with CPython's `http.client` and `http.server` at the other end, and edge-nal's UDP traits
//! (split halves, multicast) against a CPython client. Every body and datagram is compared.
//! Loopback only.

mod common;

use std::fmt::{Debug, Display};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::TempDir;
use edge_http::Method;
use edge_http::io::Error as HttpError;
use edge_http::io::server::{Connection, Handler, Server};
use edge_nal::{MulticastV4, Readable, TcpBind, TcpShutdown, TcpSplit, UdpBind, UdpReceive};
use edge_nal::{UdpSend, UdpSplit};
use portsock_core::asynch::transport::{Datagram, Listener, Read, Write};
use portsock_std::tokio::edge::Stack;

/// A group joined on the loopback.
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 3, 29, 71);
/// How long a test waits for its CPython peer before it fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// Three POSTs on one kept-alive connection (100,000 bytes, 10, none), each answered by the
/// server with the body it received; prints one line per request.
const PY_HTTP_CLIENT: &str = r#"
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=20)
for n in (100000, 10, 0):
    body = bytes((i * 13 + n) % 256 for i in range(n))
    c.request("POST", "/echo/%d" % n, body=body)
    r = c.getresponse()
    data = r.read()
    print(r.status, r.getheader("X-Path"), "same" if data == body else "differs", len(data))
"#;

/// Serves the directory `argv[1]` for one request on a port it picks and prints.
const PY_HTTP_SERVER: &str = r#"
import http.server, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=sys.argv[1], **kwargs)
    def log_message(self, *args):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), Quiet)
print(srv.server_address[1], flush=True)
srv.handle_request()
"#;

/// Sends datagrams of sizes `argv[2:]` to `argv[1]` ("PORT", or "group:PORT" for [`GROUP`]
/// out of the loopback) and prints how many echoes came back equal to what was sent, and how
/// long each echo was.
const PY_DGRAM: &str = r#"
import socket, sys
target, sizes = sys.argv[1], [int(a) for a in sys.argv[2:]]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(20)
if target.startswith("group:"):
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    addr = ("224.3.29.71", int(target[6:]))
else:
    addr = ("127.0.0.1", int(target))
for n in sizes:
    data = bytes((i * 5 + n) % 256 for i in range(n))
    s.sendto(data, addr)
    echo, _ = s.recvfrom(65536)
    print(len(echo), "prefix" if data.startswith(echo) else "differs")
"#;

/// Answers every request with its own body and its path in `X-Path`.
struct EchoBody;

impl Handler for EchoBody {
    type Error<E>
        = HttpError<E>
    where
        E: Debug;

    async fn handle<T, const N: usize>(
        &self,
        _task_id: impl Display + Copy,
        connection: &mut Connection<'_, T, N>,
    ) -> Result<(), HttpError<T::Error>>
    where
        T: Read + Write + TcpSplit,
    {
        let path = connection.headers()?.path.to_owned();
        let mut body = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = connection.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&buf[..n]);
        }
        let len = body.len().to_string();
        let headers = [("Content-Length", len.as_str()), ("X-Path", path.as_str())];
        connection
            .initiate_response(200, Some("OK"), &headers)
            .await?;
        connection.write_all(&body).await?;
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn edge_http_server_on_portsock_answers_cpython_http_client() {
    let listener = TcpBind::bind(&Stack, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind");
    let port = listener.local_addr().expect("local address").port();
    let client = tokio::task::spawn_blocking(move || python(PY_HTTP_CLIENT, &[&port.to_string()]));

    // Two handler tasks accepting on the one listener (edge-http's design), with the keep-alive
    // timeout that makes it wait on `Readable` between requests.
    let mut server = Server::<2, 4096, 32>::new();
    let out = tokio::select! {
        result = server.run(Some(10_000), listener, EchoBody) => panic!("server stopped: {result:?}"),
        out = tokio::time::timeout(PATIENCE, client) => out.expect("in time").expect("client"),
    };
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "200 /echo/100000 same 100000",
            "200 /echo/10 same 10",
            "200 /echo/0 same 0",
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn edge_http_client_on_portsock_fetches_from_cpython_http_server() {
    let dir = TempDir::new("edge-http");
    let data: Vec<u8> = (0..50_000u32).map(|i| (i * 11 % 256) as u8).collect();
    std::fs::write(dir.path().join("data.bin"), &data).expect("write the file");

    let mut server = Killed(
        Command::new("python3")
            .arg("-c")
            .arg(PY_HTTP_SERVER)
            .arg(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs"),
    );
    let port = read_port(&mut server.0);

    let stack = Stack;
    let mut buf = vec![0u8; 8192];
    let mut conn: edge_http::io::client::Connection<'_, _, 32> =
        edge_http::io::client::Connection::new(&mut buf, &stack, ([127, 0, 0, 1], port).into());
    let fetch = async {
        conn.initiate_request(true, Method::Get, "/data.bin", &[("Host", "127.0.0.1")])
            .await?;
        conn.initiate_response().await?;
        let code = conn.headers()?.code;
        let mut body = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        Ok::<_, HttpError<std::io::Error>>((code, body))
    };
    let (code, body) = tokio::time::timeout(PATIENCE, fetch)
        .await
        .expect("in time")
        .expect("GET /data.bin");
    assert_eq!(code, 200);
    assert!(body == data, "{} bytes, not the file's", body.len());
    assert!(server.0.wait().expect("python3 exits").success());
}

#[tokio::test(flavor = "current_thread")]
async fn edge_nal_udp_halves_echo_cpython_and_cut_what_does_not_fit() {
    let mut socket = UdpBind::bind(&Stack, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind");
    let port = socket.local_addr().expect("local address").port();
    let client = tokio::task::spawn_blocking(move || {
        python(PY_DGRAM, &[&port.to_string(), "1", "100", "1400", "3000"])
    });

    let lengths = echo_datagrams(&mut socket, 4, 2048).await;
    let out = tokio::time::timeout(PATIENCE, client)
        .await
        .expect("in time")
        .expect("client");
    // The 3000-byte datagram comes back as the 2048 bytes that fit: `receive` reports the
    // bytes copied, never more than the buffer (see the module docs).
    assert_eq!(lengths, [1, 100, 1400, 2048]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["1 prefix", "100 prefix", "1400 prefix", "2048 prefix"]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn edge_nal_multicast_join_receives_what_cpython_sends_to_the_group() {
    let mut socket = UdpBind::bind(&Stack, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
        .await
        .expect("bind");
    MulticastV4::join_v4(&mut socket, GROUP, Ipv4Addr::LOCALHOST)
        .await
        .expect("join on the loopback");
    let port = socket.local_addr().expect("local address").port();
    let client = tokio::task::spawn_blocking(move || {
        python(PY_DGRAM, &[&format!("group:{port}"), "20", "500"])
    });

    let lengths = echo_datagrams(&mut socket, 2, 2048).await;
    let out = tokio::time::timeout(PATIENCE, client)
        .await
        .expect("in time")
        .expect("client");
    assert_eq!(lengths, [20, 500]);
    assert_eq!(out.lines().collect::<Vec<_>>(), ["20 prefix", "500 prefix"]);

    // Not a member any more: the same request is refused.
    MulticastV4::leave_v4(&mut socket, GROUP, Ipv4Addr::LOCALHOST)
        .await
        .expect("leave");
    let again = MulticastV4::leave_v4(&mut socket, GROUP, Ipv4Addr::LOCALHOST).await;
    assert!(again.is_err(), "left twice: {again:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn edge_nal_refuses_a_unicast_group() {
    let mut socket = UdpBind::bind(&Stack, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind");
    let err = MulticastV4::join_v4(&mut socket, Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::LOCALHOST)
        .await
        .expect_err("not a multicast group");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("10.0.0.1"), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn edge_nal_abort_resets_the_connection() {
    let listener = TcpBind::bind(&Stack, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    let peer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
        let mut buf = [0u8; 16];
        std::io::Read::read(&mut stream, &mut buf).map_err(|e| e.kind())
    });
    let (_peer, mut stream) = edge_nal::TcpAccept::accept(&listener)
        .await
        .expect("accept");
    stream.abort().await.expect("abort");
    drop(stream);
    let read = peer.await.expect("peer");
    assert_eq!(read, Err(std::io::ErrorKind::ConnectionReset));
}

#[tokio::test(flavor = "current_thread")]
async fn edge_nal_udp_connect_talks_to_its_peer_only_and_ignores_send_addresses() {
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").expect("peer");
    peer.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let peer_addr = peer.local_addr().expect("peer's address");
    let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let mut socket = edge_nal::UdpConnect::connect(&Stack, local, peer_addr)
        .await
        .expect("connect");
    let mine = socket.local_addr().expect("local address");

    // Connected: the address given to send is ignored, as edge-nal specifies.
    let elsewhere = SocketAddr::from((Ipv4Addr::LOCALHOST, 9));
    socket.send(elsewhere, b"to the peer").await.expect("send");
    let mut buf = [0u8; 64];
    let (n, from) = peer.recv_from(&mut buf).expect("the peer receives");
    assert_eq!((&buf[..n], from), (&b"to the peer"[..], mine));

    // A stranger's datagram is filtered by the kernel; the peer's arrives.
    let stranger = std::net::UdpSocket::bind("127.0.0.1:0").expect("stranger");
    stranger.send_to(b"stranger", mine).expect("stranger sends");
    peer.send_to(b"reply", mine).expect("peer replies");
    let (n, from) = tokio::time::timeout(PATIENCE, socket.receive(&mut buf))
        .await
        .expect("in time")
        .expect("receive");
    assert_eq!((&buf[..n], from), (&b"reply"[..], peer_addr));
}

#[tokio::test(flavor = "current_thread")]
async fn edge_nal_tcp_halves_echo_a_std_client_and_close_ends_its_stream() {
    let listener = TcpBind::bind(&Stack, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 3 % 256) as u8).collect();
    let sent = data.clone();
    let client = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
        let mut writer = stream.try_clone().expect("clone");
        let sender = std::thread::spawn(move || {
            std::io::Write::write_all(&mut writer, &sent).expect("send");
        });
        let mut echo = Vec::new();
        std::io::Read::read_to_end(&mut stream, &mut echo).expect("read to the end");
        sender.join().expect("sender");
        echo
    });

    let (_peer, mut stream) = edge_nal::TcpAccept::accept(&listener)
        .await
        .expect("accept");
    {
        let (mut rx, mut tx) = stream.split();
        let mut buf = [0u8; 8192];
        let mut echoed = 0;
        while echoed < data.len() {
            rx.readable().await.expect("readable");
            let n = rx.read(&mut buf).await.expect("read");
            assert!(n > 0, "end of stream after {echoed} bytes");
            tx.write_all(&buf[..n]).await.expect("write");
            echoed += n;
        }
    }
    stream.close(edge_nal::Close::Write).await.expect("close");
    let echo = tokio::time::timeout(PATIENCE, client)
        .await
        .expect("in time")
        .expect("client");
    assert!(
        echo == data,
        "{} bytes echoed, not the 100,000 sent",
        echo.len()
    );
}

/// Echoes `count` datagrams through the socket's edge-nal halves, waiting on `Readable`
/// before each receive; returns each datagram's reported length.
async fn echo_datagrams(
    socket: &mut portsock_std::tokio::UdpSocket,
    count: usize,
    buf_len: usize,
) -> Vec<usize> {
    let (mut rx, mut tx) = socket.split();
    let mut buf = vec![0u8; buf_len];
    let mut lengths = Vec::new();
    for _ in 0..count {
        tokio::time::timeout(PATIENCE, rx.readable())
            .await
            .expect("a datagram in time")
            .expect("readable");
        let (len, from) = rx.receive(&mut buf).await.expect("receive");
        tx.send(from, &buf[..len]).await.expect("echo");
        lengths.push(len);
    }
    lengths
}

/// A child process killed when the test ends, passed or failed.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read_port(child: &mut std::process::Child) -> u16 {
    let stdout = child.stdout.as_mut().expect("piped stdout");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
        .expect("python3 prints its port");
    line.trim().parse().expect("a port number")
}

fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}
