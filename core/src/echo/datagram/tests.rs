//! Unit tests.

use std::string::ToString;

use super::*;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn receive<B: Buffer>(server: &mut DatagramEchoServer<B>, data: &[u8], from: SocketAddr) {
    let buf = server.recv_buf().unwrap();
    let n = data.len().min(buf.len());
    buf[..n].copy_from_slice(&data[..n]);
    server.handle_received(Received {
        len: data.len(),
        from,
    });
}

#[test]
fn server_echoes_to_the_sender_and_waits_again() {
    let peer = addr("10.0.0.2:4000");
    let mut s = DatagramEchoServer::new([0u8; 8]).with_limit(2);
    assert_eq!(s.poll_event(), Some(ServerEvent::Waiting));
    receive(&mut s, b"abc", peer);
    assert!(s.recv_buf().is_none(), "one datagram at a time");
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Received {
            from: &peer,
            data: b"abc",
            len: 3
        })
    );
    assert_eq!(s.poll_transmit().map(|t| t.payload), Some(&b"abc"[..]));
    s.handle_sent();
    assert_eq!(s.poll_transmit(), None);
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Sent { to: &peer, len: 3 })
    );
    assert_eq!(s.poll_event(), Some(ServerEvent::Waiting));
    assert!(!s.is_done());
    // Truncated to the buffer; the event shows the full length.
    receive(&mut s, b"0123456789", peer);
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Received {
            from: &peer,
            data: b"01234567",
            len: 10
        })
    );
    s.handle_sent();
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Sent { to: &peer, len: 8 })
    );
    assert_eq!(s.poll_event(), None, "no more waiting after the limit");
    assert!(s.is_done());
    assert_eq!(s.served(), 2);
}

#[test]
fn server_does_not_echo_empty_datagrams() {
    let peer = addr("10.0.0.2:4000");
    let mut s = DatagramEchoServer::new([0u8; 8]);
    let _ = s.poll_event();
    receive(&mut s, b"", peer);
    assert_eq!(s.poll_transmit(), None);
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Received {
            from: &peer,
            data: b"",
            len: 0
        })
    );
    assert_eq!(s.poll_event(), Some(ServerEvent::Waiting));
    assert!(s.recv_buf().is_some());
}

#[test]
fn client_verifies_the_echo() {
    let server = addr("127.0.0.1:10000");
    let mut c = DatagramEchoClient::new(b"ping", server, [0u8; 8]);
    assert_eq!(c.poll_event(), Some(ClientEvent::Sending(b"ping")));
    c.handle_sent(Instant::ZERO);
    assert_eq!(c.poll_event(), Some(ClientEvent::Waiting));
    // A stray datagram is ignored.
    let stray = addr("127.0.0.1:9");
    c.handle_received(Received {
        len: 3,
        from: stray,
    })
    .unwrap();
    assert_eq!(
        c.poll_event(),
        Some(ClientEvent::Stray {
            from: &stray,
            len: 3
        })
    );
    assert_eq!(c.poll_event(), None);
    c.recv_buf().unwrap()[..4].copy_from_slice(b"ping");
    c.handle_received(Received {
        len: 4,
        from: server,
    })
    .unwrap();
    assert!(c.is_done());
    assert_eq!(c.poll_event(), Some(ClientEvent::Received(b"ping")));
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn client_reports_bad_echoes() {
    let server = addr("127.0.0.1:10000");
    let cases: [(&[u8], usize, DatagramEchoError); 3] = [
        (
            b"pong",
            4,
            DatagramEchoError::Mismatch {
                offset: 1,
                expected: b'i',
                got: b'o',
            },
        ),
        (
            b"pin",
            3,
            DatagramEchoError::WrongLength {
                expected: 4,
                got: 3,
            },
        ),
        (
            b"ping",
            9,
            DatagramEchoError::Truncated {
                len: 9,
                capacity: 4,
            },
        ),
    ];
    for (data, len, expected) in cases {
        let mut c = DatagramEchoClient::new(b"ping", server, [0u8; 4]);
        c.handle_sent(Instant::ZERO);
        c.recv_buf().unwrap()[..data.len()].copy_from_slice(data);
        assert_eq!(
            c.handle_received(Received { len, from: server }),
            Err(expected)
        );
        assert!(!c.is_done() && c.recv_buf().is_none());
    }
    assert_eq!(
        DatagramEchoError::Truncated {
            len: 9,
            capacity: 4
        }
        .to_string(),
        "echo of 9 bytes, buffer holds 4"
    );
}

#[test]
fn client_retries_then_gives_up() {
    let server = addr("127.0.0.1:10000");
    let timeout = Duration::from_millis(100);
    let mut c = DatagramEchoClient::new(b"x", server, [0u8; 4])
        .with_timeout(timeout)
        .with_retries(1);
    c.handle_sent(Instant::ZERO);
    c.handle_timeout(Instant::from_millis(100)).unwrap();
    assert!(c.poll_transmit().is_some(), "sends again");
    c.handle_sent(Instant::from_millis(100));
    assert_eq!(c.attempts(), 2);
    assert_eq!(c.poll_event(), Some(ClientEvent::Sending(b"x")));
    assert_eq!(c.poll_event(), Some(ClientEvent::Retrying(2)));
    assert_eq!(c.poll_event(), Some(ClientEvent::Waiting));
    let err = c.handle_timeout(Instant::from_millis(250)).unwrap_err();
    assert_eq!(
        err,
        DatagramEchoError::Lost {
            attempts: 2,
            timeout
        }
    );
    assert_eq!(
        err.to_string(),
        "no echo after 2 datagram(s), waited 0.100s for each"
    );
    assert_eq!(c.poll_transmit(), None);
}
