//! A soak of `portsock echo server --concurrent` (the release binary, with `--quiet` where it
//! has it): 1,000 connections each making one 64-byte round trip every 100 ms (10,000 round
//! trips a second in all, paced so as not to saturate a 2-core machine), every echoed byte
//! checked, the server's resident memory (`VmRSS`) sampled every minute, for an hour by
//! default. Prints a table, one row per sample (round trips, errors, late turns and p99 over
//! the minute before it), and a verdict on the memory curve: flat, or growing.
//!
//! `scripts/soak [SECONDS]` runs this (`cargo bench --bench soak -- --seconds SECONDS`).
//! Without `--bench` on the command line (as `cargo test --benches` runs it) it makes a
//! 3-second smoke run with 20 connections, sampling every second. Loopback only; the server
//! is stopped (SIGTERM, then SIGKILL) when the run ends or fails.
#![allow(missing_docs, unsafe_code)]

#[allow(dead_code)]
#[path = "echo/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "echo/client.rs"]
mod client;
#[path = "common/format.rs"]
mod format;
#[path = "soak/players.rs"]
mod players;

use std::fmt::Write as _;
use std::io;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use cli::{Cli, Listen, Stdout};
use format::{mib, thousands};
use players::{Players, Tally};
use portsock::server::raise_fd_limit;

/// The run's shape.
struct Plan {
    seconds: u64,
    conns: usize,
    interval: Duration,
    sample: Duration,
}

/// One sample.
struct Sample {
    at: Duration,
    rss: u64,
    tally: Tally,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|e| format!("{name} {v}: expected a whole number ({e})"))
            })
            .transpose()
    };
    let full = args.iter().any(|a| a == "--bench");
    let plan = match (option("--seconds"), option("--conns")) {
        (Ok(seconds), Ok(conns)) => Plan {
            seconds: seconds.unwrap_or(if full { 3_600 } else { 3 }),
            conns: conns.map_or(if full { 1_000 } else { 20 }, |c| c as usize),
            interval: Duration::from_millis(100),
            sample: Duration::from_secs(if full { 60 } else { 1 }),
        },
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if plan.seconds == 0 || plan.conns == 0 {
        eprintln!("error: --seconds and --conns: expected at least 1");
        return ExitCode::FAILURE;
    }
    match run(&plan) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(plan: &Plan) -> io::Result<String> {
    raise_fd_limit(plan.conns as u64 + 256)?;
    let dir = tempfile::tempdir()?;
    let quiet = cli::has_quiet();
    let args: &[&str] = if quiet { &["--quiet"] } else { &[] };
    // Killed when dropped, on every way out of this function.
    let mut server = Cli::start(&Listen::Tcp, args, Stdout::Null, dir.path())?;
    let addr = server
        .addr
        .ok_or_else(|| io::Error::other("no TCP address"))?;
    let idle_rss = server.rss()?;
    let mut players = Players::connect(addr, plan.conns, plan.interval)?;
    let began = Instant::now();
    let end = began + Duration::from_secs(plan.seconds);
    let mut samples = vec![Sample {
        at: Duration::ZERO,
        rss: server.rss()?,
        tally: Tally::default(),
    }];
    eprintln!("{}", header());
    eprintln!("{}", row(&mut samples[0]));
    let mut next = began;
    while next < end {
        next = (next + plan.sample).min(end);
        let mut tally = Tally::default();
        players.play(next, &mut tally)?;
        let mut sample = Sample {
            at: began.elapsed(),
            rss: server.rss()?,
            tally,
        };
        eprintln!("{}", row(&mut sample));
        samples.push(sample);
    }
    players.close();
    let exit = server.terminate(Duration::from_secs(3))?;
    Ok(report(plan, quiet, idle_rss, &mut samples, exit))
}

fn header() -> String {
    "| time | server RSS | round trips | errors | late | p99 |\n|---:|---:|---:|---:|---:|---:|"
        .into()
}

fn row(s: &mut Sample) -> String {
    let secs = s.at.as_secs_f64().round() as u64;
    let p99 = s.tally.p99().map_or_else(
        || "—".into(),
        |d| format!("{:.2} ms", d.as_secs_f64() * 1e3),
    );
    format!(
        "| {}:{:02} | {} | {} | {} | {} | {p99} |",
        secs / 60,
        secs % 60,
        mib(s.rss),
        thousands(s.tally.round_trips),
        s.tally.errors,
        thousands(s.tally.late),
    )
}

fn report(
    plan: &Plan,
    quiet: bool,
    idle_rss: u64,
    samples: &mut [Sample],
    exit: Option<Duration>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", header());
    for s in samples.iter_mut() {
        let _ = writeln!(out, "{}", row(s));
    }
    let trips: u64 = samples.iter().map(|s| s.tally.round_trips).sum();
    let errors: u64 = samples.iter().map(|s| s.tally.errors).sum();
    let late: u64 = samples.iter().map(|s| s.tally.late).sum();
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", verdict(samples));
    let _ = writeln!(out);
    let first_error = samples
        .iter()
        .find_map(|s| s.tally.first_error.clone())
        .map_or_else(String::new, |e| format!(" (the first: {e})"));
    let _ = writeln!(
        out,
        "`portsock echo server --concurrent{}` (stdout to /dev/null), {} \
         connections each making one 64-byte round trip every {} ms, for {} s: {} round \
         trips, every byte checked, {errors} errors{first_error}, {} turns skipped because \
         the last echo was not back yet. RSS is the server process's `VmRSS`, {} before the \
         connections were made; the 0:00 row is with them connected, before any round trip. \
         Each row's round trips, errors, late turns and p99 are those since the row before. The \
         server exited {} after SIGTERM.",
        if quiet { " --quiet" } else { "" },
        thousands(plan.conns as u64),
        plan.interval.as_millis(),
        plan.seconds,
        thousands(trips),
        thousands(late),
        mib(idle_rss),
        exit.map_or_else(
            || "not within 3 s (killed)".into(),
            |d| format!("{:.1} ms", d.as_secs_f64() * 1e3)
        ),
    );
    out
}

/// Flat or growing, from the samples after the first minute (or after the first sample, in a
/// run shorter than that): flat if they stay within 1 MiB plus 2% of the smallest.
fn verdict(samples: &[Sample]) -> String {
    let minute: Vec<u64> = samples
        .iter()
        .filter(|s| s.at >= Duration::from_secs(59))
        .map(|s| s.rss)
        .collect();
    let settled = if minute.len() >= 2 {
        minute
    } else {
        samples.iter().skip(1).map(|s| s.rss).collect()
    };
    let (Some(&min), Some(&max), Some(&last), true) = (
        settled.iter().min(),
        settled.iter().max(),
        settled.last(),
        settled.len() >= 2,
    ) else {
        return "Verdict: too short a run to tell (fewer than two samples after the first).".into();
    };
    let spread = max - min;
    let flat = spread <= (1 << 20) + min / 50;
    let shape = if flat {
        "flat"
    } else if last == max {
        "growing"
    } else {
        "varying"
    };
    format!(
        "Verdict: **{shape}**: over {} samples (from the first minute on; in a shorter run, all \
         but the first), RSS between {} and {} \
         (max − min {} KiB; flat means within 1 MiB + 2% of the smallest).",
        settled.len(),
        mib(min),
        mib(max),
        spread >> 10
    )
}
