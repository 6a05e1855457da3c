//! The servers under test, each started in this process on the loopback and a Unix socket:
//! portsock's event loop, portsock's tokio server (the same sessions, a task per connection,
//! `portsock_server::tokio::TokioServer`), and the two peers built only for this benchmark, a plain std
//! thread-per-connection echo and a tokio echo, both with a 64 KiB buffer per connection.
//! Plus the UDP echoes: the core's `DatagramEchoServer` over portsock-std's `UdpSocket` (and
//! over its tokio `UdpSocket`, by the core's async driver), a plain std `recv_from` /
//! `send_to` loop and a plain tokio one.
//!
//! Every TCP server sets `TCP_NODELAY` on what it accepts, so none waits on Nagle's
//! algorithm; each keeps the listen backlog its library gives (portsock's server 4096, std and
//! tokio 128).
//!
//! Each server runs in a child process of its own ([`ServerProcess`]: this benchmark's binary
//! again, with `--serve KIND DIR`), so that it and the client each have a whole descriptor
//! limit for 10,000 connections, and share no allocator or runtime. The child prints its
//! addresses, then answers `active` (connections open) and `peak` (portsock's peak buffered
//! bytes) on its standard input, one line each, and stops at end of input.
//!
//! The `portsock` binary's own concurrent server (`echo/cli.rs`) is a contestant too: two
//! processes of it, one on TCP and one on the Unix socket, stopped by SIGTERM.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use portsock::core::asynch::drive::run_datagram as asynch_run_datagram;
use portsock::core::drive::run_datagram;
use portsock::core::echo::datagram::DatagramEchoServer;
use portsock::server::tokio::{TokioServer, TokioShutdownHandle};
use portsock::server::{EchoServer, ServerConfig, ShutdownHandle, StatsHandle, raise_fd_limit};
use portsock::std::time::SystemClock;
use portsock::std::tokio::{TokioTimer, UdpSocket as TokioUdp};
use portsock::std::udp::UdpSocket as PortsockUdp;
use portsock::std::unix::UnixBindOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cli::{self, Cli, Listen, Stdout};

/// Each peer's buffer per connection, and each UDP echo's.
const BUF: usize = 64 * 1024;

/// A stream echo server running in this process.
pub(crate) struct Server {
    pub(crate) name: &'static str,
    pub(crate) tcp: SocketAddr,
    pub(crate) unix: PathBuf,
    kind: Kind,
}

enum Kind {
    Portsock {
        stats: StatsHandle,
        stop: ShutdownHandle,
        thread: thread::JoinHandle<io::Result<portsock::server::Stopped>>,
    },
    PortsockTokio {
        stats: StatsHandle,
        stop: TokioShutdownHandle,
        thread: thread::JoinHandle<io::Result<portsock::server::Stopped>>,
    },
    Threads {
        active: Arc<AtomicUsize>,
    },
    Tokio {
        active: Arc<AtomicUsize>,
        runtime: tokio::runtime::Runtime,
    },
}

impl Server {
    /// portsock-std's event-driven server, with its defaults (64 KiB sessions, backlog 4096).
    pub(crate) fn portsock(dir: &Path) -> io::Result<Self> {
        let mut server = EchoServer::new(ServerConfig::new())?;
        let tcp = server.bind_tcp(loopback())?;
        let unix = dir.join("portsock.sock");
        server.bind_unix(&unix)?;
        let stats = server.stats();
        let stop = server.shutdown_handle();
        let thread = thread::spawn(move || server.run());
        Ok(Self {
            name: "portsock",
            tcp,
            unix,
            kind: Kind::Portsock {
                stats,
                stop,
                thread,
            },
        })
    }

    /// portsock-server's tokio server with its defaults (64 KiB sessions, backlog 4096): a
    /// task per connection on tokio's multi-threaded runtime, as the tokio peer.
    pub(crate) fn portsock_tokio(dir: &Path) -> io::Result<Self> {
        let mut server = TokioServer::new(ServerConfig::new());
        let tcp = server.bind_tcp(loopback())?;
        let unix = dir.join("portsock-tokio.sock");
        server.bind_unix_with(&unix, UnixBindOptions::new())?;
        let stats = server.stats();
        let stop = server.shutdown_handle();
        let thread = thread::spawn(move || server.run());
        Ok(Self {
            name: "portsock-tokio",
            tcp,
            unix,
            kind: Kind::PortsockTokio {
                stats,
                stop,
                thread,
            },
        })
    }

