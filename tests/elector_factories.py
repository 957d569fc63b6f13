"""Electors, roll entries and bound cards made directly, for tests that start past the SMS step.

Call inside an app context; each flushes and returns the record. The caller commits.
"""
from datetime import date

from voting.accounts.models import VotingGroup
from voting.ballots import codes
from voting.ballots.models import OnsiteCode, OnsiteCodeBatch
from voting.electors.models import CardBinding, Elector, ElectorKind, RollEntry
from voting.extensions import db
from voting.identity import parse_phone, seal_phone


def phone_elector(event_id, phone, *, user_id=None, group="resident"):
    """The elector of a confirmed phone (phone mode), claimed by an account or not (a walk-in)."""
    number = parse_phone(phone)
    elector = Elector(event_id=event_id, group=VotingGroup(group), kind=ElectorKind.PHONE, user_id=user_id,
                      phone_hmac=number.digest, phone_last4=number.last4)
    db.session.add(elector)
    db.session.flush()
    return elector


def roll_entry(event_id, name, phone, *, birth_date=date(1950, 3, 1), group="resident", district="서대문구",
               dong="연희동", email=None, user_id=None):
    """An entry on the event's roll and its elector, as the roll import makes them."""
    number = parse_phone(phone)
    entry = RollEntry(event_id=event_id, name=name, birth_date=birth_date, phone_hmac=number.digest,
                      phone_last4=number.last4, phone_sealed=seal_phone(number), email=email,
                      district=district, dong=dong, group=VotingGroup(group))
    db.session.add(entry)
    db.session.flush()
    elector = Elector(event_id=event_id, group=VotingGroup(group), kind=ElectorKind.ROLL, user_id=user_id,
                      phone_hmac=number.digest, phone_last4=number.last4, roll_entry_id=entry.id)
    db.session.add(elector)
    db.session.flush()
    return entry, elector


def card(event_id, organizer_id, plain_code, *, group="resident"):
    """A printed on-site card (one code in a batch of its own); returns the OnsiteCode."""
    batch = OnsiteCodeBatch(event_id=event_id, group=VotingGroup(group), size=1, created_by_id=organizer_id,
                            codes=[OnsiteCode(code_hash=codes.onsite_code_hash(plain_code))])
    db.session.add(batch)
    db.session.flush()
    return batch.codes[0]


def bind(code_id, elector_id, staff_id=None):
    binding = CardBinding(code_id=code_id, elector_id=elector_id, bound_by_id=staff_id)
    db.session.add(binding)
    db.session.flush()
    return binding
