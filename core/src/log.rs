//! The core's log points, written once and sent to whichever logger the build enables:
//!
//! * `defmt` feature: `defmt` messages (decoded on the host by `defmt-print`; filtered at build
//!   time by `DEFMT_LOG`, so a level that is off costs no flash).
//! * `log` feature: the [`log`](https://docs.rs/log) crate's macros, target the module's path
//!   (`portsock_core::echo::stream`), for hosts: `env_logger` and `RUST_LOG=debug` show them
//!   (the `portsock` CLI does this).
//! * neither: nothing at all, not even the arguments' evaluation.
//!
//! Both at once is fine (each gets every message). The messages are written in defmt's
//! syntax (`{=u64}`, `{}`); for `log` each `{...}` placeholder becomes its argument's
//! `Display`, through `DefmtArgs`, only when the level is enabled. The machines log what a
//! developer wants to see when something goes wrong: a peer closing, a lost datagram, a
//! truncated record.

#[cfg(feature = "log")]
use core::fmt;

/// A `debug`-level log point.
macro_rules! debug {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{
        #[cfg(feature = "defmt")]
        defmt::debug!($fmt $(, $arg)*);
        #[cfg(feature = "log")]
        ::log::debug!(
            "{}",
            $crate::log::DefmtArgs($fmt, &[$(&$arg as &dyn core::fmt::Display),*])
        );
    }};
}

/// A `warn`-level log point: a protocol failure about to be returned as an error.
macro_rules! warning {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{
        #[cfg(feature = "defmt")]
        defmt::warn!($fmt $(, $arg)*);
        #[cfg(feature = "log")]
        ::log::warn!(
            "{}",
            $crate::log::DefmtArgs($fmt, &[$(&$arg as &dyn core::fmt::Display),*])
        );
    }};
}

pub(crate) use {debug, warning};

/// A defmt format string and its arguments, displayed as text: each `{...}` placeholder
/// (`{}`, `{=u64}`, `{:x}`…) is the next argument's `Display`, `{{` and `}}` are braces.
/// A placeholder without an argument shows as `{?}` rather than panicking.
#[cfg(feature = "log")]
pub(crate) struct DefmtArgs<'a>(pub(crate) &'a str, pub(crate) &'a [&'a dyn fmt::Display]);

#[cfg(feature = "log")]
impl fmt::Display for DefmtArgs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut args = self.1.iter();
        let mut rest = self.0;
        while let Some(at) = rest.find(['{', '}']) {
            f.write_str(&rest[..at])?;
            let tail = &rest[at..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                f.write_str(&tail[..1])?;
                rest = &tail[2..];
            } else if tail.starts_with('{') {
                let end = tail.find('}').map_or(tail.len(), |e| e + 1);
                match args.next() {
                    Some(arg) => arg.fmt(f)?,
                    None => f.write_str("{?}")?,
                }
                rest = &tail[end..];
            } else {
                f.write_str("}")?;
                rest = &tail[1..];
            }
        }
        f.write_str(rest)
    }
}

#[cfg(all(test, feature = "log"))]
mod tests {
    use std::string::ToString;

    use super::DefmtArgs;

    #[test]
    fn defmt_placeholders_become_display() {
        let from: core::net::SocketAddr = "127.0.0.1:10000".parse().unwrap();
        let text = DefmtArgs("{=usize} bytes from {}", &[&19usize, &from]).to_string();
        assert_eq!(text, "19 bytes from 127.0.0.1:10000");
        assert_eq!(
            DefmtArgs("{{literal}} {=u8}", &[&7u8]).to_string(),
            "{literal} 7"
        );
        assert_eq!(DefmtArgs("a {=u8} b {}", &[&1u8]).to_string(), "a 1 b {?}");
        assert_eq!(
            DefmtArgs("unclosed {=u8", &[&1u8]).to_string(),
            "unclosed 1"
        );
    }
}
