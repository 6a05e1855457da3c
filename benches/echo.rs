//! Echo servers side by side, in one run on this machine, every echoed byte checked:
//!
//! * **portsock**: portsock-server's event-driven `EchoServer` (one thread, mio, the
//!   core's `EchoSession` per connection, one shared 64 KiB buffer, backlog 4096);
//! * **std threads**: a plain thread per connection, blocking `read` into 64 KiB and
//!   `write_all` back (built only for this benchmark, in `echo/peers.rs`);
//! * **tokio**: tokio's multi-threaded runtime, a task per connection doing the same;
//! * **portsock-tokio**: portsock-server's `TokioServer`, the same `EchoSession` per
//!   connection run by the core's async driver over portsock-std's tokio sockets, a task per
//!   connection on the same runtime as the tokio peer: its ratio to the tokio peer is what
//!   portsock's machines and async traits cost on tokio;
//! * **CLI**: the `portsock` binary's `echo server --concurrent --quiet --chunk 65536` (the
//!   release build, two processes: one on TCP, one on the Unix socket; `echo/cli.rs`).
//!
//! Modes: TCP echo throughput (1 and 16 connections, 64 KiB writes), ping-pong round trips
//! per second with p50/p99 latency at 1, 100, 1,000 and 10,000 connections (64-byte
//! messages), the time to accept 10,000 connections in a burst, UDP ping-pong (the core's
//! `DatagramEchoServer` over portsock-std's `UdpSocket` against a plain std loop), and Unix
//! socket throughput. The client is the same single-threaded mio loop for every server
//! (`echo/client.rs`); everything runs on the loopback and in a temporary directory.
//!
//! `scripts/bench-echo` runs this (`cargo bench --bench echo`) and writes the table to
//! `docs/benchmarks-echo.md`. Without `--bench` on the command line (as `cargo test
//! --benches` runs it), or with `--quick`, it makes a small smoke run of every mode.
#![allow(missing_docs, unsafe_code)]

#[allow(dead_code)]
#[path = "echo/cli.rs"]
mod cli;
#[path = "echo/client.rs"]
mod client;
#[path = "echo/peers.rs"]
mod peers;

use std::fmt::Write as _;
use std::io;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use client::{Pattern, PingPong, Target};
use peers::ServerProcess;
use portsock::server::raise_fd_limit;

/// How much each mode moves.
struct Sizes {
    /// Bytes echoed per TCP or Unix throughput run.
    stream_bytes: u64,
    /// Runs per server and mode (the median is reported), except the accept burst's one.
    reps: usize,
    /// `(connections, round trips per connection)` for ping-pong.
    ping_pong: [(usize, u64); 4],
    /// Connections in the accept burst.
    accept: usize,
    /// UDP round trips.
    udp_rounds: u64,
}

const FULL: Sizes = Sizes {
    // A run of 256 MiB lasted about 0.1 s, within TCP's window growth and the machine's
    // noise; 1 GiB takes about half a second.
    stream_bytes: 1 << 30,
    // Five runs, so that one disturbed run (this is a shared 2-core VM) moves no median.
    reps: 5,
    ping_pong: [(1, 50_000), (100, 500), (1_000, 50), (10_000, 10)],
    accept: 10_000,
    udp_rounds: 50_000,
};

