//! The three error types of the codec: one per operation (parse, pack, unpack).

use core::fmt;

use embedded_io::ErrorKind;

/// Why a format string was refused by [`Format::parse`](super::Format::parse) (CPython raises
/// `struct.error` or `UnicodeEncodeError` for all of these).
///
/// Every position is a 0-based byte index into the whole format string, prefix included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FormatError {
    /// A byte that is not a format code (CPython: "bad char in struct format").
    UnknownCode {
        /// Where the byte is.
        at: usize,
        /// The byte.
        code: u8,
    },
    /// A byte-order prefix (`@ = < > !`) anywhere but as the very first character.
    MisplacedPrefix {
        /// Where the prefix is.
        at: usize,
        /// The prefix.
        code: u8,
    },
    /// `n`, `N` or `P` after a standard prefix (`= < > !`); they exist only in native mode.
    NativeOnly {
        /// Where the code is.
        at: usize,
        /// The code.
        code: u8,
    },
    /// A repeat count at the end of the format or followed by whitespace (`'3'`, `'i3'`,
    /// `'2 s'`).
    CountWithoutCode {
        /// Where the code should have been.
        at: usize,
    },
    /// A NUL byte inside the format.
    EmbeddedNul {
        /// Where the NUL is.
        at: usize,
    },
    /// A non-ASCII character (CPython: `UnicodeEncodeError`).
    NonAscii {
        /// The first byte of the character.
        at: usize,
    },
    /// A repeat count or the total size exceeds `isize::MAX` (CPython's `Py_ssize_t`).
    TooLong {
        /// The count or code that pushed the size over the limit.
        at: usize,
    },
    /// The format takes more values than the capacity of the [`Struct`](super::Struct).
    TooManyFields {
        /// The capacity (`N`).
        limit: usize,
        /// How many values the format takes.
        needed: usize,
    },
}

/// Why [`Format::pack_into`](super::Format::pack_into) (or `pack`) refused its arguments.
///
/// `item` is the 0-based index of the offending value in the values slice, `code` the format
/// code it was meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PackError {
    /// The format itself is invalid.
    Format(FormatError),
    /// Not as many values as the format takes.
    ValueCount {
        /// What the format takes.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// The buffer cannot hold the record at the requested offset.
    BufferTooSmall {
        /// Where the record was to start.
        offset: usize,
        /// The record size.
        need: usize,
        /// The buffer length.
        got: usize,
    },
    /// An integer outside the range of its code.
    OutOfRange {
        /// Index of the value.
        item: usize,
        /// Its format code.
        code: u8,
        /// The value, or `None` for a [`Value::BigInt`](super::Value::BigInt) beyond `i128`.
        value: Option<i128>,
        /// Smallest accepted value.
        min: i128,
        /// Largest accepted value.
        max: i128,
    },
    /// A value of a kind the code does not accept (a float for `i`, an int for `s`, ...).
    WrongKind {
        /// Index of the value.
        item: usize,
        /// Its format code.
        code: u8,
        /// What the code accepts.
        expected: &'static str,
        /// What was given.
        got: &'static str,
    },
    /// A `c` value that is not exactly one byte long.
    CharLength {
        /// Index of the value.
        item: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// A float too large for `e`, or for `f` under a standard prefix (CPython: `OverflowError`).
    FloatOverflow {
        /// Index of the value.
        item: usize,
        /// Its format code.
        code: u8,
    },
    /// An integer too large to convert to a double (|x| rounds to 2**1024 or more).
    IntTooLargeForFloat {
        /// Index of the value.
        item: usize,
        /// Its format code.
        code: u8,
    },
    /// A [`Value::BigInt`](super::Value::BigInt) whose text is not `[+-]?[0-9]+`.
    InvalidBigInt {
        /// Index of the value.
        item: usize,
        /// Its format code.
        code: u8,
    },
}

/// Why [`Format::unpack`](super::Format::unpack) and friends refused a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum UnpackError {
    /// `unpack` needs a buffer of exactly the record size.
    SizeMismatch {
        /// The record size.
        need: usize,
        /// The buffer length.
        got: usize,
    },
    /// `unpack_from` needs the record size in bytes after the offset.
    BufferTooSmall {
        /// Where the record was to start.
        offset: usize,
        /// The record size.
        need: usize,
        /// The buffer length.
        got: usize,
    },
    /// `iter_unpack` needs a whole number of records.
    NotMultiple {
        /// The record size.
        size: usize,
        /// The buffer length.
        got: usize,
    },
    /// `iter_unpack` with a record size of 0.
    ZeroSize,
    /// The format contains `0p`, which CPython cannot unpack (`SystemError`).
    ZeroLengthPascal {
        /// Format byte of the `p`.
        at: usize,
    },
    /// [`Struct::unpack_into`](super::Struct::unpack_into) was given fewer slots than the
    /// format has values.
    TooFewSlots {
        /// The format's value count.
        need: usize,
        /// The slots given.
        got: usize,
    },
}

