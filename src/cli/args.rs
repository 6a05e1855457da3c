//! Command-line spellings of Python values and of bytes.
//!
//! `struct pack` arguments are read according to the format code that will take them: numbers
//! (`1`, `-5`, `0x7f`, `2.7`, `inf`, `-0.0`, `nan`) and `True`/`False` for numeric codes and
//! `?`; bytes (`hex:6162`, `hex:` for empty, or plain UTF-8 text) for `s`, `p` and `c`.

use portsock_core::wire::structfmt::Value;

/// Parse one `struct pack` argument for a value of format code `code`.
///
/// `code` decides how text is read: for `s`, `p` and `c` anything that is not `hex:` is its
/// UTF-8 bytes; for the others it must be a Python int, float or bool literal. Returns a
/// message saying what was expected on failure.
/// `decoded` is the argument's bytes when it was spelled `hex:...` (see [`decode_hex`]).
pub(crate) fn parse_value<'a>(
    text: &'a str,
    decoded: Option<&'a [u8]>,
    code: char,
) -> Result<Value<'a>, String> {
    if let Some(bytes) = decoded {
        return Ok(Value::Bytes(bytes));
    }
    if matches!(code, 's' | 'p' | 'c') {
        return Ok(Value::Bytes(text.as_bytes()));
    }
    match text {
        "True" => return Ok(Value::Bool(true)),
        "False" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if let Some(v) = parse_int(text) {
        return Ok(v);
    }
    if let Some(f) = parse_float(text) {
        return Ok(Value::Float(f));
    }
    Err(format!(
        "expected a number for '{code}' (decimal or 0x hex integer, Python float such as 2.7, inf, nan) or True/False"
    ))
}

/// A Python integer literal: optional sign, then decimal digits, or `0x`/`0o`/`0b` with digits,
/// `_` allowed between digits. Decimal values beyond `i128` become [`Value::BigInt`].
pub(crate) fn parse_int(text: &str) -> Option<Value<'_>> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = match body.get(..2) {
        Some("0x" | "0X") => (16, &body[2..]),
        Some("0o" | "0O") => (8, &body[2..]),
        Some("0b" | "0B") => (2, &body[2..]),
        _ => (10, body),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c == '_' || c.is_digit(radix))
    {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    match i128::from_str_radix(&clean, radix) {
        Ok(v) => Some(Value::Int(if neg { -v } else { v })),
        // Only decimal spellings travel as big ints; the codec parses them itself.
        Err(_) if radix == 10 && !text.contains('_') => {
            Some(Value::BigInt(text.trim_start_matches('+')))
        }
        Err(_) => None,
    }
}

/// A Python float literal (`2.7`, `1e300`, `.5`, `inf`, `-infinity`, `nan`, `-0.0`).
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    let ok = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'));
    if !ok {
        return None;
    }
    text.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_in_every_spelling() {
        assert_eq!(parse_int("-5"), Some(Value::Int(-5)));
        assert_eq!(parse_int("0x7f"), Some(Value::Int(127)));
        assert_eq!(parse_int("-0x80"), Some(Value::Int(-128)));
        assert_eq!(parse_int("1_000"), Some(Value::Int(1000)));
        assert_eq!(parse_int("0b101"), Some(Value::Int(5)));
        let big = "-1000000000000000000000000000000000000000000";
        assert_eq!(parse_int(big), Some(Value::BigInt(big)));
        assert_eq!(parse_int("2.7"), None);
        assert_eq!(parse_int("0x"), None);
        assert_eq!(parse_int("1__0"), None);
        assert_eq!(parse_int(""), None);
    }

    #[test]
    fn floats_as_python_spells_them() {
        assert_eq!(parse_float("2.7"), Some(2.7));
        assert!(parse_float("-inf").is_some_and(|f| f == f64::NEG_INFINITY));
        assert!(parse_float("nan").is_some_and(f64::is_nan));
        assert!(parse_float("-0.0").is_some_and(|f| f == 0.0 && f.is_sign_negative()));
        assert_eq!(parse_float("abc"), None);
    }

    #[test]
    fn values_follow_the_code() {
        assert_eq!(parse_value("12", None, 's'), Ok(Value::Bytes(b"12")));
        assert_eq!(
            parse_value("hex:6162", Some(b"ab"), 'I'),
            Ok(Value::Bytes(b"ab"))
        );
        assert_eq!(parse_value("True", None, 'I'), Ok(Value::Bool(true)));
        assert_eq!(parse_value("-0x10", None, 'i'), Ok(Value::Int(-16)));
        assert!(parse_value("ab", None, 'I').is_err());
    }
}
