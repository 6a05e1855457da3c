//! `tokio_echo_server`: `socket_echo_server` on tokio, a task per connection (one `EchoSession`).
mod common;

use clap::Parser;
use portsock::core::asynch::{drive::run_stream, transport::Listener as _};
use portsock::core::echo::{CHAPTER_CHUNK, stream::EchoSession, stream::SessionEvent};
use portsock::core::wire::repr::{PyAddr, PyBytes};
use portsock::std::tokio::TcpListener;

/// socket_echo_server on tokio: listen on HOST port PORT, a task per connection echoing 16
/// bytes at a time.
#[derive(Debug, Parser)]
#[command(name = "tokio_echo_server", version)]
struct Args {
    #[command(flatten)]
    server: common::Server,
    #[command(flatten)]
    count: common::Count,
}

#[tokio::main]
async fn main() -> common::Result {
    let args = Args::parse();
    let (host, port) = (args.server.host, args.server.port);
    println!("starting up on {host} port {port}");
    let sock = TcpListener::bind(common::server_addr(&host, port)?).await?;
    let mut sessions = tokio::task::JoinSet::new();
    for _ in 0..args.count.get() {
        println!("waiting for a connection");
        let (mut connection, client) = sock.accept().await?;
        let client = PyAddr(client);
        println!("connection from {client}");
        sessions.spawn(async move {
            let mut session = EchoSession::new([0u8; CHAPTER_CHUNK]);
            run_stream(&mut connection, &mut session, &mut |session| {
                while let Some(event) = session.poll_event() {
                    match event {
                        SessionEvent::Received(data) => println!("received {}", PyBytes(data)),
                        SessionEvent::Sending(_) => println!("sending data back to the client"),
                        SessionEvent::PeerClosed => println!("received b''\nno data from {client}"),
                        _ => {}
                    }
                }
            })
            .await
            .unwrap_or_else(|e| println!("error from {client}: {e}"));
        });
        while sessions.try_join_next().is_some() {} // forget the finished ones
    }
    sessions.join_all().await;
    Ok(())
}
