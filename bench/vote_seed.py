"""Seeds a vote benchmark database with the code of whichever source tree runs it.

Run as a script from the tree to seed (cwd and PYTHONPATH = that tree), so that the same
event and voters go into today's schema and into a baseline commit's schema:

    python bench/vote_seed.py DATABASE_URL VOTERS MODE IDENTITY_KEY

MODE is ``open`` (what every version has) or ``phone`` (each voter's mobile phone already
confirmed: an elector of kind phone per account). Prints one JSON line:
{"categories": {category id: [finalist ids]}, "voting": the voting package's folder}.
"""
import json
import os
import sys

PASSWORD = "bench-password-123"
CATEGORIES = 3
FINALISTS = 10


def seed(url, voters, mode, identity_key):
    """An open event in its voting window, with finalists and verified resident voters."""
    from datetime import timedelta

    from flask_migrate import upgrade
    from sqlalchemy import insert, select
    from werkzeug.security import generate_password_hash

    from voting import create_app
    from voting.accounts.models import Role, User
    from voting.database import utcnow
    from voting.events.models import AwardTier, Category, CategoryKind, Event, EventState, Field
    from voting.extensions import db
    from voting.nominations.models import Nomination, NominationState

    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": url, "IDENTITY_KEY": identity_key})
    with app.app_context():
        upgrade()
        now = utcnow()
        event = Event(
            name="벤치마크 협치 성과 공유 파티", year=2019, state=EventState.OPEN,
            nominate_opens_at=now - timedelta(days=20), nominate_closes_at=now - timedelta(days=10),
            vote_opens_at=now - timedelta(days=1), vote_closes_at=now + timedelta(days=1),
            judge_opens_at=now - timedelta(days=1), judge_closes_at=now + timedelta(days=2),
        )
        if hasattr(Event, "sealed"):  # the sealed box is not measured here yet: its run comes with bench-vote's sealed mode
            event.sealed = False
        if mode != "open":  # the baseline has no eligibility modes: only open mode is asked of it
            from voting.electors.models import EligibilityMode

            event.eligibility = EligibilityMode(mode)
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
        if mode == "phone":
            _phone_electors(event, voters)
        db.session.commit()
        categories = {
            c.id: list(db.session.scalars(select(Nomination.id).where(Nomination.category_id == c.id).order_by(Nomination.id)))
            for c in event.categories
        }
        db.engine.dispose()
    return categories


def _phone_electors(event, voters):
    """Each voter confirmed a phone of their own (010-7xxx-xxxx) before the day: a phone elector."""
    from sqlalchemy import insert, select

    from voting.accounts.models import User, VotingGroup
    from voting.database import utcnow
    from voting.electors.models import Elector, ElectorKind
    from voting.extensions import db
    from voting.identity import parse_phone

    now = utcnow()
    ids = dict(db.session.execute(select(User.email, User.id).where(User.email.like("voter%@bench.example"))).all())
    rows = []
    for i in range(voters):
        phone = parse_phone(f"010-7{i // 10000 % 1000:03d}-{i % 10000:04d}")
        rows.append({"event_id": event.id, "voting_group": VotingGroup.RESIDENT, "kind": ElectorKind.PHONE,
                     "user_id": ids[f"voter{i}@bench.example"], "phone_hmac": phone.digest, "phone_last4": phone.last4,
                     "created_at": now})
    db.session.execute(insert(Elector.__table__), rows)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    # A script's own folder comes first on sys.path; the source tree to seed with comes from PYTHONPATH.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    url, voters, mode, identity_key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    categories = seed(url, voters, mode, identity_key)
    import voting

    print(json.dumps({"categories": categories, "voting": os.path.dirname(os.path.abspath(voting.__file__))}))


if __name__ == "__main__":
    main()
