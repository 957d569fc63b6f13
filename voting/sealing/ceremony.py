"""The key ceremony: the box's key pair is made, split into one share per trustee, and each
share is shown once to its trustee, who types back two of its words.

The trustees come one after another to the device where an organizer started the ceremony,
each signing in there with their own password. Until its trustee has confirmed it, a share
exists only inside that browser's session, sealed with a SecretBox whose key is derived
from the app's SECRET_KEY and a salt kept on the box row while the ceremony runs: the
database alone, or the cookie alone, holds nothing readable; the salt is cleared when the
ceremony ends (or is started again), and the private key itself is never kept at all.
"""
import json
import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from nacl.exceptions import CryptoError

from voting.audit import operations as audit
from voting.database import utcnow
from voting.events.operations import NotAllowed, ensure_unlocked
from voting.extensions import db
from voting.sealing import keys
from voting.sealing.operations import _discard_key, _ensure_setup_open, box_of
from voting.sealing.private_session import secret_box


class CeremonyLost(NotAllowed):
    """The shares are no longer in this browser (another ceremony started, the session ended)."""


def _seal_pending(box, pending):
    return secret_box(b"box-ceremony", box.ceremony_salt).encrypt(json.dumps(pending).encode("utf-8"))


def _open_pending(box, blob):
    if box.ceremony_salt is None or not blob:
        raise CeremonyLost(_("This ceremony is no longer running in this browser. Start it again: no share of the old one can open a box."))
    try:
        return json.loads(secret_box(b"box-ceremony", box.ceremony_salt).decrypt(bytes(blob)))
    except (CryptoError, ValueError, TypeError):
        raise CeremonyLost(_("This ceremony is no longer running in this browser. Start it again: no share of the old one can open a box.")) from None


def start_ceremony(event, actor):
    """Makes the key pair and its shares; returns the sealed pending shares for the session.

    Starting again discards an earlier key: its shares can never open this box.
    """
    ensure_unlocked(event)
    _ensure_setup_open(event)
    box = box_of(event)
    if not event.sealed or box is None or len(box.trustees) < 2:
        raise NotAllowed(_("Name the trustees and the number of shares needed first."))
    _discard_key(box)
    private, public_key = keys.new_key_pair()
    shares = keys.split_key(private, box.threshold, len(box.trustees))
    del private
    box.public_key = public_key
    box.fingerprint = keys.fingerprint(public_key)
    box.ceremony_salt = secrets.token_bytes(32)
    box.ceremony_started_at = utcnow()
    db.session.flush()
    audit.record("box.ceremony_start", actor=actor, event_id=event.id,
                 details={"fingerprint": box.fingerprint, "trustees": len(shares), "threshold": box.threshold})
    pending = {str(t.position): share for t, share in zip(box.trustees, shares)}
    return _seal_pending(box, pending)


@dataclass(frozen=True)
class ShownShare:
    position: int
    words: list
    confirm: list        # 1-based word positions to type back


def trustee_at(box, position):
    return next((t for t in box.trustees if t.position == position), None)


def next_trustee(box):
    return next((t for t in box.trustees if t.confirmed_at is None), None)


def show_share(event, blob, trustee):
    """The trustee's share, once: a second look (a reload) is refused."""
    box = box_of(event)
    pending = _open_pending(box, blob)
    share = pending.get(str(trustee.position))
    if share is None or trustee.confirmed_at is not None:
        raise NotAllowed(_("This share was shown and confirmed already."))
    if trustee.share_shown_at is None:
        trustee.share_shown_at = utcnow()
        db.session.flush()
    return ShownShare(trustee.position, share.split(), keys.confirm_positions(share, box.ceremony_salt))


def confirm_share(event, blob, trustee, typed_words, actor=None):
    """Checks the two words typed back; returns the new blob (without this share) and whether the
    ceremony is complete. Wrong words: NotAllowed, and the share stays to be shown again."""
    box = box_of(event)
    pending = _open_pending(box, blob)
    share = pending.get(str(trustee.position))
    if share is None:
        raise NotAllowed(_("This share was shown and confirmed already."))
    words = share.split()
    positions = keys.confirm_positions(share, box.ceremony_salt)
    typed = [keys.normalize_share(w) for w in typed_words]
    if len(typed) != len(positions) or any(typed[i] != words[p - 1] for i, p in enumerate(positions)):
        raise NotAllowed(_("Those are not words %(first)d and %(second)d of your share. Look at what you wrote down and type them again.",
                           first=positions[0], second=positions[-1]))
    del pending[str(trustee.position)]
    trustee.confirmed_at = utcnow()
    audit.record("box.share_confirmed", actor=actor, event_id=event.id,
                 details={"position": trustee.position, "trustee": trustee.user_id})
    complete = next_trustee(box) is None
    if complete:
        box.ceremony_completed_at = utcnow()
        box.ceremony_salt = None
        audit.record("box.ceremony_complete", actor=actor, event_id=event.id,
                     details={"fingerprint": box.fingerprint, "trustees": len(box.trustees), "threshold": box.threshold})
        db.session.flush()
        return None, True
    db.session.flush()
    return _seal_pending(box, pending), False


def ceremony_without_trustees(event, actor):
    """The whole ceremony in one step, every share handed back instead of shown: for the demo
    (which writes them to a file it names) and the tests only, never from a page."""
    blob = start_ceremony(event, actor)
    box = box_of(event)
    pending = _open_pending(box, blob)
    now = utcnow()
    for trustee in box.trustees:
        trustee.share_shown_at = trustee.confirmed_at = now
    box.ceremony_completed_at = now
    box.ceremony_salt = None
    db.session.flush()
    audit.record("box.ceremony_complete", actor=actor, event_id=event.id,
                 details={"fingerprint": box.fingerprint, "trustees": len(box.trustees), "threshold": box.threshold,
                          "unattended": True})
    return [pending[str(t.position)] for t in box.trustees]
