//! The CPython 3.11 / x86_64 conformance vectors, checked on the 32-bit target.
//!
//! `build.rs` embeds `tests/data/vectors/{struct,inet}.jsonl`. What the oracle's platform
//! decides is handled case by case:
//!
//! * standard sizes (`<`, `>`, `!`, `=`) and native formats whose codes have the same size
//!   and alignment on x86_64 and on AAPCS32 (`c b B ? h H i I q Q e f d s p x`; `q`/`d` align to
//!   8 on both) must match the vectors exactly;
//! * a record size over `isize::MAX` of this target (2^31 - 1) is an error here, as CPython on
//!   a 32-bit build says "total struct size too long", whatever x86_64 answered;
//! * native `l L n N` are 4 bytes here (ILP32), so x86_64's answer does not apply: the case
//!   must give exactly what the same format with `i I i I` gives (size, bytes, repr or error);
//! * native `P` (4 bytes here, and signed/unsigned rules of its own) is checked for its size
//!   only, through the same substitution (`P` → `I`); its pack/unpack cases are counted as not
//!   applicable. [`native_sizes_are_32_bit`] pins the ILP32 sizes themselves.
//!
//! inet conversions do not depend on the platform: every case must match.

use core::net::IpAddr;

use defmt::info;
use portsock_core::wire::inet::{self, Family};
use portsock_core::wire::repr::write_tuple;
use portsock_core::wire::structfmt::{Format, Value, calcsize};

use crate::{Outcome, ensure, fail};

/// One line of `struct.jsonl`.
pub struct StructCase {
    line: u32,
    fmt: &'static str,
    op: StructOp,
    expect: Expect,
}

enum StructOp {
    Calcsize,
    Pack(&'static [Value<'static>]),
    Unpack(&'static [u8]),
}

