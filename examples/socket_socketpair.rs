//! `socket_socketpair`: a parent and a child process talking over a pair of connected Unix
//! sockets. `socketpair()` makes the pair, `fork()` makes the child; each process keeps one
//! end. The parent sends `ping`, the child answers `pong`.
//!
//! The two processes print in whatever order the system runs them; within each, the lines
//! come in order, and the child's `message from parent` always precedes the parent's
//! `response from child`.
//!
//! ```text
//! cargo run --example socket_socketpair
//! ```

mod common;

use std::io;

use clap::Parser;
use portsock::core::wire::repr::PyBytes;
use portsock::std::prelude::*;
use portsock::std::process::fork_child;
use portsock::std::unix::{UnixStream, socketpair};

/// The most either side reads at once (`recv(1024)`).
const BUFFER: usize = 1024;

/// A parent and a child process talking over socketpair() across fork(): the parent sends
/// b'ping', the child answers b'pong'.
#[derive(Debug, Parser)]
#[command(name = "socket_socketpair", version)]
struct Args {}

fn main() -> common::Result {
    Args::parse();
    let (mut parent, mut child) = socketpair()?;

    // The child gets `child` (moved into the closure, so closed here in the parent).
    let child_process = fork_child(move || match in_child(&mut child) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("child: {e}");
            1
        }
    })?;

    println!("in parent, sending message");
    parent.write_all(b"ping")?;
    let mut response = [0u8; BUFFER];
    let n = parent.read(&mut response)?;
    println!("response from child: {}", PyBytes(&response[..n]));
    drop(parent);

    let status = child_process.wait()?;
    if !status.success() {
        return Err(io::Error::other(format!("the child failed: {status}")).into());
    }
    Ok(())
}

/// What the child process does with its end.
fn in_child(child: &mut UnixStream) -> io::Result<()> {
    println!("in child, waiting for message");
    let mut message = [0u8; BUFFER];
    let n = child.read(&mut message)?;
    println!("message from parent: {}", PyBytes(&message[..n]));
    child.write_all(b"pong")
}
