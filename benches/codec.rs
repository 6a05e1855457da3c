//! Codec benchmarks, each beside a peer measured in the same run:
//! - `struct/*`: pack+unpack of `'I 2s f'` and of a 10-field record with portsock's typed,
//!   parse-once `Record`, with its dynamic `Struct` (packing a slice of `Value`s, unpacking into
//!   an array of them) and `Format`, and with hand-written
//!   `to_le_bytes`/`from_le_bytes` code (all four checked to write the same bytes first);
//! - `inet/*`: `inet_pton`/`inet_ntop` against glibc (through `libc`) and `core::net`;
//!   `pton4_mixed` walks 256 dotted quads of every part length, so the parsers' branches on
//!   the shape cannot all be learnt as they are for the one fixed address.
//!
//! `scripts/bench-codec` runs this and CPython's `struct` on the same records and prints ratios.
#![allow(missing_docs, unsafe_code)]

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use criterion::{Criterion, criterion_group, criterion_main};
use portsock::core::wire::inet;
use portsock::core::wire::structfmt::{Format, Record, Struct, Value};

/// The chapter's record, `'I 2s f'` (native: 4 + 2 + 2 padding + 4 bytes).
const CHAPTER: &str = "I 2s f";
/// A 10-field little-endian record.
const TEN: &str = "<I H h q Q d f 4s B ?";

fn chapter_values() -> [Value<'static>; 3] {
    [Value::Int(1), Value::Bytes(b"ab"), Value::Float(2.7)]
}

fn ten_values() -> [Value<'static>; 10] {
    [
        Value::Int(4_000_000_000),
        Value::Int(65_000),
        Value::Int(-30_000),
        Value::Int(-9_000_000_000_000),
        Value::Int(18_000_000_000_000_000_000),
        Value::Float(2.5e300),
        Value::Float(2.7),
        Value::Bytes(b"abcd"),
        Value::Int(200),
        Value::Bool(true),
    ]
}

/// Hand-written `'I 2s f'`: what a careful programmer writes without a codec.
#[inline(never)]
fn hand_chapter(a: u32, s: [u8; 2], f: f32, out: &mut [u8; 12]) -> (u32, [u8; 2], f32) {
    out[0..4].copy_from_slice(&a.to_ne_bytes());
    out[4..6].copy_from_slice(&s);
    out[6..8].copy_from_slice(&[0, 0]);
    out[8..12].copy_from_slice(&f.to_ne_bytes());
    let out = black_box(&*out);
    (
        u32::from_ne_bytes([out[0], out[1], out[2], out[3]]),
        [out[4], out[5]],
        f32::from_ne_bytes([out[8], out[9], out[10], out[11]]),
    )
}

/// Hand-written 10-field record, the same layout as [`TEN`] (42 bytes).
type Ten = (u32, u16, i16, i64, u64, f64, f32, [u8; 4], u8, bool);

/// `N` bytes of `o` from `at` (the slice is always long enough here).
#[inline(always)]
fn take<const N: usize>(o: &[u8], at: usize) -> [u8; N] {
    let mut b = [0; N];
    b.copy_from_slice(&o[at..at + N]);
    b
}

#[inline(never)]
fn hand_ten(v: Ten, out: &mut [u8; 42]) -> Ten {
    out[0..4].copy_from_slice(&v.0.to_le_bytes());
    out[4..6].copy_from_slice(&v.1.to_le_bytes());
    out[6..8].copy_from_slice(&v.2.to_le_bytes());
    out[8..16].copy_from_slice(&v.3.to_le_bytes());
    out[16..24].copy_from_slice(&v.4.to_le_bytes());
    out[24..32].copy_from_slice(&v.5.to_le_bytes());
    out[32..36].copy_from_slice(&v.6.to_le_bytes());
    out[36..40].copy_from_slice(&v.7);
    out[40] = v.8;
    out[41] = u8::from(v.9);
    let o = black_box(&out[..]);
    (
        u32::from_le_bytes(take(o, 0)),
        u16::from_le_bytes(take(o, 4)),
        i16::from_le_bytes(take(o, 6)),
        i64::from_le_bytes(take(o, 8)),
        u64::from_le_bytes(take(o, 16)),
        f64::from_le_bytes(take(o, 24)),
        f32::from_le_bytes(take(o, 32)),
        take(o, 36),
        o[40],
        o[41] != 0,
    )
}

