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
             0x-prefixed (0x0100ff, 0x01,0x00), colon-separated (01:00:ff), or an xxd or \
             tcpdump -X dump",
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
    let mut out = Vec::new();
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
        if offset != base + out.len() {
            return Err(HexError {
                line: n + 1,
                column: 1,
                what: format!(
                    "a dump line at offset {offset:#x} where the bytes read so far end at \
                     {:#x} (a line missing or repeated, or a second dump)",
                    base + out.len()
                ),
            });
        }
        // The hex columns end at the first gap of two spaces; the ASCII column follows it.
        let rest = rest.trim_start();
        let hex_part = rest.split("  ").next().unwrap_or_default();
        decode_tokens(
            hex_part,
            n + 1,
            char_column(line, line.len() - rest.len()) - 1,
            &mut out,
        )?;
    }
    Ok(out)
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
    fn empty_is_no_bytes() {
        assert_eq!(decode("").unwrap(), b"");
        assert_eq!(decode(" \n").unwrap(), b"");
    }
}
