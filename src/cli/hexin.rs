//! Hex bytes in the forms people paste: plain (`0100ff`), spaced (`01 00 ff`), `0x`-prefixed
//! (`0x0100ff`, or `0x01, 0x00, 0xff` as in the body of `xxd -i`'s C array), colon-separated
//! (`01:00:ff`), and the dumps of `xxd` (`00000000: 0100 ff..  ...`) and `tcpdump -X` / `-x`
//! (`\t0x0000:  4500 0054 ...  E..T`).
//!
//! Digit pairs are decoded by the `hex` crate; this module only finds them. A dump is told from
//! the other forms by its lines starting with an offset of four or more hex digits and a colon
//! followed by whitespace (`01:00` is two bytes, `0010: 01` a dump line). In a dump, only the hex
//! columns are read (the ASCII column after the two-space gap is ignored), lines without an
//! offset (tcpdump's packet header) are skipped unless they are hex themselves, and each line's
//! offset must be the number of bytes read so far, so that a missing or repeated line is an
//! error, not silently lost data.
//!
//! `xxd -e` writes each group of bytes as one little-endian number (`00000001` for the bytes
//! `01 00 00 00`; the last group, when short, right-aligned), while its ASCII column stays in
//! memory order. Such a dump is told by that column: where it agrees with each group's bytes
//! reversed but not with the groups as written, every group is reversed (and a dump whose lines
//! disagree is refused). A dump whose column cannot tell the two apart (no printable byte where
//! the orders differ) is read as written, as plain `xxd`, `xxd -g4` and tcpdump write it.

use std::fmt;

/// Why a text is not hex bytes: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HexError {
    /// 1-based line and column of the fault, in characters.
    line: usize,
    column: usize,
    what: String,
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (line {}, column {}); expected hex bytes: plain (0100ff), spaced (01 00 ff), \
             0x-prefixed (0x0100ff, 0x01,0x00), colon-separated (01:00:ff), or an xxd \
             (also -e) or tcpdump -X dump",
            self.what, self.line, self.column
        )
    }
}

/// Decodes `text` in any of the forms above.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, HexError> {
    if text.lines().any(|l| dump_line(l).is_some()) {
        decode_dump(text)
    } else {
        let mut out = Vec::with_capacity(text.len() / 2);
        for (n, line) in text.lines().enumerate() {
            decode_tokens(line, n + 1, 0, &mut out)?;
        }
        Ok(out)
    }
}

/// Lowercase hex, no separators.
pub(crate) fn encode(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A dump line's offset and the text after its `offset:`, or `None` if `line` is not one.
fn dump_line(line: &str) -> Option<(usize, &str)> {
    let body = line.trim_start();
    let digits = body.strip_prefix("0x").unwrap_or(body);
    let colon = digits.find(':')?;
    let offset_text = &digits[..colon];
    let after = &digits[colon + 1..];
    if offset_text.len() < 4
        || !offset_text.bytes().all(|b| b.is_ascii_hexdigit())
        || !after.starts_with([' ', '\t'])
    {
        return None;
    }
    let offset = usize::from_str_radix(offset_text, 16).ok()?;
    Some((offset, after))
}

fn decode_dump(text: &str) -> Result<Vec<u8>, HexError> {
    let mut lines: Vec<DumpLine> = Vec::new();
    let mut out_len = 0;
    let mut first: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        let Some((offset, rest)) = dump_line(line) else {
            // tcpdump's packet header, a blank line, or a shell prompt: not part of the bytes.
            // A line of hex without an offset would be, so it is refused rather than dropped.
            let mut stray = Vec::new();
            if decode_tokens(line, n + 1, 0, &mut stray).is_ok() && !stray.is_empty() {
                return Err(HexError {
                    line: n + 1,
                    column: 1,
                    what: "hex without an offset among the lines of a dump".to_owned(),
                });
            }
            continue;
        };
        let base = *first.get_or_insert(offset);
        if offset != base + out_len {
            return Err(HexError {
                line: n + 1,
                column: 1,
                what: format!(
                    "a dump line at offset {offset:#x} where the bytes read so far end at \
                     {:#x} (a line missing or repeated, or a second dump)",
                    base + out_len
                ),
            });
        }
        let rest = rest.trim_start();
        let (hex_part, ascii) = split_columns(rest);
        let mut bytes = Vec::new();
        decode_tokens(
            hex_part,
            n + 1,
            char_column(line, line.len() - rest.len()) - 1,
            &mut bytes,
        )?;
        out_len += bytes.len();
        let groups = groups(hex_part, bytes.len());
        lines.push(DumpLine {
            line_no: n + 1,
            order: ascii.map_or(Order::Either, |a| order_told(&bytes, &groups, a)),
            bytes,
            groups,
        });
    }
    let reversed = dump_order(&lines)?;
    let mut out = Vec::with_capacity(out_len);
    for line in lines {
        if reversed {
            let mut at = 0;
            for size in line.groups {
                out.extend(line.bytes[at..at + size].iter().rev());
                at += size;
            }
        } else {
            out.extend_from_slice(&line.bytes);
        }
    }
    Ok(out)
}

