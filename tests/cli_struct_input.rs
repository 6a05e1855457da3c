//! `portsock struct unpack` on bytes as people have them: every pasted hex form, real `xxd`
//! and `tcpdump -X` dumps, `--raw` files and stdin, `--offset` and `--iter`, checked against
//! CPython's `struct`; `struct pack --raw`; and `struct layout` against CPython's `calcsize`.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{assert_cli_error, open_tempdir, portsock, stdout_ok, vectors};

/// The chapter's record, `'I 2s f'` packed natively on x86_64.
const CHAPTER_HEX: &str = "0100000061620000cdcc2c40";
const CHAPTER_TUPLE: &str = "(1, b'ab', 2.700000047683716)";

/// Runs `portsock ARGS` with `input` on stdin.
fn portsock_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portsock"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run portsock");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = input.to_vec();
    // Written from a thread, so a large input cannot deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait for portsock");
    writer.join().expect("stdin writer");
    out
}

/// Runs a tool (xxd, tcpdump, python3) and returns its stdout; fails loudly if it is missing.
fn tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} (scripts/install-deps installs it): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn python(script: &str, args: &[&str]) -> String {
    let mut argv = vec!["-c", script];
    argv.extend_from_slice(args);
    tool("python3", &argv)
}

fn chapter_bytes() -> Vec<u8> {
    hex_bytes(CHAPTER_HEX)
}

fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The unpacked tuple for `text` given as an argument, on stdin and in a file.
fn unpack_three_ways(format: &str, text: &str, extra: &[&str], dir: &Path) -> [String; 3] {
    let file = dir.join("input.txt");
    std::fs::write(&file, text).expect("write input");
    let file = file.to_str().expect("utf-8 path");
    let mut argv = vec!["struct", "unpack"];
    argv.extend_from_slice(extra);
    argv.push(format);
    let what = format!("{text:?}");
    let by_arg = portsock(argv.iter().copied().chain([text]));
    let by_stdin = portsock_stdin(&argv, text.as_bytes());
    let by_file = portsock(argv.iter().copied().chain(["--file", file]));
    [
        stdout_ok(&by_arg, &what),
        stdout_ok(&by_stdin, &what),
        stdout_ok(&by_file, &what),
    ]
}

#[test]
fn every_pasted_hex_form() {
    let dir = open_tempdir();
    let bin = dir.path().join("record.bin");
    std::fs::write(&bin, chapter_bytes()).expect("write record");
    let bin = bin.to_str().expect("utf-8 path");
    let mut forms = vec![
        CHAPTER_HEX.to_owned(),
        CHAPTER_HEX.to_uppercase(),
        "01 00 00 00 61 62 00 00 cd cc 2c 40".to_owned(),
        format!("0x{CHAPTER_HEX}"),
        "01:00:00:00:61:62:00:00:cd:cc:2c:40".to_owned(),
        "0x01 0x00 0x00 0x00 0x61 0x62 0x00 0x00 0xcd 0xcc 0x2c 0x40".to_owned(),
    ];
    // Real dumps of the same 12 bytes, as the tools write them.
    forms.push(tool("xxd", &[bin]));
    forms.push(tool("xxd", &["-g1", bin]));
    forms.push(tool("xxd", &["-p", bin]));
    forms.push(
        tool("xxd", &["-i", bin])
            .lines()
            .filter(|l| l.starts_with("  0x"))
            .collect(),
    );
    for form in &forms {
        for out in unpack_three_ways("I 2s f", form, &[], dir.path()) {
            assert_eq!(out, CHAPTER_TUPLE, "form {form:?}");
        }
    }
}

/// A pcap file (classic, little-endian, Ethernet) holding one UDP datagram from 127.0.0.1:5000
/// to 127.0.0.1:10000 carrying `payload`, as tcpdump would have captured it on a bridge.
fn write_pcap(path: &Path, payload: &[u8]) -> Vec<u8> {
    let udp_len = 8 + payload.len() as u16;
    let ip_len = 20 + udp_len;
    let mut ip = vec![
        0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
    ];
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    let sum: u32 = ip
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let mut packet = ip;
    packet.extend_from_slice(&5000u16.to_be_bytes());
    packet.extend_from_slice(&10000u16.to_be_bytes());
    packet.extend_from_slice(&udp_len.to_be_bytes());
    packet.extend_from_slice(&[0, 0]); // no UDP checksum
    packet.extend_from_slice(payload);
    let mut frame = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    frame.extend_from_slice(&packet);
    let mut file = Vec::new();
    // magic, version 2.4 (two little-endian u16), thiszone, sigfigs, snaplen, linktype Ethernet
    for word in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        file.extend_from_slice(&word.to_le_bytes());
    }
    let caplen = frame.len() as u32;
    for word in [1_700_000_000u32, 0, caplen, caplen] {
        file.extend_from_slice(&word.to_le_bytes());
    }
    file.extend_from_slice(&frame);
    std::fs::write(path, file).expect("write pcap");
    packet
}

