//! The command line's value parsers on any text: `struct pack`'s ints and floats, hex in its
//! pasted forms and dumps,
//! `HOST:PORT`, ports, seconds, octal file modes, MAC addresses and `--ip` CIDRs. None may
//! panic, and what one accepts must read back the same from its canonical spelling.
//!
//! The parsers live in the binary crate; the files that hold them depend only on `std`, `hex`
//! and portsock-core, so they are included here as they are.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portsock_core::wire::structfmt::Value;

// `parse` reads its sibling as `super::args`: both sit at the root here, as in `src/cli`.
#[allow(dead_code)]
#[path = "../../src/cli/args.rs"]
mod args;
#[allow(dead_code)]
#[path = "../../src/cli/parse.rs"]
mod parse;
#[allow(dead_code)]
#[path = "../../src/cli/hexin.rs"]
mod hexin;

use args::{parse_float, parse_int, parse_value};
use hexin::{decode as decode_hex, encode as encode_hex};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    ints(text);
    floats(text);
    hex(text);
    host_port(text);
    small_values(text);
    if let Ok(cidr) = portsock_smoltcp::parse_cidr(text) {
        let again = portsock_smoltcp::parse_cidr(&cidr.to_string());
        assert_eq!(again.ok(), Some(cidr), "{text:?}: {cidr}");
    }
    for code in ['b', 'I', 'q', 'e', 'd', '?', 's', 'c', 'x', '\u{0}'] {
        let _ = parse_value(text, None, code);
    }
});

fn ints(text: &str) {
    match parse_int(text) {
        Some(Value::Int(v)) => {
            assert_eq!(parse_int(&v.to_string()), Some(Value::Int(v)), "{text:?}");
            if v >= 0 {
                assert_eq!(parse_int(&format!("{v:#x}")), Some(Value::Int(v)));
                assert_eq!(parse_int(&format!("{v:#b}")), Some(Value::Int(v)));
            }
        }
        Some(Value::BigInt(digits)) => {
            // Decimal only, and really beyond i128.
            let body = digits.strip_prefix('-').unwrap_or(digits);
            assert!(
                !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()),
                "{text:?}"
            );
            assert!(digits.parse::<i128>().is_err(), "{text:?} fits i128");
        }
        Some(v) => panic!("{text:?}: {v:?}"),
        None => {}
    }
}

fn floats(text: &str) {
    if let Some(f) = parse_float(text) {
        let back = parse_float(&format!("{f:?}")).expect("a float's own spelling parses");
        assert!(
            back.to_bits() == f.to_bits() || (f.is_nan() && back.is_nan()),
            "{text:?}"
        );
    }
    if let Some(d) = parse::seconds(text) {
        let ms = d.as_secs_f64() * 1000.0;
        assert!((0.999..=86_400_000.0).contains(&ms), "{text:?}: {d:?}");
    }
}

fn hex(text: &str) {
    let Ok(bytes) = decode_hex(text) else {
        return;
    };
    // Every pasted form reads back the same from its canonical spelling, plain or spaced.
    let canonical = encode_hex(&bytes);
    assert_eq!(decode_hex(&canonical), Ok(bytes.clone()), "{text:?}");
    let spaced: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(decode_hex(&spaced.join(" ")), Ok(bytes), "{text:?}");
}

fn host_port(text: &str) {
    let Ok((host, port)) = parse::host_port(text) else {
        return;
    };
    assert_eq!(parse::parse_port(&port.to_string()), Ok(port));
    let spelled = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        assert!(
            !host.contains(['[', ']']) || !text.starts_with('['),
            "{text:?}"
        );
        format!("{host}:{port}")
    };
    assert_eq!(parse::host_port(&spelled), Ok((host, port)), "{text:?}");
    if text.starts_with('[') {
        let literal = host.split_once('%').map_or(host, |(a, _)| a);
        assert!(literal.parse::<std::net::Ipv6Addr>().is_ok(), "{text:?}");
    }
}

fn small_values(text: &str) {
    if let Ok(port) = parse::parse_port(text) {
        assert!(text.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(
            u32::from(port),
            text.parse::<u32>().unwrap_or(u32::MAX).min(65_535)
        );
    }
    if let Some(mode) = parse::octal_mode(text) {
        assert!(mode <= 0o7777);
        let digits = text.strip_prefix("0o").unwrap_or(text);
        assert!(digits.bytes().all(|b| matches!(b, b'0'..=b'7')), "{text:?}");
        assert_eq!(parse::octal_mode(&format!("{mode:o}")), Some(mode));
        assert_eq!(parse::octal_mode(&format!("0o{mode:04o}")), Some(mode));
    }
    if let Some(mac) = parse::mac(text) {
        let spelled: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(parse::mac(&spelled.join(":")), Some(mac));
        assert_eq!(parse::mac(&spelled.join("-").to_uppercase()), Some(mac));
    }
}
