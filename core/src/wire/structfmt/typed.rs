//! [`Record`]: a format checked once against a tuple of Rust types, then packed and unpacked
//! with no per-value dispatch.
//!
//! The type-to-code table, the layouts and the guarantees are documented on [`Record`].

mod error;
mod f16;
mod field;
mod record;
mod sealed;
#[cfg(test)]
mod tests;
mod tuple;

pub use error::TypedError;
pub use f16::F16;
pub use field::{Field, FieldType, Fields};
pub use record::{Record, Records};

/// Whether native mode is big-endian (the byte order of `@` and `=`).
const NATIVE_BIG: bool = cfg!(target_endian = "big");
