//! portsock's machines over an edge-nal 0.7 stack: core's `asynch::edge` wrappers around
//! edge-nal-std's sockets (async-io, run here under futures-lite's `block_on`), with
//! `EmbassyTimer` on embassy-time's host driver, served to a blocking std client and a CPython
//! client, every byte compared. Loopback only.
#![cfg(feature = "std")]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::thread;
use std::time::Duration as StdDuration;

use edge_nal::{TcpBind, UdpBind};
use edge_nal_std::Stack;
use futures_lite::future::block_on;
use portsock_core::asynch::drive::{run_datagram, run_stream};
use portsock_core::asynch::edge::{EdgeDatagram, EdgeListener, EdgeMulticastError, EmbassyTimer};
use portsock_core::asynch::select::{Either, first};
use portsock_core::asynch::time::Timer;
use portsock_core::asynch::transport::{Interface, Listener, MembershipRequest};
use portsock_core::drive::DriveError;
use portsock_core::echo::datagram::{
    DatagramEchoClient, DatagramEchoError, DatagramEchoServer, ServerEvent,
};
use portsock_core::echo::stream::EchoSession;
use portsock_core::time::{Clock, Duration};

/// A group the tests join on the loopback interface.
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 3, 29, 71);
/// How long a std client waits for any one reply before the test fails.
const PATIENCE: StdDuration = StdDuration::from_secs(20);

/// CPython sends `argv[2]` bytes of a pattern to port `argv[1]`, half-closes, reads the echo
/// to the end and says whether it was the same.
const PY_STREAM: &str = r#"
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
data = bytes((i * 7 + 3) % 251 for i in range(n))
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
echo = bytearray()
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    echo += chunk
print("same" if echo == data else "differs", len(echo))
"#;

/// CPython sends datagrams of sizes `argv[2:]` to port `argv[1]` (unicast, or to the group
/// `argv[3]` when `argv[1]` is "group:PORT") and checks each echo.
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
ok = 0
for n in sizes:
    data = bytes((i + n) % 256 for i in range(n))
    s.sendto(data, addr)
    echo, _ = s.recvfrom(65536)
    ok += echo == data
print(ok, "of", len(sizes))
"#;

#[test]
fn echo_session_on_edge_nal_std_echoes_a_std_client_and_cpython() {
    let (addr, listener) = edge_listener();
    let server = thread::spawn(move || {
        block_on(async move {
            let mut totals = Vec::new();
            for _ in 0..2 {
                let (mut stream, peer) = listener.accept().await.expect("accept");
                assert!(peer.ip().is_loopback(), "peer {peer}");
                let mut session = EchoSession::new([0u8; 4096]);
                run_stream(&mut stream, &mut session, &mut |_| {})
                    .await
                    .expect("echo session");
                totals.push((session.received(), session.sent()));
            }
            totals
        })
    });

    let data = pattern(300_000);
    let echo = std_stream_echo(addr, &data);
    assert!(
        echo == data,
        "std client: echo of {} bytes differs",
        echo.len()
    );

    let out = python(PY_STREAM, &[&addr.port().to_string(), "200000"]);
    assert_eq!(out.trim(), "same 200000", "CPython client");

    let totals = server.join().expect("server thread");
    assert_eq!(totals, [(300_000, 300_000), (200_000, 200_000)]);
}

