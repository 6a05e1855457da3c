//! `socket_multicast_sender`: send one datagram to the multicast group 224.3.29.71 port 10000
//! and print every acknowledgement that comes back, until none has come for 0.2 s.
//!
//! The core's [`MulticastSender`] state machine sends and collects the `(sender, reply)`
//! pairs, run over a std UDP socket by [`run_datagram`]. The socket's TTL is 1, so routers
//! would not forward the datagram anyway, and it leaves by the **loopback** interface
//! (`127.0.0.1`) unless `--iface` names another of this machine's addresses: by default the
//! group's datagrams never leave this machine.
//!
//! ```text
//! cargo run --example socket_multicast_receiver     # first, in one or more terminals
//! cargo run --example socket_multicast_sender [GROUP] [PORT] [--iface ADDR]
//! ```

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::Parser;
use portsock::core::drive::run_datagram;
use portsock::core::multicast::{
    CHAPTER_MESSAGE, CHAPTER_REPLY_SIZE, CHAPTER_TIMEOUT, CHAPTER_TTL, MulticastSender, SenderEvent,
};
use portsock::core::wire::repr::{PyAddr, PyBytes};
use portsock::std::multicast::membership;
use portsock::std::prelude::*;
use portsock::std::udp::UdpSocket;

/// What it sends to the group.
const MESSAGE: &[u8] = CHAPTER_MESSAGE;
/// How many replies it keeps (more are still printed).
const MAX_REPLIES: usize = 64;

/// The chapter's multicast sender: send one datagram to GROUP port PORT (from the loopback
/// unless --iface says otherwise) and print every acknowledgement until none comes for
/// 0.2 s.
#[derive(Debug, Parser)]
#[command(name = "socket_multicast_sender", version)]
struct Args {
    #[command(flatten)]
    group: common::Group,
}

fn main() -> common::Result {
    let args = Args::parse();
    let group: Ipv4Addr = args.group.group;
    let multicast_group = SocketAddr::from((group, args.group.port));
    let iface = Interface::Addr(args.group.iface);
    membership(IpAddr::V4(group), iface)?; // refuses an address that is not multicast

    // A datagram socket on the chosen interface, with the TTL at 1 so messages do not go past
    // the local network segment, and multicast leaving by that interface.
    let mut sock = UdpSocket::bind(SocketAddr::from((args.group.iface, 0)))?;
    sock.set_multicast_ttl(CHAPTER_TTL)?;
    sock.set_multicast_interface(iface)?;

    // Send to the group, then collect the responses of all recipients until they stop.
    let mut sender = MulticastSender::<MAX_REPLIES, CHAPTER_REPLY_SIZE>::new(
        MESSAGE,
        multicast_group,
        CHAPTER_TIMEOUT,
    );
    let result = run_datagram(&mut sock, &mut sender, &SystemClock, &mut |sender| {
        while let Some(event) = sender.poll_event() {
            match event {
                SenderEvent::Sending(message) => println!("sending {}", PyBytes(message)),
                SenderEvent::Waiting => println!("waiting to receive"),
                SenderEvent::Reply { from, payload, .. } => {
                    println!("received {} from {}", PyBytes(payload), PyAddr(from));
                }
                SenderEvent::TimedOut => println!("timed out, no more responses"),
                _ => {}
            }
        }
    });

    println!("closing socket");
    drop(sock);
    Ok(result?)
}
