"""make bench-vote: ballots per second through the real voting flow under gunicorn.

Logged-in voters (real sessions from the login form, real CSRF tokens) each cast one
ballot in each of 3 categories against the app with production settings; wrk sends the
prepared POSTs, each exactly once (bench/client.py), and counts every answer. In the same
run the same requests go to a bare Flask POST endpoint under the same gunicorn settings,
which gives the ceiling. lost: success answers without a stored ballot; doubled: stored
ballots beyond the success answers (and the requests that got no answer), or ballots
without a participation. The last line:
vote-bench ballots_per_s=N p50_ms=N p99_ms=N ratio_vs_bare=X lost=N doubled=N
(SQLite; a PostgreSQL line comes before it when a server answers on 127.0.0.1:5432).
"""
import argparse
import os
import random
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import client  # noqa: E402
from bench.common import ROOT, Gunicorn, postgres_available, throwaway_database  # noqa: E402
from tests.http import Session  # noqa: E402

PASSWORD = "bench-password-123"
RECEIPT_PATH = "/vote/receipt"  # where a cast ballot is redirected
CATEGORIES = 3
FINALISTS = 10
SERVER_ENV = {
    "APP_ENV": "production",
    "SECRET_KEY": "bench-only-secret",
    "SESSION_COOKIE_SECURE": "0",
    "LOGIN_RATE_LIMIT": "1000000 per minute",
}


def seed(url, voters):
    """An open event in its voting window, with finalists and verified resident voters."""
    from datetime import timedelta

    from flask_migrate import upgrade
    from sqlalchemy import insert
    from werkzeug.security import generate_password_hash

    from voting import create_app
    from voting.accounts.models import Role, User
    from voting.database import utcnow
    from voting.events.models import AwardTier, Category, CategoryKind, Event, EventState, Field
    from voting.extensions import db
    from voting.nominations.models import Nomination, NominationState

    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        now = utcnow()
        event = Event(
            name="벤치마크 협치 성과 공유 파티", year=2019, state=EventState.OPEN,
            nominate_opens_at=now - timedelta(days=20), nominate_closes_at=now - timedelta(days=10),
            vote_opens_at=now - timedelta(days=1), vote_closes_at=now + timedelta(days=1),
            judge_opens_at=now - timedelta(days=1), judge_closes_at=now + timedelta(days=2),
        )
        field = Field(name="기후환경")
        event.fields = [field]
        event.categories = [
            Category(name=f"부문 {c}", kind=CategoryKind.PRACTICE, position=c, max_approvals=2,
                     tiers=[AwardTier(name="대상", count=1, position=0)])
            for c in range(CATEGORIES)
        ]
        nominator = User(email="nominator@bench.example", name="추천인", role=Role.OFFICIAL, password_hash=None)
        db.session.add_all([event, nominator])
        db.session.flush()
        for category in event.categories:
            for f in range(FINALISTS):
                db.session.add(Nomination(event=event, category=category, nominator=nominator, state=NominationState.FINALIST,
                                          title=f"{category.name} 후보 {f}", summary="요약", description="설명", field=field))
        password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        db.session.execute(insert(User), [
            {"email": f"voter{i}@bench.example", "name": f"주민 {i}", "role": Role.RESIDENT, "password_hash": password_hash,
             "session_token": f"{i:032x}", "email_verified_at": now, "is_enabled": True, "created_at": now}
            for i in range(voters)
        ])
        db.session.commit()
        categories = {c.id: [n.id for n in db.session.query(Nomination).filter_by(category_id=c.id)] for c in event.categories}
        db.engine.dispose()
    return categories


def log_in(server_url, voters, first_category):
    def one(i):
        session = Session(server_url).login(f"voter{i}@bench.example", PASSWORD)
        return session, session.token(f"/categories/{first_category}/vote")

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(voters)))


def cast_requests(sessions, categories):
    """One POST per voter and category, in random order, each with the voter's cookie and token."""
    rows = []
    for session, token in sessions:
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in session.cookies.items() if v),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        for category_id, finalists in categories.items():
            body = urlencode({"csrf_token": token, "approvals": random.sample(finalists, 2), "action": "cast"}, doseq=True)
            rows.append(("POST", f"/categories/{category_id}/vote/cast", headers, body))
    random.shuffle(rows)
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


def verify_audit(url):
    """Runs `flask --app wsgi voting verify-audit` on the bench database; returns its report."""
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    result = subprocess.run([flask, "--app", "wsgi", "voting", "verify-audit"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, **SERVER_ENV, "DATABASE_URL": url, "PYTHONPATH": ROOT})
    if result.returncode != 0:
        raise SystemExit(f"verify-audit failed after the run: {result.stdout}{result.stderr}")
    return result.stdout.strip()


def bench(kind, args):
    server_settings = {"workers": args.workers, "threads": args.threads, "worker_class": args.worker_class}
    with throwaway_database(kind, "voting_bench") as url:
        progress(f"{kind}: seeding {args.voters} voters")
        categories = seed(url, args.voters)
        server = Gunicorn("wsgi:app", {**SERVER_ENV, "DATABASE_URL": url}, **server_settings)
        try:
            progress("logging the voters in through the login form")
            rows = cast_requests(log_in(server.url, args.voters, next(iter(categories))), categories)
            progress(f"casting {len(rows)} ballots")
            measured = client.run(server.url, rows, connections=args.connections, redirect_to=RECEIPT_PATH)
        finally:
            server.stop()
        ballots, participations, audit_entries = count_ballots(url)
        audited = verify_audit(url)
    bare_server = Gunicorn("bench.bare:app", {}, **server_settings)
    try:
        progress("the same requests against the bare endpoint")
        bare = client.run(bare_server.url, rows, connections=args.connections, redirect_to=RECEIPT_PATH)
    finally:
        bare_server.stop()
    successes = measured.statuses.get(302, 0)
    ballots_per_s = successes / measured.seconds
    bare_per_s = bare.statuses.get(302, 0) / bare.seconds
    lost = max(0, successes - ballots)
    # A request whose answer was lost to an error may still have been counted; more than that is doubled.
    doubled = max(0, ballots - successes - measured.errors) + (ballots - participations)
    print(f"# {kind}: {len(rows)} ballots sent, answers {dict(sorted(measured.statuses.items()))}, {measured.errors} unanswered; "
          f"{ballots} ballots, {participations} participations and {audit_entries} ballot.cast audit entries stored; "
          f"verify-audit: {audited}; "
          f"bare endpoint {bare_per_s:.0f} req/s (p50 {bare.percentile_ms(50):.1f} ms); gunicorn {args.workers} {args.worker_class} "
          f"workers x {args.threads} threads; wrk {args.connections} connections")
    return (f"vote-bench ballots_per_s={ballots_per_s:.0f} p50_ms={measured.percentile_ms(50):.1f} "
            f"p99_ms={measured.percentile_ms(99):.1f} ratio_vs_bare={ballots_per_s / bare_per_s:.2f} lost={lost} doubled={doubled}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=2000, help="each casts one ballot in each of 3 categories")
    parser.add_argument("--workers", type=int, default=2, help="one per core")
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=8, help="wrk connections, each sending its requests one after the other")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    client.require_wrk()
    random.seed(2019)
    if not args.skip_postgres and postgres_available():
        print(re.sub(r"^vote-bench", "vote-bench[postgresql]", bench("postgresql", args)), flush=True)
    print(bench("sqlite", args))


if __name__ == "__main__":
    main()
