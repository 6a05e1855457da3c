//! CPython peers for the examples, written for these tests (not the chapter's programs): each
//! talks only on 127.0.0.1 or a Unix path, and prints what the test checks.

/// Connects (TCP on 127.0.0.1, or a Unix path), sends argv[3], reads the echo back.
pub(crate) const PY_STREAM_CLIENT: &str = r#"
import socket, sys
kind, where, message = sys.argv[1], sys.argv[2], sys.argv[3].encode()
if kind == 'tcp':
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(('127.0.0.1', 0))
    s.connect(('127.0.0.1', int(where)))
    print('client port', s.getsockname()[1], flush=True)
else:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(where)
s.sendall(message)
echoed = b''
while len(echoed) < len(message):
    part = s.recv(4096)
    if not part:
        break
    echoed += part
s.close()
print('echoed', repr(echoed))
"#;

/// Listens (TCP on a free 127.0.0.1 port, or a Unix path), echoes one connection.
pub(crate) const PY_STREAM_SERVER: &str = r#"
import socket, sys
kind, where = sys.argv[1], sys.argv[2]
if kind == 'tcp':
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(('127.0.0.1', 0))
    where = srv.getsockname()[1]
else:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(where)
srv.listen(1)
print('listening', where, flush=True)
conn, _ = srv.accept()
seen = b''
while True:
    part = conn.recv(4096)
    if not part:
        break
    seen += part
    conn.sendall(part)
conn.close()
print('echoed', repr(seen))
"#;

/// Sends argv[2] to 127.0.0.1:argv[1] over UDP and waits for the echo.
pub(crate) const PY_DGRAM_CLIENT: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0))
s.settimeout(5)
print('client port', s.getsockname()[1], flush=True)
s.sendto(sys.argv[2].encode(), ('127.0.0.1', int(sys.argv[1])))
data, peer = s.recvfrom(4096)
print('echoed', repr(data), 'from', peer)
"#;

/// Echoes one UDP datagram on a free 127.0.0.1 port.
pub(crate) const PY_DGRAM_SERVER: &str = r#"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0))
s.settimeout(10)
print('listening', s.getsockname()[1], flush=True)
data, peer = s.recvfrom(4096)
s.sendto(data, peer)
print('echoed', repr(data), 'to', peer)
"#;

/// Packs (1, b'ab', 2.7) as 'I 2s f' and sends it to 127.0.0.1:argv[1].
pub(crate) const PY_BINARY_CLIENT: &str = r#"
import socket, struct, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), source_address=('127.0.0.1', 0))
s.sendall(struct.pack('I 2s f', 1, b'ab', 2.7))
s.close()
"#;

/// Receives one 'I 2s f' record on a free 127.0.0.1 port and prints it unpacked.
pub(crate) const PY_BINARY_SERVER: &str = r#"
import socket, struct
layout = struct.Struct('I 2s f')
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(('127.0.0.1', 0))
srv.listen(1)
print('listening', srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
record = b''
while len(record) < layout.size:
    part = conn.recv(layout.size - len(record))
    if not part:
        break
    record += part
conn.close()
print('unpacked', layout.unpack(record))
"#;
