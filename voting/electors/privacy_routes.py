"""Organizer pages of the personal-data lifecycle: the destruction ledger (파기 대장), and what
the public and ballot pages tell a resident about the event's eligibility mode.

- ``/manage/privacy``: each event's retention (kept until when), the ledger, and a button that
  destroys what is due today (after a confirmation step), as ``voting purge --apply`` does;
- ``/manage/privacy/ledger.csv``: the ledger as CSV;
- the template global ``eligibility_notice_of(event)``: the mode in one plain sentence and, for
  a signed-in resident who still needs it, the step that lets them vote, with its page.
"""
from dataclasses import dataclass

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select

from voting.accounts.forms import EmptyForm
from voting.accounts.models import Role
from voting.confirmation import confirmation_page
from voting.database import utcnow
from voting.electors import purge as lifecycle
from voting.electors.models import DestructionRecord
from voting.events.models import Event, EventState
from voting.extensions import db
from voting.labels import ELIGIBILITY_ACTIONS, ELIGIBILITY_LABELS
from voting.outcomes import REFUSED, attempt
from voting.security import roles_required

bp = Blueprint("privacy", __name__, url_prefix="/manage")
organizer_only = roles_required(Role.ORGANIZER)


@bp.route("/privacy")
@organizer_only
def ledger():
    today = lifecycle.seoul_today()
    retentions = lifecycle.retentions()
    due = {item.retention.event_id: item for item in lifecycle.plan(today)}
    modes = dict(db.session.execute(select(Event.id, Event.eligibility)).all())
    destroyed = dict(db.session.execute(
        select(DestructionRecord.event_id, func.max(DestructionRecord.destroyed_at))
        .group_by(DestructionRecord.event_id)
    ).all())
    return render_template(
        "privacy/ledger.html", today=today, retentions=retentions, due=due, modes=modes, destroyed=destroyed,
        records=lifecycle.ledger(), purge_form=EmptyForm(), labels=lifecycle.DATA_CLASS_LABELS,
    )


@bp.route("/privacy/ledger.csv")
@organizer_only
def ledger_csv():
    stamp = lifecycle.seoul_today().isoformat()
    return Response(
        lifecycle.ledger_csv(lifecycle.ledger()),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="destruction-record-{stamp}.csv"',
                 "Cache-Control": "no-store"},
    )


@bp.route("/privacy/purge", methods=["POST"])
@organizer_only
def purge():
    """Destroys what is due today, after a confirmation page (the CSRF token is checked for every POST)."""
    today = lifecycle.seoul_today()
    planned = [item for item in lifecycle.plan(today) if item.total]
    if not planned:
        flash(_("No personal data is due for destruction today."), "info")
        return redirect(url_for("privacy.ledger"))
    asking = confirmation_page(
        _("Destroy the personal data that is due"),
        [ngettext("%(event)s: %(num)d record (%(classes)s).", "%(event)s: %(num)d records (%(classes)s).",
                  item.total, event=item.retention.event_name,
                  classes=", ".join(f"{lifecycle.data_class_label(key)} {item.counts[key]}"
                                    for key in lifecycle.DATA_CLASSES if item.counts[key]))
         for item in planned]
        + [_("Published results, bundles, ballots and the audit log are kept."),
           _("Each destruction is written to the destruction record with your name.")],
        url_for("privacy.ledger"),
        _("Yes, destroy it now"),
    )
    if asking is not None:
        return asking
    done = attempt(lambda: lifecycle.purge(today, lifecycle.organizer_signature(current_user)))
    if done is not REFUSED:
        flash(ngettext("%(num)d record was destroyed and written to the destruction record.",
                       "%(num)d records were destroyed and written to the destruction record.",
                       sum(item.total for item in done)), "success")
    return redirect(url_for("privacy.ledger"))


# ---------------------------------------------------------------------------
# The eligibility mode on the public and ballot pages

# What a resident needs before voting, by the endpoint of the page that does it (NotEligible.action).
NEEDS = {
    "accounts.account": _l("To vote, first confirm your email address with the link we sent you."),
    "electors.phone": _l("To vote, first confirm your mobile phone with a 6-digit code that we send to it."),
    "electors.claim": _l("To vote, first find yourself on the roll, with your name, date of birth and a code sent to your phone."),
}


@dataclass(frozen=True)
class Step:
    need: str
    label: str
    url: str


@dataclass(frozen=True)
class EligibilityNotice:
    mode: str
    step: Step | None


def _step(event):
    """What the signed-in resident still has to do before voting in the event, or None.

    The answer is the cast rule's own (check_eligible), so the page never says more or less
    than the ballot will. Only while the event is open and its voting has not ended.
    """
    from voting.ballots.operations import Voter
    from voting.electors.operations import NotEligible, check_eligible, find_elector_id

    if not current_user.is_authenticated or current_user.role != Role.RESIDENT:
        return None
    if event.state != EventState.OPEN or (event.vote_closes_at is not None and utcnow() >= event.vote_closes_at):
        return None
    voter = Voter(user=current_user._get_current_object())
    try:
        check_eligible(event, voter, find_elector_id(event, voter))
    except NotEligible as refusal:
        if refusal.action in NEEDS:
            values = {} if refusal.action == "accounts.account" else {"event_id": event.id}
            return Step(str(NEEDS[refusal.action]), str(ELIGIBILITY_ACTIONS[refusal.action]),
                        url_for(refusal.action, **values))
    return None


@bp.app_template_global()
def eligibility_notice_of(event, for_voter=True):
    """The mode of the event in one sentence, and the signed-in resident's next step (or None).

    ``for_voter=False`` leaves the step out: on a ballot page the voter has already passed the check.
    """
    mode = getattr(event.eligibility, "value", event.eligibility)
    return EligibilityNotice(str(ELIGIBILITY_LABELS[mode]), _step(event) if for_voter else None)