    /// A thread per connection, blocking `read` into 64 KiB and `write_all` back.
    pub(crate) fn threads(dir: &Path) -> io::Result<Self> {
        let active = Arc::new(AtomicUsize::new(0));
        let listener = TcpListener::bind(loopback())?;
        let tcp = listener.local_addr()?;
        let count = Arc::clone(&active);
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let _ = conn.set_nodelay(true);
                serve_on_thread(conn, &count);
            }
        });
        let unix = dir.join("threads.sock");
        let listener = UnixListener::bind(&unix)?;
        let count = Arc::clone(&active);
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                serve_on_thread(conn, &count);
            }
        });
        Ok(Self {
            name: "std threads",
            tcp,
            unix,
            kind: Kind::Threads { active },
        })
    }

    /// tokio's multi-threaded runtime (a worker per core), a task per connection.
    pub(crate) fn tokio(dir: &Path) -> io::Result<Self> {
        let active = Arc::new(AtomicUsize::new(0));
        let runtime = tokio::runtime::Runtime::new()?;
        let unix = dir.join("tokio.sock");
        let (tcp_listener, unix_listener) = runtime.block_on(async {
            let tcp = tokio::net::TcpListener::bind(loopback()).await?;
            let unix = tokio::net::UnixListener::bind(&unix)?;
            io::Result::Ok((tcp, unix))
        })?;
        let tcp = tcp_listener.local_addr()?;
        let count = Arc::clone(&active);
        runtime.spawn(async move {
            while let Ok((conn, _)) = tcp_listener.accept().await {
                let _ = conn.set_nodelay(true);
                tokio::spawn(serve_task(conn, Open::new(&count)));
            }
        });
        let count = Arc::clone(&active);
        runtime.spawn(async move {
            while let Ok((conn, _)) = unix_listener.accept().await {
                tokio::spawn(serve_task(conn, Open::new(&count)));
            }
        });
        Ok(Self {
            name: "tokio",
            tcp,
            unix,
            kind: Kind::Tokio { active, runtime },
        })
    }

    /// Connections the server holds open now.
    pub(crate) fn active(&self) -> usize {
        match &self.kind {
            Kind::Portsock { stats, .. } | Kind::PortsockTokio { stats, .. } => {
                stats.snapshot().active as usize
            }
            Kind::Threads { active } | Kind::Tokio { active, .. } => active.load(Ordering::Acquire),
        }
    }

    /// What the server knows of its own peak memory, if anything.
    pub(crate) fn peak_buffered(&self) -> Option<u64> {
        match &self.kind {
            Kind::Portsock { stats, .. } => Some(stats.snapshot().peak_buffered),
            _ => None,
        }
    }

    /// Stops it: portsock's through its handle, tokio's by dropping the runtime. The std
    /// threads have no stop; they sit in `accept` until the process exits.
    pub(crate) fn stop(self) -> io::Result<()> {
        match self.kind {
            Kind::Portsock { stop, thread, .. } => {
                stop.shutdown()?;
                thread
                    .join()
                    .map_err(|_| io::Error::other("server thread panicked"))??;
            }
            Kind::PortsockTokio { stop, thread, .. } => {
                stop.shutdown();
                thread
                    .join()
                    .map_err(|_| io::Error::other("server thread panicked"))??;
            }
            Kind::Tokio { runtime, .. } => runtime.shutdown_background(),
            Kind::Threads { .. } => {}
        }
        Ok(())
    }
}

/// A UDP echo server running in this process.
pub(crate) struct UdpServer {
    pub(crate) name: &'static str,
    pub(crate) addr: SocketAddr,
}

impl UdpServer {
    /// The core's `DatagramEchoServer`, run by the core's driver over portsock-std's socket.
    pub(crate) fn portsock() -> io::Result<Self> {
        let mut socket = PortsockUdp::bind(loopback())?;
        let addr = portsock::core::transport::Datagram::local_addr(&socket)?;
        thread::spawn(move || {
            let mut server = DatagramEchoServer::new(vec![0u8; BUF]);
            run_datagram(&mut socket, &mut server, &SystemClock, &mut |_| {})
        });
        Ok(Self {
            name: "portsock",
            addr,
        })
    }

    /// The core's `DatagramEchoServer`, run by the core's async driver over portsock-std's
    /// tokio `UdpSocket`, on tokio's multi-threaded runtime (as the tokio peer).
    pub(crate) fn portsock_tokio() -> io::Result<Self> {
        let runtime = tokio::runtime::Runtime::new()?;
        let mut socket = runtime.block_on(TokioUdp::bind(loopback()))?;
        let addr = portsock::core::asynch::transport::Datagram::local_addr(&socket)?;
        thread::spawn(move || {
            runtime.block_on(async move {
                let mut server = DatagramEchoServer::new(vec![0u8; BUF]);
                let observe = &mut |_: &mut DatagramEchoServer<Vec<u8>>| {};
                asynch_run_datagram(&mut socket, &mut server, &TokioTimer, observe).await
            })
        });
        Ok(Self {
            name: "portsock-tokio",
            addr,
        })
    }

