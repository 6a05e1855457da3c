"""CPython's answers to `portsock hostname` / `portsock lookup ...`, for tests/lookup_*.rs.

Takes the same arguments as the portsock command and prints what it must print: the chapter's
lines (or `--json`) on stdout for the inputs that were found, and `error: <input>: <message>` on
stderr for each that was not, with exit status 1 if any was not (0 with `--always-zero`). Bad
input (a port out of range) is one error line and nothing on stdout. Every answer comes from
Python's `socket` module; only the layout is written here.

`batch` reads a JSON list of calls from stdin, `[["getservbyname", "http", "tcp"], ...]`,
and prints one JSON list of results, `{"ok": value}` or `{"error": {...}}`, in the same order.
"""

import json
import socket
import sys
from urllib.parse import urlparse


class Failure(Exception):
    """A failure the CLI reports on stderr: the input and the message."""


def error_json(exc):
    errno = getattr(exc, "errno", None)
    message = exc.strerror if errno is not None else str(exc)
    return {"type": type(exc).__name__, "errno": errno, "message": message}


def get_constants(prefix):
    return {getattr(socket, n): n for n in dir(socket) if n.startswith(prefix)}


def take_option(args, name):
    """Remove `--name VALUE` (or `--name=VALUE`) from args; return VALUE or None."""
    for i, arg in enumerate(args):
        if arg == name:
            value = args[i + 1]
            del args[i : i + 2]
            return value
        if arg.startswith(name + "="):
            del args[i]
            return arg[len(name) + 1 :]
    return None


def take_all(args, name):
    values = []
    while True:
        value = take_option(args, name)
        if value is None:
            return values
        values.append(value)


def take_flag(args, name):
    if name in args:
        args.remove(name)
        return True
    return False


def host(names, as_json):
    rows, lines, failed = [], [], []
    for name in names:
        try:
            address = socket.gethostbyname(name)
        except OSError as exc:
            failed.append((name, str(exc)))
            rows.append({"name": name, "error": error_json(exc)})
            lines.append("{} : {}".format(name, exc))
        else:
            rows.append({"name": name, "address": address})
            lines.append("{} : {}".format(name, address))
    return (rows if as_json else "".join(line + "\n" for line in lines)), failed


def host_ex(names, as_json):
    rows, out, failed = [], [], []
    for name in names:
        out.append(name + "\n")
        try:
            hostname, aliases, addresses = socket.gethostbyname_ex(name)
        except OSError as exc:
            failed.append((name, str(exc)))
            rows.append({"name": name, "error": error_json(exc)})
            out.append("ERROR: {}\n".format(exc))
        else:
            rows.append(
                {"name": name, "hostname": hostname, "aliases": aliases, "addresses": addresses}
            )
            out.append("  Hostname: {}\n".format(hostname))
            out.append("  Aliases : {}\n".format(aliases))
            out.append(" Addresses: {}\n".format(addresses))
        out.append("\n")
    return (rows if as_json else "".join(out)), failed


def fqdn(names, as_json):
    if not names:
        name = socket.getfqdn()
        return ([{"name": "", "fqdn": name}] if as_json else name + "\n"), []
    rows = [{"name": n, "fqdn": socket.getfqdn(n)} for n in names]
    if as_json:
        return rows, []
    return "".join("{:>10} : {}\n".format(r["name"], r["fqdn"]) for r in rows), []


def addr(addresses, as_json):
    rows, blocks, failed = [], [], []
    for address in addresses:
        try:
            hostname, aliases, found = socket.gethostbyaddr(address)
        except OSError as exc:
            failed.append((address, str(exc)))
            rows.append({"address": address, "error": error_json(exc)})
            continue
        rows.append(
            {"address": address, "hostname": hostname, "aliases": aliases, "addresses": found}
        )
        blocks.append(
            "Hostname : {}\nAliases  : {}\nAddresses: {}\n".format(hostname, aliases, found)
        )
    return (rows if as_json else "\n".join(blocks)), failed


def service(args, as_json):
    proto = take_option(args, "--proto")
    rows, lines, failed = [], [], []
    for arg in args:
        name = urlparse(arg).scheme or arg
        try:
            port = socket.getservbyname(name, proto) if proto else socket.getservbyname(name)
        except OSError as exc:
            failed.append((arg, str(exc)))
            rows.append({"name": arg, "service": name, "proto": proto, "error": error_json(exc)})
            continue
        rows.append({"name": arg, "service": name, "proto": proto, "port": port})
        lines.append("{:>6} : {}\n".format(name, port))
    return (rows if as_json else "".join(lines)), failed