/// One line of a dump: its bytes as written, the sizes of its groups (empty when its hex
/// column is not whitespace-separated groups) and what its ASCII column says of their order.
struct DumpLine {
    line_no: usize,
    bytes: Vec<u8>,
    groups: Vec<usize>,
    order: Order,
}

/// Which reading of a line's groups its ASCII column agrees with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Both (or neither, or there is no column): it tells nothing.
    Either,
    /// The groups as written (plain `xxd`, tcpdump).
    AsWritten,
    /// Each group's bytes reversed (`xxd -e`).
    Reversed,
}

/// The hex columns of a dump line (after its offset) and its ASCII column, if it has one. The
/// ASCII column holds one character per byte and ends the line, after a gap of two or more
/// spaces: of the gaps in `rest`, the first after which exactly as many characters remain as
/// the hex before it has bytes. (The first gap is not enough: `xxd -e` right-aligns a short
/// last group, `8cf3dae8       ab`.) Without such a gap (`tcpdump -x`, an edited dump), the
/// hex columns end at the first gap, as before.
fn split_columns(rest: &str) -> (&str, Option<&str>) {
    let rest = rest.trim_end_matches(['\r', '\n']);
    let mut search = 0;
    let mut first_gap = None;
    while let Some(found) = rest[search..].find("  ") {
        let gap = search + found;
        first_gap.get_or_insert(gap);
        let hex = &rest[..gap];
        let after = rest[gap..].trim_start_matches(' ');
        let ascii_start = rest.len() - after.len();
        let bytes = hex_digit_count(hex) / 2;
        // The column may itself start with spaces (bytes 0x20): take its last `bytes`
        // characters when only spaces (two at least) stand between them and the hex.
        if bytes > 0 && rest[gap..].chars().count() >= bytes + 2 {
            let start = rest
                .char_indices()
                .rev()
                .nth(bytes - 1)
                .map_or(rest.len(), |(i, _)| i);
            if start >= gap && rest[gap..start].bytes().all(|b| b == b' ') {
                return (hex, Some(&rest[start..]));
            }
        }
        search = ascii_start.max(gap + 2);
        if search >= rest.len() {
            break;
        }
    }
    match first_gap {
        Some(gap) => (&rest[..gap], None),
        None => (rest, None),
    }
}

/// How many hex digits `hex`'s whitespace-separated tokens hold (a token's `0x` not counted).
fn hex_digit_count(hex: &str) -> usize {
    hex.split_whitespace()
        .map(|t| t.strip_prefix("0x").unwrap_or(t))
        .filter(|t| t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::len)
        .sum()
}

/// The byte sizes of `hex`'s whitespace-separated groups, or none when they do not add up to
/// the `len` bytes decoded (groups joined by colons or commas: no group order to reverse).
fn groups(hex: &str, len: usize) -> Vec<usize> {
    let sizes: Vec<usize> = hex
        .split_whitespace()
        .map(|t| t.strip_prefix("0x").unwrap_or(t).len() / 2)
        .collect();
    if sizes.iter().sum::<usize>() == len {
        sizes
    } else {
        Vec::new()
    }
}