/// Shows a format code the way Python quotes it: `'y'`, `'\x01'`.
struct Code(u8);

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", char::from(self.0).escape_default())
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::UnknownCode { at, code } => {
                write!(f, "format byte {at}: unknown code {}", Code(code))
            }
            Self::MisplacedPrefix { at, code } => write!(
                f,
                "format byte {at}: byte-order prefix {} allowed only as the first character",
                Code(code)
            ),
            Self::NativeOnly { at, code } => write!(
                f,
                "format byte {at}: code {} exists only in native mode ('@' or no prefix)",
                Code(code)
            ),
            Self::CountWithoutCode { at } => {
                write!(f, "format byte {at}: repeat count not followed by a code")
            }
            Self::EmbeddedNul { at } => write!(f, "format byte {at}: embedded NUL"),
            Self::NonAscii { at } => write!(f, "format byte {at}: non-ASCII character"),
            Self::TooLong { at } => write!(
                f,
                "format byte {at}: total struct size above {} bytes",
                isize::MAX
            ),
            Self::TooManyFields { limit, needed } => write!(
                f,
                "format takes {needed} values, more than the {limit} this Struct can hold"
            ),
        }
    }
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Format(e) => e.fmt(f),
            Self::ValueCount { expected, got } => {
                write!(f, "expected {expected} values, got {got}")
            }
            Self::BufferTooSmall { offset, need, got } => buffer_too_small(f, offset, need, got),
            Self::OutOfRange {
                item,
                code,
                value,
                min,
                max,
            } => {
                write!(f, "item {item} ({}): ", Code(code))?;
                match value {
                    Some(v) => write!(f, "{v}")?,
                    None => f.write_str("integer beyond 128 bits")?,
                }
                write!(f, " out of range {min}..={max}")
            }
            Self::WrongKind {
                item,
                code,
                expected,
                got,
            } => {
                write!(
                    f,
                    "item {item} ({}): expected {expected}, got {got}",
                    Code(code)
                )
            }
            Self::CharLength { item, len } => write!(
                f,
                "item {item} ('c'): expected a bytes object of length 1, got {len} bytes"
            ),
            Self::FloatOverflow { item, code } => {
                let width = if code == b'e' { 2 } else { 4 };
                write!(
                    f,
                    "item {item} ({}): float too large for a {width}-byte float",
                    Code(code)
                )
            }
            Self::IntTooLargeForFloat { item, code } => write!(
                f,
                "item {item} ({}): integer too large to convert to float",
                Code(code)
            ),
            Self::InvalidBigInt { item, code } => write!(
                f,
                "item {item} ({}): big integer text is not an optional sign and decimal digits",
                Code(code)
            ),
        }
    }
}

impl fmt::Display for UnpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::SizeMismatch { need, got } => {
                write!(f, "buffer of {got} bytes, format needs exactly {need}")
            }
            Self::BufferTooSmall { offset, need, got } => buffer_too_small(f, offset, need, got),
            Self::NotMultiple { size, got } => write!(
                f,
                "buffer of {got} bytes, expected a multiple of the {size}-byte record"
            ),
            Self::ZeroSize => f.write_str("format of size 0, cannot iterate over records"),
            Self::ZeroLengthPascal { at } => {
                write!(f, "format byte {at}: a '0p' field cannot be unpacked")
            }
            Self::TooFewSlots { need, got } => {
                write!(f, "room for {got} values, format has {need}")
            }
        }
    }
}

fn buffer_too_small(
    f: &mut fmt::Formatter<'_>,
    offset: usize,
    need: usize,
    got: usize,
) -> fmt::Result {
    write!(f, "buffer of {got} bytes, format needs {need}")?;
    if offset != 0 {
        write!(f, " at offset {offset}")?;
    }
    Ok(())
}

impl core::error::Error for FormatError {}
impl core::error::Error for PackError {}
impl core::error::Error for UnpackError {}

impl embedded_io::Error for FormatError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }
}

impl embedded_io::Error for PackError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }
}

impl embedded_io::Error for UnpackError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::ZeroSize | Self::ZeroLengthPascal { .. } | Self::TooFewSlots { .. } => {
                ErrorKind::InvalidInput
            }
            _ => ErrorKind::InvalidData,
        }
    }
}

impl From<FormatError> for PackError {
    fn from(e: FormatError) -> Self {
        Self::Format(e)
    }
}
