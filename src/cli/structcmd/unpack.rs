//! `portsock struct unpack`: one record (`unpack`, or `unpack_from` with `--offset`) or every
//! record of a capture (`iter_unpack` with `--iter`), printed as Python prints the tuples.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;
use portsock_core::wire::structfmt::{Format, Struct, UnpackError, Value};

use super::super::{CliError, Output};
use super::{input, parse, to_json};

/// The arguments of `struct unpack`.
#[derive(Debug, Args)]
pub(crate) struct UnpackArgs {
    /// The format, e.g. 'I 2s f'.
    format: String,
    /// The bytes as hex: plain (0100ff), spaced, 0x-prefixed (0x0100ff, 0x01,0x00),
    /// colon-separated (01:00:ff), or an xxd (also -e) or tcpdump -X dump. Without it, the bytes
    /// are read from --file or stdin.
    bytes: Option<String>,
    /// Read the bytes from this file instead.
    #[arg(long, value_name = "PATH", conflicts_with = "bytes")]
    file: Option<PathBuf>,
    /// The input is the bytes themselves, not hex (for --file and stdin).
    #[arg(long)]
    raw: bool,
    /// Unpack the record at this byte offset (decimal or 0x hex), ignoring the bytes after it
    /// (`struct.unpack_from`); with --iter, skip this many bytes first.
    #[arg(long, value_name = "N", value_parser = parse_offset)]
    offset: Option<usize>,
    /// Unpack every record of the input, one tuple per line (`struct.iter_unpack`): its length
    /// must be a multiple of the record size.
    #[arg(long)]
    iter: bool,
    /// Print a JSON array instead, one per line with --iter (bytes as {"bytes_hex": ...};
    /// inf/nan as {"float": ...}).
    #[arg(long)]
    json: bool,
}

/// Buffered output is written out in pieces of this size.
const CHUNK: usize = 1 << 16;

/// Runs `struct unpack`.
pub(crate) fn run(args: UnpackArgs) -> Output {
    let fmt = parse(&args.format)?;
    let input = input::read(args.bytes.as_deref(), args.file.as_deref(), args.raw)?;
    let buf = &input.bytes[..];
    let fault = |e: UnpackError| CliError::new(&input.name, explain(e, &fmt, args.offset));
    if args.iter {
        let start = args.offset.unwrap_or(0);
        let rest = buf.get(start..).ok_or_else(|| {
            CliError::new(
                &input.name,
                format_args!("offset {start} is past the end of its {} bytes", buf.len()),
            )
        })?;
        // A compiled table when the format is small enough, else the format walked per record.
        match Struct::<256>::from_format(&fmt).map(Box::new) {
            Ok(compiled) => stream(compiled.iter_unpack(rest).map_err(fault)?, args.json)?,
            Err(_) => stream(fmt.iter_unpack(rest).map_err(fault)?, args.json)?,
        }
        return Ok(String::new());
    }
    let values = match args.offset {
        Some(offset) => fmt.unpack_from(buf, offset),
        None => fmt.unpack(buf),
    }
    .map_err(fault)?;
    if args.json {
        let items: Vec<serde_json::Value> = values.map(to_json).collect();
        return Ok(format!("{}\n", serde_json::Value::Array(items)));
    }
    let mut out = Vec::new();
    write_tuple(&mut out, values);
    String::from_utf8(out).map_err(|e| CliError::new("output", e))
}

/// The core's error, with what to try when the length is not the record's.
fn explain(e: UnpackError, fmt: &Format<'_>, offset: Option<usize>) -> String {
    match e {
        UnpackError::SizeMismatch { got, .. } if got > fmt.size() && offset.is_none() => {
            format!("{e} (--offset N reads one record from a longer buffer, --iter every record)")
        }
        UnpackError::NotMultiple { size, got } => {
            let left = got % size;
            let unit = if left == 1 { "byte" } else { "bytes" };
            format!(
                "{e}: {} whole records and {left} {unit} left over",
                got / size
            )
        }
        _ => e.to_string(),
    }
}

/// Writes every record, one line each, flushing every [`CHUNK`] bytes. Stops quietly if the
/// reader goes away (`| head`).
fn stream<'b, R>(records: impl Iterator<Item = R>, json: bool) -> Result<(), CliError>
where
    R: Iterator<Item = Value<'b>>,
{
    let mut stdout = std::io::stdout().lock();
    let mut buf = Vec::with_capacity(CHUNK + 4096);
    for record in records {
        if json {
            let items = serde_json::Value::Array(record.map(to_json).collect());
            serde_json::to_writer(&mut buf, &items).map_err(|e| CliError::new("output", e))?;
            buf.push(b'\n');
        } else {
            write_tuple(&mut buf, record);
        }
        if buf.len() >= CHUNK {
            if !flush(&mut stdout, &buf)? {
                return Ok(());
            }
            buf.clear();
        }
    }
    flush(&mut stdout, &buf).map(drop)
}

/// Writes `buf`; `Ok(false)` if the reader has gone away.
fn flush(out: &mut impl std::io::Write, buf: &[u8]) -> Result<bool, CliError> {
    match out.write_all(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(CliError::new("stdout", e)),
    }
}

