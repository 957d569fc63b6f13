"""Shared by the benchmarks: throwaway databases, a gunicorn server, wrk."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_available():
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def throwaway_database(kind, name):
    """Yields a SQLAlchemy URL of an empty database that is removed afterwards."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix=f"{name}-")
        try:
            yield "sqlite:///" + os.path.join(folder, "bench.sqlite3")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Gunicorn:
    def __init__(self, app_path, env, workers, threads=1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        self.process = subprocess.Popen(
            [gunicorn, "--workers", str(workers), "--threads", str(threads), "--bind", f"127.0.0.1:{self.port}",
             "--log-level", "warning", "--backlog", "2048", app_path],
            cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": ROOT},
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/", timeout=2).read()
                return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn {app_path} did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=20)


def run_wrk(url, script, env, threads, connections, max_seconds):
    """Runs wrk with a Lua script; returns the key=value pairs of its RESULT line."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max_seconds}s", "--timeout", "10s", "-s", script, url]
    output = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env, "WRK_THREADS": str(threads)}, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    return {key: int(value) for key, value in (pair.split("=") for pair in line.split()[1:])}
