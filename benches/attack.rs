//! Hostile load on `portsock echo server --concurrent` (the release binary, in a child
//! process), with tokio's echo (`echo/peers.rs`) under the same attack for scale: the items
//! 2.1, 2.2, 2.3 and 2.6 of issue 10, each figure printed beside its goal.
//!
//! * **2.1 stuck stdout.** The server's standard output is a pipe nobody reads (the chapter's
//!   transcript, the default). One client sends 40,000 bytes: how many come back; then other
//!   clients make 16-byte round trips (do they get answers, how fast); then SIGTERM: how long
//!   until the process is gone; and whether it said at exit how many lines it dropped.
//! * **2.2 fairness.** 100 hogs each push 1 MB and never read; meanwhile a fresh client makes
//!   16-byte round trips on its own connection: p50 / p99 / max, with `--quiet` (64 KiB
//!   reads) and with the transcript and 16-byte reads (stdout to `/dev/null`), and against
//!   tokio's echo. Then SIGTERM while the hogs push.
//! * **2.3 idle connections.** 10,000 connections, each served one round trip and then idle:
//!   the server process's resident memory (`VmRSS`), beside tokio's.
//! * **2.6 Unix node.** Server A listens at a path; server B's live socket is renamed over A's
//!   node; A is stopped: is B's node still there, and does B answer?
//!
//! Everything runs on the loopback and in a temporary directory, bounded in count and time
//! (a stalled server shows as a timeout, a server that ignores SIGTERM is killed after 3 s).
//! `scripts/attack` runs this (`cargo bench --bench attack`); without `--bench` on the
//! command line (as `cargo test --benches` runs it), or with `--quick`, it makes a small
//! smoke run of every item.
#![allow(missing_docs, unsafe_code)]

#[allow(dead_code)]
#[path = "echo/cli.rs"]
mod cli;
#[path = "common/format.rs"]
mod format;
#[path = "attack/items.rs"]
mod items;
#[path = "attack/load.rs"]
mod load;
#[allow(dead_code, unreachable_pub)]
#[path = "echo/peers.rs"]
mod peers;
#[path = "attack/table.rs"]
mod table;

use std::io;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use portsock::server::raise_fd_limit;

/// How big each attack is.
pub(crate) struct Sizes {
    /// Bytes the one client sends while stdout is stuck.
    pub(crate) stuck_bytes: usize,
    /// Round trips each probe makes at most.
    pub(crate) probes: usize,
    /// Hogs, and the bytes each pushes.
    pub(crate) hogs: usize,
    pub(crate) hog_bytes: u64,
    /// How long the probe runs from the moment the hogs start.
    pub(crate) window: Duration,
    /// Idle connections.
    pub(crate) idle: usize,
}

const FULL: Sizes = Sizes {
    stuck_bytes: 40_000,
    probes: 500,
    hogs: 100,
    hog_bytes: 1 << 20,
    window: Duration::from_secs(3),
    idle: 10_000,
};

const QUICK: Sizes = Sizes {
    stuck_bytes: 40_000,
    probes: 20,
    hogs: 4,
    hog_bytes: 64 << 10,
    window: Duration::from_millis(300),
    idle: 100,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, kind, dir] = &args[..]
        && flag == "--serve"
    {
        return match peers::serve(kind, dir.as_ref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: server {kind}: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let full = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--quick");
    match run(if full { &FULL } else { &QUICK }) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(sizes: &Sizes) -> io::Result<String> {
    // The client holds every idle connection; the servers inherit this limit.
    let fds = raise_fd_limit(65_536)?;
    let need = sizes.idle as u64 + 256;
    if fds < need {
        return Err(io::Error::other(format!(
            "{} idle connections need {need} descriptors; RLIMIT_NOFILE allows {fds}",
            sizes.idle
        )));
    }
    let dir = tempfile::tempdir()?;
    let quiet = cli::has_quiet();
    if !quiet {
        eprintln!("note: this portsock has no --quiet; its rows are not run");
    }
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut tokio = peers::ServerProcess::start("tokio", dir.path())?;
    rows.extend(items::stuck_stdout(sizes, dir.path(), &tokio)?);
    rows.extend(items::fairness(sizes, dir.path(), &tokio, quiet)?);
    rows.extend(items::idle(sizes, dir.path(), &mut tokio)?);
    rows.extend(items::unix_node(dir.path())?);
    tokio.stop()?;
    Ok(table::render(&rows, sizes, quiet, started.elapsed()))
}
