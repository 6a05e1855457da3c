//! `portsock struct unpack --raw --iter` on a stream (stdin, a FIFO): records printed as they
//! arrive, before the writer is done, in bounded memory, and a stream that ends inside a record
//! ends with iter_unpack's error after the records before it.

mod common;

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{open_tempdir, portsock_bin};

/// Generous for a busy machine: a line that takes this long is not coming.
const PATIENCE: Duration = Duration::from_secs(20);

/// `n` of the chapter's records `(i, b'ab', i / 7)` from `first`, packed by CPython, and
/// CPython's `print(t)` of each.
fn records(first: u32, n: u32) -> (Vec<u8>, Vec<String>) {
    let script = "import struct,sys\n\
        a,n=int(sys.argv[1]),int(sys.argv[2])\n\
        ts=[(i,b'ab',i/7) for i in range(a,a+n)]\n\
        sys.stdout.write(''.join(f'{struct.unpack(\"I 2s f\",struct.pack(\"I 2s f\",*t))}\\n' for t in ts))\n\
        sys.stderr.buffer.write(b''.join(struct.pack('I 2s f',*t) for t in ts))\n";
    let out = Command::new("python3")
        .args(["-c", script, &first.to_string(), &n.to_string()])
        .output()
        .expect("run python3");
    assert!(out.status.success(), "python3: {out:?}");
    let lines = String::from_utf8(out.stdout).expect("text");
    (out.stderr, lines.lines().map(str::to_owned).collect())
}

/// Lines of `stdout` as they come, on a channel.
fn lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The next `n` lines, each within [`PATIENCE`].
fn take(rx: &mpsc::Receiver<String>, n: usize, when: &str) -> Vec<String> {
    (0..n)
        .map(|i| {
            rx.recv_timeout(PATIENCE)
                .unwrap_or_else(|e| panic!("{when}: line {i} of {n} not printed: {e}"))
        })
        .collect()
}

/// Waits for `child` and returns its exit code and stderr.
fn finish(mut child: Child) -> (Option<i32>, String) {
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    let status = child.wait().expect("wait for portsock");
    (status.code(), err)
}

/// Streams into `writer` while checking `portsock`'s output: the first records are printed
/// while the writer stays open, the last ones after more bytes, then a cut record's error.
fn stream_then_cut(mut child: Child, mut writer: impl std::io::Write, what: &str) {
    let rx = lines(child.stdout.take().expect("stdout"));
    let (first, first_lines) = records(0, 3);
    writer.write_all(&first).expect("write records");
    writer.flush().expect("flush");
    assert_eq!(
        take(&rx, 3, what),
        first_lines,
        "{what}: records before the end"
    );
    let (more, more_lines) = records(3, 2);
    writer.write_all(&more).expect("write records");
    writer
        .write_all(&[1, 2, 3, 4, 5])
        .expect("write a cut record");
    drop(writer);
    assert_eq!(take(&rx, 2, what), more_lines, "{what}: the last records");
    let (code, err) = finish(child);
    assert_eq!(code, Some(1), "{what}: a cut record is an error: {err}");
    assert!(
        err.contains("buffer of 65 bytes") && err.contains("5 whole records and 5 bytes left over"),
        "{what}: the error says how the stream ended: {err}"
    );
    assert!(rx.recv_timeout(PATIENCE).is_err(), "{what}: nothing more");
}

#[test]
fn stdin_records_print_as_they_arrive() {
    let mut child = Command::new(portsock_bin())
        .args(["struct", "unpack", "--raw", "--iter", "I 2s f"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run portsock");
    let stdin = child.stdin.take().expect("stdin");
    stream_then_cut(child, stdin, "stdin");
}

#[test]
fn fifo_records_print_as_they_arrive() {
    let dir = open_tempdir();
    let fifo = dir.path().join("capture");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success(), "mkfifo");
    let child = Command::new(portsock_bin())
        .args(["struct", "unpack", "--raw", "--iter", "--file"])
        .arg(&fifo)
        .arg("I 2s f")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run portsock");
    // Opening for writing waits for portsock to open the FIFO for reading.
    let writer = std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("open the FIFO");
    stream_then_cut(child, writer, "a FIFO");
}

#[test]
fn a_long_stream_is_not_held_in_memory() {
    // 200 MB of records through a pipe, printed to /dev/null; CPython reports the child's peak
    // resident memory. Read whole first, the input alone would be 200 MB.
    let script = "import resource,subprocess,sys\n\
        block=bytes(range(256))*48\n\
        p=subprocess.Popen([sys.argv[1],'struct','unpack','--raw','--iter','<IIII'],\
        stdin=subprocess.PIPE,stdout=subprocess.DEVNULL)\n\
        for _ in range(200_000_000//len(block)): p.stdin.write(block)\n\
        p.stdin.close()\n\
        assert p.wait()==0\n\
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(portsock_bin())
        .output()
        .expect("run python3");
    assert!(out.status.success(), "python3: {out:?}");
    let kib: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("peak RSS in KiB");
    assert!(
        kib < 64 * 1024,
        "200 MB through a pipe peaked at {kib} KiB of memory"
    );
}
