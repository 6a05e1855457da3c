//! What a data session says about itself, all on stderr (stdout is the data): a line per
//! event (`listening on ...`, `connection from ...`), a progress line on a terminal while a
//! transfer runs longer than a second, and a summary at the end (`sent N bytes, received M
//! bytes in S s (R MB/s)`). `-q` keeps only errors. `--json` turns the lines into one JSON
//! object per event (`listening`, `connected`, `eof` with `from: stdin|peer`, `closed`) and a
//! final `summary` object, one per line, and drops the progress line.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::cli::CliError;

/// How much to say.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    quiet: bool,
    json: bool,
}

impl Style {
    pub(crate) fn new(quiet: bool, json: bool) -> Self {
        Self { quiet, json }
    }
}

/// Bytes moved each way, shared with the copying threads.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Stdin → socket.
    pub(crate) sent: AtomicU64,
    /// Socket → stdout.
    pub(crate) received: AtomicU64,
}

/// The reporter of one command: its events, and the totals over its sessions.
#[derive(Debug)]
pub(crate) struct Reporter {
    style: Style,
    started: Instant,
    sessions: u64,
    sent: u64,
    received: u64,
    busy: Duration,
}

/// One session's counters and its progress line, from [`Reporter::session`].
#[derive(Debug)]
pub(crate) struct Transfer {
    pub(crate) counters: Arc<Counters>,
    started: Instant,
    stop: Arc<AtomicBool>,
    progress: Option<JoinHandle<()>>,
}

impl Reporter {
    pub(crate) fn new(style: Style) -> Self {
        Self {
            style,
            started: Instant::now(),
            sessions: 0,
            sent: 0,
            received: 0,
            busy: Duration::ZERO,
        }
    }

    /// An event: `text` for people, `fields` (with `"event": name` added) for `--json`.
    pub(crate) fn event(&self, name: &str, text: impl FnOnce() -> String, fields: Value) {
        if self.style.json {
            let mut object = json!({ "event": name });
            if let (Some(o), Value::Object(extra)) = (object.as_object_mut(), fields) {
                o.extend(extra);
            }
            line(&object.to_string());
        } else if !self.style.quiet {
            line(&text());
        }
    }

    /// A session starts: its counters, and a progress line after a second on a terminal.
    pub(crate) fn session(&mut self) -> Transfer {
        self.sessions += 1;
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let show = !self.style.quiet && !self.style.json && std::io::stderr().is_terminal();
        let progress = show.then(|| {
            let (counters, stop) = (Arc::clone(&counters), Arc::clone(&stop));
            std::thread::spawn(move || progress(&counters, &stop))
        });
        Transfer {
            counters,
            started: Instant::now(),
            stop,
            progress,
        }
    }

    /// `listening on ADDR`: the `listening` event.
    pub(crate) fn listening(&self, addr: &str) {
        self.event(
            "listening",
            || format!("listening on {addr}"),
            json!({ "address": addr }),
        );
    }

    /// `connection from PEER`: the `connected` event of a listener's client.
    pub(crate) fn client(&self, peer: &str) {
        self.event(
            "connected",
            || format!("connection from {peer}"),
            json!({ "peer": peer }),
        );
    }

    /// `PEER ended its stream`: the `eof` event from the peer.
    pub(crate) fn peer_ended(&self, peer: &str) {
        self.event(
            "eof",
            || format!("{peer} ended its stream"),
            json!({ "from": "peer" }),
        );
    }

    /// `stdin ended: sent end of stream`: the `eof` event from stdin.
    pub(crate) fn stdin_ended(&self) {
        self.event(
            "eof",
            || "stdin ended: sent end of stream".to_owned(),
            json!({ "from": "stdin" }),
        );
    }

    /// A listener's client is done with `result`. Without `--keep` (`keep` false) that ends the
    /// command: the summary, and `Some(result)` to return. With it, an error is an `error` event
    /// and the listener serves the next client (`None`).
    pub(crate) fn client_done(
        &self,
        result: Result<(), CliError>,
        keep: bool,
    ) -> Option<Result<(), CliError>> {
        if !keep {
            self.done();
            return Some(result);
        }
        if let Err(e) = result {
            self.event(
                "error",
                || format!("error: {e}"),
                json!({ "error": e.to_string() }),
            );
        }
        None
    }

    /// A session ended: its `closed` event and summary line; its bytes join the totals.
    pub(crate) fn finish(&mut self, mut transfer: Transfer) {
        transfer.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = transfer.progress.take() {
            let _ = handle.join();
        }
        let sent = transfer.counters.sent.load(Ordering::Relaxed);
        let received = transfer.counters.received.load(Ordering::Relaxed);
        let took = transfer.started.elapsed();
        self.sent += sent;
        self.received += received;
        self.busy += took;
        let secs = took.as_secs_f64();
        self.event(
            "closed",
            || summary_text(sent, received, secs),
            json!({ "sent": sent, "received": received, "seconds": secs }),
        );
    }

    /// The end of the command: the `summary` object for `--json` (people had a summary per
    /// session already).
    pub(crate) fn done(&self) {
        if !self.style.json {
            return;
        }
        let secs = self.busy.as_secs_f64();
        let object = json!({
            "event": "summary",
            "sessions": self.sessions,
            "sent": self.sent,
            "received": self.received,
            "seconds": secs,
            "elapsed": self.started.elapsed().as_secs_f64(),
            "mb_per_s": mb_per_s(self.sent + self.received, secs),
        });
        line(&object.to_string());
    }
}

/// `sent 10 bytes, received 0 bytes in 0.01 s (0.0 MB/s)`.
fn summary_text(sent: u64, received: u64, secs: f64) -> String {
    format!(
        "sent {sent} bytes, received {received} bytes in {secs:.2} s ({:.1} MB/s)",
        mb_per_s(sent + received, secs)
    )
}

/// Megabytes (10^6 bytes) per second; 0 for no time.
fn mb_per_s(bytes: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        bytes as f64 / secs / 1e6
    } else {
        0.0
    }
}

/// One line on stderr; a closed stderr is no reason to fail the transfer.
fn line(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{text}");
}

/// The progress line: nothing for the first second (short transfers stay quiet), then the
/// bytes each way and the rate, redrawn a few times a second until `stop`.
fn progress(counters: &Counters, stop: &AtomicBool) {
    let begun = Instant::now();
    while begun.elapsed() < Duration::from_secs(1) {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    while !stop.load(Ordering::Relaxed) {
        let sent = counters.sent.load(Ordering::Relaxed);
        let received = counters.received.load(Ordering::Relaxed);
        let secs = begun.elapsed().as_secs_f64();
        bar.set_message(format!(
            "sent {}, received {} ({:.1} MB/s)",
            indicatif::HumanBytes(sent),
            indicatif::HumanBytes(received),
            mb_per_s(sent + received, secs)
        ));
        bar.tick();
        std::thread::sleep(Duration::from_millis(200));
    }
    bar.finish_and_clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reads_as_documented() {
        assert_eq!(
            summary_text(1_000_000, 500_000, 0.5),
            "sent 1000000 bytes, received 500000 bytes in 0.50 s (3.0 MB/s)"
        );
        assert_eq!(mb_per_s(10, 0.0), 0.0);
    }
}
