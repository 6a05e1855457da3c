//! `socket_binary_client`: send binary data rather than text. It packs an integer, a
//! two-byte string and a float with the `struct` format `'I 2s f'` and sends the 12 bytes
//! to `localhost` port 10000.
//!
//! The core's struct codec ([`Format`]) packs the values exactly as Python's `struct` does,
//! and its [`RecordSender`] sends the record, run by [`run_stream`].
//!
//! ```text
//! cargo run --example socket_binary_server     # first, in another terminal
//! cargo run --example socket_binary_client [HOST] [PORT]
//! ```

mod common;

use clap::Parser;
use portsock::core::drive::run_stream;
use portsock::core::record::{CHAPTER_FORMAT, Hexlify, RecordSender, SenderEvent, chapter_values};
use portsock::core::wire::repr::{PyBytes, PyTuple};
use portsock::core::wire::structfmt::Format;
use portsock::std::tcp::TcpStream;

/// Room for the packed record.
const RECORD_SIZE: usize = 64;

/// The chapter's binary client: pack (1, b'ab', 2.7) with struct format 'I 2s f' and send
/// the 12 bytes to the server at HOST port PORT.
#[derive(Debug, Parser)]
#[command(name = "socket_binary_client", version)]
struct Args {
    #[command(flatten)]
    server: common::Server,
}

fn main() -> common::Result {
    let args = Args::parse();
    let addr = common::server_addr(&args.server.host, args.server.port)?;
    let mut sock = TcpStream::connect(addr, None)?;

    // The values `(1, b'ab', 2.7)`, packed as 'I 2s f'.
    let values = chapter_values();
    let packer = Format::parse(CHAPTER_FORMAT)?;
    let mut sender = RecordSender::new(&packer, &values, [0u8; RECORD_SIZE])?;
    println!("values = {}", PyTuple(&values));

    let result = run_stream(&mut sock, &mut sender, &mut |sender| {
        while let Some(SenderEvent::Sending(packed_data)) = sender.poll_event() {
            let hex = Hexlify(packed_data).to_string();
            println!("sending {}", PyBytes(hex.as_bytes()));
        }
    });

    println!("closing socket");
    drop(sock);
    Ok(result?)
}