const QUICK: Sizes = Sizes {
    stream_bytes: 4 << 20,
    reps: 1,
    ping_pong: [(1, 200), (10, 20), (100, 5), (200, 2)],
    accept: 300,
    udp_rounds: 200,
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
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_default()
    };
    let filter = Filter {
        mode: option("--only"),
        server: option("--server"),
    };
    match run(if full { &FULL } else { &QUICK }, &filter) {
        Ok(table) => {
            print!("{table}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Which modes and servers to run (`--only TEXT`, `--server TEXT`: those whose names contain
/// the text), for looking at one figure at a time.
struct Filter {
    mode: String,
    server: String,
}

fn run(sizes: &Sizes, filter: &Filter) -> io::Result<String> {
    // The client holds every connection; each server, in its own process, the other ends.
    let most = sizes.ping_pong[3].0.max(sizes.accept) as u64;
    let fds = raise_fd_limit(65_536)?;
    if fds < most + 64 {
        return Err(io::Error::other(format!(
            "{most} connections need {} descriptors; RLIMIT_NOFILE allows {fds}",
            most + 64
        )));
    }
    let dir = tempfile::tempdir()?;
    let pattern = Pattern::new();
    let mut servers = [
        ServerProcess::start("portsock", dir.path())?,
        ServerProcess::start("cli", dir.path())?,
        ServerProcess::start("threads", dir.path())?,
        ServerProcess::start("tokio", dir.path())?,
        ServerProcess::start("portsock-tokio", dir.path())?,
    ];
    let mut udp = [
        ServerProcess::start("udp-portsock", dir.path())?,
        ServerProcess::start("udp-std", dir.path())?,
        ServerProcess::start("udp-tokio", dir.path())?,
        ServerProcess::start("udp-portsock-tokio", dir.path())?,
    ];
    let started = Instant::now();
    let mut rows = Vec::new();
    let wanted = |mode: &str| mode.contains(&filter.mode);

    let mib_per_s = |t: &Duration| sizes.stream_bytes as f64 / t.as_secs_f64() / f64::from(1 << 20);
    for conns in [1, 16] {
        let mode = format!("TCP throughput, {conns} conn");
        if wanted(&mode) {
            let runs = repeat(&mode, filter, &mut servers, sizes.reps, |s| {
                client::throughput(&Target::Tcp(s.addr), conns, sizes.stream_bytes, &pattern)
            })?;
            rows.push(Row::higher(
                format!("{mode}, MiB/s"),
                stats(&runs, mib_per_s),
            ));
        }
    }
    for (conns, rounds) in sizes.ping_pong {
        let mode = format!("ping-pong, {conns} conn");
        if wanted(&mode) {
            let runs = repeat(&mode, filter, &mut servers, sizes.reps, |s| {
                client::ping_pong(&Target::Tcp(s.addr), conns, rounds, &pattern)
            })?;
            rows.extend(ping_pong_rows(&mode, &runs, conns >= 1_000));
        }
    }
    let mode = "UDP ping-pong, 1 client";
    if wanted(mode) {
        let mut runs = repeat(mode, filter, &mut udp, sizes.reps, |s| {
            client::udp_ping_pong(s.addr, sizes.udp_rounds, &pattern)
        })?;
        // No CLI server for UDP.
        runs.insert(1, Vec::new());
        rows.extend(ping_pong_rows(mode, &runs, false));
    }
    let mode = "Unix throughput, 1 conn";
    if wanted(mode) {
        let runs = repeat(mode, filter, &mut servers, sizes.reps, |s| {
            client::throughput(&client::unix(&s.unix), 1, sizes.stream_bytes, &pattern)
        })?;
        rows.push(Row::higher(
            format!("{mode}, MiB/s"),
            stats(&runs, mib_per_s),
        ));
    }

    let mode = format!("accept {} connections", sizes.accept);
    if wanted(&mode) {
        // Last, once each: a peer with a short backlog spends seconds in SYN retries here, and
        // may be left with orphans (see `settle`).
        let runs = repeat(&mode, filter, &mut servers, 1, |s| {
            let addr = s.addr;
            client::accept_burst(addr, sizes.accept, || s.active())
        })?;
        // A burst that took longer than the limit counts as the limit, shown as "> limit".
        let limit = client::ACCEPT_LIMIT.as_secs_f64();
        let mut values = stats(&runs, |t| t.map_or(limit, |t| t.as_secs_f64()));
        for (value, runs) in values.iter_mut().zip(&runs) {
            if let Some(v) = value {
                v.at_least = runs.iter().any(Option::is_none);
            }
        }
        let mut row = Row::lower(format!("{mode}, s"), values);
        row.goal = Goal::Under(1.0);
        rows.push(row);
    }
    let peak = servers[0].peak_buffered()?.unwrap_or(0);
    let took = started.elapsed();
    let names = [udp[0].name.clone(), udp[1].name.clone()];
    let quiet = servers[1].name.contains("--quiet");
    for server in servers.into_iter().chain(udp) {
        server.stop()?;
    }
    Ok(render(&rows, &names, quiet, sizes.reps, peak, took))
}

/// Runs `f` `reps` times against every server, the servers taking turns, waiting after each
/// run until the server has closed its connections; returns each server's results.
fn repeat<T>(
    mode: &str,
    filter: &Filter,
    servers: &mut [ServerProcess],
    reps: usize,
    mut f: impl FnMut(&mut ServerProcess) -> io::Result<T>,
) -> io::Result<Vec<Vec<T>>> {
    let mut results: Vec<Vec<T>> = servers.iter().map(|_| Vec::new()).collect();
    for _ in 0..reps {
        for (server, results) in servers.iter_mut().zip(&mut results) {
            if !server.name.contains(&filter.server) {
                continue;
            }
            let probe = Probe::start(server);
            let r = f(server)
                .map_err(|e| io::Error::new(e.kind(), format!("{mode}: {}: {e}", server.name)))?;
            probe.report(mode, server);
            settle(server)?;
            results.push(r);
        }
    }
    Ok(results)
}

/// Each server's median and range of `figure` over its runs (`None`: no runs).
fn stats<T>(runs: &[Vec<T>], figure: impl Fn(&T) -> f64) -> Vec<Option<Stat>> {
    runs.iter()
        .map(|r| (!r.is_empty()).then(|| Stat::of(r.iter().map(&figure).collect())))
        .collect()
}

/// Waits until the server has closed every connection of the last run. A server that keeps
/// some for 3 s while the client holds none has orphans: after its accept queue overflowed,
/// SYN cookies can leave it a second socket for a connection the client completed and closed
/// on the first, and nothing ever arrives on it. Those are reported on stderr and no longer
/// counted.
fn settle(server: &mut ServerProcess) -> io::Result<()> {
    let mut last = (usize::MAX, Instant::now());
    loop {
        let active = server.active()?;
        if active == 0 {
            return Ok(());
        }
        if active != last.0 {
            last = (active, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(3) {
            eprintln!(
                "warning: {} keeps {active} connections the client has closed (orphans)",
                server.name
            );
            server.forget(active);
            return Ok(());
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// CPU time of the client (this process) and of a server over one run, reported on stderr:
/// a client near 100% of a core means the figure is the client's limit, not the server's.
struct Probe {
    wall: Instant,
    client: Duration,
    server: Duration,
}

impl Probe {
    fn start(server: &ServerProcess) -> Self {
        Self {
            wall: Instant::now(),
            client: cpu_time("self"),
            server: server_cpu_time(server),
        }
    }

    fn report(self, mode: &str, server: &ServerProcess) {
        let wall = self.wall.elapsed().as_secs_f64();
        let share = |now: Duration, then: Duration| 100.0 * (now - then).as_secs_f64() / wall;
        eprintln!(
            "{mode:>16} {:>12}: {wall:6.2} s, client {:3.0}% cpu, server {:3.0}% cpu",
            server.name,
            share(cpu_time("self"), self.client),
            share(server_cpu_time(server), self.server),
        );
    }
}

/// The CPU time of a server's processes.
fn server_cpu_time(server: &ServerProcess) -> Duration {
    server.pids().iter().map(|p| cpu_time(&p.to_string())).sum()
}

/// User + system time of process `pid` (or `self`) from `/proc/PID/stat`, in the usual
/// 100 Hz clock ticks; zero if it cannot be read (the report is only a diagnostic).
fn cpu_time(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

fn ping_pong_rows(mode: &str, runs: &[Vec<PingPong>], p99_vs_tokio: bool) -> Vec<Row> {
    let mut p99 = Row::lower(format!("{mode}, p99 µs"), stats(runs, |r| micros(r.p99)));
    if p99_vs_tokio {
        p99.goal = Goal::HalfOfTokio;
    }
    vec![
        Row::higher(
            format!("{mode}, round trips/s"),
            stats(runs, PingPong::per_second),
        ),
        Row::lower(format!("{mode}, p50 µs"), stats(runs, |r| micros(r.p50))),
        p99,
    ]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A figure over repeated runs.
#[derive(Clone, Copy)]
struct Stat {
    median: f64,
    min: f64,
    max: f64,
    /// A run hit a time limit: the true figure is at least this.
    at_least: bool,
}

impl Stat {
    fn of(mut v: Vec<f64>) -> Self {
        v.sort_by(f64::total_cmp);
        Self {
            median: v[v.len() / 2],
            min: v[0],
            max: v[v.len() - 1],
            at_least: false,
        }
    }
}

/// Where the peers' figures start in [`Row::values`] (after portsock's and the CLI
/// server's), tokio's (the last peer), and portsock-tokio's (after the peers).
const PEERS: usize = 2;
const TOKIO: usize = 3;
const PORTSOCK_TOKIO: usize = 4;
/// portsock-tokio's goal: at least this share of the tokio peer's figure.
const TOKIO_GOAL: f64 = 0.95;

/// One line of the table: portsock's figure, the CLI server's, std's, tokio's, then
/// portsock-tokio's.
struct Row {
    mode: String,
    values: Vec<Option<Stat>>,
    higher_is_better: bool,
    goal: Goal,
}

#[derive(Clone, Copy)]
enum Goal {
    /// At least as good as the better peer.
    BestPeer,
    /// At most half of tokio's (p99 latency), and so at least twice as good.
    HalfOfTokio,
    /// Under this many seconds, and at least as good as the better peer.
    Under(f64),
}

/// Whether a goal was met.
enum Met {
    Yes,
    /// Not by the medians, but the runs' ranges overlap: within this machine's run-to-run
    /// noise.
    Tie,
    No,
}

impl Row {
    fn higher(mode: String, values: Vec<Option<Stat>>) -> Self {
        Self {
            mode,
            values,
            higher_is_better: true,
            goal: Goal::BestPeer,
        }
    }

    fn lower(mode: String, values: Vec<Option<Stat>>) -> Self {
        Self {
            mode,
            values,
            higher_is_better: false,
            goal: Goal::BestPeer,
        }
    }

    /// How many times better `ours` is than `peer` (above 1: better).
    fn advantage(&self, ours: f64, peer: f64) -> f64 {
        if self.higher_is_better {
            ours / peer
        } else {
            peer / ours
        }
    }

    /// The better peer's figure.
    fn best_peer(&self) -> Option<Stat> {
        let peers = self.values[PEERS..=TOKIO].iter().flatten().copied();
        if self.higher_is_better {
            peers.max_by(|a, b| a.median.total_cmp(&b.median))
        } else {
            peers.min_by(|a, b| a.median.total_cmp(&b.median))
        }
    }

    /// portsock-tokio against the tokio peer: the ratio of their medians (above 1: better),
    /// and whether it meets [`TOKIO_GOAL`] ("tie": only portsock-tokio's best run against
    /// tokio's worst does, within the noise).
    fn vs_tokio(&self) -> (f64, Met) {
        let (Some(ours), Some(tokio)) = (self.values[PORTSOCK_TOKIO], self.values[TOKIO]) else {
            return (f64::NAN, Met::No);
        };
        let ratio = self.advantage(ours.median, tokio.median);
        let best = if self.higher_is_better {
            self.advantage(ours.max, tokio.min)
        } else {
            self.advantage(ours.min, tokio.max)
        };
        let met = if ratio >= TOKIO_GOAL {
            Met::Yes
        } else if best >= TOKIO_GOAL {
            Met::Tie
        } else {
            Met::No
        };
        (ratio, met)
    }

    /// The advantage of `self.values[ours]` (portsock's, or the CLI server's) over the
    /// better peer, whether the goal is met, and the goal's text.
    fn verdict(&self, ours: usize) -> (f64, Met, String) {
        let (Some(ours), Some(best)) = (self.values[ours], self.best_peer()) else {
            return (f64::NAN, Met::No, "—".into());
        };
        let advantage = self.advantage(ours.median, best.median);
        // portsock's best run against the peer's worst.
        let overlap = if self.higher_is_better {
            ours.max >= best.min
        } else {
            ours.min <= best.max
        };
        let against_peer = match (advantage >= 1.0, overlap) {
            (true, _) => Met::Yes,
            (false, true) => Met::Tie,
            (false, false) => Met::No,
        };
        match self.goal {
            Goal::BestPeer => (advantage, against_peer, "≥ better peer".into()),
            Goal::HalfOfTokio => {
                let tokio =
                    self.values[TOKIO].map_or(f64::NAN, |t| self.advantage(ours.median, t.median));
                let met = if tokio >= 2.0 { Met::Yes } else { Met::No };
                (advantage, met, format!("p99 ≤ ½ tokio's: {tokio:.2}×"))
            }
            Goal::Under(limit) => {
                let met = if ours.median < limit {
                    against_peer
                } else {
                    Met::No
                };
                (advantage, met, format!("< {limit} s, ≥ better peer"))
            }
        }
    }
}

fn render(
    rows: &[Row],
    udp: &[String; 2],
    quiet: bool,
    reps: usize,
    peak: u64,
    took: Duration,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| mode | portsock | CLI | std threads | tokio | portsock-tokio | vs better peer \
         | CLI vs better peer | portsock-tokio / tokio | goal | met | CLI met \
         | portsock-tokio met (≥ {TOKIO_GOAL}×) |"
    );
    let _ = writeln!(
        out,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|:-:|:-:|:-:|"
    );
    for row in rows {
        let cell = |v: Option<Stat>| match v {
            None => "—".to_string(),
            Some(s) if s.at_least => format!("> {}", format_figure(s.median)),
            Some(s) => format_figure(s.median),
        };
        let (advantage, met, goal) = row.verdict(0);
        let (cli_advantage, cli_met, cli_goal) = row.verdict(1);
        // The goal against tokio's p99 carries each server's own ratio.
        let goal = match (row.goal, row.values[1], cli_goal.rsplit_once(": ")) {
            (Goal::HalfOfTokio, Some(_), Some((_, ratio))) => format!("{goal}, CLI {ratio}"),
            _ => goal,
        };
        let word = |met: Met| match met {
            Met::Yes => "yes",
            Met::Tie => "tie",
            Met::No => "**no**",
        };
        let ratio = |r: f64| {
            if r.is_nan() {
                "—".to_string()
            } else {
                format!("{r:.2}×")
            }
        };
        let cli_met = if row.values[1].is_some() {
            word(cli_met)
        } else {
            "—"
        };
        let (tokio_ratio, tokio_met) = row.vs_tokio();
        let tokio_met = if row.values[PORTSOCK_TOKIO].is_some() {
            word(tokio_met)
        } else {
            "—"
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {goal} | {} | {cli_met} | {tokio_met} |",
            row.mode,
            cell(row.values[0]),
            cell(row.values[1]),
            cell(row.values[2]),
            cell(row.values[TOKIO]),
            cell(row.values[PORTSOCK_TOKIO]),
            ratio(advantage),
            ratio(cli_advantage),
            ratio(tokio_ratio),
            word(met),
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Figures are medians of {reps} run(s) per server, the servers taking turns (the accept \
         burst: one run each). portsock: portsock-server's EchoServer in the benchmark's child \
         process; CLI: {}; portsock-tokio: portsock-server's TokioServer (the same \
         EchoSession, a task per connection on tokio's multi-threaded runtime) in its own \
         child process, against the tokio peer (\"portsock-tokio / tokio\", the same way \
         round: above 1.00×, better; goal {TOKIO_GOAL}×). \
         \"vs better peer\": how many times better portsock's (or the CLI's) median is than the \
         better peer's (above 1.00×: better; for latencies and times, the peer's figure over \
         portsock's). \"tie\": below the better peer's median, but portsock's best \
         run beats that peer's worst, so the gap is within run-to-run noise. UDP: \"{}\" is \
         the core's DatagramEchoServer over portsock-std's UdpSocket, \"{}\" (std column) a \
         plain std recv_from/send_to loop, tokio a plain tokio one, portsock-tokio the same \
         DatagramEchoServer run by the core's async driver over portsock-std's tokio UdpSocket. portsock's sessions held at most {peak} bytes at \
         once over the whole run. Run time {:.0} s.",
        if quiet {
            "`portsock echo server --concurrent --quiet --chunk 65536` in processes of its own"
        } else {
            "`portsock echo server --concurrent --chunk 65536` in processes of its own (this \
             build has no `--quiet`: its transcript goes to /dev/null)"
        },
        udp[0],
        udp[1],
        took.as_secs_f64()
    );
    out
}

/// Three significant digits or so: 12_345 → "12345", 12.3456 → "12.3", 0.1234 → "0.123".
fn format_figure(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}