#[test]
fn tcpdump_dumps_of_a_real_capture() {
    let dir = open_tempdir();
    let pcap = dir.path().join("one.pcap");
    // A payload long enough for several dump lines, so that line offsets are checked too.
    let mut payload = chapter_bytes();
    payload.extend_from_slice(b"0123456789abcdef0123456789abcdef");
    let packet = write_pcap(&pcap, &payload);
    let pcap = pcap.to_str().expect("utf-8 path");
    let ip_header = "!BBHHHBBH4s4s";
    let want_ip = python(
        "import struct,sys; print(struct.unpack_from(sys.argv[1], bytes.fromhex(sys.argv[2])))",
        &[ip_header, &hex::encode(&packet)],
    );
    // -X and -x dump from the IP header; -XX and -xx from the Ethernet header.
    for (flags, link) in [("-X", 0), ("-x", 0), ("-XX", 14), ("-xx", 14)] {
        let dump = tool("tcpdump", &["-n", flags, "-r", pcap]);
        assert!(dump.contains("0x0000:"), "tcpdump {flags}: {dump}");
        let ip_at = link.to_string();
        let out = unpack_three_ways(ip_header, &dump, &["--offset", &ip_at], dir.path());
        for got in out {
            assert_eq!(got, want_ip.trim_end(), "tcpdump {flags}");
        }
        let record_at = (link + 28).to_string();
        let out = portsock(["struct", "unpack", "--offset", &record_at, "I 2s f", &dump]);
        assert_eq!(stdout_ok(&out, flags), CHAPTER_TUPLE, "tcpdump {flags}");
    }
}

/// `xxd -e` writes each group as a little-endian number (its ASCII column in memory order):
/// read back in memory order, whatever the group size, a short last group included.
#[test]
fn xxd_e_little_endian_dumps() {
    let dir = open_tempdir();
    let record = dir.path().join("record.bin");
    std::fs::write(&record, chapter_bytes()).expect("write record");
    let record = record.to_str().expect("utf-8 path");
    let dump = tool("xxd", &["-e", record]);
    // The groups as xxd -e writes them, not the bytes in memory order.
    assert!(dump.contains("00000001 00006261 402ccccd"), "{dump}");
    for out in unpack_three_ways("I 2s f", &dump, &[], dir.path()) {
        assert_eq!(out, CHAPTER_TUPLE, "xxd -e {dump:?}");
    }
    // 1,001 bytes of every value (xorshift), so most lines and the short last group hold
    // printable bytes, in every group size -e takes and a narrower line.
    let mut x: u32 = 0x9e37_79b9;
    let data: Vec<u8> = (0..1001)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect();
    let bin = dir.path().join("data.bin");
    std::fs::write(&bin, &data).expect("write data");
    let bin = bin.to_str().expect("utf-8 path");
    let want = stdout_ok(
        &portsock(["struct", "unpack", "--raw", "--iter", "--file", bin, "B"]),
        "--raw",
    );
    assert_eq!(want.lines().count(), 1001);
    for flags in [&["-e"][..], &["-e", "-g2"], &["-e", "-g8"], &["-e", "-c8"]] {
        let mut args = flags.to_vec();
        args.push(bin);
        let dump = tool("xxd", &args);
        let out = portsock_stdin(&["struct", "unpack", "--iter", "B"], dump.as_bytes());
        assert_eq!(
            stdout_ok(&out, &format!("xxd {flags:?}")),
            want,
            "xxd {flags:?}"
        );
    }
    // Two dumps of the same bytes, one each way, pasted as one: refused, saying why.
    let plain = tool("xxd", &["-g4", record]);
    let little = tool("xxd", &["-e", "-s", "12", bin]);
    let mixed = format!("{plain}{}", little.lines().next().expect("a line"));
    let out = portsock(["struct", "unpack", "--iter", "B", &mixed]);
    assert_cli_error(&out, "a dump of both orders");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("xxd -e") && stderr.contains("line 2"),
        "{stderr}"
    );
}

#[test]
fn raw_bytes_from_files_and_stdin() {
    let dir = open_tempdir();
    let packed = portsock(["struct", "pack", "--raw", "I 2s f", "1", "ab", "2.7"]);
    assert!(packed.status.success());
    assert_eq!(
        packed.stdout,
        chapter_bytes(),
        "pack --raw writes the bytes"
    );
    let file = dir.path().join("record.bin");
    std::fs::write(&file, &packed.stdout).expect("write");
    let file = file.to_str().expect("utf-8 path");
    let out = portsock(["struct", "unpack", "--raw", "--file", file, "I 2s f"]);
    assert_eq!(stdout_ok(&out, "--raw --file"), CHAPTER_TUPLE);
    let out = portsock_stdin(&["struct", "unpack", "--raw", "I 2s f"], &packed.stdout);
    assert_eq!(stdout_ok(&out, "--raw stdin"), CHAPTER_TUPLE);
    // Binary input without --raw is not hex, and says so.
    let out = portsock_stdin(&["struct", "unpack", "I 2s f"], &packed.stdout);
    assert_cli_error(&out, "binary without --raw");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--raw"));
}