/// The chapter's record as Rust types.
type Chapter = (u32, [u8; 2], f32);
const CHAPTER_TYPED: Chapter = (1, *b"ab", 2.7);
const TEN_TYPED: Ten = (
    4_000_000_000,
    65_000,
    -30_000,
    -9_000_000_000_000,
    18_000_000_000_000_000_000,
    2.5e300,
    2.7,
    *b"abcd",
    200,
    true,
);

/// `'I 2s f'` with `Record`, shaped as [`hand_chapter`]: pack, hide the bytes, unpack.
#[inline(never)]
fn record_chapter(rec: &Record<Chapter>, v: Chapter, out: &mut [u8; 12]) -> Chapter {
    rec.pack(out, &v).expect("fits");
    rec.unpack(black_box(&*out)).expect("one record")
}

/// [`TEN`] with `Record`, shaped as [`hand_ten`].
#[inline(never)]
fn record_ten(rec: &Record<Ten>, v: Ten, out: &mut [u8; 42]) -> Ten {
    rec.pack(out, &v).expect("fits");
    rec.unpack(black_box(&out[..])).expect("one record")
}

/// Hand-written code, `Struct` and `Record` write the same bytes and read the same values.
fn check_same_bytes(chapter: &Record<Chapter>, ten: &Record<Ten>) {
    let mut hand = [0u8; 12];
    let back = hand_chapter(CHAPTER_TYPED.0, CHAPTER_TYPED.1, CHAPTER_TYPED.2, &mut hand);
    assert_eq!(back, CHAPTER_TYPED);
    let mut typed = [0xaau8; 12];
    assert_eq!(
        record_chapter(chapter, CHAPTER_TYPED, &mut typed),
        CHAPTER_TYPED
    );
    let mut dynamic = [0x55u8; 12];
    let compiled: Struct = Struct::new(CHAPTER).expect("valid format");
    compiled
        .pack(&mut dynamic, &chapter_values())
        .expect("pack");
    assert_eq!(
        hand, typed,
        "chapter: Record and hand-written code disagree"
    );
    assert_eq!(
        hand, dynamic,
        "chapter: Struct and hand-written code disagree"
    );

    let mut hand = [0u8; 42];
    assert_eq!(hand_ten(TEN_TYPED, &mut hand), TEN_TYPED);
    let mut typed = [0xaau8; 42];
    assert_eq!(record_ten(ten, TEN_TYPED, &mut typed), TEN_TYPED);
    let mut dynamic = [0x55u8; 42];
    let compiled: Struct = Struct::new(TEN).expect("valid format");
    compiled.pack(&mut dynamic, &ten_values()).expect("pack");
    assert_eq!(hand, typed, "ten: Record and hand-written code disagree");
    assert_eq!(hand, dynamic, "ten: Struct and hand-written code disagree");
}

fn consume<'a>(values: impl Iterator<Item = Value<'a>>) {
    for v in values {
        black_box(v);
    }
}

/// The floor of any codec that dispatches on a runtime format once per field and direction:
/// a jump table per field to "pack" (one 8-byte store) and another to "unpack" (one load, one
/// store), with no value kinds, range or bounds checks. `Struct` cannot be faster than this on
/// a record with as many fields; `scripts/bench-codec` prints it beside `Struct`.
#[inline(never)]
fn dispatch_floor(codes: &[u8], buf: &mut [u64; 16], out: &mut [u64; 16]) {
    for (i, &c) in codes.iter().enumerate() {
        let (i, x) = (i & 15, out[i & 15]);
        // Unrelated arms, so that the match stays a jump table rather than arithmetic.
        buf[i] = match c {
            0 => x.swap_bytes(),
            1 => x.rotate_left(3),
            2 => x * 3,
            3 => x >> 7,
            4 => x.wrapping_neg(),
            5 => !x,
            6 => x << 9,
            7 => x.rotate_right(5),
            8 => x | 17,
            9 => x & 0xff00,
            10 => u64::from(x.count_ones()),
            _ => x ^ 99,
        };
    }
    let b = black_box(&*buf);
    for (i, &c) in codes.iter().enumerate() {
        let i = i & 15;
        out[i] = match c {
            0 => b[i] + 1,
            1 => b[i] ^ 2,
            2 => b[i].swap_bytes(),
            3 => b[i] ^ 4,
            4 => b[i] << 5,
            5 => b[i] ^ 6,
            6 => b[i].rotate_left(7),
            7 => b[i] ^ 8,
            8 => b[i] >> 9,
            9 => b[i] ^ 10,
            10 => b[i] * 11,
            _ => b[i] + 13,
        };
    }
    black_box(&*out);
}