/// The echo driver over an `EdgeStream` is dropped every 2 ms (whatever it is awaiting: a read,
/// a write) and run again with the same session: the client, which sends in pieces with pauses
/// (so reads are pending when the timer fires), gets every byte back once, in order.
#[test]
fn echo_over_edge_nal_std_survives_being_cancelled_over_and_over() {
    let (addr, listener) = edge_listener();
    let server = thread::spawn(move || {
        block_on(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut session = EchoSession::new([0u8; 1024]);
            let mut cancelled = 0u32;
            loop {
                let at = EmbassyTimer.now().saturating_add(Duration::from_millis(2));
                let mut observe = |_: &mut EchoSession<[u8; 1024]>| {};
                let run = run_stream(&mut stream, &mut session, &mut observe);
                match first(run, EmbassyTimer.sleep_until(at)).await {
                    Either::First(result) => break result.map(|()| cancelled),
                    Either::Second(()) => cancelled += 1,
                }
            }
        })
    });

    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let mut writer = stream.try_clone().expect("clone");
    let data = pattern(64 * 1024);
    let pieces = data.clone();
    let sender = thread::spawn(move || {
        for piece in pieces.chunks(4096) {
            writer.write_all(piece).expect("send");
            thread::sleep(StdDuration::from_millis(5));
        }
        writer.shutdown(Shutdown::Write).expect("half-close");
    });
    let mut echo = Vec::new();
    stream.read_to_end(&mut echo).expect("read the echo");
    sender.join().expect("sender");

    let cancelled = server.join().expect("server thread").expect("echo session");
    assert!(echo == data, "echo of {} bytes differs", echo.len());
    assert!(cancelled > 0, "the driver was never cancelled");
}

#[test]
fn datagram_echo_server_on_edge_nal_std_echoes_a_std_client_and_cpython() {
    let sizes = [1usize, 42, 512, 1400, 8000];
    let (local, server) = spawn_datagram_server(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        None,
        2 * sizes.len(),
        9000,
    );

    let client = UdpSocket::bind("127.0.0.1:0").expect("client bind");
    client.set_read_timeout(Some(PATIENCE)).expect("timeout");
    for &n in &sizes {
        let data = pattern(n);
        client.send_to(&data, local).expect("send");
        let mut buf = [0u8; 9000];
        let (len, from) = client.recv_from(&mut buf).expect("echo");
        assert_eq!(from, local);
        assert!(
            buf[..len] == data[..],
            "std client: echo of {n} bytes differs"
        );
    }

    let mut args = vec![local.port().to_string()];
    args.extend(sizes.iter().map(usize::to_string));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(python(PY_DGRAM, &args).trim(), "5 of 5", "CPython client");

    let received = server.join().expect("server thread");
    let mut expected: Vec<usize> = sizes.to_vec();
    expected.extend(sizes);
    assert_eq!(received, expected);
}

/// edge-nal-std reports the bytes copied, not the datagram's size: the truncation the module
/// docs describe (a stack keeping edge-nal's word would report 100).
#[test]
fn edge_nal_std_reports_a_truncated_datagram_as_the_buffer_length() {
    let (local, server) =
        spawn_datagram_server(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), None, 1, 16);
    let client = UdpSocket::bind("127.0.0.1:0").expect("client bind");
    client.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let data = pattern(100);
    client.send_to(&data, local).expect("send");
    let mut buf = [0u8; 200];
    let (len, _) = client.recv_from(&mut buf).expect("echo");
    assert_eq!(buf[..len], data[..16], "the first 16 bytes come back");
    assert_eq!(server.join().expect("server thread"), [16]);
}

#[test]
fn edge_datagram_joins_a_group_and_echoes_what_cpython_sends_to_it() {
    let (local, server) = spawn_datagram_server(
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        Some(Interface::Addr(Ipv4Addr::LOCALHOST)),
        2,
        2048,
    );
    let out = python(PY_DGRAM, &[&format!("group:{}", local.port()), "10", "300"]);
    assert_eq!(out.trim(), "2 of 2", "CPython via the group");
    assert_eq!(server.join().expect("server thread"), [10, 300]);
}

#[test]
fn edge_datagram_refuses_an_ipv4_group_by_interface_index() {
    block_on(async {
        let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let socket = UdpBind::bind(&Stack::new(), local).await.expect("bind");
        let mut socket = EdgeDatagram::new(socket, local);
        let request = MembershipRequest::v4(GROUP, Interface::Index(1)).expect("request");
        let err = socket.join(&request).await.expect_err("an index for IPv4");
        assert!(matches!(err, EdgeMulticastError::IndexForIpv4 { index: 1 }));
        assert!(err.to_string().contains("index 1"), "{err}");
    });
}

