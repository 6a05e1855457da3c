//! [`TypedError`]: why a format does not fit a record's Rust types.

use core::fmt;

use embedded_io::ErrorKind;

use super::FieldType;
use crate::wire::structfmt::FormatError;

/// Why [`Record::new`](super::Record::new) refused a format for its tuple type.
///
/// ```
/// use portsock_core::wire::structfmt::{FieldType, Record, TypedError};
///
/// let err = Record::<(i32, u8)>::new("<q B").unwrap_err();
/// assert_eq!(
///     err,
///     TypedError::FieldType { field: 0, at: 1, code: b'q', format: FieldType::I64, record: FieldType::I32 }
/// );
/// assert_eq!(err.to_string(), "field 0 (format byte 1, code 'q'): the format takes i64, the record type has i32");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TypedError {
    /// The format itself is invalid.
    Format(FormatError),
    /// A code with no typed form (`c`, `p`, `P`): pack and unpack such a format with
    /// [`Struct`](crate::wire::structfmt::Struct) or [`Format`](crate::wire::structfmt::Format).
    NoTypedForm {
        /// Format byte of the code.
        at: usize,
        /// The code.
        code: u8,
    },
    /// The format does not take as many values as the tuple has fields.
    FieldCount {
        /// How many values the format takes.
        format: usize,
        /// How many fields the tuple has.
        record: usize,
    },
    /// A field of the tuple is not the type its code takes.
    FieldType {
        /// Index of the field (and of the value in the format).
        field: usize,
        /// Format byte of the code.
        at: usize,
        /// The code.
        code: u8,
        /// The type the code takes.
        format: FieldType,
        /// The type of the tuple's field.
        record: FieldType,
    },
}

impl fmt::Display for TypedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = |c: u8| char::from(c).escape_default();
        match *self {
            Self::Format(e) => e.fmt(f),
            Self::NoTypedForm { at, code: c } => write!(
                f,
                "format byte {at}: code '{}' has no typed form; use Struct or Format",
                code(c)
            ),
            Self::FieldCount { format, record } => write!(
                f,
                "the format takes {format} values, the record type has {record} fields"
            ),
            Self::FieldType {
                field,
                at,
                code: c,
                format,
                record,
            } => write!(
                f,
                "field {field} (format byte {at}, code '{}'): the format takes {format}, \
                 the record type has {record}",
                code(c)
            ),
        }
    }
}

impl core::error::Error for TypedError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Format(e) => Some(e),
            _ => None,
        }
    }
}

impl embedded_io::Error for TypedError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }
}

impl From<FormatError> for TypedError {
    fn from(e: FormatError) -> Self {
        Self::Format(e)
    }
}
