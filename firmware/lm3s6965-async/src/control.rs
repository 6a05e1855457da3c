//! The test harness's UDP port, as in the blocking image: `uptime`, `stack`, `exit`.
//!
//! | command | answer |
//! | --- | --- |
//! | `uptime` | milliseconds since boot |
//! | `stack` | `peak=<bytes> size=<bytes>` (the painted stack's high-water mark) |
//! | `exit` | `bye`, then the frame counters and stack peak are logged and QEMU ends with status 0 |

use defmt::{info, warn};
use embassy_net::Stack;
use portsock_core::asynch::transport::Datagram;
use portsock_embassy::{UdpResources, UdpSocket};
use portsock_lm3s6965_board::line::Line;
use portsock_lm3s6965_board::stack;
use static_cell::ConstStaticCell;

use crate::{any, eth, time};

/// The control port.
pub const PORT: u16 = 10_099;
const BYTES: usize = 128;
/// After `exit`, wait this long so the answer leaves.
const EXIT_GRACE_MS: u64 = 50;

/// Answers commands until `exit`.
#[embassy_executor::task]
pub async fn serve(net: Stack<'static>) -> ! {
    static BUFFERS: ConstStaticCell<UdpResources<2, BYTES>> =
        ConstStaticCell::new(UdpResources::new());
    let mut socket = UdpSocket::bind(net, any(PORT), BUFFERS.take()).expect("control port");
    let mut command = [0u8; 16];
    loop {
        let Ok(got) = socket.recv_from(&mut command).await else {
            continue;
        };
        let command = command[..got.copied(command.len())].trim_ascii();
        let mut answer = Line::new();
        let mut exit = false;
        match command {
            b"uptime" => answer.number(time::now_ms()),
            b"stack" => {
                answer.text("peak=");
                answer.number(stack::peak() as u64);
                answer.text(" size=");
                answer.number(stack::size() as u64);
            }
            b"exit" => {
                exit = true;
                answer.text("bye");
            }
            _ => answer.text("unknown command"),
        }
        let stats = critical_section::with(|cs| eth::STATS.borrow(cs).get());
        info!(
            "control: {=[u8]:a} -> {=[u8]:a} ({})",
            command,
            answer.as_bytes(),
            stats
        );
        if socket.send_to(answer.as_bytes(), &got.from).await.is_err() {
            warn!("control: no room to answer");
        }
        if exit {
            embassy_time::Timer::after_millis(EXIT_GRACE_MS).await;
            info!(
                "portsock-fw exit: {} stack peak {=usize} of {=usize} bytes",
                critical_section::with(|cs| eth::STATS.borrow(cs).get()),
                stack::peak(),
                stack::size()
            );
            semihosting::process::exit(0)
        }
    }
}
