# A record sender (tests/cli_tokio.rs, tests/interop_python.rs): pack argv[3:] (Python
# literals) with format argv[2], send it to port argv[1], print what was packed as unpack sees it.
import ast, socket, struct, sys
values = tuple(ast.literal_eval(v) for v in sys.argv[3:])
packed = struct.pack(sys.argv[2], *values)
sock = socket.create_connection(('localhost', int(sys.argv[1])), timeout=10)
sock.sendall(packed)
sock.close()
print('sent:', struct.unpack(sys.argv[2], packed))
