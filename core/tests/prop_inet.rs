//! Property tests for `portsock_core::wire::inet`: round trips, agreement between the parsers
//! and with `core::net`, and no panic on any input.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use portsock_core::wire::inet::{self, Family};
use proptest::prelude::*;

/// 16 bytes that hit the interesting IPv6 shapes often: zero runs, `ffff`, small groups.
fn v6_groups() -> impl Strategy<Value = [u16; 8]> {
    let group = prop_oneof![Just(0u16), Just(0xffff), 0..0x10u16, any::<u16>()];
    proptest::array::uniform8(group)
}

/// A legacy `inet_aton` spelling of `addr` with 1 to 4 parts, each in a random base, with
/// random leading zeros.
fn aton_spelling() -> impl Strategy<Value = (u32, String)> {
    (
        any::<u32>(),
        1..=4usize,
        proptest::collection::vec((0..3u8, 0..3usize, any::<bool>()), 4),
    )
        .prop_map(|(addr, parts, styles)| {
            let bytes = addr.to_be_bytes();
            // The first parts - 1 parts are single bytes; the last takes what is left.
            let mut values: Vec<u32> = bytes[..parts - 1].iter().map(|&b| u32::from(b)).collect();
            let rest = bytes[parts - 1..]
                .iter()
                .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
            values.push(rest);
            let mut text = String::new();
            for (i, (value, (radix, zeros, upper))) in values.iter().zip(&styles).enumerate() {
                if i > 0 {
                    text.push('.');
                }
                let zeros = "0".repeat(*zeros);
                let _ = match (radix, upper) {
                    (0, _) => write!(text, "{value}"),
                    (1, _) => write!(text, "0{zeros}{value:o}"),
                    (_, false) => write!(text, "0x{zeros}{value:x}"),
                    (_, true) => write!(text, "0X{zeros}{value:X}"),
                };
            }
            (addr, text)
        })
}

/// Bytes drawn mostly from the characters the parsers care about.
fn address_like() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => proptest::sample::select(b"0123456789abcdefABCDEFxX.:".to_vec()),
        1 => proptest::sample::select(b" \t\n\x0b\x0c\r\0%[]/+-g".to_vec()),
        1 => any::<u8>(),
    ];
    proptest::collection::vec(byte, 0..48)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn prop_pton6_ntop6_roundtrip(octets in any::<[u8; 16]>()) {
        let addr = Ipv6Addr::from(octets);
        let text = inet::inet_ntop6(&addr);
        prop_assert_eq!(inet::inet_pton6(text.as_bytes()), Ok(addr), "{}", text);
        prop_assert_eq!(inet::inet_ntop(Family::Inet6, &octets).map(|t| t.to_string()), Ok(text.to_string()));
    }

    #[test]
    fn prop_pton6_ntop6_roundtrip_shapes(groups in v6_groups()) {
        let addr = Ipv6Addr::from(groups);
        let text = inet::inet_ntop6(&addr);
        prop_assert_eq!(inet::inet_pton6(text.as_bytes()), Ok(addr), "{}", text);
        // Text -> address -> text is stable too.
        let again = inet::inet_ntop6(&addr);
        prop_assert_eq!(text, again);
    }

    #[test]
    fn prop_ntop6_agrees_with_std_parse(groups in v6_groups()) {
        let addr = Ipv6Addr::from(groups);
        let text = inet::inet_ntop6(&addr);
        prop_assert_eq!(text.parse::<Ipv6Addr>(), Ok(addr), "{}", text);
    }

    #[test]
    fn prop_ntop4_pton4_roundtrip(octets in any::<[u8; 4]>()) {
        let addr = Ipv4Addr::from(octets);
        let text = inet::inet_ntop4(&addr);
        prop_assert_eq!(inet::inet_pton4(text.as_bytes()), Ok(addr), "{}", text);
        prop_assert_eq!(inet::inet_ntoa(&octets).map(|t| t.to_string()), Ok(text.to_string()));
        prop_assert_eq!(inet::inet_ntop(Family::Inet, &octets).map(|t| t.to_string()), Ok(text.to_string()));
        prop_assert_eq!(text.as_str(), addr.to_string());
    }

    #[test]
    fn prop_aton_agrees_with_pton4_on_dotted_quads(octets in any::<[u8; 4]>()) {
        let text = Ipv4Addr::from(octets).to_string();
        let strict = inet::inet_pton4(text.as_bytes());
        prop_assert_eq!(strict, Ok(Ipv4Addr::from(octets)));
        prop_assert_eq!(inet::inet_aton(text.as_bytes()).ok(), strict.ok());
    }

    #[test]
    fn prop_aton_reads_every_legacy_spelling((addr, text) in aton_spelling()) {
        prop_assert_eq!(inet::inet_aton(text.as_bytes()), Ok(Ipv4Addr::from(addr)), "{}", text);
        // Anything after ASCII whitespace is ignored.
        let padded = format!("{text} junk");
        prop_assert_eq!(inet::inet_aton(padded.as_bytes()), Ok(Ipv4Addr::from(addr)));
    }

    #[test]
    fn prop_pton_results_agree(text in address_like()) {
        // Whatever pton4 accepts, aton accepts with the same value (the fuzz target's invariant),
        // and std agrees with pton4 (both are strict dotted-quad parsers).
        if let Ok(v4) = inet::inet_pton4(&text) {
            prop_assert_eq!(inet::inet_aton(&text), Ok(v4));
        }
        if let Ok(s) = std::str::from_utf8(&text) {
            prop_assert_eq!(s.parse::<Ipv4Addr>().ok(), inet::inet_pton4(&text).ok(), "{:?}", s);
        }
        if let Ok(v6) = inet::inet_pton6(&text) {
            prop_assert_eq!(inet::inet_pton6(inet::inet_ntop6(&v6).as_bytes()), Ok(v6));
        }
        if let Ok(v4) = inet::inet_aton(&text) {
            prop_assert!(!text.contains(&0));
            prop_assert_eq!(inet::inet_aton(inet::inet_ntop4(&v4).as_bytes()), Ok(v4));
        }
    }

    #[test]
    fn prop_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        exercise(&bytes);
    }

    #[test]
    fn prop_address_like_bytes_never_panic(bytes in address_like()) {
        exercise(&bytes);
    }
}

/// Calls every entry point on `bytes`, formatting each error too.
fn exercise(bytes: &[u8]) {
    let _ = inet::inet_aton(bytes).map_err(|e| e.to_string());
    let _ = inet::inet_pton4(bytes).map_err(|e| e.to_string());
    let _ = inet::inet_pton6(bytes).map_err(|e| e.to_string());
    let _ = inet::inet_pton(Family::Inet, bytes);
    let _ = inet::inet_pton(Family::Inet6, bytes);
    let _ = inet::inet_ntoa(bytes).map_err(|e| e.to_string());
    let _ = inet::inet_ntop(Family::Inet, bytes).map_err(|e| e.to_string());
    let _ = inet::inet_ntop(Family::Inet6, bytes).map_err(|e| e.to_string());
}
