"""make bench-vote: ballots per second through the real voting flow under gunicorn.

Logged-in voters (real sessions from the login form, real CSRF tokens) each cast one
ballot in each of 3 categories against the app with production settings; wrk sends the
prepared POSTs, each exactly once (bench/client.py), and counts every answer.

Three servers run side by side, each on a database of its own, seeded alike:
- ``electors``: today's code, an event in open mode (the account is the elector, made by
  the first ballot);
- ``phone``: today's code, an event in phone mode (each voter's confirmed phone is their
  elector, looked up by every ballot);
- ``baseline``: the code of the commit before electors (BASELINE_REVISION, taken with git
  archive into a temporary folder and served with the same venv and settings), open mode.
The voters are cast in rounds, the servers' order turning each round, so that a busy
moment of the machine falls on all of them alike. ratio = electors / baseline, the median
of the rounds' ratios: what the elector lookup costs (the target is >= 0.90 on SQLite);
cpu_ratio compares the CPU time the servers' processes used per ballot, which other work
on the machine disturbs much less than throughput. In the same run the same requests go to
a bare Flask POST endpoint under the same gunicorn settings, which gives the ceiling.

lost: success answers without a stored ballot; doubled: stored ballots beyond the success
answers (and the requests that got no answer), or ballots without a participation; both
counted over today's two servers. The last two lines:
elector-cost baseline_ballots_per_s=N electors_ballots_per_s=N ratio=X phone_ballots_per_s=N phone_ratio=X cpu_ratio=X phone_cpu_ratio=X
vote-bench ballots_per_s=N p50_ms=N p99_ms=N ratio_vs_bare=X lost=N doubled=N
(SQLite, open mode; the phone-mode figures come in a vote-bench[phone] line before, and the
PostgreSQL lines, marked [postgresql], before those when a server answers on 127.0.0.1:5432).
"""
import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import client  # noqa: E402
from bench.common import ROOT, Gunicorn, postgres_available, source_tree, throwaway_database  # noqa: E402
from tests.http import Session  # noqa: E402

PASSWORD = "bench-password-123"  # bench/vote_seed.py gives every voter this one
RECEIPT_PATH = "/vote/receipt"  # where a cast ballot is redirected
BASELINE_REVISION = "03bfa8a"  # the last commit before electors
SERVER_ENV = {
    "APP_ENV": "production",
    "SECRET_KEY": "bench-only-secret",
    "IDENTITY_KEY": "bench-only-identity-key",
    "SESSION_COOKIE_SECURE": "0",
    "LOGIN_RATE_LIMIT": "1000000 per minute",
}


@dataclass
class Target:
    """One server under test: its source tree, eligibility mode, database and what it answered."""

    name: str
    root: str
    mode: str
    url: str = ""
    categories: dict = field(default_factory=dict)
    server: Gunicorn | None = None
    sessions: list = field(default_factory=list)
    sent: int = 0
    outcome: client.Outcome = field(default_factory=client.Outcome)
    seconds: float = 0.0
    cpu: float = 0.0  # CPU seconds its gunicorn used while casting
    rounds: list = field(default_factory=list)  # ballots per second of each round

    def add(self, outcome, cpu):
        for status, number in outcome.statuses.items():
            self.outcome.statuses[status] = self.outcome.statuses.get(status, 0) + number
        self.outcome.errors += outcome.errors
        self.outcome.latencies += outcome.latencies
        self.seconds += outcome.seconds
        self.cpu += cpu
        self.rounds.append(outcome.statuses.get(302, 0) / outcome.seconds if outcome.seconds else 0.0)

    @property
    def cpu_ms_per_ballot(self):
        return 1000 * self.cpu / self.successes if self.successes else 0.0

    def ratio_to(self, other):
        """The median of the rounds' throughput ratios: rounds run side by side, so a busy moment of
        the machine weighs on both sides of a ratio and on few of them."""
        return statistics.median(mine / theirs for mine, theirs in zip(self.rounds, other.rounds) if theirs)

    @property
    def successes(self):
        return self.outcome.statuses.get(302, 0)

    @property
    def ballots_per_s(self):
        return self.successes / self.seconds if self.seconds else 0.0


