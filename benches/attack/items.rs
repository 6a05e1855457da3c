//! The attacks, one function per item of the issue, each returning its table rows.

use std::fs;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::Sizes;
use crate::cli::{self, Cli, Listen, Stdout};
use crate::format::{mib, thousands};
use crate::load::{self, Hogs, Trips};
use crate::peers::ServerProcess;
use crate::table::{Met, Row, ms};

/// How long a probe waits for an echo before counting it lost.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a server may take to exit on SIGTERM before it is killed.
const TERM_LIMIT: Duration = Duration::from_secs(3);
/// The SIGTERM goal (items 2.1 and 2.2).
const TERM_GOAL: Duration = Duration::from_millis(100);
/// The probes' message size.
const PROBE: usize = 16;

/// 2.1: stdout on a pipe nobody reads.
pub(crate) fn stuck_stdout(
    sizes: &Sizes,
    dir: &Path,
    tokio: &ServerProcess,
) -> io::Result<Vec<Row>> {
    let mut server = Cli::start(&Listen::Tcp, &[], Stdout::Stuck, dir)?;
    let addr = tcp(&server)?;
    let echoed = load::big_echo(addr, sizes.stuck_bytes, PROBE_TIMEOUT)?;
    let trips = probes(addr, 2, sizes.probes.min(100))?;
    let exit = server.terminate(TERM_LIMIT)?;
    let dropped = dropped_lines(&server.output());

    let tokio_echoed = load::big_echo(tokio.addr, sizes.stuck_bytes, PROBE_TIMEOUT)?;
    let tokio_trips = probes(tokio.addr, 2, sizes.probes.min(100))?;

    let item = "2.1 stuck stdout";
    let p99 = trips.quantile(0.99);
    Ok(vec![
        Row::new(
            item,
            format!("bytes echoed of {}", thousands(sizes.stuck_bytes as u64)),
            thousands(echoed as u64),
            "all".into(),
            thousands(tokio_echoed as u64),
            Met::of(echoed == sizes.stuck_bytes),
        ),
        Row::new(
            item,
            "other clients' 16-byte round trips, p99".into(),
            trips_figure(&trips, p99),
            "all answered, p99 ≤ 10 ms".into(),
            trips_figure(&tokio_trips, tokio_trips.quantile(0.99)),
            Met::of(trips.failed == 0 && p99.is_some_and(|p| p <= Duration::from_millis(10))),
        ),
        term_row(item, "SIGTERM → exit", exit),
        Row::new(
            item,
            "dropped lines, said at exit".into(),
            dropped.clone().unwrap_or_else(|| "not said".into()),
            "said".into(),
            "—".into(),
            Met::of(dropped.is_some()),
        ),
    ])
}

/// 2.2: hogs that push and never read, and a fresh client's round trips meanwhile.
pub(crate) fn fairness(
    sizes: &Sizes,
    dir: &Path,
    tokio: &ServerProcess,
    quiet: bool,
) -> io::Result<Vec<Row>> {
    let tokio_trips = attack(tokio.addr, sizes)?;
    let item = "2.2 fairness";
    let mut rows = Vec::new();
    let modes: [(&str, &[&str], u64, bool); 2] = [
        (
            "--quiet, 64 KiB reads",
            &["--quiet", "--chunk", "65536"],
            10,
            quiet,
        ),
        ("transcript, 16-byte reads", &["--chunk", "16"], 50, true),
    ];
    for (mode, args, goal_ms, available) in modes {
        let goal = Duration::from_millis(goal_ms);
        let what = format!("{mode}: probe p50 / p99 / max");
        if !available {
            rows.push(Row::not_run(item, what, format!("p99 ≤ {goal_ms} ms")));
            rows.push(Row::not_run(
                item,
                format!("{mode}: SIGTERM → exit, hogs pushing"),
                "≤ 100 ms".into(),
            ));
            continue;
        }
        let mut server = Cli::start(&Listen::Tcp, args, Stdout::Null, dir)?;
        let trips = attack(tcp(&server)?, sizes)?;
        server.terminate(TERM_LIMIT)?;
        let p99 = trips.quantile(0.99);
        rows.push(Row::new(
            item,
            what,
            spread(&trips),
            format!("p99 ≤ {goal_ms} ms"),
            spread(&tokio_trips),
            Met::of(p99.is_some_and(|p| p <= goal)),
        ));

        // SIGTERM on a fresh server, a moment after the hogs started.
        let mut server = Cli::start(&Listen::Tcp, args, Stdout::Null, dir)?;
        let hogs = Hogs::start(tcp(&server)?, sizes.hogs, sizes.hog_bytes)?;
        thread::sleep(sizes.window / 4);
        let exit = server.terminate(TERM_LIMIT)?;
        hogs.stop()?;
        rows.push(term_row(
            item,
            &format!("{mode}: SIGTERM → exit, hogs pushing"),
            exit,
        ));
    }
    Ok(rows)
}

/// 2.3: idle connections and the server's resident memory.
pub(crate) fn idle(sizes: &Sizes, dir: &Path, tokio: &mut ServerProcess) -> io::Result<Vec<Row>> {
    let mut server = Cli::start(&Listen::Tcp, &[], Stdout::Null, dir)?;
    let (before, after) = idle_rss(tcp(&server)?, sizes.idle, || server.rss())?;
    server.terminate(TERM_LIMIT)?;
    let pid = tokio.pids()[0];
    let (_, tokio_after) = idle_rss(tokio.addr, sizes.idle, || cli::rss(pid))?;
    let goal = 40 << 20;
    Ok(vec![Row::new(
        "2.3 idle",
        format!(
            "{} idle connections: server RSS",
            thousands(sizes.idle as u64)
        ),
        format!("{} (at start {})", mib(after), mib(before)),
        "≤ 40 MiB".into(),
        mib(tokio_after),
        Met::of(after <= goal),
    )])
}