    /// tokio's `recv_from` into 64 KiB, `send_to` back, forever, on its multi-threaded
    /// runtime.
    pub(crate) fn tokio() -> io::Result<Self> {
        let runtime = tokio::runtime::Runtime::new()?;
        let socket = runtime.block_on(tokio::net::UdpSocket::bind(loopback()))?;
        let addr = socket.local_addr()?;
        thread::spawn(move || {
            runtime.block_on(async move {
                let mut buf = vec![0u8; BUF];
                loop {
                    let (n, from) = socket.recv_from(&mut buf).await?;
                    socket.send_to(&buf[..n], from).await?;
                }
                #[allow(unreachable_code)]
                io::Result::Ok(())
            })
        });
        Ok(Self {
            name: "tokio",
            addr,
        })
    }

    /// `recv_from` into 64 KiB, `send_to` back, forever.
    pub(crate) fn std() -> io::Result<Self> {
        let socket = UdpSocket::bind(loopback())?;
        let addr = socket.local_addr()?;
        thread::spawn(move || -> io::Result<()> {
            let mut buf = vec![0u8; BUF];
            loop {
                let (n, from) = socket.recv_from(&mut buf)?;
                socket.send_to(&buf[..n], from)?;
            }
        });
        Ok(Self { name: "std", addr })
    }
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Counts a connection as open until the value is dropped.
struct Open(Arc<AtomicUsize>);

impl Open {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(count))
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn serve_on_thread<S: Read + Write + Send + 'static>(mut conn: S, count: &Arc<AtomicUsize>) {
    let open = Open::new(count);
    thread::spawn(move || {
        let _open = open;
        let mut buf = vec![0u8; BUF];
        loop {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if conn.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

/// Counted open from `accept` on, as the other servers count.
async fn serve_task<S>(mut conn: S, _open: Open)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; BUF];
    loop {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if conn.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// A server running in a child process (two for the CLI server: one on TCP, one on the Unix
/// socket).
pub(crate) struct ServerProcess {
    pub(crate) name: String,
    /// Its TCP address, or its UDP address for a UDP server.
    pub(crate) addr: SocketAddr,
    pub(crate) unix: PathBuf,
    /// Connections the server holds that no client has any more (see `settle`).
    orphans: usize,
    process: Process,
}

enum Process {
    /// This benchmark's binary with `--serve KIND DIR`, answering questions on its stdin.
    Bench {
        child: Child,
        stdin: ChildStdin,
        stdout: BufReader<ChildStdout>,
    },
    /// `portsock echo server --concurrent`, asked nothing: its open connections are its open
    /// descriptors beyond those it had when idle.
    Cli {
        tcp: Cli,
        unix: Cli,
        idle_fds: usize,
    },
}

impl ServerProcess {
    /// Starts `kind` (`portsock`, `portsock-tokio`, `threads`, `tokio`, `udp-portsock`,
    /// `udp-std`, `udp-tokio`, `udp-portsock-tokio`) in a child, with its Unix socket in `dir`; or `cli`, the `portsock` binary's
    /// concurrent server with `--quiet` (where the binary has it) and 64 KiB reads, as the
    /// peers read.
    pub(crate) fn start(kind: &str, dir: &Path) -> io::Result<Self> {
        if kind == "cli" {
            return Self::cli(dir);
        }
        let mut child = Command::new(std::env::current_exe()?)
            .args(["--serve", kind])
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| io::Error::other("no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        let mut me = Self {
            name: String::new(),
            addr: loopback(),
            unix: PathBuf::new(),
            orphans: 0,
            process: Process::Bench {
                child,
                stdin,
                stdout: BufReader::new(stdout),
            },
        };
        me.name = me.line()?;
        me.addr = me
            .line()?
            .parse()
            .map_err(|e| io::Error::other(format!("server address: {e}")))?;
        me.unix = PathBuf::from(me.line()?);
        Ok(me)
    }

    fn cli(dir: &Path) -> io::Result<Self> {
        let mut args = vec!["--chunk", "65536"];
        let name = if cli::has_quiet() {
            args.push("--quiet");
            "CLI --quiet"
        } else {
            eprintln!("note: this portsock has no --quiet: the CLI server prints its transcript");
            "CLI"
        };
        let unix = dir.join("cli.sock");
        let tcp = Cli::start(&Listen::Tcp, &args, Stdout::Null, dir)?;
        let addr = tcp.addr.ok_or_else(|| io::Error::other("no TCP address"))?;
        let on_unix = Cli::start(&Listen::Unix(unix.clone()), &args, Stdout::Null, dir)?;
        let idle_fds = tcp.open_fds()? + on_unix.open_fds()?;
        Ok(Self {
            name: name.into(),
            addr,
            unix,
            orphans: 0,
            process: Process::Cli {
                tcp,
                unix: on_unix,
                idle_fds,
            },
        })
    }

    /// Its processes' ids.
    pub(crate) fn pids(&self) -> Vec<u32> {
        match &self.process {
            Process::Bench { child, .. } => vec![child.id()],
            Process::Cli { tcp, unix, .. } => vec![tcp.pid(), unix.pid()],
        }
    }

    /// Connections the server holds open now (0 for a UDP server), orphans not counted.
    pub(crate) fn active(&mut self) -> io::Result<usize> {
        let n: usize = if let Process::Cli {
            tcp,
            unix,
            idle_fds,
        } = &self.process
        {
            (tcp.open_fds()? + unix.open_fds()?).saturating_sub(*idle_fds)
        } else {
            match self.ask("active")?.as_str() {
                "-" => 0,
                n => n
                    .parse()
                    .map_err(|e| io::Error::other(format!("active: {e}")))?,
            }
        };
        Ok(n.saturating_sub(self.orphans))
    }

    /// Stops counting `n` connections the server holds but no client has.
    pub(crate) fn forget(&mut self, n: usize) {
        self.orphans += n;
    }

    /// portsock's peak buffered bytes (`None` for the peers and the CLI server).
    pub(crate) fn peak_buffered(&mut self) -> io::Result<Option<u64>> {
        if matches!(self.process, Process::Cli { .. }) {
            return Ok(None);
        }
        Ok(self.ask("peak")?.parse().ok())
    }

    /// Ends the child (end of its input; SIGTERM for the CLI server) and waits for it.
    pub(crate) fn stop(self) -> io::Result<()> {
        match self.process {
            Process::Bench {
                mut child, stdin, ..
            } => {
                drop(stdin);
                let status = child.wait()?;
                if status.success() {
                    Ok(())
                } else {
                    Err(io::Error::other(format!("server process: {status}")))
                }
            }
            Process::Cli {
                mut tcp, mut unix, ..
            } => {
                for cli in [&mut tcp, &mut unix] {
                    if cli.terminate(Duration::from_secs(3))?.is_none() {
                        return Err(io::Error::other(
                            "portsock echo server still ran 3 s after SIGTERM",
                        ));
                    }
                }
                Ok(())
            }
        }
    }

    fn ask(&mut self, question: &str) -> io::Result<String> {
        let Process::Bench { stdin, .. } = &mut self.process else {
            return Err(io::Error::other("the CLI server answers no questions"));
        };
        writeln!(stdin, "{question}")?;
        stdin.flush()?;
        self.line()
    }

    fn line(&mut self) -> io::Result<String> {
        let Process::Bench { stdout, .. } = &mut self.process else {
            return Err(io::Error::other("the CLI server answers no questions"));
        };
        let mut line = String::new();
        if stdout.read_line(&mut line)? == 0 {
            return Err(io::Error::other("server process exited"));
        }
        Ok(line.trim_end().to_string())
    }
}

/// The child's side of [`ServerProcess`]: runs `kind` until its input ends.
pub(crate) fn serve(kind: &str, dir: &Path) -> io::Result<()> {
    raise_fd_limit(65_536)?;
    let mut out = io::stdout().lock();
    let stream = match kind {
        "portsock" => Some(Server::portsock(dir)?),
        "portsock-tokio" => Some(Server::portsock_tokio(dir)?),
        "threads" => Some(Server::threads(dir)?),
        "tokio" => Some(Server::tokio(dir)?),
        _ => None,
    };
    match &stream {
        Some(s) => writeln!(out, "{}\n{}\n{}", s.name, s.tcp, s.unix.display())?,
        None => {
            let udp = match kind {
                "udp-portsock" => UdpServer::portsock()?,
                "udp-std" => UdpServer::std()?,
                "udp-tokio" => UdpServer::tokio()?,
                "udp-portsock-tokio" => UdpServer::portsock_tokio()?,
                _ => return Err(io::Error::other(format!("no server {kind:?}"))),
            };
            writeln!(out, "{}\n{}\n-", udp.name, udp.addr)?;
        }
    }
    out.flush()?;
    for line in io::stdin().lock().lines() {
        let answer = match (line?.as_str(), &stream) {
            ("active", Some(s)) => s.active().to_string(),
            ("peak", Some(s)) => s.peak_buffered().map_or("-".into(), |p| p.to_string()),
            (_, _) => "-".into(),
        };
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
    match stream {
        Some(s) => s.stop(),
        None => Ok(()),
    }
}
