"""Checking a receipt ("check my ballot").

Once an event's results are frozen, the answer comes from the frozen list of receipt hashes,
the very list published in the transparency bundle, so the voter checks what was counted,
not what the database says today.  Before freezing, from the receipts table (which holds no ballot's content).
"""
from bisect import bisect_left
from dataclasses import dataclass

from sqlalchemy import select

from voting.ballots import codes
from voting.events.models import Category, Event
from voting.extensions import db
from voting.results.models import ResultSnapshot
from voting.sealing.models import Receipt


@dataclass(frozen=True)
class ReceiptCheck:
    counted: bool
    event: Event | None = None
    frozen: object | None = None      # the event's bundle.Frozen when answered from its frozen list
    receipt_sha256: str | None = None

    @property
    def published(self):
        return self.frozen is not None and self.frozen.published_at is not None


def _in_sorted(items, value):
    index = bisect_left(items, value)
    return index < len(items) and items[index] == value


def _frozen_lists():
    from voting.results.bundle import frozen_results

    for event_id in db.session.scalars(select(ResultSnapshot.event_id).order_by(ResultSnapshot.event_id.desc())):
        yield event_id, frozen_results(event_id)


def check_receipt(typed):
    normalized = codes.normalize(typed)
    if len(normalized) != codes.RECEIPT_LENGTH:
        return ReceiptCheck(False)
    digest = codes.receipt_hash(normalized)
    from voting.results.bundle import frozen_results

    event_id = db.session.scalar(
        select(Category.event_id).join(Receipt, Receipt.category_id == Category.id).where(Receipt.receipt_hash == digest)
    )
    if event_id is not None:
        frozen = frozen_results(event_id)
        if frozen is None:
            return ReceiptCheck(True, db.session.get(Event, event_id), None, digest)
        # A ballot of a frozen event whose receipt is not in its frozen list was not counted.
        counted = _in_sorted(frozen.document["receipt_hashes"], digest)
        return ReceiptCheck(counted, db.session.get(Event, event_id), frozen, digest)
    # No such ballot today: a frozen list may still hold it (a row removed behind the app's back).
    for frozen_event_id, frozen in _frozen_lists():
        if _in_sorted(frozen.document["receipt_hashes"], digest):
            return ReceiptCheck(True, db.session.get(Event, frozen_event_id), frozen, digest)
    return ReceiptCheck(False, receipt_sha256=digest)
