//! portsock-std's tokio sockets against CPython's `socket` module: the core's echo and
//! multicast machines on tokio serve (and ask) a Python peer over TCP, UDP, Unix stream and
//! datagram sockets and multicast on the loopback, every byte compared.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Output};

use common::TempDir;
use portsock_core::asynch::drive::{run_datagram, run_stream};
use portsock_core::asynch::transport::{Datagram as _, Interface, Listener as _, Multicast as _};
use portsock_core::echo::datagram::DatagramEchoServer;
use portsock_core::echo::stream::EchoSession;
use portsock_core::multicast::MulticastSender;
use portsock_core::time::Duration;
use portsock_std::tokio::{TcpListener, TokioTimer, UdpSocket, UnixDatagram, UnixListener};

/// A message longer than one read, not periodic in any small length.
fn message() -> String {
    (0..20_000u32)
        .map(|i| char::from(b'a' + (i % 23) as u8))
        .collect()
}

/// Runs a Python script with `args` on a blocking thread; returns its output, failing loudly
/// if python3 is missing or the script failed.
async fn python(script: &'static str, args: Vec<String>) -> String {
    let out: Output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .args(args)
            .output()
            .expect("python3 (CPython) on PATH")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Connects (TCP port or Unix path), sends argv[3], half-closes, prints what came back.
const PY_STREAM_CLIENT: &str = r"
import socket, sys
kind, where, message = sys.argv[1], sys.argv[2], sys.argv[3].encode()
if kind == 'tcp':
    s = socket.create_connection(('127.0.0.1', int(where)), timeout=10)
else:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(where)
s.sendall(message)
s.shutdown(socket.SHUT_WR)
echoed = b''
while True:
    part = s.recv(4096)
    if not part:
        break
    echoed += part
print(echoed.decode(), end='')
";

/// Sends argv[3] over UDP (to port argv[2]) or a Unix datagram socket (to path argv[2], from
/// path argv[4]) and prints the echo.
const PY_DGRAM_CLIENT: &str = r"
import socket, sys
kind, where, message = sys.argv[1], sys.argv[2], sys.argv[3].encode()
if kind == 'udp':
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    to = ('127.0.0.1', int(where))
else:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sys.argv[4])
    to = where
s.settimeout(10)
s.sendto(message, to)
print(s.recv(4096).decode())
";

/// Joins the group on the loopback, answers the first datagram with b'ack', prints it.
const PY_MULTICAST_RECEIVER: &str = r"
import socket, struct, sys
group, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('', port))
mreq = struct.pack('4s4s', socket.inet_aton(group), socket.inet_aton('127.0.0.1'))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
s.settimeout(10)
print('joined', flush=True)
data, sender = s.recvfrom(1024)
s.sendto(b'ack', sender)
print(data.decode())
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_clients_against_tokio_stream_servers() {
    let message = message();

    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut session = EchoSession::new([0u8; 4096]);
        run_stream(&mut stream, &mut session, &mut |_| {})
            .await
            .unwrap();
        session.received()
    });
    let echoed = python(PY_STREAM_CLIENT, vec!["tcp".into(), port, message.clone()]).await;
    assert_eq!(echoed, message);
    assert_eq!(server.await.unwrap(), message.len() as u64);

    let dir = TempDir::new("tokio-python-uds");
    let path = dir.join("uds_socket");
    let listener = UnixListener::bind(&path).await.unwrap();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut session = EchoSession::new([0u8; 16]);
        run_stream(&mut stream, &mut session, &mut |_| {})
            .await
            .unwrap();
        session.received()
    });
    let where_ = path.to_str().unwrap().to_owned();
    let echoed = python(
        PY_STREAM_CLIENT,
        vec!["unix".into(), where_, message.clone()],
    )
    .await;
    assert_eq!(echoed, message);
    assert_eq!(server.await.unwrap(), message.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_clients_against_tokio_datagram_servers() {
    let mut socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let port = socket.local_addr().unwrap().port().to_string();
    let server = tokio::spawn(async move {
        let mut server = DatagramEchoServer::new([0u8; 1024]).with_limit(1);
        run_datagram(&mut socket, &mut server, &TokioTimer, &mut |_| {})
            .await
            .unwrap();
        server.served()
    });
    let echoed = python(PY_DGRAM_CLIENT, vec!["udp".into(), port, "over udp".into()]).await;
    assert_eq!(echoed, "over udp\n");
    assert_eq!(server.await.unwrap(), 1);

    let dir = TempDir::new("tokio-python-dgram");
    let path = dir.join("server");
    let mut socket = UnixDatagram::bind(&path).await.unwrap();
    let server = tokio::spawn(async move {
        let mut server = DatagramEchoServer::new([0u8; 1024]).with_limit(1);
        run_datagram(&mut socket, &mut server, &TokioTimer, &mut |_| {})
            .await
            .unwrap();
        server.served()
    });
    let args = vec![
        "unix".into(),
        path.to_str().unwrap().to_owned(),
        "over a unix datagram".into(),
        dir.join("client").to_str().unwrap().to_owned(),
    ];
    let echoed = python(PY_DGRAM_CLIENT, args).await;
    assert_eq!(echoed, "over a unix datagram\n");
    assert_eq!(server.await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_multicast_sender_collects_a_python_receivers_ack() {
    const GROUP: Ipv4Addr = Ipv4Addr::new(224, 3, 29, 93);
    let lo = Interface::Addr(Ipv4Addr::LOCALHOST);
    // A free port for the receiver: bind one, read it, let it go.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (started, joined) = std::sync::mpsc::channel();
    let receiver = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("python3")
            .args([
                "-c",
                PY_MULTICAST_RECEIVER,
                &GROUP.to_string(),
                &port.to_string(),
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 (CPython) on PATH");
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        let _ = started.send(line.clone());
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
        (child.wait().unwrap(), rest)
    });
    let first = tokio::task::spawn_blocking(move || joined.recv().unwrap());
    assert_eq!(first.await.unwrap(), "joined\n");

    let mut tx = UdpSocket::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    tx.set_multicast_interface(lo).unwrap();
    tx.set_multicast_ttl(1).unwrap();
    let to = SocketAddr::from((GROUP, port));
    let mut sender =
        MulticastSender::<4, 16>::new(b"very important data", to, Duration::from_secs(1));
    run_datagram(&mut tx, &mut sender, &TokioTimer, &mut |_| {})
        .await
        .unwrap();
    let (status, printed) = receiver.await.unwrap();
    assert!(status.success());
    assert_eq!(printed, "very important data\n");
    let replies = sender.replies();
    assert_eq!(replies.len(), 1);
    assert_eq!(&replies[0].payload[..], b"ack");
}
