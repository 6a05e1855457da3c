//! `listen -k` on the kernel's sockets: each client is sent what stdin has while it is
//! connected (the [`StdinFeed`] all clients share), its bytes go to stdout, and its session
//! ends at its end of stream (stdin may go on: what is left of it goes to the next client).

use std::io;
use std::net::Shutdown;
use std::os::fd::AsFd as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use socket2::Socket;

use super::super::feed::{DRAIN, Next, StdinFeed};
use super::super::pump;
use super::super::report::Reporter;
use crate::cli::CliError;

/// How often a writer waiting for stdin looks whether its session has ended.
const TICK: Duration = Duration::from_millis(50);

enum Event {
    /// Stdin has ended (all of it sent): the client was sent its end of stream.
    StdinEnded,
    /// Reading stdin failed.
    StdinFailed(io::Error),
    /// The client's end of stream (or its error).
    Peer(io::Result<u64>),
}

/// One client of `listen -k`, sent stdin's bytes from `feed` (taken for the session and put
/// back after it).
pub(super) fn keep_session(
    reporter: &mut Reporter,
    socket: Socket,
    peer: &str,
    feed: &mut Option<StdinFeed>,
) -> Result<(), CliError> {
    let transfer = reporter.session();
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let fail = |e: io::Error| CliError::new(peer, e);
    let writer = socket.try_clone().map_err(fail)?;
    let Some(mut taken) = feed.take() else {
        return Err(CliError::new(
            "stdin",
            "lost by an earlier client's session",
        ));
    };
    let sending = {
        let (tx, stop, counters) = (
            tx.clone(),
            Arc::clone(&stop),
            Arc::clone(&transfer.counters),
        );
        thread::spawn(move || {
            let result = send(&mut taken, &writer, &stop, &counters.sent, &tx);
            (taken, result)
        })
    };
    let receiving = socket.try_clone().map_err(fail)?;
    let counters = Arc::clone(&transfer.counters);
    thread::spawn(move || {
        let result = pump::copy(receiving.as_fd(), io::stdout().as_fd(), &counters.received);
        let _ = tx.send(Event::Peer(result));
    });
    let mut result = Ok(());
    for event in &rx {
        match event {
            Event::StdinEnded => reporter.stdin_ended(),
            Event::StdinFailed(e) => {
                result = Err(CliError::new(format_args!("stdin -> {peer}"), e));
            }
            Event::Peer(received) => {
                match received {
                    Ok(_) => reporter.peer_ended(peer),
                    Err(e) => result = Err(CliError::new(format_args!("{peer} -> stdout"), e)),
                }
                break;
            }
        }
    }
    // The client is done: what stdin already has is still sent (for up to DRAIN), then the
    // sending stops (a write blocked on a client that no longer reads fails at the shutdown),
    // and the feed comes back with what the client was not sent.
    stop.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + DRAIN;
    while !sending.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    let _ = socket.shutdown(Shutdown::Both);
    match sending.join() {
        Ok((back, _)) => *feed = Some(back),
        Err(_) => result = Err(CliError::new("stdin", "the sending thread failed")),
    }
    reporter.finish(transfer);
    result
}

/// Sends the feed's bytes to the client until stdin ends (then the client's end of stream) or
/// the session stops and stdin has nothing ready. A failed write (the client left) keeps what
/// it did not take.
fn send(
    feed: &mut StdinFeed,
    socket: &Socket,
    stop: &AtomicBool,
    sent: &std::sync::atomic::AtomicU64,
    events: &mpsc::Sender<Event>,
) -> io::Result<()> {
    loop {
        match feed.next(Some(TICK)) {
            Ok(Next::Bytes(bytes)) => match socket.send(bytes) {
                Ok(n) => {
                    feed.consumed(n);
                    sent.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            },
            Ok(Next::Idle) if stop.load(Ordering::Relaxed) => return Ok(()),
            Ok(Next::Idle) => {}
            Ok(Next::Ended) => {
                // Told first, so that it is reported before what the client does on reading it.
                let _ = events.send(Event::StdinEnded);
                let _ = socket.shutdown(Shutdown::Write);
                return Ok(());
            }
            Err(e) => {
                let _ = socket.shutdown(Shutdown::Write);
                let _ = events.send(Event::StdinFailed(e));
                return Ok(());
            }
        }
    }
}