/// The datagram client's deadline comes from `EmbassyTimer`: no echo from a silent peer, so
/// it gives up after its timeout and each retry, having sent three times.
#[test]
fn embassy_timer_fires_the_datagram_clients_deadlines() {
    let silent = UdpSocket::bind("127.0.0.1:0").expect("silent peer");
    let to = silent.local_addr().expect("address");
    block_on(async {
        let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let mut socket = EdgeDatagram::new(
            UdpBind::bind(&Stack::new(), local).await.expect("bind"),
            local,
        );
        let mut client = DatagramEchoClient::new(b"anyone?", to, [0u8; 64])
            .with_timeout(Duration::from_millis(50))
            .with_retries(2);
        let started = std::time::Instant::now();
        let result = run_datagram(&mut socket, &mut client, &EmbassyTimer, &mut |_| {}).await;
        assert!(
            matches!(
                result,
                Err(DriveError::Protocol(DatagramEchoError::Lost {
                    attempts: 3,
                    ..
                }))
            ),
            "{result:?}"
        );
        // Three waits of 50 ms, each up to 1 ms short: the clock counts whole milliseconds.
        let waited = started.elapsed();
        assert!(
            waited >= StdDuration::from_millis(147),
            "three timeouts in {waited:?}"
        );
    });
    let mut buf = [0u8; 64];
    silent.set_read_timeout(Some(PATIENCE)).expect("timeout");
    for _ in 0..3 {
        let (len, _) = silent.recv_from(&mut buf).expect("each attempt arrived");
        assert_eq!(&buf[..len], b"anyone?");
    }
}

/// Runs a `DatagramEchoServer` for `count` datagrams on edge-nal-std, bound at `bind` (and
/// joined to [`GROUP`] on `join`), with a `buf`-byte buffer; returns its address (127.0.0.1
/// and the port edge-nal-std picked) and a thread that yields each datagram's reported length.
fn spawn_datagram_server(
    bind: SocketAddr,
    join: Option<Interface>,
    count: usize,
    buf: usize,
) -> (SocketAddr, thread::JoinHandle<Vec<usize>>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let server = thread::spawn(move || {
        block_on(async move {
            let socket = UdpBind::bind(&Stack::new(), bind)
                .await
                .expect("edge-nal-std bind");
            let port = socket.as_ref().local_addr().expect("local address").port();
            let mut socket = EdgeDatagram::new(socket, SocketAddr::from((bind.ip(), port)));
            if let Some(interface) = join {
                let request = MembershipRequest::v4(GROUP, interface).expect("request");
                socket.join(&request).await.expect("join");
            }
            tx.send(port).expect("report the port");
            let mut storage = vec![0u8; buf];
            let mut machine = DatagramEchoServer::new(&mut storage[..]).with_limit(count);
            let mut lengths = Vec::new();
            run_datagram(&mut socket, &mut machine, &EmbassyTimer, &mut |m| {
                while let Some(event) = m.poll_event() {
                    if let ServerEvent::Received { len, .. } = event {
                        lengths.push(len);
                    }
                }
            })
            .await
            .expect("datagram echo");
            lengths
        })
    });
    let port = rx.recv_timeout(PATIENCE).expect("server bound");
    (SocketAddr::from((Ipv4Addr::LOCALHOST, port)), server)
}

/// Sends `data` and half-closes from one thread while reading the echo to its end in this one.
fn std_stream_echo(addr: SocketAddr, data: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let mut writer = stream.try_clone().expect("clone");
    let data = data.to_vec();
    let sender = thread::spawn(move || {
        writer.write_all(&data).expect("send");
        writer.shutdown(Shutdown::Write).expect("half-close");
    });
    let mut echo = Vec::new();
    stream.read_to_end(&mut echo).expect("read the echo");
    sender.join().expect("sender");
    echo
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 7 + 3) % 251) as u8).collect()
}

/// An edge-nal-std listener on a 127.0.0.1 port that was free a moment ago (its acceptor does
/// not tell which port it got, so port 0 will not do), bound before any client connects.
fn edge_listener() -> (SocketAddr, EdgeListener<edge_nal_std::TcpAcceptor>) {
    let probe = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = probe.local_addr().expect("local address");
    drop(probe);
    let acceptor = block_on(TcpBind::bind(&Stack::new(), addr)).expect("edge-nal-std bind");
    (addr, EdgeListener::new(acceptor, addr))
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