/// Formats whose records cover every code, byte order and alignment case.
const ITER_FORMATS: [&str; 6] = ["<IHh", "I 2s f", "!hd?", "e3sxB", "@bq", ">Qp2c"];

#[test]
fn iter_unpack_as_cpython() {
    let dir = open_tempdir();
    // 4 KiB of reproducible bytes (xorshift), floats included: NaNs, infinities, subnormals.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let data: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let path = dir.path().join("capture.bin");
    std::fs::write(&path, &data).expect("write capture");
    let path = path.to_str().expect("utf-8 path");
    let script = "import struct,sys
fmt, path, skip = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(path, 'rb').read()[skip:]
size = struct.calcsize(fmt)
data = data[:len(data) - len(data) % size]
open(path + '.cut', 'wb').write(data)
for t in struct.iter_unpack(fmt, data):
    print(t)";
    for fmt in ITER_FORMATS {
        for skip in ["0", "3"] {
            let want = python(script, &[fmt, path, skip]);
            let cut = format!("{path}.cut");
            let got = portsock(["struct", "unpack", "--raw", "--iter", "--file", &cut, fmt]);
            let got = stdout_ok(&got, fmt);
            assert_eq!(got, want.trim_end(), "{fmt} from byte {skip}");
            assert!(got.lines().count() > 10, "{fmt}: records were read");
            // The same records through --offset on the uncut file when it lines up, and as JSON.
            let json = portsock([
                "struct", "unpack", "--raw", "--iter", "--json", "--file", &cut, fmt,
            ]);
            let json = stdout_ok(&json, fmt);
            assert_eq!(json.lines().count(), got.lines().count(), "{fmt}: --json");
            for line in json.lines() {
                let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
                assert!(v.is_array(), "{fmt}: {line}");
            }
        }
    }
}

#[test]
fn offset_is_unpack_from() {
    let bytes = "ffff 0100 0000 6162 0000 cdcc 2c40 eeee";
    let out = portsock(["struct", "unpack", "--offset", "2", "I 2s f", bytes]);
    assert_eq!(stdout_ok(&out, "--offset 2"), CHAPTER_TUPLE);
    let out = portsock(["struct", "unpack", "--offset", "0x2", "I 2s f", bytes]);
    assert_eq!(stdout_ok(&out, "--offset 0x2"), CHAPTER_TUPLE);
    let want = python(
        "import struct,sys; print(struct.unpack_from('<hH', bytes.fromhex(sys.argv[1]), 12))",
        &[bytes],
    );
    let out = portsock(["struct", "unpack", "--offset", "12", "<hH", bytes]);
    assert_eq!(stdout_ok(&out, "--offset 12"), want.trim_end());
    let out = portsock(["struct", "unpack", "--iter", "--offset", "2", "<H", bytes]);
    assert_eq!(stdout_ok(&out, "--iter --offset").lines().count(), 7);
}

