"""make bench-tally: computing an event's results against a raw GROUP BY of the same approvals.

3 categories x 40 finalists, 400,000 ballots (about 2 approvals each, both groups, all
channels), 15 judges x 5 criteria. Last line:
tally-bench ballots=N tally_s=X groupby_s=X ratio=X
(SQLite; a PostgreSQL line comes before it when a server answers on 127.0.0.1:5432).
"""
import argparse
import os
import random
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import postgres_available, throwaway_database  # noqa: E402

CATEGORIES, FINALISTS, JUDGES, CRITERIA = 3, 40, 15, 5
CHUNK = 50_000
GROUP_BY = (
    "SELECT category_id, voting_group, channel, nomination_id, count(*) "
    "FROM ballot_approvals GROUP BY category_id, voting_group, channel, nomination_id"
)


def progress(message):
    print(f"# {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def seed(app, ballots, rng, tiers=lambda c: (("대상", 1), ("우수상", 3)), person=lambda c: False):
    """An event of CATEGORIES x FINALISTS finalists, JUDGES judges' submitted sheets and ``ballots``
    ballots inserted directly; ``tiers(c)`` and ``person(c)`` shape category c."""
    from datetime import timedelta

    from sqlalchemy import insert

    from voting.accounts.models import Role, User, VotingGroup
    from voting.ballots.models import Ballot, BallotApproval, Channel
    from voting.database import utcnow
    from voting.events.models import AwardTier, Category, CategoryKind, Criterion, Event, EventState, Field
    from voting.extensions import db
    from voting.judging.models import ScoreSheet, SheetScore, SheetStatus
    from voting.nominations.models import Nomination, NominationState

    now = utcnow()
    event = Event(name="집계 벤치마크", year=2019, state=EventState.CLOSED, sealed=False,
                  nominate_opens_at=now - timedelta(days=60), nominate_closes_at=now - timedelta(days=40),
                  vote_opens_at=now - timedelta(days=30), vote_closes_at=now - timedelta(days=2),
                  judge_opens_at=now - timedelta(days=30), judge_closes_at=now - timedelta(days=1))
    field = Field(name="제도행정")
    event.fields = [field]
    event.categories = [
        Category(name=f"부문 {c}", kind=CategoryKind.PERSON if person(c) else CategoryKind.PRACTICE, position=c,
                 max_approvals=3,
                 tiers=[AwardTier(name=name, count=count, position=k) for k, (name, count) in enumerate(tiers(c))],
                 criteria=[Criterion(name=f"기준 {k}", weight=k + 1, max_score=10, position=k) for k in range(CRITERIA)])
        for c in range(CATEGORIES)
    ]
    nominator = User(email="nominator@tally.example", name="추천인", role=Role.OFFICIAL)
    judges = [User(email=f"judge{j}@tally.example", name=f"심사위원 {j}", role=Role.JUDGE) for j in range(JUDGES)]
    db.session.add_all([event, nominator, *judges])
    db.session.flush()
    finalists = {}
    for category in event.categories:
        is_person = category.kind == CategoryKind.PERSON
        rows = [Nomination(event=event, category=category, nominator=nominator, state=NominationState.FINALIST,
                           title=f"{category.name} 후보 {f}", summary="요약", description="설명", field=field,
                           nominee_name=f"홍길동 {f}" if is_person else None,
                           nominee_affiliation="○○동 주민자치회" if is_person else None,
                           consent_given_at=now if is_person else None, consent_version="v1" if is_person else None,
                           consent_method="서면 동의서" if is_person else None)
                for f in range(FINALISTS)]
        db.session.add_all(rows)
        db.session.flush()
        finalists[category.id] = [n.id for n in rows]
        for judge in judges:
            for nomination_id in finalists[category.id]:
                db.session.add(ScoreSheet(category_id=category.id, nomination_id=nomination_id, judge_id=judge.id,
                                          status=SheetStatus.SUBMITTED, submitted_at=now,
                                          scores=[SheetScore(criterion_id=c.id, value=rng.randint(3, 10)) for c in category.criteria]))
    db.session.commit()

    kinds = [(VotingGroup.RESIDENT, Channel.ONLINE)] * 6 + [(VotingGroup.RESIDENT, Channel.ONSITE)] * 2 + [(VotingGroup.OFFICIAL, Channel.ONLINE)] * 2
    category_ids = list(finalists)
    weights = {c: [rng.random() ** 2 + 0.02 for _f in finalists[c]] for c in category_ids}
    made = 0
    while made < ballots:
        batch, approvals = [], []
        for _i in range(min(CHUNK, ballots - made)):
            category_id = category_ids[made % CATEGORIES]
            group, channel = kinds[rng.randrange(len(kinds))]
            ballot_id = "%032x" % rng.getrandbits(128)
            batch.append({"id": ballot_id, "category_id": category_id, "voting_group": group, "channel": channel,
                          "receipt_hash": "%064x" % rng.getrandbits(256)})
            chosen = set(rng.choices(finalists[category_id], weights=weights[category_id], k=rng.choice((1, 2, 2, 3))))
            approvals += [{"ballot_id": ballot_id, "nomination_id": n, "category_id": category_id,
                           "voting_group": group, "channel": channel, "opens_ballot": n == min(chosen)} for n in chosen]
            made += 1
        db.session.execute(insert(Ballot.__table__), batch)
        db.session.execute(insert(BallotApproval.__table__), approvals)
        db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
    return event.id


def timed(function, repeat):
    runs = []
    for _i in range(repeat):
        start = time.perf_counter()
        function()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def bench(kind, ballots, repeat):
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from voting import create_app
    from voting.ballots.models import BallotApproval
    from voting.events.models import Event
    from voting.extensions import db
    from voting.results import operations

    with throwaway_database(kind, "voting_tally_bench") as url:
        app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            progress(f"{kind}: seeding {ballots} ballots")
            event_id = seed(app, ballots, random.Random(2019))
            approvals = db.session.scalar(select(func.count()).select_from(BallotApproval))

            def tally():
                db.session.remove()
                event = db.session.get(Event, event_id)
                return [operations.category_results(category) for category in event.categories]

            def group_by():
                with db.engine.connect() as connection:
                    return connection.exec_driver_sql(GROUP_BY).fetchall()

            progress("warming up")
            tally(), group_by()
            progress("measuring")
            tally_s = timed(tally, repeat)
            groupby_s = timed(group_by, repeat)
            db.session.remove()
            db.engine.dispose()
    print(f"# {kind}: {ballots} ballots with {approvals} approvals in {CATEGORIES} categories x {FINALISTS} finalists, "
          f"{JUDGES} judges x {CRITERIA} criteria; median of {repeat} runs")
    return f"tally-bench ballots={ballots} tally_s={tally_s:.3f} groupby_s={groupby_s:.3f} ratio={tally_s / groupby_s:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=400_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    if not args.skip_postgres and postgres_available():
        print(re.sub(r"^tally-bench", "tally-bench[postgresql]", bench("postgresql", args.ballots, args.repeat)))
    print(bench("sqlite", args.ballots, args.repeat))


if __name__ == "__main__":
    main()
