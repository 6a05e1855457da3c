# The chapter's stream client (tests/cli_tokio.rs, tests/interop_python.rs): send the message,
# read 16 bytes at a time until it is back. Arguments: `inet PORT` or `unix PATH`.
import socket, sys
family, where = sys.argv[1], sys.argv[2]
if family == 'unix':
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    address = where
else:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    address = ('localhost', int(where))
sock.settimeout(10)
sock.connect(address)
message = b'This is the message.  It will be repeated.'
sock.sendall(message)
received = b''
while len(received) < len(message):
    data = sock.recv(16)
    if not data:
        break
    received += data
    print('received {!r}'.format(data))
sock.close()
print('echo ok' if received == message else 'echo MISMATCH')