/// `Struct` as a user who wants every value writes it: pack the values, unpack into `V` slots.
type Round = fn(&Struct, &[Value<'_>], &mut [u8]);

fn struct_round<const V: usize>(compiled: &Struct, values: &[Value<'_>], buf: &mut [u8]) {
    compiled.pack(buf, values).expect("pack");
    let mut out = [Value::Int(0); V];
    let got = compiled
        .unpack_into(black_box(&*buf), &mut out)
        .expect("unpack");
    // Every value is in `out`, in memory, for the caller: as the hand-written tuple is.
    black_box(got);
}

fn bench_struct(c: &mut Criterion) {
    let mut g = c.benchmark_group("struct");
    for (name, fmt_text, values, round) in [
        (
            "chapter",
            CHAPTER,
            &chapter_values()[..],
            struct_round::<3> as Round,
        ),
        ("ten", TEN, &ten_values()[..], struct_round::<10>),
    ] {
        let compiled: Struct = Struct::new(fmt_text).expect("valid format");
        let parsed = Format::parse(fmt_text).expect("valid format");
        let mut buf = vec![0u8; parsed.size()];
        g.bench_function(format!("{name}/portsock_struct"), |b| {
            b.iter(|| round(&compiled, black_box(values), &mut buf))
        });
        g.bench_function(format!("{name}/dispatch_floor"), |b| {
            let codes: Vec<u8> = (0..values.len() as u8).collect();
            let (mut fbuf, mut fout) = ([0u64; 16], [0u64; 16]);
            b.iter(|| dispatch_floor(black_box(&codes), &mut fbuf, &mut fout))
        });
        g.bench_function(format!("{name}/portsock_format"), |b| {
            b.iter(|| {
                parsed.pack(&mut buf, black_box(values)).expect("pack");
                consume(parsed.unpack(black_box(&buf)).expect("unpack"));
            })
        });
    }
    let chapter = Record::<Chapter>::new(CHAPTER).expect("format takes (u32, [u8; 2], f32)");
    let ten = Record::<Ten>::new(TEN).expect("format takes the Ten types");
    check_same_bytes(&chapter, &ten);
    g.bench_function("chapter/portsock_record", |b| {
        let mut out = [0u8; 12];
        b.iter(|| black_box(record_chapter(&chapter, black_box(CHAPTER_TYPED), &mut out)))
    });
    g.bench_function("ten/portsock_record", |b| {
        let mut out = [0u8; 42];
        b.iter(|| black_box(record_ten(&ten, black_box(TEN_TYPED), &mut out)))
    });
    g.bench_function("chapter/hand_written", |b| {
        let mut out = [0u8; 12];
        b.iter(|| {
            black_box(hand_chapter(
                black_box(1),
                black_box(*b"ab"),
                black_box(2.7),
                &mut out,
            ))
        })
    });
    g.bench_function("ten/hand_written", |b| {
        let mut out = [0u8; 42];
        b.iter(|| black_box(hand_ten(black_box(TEN_TYPED), &mut out)))
    });
    g.finish();
}

const V4_TEXT: &str = "192.168.100.200";
const V6_TEXT: &str = "2002:ac10:10a:1234:21e:52ff:fe74:40e";

/// 256 valid dotted quads whose parts take 1, 2 or 3 digits in no fixed pattern (a xorshift
/// sequence; the same list every run).
fn mixed_quads() -> Vec<String> {
    let mut x = 0x9e37_79b9u32;
    (0..256)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            // Each part's length from two bits: 1 digit, 2 digits, or 3 (twice as often).
            let part = |i: u32| {
                let v = (x >> (8 * i)) & 0xff;
                match (x >> (24 + 2 * i)) & 3 {
                    0 => v % 10,
                    1 => 10 + v % 90,
                    _ => 100 + v % 156,
                }
            };
            format!("{}.{}.{}.{}", part(0), part(1), part(2), part(3))
        })
        .collect()
}

// glibc's own functions, the peer measured beside ours (the `libc` crate does not declare them).
unsafe extern "C" {
    fn inet_pton(af: libc::c_int, src: *const libc::c_char, dst: *mut libc::c_void) -> libc::c_int;
    fn inet_ntop(
        af: libc::c_int,
        src: *const libc::c_void,
        dst: *mut libc::c_char,
        size: libc::socklen_t,
    ) -> *const libc::c_char;
}

fn glibc_pton(family: libc::c_int, text: &std::ffi::CStr, out: &mut [u8; 16]) -> i32 {
    // SAFETY: `text` is NUL-terminated and `out` has room for an in6_addr (16 bytes).
    unsafe { inet_pton(family, text.as_ptr(), out.as_mut_ptr().cast()) }
}

fn glibc_ntop(family: libc::c_int, src: &[u8; 16], out: &mut [libc::c_char; 46]) -> bool {
    // SAFETY: `src` holds at least the address size for `family`; `out` has INET6_ADDRSTRLEN bytes.
    !unsafe { inet_ntop(family, src.as_ptr().cast(), out.as_mut_ptr(), 46) }.is_null()
}

fn bench_inet(c: &mut Criterion) {
    let mut g = c.benchmark_group("inet");
    let v4c = std::ffi::CString::new(V4_TEXT).expect("no NUL");
    let v6c = std::ffi::CString::new(V6_TEXT).expect("no NUL");
    let v6 = V6_TEXT.parse::<Ipv6Addr>().expect("valid");
    let v4 = V4_TEXT.parse::<Ipv4Addr>().expect("valid");

    g.bench_function("pton4/portsock", |b| {
        b.iter(|| inet::inet_pton4(black_box(V4_TEXT.as_bytes())))
    });
    g.bench_function("pton4/glibc", |b| {
        let mut out = [0u8; 16];
        b.iter(|| glibc_pton(libc::AF_INET, black_box(&v4c), &mut out))
    });
    g.bench_function("pton4/core_net", |b| {
        b.iter(|| black_box(V4_TEXT).parse::<Ipv4Addr>())
    });

    let mixed = mixed_quads();
    let mixed_c: Vec<_> = mixed
        .iter()
        .map(|t| std::ffi::CString::new(t.as_str()).expect("no NUL"))
        .collect();
    for (text, c) in mixed.iter().zip(&mixed_c) {
        let mut out = [0u8; 16];
        assert_eq!(glibc_pton(libc::AF_INET, c, &mut out), 1, "{text}");
        let ours = inet::inet_pton4(text.as_bytes()).expect("valid");
        assert_eq!(ours.octets(), out[..4], "{text}");
        assert_eq!(text.parse::<Ipv4Addr>(), Ok(ours), "{text}");
    }
    g.bench_function("pton4_mixed/portsock", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 255;
            inet::inet_pton4(black_box(mixed[i].as_bytes()))
        })
    });
    g.bench_function("pton4_mixed/glibc", |b| {
        let mut out = [0u8; 16];
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 255;
            glibc_pton(libc::AF_INET, black_box(&mixed_c[i]), &mut out)
        })
    });
    g.bench_function("pton4_mixed/core_net", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 255;
            black_box(mixed[i].as_str()).parse::<Ipv4Addr>()
        })
    });

    g.bench_function("pton6/portsock", |b| {
        b.iter(|| inet::inet_pton6(black_box(V6_TEXT.as_bytes())))
    });
    g.bench_function("pton6/glibc", |b| {
        let mut out = [0u8; 16];
        b.iter(|| glibc_pton(libc::AF_INET6, black_box(&v6c), &mut out))
    });
    g.bench_function("pton6/core_net", |b| {
        b.iter(|| black_box(V6_TEXT).parse::<Ipv6Addr>())
    });

    g.bench_function("ntop6/portsock", |b| {
        b.iter(|| inet::inet_ntop6(black_box(&v6)))
    });
    g.bench_function("ntop6/glibc", |b| {
        let src = v6.octets();
        let mut out = [0 as libc::c_char; 46];
        b.iter(|| glibc_ntop(libc::AF_INET6, black_box(&src), &mut out))
    });
    g.bench_function("ntop6/core_net", |b| {
        use std::fmt::Write as _;
        let mut s = String::with_capacity(46);
        b.iter(|| {
            s.clear();
            let _ = write!(s, "{}", black_box(&v6));
            black_box(s.len())
        })
    });

    g.bench_function("ntop4/portsock", |b| {
        b.iter(|| inet::inet_ntoa(black_box(&v4.octets())))
    });
    g.bench_function("ntop4/glibc", |b| {
        let mut src = [0u8; 16];
        src[..4].copy_from_slice(&v4.octets());
        let mut out = [0 as libc::c_char; 46];
        b.iter(|| glibc_ntop(libc::AF_INET, black_box(&src), &mut out))
    });
    g.finish();
}

criterion_group!(benches, bench_struct, bench_inet);
criterion_main!(benches);