/// What CPython answered on x86_64.
enum Expect {
    /// `u64`: x86_64's sizes go up to 2^63 - 1.
    Size(u64),
    Bytes(&'static [u8]),
    Repr(&'static str),
    Error,
}

/// One line of `inet.jsonl`: text in, bytes out (aton, pton) or bytes in, text out.
pub struct InetCase {
    line: u32,
    op: InetOp,
    v6: bool,
    input: &'static [u8],
    /// `None`: the call must fail.
    expect: Option<&'static [u8]>,
}

enum InetOp {
    Aton,
    Pton,
    Ntoa,
    Ntop,
}

include!(concat!(env!("OUT_DIR"), "/vectors.rs"));

const RECORD: usize = 256;
type Repr = heapless::String<512>;

/// What the codec answered here.
#[derive(PartialEq)]
enum Got {
    Size(usize),
    Bytes(heapless::Vec<u8, RECORD>),
    Repr(Repr),
    Error,
}

/// The ILP32 sizes and alignments, and the 32-bit range of native `l`.
pub fn native_sizes_are_32_bit() -> Outcome {
    let sizes: &[(&str, usize)] = &[
        ("l", 4),
        ("@L", 4),
        ("n", 4),
        ("N", 4),
        ("P", 4),
        ("@bl", 8),
        ("c l", 8),
        ("@lq", 16),
        ("bq", 16),
        ("bd", 16),
        ("iP", 8),
        ("I 2s f", 12),
        ("=l", 4),
        ("<q", 8),
        ("!bq", 9),
    ];
    for &(fmt, size) in sizes {
        let got = calcsize(fmt);
        ensure!(
            got == Ok(size),
            "calcsize({fmt:?}) = {got:?}, expected {size}"
        );
    }
    ensure!(
        calcsize("2147483648x").is_err(),
        "a record over isize::MAX must be refused"
    );
    let long = Format::parse("@l").map_err(|e| fail(format_args!("{e}")))?;
    let mut buf = [0u8; 4];
    ensure!(long.pack(&mut buf, &[Value::Int(-1)]).is_ok(), "pack @l -1");
    ensure!(buf == [0xff; 4], "@l -1 packs as {buf:02x?}");
    ensure!(
        long.pack(&mut buf, &[Value::Int(1 << 31)]).is_err(),
        "@l 2**31 must be out of range on a 32-bit long"
    );
    let ulong = Format::parse("@L").map_err(|e| fail(format_args!("{e}")))?;
    let got = unpack_repr(&ulong, &[0xff; 4]);
    ensure!(
        got.as_ref().map(|r| r.as_str()) == Ok("(4294967295,)"),
        "unpack @L ffffffff: {:?}",
        got.as_ref().map(|r| r.as_str())
    );
    Ok(())
}

/// Every embedded `struct.jsonl` case, with the target rules of the module doc.
pub fn struct_vectors() -> Outcome {
    let (mut exact, mut equivalent, mut not_applicable) = (0usize, 0usize, 0usize);
    for case in STRUCT_CASES {
        let native = !matches!(case.fmt.as_bytes().first(), Some(b'<' | b'>' | b'!' | b'='));
        let has_long = native && case.fmt.contains(['l', 'L', 'n', 'N']);
        let has_pointer = native && case.fmt.contains('P');
        if has_pointer && !matches!(case.op, StructOp::Calcsize) {
            not_applicable += 1;
            continue;
        }
        let got = run(case.fmt, &case.op);
        if has_long || has_pointer {
            let mut ilp32 = heapless::String::<64>::new();
            for c in case.fmt.chars() {
                let c = match c {
                    'l' | 'n' => 'i',
                    'L' | 'N' | 'P' => 'I',
                    other => other,
                };
                ilp32
                    .push(c)
                    .map_err(|_| fail(format_args!("line {}: long fmt", case.line)))?;
            }
            let want = run(&ilp32, &case.op);
            ensure!(
                got == want,
                "struct.jsonl line {}: {:?} gives {} but {:?} gives {}",
                case.line,
                case.fmt,
                Show(&got),
                ilp32.as_str(),
                Show(&want)
            );
            equivalent += 1;
            continue;
        }
        let ok = match (&case.expect, &got) {
            (Expect::Size(n), _) if *n > isize::MAX as u64 => got == Got::Error,
            (Expect::Size(n), Got::Size(m)) => *n == *m as u64,
            (Expect::Bytes(b), Got::Bytes(g)) => b == &&g[..],
            (Expect::Repr(r), Got::Repr(g)) => *r == g.as_str(),
            (Expect::Error, Got::Error) => true,
            _ => false,
        };
        ensure!(
            ok,
            "struct.jsonl line {}: {:?} gives {}",
            case.line,
            case.fmt,
            Show(&got)
        );
        exact += 1;
    }
    info!(
        "struct vectors: {=usize} exact, {=usize} by ILP32 substitution, {=usize} native-P pack/unpack not applicable, {=usize} not embedded (flash)",
        exact, equivalent, not_applicable, STRUCT_LEFT_OUT
    );
    ensure!(exact > 1_000, "only {exact} struct vectors matched exactly");
    Ok(())
}

/// Every `inet.jsonl` case.
pub fn inet_vectors() -> Outcome {
    for case in INET_CASES {
        let family = if case.v6 { Family::Inet6 } else { Family::Inet };
        let got: Result<heapless::Vec<u8, 64>, ()> = match case.op {
            InetOp::Aton => inet::inet_aton(case.input)
                .map(|a| bytes(&a.octets()))
                .map_err(drop),
            InetOp::Pton => inet::inet_pton(family, case.input)
                .map(|a| match a {
                    IpAddr::V4(v4) => bytes(&v4.octets()),
                    IpAddr::V6(v6) => bytes(&v6.octets()),
                })
                .map_err(drop),
            InetOp::Ntoa => inet::inet_ntoa(case.input)
                .map(|t| bytes(t.as_bytes()))
                .map_err(drop),
            InetOp::Ntop => inet::inet_ntop(family, case.input)
                .map(|t| bytes(t.as_bytes()))
                .map_err(drop),
        };
        let ok = match (case.expect, &got) {
            (None, Err(())) => true,
            (Some(want), Ok(got)) => want == &got[..],
            _ => false,
        };
        ensure!(ok, "inet.jsonl line {}: got {:02x?}", case.line, got);
    }
    info!("inet vectors: {=usize} cases", INET_CASES.len());
    Ok(())
}

fn bytes(b: &[u8]) -> heapless::Vec<u8, 64> {
    heapless::Vec::from_slice(b).unwrap_or_default()
}

fn run(fmt: &str, op: &StructOp) -> Got {
    match op {
        StructOp::Calcsize => match calcsize(fmt) {
            Ok(n) => match Format::parse(fmt) {
                Ok(f) if f.size() == n => Got::Size(n),
                _ => Got::Error,
            },
            Err(_) => Got::Error,
        },
        StructOp::Pack(values) => {
            let Ok(format) = Format::parse(fmt) else {
                return Got::Error;
            };
            let size = if values.len() == format.value_count() {
                format.size().min(RECORD)
            } else {
                0
            };
            let mut buf = [0xa5u8; RECORD];
            match format.pack(&mut buf[..size], values) {
                Ok(_) => Got::Bytes(heapless::Vec::from_slice(&buf[..size]).unwrap_or_default()),
                Err(_) => Got::Error,
            }
        }
        StructOp::Unpack(bytes) => match Format::parse(fmt) {
            Ok(format) => unpack_repr(&format, bytes).map_or(Got::Error, Got::Repr),
            Err(_) => Got::Error,
        },
    }
}

fn unpack_repr(format: &Format<'_>, bytes: &[u8]) -> Result<Repr, ()> {
    let values = format.unpack(bytes).map_err(|_| ())?;
    let mut repr = Repr::new();
    write_tuple(&mut repr, values).map_err(|_| ())?;
    Ok(repr)
}

/// A [`Got`] for failure messages.
struct Show<'a>(&'a Got);

impl core::fmt::Display for Show<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Got::Size(n) => write!(f, "size {n}"),
            Got::Bytes(b) => {
                for byte in b {
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
            Got::Repr(r) => f.write_str(r),
            Got::Error => f.write_str("an error"),
        }
    }
}
