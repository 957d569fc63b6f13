"""Saving an event's certificate settings. Flushes, never commits: the route commits once.

The settings are presentation, not a result input, so they may change after the results are
frozen (no ensure_unlocked here); every change is in the audit log all the same, because the
printed certificates are official documents.
"""
import hashlib

from sqlalchemy.exc import IntegrityError

from voting.audit import operations as audit
from voting.database import savepoint
from voting.exports.certificates import certificate_template, check_wording
from voting.exports.models import CertificateTemplate
from voting.extensions import db


def _add_once(template):
    """Adds a new row; False when another request made the event's row first."""
    try:
        with savepoint(db.session):
            db.session.add(template)
    except IntegrityError:
        return False
    return True


def save_certificate_template(event, *, issuer, wording, award_date, seal=None, remove_seal=False, actor):
    """Stores the settings; ``seal`` is a checked CleanPhoto (it wins over ``remove_seal``).

    Returns the names of what changed, in the audit entry too; when nothing changed, nothing
    is recorded.
    """
    check_wording(wording)
    template = certificate_template(event)
    created = template is None
    if created:
        template = CertificateTemplate(event_id=event.id)
    changed = {}
    for name, value in (("issuer", issuer), ("wording", wording), ("award_date", award_date)):
        if created or getattr(template, name) != value:
            setattr(template, name, value)
            changed[name] = value.isoformat() if name == "award_date" else value
    if seal is not None:
        template.set_seal(seal)
        changed["seal"] = {"sha256": hashlib.sha256(seal.data).hexdigest(), "mime_type": seal.mime_type,
                           "width": seal.width, "height": seal.height}
    elif remove_seal and template.has_seal:
        template.clear_seal()
        changed["seal"] = None
    if created and not _add_once(template):
        return save_certificate_template(event, issuer=issuer, wording=wording, award_date=award_date,
                                         seal=seal, remove_seal=remove_seal, actor=actor)
    if not changed:
        return []
    db.session.flush()
    audit.record("certificate.save", actor=actor, event_id=event.id, details={"changed": sorted(changed), **changed})
    return sorted(changed)
