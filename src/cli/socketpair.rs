//! `portsock socketpair`: the chapter's parent/child ping-pong over `socketpair()` and
//! `fork()`.
//!
//! `fork` is safe here because the command runs before any thread exists (portsock-std's
//! [`fork_child`] checks). The parent's first line is printed before forking, so the transcript
//! always comes out in the chapter's order; every other line is printed by the process it
//! names. The child exits 0 only if it received exactly `b'ping'` and sent `b'pong'`, and the
//! command exits 0 only if both sides did.

use clap::Args;
use portsock_core::wire::repr::PyBytes;
use portsock_std::prelude::*;
use portsock_std::process::fork_child;
use portsock_std::unix::{UnixStream, socketpair};
use serde_json::json;

use super::net::Out;
use super::{CliError, Output, jsonl};

const PING: &[u8] = b"ping";
const PONG: &[u8] = b"pong";

#[derive(Debug, Args)]
pub(crate) struct SocketpairCmd {
    /// JSON lines on stdout instead of the chapter's text: `sending`, `received` (each with
    /// `side`: parent or child, `len`, `data_hex`), then a `summary`.
    #[arg(long)]
    json: bool,
}

impl SocketpairCmd {
    pub(crate) fn run(self) -> Output {
        jsonl::enable(self.json);
        run()
    }
}

pub(crate) fn run() -> Output {
    let (mut parent, child) = socketpair().map_err(|e| CliError::new("socketpair", e))?;
    let mut out = Out::stdout();
    out.line("in parent, sending message");
    out.event(side_event("sending", "parent", PING));
    // The child's end moves into the child and is closed here when fork_child returns, as the
    // chapter's `child.close()` in the parent.
    let child = fork_child(move || in_child(child)).map_err(|e| CliError::new("fork", e))?;
    parent
        .write_all(PING)
        .map_err(|e| CliError::new("send to child", e))?;
    let mut buf = [0u8; 1024];
    let n = parent
        .read(&mut buf)
        .map_err(|e| CliError::new("receive from child", e))?;
    out.line(format_args!("response from child: {}", PyBytes(&buf[..n])));
    out.event(side_event("received", "parent", &buf[..n]));
    drop(parent);
    let status = child.wait().map_err(|e| CliError::new("waitpid", e))?;
    if !status.success() {
        return Err(CliError::new(
            "child",
            format_args!("exited with {status} (expected b'ping' from the parent)"),
        ));
    }
    if &buf[..n] != PONG {
        return Err(CliError::new(
            "response from child",
            format_args!("expected b'pong', got {}", PyBytes(&buf[..n])),
        ));
    }
    out.event(json!({ "event": "summary", "verified": true, "child_status": 0 }));
    Ok(String::new())
}

/// `{"event": EVENT, "side": SIDE, "len": N, "data_hex": ...}`.
fn side_event(event: &str, side: &str, data: &[u8]) -> serde_json::Value {
    jsonl::data(event, data, json!({ "side": side }))
}

/// The child's side: wait for the parent's message, answer it. The exit status says how it
/// went: 0 done, 2 no or wrong message, 3 the answer could not be sent.
fn in_child(mut child: UnixStream) -> i32 {
    let mut out = Out::stdout();
    out.line("in child, waiting for message");
    let mut buf = [0u8; 1024];
    let Ok(n) = child.read(&mut buf) else {
        return 2;
    };
    out.line(format_args!("message from parent: {}", PyBytes(&buf[..n])));
    out.event(side_event("received", "child", &buf[..n]));
    if &buf[..n] != PING {
        return 2;
    }
    if child.write_all(PONG).is_err() {
        return 3;
    }
    out.event(side_event("sending", "child", PONG));
    0
}