/// What `ascii`, a dump's ASCII column, says of the order of the line's groups.
fn order_told(bytes: &[u8], groups: &[usize], ascii: &str) -> Order {
    // xxd shows a space as itself, tcpdump as a dot; every other byte outside ASCII's
    // printable range is a dot in both.
    let fits = |b: u8, c: char| match b {
        b' ' => c == ' ' || c == '.',
        b if b.is_ascii_graphic() => c == char::from(b),
        _ => c == '.',
    };
    let chars: Vec<char> = ascii.chars().collect();
    if chars.len() != bytes.len() || groups.is_empty() {
        return Order::Either;
    }
    let as_written = bytes.iter().zip(&chars).all(|(&b, &c)| fits(b, c));
    let mut reversed = true;
    let mut at = 0;
    for &size in groups {
        let group = bytes[at..at + size].iter().rev();
        reversed &= group.zip(&chars[at..at + size]).all(|(&b, &c)| fits(b, c));
        at += size;
    }
    match (as_written, reversed) {
        (true, false) => Order::AsWritten,
        (false, true) => Order::Reversed,
        _ => Order::Either,
    }
}

/// Whether the dump's groups are reversed (`xxd -e`): only when a line's ASCII column says so
/// and none says otherwise.
fn dump_order(lines: &[DumpLine]) -> Result<bool, HexError> {
    let told = |order| lines.iter().find(|l| l.order == order);
    match (told(Order::AsWritten), told(Order::Reversed)) {
        (Some(plain), Some(reversed)) => Err(HexError {
            line: reversed.line_no,
            column: 1,
            what: format!(
                "the ASCII column of this line shows each hex group's bytes reversed (an \
                 `xxd -e` dump) but that of line {} shows them as written: one dump, please, \
                 or the bytes with --raw",
                plain.line_no
            ),
        }),
        (_, reversed) => Ok(reversed.is_some()),
    }
}

/// Decodes the whitespace-, colon- or comma-separated tokens of one line, each an even number
/// of hex digits with an optional `0x`. `skip` is how many characters of the line come before
/// `line` (for the column in errors).
fn decode_tokens(
    line: &str,
    line_no: usize,
    skip: usize,
    out: &mut Vec<u8>,
) -> Result<(), HexError> {
    let is_sep = |c: char| c.is_ascii_whitespace() || c == ':' || c == ',';
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start_matches(is_sep);
        if trimmed.is_empty() {
            return Ok(());
        }
        let start = line.len() - trimmed.len();
        let end = trimmed.find(is_sep).unwrap_or(trimmed.len());
        let token = &trimmed[..end];
        rest = &trimmed[end..];
        let (digits, prefix) = match token.strip_prefix("0x").or(token.strip_prefix("0X")) {
            Some(d) => (d, 2),
            None => (token, 0),
        };
        let at = |i: usize| HexError {
            line: line_no,
            column: skip + char_column(line, start + prefix + i),
            what: String::new(),
        };
        // Decoded in place at the end of `out`: no buffer per token (a spaced dump has one
        // token per byte).
        let end = out.len();
        out.resize(end + digits.len() / 2, 0);
        let decoded = hex::decode_to_slice(digits, &mut out[end..]);
        if decoded.is_err() {
            out.truncate(end);
        }
        match decoded {
            Ok(()) if !digits.is_empty() => {}
            Ok(()) => {
                return Err(HexError {
                    what: format!("{token:?} has no digits after 0x"),
                    ..at(0)
                });
            }
            Err(hex::FromHexError::OddLength) => {
                return Err(HexError {
                    what: format!(
                        "{token:?} has an odd number of hex digits ({})",
                        digits.len()
                    ),
                    ..at(0)
                });
            }
            Err(hex::FromHexError::InvalidHexCharacter { c, index }) => {
                return Err(HexError {
                    what: format!("{c:?} in {token:?} is not a hex digit"),
                    ..at(index)
                });
            }
            Err(e) => {
                return Err(HexError {
                    what: format!("{token:?}: {e}"),
                    ..at(0)
                });
            }
        }
    }
}

