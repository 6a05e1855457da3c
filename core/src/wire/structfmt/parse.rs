//! Format-string tokenizer and layout, after CPython's `prepare_s` and `align` in
//! `Modules/_struct.c`.
//!
//! [`Layout`] walks the format once per use and yields one [`Run`] per `<count><code>` item with
//! its offset already aligned. [`Format::parse`](super::Format::parse) runs it to the end once to
//! validate; afterwards it cannot fail on the same string, but every step stays fallible (and
//! checked) so that nothing can panic even if that invariant were broken.

use core::ffi::{c_double, c_float, c_int, c_long, c_longlong, c_short};
use core::mem::{align_of, size_of};

use super::FormatError;

/// CPython's `PY_SSIZE_T_MAX` on the target: the bound on every count and on the total size.
pub(super) const MAX_SIZE: usize = isize::MAX as usize;

/// Layout mode chosen by the prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// `@` or no prefix: native sizes, alignment and byte order.
    Native,
    /// `= < > !`: standard sizes, no alignment, the given byte order.
    Standard {
        /// Big-endian.
        big: bool,
    },
}

impl Mode {
    /// The mode a format starts with, and how many bytes the prefix takes (0 or 1).
    pub(super) fn from_prefix(first: Option<u8>) -> (Self, usize) {
        match first {
            Some(b'@') => (Self::Native, 1),
            Some(b'=') => (Self::Standard { big: NATIVE_BIG }, 1),
            Some(b'<') => (Self::Standard { big: false }, 1),
            Some(b'>' | b'!') => (Self::Standard { big: true }, 1),
            _ => (Self::Native, 0),
        }
    }
}

const NATIVE_BIG: bool = cfg!(target_endian = "big");

/// What one item is and how it is encoded. Integer widths are 1, 2, 4 or 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `x`: a zero byte, takes no value.
    Pad,
    /// `c`: one byte from a length-1 bytes value.
    Char,
    /// `?`: one byte, 0 or 1.
    Bool,
    /// `b` (signed 1-byte integer).
    I8,
    /// `B`.
    U8,
    /// `h`, and any other signed 2-byte C integer.
    I16 { big: bool },
    /// `H`, and any other unsigned 2-byte C integer.
    U16 { big: bool },
    /// `i`, standard `l`, and any other signed 4-byte C integer.
    I32 { big: bool },
    /// `I`, standard `L`, and any other unsigned 4-byte C integer.
    U32 { big: bool },
    /// `q`, `n`, and native `l` where `long` is 8 bytes.
    I64 { big: bool },
    /// `Q`, `N`, and native `L` where `long` is 8 bytes.
    U64 { big: bool },
    /// `P`: unsigned on unpack, but packs negatives down to the signed minimum.
    Ptr { size: u8, big: bool },
    /// `e`: IEEE half precision.
    F16 { big: bool },
    /// `f`; `native` means overflow packs ±inf instead of failing (a C cast).
    F32 { big: bool, native: bool },
    /// `d`.
    F64 { big: bool },
    /// `Ns`: a field of `len` bytes. With `pad`, packing writes the padding itself instead of
    /// relying on the record's zero fill (compiled records without `0p` only).
    Str { len: usize, pad: bool },
    /// `Np`: a length byte and `len - 1` bytes of data; `pad` as for `Str`.
    Pascal { len: usize, pad: bool },
}

/// One `<count><code>` item of the format, laid out.
#[derive(Clone, Copy, Debug)]
pub(super) struct Run {
    pub(super) kind: Kind,
    /// The code byte (for error messages).
    pub(super) code: u8,
    /// Format byte of the code.
    pub(super) at: usize,
    /// Offset of the first value's bytes in the record.
    pub(super) offset: usize,
    /// How many values the run takes (0 for `x`, 1 for `s`/`p`, the count otherwise).
    pub(super) values: usize,
    /// Bytes between consecutive values.
    pub(super) stride: usize,
    /// The alignment the item was placed at (1 under a standard prefix).
    pub(super) align: usize,
    /// The repeat count as written (1 when none is).
    pub(super) count: usize,
}

/// Iterator over the runs of a format body; fused after the first error.
#[derive(Clone, Debug)]
pub(super) struct Layout<'a> {
    fmt: &'a [u8],
    pos: usize,
    mode: Mode,
    offset: usize,
}

impl<'a> Layout<'a> {
    /// Starts at byte `pos` of `fmt` (just after the prefix).
    pub(super) fn new(fmt: &'a [u8], pos: usize, mode: Mode) -> Self {
        Self {
            fmt,
            pos,
            mode,
            offset: 0,
        }
    }

    /// Size of the record laid out so far (the total size once the iterator is exhausted).
    pub(super) fn offset(&self) -> usize {
        self.offset
    }

    fn step(&mut self) -> Option<Result<Run, FormatError>> {
        let mut c = *self.fmt.get(self.pos)?;
        while is_space(c) {
            self.pos += 1;
            c = *self.fmt.get(self.pos)?;
        }
        Some(self.item(c))
    }