def seed(target, voters):
    """Seeds the target's database with its own tree's code (bench/vote_seed.py); returns the categories."""
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "vote_seed.py"), target.url, str(voters), target.mode,
         SERVER_ENV["IDENTITY_KEY"]],
        cwd=target.root, env={**os.environ, "PYTHONPATH": target.root}, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"seeding {target.name} failed:\n{result.stdout}{result.stderr}")
    seeded = json.loads(result.stdout.strip().splitlines()[-1])
    if os.path.realpath(seeded["voting"]) != os.path.realpath(os.path.join(target.root, "voting")):
        raise SystemExit(f"{target.name} was seeded with the code in {seeded['voting']}, not {target.root}")
    return {int(category): finalists for category, finalists in seeded["categories"].items()}


def log_in(server_url, voters, first_category):
    def one(i):
        session = Session(server_url).login(f"voter{i}@bench.example", PASSWORD)
        return session, session.token(f"/categories/{first_category}/vote")

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(voters)))


def cast_requests(sessions, categories, rng):
    """One POST per voter and category, in random order, each with the voter's cookie and token."""
    rows = []
    for session, token in sessions:
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in session.cookies.items() if v),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        for category_id, finalists in categories.items():
            body = urlencode({"csrf_token": token, "approvals": rng.sample(finalists, 2), "action": "cast"}, doseq=True)
            rows.append(("POST", f"/categories/{category_id}/vote/cast", headers, body))
    rng.shuffle(rows)
    return rows


def count_ballots(url):
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        ballots = connection.execute(text("SELECT count(*) FROM ballots")).scalar()
        participations = connection.execute(text("SELECT count(*) FROM participations")).scalar()
        audited = connection.execute(text("SELECT count(*) FROM audit_log WHERE action = 'ballot.cast'")).scalar()
    engine.dispose()
    return ballots, participations, audited


