//! The test harness's UDP port: one-word commands, one-line answers (ASCII).
//!
//! | command | answer | what for |
//! | --- | --- | --- |
//! | `uptime` | milliseconds since boot | checking the SysTick clock against the host's |
//! | `stack` | `peak=<bytes> size=<bytes>` | the painted stack's high-water mark |
//! | `exit` | `bye` | logs the frame counters and stack peak, then ends QEMU with status 0 |

use core::fmt::Write as _;

use defmt::{info, warn};
use smoltcp::socket::udp;

use crate::{clock, enet, stack};

/// The control port.
pub const PORT: u16 = 10_099;
/// After `exit`, keep polling this long so the answer leaves.
pub const EXIT_GRACE_MS: u64 = 50;

/// What the main loop must do after [`serve`].
pub enum Action {
    /// Nothing.
    Continue,
    /// Call [`exit`] once [`EXIT_GRACE_MS`] have passed.
    Exit,
}

/// Answers every pending command on `socket`.
pub fn serve(socket: &mut udp::Socket<'_>, stats: enet::Stats) -> Action {
    let mut action = Action::Continue;
    let mut command = [0u8; 16];
    while let Ok((len, meta)) = socket.recv_slice(&mut command) {
        let mut answer = Line::new();
        let _ = match command[..len].trim_ascii() {
            b"uptime" => write!(answer, "{}", clock::now_ms()),
            b"stack" => write!(answer, "peak={} size={}", stack::peak(), stack::size()),
            b"exit" => {
                action = Action::Exit;
                write!(answer, "bye")
            }
            _ => write!(answer, "unknown command"),
        };
        info!("control: {=[u8]:a} -> {=str} ({})", &command[..len], answer.as_str(), stats);
        if socket.send_slice(answer.as_bytes(), meta.endpoint).is_err() {
            warn!("control: no room to answer");
        }
    }
    action
}

/// Logs the totals and ends the QEMU process with status 0 (semihosting `SYS_EXIT_EXTENDED`).
pub fn exit(stats: enet::Stats) -> ! {
    info!(
        "portsock-fw exit: {} stack peak {=usize} of {=usize} bytes",
        stats,
        stack::peak(),
        stack::size()
    );
    semihosting::process::exit(0)
}

/// A 48-byte line buffer for answers.
struct Line {
    buf: [u8; 48],
    len: usize,
}

impl Line {
    fn new() -> Self {
        Self {
            buf: [0; 48],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("?")
    }
}

impl core::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(core::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
