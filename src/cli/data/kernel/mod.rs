//! The data mode on the kernel's sockets (`--backend std`): portsock-std opens, binds and
//! connects; [`pump`](super::pump) moves the bytes, one thread per direction. UDP: [`udp`].

mod keep;
mod udp;

use std::io::{self, IsTerminal as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, UdpSocket};
use std::os::fd::AsFd as _;
use std::sync::{Arc, mpsc};
use std::thread;

use portsock_std::resolve;
use portsock_std::tcp::{TcpListener, TcpStream};
use portsock_std::unix::{UnixListener, UnixStream};
use serde_json::json;
use socket2::{Domain, SockAddr, Socket, Type};

use super::feed::StdinFeed;
use super::report::{Reporter, Transfer};
use super::{FamilyPref, Session, Target, pump};
use crate::cli::CliError;
use udp::{bind_udp, udp_listen, udp_session};

/// `portsock connect`.
pub(crate) fn connect(session: &Session) -> Result<(), CliError> {
    let mut reporter = Reporter::new(session.report);
    match &session.target {
        Target::Unix(path) => {
            let stream = UnixStream::connect(path)
                .map_err(|e| CliError::new(format_args!("-U {}", path.display()), e))?;
            let peer = path.display().to_string();
            connected(&reporter, &peer, "");
            let result = stream_session(&mut reporter, stream.into_socket(), &peer);
            reporter.done();
            result
        }
        Target::Net(hp) => {
            let addrs = resolve_all(&hp.host, hp.port, session.family)?;
            if session.udp {
                let peer = addrs[0];
                let socket = UdpSocket::bind(unspecified(peer.ip(), 0))
                    .and_then(|s| s.connect(peer).map(|()| s))
                    .map_err(|e| CliError::new(peer, e))?;
                let local = socket
                    .local_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                connected(&reporter, &peer.to_string(), &local);
                let result = udp_session(
                    &mut reporter,
                    &socket,
                    None,
                    session.wait,
                    &peer.to_string(),
                );
                reporter.done();
                return result;
            }
            let stream = TcpStream::connect_first(addrs, Some(session.timeout))
                .map_err(|e| CliError::new(format_args!("{}:{}", hp.host, hp.port), e))?;
            let socket = stream.into_socket();
            let peer = show(socket.peer_addr().ok());
            let local = show(socket.local_addr().ok());
            connected(&reporter, &peer, &local);
            let result = stream_session(&mut reporter, socket, &peer);
            reporter.done();
            result
        }
    }
}

/// `portsock listen`.
pub(crate) fn listen(session: &Session) -> Result<(), CliError> {
    let mut reporter = Reporter::new(session.report);
    match &session.target {
        Target::Unix(path) => {
            let option = format!("-U {}", path.display());
            let listener =
                Arc::new(UnixListener::bind(path).map_err(|e| CliError::new(&option, e))?);
            remove_node_on_signal(&listener).map_err(|e| CliError::new("signals", e))?;
            reporter.listening(&path.display().to_string());
            let result = serve(&mut reporter, session, listener.socket());
            // Only our own node is removed (another server's in its place is left alone).
            let _ = listener.remove_node();
            result
        }
        Target::Net(hp) => {
            let addr = listen_addr(&hp.host, hp.port, session.family)?;
            let option = format!("{}:{}", hp.host, hp.port);
            if session.udp {
                let socket = bind_udp(addr).map_err(|e| CliError::new(&option, e))?;
                let local = socket.local_addr().map_err(|e| CliError::new(&option, e))?;
                reporter.listening(&local.to_string());
                return udp_listen(&mut reporter, &socket, session.wait);
            }
            let listener = TcpListener::bind(addr).map_err(|e| CliError::new(&option, e))?;
            let local = show(listener.socket().local_addr().ok());
            reporter.listening(&local);
            serve(&mut reporter, session, listener.socket())
        }
    }
}

/// Removes the listener's socket node when SIGINT or SIGTERM ends the command (`listen -U
/// PATH -k` runs until interrupted), then exits with 128 + the signal's number, as the
/// signal itself would have.
fn remove_node_on_signal(listener: &Arc<UnixListener>) -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let listener = Arc::clone(listener);
    thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let _ = listener.remove_node();
            std::process::exit(128 + signal);
        }
    });
    Ok(())
}

/// Accepts one client, or client after client with `-k` (stdin shared by them, see
/// [`keep`]; one that fails is reported on stderr, not fatal).
fn serve(reporter: &mut Reporter, session: &Session, listener: &Socket) -> Result<(), CliError> {
    let mut feed = session.keep.then(StdinFeed::start);
    loop {
        let (socket, from) = listener.accept().map_err(|e| CliError::new("accept", e))?;
        let peer = match from.as_socket() {
            Some(a) => canonical(a).to_string(),
            None => from
                .as_pathname()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        };
        reporter.client(&peer);
        let result = if session.keep {
            keep::keep_session(reporter, socket, &peer, &mut feed)
        } else {
            stream_session(reporter, socket, &peer)
        };
        if let Some(end) = reporter.client_done(result, session.keep) {
            return end;
        }
    }
}

