//! `portsock struct ...`: Python's `struct.calcsize`, `pack` and `unpack` on the command line,
//! and `layout`, the offsets and padding behind `calcsize`.

use clap::Subcommand;
use portsock_core::wire::structfmt::{Format, Value};

use super::args::parse_value;
use super::hexin::{decode as decode_hex, encode as encode_hex};
use super::{CliError, Output};

mod input;
mod layout;
mod ordered;
mod pyprint;
mod stream;
mod unpack;

#[derive(Debug, Subcommand)]
pub(crate) enum StructCmd {
    /// Print the size in bytes of a format (`struct.calcsize`).
    Calcsize {
        /// The format, e.g. 'I 2s f' (prefixes @ = < > !, codes x c b B ? h H i I l L q Q n N e f d s p P).
        format: String,
    },
    /// Pack values and print the bytes as lowercase hex (`struct.pack`), or raw with --raw.
    Pack {
        /// The format, e.g. 'I 2s f'.
        format: String,
        /// One per value: integers (decimal, 0x hex, may be negative), floats (2.7, inf, -inf,
        /// nan), True/False; for s/p/c: hex:6162 (hex: alone is empty) or plain UTF-8 text.
        #[arg(allow_hyphen_values = true, num_args = 0..)]
        values: Vec<String>,
        /// Write the packed bytes themselves to stdout, not hex (`> record.bin`).
        #[arg(long)]
        raw: bool,
    },
    /// Unpack bytes and print the tuple as Python's print() shows it (`struct.unpack`,
    /// `unpack_from` with --offset, `iter_unpack` with --iter).
    Unpack(unpack::UnpackArgs),
    /// Show where each item of a format lands: offset, size, alignment padding, and the total
    /// (why 'I 2s f' is 12 bytes and '=I 2s f' 10).
    Layout {
        /// The format, e.g. 'I 2s f'.
        format: String,
        /// Print one JSON object (items with offset, size, align, padding; size; values).
        #[arg(long)]
        json: bool,
    },
}

impl StructCmd {
    pub(crate) fn run(self) -> Output {
        match self {
            Self::Calcsize { format } => Ok(format!("{}\n", parse(&format)?.size())),
            Self::Pack {
                format,
                values,
                raw,
            } => pack(&format, &values, raw),
            Self::Unpack(args) => unpack::run(args),
            Self::Layout { format, json } => layout::run(&format, json),
        }
    }
}

pub(crate) fn parse(format: &str) -> Result<Format<'_>, CliError> {
    Format::parse(format).map_err(|e| CliError::new(format_args!("format {format:?}"), e))
}

/// The largest record the commands pack or receive: 64 MiB. A format such as
/// '100000000000x' is valid and takes no values, but its buffer would not fit in memory.
pub(crate) const MAX_RECORD: usize = 64 << 20;

/// Refuses a format whose record is larger than [`MAX_RECORD`].
pub(crate) fn check_record_size(fmt: &Format<'_>, format: &str) -> Result<(), CliError> {
    if fmt.size() <= MAX_RECORD {
        return Ok(());
    }
    Err(CliError::new(
        format_args!("format {format:?}"),
        format_args!(
            "a record of {} bytes is larger than the {MAX_RECORD} bytes this command handles",
            fmt.size()
        ),
    ))
}

fn pack(format: &str, args: &[String], raw: bool) -> Output {
    let fmt = parse(format)?;
    check_record_size(&fmt, format)?;
    let decoded = decode_args(&fmt, format, args)?;
    let values = parse_values(&fmt, args, &decoded)?;
    let mut buf = vec![0u8; fmt.size()];
    fmt.pack(&mut buf, &values)
        .map_err(|e| CliError::new(format_args!("format {format:?}"), e))?;
    if raw {
        // Bytes, not text: written here, once the whole record is packed.
        input::write_stdout(&buf)?;
        return Ok(String::new());
    }
    Ok(format!("{}\n", encode_hex(&buf)))
}

/// The `hex:` arguments decoded (`None` for the others), after checking that `args` has one
/// value per code of `fmt`.
pub(crate) fn decode_args(
    fmt: &Format<'_>,
    format: &str,
    args: &[String],
) -> Result<Vec<Option<Vec<u8>>>, CliError> {
    // Compare counts before collecting: a format such as '1000000000000i' is valid but takes
    // more values than any command line can hold.
    if fmt.value_count() != args.len() {
        return Err(CliError::new(
            format_args!("format {format:?}"),
            format_args!("expected {} values, got {}", fmt.value_count(), args.len()),
        ));
    }
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            a.strip_prefix("hex:")
                .map(decode_hex)
                .transpose()
                .map_err(|e| CliError::new(format_args!("value {} {a:?}", i + 1), e))
        })
        .collect()
}

/// The values `args` spell for `fmt`'s codes, with `decoded` from [`decode_args`].
pub(crate) fn parse_values<'a>(
    fmt: &Format<'_>,
    args: &'a [String],
    decoded: &'a [Option<Vec<u8>>],
) -> Result<Vec<Value<'a>>, CliError> {
    args.iter()
        .zip(decoded)
        .zip(fmt.value_codes())
        .enumerate()
        .map(|(i, ((a, d), code))| {
            parse_value(a, d.as_deref(), code)
                .map_err(|e| CliError::new(format_args!("value {} {a:?}", i + 1), e))
        })
        .collect()
}

/// The JSON spelling of an unpacked value, the same as the vectors in `tests/data/vectors`.
pub(crate) fn to_json(value: Value<'_>) -> serde_json::Value {
    use serde_json::{Value as J, json};
    match value {
        Value::Int(i) => match (i64::try_from(i), u64::try_from(i)) {
            (Ok(v), _) => json!(v),
            (_, Ok(v)) => json!(v),
            _ => json!({ "int": i.to_string() }),
        },
        Value::BigInt(text) => json!({ "int": text }),
        Value::Float(f) if f.is_finite() && !(f == 0.0 && f.is_sign_negative()) => json!(f),
        Value::Float(f) => {
            let text = if f.is_nan() {
                if f.is_sign_negative() { "-nan" } else { "nan" }
            } else if f.is_infinite() {
                if f > 0.0 { "inf" } else { "-inf" }
            } else {
                "-0.0"
            };
            json!({ "float": text })
        }
        Value::Bool(b) => J::Bool(b),
        Value::Bytes(b) => json!({ "bytes_hex": encode_hex(b) }),
    }
}
