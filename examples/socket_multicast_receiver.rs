//! `socket_multicast_receiver`: join the multicast group 224.3.29.71 on port 10000, and
//! acknowledge every datagram sent to it with `ack`.
//!
//! The core's [`MulticastReceiver`] state machine does the receive / acknowledge loop, run
//! over a std UDP socket by [`run_datagram`]. It joins the group on the **loopback** interface
//! (`127.0.0.1`) unless `--iface` names another of this machine's addresses, and binds the
//! group's address rather than every address (the chapter binds `''`), so it hears only the
//! group, and only from this machine by default. Several receivers may run at once: the
//! address is bound with `SO_REUSEADDR`, and each of them gets every datagram.
//!
//! ```text
//! cargo run --example socket_multicast_receiver [GROUP] [PORT] [--iface ADDR] [--count N | --once]
//! cargo run --example socket_multicast_sender       # then, in another terminal
//! ```

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::Parser;
use portsock::core::drive::run_datagram;
use portsock::core::multicast::{CHAPTER_RECEIVE_SIZE, MulticastReceiver, ReceiverEvent};
use portsock::core::wire::repr::{PyAddr, PyBytes};
use portsock::std::prelude::*;
use portsock::std::udp::UdpSocket;

/// The chapter's multicast receiver: join GROUP on PORT (on the loopback unless --iface
/// says otherwise) and acknowledge every datagram with b'ack'.
#[derive(Debug, Parser)]
#[command(name = "socket_multicast_receiver", version)]
struct Args {
    #[command(flatten)]
    group: common::Group,
    #[command(flatten)]
    count: common::Count,
}

fn main() -> common::Result {
    let args = Args::parse();
    let group: Ipv4Addr = args.group.group;

    // Bind the group's port, then tell the system to add the socket to the group on the
    // chosen interface.
    let mut sock = UdpSocket::bind_reusable(SocketAddr::from((group, args.group.port)))?;
    sock.join_group(IpAddr::V4(group), Interface::Addr(args.group.iface))?;

    // Receive/respond loop.
    let mut receiver =
        MulticastReceiver::new([0u8; CHAPTER_RECEIVE_SIZE]).with_limit(args.count.get());
    run_datagram(&mut sock, &mut receiver, &SystemClock, &mut |receiver| {
        while let Some(event) = receiver.poll_event() {
            match event {
                ReceiverEvent::Waiting => println!("\nwaiting to receive message"),
                ReceiverEvent::Received { from, data, .. } => {
                    println!("received {} bytes from {}", data.len(), PyAddr(from));
                    println!("{}", PyBytes(data));
                }
                ReceiverEvent::Acknowledged { to } => {
                    println!("sending acknowledgement to {}", PyAddr(to));
                }
                _ => {}
            }
        }
    })?;
    Ok(())
}