/// What a copying thread reports when its direction is done.
enum Finished {
    Stdin(io::Result<u64>),
    Peer(io::Result<u64>),
}

/// Both directions of one stream connection, until both have ended (or the peer's end, when
/// stdin is a terminal).
fn stream_session(reporter: &mut Reporter, socket: Socket, peer: &str) -> Result<(), CliError> {
    let transfer = reporter.session();
    let result = pump_stream(reporter, &transfer, socket, peer);
    reporter.finish(transfer);
    result
}

fn pump_stream(
    reporter: &Reporter,
    transfer: &Transfer,
    socket: Socket,
    peer: &str,
) -> Result<(), CliError> {
    let (tx, rx) = mpsc::channel();
    let mut stdin_done = false;
    let writer = socket.try_clone().map_err(|e| CliError::new(peer, e))?;
    {
        let (tx, counters) = (tx.clone(), Arc::clone(&transfer.counters));
        thread::spawn(move || {
            let result = pump::copy(io::stdin().as_fd(), writer.as_fd(), &counters.sent);
            // Told before the end of stream goes out, so that "stdin ended" is reported before
            // whatever the peer does once it reads it (its own end, say), even when this
            // thread is descheduled in between.
            let _ = tx.send(Finished::Stdin(result));
            // End of stream for the peer; its bytes keep coming the other way.
            let _ = writer.shutdown(Shutdown::Write);
        });
    }
    let counters = Arc::clone(&transfer.counters);
    thread::spawn(move || {
        let result = pump::copy(socket.as_fd(), io::stdout().as_fd(), &counters.received);
        let _ = tx.send(Finished::Peer(result));
    });
    let stdin_tty = io::stdin().is_terminal();
    let mut peer_done = false;
    while !(stdin_done && peer_done) {
        let Ok(finished) = rx.recv() else { break };
        match finished {
            Finished::Stdin(result) => {
                result.map_err(|e| CliError::new(format_args!("stdin -> {peer}"), e))?;
                stdin_done = true;
                reporter.stdin_ended();
            }
            Finished::Peer(result) => {
                result.map_err(|e| CliError::new(format_args!("{peer} -> stdout"), e))?;
                peer_done = true;
                reporter.peer_ended(peer);
                if stdin_tty {
                    // Nobody pipes into a terminal: the peer's end is the session's.
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Every address of `host` that `family` allows, in the resolver's order.
fn resolve_all(host: &str, port: u16, family: FamilyPref) -> Result<Vec<SocketAddr>, CliError> {
    let what = format_args!("{host}:{port}").to_string();
    let addrs = resolve::resolve(host, port).map_err(|e| CliError::new(&what, e))?;
    let allowed: Vec<_> = addrs
        .into_iter()
        .filter(|a| family.allows(a.ip()))
        .collect();
    if allowed.is_empty() {
        let fam = if family == FamilyPref::V4 {
            "IPv4 (-4)"
        } else {
            "IPv6 (-6)"
        };
        return Err(CliError::new(what, format_args!("has no {fam} address")));
    }
    Ok(allowed)
}

/// Where `listen` binds: every address for an empty host (`::`, which takes IPv4 too, unless
/// `-4`), else the host's first address `family` allows.
fn listen_addr(host: &str, port: u16, family: FamilyPref) -> Result<SocketAddr, CliError> {
    if host.is_empty() {
        let ip = match family {
            FamilyPref::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            FamilyPref::V6 | FamilyPref::Any if ipv6_available() => {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            }
            FamilyPref::V6 => {
                return Err(CliError::new("-6", "this machine has no IPv6"));
            }
            FamilyPref::Any => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        return Ok(SocketAddr::new(ip, port));
    }
    Ok(resolve_all(host, port, family)?[0])
}

fn ipv6_available() -> bool {
    Socket::new(Domain::IPV6, Type::STREAM, None).is_ok()
}

/// The unspecified address of `ip`'s family.
fn unspecified(ip: IpAddr, port: u16) -> SocketAddr {
    match ip {
        IpAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
        IpAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
    }
}

/// An IPv4 peer of a `::` socket as the IPv4 address it is.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

fn show(addr: Option<SockAddr>) -> String {
    addr.and_then(|a| a.as_socket())
        .map(|a| canonical(a).to_string())
        .unwrap_or_default()
}

fn connected(reporter: &Reporter, peer: &str, local: &str) {
    reporter.event(
        "connected",
        || format!("connected to {peer}"),
        json!({ "peer": peer, "local": local }),
    );
}