/// Appends Python's `repr` of the tuple and a newline, as `print(t)` writes it: the same text
/// as the core's `write_tuple`, with integers written in place rather than by `core::fmt`.
fn write_tuple<'a>(out: &mut Vec<u8>, values: impl Iterator<Item = Value<'a>>) {
    out.push(b'(');
    let mut count = 0usize;
    for value in values {
        if count > 0 {
            out.extend_from_slice(b", ");
        }
        match value {
            Value::Int(i) => match i64::try_from(i) {
                Ok(small) => push_i64(out, small),
                // Only `Q` and `P` values past i64::MAX: rare enough for core::fmt.
                Err(_) => {
                    let _ = write!(out, "{i}");
                }
            },
            Value::Bool(true) => out.extend_from_slice(b"True"),
            Value::Bool(false) => out.extend_from_slice(b"False"),
            // Writing to a Vec cannot fail.
            other => {
                let _ = write!(out, "{other}");
            }
        }
        count += 1;
    }
    if count == 1 {
        out.push(b',');
    }
    out.extend_from_slice(b")\n");
}

/// Appends `n` in decimal. itoa (tried first) formats into its own buffer, and copying its
/// digits out reads back bytes just stored two at a time, which the CPU cannot forward to a
/// wider load: half of `--iter`'s time on integer records. These write straight into `out`,
/// eight digits at a time in independent pairs, so that a ten-digit timestamp is not one long
/// chain of divisions either.
#[inline(always)]
fn push_i64(out: &mut Vec<u8>, n: i64) {
    const E8: u64 = 100_000_000;
    if n < 0 {
        out.push(b'-');
    }
    let n = n.unsigned_abs();
    let len = n.checked_ilog10().map_or(1, |l| l as usize + 1);
    let start = out.len();
    // A fixed run (u64::MAX has 20 digits), written over and cut to length.
    out.extend_from_slice(&[b'0'; 20]);
    let Some(dst) = out.get_mut(start..start + len) else {
        return;
    };
    // Each part is below 10^8, so the casts keep it.
    if n < E8 {
        put_small(dst, n as u32);
    } else if let Some((high, low)) = dst.split_at_mut_checked(len.saturating_sub(8)) {
        let top = n / E8;
        if top < E8 {
            put_small(high, top as u32);
        } else if let Some((higher, mid)) = high.split_at_mut_checked(len.saturating_sub(16)) {
            put_small(higher, (top / E8) as u32);
            put8(mid, (top % E8) as u32);
        }
        put8(low, (n % E8) as u32);
    }
    out.truncate(start + len);
}

/// Writes `x` (below 10^8) as exactly `dst.len()` digits, the last first.
#[inline(always)]
fn put_small(dst: &mut [u8], mut x: u32) {
    let mut end = dst.len();
    while end >= 2 {
        let pair = 2 * (x % 100) as usize;
        x /= 100;
        end -= 2;
        dst[end..end + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if end == 1 {
        dst[0] = b'0' + (x % 10) as u8;
    }
}

/// Writes `x` (below 10^8) as eight digits, its four pairs computed independently.
#[inline(always)]
fn put8(dst: &mut [u8], x: u32) {
    let (a, b) = (x / 10_000, x % 10_000);
    for (i, q) in [a / 100, a % 100, b / 100, b % 100].into_iter().enumerate() {
        let q = 2 * q as usize;
        if let (Some(d), Some(p)) = (dst.get_mut(2 * i..2 * i + 2), PAIRS.get(q..q + 2)) {
            d.copy_from_slice(p);
        }
    }
}

/// "00" to "99".
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// `--offset`: a byte offset, decimal or `0x` hex.
fn parse_offset(text: &str) -> Result<usize, String> {
    let parsed = match text.strip_prefix("0x").or(text.strip_prefix("0X")) {
        Some(hex) => usize::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|_| format!("expected a byte offset (decimal or 0x hex), got {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_as_python_prints_them() {
        let mut out = Vec::new();
        write_tuple(&mut out, [Value::Int(-5)].into_iter());
        write_tuple(&mut out, [].into_iter());
        let values = [
            Value::Int(i128::from(u64::MAX) + 1),
            Value::Bytes(b"a'"),
            Value::Float(2.7),
            Value::Bool(false),
        ];
        write_tuple(&mut out, values.into_iter());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "(-5,)\n()\n(18446744073709551616, b\"a'\", 2.7, False)\n"
        );
    }

    #[test]
    fn integers_as_display_writes_them() {
        let mut cases = vec![0, 1, -1, 9, 10, 99, 100, 101, i64::MIN, i64::MAX];
        cases.extend((0..19).flat_map(|p| {
            let t = 10i64.pow(p);
            [t - 1, t, t + 1, -t]
        }));
        for n in cases {
            let mut out = b"x".to_vec();
            push_i64(&mut out, n);
            assert_eq!(std::str::from_utf8(&out[1..]).unwrap(), n.to_string());
        }
    }

    #[test]
    fn offsets_in_decimal_or_hex() {
        assert_eq!(parse_offset("16"), Ok(16));
        assert_eq!(parse_offset("0x10"), Ok(16));
        assert!(parse_offset("-1").is_err());
        assert!(parse_offset("0x").is_err());
    }
}