def port(args, as_json):
    proto = take_option(args, "--proto")
    rows, lines, failed = [], [], []
    # Every port is checked before any look-up: a bad one is bad input.
    for arg in args:
        try:
            socket.getservbyport(int(arg))
        except OverflowError as exc:
            raise Failure("port " + arg, str(exc))
        except OSError:
            pass
    for arg in args:
        number = int(arg)
        try:
            name = socket.getservbyport(number, proto) if proto else socket.getservbyport(number)
        except OSError as exc:
            failed.append((arg, str(exc)))
            rows.append({"port": number, "proto": proto, "error": error_json(exc)})
            continue
        rows.append({"port": number, "proto": proto, "name": name})
        lines.append("{}://example.com/\n".format(name))
    return (rows if as_json else "".join(lines)), failed


def proto(names, as_json):
    protocols = get_constants("IPPROTO_")
    rows, lines, failed = [], [], []
    for name in names:
        try:
            number = socket.getprotobyname(name)
        except OSError as exc:
            failed.append((name, str(exc)))
            rows.append({"name": name, "error": error_json(exc)})
            continue
        constant = protocols.get(number)
        rows.append({"name": name, "number": number, "constant": constant})
        if constant is None:
            lines.append("{:>4} -> {:2d}\n".format(name, number))
        else:
            lines.append(
                "{:>4} -> {:2d} (socket.{:<12} = {:2d})\n".format(
                    name, number, constant, getattr(socket, constant)
                )
            )
    return (rows if as_json else "".join(lines)), failed


def addrinfo(args, as_json):
    family = {"inet": socket.AF_INET, "inet6": socket.AF_INET6, "unspec": 0, None: 0}[
        take_option(args, "--family")
    ]
    socktype = {
        "stream": socket.SOCK_STREAM,
        "dgram": socket.SOCK_DGRAM,
        "raw": socket.SOCK_RAW,
        None: 0,
    }[take_option(args, "--type")]
    proto_arg = take_option(args, "--proto")
    if proto_arg is None:
        protocol = 0
    elif proto_arg.isdigit():
        protocol = int(proto_arg)
    else:
        protocol = socket.getprotobyname(proto_arg)
    flags = socket.AI_CANONNAME if take_flag(args, "--canonname") else 0
    for name in take_all(args, "--flag"):
        name = name.upper()
        flags |= getattr(socket, name if name.startswith("AI_") else "AI_" + name)
    host_arg, service_arg = args
    try:
        found = socket.getaddrinfo(host_arg, service_arg, family, socktype, protocol, flags)
    except OSError as exc:
        raise Failure("{} {}".format(host_arg, service_arg), str(exc))
    families = get_constants("AF_")
    types = get_constants("SOCK_")
    protocols = get_constants("IPPROTO_")
    rows, out = [], []
    for fam, typ, pro, canonname, sockaddr in found:
        rows.append(
            {
                "family": int(fam),
                "family_name": families.get(fam),
                "type": int(typ),
                "type_name": types.get(typ),
                "proto": pro,
                "proto_name": protocols.get(pro),
                "canonname": canonname,
                "sockaddr": list(sockaddr),
            }
        )
        out.append("Family        : {}\n".format(families[fam]))
        out.append("Type          : {}\n".format(types[typ]))
        out.append("Protocol      : {}\n".format(protocols[pro]))
        out.append("Canonical name: {}\n".format(canonname))
        out.append("Socket address: {}\n\n".format(sockaddr))
    return (rows if as_json else "".join(out)), []


def batch():
    """Each call's result as {"ok": value} or {"error": {...}}."""
    results = []
    for call in json.load(sys.stdin):
        name, args = call[0], call[1:]
        try:
            if name == "getaddrinfo":
                host_arg, service_arg, family, socktype, protocol, flags = args
                value = [
                    [int(f), int(t), p, c, list(a)]
                    for f, t, p, c, a in socket.getaddrinfo(
                        host_arg, service_arg, family, socktype, protocol, flags
                    )
                ]
            else:
                value = getattr(socket, name)(*args)
                if isinstance(value, tuple):
                    value = list(value)
            results.append({"ok": value})
        except (OSError, OverflowError, ValueError) as exc:
            results.append({"error": error_json(exc)})
    return results


def main(argv):
    args = list(argv)
    as_json = take_flag(args, "--json")
    always_zero = take_flag(args, "--always-zero")
    if args == ["batch"]:
        print(json.dumps(batch()))
        return 0
    command = args.pop(0)
    failed = []
    if command == "hostname":
        name = socket.gethostname()
        answer = {"hostname": name} if as_json else name + "\n"
    else:
        assert command == "lookup", command
        op = args.pop(0)
        handlers = {
            "host": host,
            "host-ex": host_ex,
            "fqdn": fqdn,
            "addr": addr,
            "service": service,
            "port": port,
            "proto": proto,
            "addrinfo": addrinfo,
        }
        try:
            answer, failed = handlers[op](args, as_json)
        except Failure as failure:
            what, message = failure.args
            sys.stderr.write("error: {}: {}\n".format(what, message))
            return 1
    if as_json:
        print(json.dumps(answer))
    else:
        sys.stdout.write(answer)
    sys.stdout.flush()
    for what, message in failed:
        sys.stderr.write("error: {}: {}\n".format(what, message))
    return 1 if failed and not always_zero else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
