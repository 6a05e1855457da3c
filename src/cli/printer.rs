//! Lines for stdout written by a thread of their own, so that a stdout nobody reads (a full
//! pipe, a terminal on hold) never stalls the event loop that prints them.
//!
//! The loop formats its lines into a batch and hands the batch over once per turn
//! ([`Printer::flush`]). At most [`QUEUE_LIMIT`] bytes wait for the writer; a batch that does
//! not fit is dropped whole and its lines counted, and [`Printer::finish`] reports the count.
//! A clone is another batch for the same writer (the tokio server gives each connection's
//! task its own), its dropped lines counted in the same total.
//! The writer uses its own descriptor for stdout (a `dup`), not Rust's locked `Stdout`, so a
//! writer stuck in `write(2)` holds no lock anyone else needs, and stdout's file status flags
//! are never touched.

use std::fmt;
use std::fs::File;
use std::io::{self, Write as _};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// The most bytes waiting for the writer before batches are dropped.
pub(crate) const QUEUE_LIMIT: usize = 4 << 20;
/// A batch this large is handed over without waiting for the end of the turn.
const BATCH_LIMIT: usize = 64 * 1024;

/// Lines on their way to stdout. See the [module documentation](self).
pub(crate) struct Printer {
    shared: Arc<Shared>,
    batch: Vec<u8>,
    batch_lines: u64,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the writer (a batch, or the end) and [`Printer::finish`] (the queue drained).
    changed: Condvar,
    /// Bytes written so far: how `finish` tells a slow stdout from a stuck one.
    written: AtomicU64,
    /// Lines dropped because the queue was full, by every clone.
    dropped: AtomicU64,
}

#[derive(Default)]
struct Queue {
    bytes: Vec<u8>,
    lines: u64,
    /// Lines the writer took and has not finished writing.
    in_flight: u64,
    /// Lines lost to a write error (a closed pipe).
    failed: u64,
    closed: bool,
}

impl Printer {
    /// A printer to this process's stdout, with its writer thread.
    ///
    /// # Errors
    ///
    /// Duplicating the descriptor or starting the thread failed.
    pub(crate) fn stdout() -> io::Result<Self> {
        Self::new(File::from(io::stdout().as_fd().try_clone_to_owned()?))
    }

    /// A printer to `out`, with its writer thread.
    ///
    /// # Errors
    ///
    /// Starting the thread failed.
    pub(crate) fn new(out: impl io::Write + Send + 'static) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            changed: Condvar::new(),
            written: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });
        let theirs = Arc::clone(&shared);
        thread::Builder::new()
            .name("stdout".into())
            .spawn(move || theirs.write_all_to(out))?;
        Ok(Self {
            shared,
            batch: Vec::new(),
            batch_lines: 0,
        })
    }

    /// Adds a line to this turn's batch.
    pub(crate) fn line(&mut self, line: fmt::Arguments<'_>) {
        // Writing to a Vec cannot fail.
        let _ = self.batch.write_fmt(line);
        self.batch.push(b'\n');
        self.batch_lines += 1;
        if self.batch.len() >= BATCH_LIMIT {
            self.flush();
        }
    }

    /// Hands the batch to the writer, or drops it (counting its lines) if the writer is
    /// [`QUEUE_LIMIT`] bytes behind. Never blocks but for the queue's lock.
    pub(crate) fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let mut queue = self.shared.lock();
        if queue.bytes.len() + self.batch.len() > QUEUE_LIMIT {
            self.shared
                .dropped
                .fetch_add(self.batch_lines, Ordering::Relaxed);
        } else {
            queue.bytes.extend_from_slice(&self.batch);
            queue.lines += self.batch_lines;
            self.shared.changed.notify_all();
        }
        drop(queue);
        self.batch.clear();
        self.batch_lines = 0;
    }

    /// Flushes, and waits for the writer while it makes progress: gives up once its write
    /// has written nothing for `patience` (a writer not yet scheduled is waited for). Returns how many lines never reached stdout (dropped, lost to
    /// a write error, or still waiting when it gave up). Clones flushed after this are lost.
    pub(crate) fn finish(mut self, patience: Duration) -> u64 {
        self.flush();
        let dropped = self.shared.dropped.load(Ordering::Relaxed);
        let mut queue = self.shared.lock();
        queue.closed = true;
        self.shared.changed.notify_all();
        let mut progress = (self.shared.written.load(Ordering::Relaxed), Instant::now());
        while !queue.bytes.is_empty() || queue.in_flight > 0 {
            let written = self.shared.written.load(Ordering::Relaxed);
            // Only a writer inside write(2) can be stuck: bytes it has not taken yet wait for
            // the thread to be scheduled (on a busy machine, longer than `patience`).
            if written != progress.0 || queue.in_flight == 0 {
                progress = (written, Instant::now());
            } else if progress.1.elapsed() >= patience {
                // Stuck: the writer thread stays blocked in write(2) until the process exits.
                return dropped + queue.failed + queue.lines + queue.in_flight;
            }
            let step = patience.min(Duration::from_millis(5));
            queue = self
                .shared
                .changed
                .wait_timeout(queue, step)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        dropped + queue.failed
    }
}

