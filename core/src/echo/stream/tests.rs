//! Unit tests.

use std::string::ToString;
use std::vec::Vec;

use super::*;
use crate::echo::CHAPTER_MESSAGE;

fn events<B: Buffer>(s: &mut EchoSession<B>) -> Vec<std::string::String> {
    let mut out = Vec::new();
    while let Some(e) = s.poll_event() {
        out.push(match e {
            SessionEvent::Received(d) => {
                std::format!("received {}", std::string::String::from_utf8_lossy(d))
            }
            SessionEvent::Sending(n) => std::format!("sending {n}"),
            SessionEvent::PeerClosed => "peer closed".to_string(),
        });
    }
    out
}

#[test]
fn session_reads_as_much_as_its_buffer_holds_by_default() {
    let mut s = EchoSession::new([0u8; 64]);
    assert_eq!((s.free(), s.chunk()), (64, 64));
    assert_eq!(s.recv_buf().map(|b| b.len()), Some(64));
    s.handle_input(&CHAPTER_MESSAGE[..40]).unwrap();
    assert_eq!(s.free(), 24); // what is left of the buffer, not 16
    assert_eq!(
        events(&mut s),
        [
            "received This is the message.  It will be repeate",
            "sending 40"
        ]
    );
    s.handle_sent(40);
    assert_eq!(s.free(), 64);
}

#[test]
fn client_reads_as_much_as_its_buffer_holds_by_default() {
    let message = [9u8; 100];
    let mut c = EchoClient::new(&message, [0u8; 64]);
    assert_eq!(c.poll_transmit().map(<[u8]>::len), Some(100));
    c.handle_sent(100);
    assert_eq!(c.recv_buf().map(|b| b.len()), Some(64));
    let mut chapter = EchoClient::chapter(&message, [0u8; 64]);
    chapter.handle_sent(100);
    assert_eq!(chapter.recv_buf().map(|b| b.len()), Some(16));
}

#[test]
fn session_reads_in_chunks_and_echoes_each() {
    let mut s = EchoSession::chapter([0u8; 64]);
    assert_eq!((s.free(), s.chunk()), (16, 16));
    s.handle_input(&CHAPTER_MESSAGE[..16]).unwrap();
    assert_eq!(events(&mut s), ["received This is the mess", "sending 16"]);
    assert_eq!(s.poll_transmit(), Some(&CHAPTER_MESSAGE[..16]));
    s.handle_sent(16);
    assert_eq!(s.buffered(), 0);
    assert_eq!(s.poll_transmit(), None);
}

#[test]
fn session_stops_reading_when_its_echo_cannot_be_sent() {
    let mut s = EchoSession::new([0u8; 20]).with_chunk(8);
    s.handle_input(&[1; 8]).unwrap();
    s.handle_input(&[2; 8]).unwrap();
    assert_eq!(s.free(), 4);
    s.handle_input(&[3; 4]).unwrap();
    assert!(!s.wants_read());
    assert!(s.recv_buf().is_none());
    assert_eq!(
        s.handle_input(&[4]),
        Err(EchoError::Overrun { len: 1, room: 0 })
    );
    // Echoing 5 bytes frees 5, reusing the front of the buffer.
    let _ = events(&mut s);
    s.handle_sent(5);
    assert_eq!(s.free(), 5);
    s.handle_input(&[5; 5]).unwrap();
    let mut echoed = Vec::new();
    while let Some(out) = s.poll_transmit() {
        echoed.extend_from_slice(out);
        let n = out.len();
        s.handle_sent(n);
    }
    let mut expected = std::vec![1u8; 3];
    expected.extend([2; 8]);
    expected.extend([3; 4]);
    expected.extend([5; 5]);
    assert_eq!(echoed, expected);
    assert_eq!((s.received(), s.sent()), (25, 25));
}

#[test]
fn session_finishes_the_echo_after_the_peer_closes() {
    let mut s = EchoSession::new([0u8; 16]);
    s.handle_input(b"abc").unwrap();
    s.handle_peer_closed().unwrap();
    assert_eq!(events(&mut s), ["received abc", "sending 3", "peer closed"]);
    assert!(!s.wants_read());
    assert_eq!(s.poll_close(), None);
    s.handle_sent(3);
    assert_eq!(s.poll_close(), Some(Shutdown::Both));
    assert!(!s.is_done());
    s.handle_closed();
    assert!(s.is_done());
    assert_eq!(s.poll_close(), None);
}

