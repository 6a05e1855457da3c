//! `resolve` through the stack's resolver (smoltcp's DNS socket), against a small DNS server
//! on another in-memory stack, written on portsock-embassy's own UDP socket.

mod common;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::{DNS_SERVER, at, block_on, leak, network};
use embassy_time::{Duration, Timer};
use embedded_io::{Error as _, ErrorKind};
use portsock_core::asynch::select::{Either, first};
use portsock_core::asynch::transport::Datagram;
use portsock_embassy::{Error, Family, UdpResources, UdpSocket, resolve};

const NAME: &str = "echo.portsock.test";
const ADDR_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 42);
const ADDR_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x42);

/// Answers A and AAAA queries for [`NAME`]; anything else is NXDOMAIN.
async fn dns_server(mut socket: UdpSocket<'static>) {
    let mut query = [0u8; 512];
    loop {
        let got = socket.recv_from(&mut query).await.expect("a query");
        let query = &query[..got.len];
        // Header (12 bytes), then one question: labels up to a 0, type, class.
        let name_end = 12 + query[12..].iter().position(|&b| b == 0).expect("a name") + 1;
        let question = &query[12..name_end + 4];
        let qtype = u16::from_be_bytes([query[name_end], query[name_end + 1]]);
        let mut name = String::new();
        let mut i = 12;
        while query[i] != 0 {
            let len = query[i] as usize;
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(std::str::from_utf8(&query[i + 1..i + 1 + len]).expect("ASCII"));
            i += 1 + len;
        }
        let rdata: Option<Vec<u8>> = match (name.as_str(), qtype) {
            (NAME, 1) => Some(ADDR_V4.octets().to_vec()),
            (NAME, 28) => Some(ADDR_V6.octets().to_vec()),
            _ => None,
        };
        let mut reply = Vec::new();
        reply.extend_from_slice(&query[..2]); // the id
        let rcode = if rdata.is_some() { 0 } else { 3 };
        reply.extend_from_slice(&[0x81, 0x80 | rcode]); // response, recursion, rcode
        reply.extend_from_slice(&[0, 1, 0, u8::from(rdata.is_some()), 0, 0, 0, 0]);
        reply.extend_from_slice(question);
        if let Some(rdata) = rdata {
            reply.extend_from_slice(&[0xc0, 12]); // the question's name
            reply.extend_from_slice(&qtype.to_be_bytes());
            reply.extend_from_slice(&[0, 1, 0, 0, 0, 60]); // IN, TTL 60
            reply.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            reply.extend_from_slice(&rdata);
        }
        socket.send_to(&reply, &got.from).await.expect("the answer");
    }
}

#[test]
fn resolve_asks_the_stacks_dns_server() {
    block_on(async {
        let stacks = network(2);
        let server = UdpSocket::bind(
            stacks[1],
            at(IpAddr::V4(DNS_SERVER), 53),
            leak(UdpResources::<4, 1024>::new()),
        )
        .expect("bind port 53");
        let lookups = async {
            let v4 = resolve(stacks[0], NAME, Family::V4).await.expect("A");
            assert_eq!(v4, IpAddr::V4(ADDR_V4));
            let v6 = resolve(stacks[0], NAME, Family::V6).await.expect("AAAA");
            assert_eq!(v6, IpAddr::V6(ADDR_V6));
            // An address literal needs no query.
            let literal = resolve(stacks[0], "192.0.2.7", Family::V4)
                .await
                .expect("literal");
            assert_eq!(literal, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
            let err = resolve(stacks[0], "missing.portsock.test", Family::V4)
                .await
                .expect_err("NXDOMAIN");
            assert_eq!((err, err.kind()), (Error::NotFound, ErrorKind::NotFound));
            let err = resolve(stacks[0], "", Family::V4)
                .await
                .expect_err("no name");
            assert_eq!(
                (err, err.kind()),
                (Error::InvalidName, ErrorKind::InvalidInput)
            );
        };
        let guarded = first(lookups, Timer::after(Duration::from_secs(60)));
        match first(guarded, dns_server(server)).await {
            Either::First(Either::First(())) => {}
            Either::First(Either::Second(())) => panic!("the lookups took over 60 s"),
            Either::Second(()) => unreachable!("the server never stops"),
        }
    });
}
