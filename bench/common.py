"""Shared by the benchmarks: throwaway databases and a gunicorn server (the load client is bench/client.py)."""
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
    """gunicorn serving app_path on a free port; the same settings serve the app and the bare endpoint."""

    def __init__(self, app_path, env, workers, threads=1, worker_class="sync", preload=True, root=ROOT):
        """root: the source tree to serve (another commit's, for a baseline), with this venv."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        command = [gunicorn, "--workers", str(workers), "--worker-class", worker_class, "--threads", str(threads),
                   "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning", "--backlog", "2048"]
        if preload:
            command.append("--preload")
        self.process = subprocess.Popen(command + [app_path], cwd=root, env={**os.environ, **env, "PYTHONPATH": root})
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/", timeout=2).read()
                return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn {app_path} did not start")

    def cpu_seconds(self):
        """CPU time (user + system) used so far by the master and its workers: what a request costs,
        however busy the rest of the machine is."""
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            # After the command's ")": state, ppid, ..., utime and stime are the 12th and 13th.
            if int(entry) == self.process.pid or int(fields[1]) == self.process.pid:
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=20)


@contextmanager
def source_tree(revision):
    """Yields a folder holding the files of a commit (git archive), its Korean catalog compiled.

    Served with this venv, it measures what that commit's code costs on the same machine in
    the same run. Nothing is registered in the repository (no worktree to clean up).
    """
    import io
    import tarfile

    found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], cwd=ROOT,
                           capture_output=True, text=True)
    if found.returncode != 0:
        raise SystemExit(f"the baseline commit {revision} is not in this clone (a shallow clone? git fetch --unshallow)")
    archive = subprocess.run(["git", "archive", "--format=tar", found.stdout.strip()], cwd=ROOT,
                             capture_output=True, check=True).stdout
    folder = tempfile.mkdtemp(prefix=f"bench-{revision}-")
    try:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        pybabel = os.path.join(os.path.dirname(sys.executable), "pybabel")
        subprocess.run([pybabel, "-q", "compile", "-d", os.path.join(folder, "voting", "translations")], check=True)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
