//! Membership-request bytes from untrusted input (what a setsockopt caller hands over): parse
//! every layout, and check that whatever parses emits back to a request that parses the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portsock_core::wire::mreq::{Layout, MembershipRequest};

fuzz_target!(|data: &[u8]| {
    let parsed = [
        MembershipRequest::parse(Layout::IpMreq, data),
        MembershipRequest::parse(Layout::IpMreqn, data),
        MembershipRequest::parse(Layout::Ipv6Mreq, data),
        MembershipRequest::parse_ip_option(data),
    ];
    for request in parsed.into_iter().flatten() {
        let mut buf = [0u8; 32];
        let n = request.emit(&mut buf).expect("a parsed request emits");
        assert_eq!(n, request.buffer_len());
        let again = MembershipRequest::parse(request.layout(), &buf[..n]).expect("emitted bytes parse");
        assert_eq!(again, request);
    }
});
