//! Binary records between a userspace stack ([`Stack`]) and CPython's `struct` over the TAP,
//! both ways: the scenario `tests/smoltcp_tap_records.rs` and `tests/embassy_tap_records.rs`
//! both run.

use super::tcp::target;
use super::{Stack, TapNet};

/// CPython packs the chapter's record, sends it to `argv[1]` port 10000, prints its hex.
pub const PY_BINARY_CLIENT: &str = r#"
import socket, struct, sys, binascii
packed = struct.Struct('I 2s f').pack(1, b'ab', 2.7)
sock = socket.create_connection((sys.argv[1], 10000), timeout=10)
sock.sendall(packed)
sock.close()
print(binascii.hexlify(packed).decode())
"#;

/// CPython receives one record on `argv[1]` port 10000 and prints it unpacked.
pub const PY_BINARY_SERVER: &str = r#"
import socket, struct, sys
s = struct.Struct('I 2s f')
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
srv = socket.socket(family, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], 10000))
srv.listen(1)
print("listening", flush=True)
conn, _ = srv.accept()
data = b""
while len(data) < s.size:
    chunk = conn.recv(s.size - len(data))
    if not chunk:
        break
    data += chunk
print(s.unpack(data), flush=True)
"#;

/// Binary records both ways between `stack` (at `ours`) and CPython's `struct` (at `kernel`):
/// CPython sends two records, the stack receives and unpacks them; then the stack sends one
/// and CPython unpacks it.
pub fn records_both_ways(stack: Stack, tag: &str, ours: &str, kernel: &str) {
    let Some(net) = TapNet::new(tag) else {
        return;
    };
    // CPython sends, the stack receives (twice: --count 2). `:10000` is any IPv4 address, as
    // the chapter's `''`; a listener takes clients of its own family only.
    let any = if ours.contains(':') {
        "[::]:10000"
    } else {
        ":10000"
    };
    let mut receiver = net.on(
        stack,
        &["binary", "receive", "--addr", any, "--count", "2"],
        &[],
    );
    receiver.wait_for("waiting", |l| l == "waiting for a connection");
    net.link_up();
    for _ in 0..2 {
        let hex = net.python(PY_BINARY_CLIENT, &[ours]).finish_ok();
        assert_eq!(hex, ["0100000061620000cdcc2c40"]);
    }
    let got = receiver.finish_ok();
    let expected = [
        "",
        "waiting for a connection",
        "received b'0100000061620000cdcc2c40'",
        "unpacked: (1, b'ab', 2.700000047683716)",
    ];
    assert_eq!(got, [expected, expected].concat(), "{got:#?}");

    // The stack sends, CPython receives.
    let mut py = net.python(PY_BINARY_SERVER, &[kernel]);
    py.wait_for("listening", |l| l == "listening");
    let sent = net
        .on(
            stack,
            &["binary", "send", "--addr", &target(kernel, 10000)],
            &[],
        )
        .finish_ok();
    assert_eq!(
        sent,
        [
            "values = (1, b'ab', 2.7)",
            "sending b'0100000061620000cdcc2c40'",
            "closing socket",
        ]
    );
    assert_eq!(
        py.finish_ok().last().unwrap(),
        "(1, b'ab', 2.700000047683716)"
    );
}
