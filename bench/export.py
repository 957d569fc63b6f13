"""make bench-export: every export of a frozen event, timed.

3 categories x 40 finalists (one of them a person category), tiers giving 40 awards (so 40
certificates), 15 judges x 5 criteria, 30,000 ballots.  The event is frozen, then the
snapshot cache is emptied and all exports are made as the "everything (ZIP)" button makes
them: CSV, XLSX, PDF report, certificates, bundle.  Median of --repeat runs.  Last line:
export-bench finalists=N certificates=N export_s=X
"""
import argparse
import os
import random
import statistics
import sys
import time
import zipfile
from io import BytesIO

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import throwaway_database  # noqa: E402
from bench.tally import CATEGORIES, progress, seed  # noqa: E402

# 13 + 13 + 14 = 40 awards.
TIERS = [("대상", 1), ("최우수상", 2), ("우수상", 4), ("장려상", 6)]


def tiers_of(category_index):
    return TIERS[:-1] + [("장려상", 7)] if category_index == CATEGORIES - 1 else TIERS


def settle_ties(event):
    """Joint awards for ties across a boundary, as an organizer would decide before freezing."""
    from voting.accounts.models import Role, User
    from voting.extensions import db
    from voting.results import operations

    organizer = User(email="organizer@export.example", name="운영자", role=Role.ORGANIZER)
    db.session.add(organizer)
    db.session.flush()
    for category in event.categories:
        for tie in operations.category_results(category).standings.unresolved_ties:
            operations.decide_tie(category, list(tie.finalists), "joint", organizer)


def bench(ballots, repeat):
    from flask_babel import force_locale
    from flask_migrate import upgrade

    from voting import create_app
    from voting.events.models import Event
    from voting.exports import operations as exports
    from voting.exports.awards import event_awards
    from voting.extensions import db
    from voting.results import bundle
    from voting.results.operations import freeze_results

    with throwaway_database("sqlite", "voting_export_bench") as url:
        app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": url, "SERVER_NAME": "vote.example.kr"})
        with app.app_context(), app.test_request_context(), force_locale("ko"):
            upgrade()
            progress(f"seeding {ballots} ballots")
            event_id = seed(app, ballots, random.Random(2019), tiers=tiers_of, person=lambda c: c == 1)
            event = db.session.get(Event, event_id)
            settle_ties(event)
            freeze_results(event)
            db.session.commit()
            frozen = bundle.frozen_results(event_id)
            finalists = sum(len(results.finalists) for results in frozen.categories)
            certificates = len(event_awards(frozen.categories))

            def export_all():
                bundle._CACHE.clear()  # read and check the snapshot again, as a fresh worker would
                return exports.all_exports(event)

            progress("warming up")
            made = export_all()
            sizes = {info.filename: info.file_size for info in zipfile.ZipFile(BytesIO(made.data)).infolist()}
            progress("measuring")
            runs = []
            for _i in range(repeat):
                start = time.perf_counter()
                export_all()
                runs.append(time.perf_counter() - start)
            formats = {}
            for fmt in exports.FORMATS:
                start = time.perf_counter()
                exports.export_file(event, fmt)
                formats[fmt] = time.perf_counter() - start
            db.session.remove()
            db.engine.dispose()
    print("# " + ", ".join(f"{name} {size // 1024} KiB" for name, size in sizes.items()))
    print("# each format once (snapshot cached): " + ", ".join(f"{fmt} {s:.2f} s" for fmt, s in formats.items()))
    print(f"# median of {repeat} runs of all exports (zip), {ballots} ballots; runs: "
          + ", ".join(f"{run:.2f}" for run in runs))
    return f"export-bench finalists={finalists} certificates={certificates} export_s={statistics.median(runs):.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(bench(args.ballots, args.repeat))


if __name__ == "__main__":
    main()
