//! Binary records between the smoltcp stack and CPython's `struct` over a TAP device (see
//! `tests/common/tap.rs`).

mod common;

use common::tap::{KERNEL_V4, SMOL_V4, TapNet};

/// CPython packs the chapter's record and sends it.
const PY_BINARY_CLIENT: &str = r#"
import socket, struct, sys, binascii
packed = struct.Struct('I 2s f').pack(1, b'ab', 2.7)
sock = socket.create_connection((sys.argv[1], 10000), timeout=10)
sock.sendall(packed)
sock.close()
print(binascii.hexlify(packed).decode())
"#;

/// CPython receives one record and unpacks it.
const PY_BINARY_SERVER: &str = r#"
import socket, struct, sys
s = struct.Struct('I 2s f')
srv = socket.socket()
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

#[test]
fn binary_records_with_cpython_struct() {
    let Some(net) = TapNet::new("bin") else {
        return;
    };
    let mut receiver = net.smoltcp(
        &["binary", "receive", "--addr", ":10000", "--count", "1"],
        &[],
    );
    receiver.wait_for("waiting", |l| l == "waiting for a connection");
    let hex = net.python(PY_BINARY_CLIENT, &[SMOL_V4]).finish_ok();
    let got = receiver.finish_ok();
    assert!(got.contains(&format!("received b'{}'", hex[0])), "{got:#?}");
    assert!(
        got.contains(&"unpacked: (1, b'ab', 2.700000047683716)".to_string()),
        "{got:#?}"
    );

    let mut py = net.python(PY_BINARY_SERVER, &[KERNEL_V4]);
    py.wait_for("listening", |l| l == "listening");
    let sent = net
        .smoltcp(
            &["binary", "send", "--addr", &format!("{KERNEL_V4}:10000")],
            &[],
        )
        .finish_ok();
    assert_eq!(sent[0], "values = (1, b'ab', 2.7)");
    assert_eq!(
        py.finish_ok().last().unwrap(),
        "(1, b'ab', 2.700000047683716)"
    );
}
