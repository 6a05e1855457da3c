//! The test harness's UDP port: one-word commands, one-line answers (ASCII).
//!
//! | command | answer | what for |
//! | --- | --- | --- |
//! | `uptime` | milliseconds since boot | checking the SysTick clock against the host's |
//! | `stack` | `peak=<bytes> size=<bytes>` | the painted stack's high-water mark |
//! | `exit` | `bye` | logs the frame counters and stack peak, then ends QEMU with status 0 |
//!
//! The answers are put together by hand: `core::fmt` would cost kilobytes of flash.

use defmt::{info, warn};
use portsock_core::transport::Datagram;
use portsock_smoltcp::{Stack, UdpSocket};

use crate::clock::SysTickPlatform;
use portsock_lm3s6965_board::line::Line;
use portsock_lm3s6965_board::stack;

use crate::{clock, enet};

/// The control port.
pub const PORT: u16 = 10_099;
/// The control socket's buffer size, each way.
pub const BYTES: usize = 128;
/// After `exit`, keep polling this long so the answer leaves.
pub const EXIT_GRACE_MS: u64 = 50;

type FwStack = Stack<'static, enet::Enet, SysTickPlatform>;

/// What the main loop must do after [`serve`].
pub enum Action {
    /// Nothing.
    Continue,
    /// Call [`exit`] once [`EXIT_GRACE_MS`] have passed.
    Exit,
}

/// Answers every pending command on `socket` (non-blocking).
pub fn serve(
    socket: &mut UdpSocket<'_, 'static, enet::Enet, SysTickPlatform>,
    stack: &FwStack,
) -> Action {
    let mut action = Action::Continue;
    let mut command = [0u8; 16];
    while let Ok(Some(got)) = socket.recv_from(&mut command, None) {
        let command = command[..got.copied(command.len())].trim_ascii();
        let mut answer = Line::new();
        match command {
            b"uptime" => answer.number(clock::now_ms()),
            b"stack" => {
                answer.text("peak=");
                answer.number(stack::peak() as u64);
                answer.text(" size=");
                answer.number(stack::size() as u64);
            }
            b"exit" => {
                action = Action::Exit;
                answer.text("bye");
            }
            _ => answer.text("unknown command"),
        }
        let stats = stack.with_device(|d| d.stats());
        info!(
            "control: {=[u8]:a} -> {=[u8]:a} ({})",
            command,
            answer.as_bytes(),
            stats
        );
        if socket.send_to(answer.as_bytes(), &got.from).is_err() {
            warn!("control: no room to answer");
        }
    }
    action
}

/// Logs the totals and ends the QEMU process with status 0 (semihosting `SYS_EXIT_EXTENDED`).
pub fn exit(stack: &FwStack) -> ! {
    info!(
        "portsock-fw exit: {} stack peak {=usize} of {=usize} bytes",
        stack.with_device(|d| d.stats()),
        stack::peak(),
        stack::size()
    );
    semihosting::process::exit(0)
}
