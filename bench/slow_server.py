#!/usr/bin/env python3
"""A small static HTTP/1.1 server that can delay every response.

    python3 bench/slow_server.py DIR [--delay 0.1] [--port 0] [--port-file F]

Serves DIR on 127.0.0.1 (only): `/x/` is DIR/x/index.html, `/x` is DIR/x or
DIR/x/index.html, anything else 404. Keep-alive, pipelining-safe (responses
on a connection go out in request order), GET and HEAD. Each response is
sent `--delay` seconds after its request was read, without blocking anything
else: a timer per connection, no task per request, files cached in memory
after the first read. With --port 0 the kernel picks a port, written to
--port-file once the server listens (the runner waits for that file).

Used by bench/run for the 100 ms latency scenario and, with --delay 0, as the
static server of the --smoke mode (no nginx needed). Uses uvloop when it is
importable (bench/.venv has it), the stock asyncio loop otherwise.
"""

import argparse
import asyncio
import collections
import os
import signal
import socket
import sys
from urllib.parse import unquote

TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".txt": b"text/plain; charset=utf-8",
    ".json": b"application/json",
    ".css": b"text/css",
}

NOT_FOUND_BODY = b"<!DOCTYPE html><title>404</title><h1>Not Found</h1>\n"


def _response(status, ctype, body, close):
    head = (
        b"HTTP/1.1 " + status + b"\r\n"
        b"Server: trawl-bench\r\n"
        b"Content-Type: " + ctype + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        + (b"Connection: close\r\n" if close else b"")
        + b"\r\n"
    )
    return head, body


class Site:
    def __init__(self, root):
        self.root = os.path.realpath(root)
        self.cache = {}  # path -> (head, body) or None for 404

    def lookup(self, raw_path):
        hit = self.cache.get(raw_path)
        if hit is not None or raw_path in self.cache:
            return hit
        path = unquote(raw_path.split("?", 1)[0].split("#", 1)[0])
        found = None
        if path.startswith("/") and ".." not in path.split("/") and "\0" not in path:
            fs = os.path.join(self.root, path.lstrip("/"))
            candidates = [os.path.join(fs, "index.html")] if path.endswith("/") else [fs, os.path.join(fs, "index.html")]
            for c in candidates:
                if os.path.isfile(c):
                    with open(c, "rb") as f:
                        body = f.read()
                    ctype = TYPES.get(os.path.splitext(c)[1], b"application/octet-stream")
                    found = _response(b"200 OK", ctype, body, False)
                    break
        if len(self.cache) < 1_000_000:
            self.cache[raw_path] = found
        return found


class Stats:
    """Requests, connections, and requests in flight (read, not yet answered)."""

    def __init__(self, loop, delay):
        self.loop = loop
        self.delay = delay
        self.requests = self.connections = 0
        self.inflight = self.max_inflight = 0
        self.since = 0.0
        self.busy = 0.0  # time with at least one request in flight
        self.area = 0.0  # integral of inflight over time
        self.trace = None  # [(time, target)] with --trace

    def change(self, n):
        if n == 0:
            return
        now = self.loop.time()
        if self.inflight:
            self.busy += now - self.since
            self.area += self.inflight * (now - self.since)
        self.since = now
        self.inflight += n
        if self.inflight > self.max_inflight:
            self.max_inflight = self.inflight

    def __str__(self):
        served = f"served {self.requests} requests on {self.connections} connections"
        if self.delay <= 0 or not self.busy:
            return served  # answered as read: nothing stays in flight here
        return (f"{served}; in flight at most {self.max_inflight},"
                f" {self.area / self.busy:.1f} on average over {self.busy:.2f} s busy")


class Conn(asyncio.Protocol):
    __slots__ = ("site", "delay", "loop", "transport", "buf", "queue", "timer", "closing", "stats")

    def __init__(self, site, delay, stats):
        self.site = site
        self.delay = delay
        self.stats = stats
        self.loop = asyncio.get_running_loop()
        self.transport = None
        self.buf = b""
        self.queue = collections.deque()  # (due, bytes, close)
        self.timer = None
        self.closing = False

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self.stats.connections += 1

    def connection_lost(self, exc):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.stats.change(-len(self.queue))
        self.queue.clear()
        self.closing = True

    def data_received(self, data):
        if self.closing:
            return
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > 65536:
                    self._send_now(b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", True)
                return
            head = self.buf[:end].decode("latin-1")
            rest = self.buf[end + 4:]
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip().lower()
            length = int(headers.get("content-length", "0") or 0)
            if len(rest) < length:
                return  # wait for the (ignored) request body
            self.buf = rest[length:]
            if len(parts) != 3:
                self._send_now(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", True)
                return
            method, target, version = parts
            conn = headers.get("connection", "")
            close = "close" in conn or (version == "HTTP/1.0" and "keep-alive" not in conn)
            self.stats.requests += 1
            self.stats.change(1)
            if self.stats.trace is not None:
                self.stats.trace.append((self.loop.time(), target))
            if method not in ("GET", "HEAD"):
                head_b, body = _response(b"405 Method Not Allowed", b"text/plain", b"", close)
            else:
                found = self.site.lookup(target)
                if found is None:
                    head_b, body = _response(b"404 Not Found", TYPES[".html"], NOT_FOUND_BODY, close)
                else:
                    head_b, body = found
                    if close:
                        head_b = head_b[:-2] + b"Connection: close\r\n\r\n"
                if method == "HEAD":
                    body = b""
            self._enqueue(head_b + body, close)
            if close:
                self.closing = True
                return

    def _send_now(self, data, close):
        self.transport.write(data)
        if close:
            self.closing = True
            self.transport.close()

    def _enqueue(self, data, close):
        if self.delay <= 0 and not self.queue:
            self.stats.change(-1)
            self._send_now(data, close)
            return
        due = self.loop.time() + self.delay
        self.queue.append((due, data, close))
        if self.timer is None:
            self.timer = self.loop.call_at(due, self._flush)

    def _flush(self):
        self.timer = None
        if self.transport is None or self.transport.is_closing():
            self.stats.change(-len(self.queue))
            self.queue.clear()
            return
        now = self.loop.time()
        q = self.queue
        while q and q[0][0] <= now + 0.0005:
            _, data, close = q.popleft()
            self.stats.change(-1)
            self.transport.write(data)
            if close:
                self.stats.change(-len(q))
                q.clear()
                self.transport.close()
                return
        if q:
            self.timer = self.loop.call_at(q[0][0], self._flush)


async def serve(args):
    loop = asyncio.get_running_loop()
    site = Site(args.dir)
    stats = Stats(loop, args.delay)
    if args.trace:
        stats.trace = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(4096)
    server = await loop.create_server(lambda: Conn(site, args.delay, stats), sock=sock, backlog=4096)
    port = sock.getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(f"slow_server: serving {args.dir} on http://127.0.0.1:{port}/ with {args.delay * 1000:g} ms delay"
          f" ({type(loop).__module__.split('.')[0]} loop)", file=sys.stderr)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    print(f"slow_server: {stats}", file=sys.stderr)
    if args.trace:
        t0 = stats.trace[0][0] if stats.trace else 0
        with open(args.trace, "w") as f:
            f.writelines(f"{t - t0:.6f}\t{target}\n" for t, target in stats.trace)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--delay", type=float, default=0.1, help="seconds before each response (default 0.1)")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: any free one)")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--trace", help="at exit, write each request's arrival (seconds from the first) and target here")
    args = ap.parse_args(argv)
    try:
        import uvloop  # type: ignore
        factory = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(serve(args))


if __name__ == "__main__":
    main()
