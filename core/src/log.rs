//! The core's log points: `defmt` messages with the `defmt` feature (decoded on the host by
//! `defmt-print`; filtered at build time by `DEFMT_LOG`, so a level that is off costs no flash),
//! nothing at all without it. The machines log what a firmware developer wants to see when
//! something goes wrong: a peer closing, a lost datagram, a truncated record.

/// A `debug`-level log point.
macro_rules! debug {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        defmt::debug!($($arg)*);
    }};
}

/// A `warn`-level log point: a protocol failure about to be returned as an error.
macro_rules! warning {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        defmt::warn!($($arg)*);
    }};
}

pub(crate) use {debug, warning};
