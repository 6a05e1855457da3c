//! Figures as the benchmarks' tables print them.

use portsock::core::wire::repr::Thousands;

/// `12345` as `12,345` (the core's [`Thousands`]).
pub(crate) fn thousands(n: u64) -> String {
    Thousands(n).to_string()
}

/// Bytes in MiB, two decimals.
pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / f64::from(1 << 20))
}
