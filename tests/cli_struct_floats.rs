//! `struct unpack --iter` prints floats exactly as CPython's `print(t)` does: millions of
//! doubles, widened singles and halves, run through CPython live and compared byte for byte
//! (random bit patterns, subnormals, powers of ten and their neighbours, exact ties between two
//! shortest candidates, the edges of repr's positional range), and every unpack vector of
//! `tests/data/vectors/struct.jsonl` (CPython 3.11's own `repr`s) through `--iter`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{open_tempdir, portsock, vectors};

/// xorshift64: reproducible bit patterns.
fn bits(seed: u64) -> impl Iterator<Item = u64> {
    let mut x = seed;
    std::iter::repeat_with(move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    })
}

/// Unpacks the file with `portsock struct unpack --raw --iter` and with CPython's
/// `struct.iter_unpack` + `print`, and compares the two outputs byte for byte.
fn same_as_cpython(dir: &Path, fmt: &str, data: &[u8], what: &str) {
    let path = dir.join(format!("{what}.bin"));
    std::fs::write(&path, data).expect("write capture");
    let path = path.to_str().expect("utf-8 path");
    let script = "import struct,sys
out = sys.stdout
for t in struct.iter_unpack(sys.argv[1], open(sys.argv[2], 'rb').read()):
    print(t, file=out)";
    let want = Command::new("python3")
        .args(["-c", script, fmt, path])
        .output()
        .expect("python3 (scripts/install-deps installs it)");
    assert!(
        want.status.success(),
        "python3: {}",
        String::from_utf8_lossy(&want.stderr)
    );
    let got = portsock(["struct", "unpack", "--raw", "--iter", "--file", path, fmt]);
    assert!(
        got.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&got.stderr)
    );
    let records = data.len() / 8;
    assert!(
        want.stdout.len() > records,
        "{what}: CPython printed the records"
    );
    if got.stdout != want.stdout {
        let (got, want) = (
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout),
        );
        let (line, (g, w)) = got
            .lines()
            .zip(want.lines())
            .enumerate()
            .find(|(_, (g, w))| g != w)
            .unwrap_or((0, ("(as many lines)", "(as many lines)")));
        panic!("{what} ({fmt}): record {line}: portsock {g}, CPython {w}");
    }
}

fn doubles(xs: impl IntoIterator<Item = f64>) -> Vec<u8> {
    xs.into_iter().flat_map(f64::to_le_bytes).collect()
}

#[test]
fn random_doubles_and_singles_as_cpython() {
    let dir = open_tempdir();
    let data: Vec<u8> = bits(0x9e37_79b9_7f4a_7c15)
        .take(1_000_000)
        .flat_map(u64::to_le_bytes)
        .collect();
    same_as_cpython(dir.path(), "<d", &data, "random doubles");
    let data: Vec<u8> = bits(0x2545_f491_4f6c_dd1d)
        .take(1_000_000)
        .flat_map(|b| (b as u32).to_le_bytes())
        .collect();
    same_as_cpython(dir.path(), "<f", &data, "random singles");
    // Every half-precision value.
    let data: Vec<u8> = (0..=u16::MAX).flat_map(u16::to_le_bytes).collect();
    same_as_cpython(dir.path(), "<e", &data, "every half");
}

#[test]
fn hard_doubles_as_cpython() {
    let dir = open_tempdir();
    let mut xs: Vec<f64> = Vec::new();
    // Powers of ten and their eight neighbours each way, and halfway multiples.
    for p in -324..=308 {
        let t: f64 = format!("1e{p}").parse().expect("a power of ten");
        let (mut up, mut down) = (t, t);
        for _ in 0..8 {
            up = up.next_up();
            down = down.next_down();
            xs.extend([up, down]);
        }
        xs.extend([t, 5.0 * t, 2.5 * t, 1.5 * t, 9.5 * t]);
    }
    // Subnormals, and the smallest normals.
    let mantissa = 0x000f_ffff_ffff_ffff;
    xs.extend(bits(3).take(100_000).map(|b| f64::from_bits(b & mantissa)));
    xs.extend(
        bits(5)
            .take(20_000)
            .map(|b| f64::from_bits((b & mantissa) | 1 << 52)),
    );
    // Short significands at every scale: exact ties between two shortest candidates are here
    // (the core's 9007199254740993.0 and -1761 / 2^20 among them).
    for e in (-1074..=960).step_by(3) {
        for m in (1..400u32).step_by(2) {
            xs.push(f64::from(m) * 2f64.powi(e));
        }
    }
    // Integers past 2^53, where the shortest digits are not the integer.
    xs.extend(bits(9).take(50_000).map(|b| (b >> (b % 11)) as f64));
    // Either side of repr's layout switches: 1e-05 .. 1e-04 and 1e+15 .. 1e+17.
    for (lo, hi) in [(1e-5, 1e-4), (1e15, 1e17), (9e-5, 1.1e-4), (1e-6, 2e-5)] {
        let (a, b) = (f64::to_bits(lo), f64::to_bits(hi));
        xs.extend(
            bits(17)
                .take(50_000)
                .map(|r| f64::from_bits(a + r % (b - a))),
        );
    }
    let negated: Vec<f64> = xs.iter().map(|x| -x).collect();
    xs.extend(negated);
    xs.extend([
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::MAX,
        f64::MIN,
    ]);
    same_as_cpython(dir.path(), "<d", &doubles(xs), "hard doubles");
}

#[test]
fn struct_vectors_through_iter() {
    // One run per format: the vectors' records of that format, one after another.
    let mut by_format: BTreeMap<String, (Vec<u8>, String)> = BTreeMap::new();
    for v in vectors("struct.jsonl") {
        // Errors are tests/cli_codec.rs's; a zero-size record has no --iter.
        let Some(repr) = v["unpacked_repr"].as_str() else {
            continue;
        };
        if v["op"] != "unpack" || v["hex"].as_str() == Some("") {
            continue;
        }
        let fmt = v["fmt"].as_str().expect("fmt").to_owned();
        let hex = v["hex"].as_str().expect("hex");
        let entry = by_format.entry(fmt).or_default();
        entry.0.extend(
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")),
        );
        entry.1.push_str(repr);
        entry.1.push('\n');
    }
    // Enough formats to cover floats of every size and order, bytes, and ints.
    assert!(by_format.len() > 100, "{} formats", by_format.len());
    let dir = open_tempdir();
    let path = dir.path().join("records.bin");
    let path = path.to_str().expect("utf-8 path");
    for (fmt, (data, want)) in by_format {
        std::fs::write(path, &data).expect("write records");
        let got = portsock(["struct", "unpack", "--raw", "--iter", "--file", path, &fmt]);
        assert!(
            got.status.success(),
            "{fmt}: {}",
            String::from_utf8_lossy(&got.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&got.stdout), want, "{fmt}");
    }
}
