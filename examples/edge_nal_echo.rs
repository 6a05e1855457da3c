//! `edge_nal_echo`: `socket_echo_server` on an edge-nal stack. The same [`EchoSession`], run
//! by the async [`run_stream`] over edge-nal-std's sockets (async-io, under futures-lite's
//! `block_on`), wrapped by `portsock::core::asynch::edge`; it prints the same lines.
//!
//! ```text
//! cargo run --example edge_nal_echo [HOST] [PORT] [--count N | --once]
//! cargo run --example socket_echo_client          # in a second terminal
//! ```

mod common;

use clap::Parser;
use edge_nal::TcpBind;
use portsock::core::asynch::drive::run_stream;
use portsock::core::asynch::edge::EdgeListener;
use portsock::core::asynch::transport::Listener;
use portsock::core::echo::CHAPTER_CHUNK;
use portsock::core::echo::stream::{EchoSession, SessionEvent};
use portsock::core::wire::repr::{PyAddr, PyBytes};

/// socket_echo_server on an edge-nal stack (edge-nal-std): listen on HOST port
/// PORT and echo each client's bytes back, printing each 16-byte chunk.
#[derive(Debug, Parser)]
#[command(name = "edge_nal_echo", version)]
struct Args {
    #[command(flatten)]
    server: common::Server,
    #[command(flatten)]
    count: common::Count,
}

fn main() -> common::Result {
    let args = Args::parse();
    let (host, port) = (args.server.host, args.server.port);
    let address = common::server_addr(&host, port)?;

    futures_lite::future::block_on(async {
        println!("starting up on {host} port {port}");
        let listener = EdgeListener::new(edge_nal_std::Stack::new().bind(address).await?, address);
        for _ in 0..args.count.get() {
            println!("waiting for a connection");
            let (mut connection, client) = listener.accept().await?;
            println!("connection from {}", PyAddr(client));

            let mut session = EchoSession::new([0u8; CHAPTER_CHUNK]);
            run_stream(&mut connection, &mut session, &mut |session| {
                while let Some(event) = session.poll_event() {
                    match event {
                        SessionEvent::Received(data) => println!("received {}", PyBytes(data)),
                        SessionEvent::Sending(_) => println!("sending data back to the client"),
                        SessionEvent::PeerClosed => {
                            println!("received b''");
                            println!("no data from {}", PyAddr(client));
                        }
                        _ => {}
                    }
                }
            })
            .await?;
        }
        Ok(())
    })
}
