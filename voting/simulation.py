"""Simulated ballots and judge sheets for the demo, reproducible from a seed.

The same seed on the same demo event gives the same ballots, receipts and scores, so
a fresh checkout can be frozen and exported and its numbers compared.
"""
import hashlib
import random

from flask_babel import gettext as _
from sqlalchemy import func, insert, select

from voting.accounts.models import Role, User, VotingGroup
from voting.audit import operations as audit
from voting.ballots import codes
from voting.ballots.models import (
    Ballot,
    BallotApproval,
    Channel,
    OnsiteCode,
    OnsiteCodeBatch,
    PaperApproval,
    PaperTotal,
    Participation,
)
from voting.database import utcnow
from voting.electors.models import CardBinding, EligibilityMode, Elector, ElectorKind
from voting.identity import parse_phone
from voting.events.operations import NotAllowed, ensure_unlocked
from voting.extensions import db
from voting.judging.models import ScoreSheet, SheetScore, SheetStatus
from voting.nominations.models import Nomination, NominationState
from voting.sealing import keys
from voting.sealing import operations as sealing
from voting.sealing.models import BallotBox, Receipt, SealedBallot

# How the simulated ballots of a category split over groups and channels.
SHARES = (
    (VotingGroup.RESIDENT, Channel.ONLINE, 55),
    (VotingGroup.RESIDENT, Channel.ONSITE, 20),
    (VotingGroup.OFFICIAL, Channel.ONLINE, 15),
    (VotingGroup.RESIDENT, Channel.PAPER, 6),
    (VotingGroup.OFFICIAL, Channel.PAPER, 4),
)
RECUSAL_REASON = "추천 단체의 회원이라 이해충돌이 있습니다."


