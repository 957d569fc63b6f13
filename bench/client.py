"""The load client: wrk, driven by a Lua script, accounting for every prepared request.

Each prepared request (method, path, headers, body) is sent exactly once. wrk runs one
connection per wrk thread, so that in a thread every response answers the request sent
just before it: the script times each exchange itself (CLOCK_MONOTONIC through LuaJIT's
ffi) and counts every status, and a request that got no answer (a socket error) shows as
sent but not answered. wrk's own latency histogram is not used: it "corrects" for
coordinated omission by adding synthetic samples. A thread that has sent its share stops
itself; when all have, wrk is interrupted (it would otherwise sleep out its duration).

wrk is a C program with an event loop: it takes a small share of the CPU that the server
under test shares with it, unlike a Python client.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DONE_MARK = "bench-thread-done"

LUA_SCRIPT = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local timespec = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, timespec)  -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) * 1000000 + tonumber(timespec.tv_nsec) / 1000
end

-- setup() runs in wrk's main Lua state, once per thread, just before that thread's init().
local next_id = 0
function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end

local folder = os.getenv("BENCH_WRK_DIR")
local expected_location = os.getenv("BENCH_WRK_LOCATION")
local rows, next_row, armed = {}, 1, false
local sent, answered, first_sent, last_answer, sent_at = 0, 0, nil, nil, nil
local latencies, statuses, finished = {}, {}, false

function init(args)
  for line in io.lines(folder .. "/rows-" .. thread_id) do
    local path, cookie, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    rows[#rows + 1] = wrk.format("POST", path, {
      ["Cookie"] = cookie, ["Content-Type"] = "application/x-www-form-urlencoded",
    }, body)
  end
end

local function finish()
  if finished then return end
  finished = true
  local out = assert(io.open(folder .. "/result-" .. thread_id, "w"))
  out:write(string.format("%d %d %.3f %.3f\n", sent, answered, first_sent or 0, last_answer or 0))
  local parts = {}
  for status, count in pairs(statuses) do parts[#parts + 1] = status .. ":" .. count end
  out:write(table.concat(parts, " "), "\n")
  for i = 1, #latencies do out:write(string.format("%.3f\n", latencies[i])) end
  out:close()
  io.stdout:write("bench-thread-done\n")  -- DONE_MARK
  io.stdout:flush()
  -- wrk reconnects after an answer that closes the connection; pointed at the server,
  -- that idle connection would hold a sync worker until it timed out.
  wrk.thread.addr = wrk.lookup("127.0.0.1", "1")[1]
  wrk.thread:stop()
end

-- Called before every request of the connection: it says whether a row is left to send.
function delay()
  if next_row <= #rows then
    armed = true
    return 0
  end
  finish()  -- everything sent; the last answer came, or the last request failed
  return 3600000
end

function request()
  if not armed then  -- wrk checks the request once before the run: nothing is sent
    return rows[1] or wrk.format("GET", "/")
  end
  armed = false
  local row = rows[next_row]
  next_row = next_row + 1
  sent = sent + 1
  sent_at = now_us()
  if first_sent == nil then first_sent = sent_at end
  return row
end

function response(status, headers, body)
  local now = now_us()
  answered = answered + 1
  last_answer = now
  latencies[#latencies + 1] = now - sent_at
  local key = tostring(status)
  if status >= 300 and status < 400 then  -- a redirect counts only when it goes where it should
    local location = headers["Location"] or headers["location"] or ""
    if not location:find(expected_location, 1, true) then key = key .. "-elsewhere" end
  end
  statuses[key] = (statuses[key] or 0) + 1
  if next_row > #rows then finish() end
end
"""


@dataclass
class Outcome:
    statuses: dict = field(default_factory=dict)
    errors: int = 0
    latencies: list = field(default_factory=list)
    started: float = float("inf")
    finished: float = 0.0

    @property
    def seconds(self):
        return self.finished - self.started

    def percentile_ms(self, p):
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else 0.0


def require_wrk():
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: run `make bench-vote` (it installs the Debian package wrk) or apt-get install wrk")


def run(base_url, rows, connections=8, redirect_to="/", max_seconds=None):
    """Sends every row (method "POST", path, headers with the Cookie, body) once; returns the Outcome.

    Rows are dealt round-robin to the connections; each connection sends its rows one
    after the other, waiting for each answer. A redirect whose Location does not contain
    redirect_to is counted under "302-elsewhere" (e.g. to the login page), not as 302.
    """
    require_wrk()
    if max_seconds is None:  # generous, but a dead server does not hold the run for long
        max_seconds = int(60 + len(rows) / 20)
    if any(method != "POST" for method, *_rest in rows):
        raise ValueError("the wrk script sends form POSTs only")
    connections = max(1, min(connections, len(rows)))
    parts = urlsplit(base_url)
    folder = tempfile.mkdtemp(prefix="bench-wrk-")
    try:
        for thread_id in range(connections):
            with open(os.path.join(folder, f"rows-{thread_id}"), "w", encoding="utf-8") as out:
                for _method, path, headers, body in rows[thread_id::connections]:
                    fields = (path, headers["Cookie"], body)
                    if any(c in value for value in fields for c in "\t\r\n"):
                        raise ValueError("a row holds a tab or a line break")
                    out.write("\t".join(fields) + "\n")
        script = os.path.join(folder, "bench.lua")
        with open(script, "w", encoding="utf-8") as out:
            out.write(LUA_SCRIPT)
        command = ["wrk", f"-t{connections}", f"-c{connections}", f"-d{max_seconds}s", "--timeout", "30s", "-s", script,
                   f"{parts.scheme}://{parts.netloc}/"]
        wrk = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "BENCH_WRK_DIR": folder, "BENCH_WRK_LOCATION": redirect_to})
        stderr = []
        reader = threading.Thread(target=lambda: stderr.append(wrk.stderr.read()), daemon=True)
        reader.start()
        done = 0
        for line in wrk.stdout:
            if line.strip() == DONE_MARK:
                done += 1
                if done == connections:
                    break
        # Every thread has stopped; wrk's main thread sleeps out -d unless interrupted.
        while True:
            if wrk.poll() is None:
                wrk.send_signal(signal.SIGINT)
            try:
                wrk.wait(timeout=2)
                break
            except subprocess.TimeoutExpired:
                continue
        wrk.stdout.read()
        reader.join()
        if wrk.returncode != 0:
            raise RuntimeError(f"wrk failed ({wrk.returncode}): {''.join(stderr)}")
        return _collect(folder, connections)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _collect(folder, connections):
    outcome = Outcome()
    for thread_id in range(connections):
        path = os.path.join(folder, f"result-{thread_id}")
        if not os.path.exists(path):
            raise RuntimeError(f"wrk thread {thread_id} did not finish within the time limit")
        with open(path, encoding="utf-8") as result:
            sent, answered, first_us, last_us = result.readline().split()
            for pair in result.readline().split():
                status, count = pair.rsplit(":", 1)
                status = int(status) if status.isdigit() else status
                outcome.statuses[status] = outcome.statuses.get(status, 0) + int(count)
            outcome.latencies += [float(line) / 1e6 for line in result if line.strip()]
        outcome.errors += int(sent) - int(answered)
        if int(sent):
            outcome.started = min(outcome.started, float(first_us) / 1e6)
        if int(answered):
            outcome.finished = max(outcome.finished, float(last_us) / 1e6)
    return outcome