/// Each bad input: the CLI fails the documented way and its one line names what was expected.
#[test]
fn bad_input_says_what_and_where() {
    let cases: [(&[&str], &str); 10] = [
        (
            &["I", "01 0g 00 00"],
            "'g' in \"0g\" is not a hex digit (line 1, column 5)",
        ),
        (&["I", "010"], "odd number of hex digits"),
        (&["I", "0x"], "no digits after 0x"),
        (
            &["I", "00000000: 0102 0304  ....\n00000010: 0506  ..\n"],
            "offset 0x10 where the bytes read so far end at 0x4",
        ),
        (&["I", "0100"], "buffer of 2 bytes, format needs exactly 4"),
        (&["I", "0100000002"], "--offset N reads one record"),
        (
            &["--iter", "<h", "010203"],
            "multiple of the 2-byte record: 1 whole records and 1 byte left over",
        ),
        (
            &["--offset", "9", "<h", "0102"],
            "buffer of 2 bytes, format needs 2 at offset 9",
        ),
        (
            &["--iter", "--offset", "9", "<h", "0102"],
            "offset 9 is past the end of its 2 bytes",
        ),
        (
            &["--file", "/nonexistent/portsock-input", "<h"],
            "file \"/nonexistent/portsock-input\"",
        ),
    ];
    for (args, want) in cases {
        let argv: Vec<&str> = ["struct", "unpack"].iter().chain(args).copied().collect();
        let out = portsock(&argv);
        let what = format!("{argv:?}");
        assert_cli_error(&out, &what);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(want), "{what}: {stderr}");
    }
    // A malformed command line is clap's: exit 2.
    let out = portsock(["struct", "unpack", "--offset", "-1", "<h", "0102"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `--raw --file` with `--iter` reads the file a chunk at a time: a bad length or offset is
/// still found before any record is printed, with the same words as for input read whole.
#[test]
fn iter_over_a_file_checks_it_whole_first() {
    let dir = open_tempdir();
    let path = dir.path().join("odd.bin");
    // Many chunks of records, and one byte too many.
    std::fs::write(&path, vec![7u8; 3_000_001]).expect("write capture");
    let file = path.to_str().expect("utf-8 path");
    let cases: [(&[&str], &str); 4] = [
        (&["<h"], "1500000 whole records and 1 byte left over"),
        (
            &["--offset", "3000002", "<h"],
            "offset 3000002 is past the end of its 3000001 bytes",
        ),
        (
            &["--offset", "1", "b0pb"],
            "a '0p' field cannot be unpacked",
        ),
        (&["0s"], "format of size 0"),
    ];
    for (args, want) in cases {
        let mut argv = vec!["struct", "unpack", "--raw", "--iter", "--file", file];
        argv.extend_from_slice(args);
        let out = portsock(&argv);
        let what = format!("{argv:?}");
        assert_cli_error(&out, &what);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(want) && stderr.contains("odd.bin"),
            "{what}: {stderr}"
        );
    }
    // From byte 1 the rest is whole records: all of them, in order.
    let out = portsock([
        "struct", "unpack", "--raw", "--iter", "--offset", "1", "--file", file, "<h",
    ]);
    let text = stdout_ok(&out, "--offset 1");
    assert_eq!(text.lines().count(), 1_500_000);
    assert!(
        text.lines().all(|l| l == "(1799,)"),
        "every record is 0x0707"
    );
}

#[test]
fn layout_matches_cpython_offsets() {
    // Formats from the vectors (every third valid calcsize case) and the chapter's pair.
    let mut formats: Vec<String> = vectors("struct.jsonl")
        .iter()
        .filter(|c| c["op"] == "calcsize" && c.get("error").is_none())
        .filter_map(|c| c["fmt"].as_str().map(str::to_owned))
        .filter(|f| !f.contains('\0') && f.len() < 60)
        .step_by(3)
        .collect();
    formats.extend(["I 2s f", "=I 2s f", "c0i", "bxhxq", "3s i 0p d"].map(str::to_owned));
    // CPython's offsets: item k starts at calcsize(items[..=k]) - calcsize(item k alone).
    let script = r#"import json, re, struct, sys
for fmt in json.loads(sys.argv[1]):
    prefix = fmt[0] if fmt[:1] in '@=<>!' else ''
    items = re.findall(r'\s*(\d*)(\S)', fmt[len(prefix):])
    out, text, end = [], prefix, 0
    for count, code in items:
        text += count + code
        size = struct.calcsize(prefix + count + code)
        offset = struct.calcsize(text) - size
        out.append([code, offset, size, offset - end])
        end = offset + size
    print(json.dumps({"items": out, "size": struct.calcsize(fmt)}))"#;
    let want = python(script, &[&serde_json::to_string(&formats).expect("json")]);
    let mut checked = 0;
    for (fmt, want) in formats.iter().zip(want.lines()) {
        let want: serde_json::Value = serde_json::from_str(want).expect("python's json");
        let out = portsock(["struct", "layout", "--json", fmt]);
        let got: serde_json::Value =
            serde_json::from_str(&stdout_ok(&out, fmt)).expect("layout --json parses");
        assert_eq!(got["size"], want["size"], "{fmt:?}: total");
        let got_items: Vec<serde_json::Value> = got["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| serde_json::json!([i["code"], i["offset"], i["size"], i["padding"]]))
            .collect();
        assert_eq!(serde_json::json!(got_items), want["items"], "{fmt:?}");
        checked += 1;
    }
    assert!(checked > 150, "only {checked} formats checked");
}

#[test]
fn layout_explains_the_chapters_record() {
    let out = portsock(["struct", "layout", "I 2s f"]);
    let text = stdout_ok(&out, "layout");
    assert!(text.contains("2  padding: 'f' aligns to 4 bytes"), "{text}");
    assert!(text.contains("total 12 bytes"), "{text}");
    let out = portsock(["struct", "layout", "=I 2s f"]);
    let text = stdout_ok(&out, "layout =");
    assert!(!text.contains("padding:"), "{text}");
    assert!(text.contains("total 10 bytes"), "{text}");
    assert_cli_error(&portsock(["struct", "layout", "I 2y"]), "bad format");
}
