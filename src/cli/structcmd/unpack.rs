//! `portsock struct unpack`: one record (`unpack`, or `unpack_from` with `--offset`) or every
//! record of a capture (`iter_unpack` with `--iter`), printed as Python prints the tuples.

use std::path::PathBuf;

use clap::Args;
use portsock_core::wire::structfmt::{Format, Struct, UnpackError, Value};

use super::super::{CliError, Output};
use super::ordered::{Chunk, chunk_len, format_in_order, in_memory};
use super::pyprint::write_tuple;
use super::stream::{EndedInsideRecord, RawStream};
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
    /// must be a multiple of the record size. With --raw, stdin or a pipe is printed as it
    /// arrives (a cut last record is an error after the records before it).
    #[arg(long)]
    iter: bool,
    /// Print a JSON array instead, one per line with --iter (bytes as {"bytes_hex": ...};
    /// inf/nan as {"float": ...}).
    #[arg(long)]
    json: bool,
}

/// Runs `struct unpack`.
pub(crate) fn run(args: UnpackArgs) -> Output {
    let fmt = parse(&args.format)?;
    if args.iter {
        iter(&args, &fmt)?;
        return Ok(String::new());
    }
    let input = input::read(args.bytes.as_deref(), args.file.as_deref(), args.raw)?;
    let buf = &input.bytes[..];
    let fault = |e: UnpackError| CliError::new(&input.name, explain(e, &fmt, args.offset));
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

/// `--iter`: every record printed, from a regular file (`--raw --file`) read a chunk at a time
/// while earlier chunks are printed, from raw stdin or a pipe (`--raw`) as the bytes come, else
/// from the input read whole (hex, an argument).
fn iter(args: &UnpackArgs, fmt: &Format<'_>) -> Result<(), CliError> {
    let start = args.offset.unwrap_or(0);
    let size = fmt.size();
    let fault = |name: &str, e: UnpackError| CliError::new(name, explain(e, fmt, args.offset));
    let source = match (args.raw, args.bytes.as_deref(), args.file.as_deref()) {
        (true, None, Some(path)) => match input::RawFile::open(path)? {
            Ok(file) => Source::File(file),
            Err(file) => Source::Stream(RawStream::file(path, file)),
        },
        (true, None, None) => Source::Stream(RawStream::stdin()?),
        _ => Source::Whole,
    };
    let whole: input::Input;
    let (name, chunks): (String, Box<dyn Iterator<Item = Chunk<'_>> + Send + '_>) = match source {
        Source::File(file) => {
            let name = file.name.clone();
            let total = file.len.checked_sub(start as u64);
            let total = total.ok_or_else(|| past_the_end(&name, start, file.len))?;
            check_whole(fmt, total, |e| fault(&name, e))?;
            let chunks = file.chunks(start as u64, chunk_len(size), size)?;
            (name, Box::new(chunks))
        }
        Source::Stream(stream) => {
            // Its length is known only at its end: the records are printed as they come, and
            // a stream that ends inside a record ends with iter_unpack's error after them.
            let name = stream.name.clone();
            fmt.iter_unpack(&[]).map_err(|e| fault(&name, e))?;
            let cut_name = name.clone();
            let ended = move |cut: EndedInsideRecord| {
                fault(&cut_name, UnpackError::NotMultiple { size, got: cut.got })
            };
            let chunks = stream.chunks(start, chunk_len(size), size, ended, past_the_end);
            (name, Box::new(chunks))
        }
        Source::Whole => {
            whole = input::read(args.bytes.as_deref(), args.file.as_deref(), args.raw)?;
            let rest = whole
                .bytes
                .get(start..)
                .ok_or_else(|| past_the_end(&whole.name, start, whole.bytes.len() as u64))?;
            check_whole(fmt, rest.len() as u64, |e| fault(&whole.name, e))?;
            (whole.name.clone(), Box::new(in_memory(rest, size)))
        }
    };
    let fault = |e: UnpackError| fault(&name, e);
    let json = args.json;
    let mut stdout = std::io::stdout().lock();
    let write = |text: &[u8]| flush(&mut stdout, text);
    // A compiled table when the format is small enough, else the format walked per record.
    match Struct::<256>::from_format(fmt).map(Box::new) {
        Ok(compiled) => {
            let chunk = |part: &[u8], buf: &mut Vec<u8>| {
                records(compiled.iter_unpack(part).map_err(fault)?, json, buf)
            };
            format_in_order(chunks, chunk, write)
        }
        Err(_) => {
            let chunk = |part: &[u8], buf: &mut Vec<u8>| {
                records(fmt.iter_unpack(part).map_err(fault)?, json, buf)
            };
            format_in_order(chunks, chunk, write)
        }
    }
}

/// Where `--iter` reads: a regular file a chunk at a time, a stream as it comes, or the input
/// read whole (an argument, hex).
enum Source {
    File(input::RawFile),
    Stream(RawStream),
    Whole,
}

/// What iter_unpack checks of an input of known length before any record is printed: a record
/// size (`ZeroSize`), a whole number of records, and no `0p` quirk when there are records.
fn check_whole(
    fmt: &Format<'_>,
    total: u64,
    fault: impl Fn(UnpackError) -> CliError,
) -> Result<(), CliError> {
    fmt.iter_unpack(&[]).map_err(&fault)?;
    let size = fmt.size();
    if !total.is_multiple_of(size as u64) {
        let got = usize::try_from(total).unwrap_or(usize::MAX);
        return Err(fault(UnpackError::NotMultiple { size, got }));
    }
    if total > 0 {
        fmt.iter_unpack(&vec![0; size]).map_err(fault)?;
    }
    Ok(())
}

/// `--offset` beyond the input.
fn past_the_end(name: &str, start: usize, len: u64) -> CliError {
    CliError::new(
        name,
        format_args!("offset {start} is past the end of its {len} bytes"),
    )
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

/// Appends every record's line to `buf`: Python's `print(t)`, or a JSON array.
fn records<'b, R>(
    records: impl Iterator<Item = R>,
    json: bool,
    buf: &mut Vec<u8>,
) -> Result<(), CliError>
where
    R: Iterator<Item = Value<'b>>,
{
    for record in records {
        if json {
            let items = serde_json::Value::Array(record.map(to_json).collect());
            serde_json::to_writer(&mut *buf, &items).map_err(|e| CliError::new("output", e))?;
            buf.push(b'\n');
        } else {
            write_tuple(buf, record);
        }
    }
    Ok(())
}

/// Writes `buf`; `Ok(false)` if the reader has gone away.
fn flush(out: &mut impl std::io::Write, buf: &[u8]) -> Result<bool, CliError> {
    match out.write_all(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(CliError::new("stdout", e)),
    }
}

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
    fn offsets_in_decimal_or_hex() {
        assert_eq!(parse_offset("16"), Ok(16));
        assert_eq!(parse_offset("0x10"), Ok(16));
        assert!(parse_offset("-1").is_err());
        assert!(parse_offset("0x").is_err());
    }
}
