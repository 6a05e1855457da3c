//! Format strings, values and unpack input from untrusted bytes: parse, pack, unpack, repr.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portsock_core::wire::repr::write_tuple;
use portsock_core::wire::structfmt::{Format, Value};

/// A `fmt::Write` sink that discards, so repr is exercised without allocation limits.
struct Sink;

impl core::fmt::Write for Sink {
    fn write_str(&mut self, _: &str) -> core::fmt::Result {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let split = usize::from(split).min(rest.len());
    let (fmt_bytes, payload) = rest.split_at(split);
    let Ok(text) = core::str::from_utf8(fmt_bytes) else { return };
    let Ok(fmt) = Format::parse(text) else { return };
    // Unpack whatever follows (any length: errors are fine, panics are not).
    if let Ok(values) = fmt.unpack_from(payload, 0) {
        let _ = write_tuple(&mut Sink, values);
    }
    if let Ok(records) = fmt.iter_unpack(payload) {
        for values in records.take(64) {
            let _ = write_tuple(&mut Sink, values);
        }
    }
    // Pack values of every kind drawn from the payload, into a buffer that may be too small.
    if fmt.size() > 1 << 16 || fmt.value_count() > 256 {
        return;
    }
    let mut values = Vec::with_capacity(fmt.value_count());
    for (i, _) in fmt.value_codes().enumerate() {
        let b = payload.get(i % payload.len().max(1)).copied().unwrap_or(0);
        let wide = payload
            .get(i..i + 8)
            .map_or(i64::from(b), |w| i64::from_le_bytes(w.try_into().unwrap_or([0; 8])));
        values.push(match b % 6 {
            0 => Value::Int(i128::from(wide)),
            1 => Value::Float(f64::from_bits(wide as u64)),
            2 => Value::Bool(b & 0x80 != 0),
            3 => Value::Bytes(&payload[..payload.len().min(usize::from(b))]),
            4 => Value::BigInt("-340282366920938463463374607431768211457"),
            _ => Value::Int(i128::from(wide) << 64),
        });
    }
    let mut buf = vec![0u8; fmt.size() + usize::from(split % 3)];
    let _ = fmt.pack_into(&mut buf, usize::from(split % 4), &values);
    let _ = fmt.pack(&mut buf, &values);
});
