"""A load client that accounts for every request: status and latency of each, or its error.

Client processes with persistent connections (gunicorn's gthread worker keeps them
alive); every prepared request is sent exactly once.
"""
import http.client
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


def _send_all(base_url, rows, outcome, lock):
    parts = urlsplit(base_url)
    connection = None
    local = Outcome()
    for method, path, headers, body in rows:
        if connection is None:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        began = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException):
            local.errors += 1
            connection = None
            continue
        ended = time.perf_counter()
        local.statuses[response.status] = local.statuses.get(response.status, 0) + 1
        local.latencies.append(ended - began)
        local.started = min(local.started, began)
        local.finished = max(local.finished, ended)
    with lock:
        outcome.merge(local)


def _process(base_url, rows, threads):
    outcome, lock = Outcome(), threading.Lock()
    workers = [
        threading.Thread(target=_send_all, args=(base_url, rows[i::threads], outcome, lock)) for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcome


def run(base_url, rows, processes=2, threads=8):
    """Sends every row (method, path, headers, body) once; returns the merged Outcome.

    time.perf_counter is CLOCK_MONOTONIC on Linux, shared by the client processes.
    """
    total = Outcome()
    with ProcessPoolExecutor(processes) as pool:
        for outcome in pool.map(_process, [base_url] * processes, [rows[i::processes] for i in range(processes)], [threads] * processes):
            total.merge(outcome)
    return total