    fn item(&mut self, first: u8) -> Result<Run, FormatError> {
        let start = self.pos;
        let mut count = 1;
        if first.is_ascii_digit() {
            count = 0usize;
            while let Some(&d) = self.fmt.get(self.pos)
                && d.is_ascii_digit()
            {
                count = count
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(usize::from(d - b'0')))
                    .filter(|&n| n <= MAX_SIZE)
                    .ok_or(FormatError::TooLong { at: start })?;
                self.pos += 1;
            }
        }
        let at = self.pos;
        let code = match self.fmt.get(at) {
            Some(&c) if !is_space(c) => c,
            _ => return Err(FormatError::CountWithoutCode { at }),
        };
        self.pos += 1;
        let (kind, item_size, align) = entry(self.mode, code, count, at)?;

        // CPython's `align()`: round up to the alignment (a power of two, from `align_of`).
        let mut offset = self.offset;
        if align > 1 {
            let extra = offset.wrapping_neg() & (align - 1);
            offset = offset
                .checked_add(extra)
                .filter(|&o| o <= MAX_SIZE)
                .ok_or(FormatError::TooLong { at })?;
        }
        // CPython's `num > (PY_SSIZE_T_MAX - size) / itemsize` test, without the division.
        let bytes = count
            .checked_mul(item_size)
            .filter(|&b| b <= MAX_SIZE - offset)
            .ok_or(FormatError::TooLong { at })?;
        self.offset = offset + bytes;
        let (values, stride) = match kind {
            Kind::Pad => (0, item_size),
            Kind::Str { .. } | Kind::Pascal { .. } => (1, bytes),
            _ => (count, item_size),
        };
        Ok(Run {
            kind,
            code,
            at,
            offset,
            values,
            stride,
            align,
            count,
        })
    }
}

impl Iterator for Layout<'_> {
    type Item = Result<Run, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        let step = self.step();
        if let Some(Err(_)) = step {
            self.pos = self.fmt.len();
        }
        step
    }
}

/// Python's `Py_ISSPACE` on ASCII: space, `\t \n \v \f \r`.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Kind, item size and alignment of `code` in `mode` (CPython's native and standard tables).
fn entry(
    mode: Mode,
    code: u8,
    count: usize,
    at: usize,
) -> Result<(Kind, usize, usize), FormatError> {
    let big = match mode {
        Mode::Native => NATIVE_BIG,
        Mode::Standard { big } => big,
    };
    let native = mode == Mode::Native;
    let int = |size: usize, align: usize, signed: bool| {
        // Every C integer type is 1, 2, 4 or 8 bytes on the targets Rust supports.
        let kind = match (size, signed) {
            (1, true) => Kind::I8,
            (1, false) => Kind::U8,
            (2, true) => Kind::I16 { big },
            (2, false) => Kind::U16 { big },
            (4, true) => Kind::I32 { big },
            (4, false) => Kind::U32 { big },
            (_, true) => Kind::I64 { big },
            (_, false) => Kind::U64 { big },
        };
        (kind, size, align)
    };
    let std_int = |size: usize, signed: bool| int(size, 1, signed);
    Ok(match code {
        b'x' => (Kind::Pad, 1, 1),
        b'c' => (Kind::Char, 1, 1),
        b'?' => (Kind::Bool, 1, 1),
        b's' => (
            Kind::Str {
                len: count,
                pad: false,
            },
            1,
            1,
        ),
        b'p' => (
            Kind::Pascal {
                len: count,
                pad: false,
            },
            1,
            1,
        ),
        b'b' | b'B' => std_int(1, code == b'b'),
        b'e' if native => (Kind::F16 { big }, 2, align_of::<c_short>()),
        b'e' => (Kind::F16 { big }, 2, 1),
        b'f' if native => (
            Kind::F32 { big, native },
            size_of::<c_float>(),
            align_of::<c_float>(),
        ),
        b'f' => (Kind::F32 { big, native }, 4, 1),
        b'd' if native => (
            Kind::F64 { big },
            size_of::<c_double>(),
            align_of::<c_double>(),
        ),
        b'd' => (Kind::F64 { big }, 8, 1),
        b'h' | b'H' if native => int(size_of::<c_short>(), align_of::<c_short>(), code == b'h'),
        b'i' | b'I' if native => int(size_of::<c_int>(), align_of::<c_int>(), code == b'i'),
        b'l' | b'L' if native => int(size_of::<c_long>(), align_of::<c_long>(), code == b'l'),
        b'q' | b'Q' if native => int(
            size_of::<c_longlong>(),
            align_of::<c_longlong>(),
            code == b'q',
        ),
        b'n' | b'N' if native => int(size_of::<isize>(), align_of::<isize>(), code == b'n'),
        b'P' if native => {
            let size = size_of::<*const ()>() as u8;
            (
                Kind::Ptr { size, big },
                usize::from(size),
                align_of::<*const ()>(),
            )
        }
        b'h' | b'H' => std_int(2, code == b'h'),
        b'i' | b'I' | b'l' | b'L' => std_int(4, code.is_ascii_lowercase()),
        b'q' | b'Q' => std_int(8, code == b'q'),
        b'n' | b'N' | b'P' => return Err(FormatError::NativeOnly { at, code }),
        b'@' | b'=' | b'<' | b'>' | b'!' => return Err(FormatError::MisplacedPrefix { at, code }),
        0 => return Err(FormatError::EmbeddedNul { at }),
        0x80.. => return Err(FormatError::NonAscii { at }),
        _ => return Err(FormatError::UnknownCode { at, code }),
    })
}
