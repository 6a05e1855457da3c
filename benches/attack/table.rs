//! The table the attack prints: one row per figure, beside its goal and tokio's.

use std::fmt::Write as _;
use std::time::Duration;

use crate::Sizes;
use crate::format::thousands;

/// Whether a goal was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Met {
    Yes,
    No,
    /// Not measured (the binary lacks the flag the row needs).
    NotRun,
}

impl Met {
    pub(crate) fn of(met: bool) -> Self {
        if met { Self::Yes } else { Self::No }
    }
}

/// One figure.
pub(crate) struct Row {
    item: &'static str,
    what: String,
    figure: String,
    goal: String,
    tokio: String,
    met: Met,
}

impl Row {
    pub(crate) fn new(
        item: &'static str,
        what: String,
        figure: String,
        goal: String,
        tokio: String,
        met: Met,
    ) -> Self {
        Self {
            item,
            what,
            figure,
            goal,
            tokio,
            met,
        }
    }

    pub(crate) fn not_run(item: &'static str, what: String, goal: String) -> Self {
        Self::new(item, what, "not run".into(), goal, "—".into(), Met::NotRun)
    }
}

/// A duration in milliseconds, three significant digits or so.
pub(crate) fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1e3;
    if v >= 100.0 {
        format!("{v:.0} ms")
    } else if v >= 10.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.2} ms")
    }
}

pub(crate) fn render(rows: &[Row], sizes: &Sizes, quiet: bool, took: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| item | measured | portsock | goal | tokio | met |");
    let _ = writeln!(out, "|---|---|---:|---|---:|:-:|");
    for r in rows {
        let met = match r.met {
            Met::Yes => "yes",
            Met::No => "**no**",
            Met::NotRun => "—",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {met} |",
            r.item, r.what, r.figure, r.goal, r.tokio
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "portsock: `portsock echo server --concurrent` (its own process; the chapter's \
         transcript unless `--quiet`). tokio: a tokio echo (multi-threaded runtime, a \
         task per connection, 64 KiB buffer). 2.1: one client sends {} bytes while stdout is a \
         pipe nobody reads, then two clients make up to {} round trips each. 2.2: {} hogs push \
         {} KiB each and never read, while a fresh client makes 16-byte round trips for {:.1} s \
         (a lost echo counts as the 2 s timeout); SIGTERM {:.2} s after the hogs start, on a \
         fresh server. 2.3: RSS is `VmRSS` of the server process. A server still running 3 s \
         after SIGTERM is killed.{} Run time {:.0} s.",
        thousands(sizes.stuck_bytes as u64),
        sizes.probes.min(100),
        sizes.hogs,
        sizes.hog_bytes >> 10,
        sizes.window.as_secs_f64(),
        (sizes.window / 4).as_secs_f64(),
        if quiet {
            ""
        } else {
            " This binary has no `--quiet`: its rows were not run."
        },
        took.as_secs_f64()
    );
    out
}
