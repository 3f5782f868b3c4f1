#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A small FastCGI client for the suwrap-cgid suites: what cgi-fcgi cannot do.

Written against the FastCGI 1.0 specification, standard library only, so that it runs
as any test user (setpriv) without a virtualenv. Every mode prints one result word
(and details) on stdout; the suites compare those words.

  fcgi_client.py SOCK request NAME=VALUE...        one request; prints the raw CGI response
  fcgi_client.py SOCK keepconn N NAME=VALUE...     N requests on one FCGI_KEEP_CONN connection
  fcgi_client.py SOCK garbage                      bytes that are no record stream
  fcgi_client.py SOCK probe NAME=VALUE...          a whole request; was it served or closed?
  fcgi_client.py SOCK getvalues                    FCGI_GET_VALUES
  fcgi_client.py SOCK slowread SECONDS NAME=VALUE... a request whose answer is read only after SECONDS
  fcgi_client.py SOCK abort SECONDS NAME=VALUE...  a request, then FCGI_ABORT_REQUEST after SECONDS
  fcgi_client.py SOCK nul NAME=VALUE...            a request with a NUL inside one param value
"""
import socket
import struct
import sys
import time

VERSION = 1
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7
GET_VALUES, GET_VALUES_RESULT = 9, 10
RESPONDER = 1
KEEP_CONN = 1


def record(rtype, request_id, content=b""):
    out = b""
    # Records hold at most 65535 bytes; longer content is split.
    while True:
        part, content = content[:65535], content[65535:]
        pad = (8 - len(part) % 8) % 8
        out += struct.pack(">BBHHBB", VERSION, rtype, request_id, len(part), pad, 0) + part + b"\0" * pad
        if not content:
            return out


def length(n):
    return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)


def name_values(pairs):
    return b"".join(length(len(n)) + length(len(v)) + n + v for n, v in pairs)


def request_bytes(request_id, pairs, body=b"", keep=False):
    out = record(BEGIN_REQUEST, request_id, struct.pack(">HB5x", RESPONDER, KEEP_CONN if keep else 0))
    out += record(PARAMS, request_id, name_values(pairs)) + record(PARAMS, request_id)
    if body:
        out += record(STDIN, request_id, body)
    return out + record(STDIN, request_id)


def read_exact(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return bytes(data)


def read_record(sock):
    version, rtype, request_id, clen, pad, _ = struct.unpack(">BBHHBB", read_exact(sock, 8))
    content = read_exact(sock, clen)
    read_exact(sock, pad)
    return rtype, request_id, content


def read_response(sock, request_id):
    """Records of one request up to its END_REQUEST: (stdout, stderr, app_status)."""
    out, err = bytearray(), bytearray()
    while True:
        rtype, rid, content = read_record(sock)
        if rid != request_id:
            raise ValueError("record for request %d while waiting for %d" % (rid, request_id))
        if rtype == STDOUT:
            out += content
        elif rtype == STDERR:
            err += content
        elif rtype == END_REQUEST:
            app_status, protocol_status = struct.unpack(">IB3x", content)
            return bytes(out), bytes(err), app_status
        else:
            raise ValueError("unexpected record type %d" % rtype)


def parse_name_values(content):
    def take_length(pos):
        if content[pos] < 128:
            return content[pos], pos + 1
        return struct.unpack(">I", content[pos:pos + 4])[0] & 0x7FFFFFFF, pos + 4

    pairs, pos = [], 0
    while pos < len(content):
        nlen, pos = take_length(pos)
        vlen, pos = take_length(pos)
        pairs.append((content[pos:pos + nlen], content[pos + nlen:pos + nlen + vlen]))
        pos += nlen + vlen
    return pairs


def pairs_from(args):
    pairs = []
    for arg in args:
        name, _, value = arg.partition("=")
        pairs.append((name.encode(), value.encode()))
    return pairs


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    return s


def closed_without_reply(sock):
    """True if the peer closed (or reset) the connection without sending a byte."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def main():
    path, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if mode == "request":
        s = connect(path)
        s.sendall(request_bytes(1, pairs_from(args), sys.stdin.buffer.read()))
        out, err, status = read_response(s, 1)
        sys.stdout.write(out.decode(errors="replace"))
    elif mode == "keepconn":
        count, pairs = int(args[0]), pairs_from(args[1:])
        s = connect(path)
        bodies = []
        for i in range(count):
            s.sendall(request_bytes(i + 1, pairs, keep=True))
            out, err, status = read_response(s, i + 1)
            bodies.append(out.split(b"\r\n\r\n", 1)[-1].decode(errors="replace"))
        # The connection is still open after the last END_REQUEST: one more request
        # would be served on it. Closing it is our turn.
        s.setblocking(False)
        try:
            still_open = s.recv(1) != b""
        except BlockingIOError:
            still_open = True
        print("served %d open=%s" % (len(bodies), still_open))
        for body in bodies:
            print(body)
    elif mode == "garbage":
        s = connect(path)
        # A record header with version 7 and nonsense after it.
        s.sendall(b"\x07\x01\x00\x01\x00\x08\x00\x00" + b"\xff" * 64)
        print("closed" if closed_without_reply(s) else "answered")
    elif mode == "probe":
        try:
            s = connect(path)
            s.sendall(request_bytes(1, pairs_from(args)))
        except (BrokenPipeError, ConnectionResetError):
            print("closed")
            return
        time.sleep(0.2)
        print("closed" if closed_without_reply(s) else "served")
    elif mode == "slowread":
        # Asks for an answer, reads nothing for SECONDS, then reads it all: what a slow
        # client does to the daemon (backpressure, not buffering).
        delay, pairs = float(args[0]), pairs_from(args[1:])
        s = connect(path)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(request_bytes(1, pairs))
        time.sleep(delay)
        out, err, status = read_response(s, 1)
        body = out.split(b"\r\n\r\n", 1)[-1]
        print("body_bytes=%d app_status=%d" % (len(body), status))
    elif mode == "getvalues":
        s = connect(path)
        s.sendall(record(GET_VALUES, 0, name_values([(b"FCGI_MAX_CONNS", b""), (b"FCGI_MAX_REQS", b""),
                                                      (b"FCGI_MPXS_CONNS", b"")])))
        rtype, rid, content = read_record(s)
        print("type=%d" % rtype, " ".join("%s=%s" % (n.decode(), v.decode()) for n, v in parse_name_values(content)))
    elif mode == "abort":
        delay, pairs = float(args[0]), pairs_from(args[1:])
        s = connect(path)
        s.sendall(request_bytes(1, pairs))
        time.sleep(delay)
        s.sendall(record(ABORT_REQUEST, 1))
        out, err, status = read_response(s, 1)
        print("ended app_status=%d" % status)
    elif mode == "stall":
        # A request begun and never finished: BEGIN_REQUEST and one PARAMS record, without
        # the empty one that ends the params; the connection is held for SECONDS.
        delay = float(args[0])
        s = connect(path)
        s.sendall(record(BEGIN_REQUEST, 1, struct.pack(">HB5x", RESPONDER, 0)) +
                  record(PARAMS, 1, name_values([(b"REQUEST_METHOD", b"GET")])))
        print("stalled", flush=True)
        time.sleep(delay)
    elif mode == "nul":
        s = connect(path)
        pairs = pairs_from(args) + [(b"HTTP_X_EVIL", b"before\0after")]
        s.sendall(request_bytes(1, pairs))
        try:
            out, err, status = read_response(s, 1)
            sys.stdout.write(out.decode(errors="replace").split("\r\n", 1)[0] + "\n")
        except (EOFError, ConnectionResetError):
            print("closed")
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
