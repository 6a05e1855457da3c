//! `--json` on the network commands: one JSON object per line (JSON lines) on stdout, one per
//! event, then a final `{"event": "summary", ...}` object.
//!
//! A command given `--json` calls [`enable`] before it prints anything; from then on
//! [`Out`](super::net::Out) drops the chapter's text lines and writes the objects handed to
//! [`Out::event`](super::net::Out::event) instead (the tour's buffered transcripts are never
//! JSON). Every object has an `"event"` field naming it; the other field names are stable and
//! listed in the README ("JSON output"): addresses are `"ip:port"` strings as Rust prints them
//! (`127.0.0.1:10000`, `[::1]:10000`) or a Unix path, payloads are `"data_hex"` (lowercase
//! hex) beside `"len"` (bytes), durations are seconds as numbers.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

static ON: AtomicBool = AtomicBool::new(false);

/// Turns JSON lines on for the rest of this process (`--json`); `false` leaves them off.
pub(crate) fn enable(on: bool) {
    if on {
        ON.store(true, Ordering::Relaxed);
    }
}

/// Whether `--json` was given.
pub(crate) fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Writes `value` as one line on stdout, flushed (a reader waits for each event).
pub(crate) fn write(value: &Value) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout is not worth a panic, as for the text lines.
    let _ = writeln!(stdout, "{value}");
    let _ = stdout.flush();
}

/// `{"event": "data-event", "len": N, "data_hex": "..."}` plus `extra`'s fields: a payload
/// sent or received.
pub(crate) fn data(event: &str, data: &[u8], extra: Value) -> Value {
    let mut value = serde_json::json!({
        "event": event, "len": data.len(), "data_hex": super::hexin::encode(data),
    });
    if let (Some(map), Value::Object(more)) = (value.as_object_mut(), extra) {
        map.extend(more);
    }
    value
}
