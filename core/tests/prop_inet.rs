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

/// 1 to 16 bytes of digits and dots, the only bytes a dotted quad has: every shape of parts
/// (empty, one to four digits and more, leading zeros, values either side of 255).
fn digits_and_dots() -> impl Strategy<Value = String> {
    let byte = prop_oneof![
        3 => proptest::sample::select(b"0123456789".to_vec()),
        1 => Just(b'.'),
    ];
    proptest::collection::vec(byte, 1..=16)
        .prop_map(|bytes| String::from_utf8(bytes).expect("ASCII"))
}

/// Four parts of 1 to 3 digits, each perhaps with a leading zero or above 255.
fn quad_like() -> impl Strategy<Value = String> {
    let part = prop_oneof![0..=255u16, 0..=999u16].prop_flat_map(|value| {
        (Just(value), any::<bool>()).prop_map(|(value, zero)| {
            if zero {
                format!("0{value}")
            } else {
                value.to_string()
            }
        })
    });
    proptest::array::uniform4(part).prop_map(|parts| parts.join("."))
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
    fn prop_pton4_agrees_with_std_on_digits_and_dots(text in digits_and_dots()) {
        // core::net's parser has glibc's strict rules, so the two agree on every string.
        let want = text.parse::<Ipv4Addr>().ok();
        let got = inet::inet_pton4(text.as_bytes());
        prop_assert_eq!(got.ok(), want, "{:?}", text);
        // With a dot, the same text at the end of an IPv6 address is a dotted quad there, parsed
        // by the same code (without one it is a hex group).
        if text.contains('.') {
            let mapped = inet::inet_pton6(format!("::ffff:{text}").as_bytes()).ok();
            prop_assert_eq!(mapped, want.map(|v4| v4.to_ipv6_mapped()), "{:?}", text);
        }
        // And a refusal names a place inside the text, or the end.
        if let Err(err) = got {
            let at = match err {
                inet::PtonError::UnexpectedByte { at, .. }
                | inet::PtonError::LeadingZero { at }
                | inet::PtonError::OctetTooLarge { at } => Some(at),
                _ => None,
            };
            prop_assert!(at.is_none_or(|at| at < text.len()), "{:?}: {:?}", text, err);
        }
    }

    #[test]
    fn prop_pton4_agrees_with_std_on_quads(text in quad_like()) {
        let want = text.parse::<Ipv4Addr>().ok();
        prop_assert_eq!(inet::inet_pton4(text.as_bytes()).ok(), want, "{:?}", text);
        prop_assert_eq!(inet::inet_pton(Family::Inet, text.as_bytes()).ok(), want.map(Into::into));
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
