"""A load client that accounts for every request: the status and latency of each, or its error.

Requests are prepared as raw bytes and sent by threads in two client processes over
plain sockets, so that the client takes as little of the machine as it can; every
prepared request is sent exactly once.
"""
import socket
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Outcome:
    statuses: dict = field(default_factory=dict)
    errors: int = 0
    latencies: list = field(default_factory=list)
    started: float = float("inf")
    finished: float = 0.0

    def merge(self, other):
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.errors += other.errors
        self.latencies += other.latencies
        self.started = min(self.started, other.started)
        self.finished = max(self.finished, other.finished)

    @property
    def seconds(self):
        return self.finished - self.started

    def percentile_ms(self, p):
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else 0.0


def encode(host, port, method, path, headers, body=""):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    payload = body.encode("utf-8")
    lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def _exchange(sock, request):
    """Sends one request; returns (status, keep_alive) after reading the whole response."""
    sock.sendall(request)
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the headers")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
    length = int(headers.get(b"content-length", b"0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the body")
        rest += chunk
    return status, headers.get(b"connection", b"").lower() != b"close"


def _send_all(address, requests, outcome, lock):
    local = Outcome()
    sock = None
    for request in requests:
        began = time.perf_counter()
        try:
            if sock is None:
                sock = socket.create_connection(address, timeout=30)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            status, keep_alive = _exchange(sock, request)
            if not keep_alive:
                sock.close()
                sock = None
        except OSError:
            local.errors += 1
            if sock is not None:
                sock.close()
            sock = None
            continue
        ended = time.perf_counter()
        local.statuses[status] = local.statuses.get(status, 0) + 1
        local.latencies.append(ended - began)
        local.started = min(local.started, began)
        local.finished = max(local.finished, ended)
    if sock is not None:
        sock.close()
    with lock:
        outcome.merge(local)


def _process(address, requests, threads):
    outcome, lock = Outcome(), threading.Lock()
    workers = [threading.Thread(target=_send_all, args=(address, requests[i::threads], outcome, lock)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcome


def run(base_url, rows, processes=2, threads=8):
    """Sends every row (method, path, headers, body) once; returns the merged Outcome.

    time.perf_counter is CLOCK_MONOTONIC on Linux, shared by the client processes.
    """
    parts = urlsplit(base_url)
    address = (parts.hostname, parts.port)
    requests = [encode(parts.hostname, parts.port, *row) for row in rows]
    total = Outcome()
    with ProcessPoolExecutor(processes) as pool:
        slices = [requests[i::processes] for i in range(processes)]
        for outcome in pool.map(_process, [address] * processes, slices, [threads] * processes):
            total.merge(outcome)
    return total
