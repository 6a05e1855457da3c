//! Address text and packed bytes from untrusted input: aton, pton (both families), ntoa, ntop,
//! and the round trips that must hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portsock_core::wire::inet::{self, Family};

fuzz_target!(|data: &[u8]| {
    if let Ok(v4) = inet::inet_aton(data) {
        let text = inet::inet_ntoa(&v4.octets()).expect("4 bytes always format");
        assert_eq!(inet::inet_aton(text.as_bytes()), Ok(v4));
    }
    if let Ok(v4) = inet::inet_pton4(data) {
        // Strict parsing accepts only what aton accepts too.
        assert_eq!(inet::inet_aton(data), Ok(v4));
    }
    if let Ok(v6) = inet::inet_pton6(data) {
        let text = inet::inet_ntop6(&v6);
        assert_eq!(inet::inet_pton6(text.as_bytes()), Ok(v6));
    }
    let _ = inet::inet_ntoa(data);
    let _ = inet::inet_ntop(Family::Inet, data);
    if let Ok(text) = inet::inet_ntop(Family::Inet6, data) {
        let back = inet::inet_pton6(text.as_bytes()).expect("ntop output parses");
        assert_eq!(&back.octets()[..], data);
    }
});