/// The server's RSS before and with `n` idle connections.
fn idle_rss(
    addr: SocketAddr,
    n: usize,
    rss: impl Fn() -> io::Result<u64>,
) -> io::Result<(u64, u64)> {
    let before = rss()?;
    let conns = load::idle(addr, n)?;
    thread::sleep(Duration::from_millis(200));
    let after = rss()?;
    load::close_all(conns);
    Ok((before, after))
}

/// 2.6: a server's exit must not remove a socket node that is no longer its own.
pub(crate) fn unix_node(dir: &Path) -> io::Result<Vec<Row>> {
    let node = dir.join("node.sock");
    let other = dir.join("other.sock");
    let mut a = Cli::start(&Listen::Unix(node.clone()), &[], Stdout::Null, dir)?;
    let mut b = Cli::start(&Listen::Unix(other.clone()), &[], Stdout::Null, dir)?;
    // B's live socket takes A's node's name, as a restarted server's would.
    fs::rename(&other, &node)?;
    a.terminate(TERM_LIMIT)?;
    let there = fs::symlink_metadata(&node).is_ok_and(|m| m.file_type().is_socket());
    let answers = there && unix_echo(&node).is_ok();
    b.terminate(TERM_LIMIT)?;
    let figure = match (there, answers) {
        (true, true) => "node there, B answers",
        (true, false) => "node there, B silent",
        (false, _) => "node removed",
    };
    Ok(vec![Row::new(
        "2.6 Unix node",
        "A stopped after B's socket replaced its node".into(),
        figure.into(),
        "node there, B answers".into(),
        "—".into(),
        Met::of(answers),
    )])
}

fn unix_echo(path: &Path) -> io::Result<()> {
    let mut s = UnixStream::connect(path)?;
    s.set_read_timeout(Some(PROBE_TIMEOUT))?;
    let message = b"is B still there?";
    s.write_all(message)?;
    let mut back = [0u8; 17];
    s.read_exact(&mut back)?;
    if back == *message {
        Ok(())
    } else {
        Err(io::Error::other("wrong echo"))
    }
}

/// The hogs' attack on `addr`, and a fresh client's round trips for `sizes.window` meanwhile.
fn attack(addr: SocketAddr, sizes: &Sizes) -> io::Result<Trips> {
    let hogs = Hogs::start(addr, sizes.hogs, sizes.hog_bytes)?;
    let until = Instant::now() + sizes.window;
    let trips = load::probe(addr, PROBE, usize::MAX, PROBE_TIMEOUT, until)?;
    eprintln!(
        "{addr}: the hogs pushed {} in {:.1} s",
        mib(hogs.sent()),
        sizes.window.as_secs_f64()
    );
    hogs.stop()?;
    Ok(trips)
}

/// `n` probes at once, each making up to `max` round trips.
fn probes(addr: SocketAddr, n: usize, max: usize) -> io::Result<Trips> {
    let until = Instant::now() + Duration::from_secs(60);
    thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| s.spawn(move || load::probe(addr, PROBE, max, PROBE_TIMEOUT, until)))
            .collect();
        let mut all = Trips::default();
        for h in handles {
            all.merge(h.join().map_err(|_| io::Error::other("probe panicked"))??);
        }
        Ok(all)
    })
}

fn tcp(server: &Cli) -> io::Result<SocketAddr> {
    server
        .addr
        .ok_or_else(|| io::Error::other("not a TCP server"))
}

fn term_row(item: &'static str, what: &str, exit: Option<Duration>) -> Row {
    Row::new(
        item,
        what.into(),
        exit.map_or_else(|| format!("> {} (killed)", ms(TERM_LIMIT)), ms),
        format!("≤ {}", ms(TERM_GOAL)),
        "—".into(),
        Met::of(exit.is_some_and(|t| t <= TERM_GOAL)),
    )
}

fn trips_figure(trips: &Trips, q: Option<Duration>) -> String {
    let q = q.map_or_else(|| "—".into(), ms);
    if trips.failed == 0 {
        q
    } else {
        format!("{q} ({} lost)", trips.failed)
    }
}

fn spread(trips: &Trips) -> String {
    let f = |q: Option<Duration>| q.map_or_else(|| "—".into(), ms);
    let lost = if trips.failed == 0 {
        String::new()
    } else {
        format!(", {} lost at {}", trips.failed, ms(PROBE_TIMEOUT))
    };
    format!(
        "{} / {} / {} ({} trips{lost})",
        f(trips.quantile(0.5)),
        f(trips.quantile(0.99)),
        f(trips.max()),
        trips.latencies.len()
    )
}

/// The number in the server's "dropped N lines" (any line mentioning "dropped"), if it said
/// so.
fn dropped_lines(output: &str) -> Option<String> {
    let line = output
        .lines()
        .find(|l| l.to_ascii_lowercase().contains("dropped"))?;
    let number: String = line
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(|w| w.chars().filter(char::is_ascii_digit).collect())
        .unwrap_or_default();
    Some(if number.is_empty() {
        line.trim().to_string()
    } else {
        format!("{} lines", thousands(number.parse().unwrap_or(0)))
    })
}
