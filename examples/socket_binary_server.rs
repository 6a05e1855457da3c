//! `socket_binary_server`: receive the binary record `socket_binary_client` sends and unpack
//! it with the same `struct` format, `'I 2s f'`. The float comes back as
//! `2.700000047683716`: 2.7 does not fit exactly in the format's 32 bits.
//!
//! The core's [`RecordReceiver`] reads exactly one record's 12 bytes, however the stream
//! splits them, and unpacks them with the struct codec; [`run_stream`] runs it over each
//! connection, and the values print as Python's `repr` of the tuple would.
//!
//! ```text
//! cargo run --example socket_binary_server [HOST] [PORT] [--count N | --once]
//! cargo run --example socket_binary_client     # in a second terminal
//! ```

mod common;

use clap::Parser;
use portsock::core::drive::run_stream;
use portsock::core::record::{CHAPTER_FORMAT, Hexlify, ReceiverEvent, RecordReceiver};
use portsock::core::wire::repr::{PyBytes, PyTuple};
use portsock::core::wire::structfmt::Format;
use portsock::std::prelude::*;
use portsock::std::tcp::TcpListener;

/// Room for one record.
const RECORD_SIZE: usize = 64;

/// The chapter's binary server: listen on HOST port PORT, receive one 'I 2s f' record per
/// connection and print it unpacked.
#[derive(Debug, Parser)]
#[command(name = "socket_binary_server", version)]
struct Args {
    #[command(flatten)]
    server: common::Server,
    #[command(flatten)]
    count: common::Count,
}

fn main() -> common::Result {
    let args = Args::parse();
    let mut sock = TcpListener::bind_host(&args.server.host, args.server.port)?;
    let unpacker = Format::parse(CHAPTER_FORMAT)?;

    for _ in 0..args.count.get() {
        println!("\nwaiting for a connection");
        let (mut connection, _client_address) = sock.accept()?;
        let mut receiver = RecordReceiver::new(unpacker, [0u8; RECORD_SIZE])?;
        run_stream(&mut connection, &mut receiver, &mut |receiver| {
            while let Some(ReceiverEvent::Received { bytes, values }) = receiver.poll_event() {
                let hex = Hexlify(bytes).to_string();
                println!("received {}", PyBytes(hex.as_bytes()));
                let unpacked_data: Vec<_> = values.collect();
                println!("unpacked: {}", PyTuple(&unpacked_data));
            }
        })?;
    }
    Ok(())
}