def progress(message):
    print(f"# {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def verify_audit(url, root=ROOT):
    """Runs `flask --app wsgi voting verify-audit` on the bench database; returns its report."""
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    result = subprocess.run([flask, "--app", "wsgi", "voting", "verify-audit"], cwd=root, capture_output=True, text=True,
                            env={**os.environ, **SERVER_ENV, "DATABASE_URL": url, "PYTHONPATH": root})
    if result.returncode != 0:
        raise SystemExit(f"verify-audit failed after the run: {result.stdout}{result.stderr}")
    return result.stdout.strip()


def _cast_in_rounds(targets, args):
    """Each round casts the next slice of voters on every server, the servers' order turning each round."""
    share = -(-args.voters // args.rounds)
    for number in range(args.rounds):
        voters = slice(number * share, min(args.voters, (number + 1) * share))
        turn = number % len(targets)
        for target in targets[turn:] + targets[:turn]:
            rows = cast_requests(target.sessions[voters], target.categories, random.Random(f"round-{number}"))
            progress(f"round {number + 1}/{args.rounds}: {len(rows)} ballots to {target.name}")
            cpu = target.server.cpu_seconds()
            outcome = client.run(target.server.url, rows, connections=args.connections, redirect_to=RECEIPT_PATH)
            target.add(outcome, target.server.cpu_seconds() - cpu)
            target.sent += len(rows)


def _vote_line(target, bare_per_s, lost, doubled):
    return (f"vote-bench ballots_per_s={target.ballots_per_s:.0f} p50_ms={target.outcome.percentile_ms(50):.1f} "
            f"p99_ms={target.outcome.percentile_ms(99):.1f} ratio_vs_bare={target.ballots_per_s / bare_per_s:.2f} "
            f"lost={lost} doubled={doubled}")


def bench(kind, args, baseline_root):
    """Returns the figure lines of one database kind, the vote-bench line of open mode last."""
    server_settings = {"workers": args.workers, "threads": args.threads, "worker_class": args.worker_class}
    targets = [Target("electors", ROOT, "open"), Target("phone", ROOT, "phone"), Target("baseline", baseline_root, "open")]
    checks = {}
    with ExitStack() as stack:
        for target in targets:
            target.url = stack.enter_context(throwaway_database(kind, f"voting_bench_{target.name}"))
            progress(f"{kind}: seeding {args.voters} voters for {target.name} ({target.mode} mode, code of {target.root})")
            target.categories = seed(target, args.voters)
        try:
            for target in targets:
                target.server = Gunicorn("wsgi:app", {**SERVER_ENV, "DATABASE_URL": target.url}, root=target.root,
                                         **server_settings)
            for target in targets:
                progress(f"logging the voters of {target.name} in through the login form")
                target.sessions = log_in(target.server.url, args.voters, next(iter(target.categories)))
            _cast_in_rounds(targets, args)
        finally:
            for target in targets:
                if target.server is not None:
                    target.server.stop()
        for target in targets:
            checks[target.name] = count_ballots(target.url), verify_audit(target.url, target.root)
    bare_server = Gunicorn("bench.bare:app", {}, **server_settings)
    try:
        progress("the same requests against the bare endpoint")
        rows = cast_requests(targets[0].sessions, targets[0].categories, random.Random("bare"))
        bare = client.run(bare_server.url, rows, connections=args.connections, redirect_to=RECEIPT_PATH)
    finally:
        bare_server.stop()
    bare_per_s = bare.statuses.get(302, 0) / bare.seconds

    lines, lost_total, doubled_total = [], 0, 0
    for target in targets:
        (ballots, participations, audit_entries), audited = checks[target.name]
        lost = max(0, target.successes - ballots)
        # A request whose answer was lost to an error may still have been counted; more than that is doubled.
        doubled = max(0, ballots - target.successes - target.outcome.errors) + (ballots - participations)
        if target.root == ROOT:
            lost_total, doubled_total = lost_total + lost, doubled_total + doubled
        print(f"# {kind} {target.name} ({target.mode} mode): {target.sent} ballots sent, answers "
              f"{dict(sorted(target.outcome.statuses.items(), key=str))}, {target.outcome.errors} unanswered; "
              f"{ballots} ballots, {participations} participations and {audit_entries} ballot.cast audit entries stored; "
              f"verify-audit: {audited}; {target.ballots_per_s:.0f} ballots/s, p50 {target.outcome.percentile_ms(50):.1f} ms, "
              f"p99 {target.outcome.percentile_ms(99):.1f} ms; server CPU {target.cpu_ms_per_ballot:.2f} ms per ballot; "
              f"rounds {' '.join(f'{rate:.0f}' for rate in target.rounds)} ballots/s; lost {lost}, doubled {doubled}")
    electors, phone, baseline = targets
    print(f"# {kind}: bare endpoint {bare_per_s:.0f} req/s (p50 {bare.percentile_ms(50):.1f} ms); gunicorn {args.workers} "
          f"{args.worker_class} workers x {args.threads} threads; wrk {args.connections} connections; "
          f"{args.rounds} rounds; baseline {args.baseline}")
    lines.append(re.sub(r"^vote-bench", "vote-bench[phone]", _vote_line(phone, bare_per_s, lost_total, doubled_total)))
    lines.append(f"elector-cost baseline_ballots_per_s={baseline.ballots_per_s:.0f} "
                 f"electors_ballots_per_s={electors.ballots_per_s:.0f} ratio={electors.ratio_to(baseline):.2f} "
                 f"phone_ballots_per_s={phone.ballots_per_s:.0f} phone_ratio={phone.ratio_to(baseline):.2f} "
                 f"cpu_ratio={baseline.cpu_ms_per_ballot / electors.cpu_ms_per_ballot:.2f} "
                 f"phone_cpu_ratio={baseline.cpu_ms_per_ballot / phone.cpu_ms_per_ballot:.2f}")
    lines.append(_vote_line(electors, bare_per_s, lost_total, doubled_total))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=2000, help="each casts one ballot in each of 3 categories, on each server")
    parser.add_argument("--rounds", type=int, default=10, help="the voters are cast in this many slices, servers taking turns")
    parser.add_argument("--workers", type=int, default=2, help="one per core")
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=8, help="wrk connections, each sending its requests one after the other")
    parser.add_argument("--baseline", default=BASELINE_REVISION, help="the commit whose code the elector cost is measured against")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    client.require_wrk()
    with source_tree(args.baseline) as baseline_root:
        if not args.skip_postgres and postgres_available():
            for line in bench("postgresql", args, baseline_root):
                print(re.sub(r"^(vote-bench|elector-cost)(\[(\w+)\])?", lambda m: f"{m[1]}[postgresql{',' + m[3] if m[3] else ''}]",
                             line), flush=True)
        for line in bench("sqlite", args, baseline_root):
            print(line, flush=True)


if __name__ == "__main__":
    main()