/// The 1-based column (in characters) of byte offset `at` of `line`.
fn char_column(line: &str, at: usize) -> usize {
    line.get(..at).map_or(at, |s| s.chars().count()) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAPTER: [u8; 12] = [1, 0, 0, 0, 0x61, 0x62, 0, 0, 0xcd, 0xcc, 0x2c, 0x40];

    #[test]
    fn every_pasted_form() {
        for text in [
            "0100000061620000cdcc2c40",
            "01 00 00 00 61 62 00 00 cd cc 2c 40\n",
            "0x0100000061620000CDCC2C40",
            "0x01, 0x00, 0x00, 0x00, 0x61, 0x62,\n  0x00, 0x00, 0xcd, 0xcc, 0x2c, 0x40",
            "01:00:00:00:61:62:00:00:cd:cc:2c:40",
            "00000000: 0100 0000 6162 0000 cdcc 2c40            ....ab....,@\n",
            "13:49:28.1 IP lo > lo: UDP\n\t0x0000:  0100 0000 6162 0000 cdcc 2c40  ....ab....,@\n",
        ] {
            assert_eq!(decode(text).as_deref(), Ok(&CHAPTER[..]), "{text:?}");
        }
    }

    #[test]
    fn the_ascii_column_is_not_read() {
        // "abcd" in the ASCII column looks like hex; it must not be taken.
        let dump = "00000000: 6162 6364                                abcd\n";
        assert_eq!(decode(dump).unwrap(), b"abcd");
    }

    #[test]
    fn errors_say_where() {
        let e = decode("01 0g").unwrap_err();
        assert_eq!((e.line, e.column), (1, 5), "{e}");
        assert!(e.to_string().contains("'g' in \"0g\""), "{e}");
        let e = decode("01\nabc").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
        assert!(e.to_string().contains("odd number"), "{e}");
        let gap = "00000000: 0102  ..\n00000010: 0304  ..\n";
        let e = decode(gap).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().contains("offset 0x10"), "{e}");
        assert!(decode("0x").is_err());
        let mixed = "0102\n00000000: 0304  ..\n";
        let e = decode(mixed).unwrap_err();
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn xxd_e_groups_are_reversed_by_their_ascii_column() {
        // `xxd -e` of the chapter's record: little-endian 4-byte groups, column in memory order.
        let dump = "00000000: 00000001 00006261 402ccccd           ....ab....,@\n";
        assert_eq!(decode(dump).as_deref(), Ok(&CHAPTER[..]));
        // `xxd -g4` of the same bytes: the groups as written.
        let dump = "00000000: 01000000 61620000 cdcc2c40           ....ab....,@\n";
        assert_eq!(decode(dump).as_deref(), Ok(&CHAPTER[..]));
        // A short last group, right-aligned by `xxd -e` (4 and 8-byte groups): not lost.
        let dump = "00000000: 64636261       65                    abcde\n";
        assert_eq!(decode(dump).unwrap(), b"abcde");
        let dump = "00000000:       6564636261                   abcde\n";
        assert_eq!(decode(dump).unwrap(), b"abcde");
        // An ASCII column that starts with a space (byte 0x20).
        let dump = "00000000: 61622020                               ba\n";
        assert_eq!(decode(dump).unwrap(), b"  ba");
    }

    #[test]
    fn a_dump_of_both_orders_is_refused() {
        let dump = "00000000: 64636261  abcd\n00000004: 65666768  efgh\n";
        let e = decode(dump).unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        assert!(e.to_string().contains("xxd -e"), "{e}");
    }

    #[test]
    fn empty_is_no_bytes() {
        assert_eq!(decode("").unwrap(), b"");
        assert_eq!(decode(" \n").unwrap(), b"");
    }
}
