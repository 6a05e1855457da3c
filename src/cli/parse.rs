//! Option values as the command line spells them: `HOST:PORT`, ports, seconds, octal file
//! modes, Ethernet addresses. Pure functions of the text that say what was expected when they
//! refuse it; the commands put the option's name in front (`CliError`).
//!
//! This file uses nothing but `std` and its sibling [`args`](super::args), so that the fuzz
//! crate includes the two (`fuzz/fuzz_targets/cli_values.rs`) to check that no text makes a
//! parser panic and that what they accept reads back the same.

use std::time::Duration;

use super::args::parse_float;

/// The shortest timeout: one millisecond, the resolution of portsock's clock
/// (`portsock_core::time::Duration`); anything shorter would become zero, which means "never"
/// or "not allowed" depending on the call.
pub(crate) const MIN_SECONDS: f64 = 0.001;
/// The longest timeout: a day.
pub(crate) const MAX_SECONDS: f64 = 86_400.0;

/// `HOST:PORT` split into the host (without brackets) and the port: `[::1]:10000` for an IPv6
/// literal, an empty host (`:10000`) for any address.
pub(crate) fn host_port(text: &str) -> Result<(&str, u16), String> {
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err("expected HOST:PORT (e.g. localhost:10000, [::1]:10000)".into());
    };
    let host = match host.strip_prefix('[') {
        Some(inner) => {
            let inner = inner
                .strip_suffix(']')
                .ok_or("expected ']' after an IPv6 address ([::1]:10000)")?;
            // `[]` is no address (the any address is an empty host, `:10000`), and
            // brackets hold an IPv6 literal only (a scope may follow: `[fe80::1%eth0]`).
            let literal = inner.split_once('%').map_or(inner, |(addr, _)| addr);
            if literal.parse::<std::net::Ipv6Addr>().is_err() {
                return Err("brackets hold an IPv6 address ([::1]:10000); any address is an empty host (:10000)".into());
            }
            inner
        }
        None if host.contains(':') => {
            return Err("an IPv6 address needs brackets: [ADDR]:PORT".into());
        }
        None => host,
    };
    Ok((host, parse_port(port)?))
}

/// A port number: decimal digits from 0 to 65535.
pub(crate) fn parse_port(text: &str) -> Result<u16, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port {text:?}: expected a number from 0 to 65535"));
    }
    match text.parse::<u16>() {
        Ok(port) => Ok(port),
        Err(_) => Err(format!("port {text} out of range (expected 0 to 65535)")),
    }
}

/// What [`seconds`] expects.
pub(crate) const SECONDS_EXPECTED: &str =
    "expected seconds from 0.001 (1 ms, the clock's resolution) to 86400";

/// Seconds as the chapter gives them (`0.2`), from [`MIN_SECONDS`] to [`MAX_SECONDS`].
pub(crate) fn seconds(text: &str) -> Option<Duration> {
    parse_float(text)
        .filter(|s| (MIN_SECONDS..=MAX_SECONDS).contains(s))
        .map(Duration::from_secs_f64)
}

/// What [`octal_mode`] expects.
pub(crate) const MODE_EXPECTED: &str = "expected an octal file mode such as 600 or 0666";

/// A file mode in octal: `600`, `0600`, `0o600`; at most `7777`.
pub(crate) fn octal_mode(text: &str) -> Option<u32> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    // Octal digits only: `from_str_radix` alone would take a sign (`+600`).
    let octal = !digits.is_empty() && digits.bytes().all(|b| matches!(b, b'0'..=b'7'));
    octal
        .then(|| u32::from_str_radix(digits, 8).ok())
        .flatten()
        .filter(|m| *m <= 0o7777)
}

/// What [`mac`] expects.
#[allow(dead_code)] // the smoltcp backend's `--mac` only
pub(crate) const MAC_EXPECTED: &str = "expected six hex octets, e.g. 02:00:00:00:00:01";

/// An Ethernet address: `02:00:00:00:00:01`, `-` also accepted as a separator.
#[allow(dead_code)] // the smoltcp backend's `--mac` only
pub(crate) fn mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split([':', '-']);
    for octet in &mut mac {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 2 {
            return None;
        }
        *octet = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}