def _split(total):
    counts = [total * share // 100 for _g, _c, share in SHARES]
    counts[0] += total - sum(counts)
    return counts


def _choose(rng, finalists, weights, k):
    """1..k distinct finalists, the popular ones more often."""
    chosen = []
    pool, pool_weights = list(finalists), list(weights)
    for _pick in range(rng.randint(1, min(k, len(pool)))):
        pick = rng.choices(range(len(pool)), weights=pool_weights)[0]
        chosen.append(pool.pop(pick))
        pool_weights.pop(pick)
    return chosen


def _voters(rng_seed, group, count):
    """Accounts that cannot log in (no password), one per simulated online voter."""
    role = Role.RESIDENT if group == VotingGroup.RESIDENT else Role.OFFICIAL
    prefix = f"sim-{group.value}-{rng_seed}-"
    existing = db.session.scalar(select(func.count()).select_from(User).where(User.email.like(prefix + "%")))
    now = utcnow()
    if existing < count:
        db.session.execute(insert(User), [
            {"email": f"{prefix}{i}@sim.demo.example", "name": f"모의 {'주민' if role == Role.RESIDENT else '공무원'} {i}",
             "role": role, "session_token": hashlib.sha256(f"{prefix}{i}".encode()).hexdigest()[:32],
             "email_verified_at": now, "is_enabled": False, "created_at": now}
            for i in range(existing, count)
        ])
    return db.session.scalars(select(User.id).where(User.email.like(prefix + "%")).order_by(User.id).limit(count)).all()


def simulate(event, ballots_per_category, seed, organizer):
    """Casts the simulated ballots of every category, enters paper totals, fills judge sheets."""
    ensure_unlocked(event)
    category_ids = [c.id for c in event.categories]
    public_key = None
    if event.sealed:
        box = db.session.get(BallotBox, event.id)
        if box is None or not box.has_key:
            raise NotAllowed(sealing.not_ready_reason_text())
        public_key = box.public_key
    if db.session.scalar(select(func.count()).select_from(Participation).where(Participation.category_id.in_(category_ids))):
        raise NotAllowed(_("This event has ballots already; simulated ballots are only added to an empty one."))
    rng = random.Random(f"{seed}")
    counts = _split(ballots_per_category)
    residents = _voters(seed, VotingGroup.RESIDENT, counts[0])
    officials = _voters(seed, VotingGroup.OFFICIAL, counts[2])
    onsite_codes = [codes.random_code(codes.ONSITE_CODE_LENGTH) for _code in range(counts[1])]
    batch = OnsiteCodeBatch(event_id=event.id, group=VotingGroup.RESIDENT, size=len(onsite_codes), label="모의 현장 투표",
                            created_by_id=organizer.id,
                            codes=[OnsiteCode(code_hash=codes.onsite_code_hash(code)) for code in onsite_codes])
    db.session.add(batch)
    db.session.flush()
    code_ids = [code.id for code in batch.codes]
    now = utcnow()
    electors_of = _electors(event, residents, officials, code_ids, organizer, now)

    for category in event.categories:
        finalists = db.session.scalars(
            select(Nomination.id).where(Nomination.category_id == category.id, Nomination.state == NominationState.FINALIST)
            .order_by(Nomination.id)
        ).all()
        if not finalists:
            continue
        popularity = [rng.random() ** 2 + 0.05 for _finalist in finalists]
        participations, ballots, approvals, receipts, sealed = [], [], [], [], []
        for (group, channel, _share), count in zip(SHARES, counts):
            if channel == Channel.PAPER:
                tally = {f: 0 for f in finalists}
                for _ballot in range(count):
                    for f in _choose(rng, finalists, popularity, category.max_approvals):
                        tally[f] += 1
                db.session.add(PaperTotal(category_id=category.id, group=group, ballots=count,
                                          approvals=[PaperApproval(nomination_id=f, count=n) for f, n in tally.items()]))
                continue
            voters = residents if (group, channel) == (VotingGroup.RESIDENT, Channel.ONLINE) else officials
            for i in range(count):
                elector = electors_of["user", voters[i]] if channel == Channel.ONLINE else electors_of["card", code_ids[i]]
                participations.append({"category_id": category.id, "elector_id": elector, "voting_group": group,
                                       "channel": channel, "created_at": now})
                ballot_id = "%032x" % rng.getrandbits(128)
                receipt = "".join(rng.choice(codes.ALPHABET) for _letter in range(codes.RECEIPT_LENGTH))
                receipts.append({"receipt_hash": codes.receipt_hash(receipt), "category_id": category.id})
                chosen = _choose(rng, finalists, popularity, category.max_approvals)
                if public_key is not None:
                    payload = keys.ballot_payload(group.value, channel.value, chosen)
                    sealed.append({"id": ballot_id, "category_id": category.id, "sealed": keys.seal(public_key, payload)})
                    continue
                ballots.append({"id": ballot_id, "category_id": category.id, "voting_group": group, "channel": channel})
                approvals += [{"ballot_id": ballot_id, "nomination_id": f, "category_id": category.id,
                               "voting_group": group, "channel": channel, "opens_ballot": f == min(chosen)}
                              for f in chosen]
        if participations:
            db.session.execute(insert(Participation.__table__), participations)
            db.session.execute(insert(Receipt.__table__), receipts)
            if sealed:
                db.session.execute(insert(SealedBallot.__table__), sealed)
            if ballots:
                db.session.execute(insert(Ballot.__table__), ballots)
                db.session.execute(insert(BallotApproval.__table__), approvals)
        _judge(rng, category, finalists)
    db.session.flush()
    audit.record("demo.simulate", actor=organizer, event_id=event.id,
                 details={"ballots_per_category": ballots_per_category, "seed": str(seed)})


def _simulated_phone(index):
    """A number of the 010-9xxx range no real subscriber has in the demo, one per simulated resident."""
    return parse_phone(f"010-9{index // 10000 % 1000:03d}-{index % 10000:04d}")


def _electors(event, residents, officials, code_ids, organizer, now):
    """The simulated voters as electors of the event's mode: {("user"|"card", id): elector id}.

    Officials are account electors. In open mode residents are account electors and each
    card its own elector; in phone mode (and roll mode, as walk-ins on a roll of their own)
    each resident has a confirmed phone, and each card is bound at the desk to a phone of
    its own.
    """
    mode = EligibilityMode(event.eligibility)
    rows = [{"event_id": event.id, "voting_group": VotingGroup.OFFICIAL, "kind": ElectorKind.ACCOUNT,
             "user_id": user_id, "created_at": now} for user_id in officials]
    if mode == EligibilityMode.OPEN:
        rows += [{"event_id": event.id, "voting_group": VotingGroup.RESIDENT, "kind": ElectorKind.ACCOUNT,
                  "user_id": user_id, "created_at": now} for user_id in residents]
        rows += [{"event_id": event.id, "voting_group": VotingGroup.RESIDENT, "kind": ElectorKind.CARD,
                  "code_id": code_id, "created_at": now} for code_id in code_ids]
    else:
        phones = [_simulated_phone(i) for i in range(len(residents) + len(code_ids))]
        rows += [{"event_id": event.id, "voting_group": VotingGroup.RESIDENT, "kind": ElectorKind.PHONE,
                  "user_id": user_id if i < len(residents) else None,
                  "phone_hmac": phone.digest, "phone_last4": phone.last4, "created_at": now}
                 for i, (user_id, phone) in enumerate(zip(residents + [None] * len(code_ids), phones))]
    if rows:
        blank = {"user_id": None, "code_id": None, "phone_hmac": None, "phone_last4": None}
        db.session.execute(insert(Elector.__table__), [{**blank, **row} for row in rows])
    found = {}
    for elector_id, user_id, code_id, phone_hmac in db.session.execute(
        select(Elector.id, Elector.user_id, Elector.code_id, Elector.phone_hmac).where(Elector.event_id == event.id)
    ):
        if user_id is not None:
            found["user", user_id] = elector_id
        elif code_id is not None:
            found["card", code_id] = elector_id
        else:
            found["phone", phone_hmac] = elector_id
    if mode != EligibilityMode.OPEN:
        walk_ins = [found["phone", _simulated_phone(len(residents) + i).digest] for i in range(len(code_ids))]
        bindings = [{"code_id": code_id, "elector_id": elector_id, "bound_at": now, "bound_by_id": organizer.id}
                    for code_id, elector_id in zip(code_ids, walk_ins)]
        if bindings:
            db.session.execute(insert(CardBinding.__table__), bindings)
        found.update({("card", code_id): elector_id for code_id, elector_id in zip(code_ids, walk_ins)})
    return found


def _judge(rng, category, finalists):
    """Every judge scores every finalist; the first judge recuses from one finalist."""
    judges = db.session.scalars(select(User.id).where(User.role == Role.JUDGE, User.is_enabled.is_(True)).order_by(User.id)).all()
    quality = {f: rng.uniform(0.45, 0.95) for f in finalists}
    now = utcnow()
    for j, judge_id in enumerate(judges):
        leniency = rng.uniform(-0.08, 0.08)
        for n, finalist in enumerate(finalists):
            if j == 0 and n == 0:
                db.session.add(ScoreSheet(category_id=category.id, nomination_id=finalist, judge_id=judge_id,
                                          status=SheetStatus.RECUSED, recusal_reason=RECUSAL_REASON, submitted_at=now))
                continue
            scores = []
            for criterion in category.criteria:
                level = quality[finalist] + leniency + rng.uniform(-0.1, 0.1)
                scores.append(SheetScore(criterion_id=criterion.id,
                                         value=max(0, min(criterion.max_score, round(level * criterion.max_score)))))
            db.session.add(ScoreSheet(category_id=category.id, nomination_id=finalist, judge_id=judge_id,
                                      status=SheetStatus.SUBMITTED, submitted_at=now, scores=scores))
