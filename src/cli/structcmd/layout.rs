//! `portsock struct layout FMT`: each item's offset, size and the alignment padding before it,
//! and the total, the explanation behind `calcsize` (`'I 2s f'` is 12 bytes because `f` waits
//! for a multiple of 4; `'=I 2s f'` aligns nothing and is 10).

use std::fmt::Write as _;

use portsock_core::wire::structfmt::{Format, Item};
use serde_json::json;

use super::super::{CliError, Output};
use super::parse;

/// Runs `struct layout`.
pub(crate) fn run(format: &str, json: bool) -> Output {
    let fmt = parse(format)?;
    if json {
        return Ok(format!("{}\n", to_json(&fmt)));
    }
    text(format, &fmt).map_err(|e| CliError::new("output", e))
}

fn mode(fmt: &Format<'_>) -> String {
    let order = if fmt.is_big_endian() {
        "big-endian"
    } else {
        "little-endian"
    };
    if fmt.is_native() {
        format!("native sizes and alignment, {order}")
    } else {
        format!("standard sizes, no alignment, {order}")
    }
}

fn text(format: &str, fmt: &Format<'_>) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    writeln!(out, "format {format:?}: {}", mode(fmt))?;
    writeln!(out, "{:>8} {:>8}  item", "offset", "size")?;
    for item in fmt.items() {
        if item.padding > 0 {
            writeln!(
                out,
                "{:>8} {:>8}  padding: '{}' aligns to {} bytes",
                item.offset - item.padding,
                item.padding,
                item.code,
                item.align
            )?;
        }
        writeln!(
            out,
            "{:>8} {:>8}  {}",
            item.offset,
            item.size,
            describe(&item)
        )?;
    }
    writeln!(
        out,
        "total {} bytes (calcsize), {} values; no padding after the last item",
        fmt.size(),
        fmt.value_count()
    )?;
    Ok(out)
}

/// `I`, `2s`, `3h (3 values)`, `x (pad byte)`.
fn describe(item: &Item) -> String {
    let spelled = if item.count == 1 && !matches!(item.code, 's' | 'p') {
        item.code.to_string()
    } else {
        format!("{}{}", item.count, item.code)
    };
    match (item.code, item.values) {
        ('x', _) => format!("{spelled} (pad bytes, no value)"),
        (_, 0 | 1) => spelled,
        (_, n) => format!("{spelled} ({n} values)"),
    }
}

fn to_json(fmt: &Format<'_>) -> serde_json::Value {
    let items: Vec<serde_json::Value> = fmt
        .items()
        .map(|i| {
            json!({
                "code": i.code.to_string(),
                "count": i.count,
                "offset": i.offset,
                "size": i.size,
                "align": i.align,
                "padding": i.padding,
                "values": i.values,
            })
        })
        .collect();
    json!({
        "format": fmt.as_str(),
        "native": fmt.is_native(),
        "big_endian": fmt.is_big_endian(),
        "items": items,
        "size": fmt.size(),
        "values": fmt.value_count(),
    })
}