impl Clone for Printer {
    /// Another batch for the same writer; its lines go out when it is flushed.
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            batch: Vec::new(),
            batch_lines: 0,
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The writer thread: takes what is queued and writes it, until closed and drained.
    fn write_all_to(&self, mut out: impl io::Write) {
        let mut broken = false;
        loop {
            let mut queue = self.lock();
            while queue.bytes.is_empty() && !queue.closed {
                queue = self
                    .changed
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if queue.bytes.is_empty() {
                return; // closed and drained
            }
            let bytes = std::mem::take(&mut queue.bytes);
            queue.in_flight = std::mem::take(&mut queue.lines);
            drop(queue);
            let mut rest = &bytes[..];
            while !rest.is_empty() && !broken {
                match out.write(rest) {
                    Ok(0) => broken = true,
                    Ok(n) => {
                        rest = &rest[n..];
                        self.written.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => broken = true, // EPIPE: nobody will read the rest
                }
            }
            let mut queue = self.lock();
            if !rest.is_empty() {
                queue.failed += rest.iter().filter(|&&b| b == b'\n').count() as u64;
            }
            queue.in_flight = 0;
            self.changed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn every_line_arrives_in_order_when_the_reader_keeps_up() {
        let (mut reader, writer) = io::pipe().unwrap();
        let reading = thread::spawn(move || {
            let mut text = String::new();
            reader.read_to_string(&mut text).map(|_| text)
        });
        let mut printer = Printer::new(writer).unwrap();
        for i in 0..100_000 {
            printer.line(format_args!("line {i}"));
            if i % 1000 == 0 {
                printer.flush();
            }
        }
        assert_eq!(printer.finish(Duration::from_secs(10)), 0);
        let text = reading.join().unwrap().unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 100_000);
        assert!(
            lines
                .iter()
                .enumerate()
                .all(|(i, l)| *l == format!("line {i}"))
        );
    }

    #[test]
    fn a_reader_that_never_reads_costs_dropped_lines_not_a_stall() {
        let (_reader, writer) = io::pipe().unwrap(); // kept open, never read
        let mut printer = Printer::new(writer).unwrap();
        let line = "x".repeat(99);
        let started = Instant::now();
        let total = 2 * QUEUE_LIMIT / 100; // twice what may wait, and a pipe's worth more
        for _ in 0..total {
            printer.line(format_args!("{line}"));
        }
        let dropped = printer.finish(Duration::from_millis(20));
        // The pipe took some (64 KiB by default), the queue held the rest until given up:
        // nearly all were lost, and nothing blocked for long.
        assert!(dropped > total as u64 / 2, "{dropped} of {total}");
        assert!(dropped <= total as u64);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }
}