#[test]
fn session_overrun_is_refused() {
    let mut s = EchoSession::chapter([0u8; 32]);
    assert_eq!(
        s.handle_input(&[0; 17]),
        Err(EchoError::Overrun { len: 17, room: 16 })
    );
    assert_eq!(
        s.handle_read(17),
        Err(EchoError::Overrun { len: 17, room: 16 })
    );
    assert_eq!(s.received(), 0);
    let mut s = EchoSession::new([0u8; 32]);
    assert_eq!(
        s.handle_input(&[0; 33]),
        Err(EchoError::Overrun { len: 33, room: 32 })
    );
}

#[test]
fn session_reports_only_unsent_bytes_when_events_lag() {
    let mut s = EchoSession::new([0u8; 4]).with_chunk(4);
    s.handle_input(b"wxyz").unwrap();
    s.handle_sent(3); // echoed before its event was polled
    s.recv_buf(); // compaction drops the 3 echoed bytes
    assert_eq!(s.poll_event(), Some(SessionEvent::Received(b"z")));
}

#[test]
fn client_sends_within_its_window_and_verifies() {
    let mut c = EchoClient::new(CHAPTER_MESSAGE, [0u8; 16]).with_window(20);
    assert_eq!(c.poll_event(), Some(ClientEvent::Sending(CHAPTER_MESSAGE)));
    assert_eq!(c.poll_transmit().map(<[u8]>::len), Some(20));
    c.handle_sent(20);
    assert_eq!(c.poll_transmit(), None);
    assert!(c.recv_buf().is_some_and(|b| b.len() == 16));
    c.handle_input(&CHAPTER_MESSAGE[..16]).unwrap();
    assert_eq!(
        c.poll_event(),
        Some(ClientEvent::Received(&CHAPTER_MESSAGE[..16]))
    );
    assert_eq!(c.poll_transmit(), Some(&CHAPTER_MESSAGE[20..36]));
    assert_eq!(c.recv_buf().map(|b| b.len()), Some(4));
    assert_eq!(
        c.handle_read(5),
        Err(EchoError::Overrun { len: 5, room: 4 })
    );
    assert_eq!(c.poll_transmit(), None, "a failed client sends nothing");
}

#[test]
fn client_reports_the_first_mismatch() {
    let mut c = EchoClient::new(b"abcdef", [0u8; 16]);
    c.handle_sent(6);
    c.handle_input(b"ab").unwrap();
    let err = c.handle_input(b"cDeF").unwrap_err();
    assert_eq!(
        err,
        EchoError::Mismatch {
            offset: 3,
            expected: b'd',
            got: b'D'
        }
    );
    assert_eq!(err.to_string(), "echoed byte 3: sent 0x64, got 0x44");
    assert!(!c.is_done());
    assert!(c.recv_buf().is_none());
}

#[test]
fn client_early_close_is_an_error() {
    let mut c = EchoClient::new(b"abcdef", [0u8; 16]);
    c.handle_sent(6);
    c.handle_input(b"abc").unwrap();
    let err = c.handle_peer_closed().unwrap_err();
    assert_eq!(
        err,
        EchoError::EarlyClose {
            received: 3,
            expected: 6
        }
    );
    assert_eq!(err.to_string(), "peer closed after 3 of 6 echoed bytes");
}

#[test]
fn client_half_closes_after_sending_everything() {
    let mut c = EchoClient::new(b"abc", [0u8; 2]).with_half_close(true);
    assert_eq!(c.poll_close(), None);
    c.handle_sent(3);
    assert_eq!(c.poll_close(), Some(Shutdown::Write));
    c.handle_closed();
    c.handle_input(b"ab").unwrap();
    assert!(!c.is_done());
    c.handle_input(b"c").unwrap();
    assert!(c.is_done());
    c.handle_peer_closed().unwrap();
    let mut seen = Vec::new();
    while let Some(e) = c.poll_event() {
        seen.push(e);
    }
    assert_eq!(
        seen,
        [
            ClientEvent::Sending(b"abc"),
            ClientEvent::Received(b"abc"),
            ClientEvent::Done
        ]
    );
}

#[test]
fn empty_message_is_done_at_once() {
    let mut c = EchoClient::new(b"", [0u8; 16]);
    assert!(c.is_done());
    assert_eq!(c.poll_transmit(), None);
    assert!(c.recv_buf().is_none());
}
