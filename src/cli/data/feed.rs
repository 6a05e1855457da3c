//! Stdin shared by the clients of `listen -k`, as OpenBSD's `nc -lk` shares it: read once for
//! the whole run, its bytes go to the client connected at the time. A session ends at its
//! client's end of stream, once what stdin already has is sent (for at most [`DRAIN`]); a
//! client that leaves before it was sent all of a chunk leaves the rest to the next client
//! (nothing taken from stdin is dropped here). Once stdin has ended, each later client is sent
//! its end of stream at once, and is still read from.

use std::io;
use std::os::fd::AsFd as _;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::thread;
use std::time::Duration;

/// Bytes per read of stdin.
const CHUNK: usize = 64 * 1024;
/// Chunks read ahead of the clients.
const QUEUED: usize = 4;
/// How long a session whose client has sent its end of stream goes on sending what stdin
/// already has (`nc -l` sends its queue before it stops).
pub(crate) const DRAIN: Duration = Duration::from_secs(1);

/// What stdin has for the connected client.
pub(crate) enum Next<'a> {
    /// These bytes, to send (then [`StdinFeed::consumed`] with how many went).
    Bytes(&'a [u8]),
    /// Nothing yet.
    Idle,
    /// Stdin has ended: every byte of it was sent.
    Ended,
}

/// Stdin, read by a thread of its own, and the part of a chunk not sent yet.
pub(crate) struct StdinFeed {
    rx: Receiver<io::Result<Vec<u8>>>,
    pending: Vec<u8>,
    at: usize,
    ended: bool,
}

impl StdinFeed {
    /// Starts reading stdin.
    pub(crate) fn start() -> Self {
        let rx = stdin_chunks(CHUNK, QUEUED);
        Self {
            rx,
            pending: Vec::new(),
            at: 0,
            ended: false,
        }
    }

    /// The bytes to send next, waiting up to `wait` for stdin (`None`: not at all).
    ///
    /// # Errors
    ///
    /// Reading stdin failed (reported once; stdin counts as ended after it).
    pub(crate) fn next(&mut self, wait: Option<Duration>) -> io::Result<Next<'_>> {
        if self.at == self.pending.len() && !self.ended {
            let got = match wait {
                Some(t) => self.rx.recv_timeout(t).map_err(|e| match e {
                    RecvTimeoutError::Timeout => TryRecvError::Empty,
                    RecvTimeoutError::Disconnected => TryRecvError::Disconnected,
                }),
                None => self.rx.try_recv(),
            };
            match got {
                Ok(Ok(chunk)) => (self.pending, self.at) = (chunk, 0),
                Ok(Err(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Err(TryRecvError::Empty) => return Ok(Next::Idle),
                Err(TryRecvError::Disconnected) => self.ended = true,
            }
        }
        Ok(if self.at < self.pending.len() {
            Next::Bytes(&self.pending[self.at..])
        } else {
            Next::Ended
        })
    }

    /// `n` bytes of those [`next`](Self::next) gave were sent.
    pub(crate) fn consumed(&mut self, n: usize) {
        self.at = (self.at + n).min(self.pending.len());
    }
}

/// A thread reading stdin `chunk` bytes at a time into a channel of `queued` chunks; the
/// channel closes at stdin's end (after an error, which it passes on).
pub(crate) fn stdin_chunks(chunk: usize, queued: usize) -> Receiver<io::Result<Vec<u8>>> {
    let (tx, rx) = mpsc::sync_channel(queued);
    thread::spawn(move || {
        let stdin = io::stdin();
        loop {
            let mut buf = vec![0u8; chunk];
            match rustix::io::read(stdin.as_fd(), &mut buf) {
                // The channel closing is stdin's end.
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.send(Ok(buf)).is_err() {
                        return;
                    }
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => {
                    let _ = tx.send(Err(io::Error::from(e)));
                    return;
                }
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A feed over a channel the test fills, instead of stdin.
    fn feed() -> (mpsc::SyncSender<io::Result<Vec<u8>>>, StdinFeed) {
        let (tx, rx) = mpsc::sync_channel(4);
        let feed = StdinFeed {
            rx,
            pending: Vec::new(),
            at: 0,
            ended: false,
        };
        (tx, feed)
    }

    #[test]
    fn what_one_client_did_not_take_goes_to_the_next() {
        let (tx, mut feed) = feed();
        assert!(matches!(feed.next(None), Ok(Next::Idle)));
        tx.send(Ok(b"hello".to_vec())).unwrap();
        let Ok(Next::Bytes(b)) = feed.next(None) else {
            panic!("bytes")
        };
        assert_eq!(b, b"hello");
        // The first client took two bytes and left.
        feed.consumed(2);
        let Ok(Next::Bytes(b)) = feed.next(None) else {
            panic!("bytes")
        };
        assert_eq!(b, b"llo", "the rest, for the next client");
        feed.consumed(3);
        drop(tx);
        assert!(matches!(feed.next(None), Ok(Next::Ended)));
        assert!(
            matches!(feed.next(None), Ok(Next::Ended)),
            "and for every later client"
        );
    }

    #[test]
    fn a_read_error_is_reported_once() {
        let (tx, mut feed) = feed();
        tx.send(Err(io::Error::other("bad read"))).unwrap();
        assert!(feed.next(Some(Duration::from_secs(5))).is_err());
        assert!(matches!(feed.next(None), Ok(Next::Ended)));
    }
}
