"""Voting pages: online for accounts, on-site with a printed code, and the receipt check.

Both ways share one flow: choose, confirm on a second page, cast, see the receipt once.
"""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from voting.accounts.models import Role
from voting.ballots import operations, receipts
from voting.ballots.forms import BallotForm, CodeForm, ReceiptForm
from voting.ballots.models import OnsiteCode
from voting.electors import operations as electors
from voting.events.models import Category, Event
from voting.events.operations import EventLocked, NotAllowed
from voting.extensions import db, limiter
from voting.mail import recipient_locale, send_mail
from voting.responses import padded
from voting.sealing import private_session
from voting.security import roles_required

bp = Blueprint("ballots", __name__)
voters_only = roles_required(Role.RESIDENT, Role.OFFICIAL)
ONSITE_SESSION_KEY = "onsite_code"
RECEIPT_SESSION_KEY = "receipt"


def _code_limit():
    return current_app.config["CODE_RATE_LIMIT"]


def _only_posts():
    return request.method != "POST"


def _visible_category(category_id):
    category = db.session.scalar(select(Category).options(joinedload(Category.event)).where(Category.id == category_id))
    if category is None or not category.event.is_public:
        abort(404)
    return category


def _category_states(event, voter):
    elector_id = electors.find_elector_id(event, voter)
    previous = electors.previous_votes([c.id for c in event.categories], elector_id)
    return [
        {
            "category": category,
            "voted": category.id in previous,
            "previous": previous.get(category.id),
            "open": operations.voting_open_for(category, voter),
        }
        for category in event.categories
    ]


def _refusal(category, message, back_url, action=None):
    return render_template(
        "ballots/closed.html", category=category, message=message, back_url=back_url, action=action
    ), 403


def _already_voted(category, previous, back_url):
    return render_template("ballots/already_voted.html", category=category, previous=previous, back_url=back_url), 409


def _frozen_refusal(category, back_url):
    return _refusal(category, _("The results are frozen; voting has ended."), back_url)


def _ballot_page(category, form, vote_url, back_url):
    return padded((
        render_template(
            "ballots/ballot.html",
            category=category,
            form=form,
            finalists={n.id: n for n in operations.finalists(category)},
            vote_url=vote_url,
            back_url=back_url,
        ),
        400 if form.errors else 200,
    ))


def _vote_flow(category, voter, *, vote_url, cast_url, back_url):
    """GET shows the ballot; a POST of choices shows them again to confirm."""
    previous = operations.previous_vote(category, voter)
    if previous is not None:
        return _already_voted(category, previous, back_url)
    try:
        operations.ensure_may_vote(category, voter)
    except EventLocked:
        return _frozen_refusal(category, back_url)
    except NotAllowed as exc:
        return _refusal(category, exc.message, back_url, getattr(exc, "action", None))
    finalists = {n.id: n for n in operations.finalists(category)}
    form = BallotForm(finalists=finalists.values())
    if form.validate_on_submit():
        try:
            chosen = operations.check_choices(category, voter, form.approvals.data)
        except NotAllowed as exc:
            form.approvals.errors = list(form.approvals.errors) + [exc.message]
        else:
            return padded(render_template(
                "ballots/confirm.html",
                category=category,
                chosen=[finalists[choice.id] for choice in chosen],
                cast_url=cast_url,
                back_url=back_url,
            ))
    return _ballot_page(category, form, vote_url, back_url)


def _chosen_ids():
    raw = request.form.getlist("approvals")
    if not all(value.isdigit() for value in raw):
        return None
    return [int(value) for value in raw]


def _cast(category_id, voter, urls, category=None):
    """Casts the confirmed choices, or goes back to the ballot when asked to change them.

    urls(event_id) gives the vote_url and back_url. A cast does not load the category
    first: record_ballot reads it with its event under the write lock and checks
    everything on that. The category (given, or loaded here, 404 when not public) is
    needed only for an answer other than a receipt.
    """

    def shown():
        return category if category is not None else _visible_category(category_id)

    chosen_ids = _chosen_ids()
    if chosen_ids is None:
        shown()  # an unknown category stays a 404
        abort(400)
    if request.form.get("action") == "change":
        ballot_category = shown()
        form = BallotForm(finalists=operations.finalists(ballot_category))
        form.approvals.data = chosen_ids
        form.approvals.errors = []
        return _ballot_page(ballot_category, form, **urls(ballot_category.event_id))
    try:
        ballot = operations.record_ballot(category_id, voter, chosen_ids)
    except operations.UnknownCategory:
        db.session.rollback()
        abort(404)
    except operations.AlreadyVoted as exc:
        db.session.rollback()
        refused = shown()
        previous = electors.previous_vote(exc.category_id, exc.elector_id)
        return _already_voted(refused, previous, urls(refused.event_id)["back_url"])
    except EventLocked:
        db.session.rollback()
        refused = shown()
        return _frozen_refusal(refused, urls(refused.event_id)["back_url"])
    except NotAllowed as exc:
        db.session.rollback()
        refused = shown()
        return _refusal(refused, exc.message, urls(refused.event_id)["back_url"], getattr(exc, "action", None))
    db.session.commit()
    back_url = urls(ballot.category.event_id)["back_url"]
    session[RECEIPT_SESSION_KEY] = private_session.seal(
        {"receipt": ballot.receipt, "category": ballot.category.name, "back": back_url})
    if voter.user is not None:
        send_mail(
            voter.user.email,
            _l("Your ballot receipt for %(category)s", category=ballot.category.name),
            "receipt",
            locale=recipient_locale(voter.user),
            confidential=True,
            background=True,
            user=voter.user,
            category=ballot.category,
            receipt=ballot.receipt,
            link=url_for("ballots.check_receipt", _external=True),
        )
    return redirect(url_for("ballots.receipt"))


@bp.route("/events/<int:event_id>/vote")
@voters_only
def overview(event_id):
    event = db.get_or_404(Event, event_id)
    if not event.is_public:
        abort(404)
    voter = operations.Voter(user=current_user)
    return render_template("ballots/overview.html", event=event, states=_category_states(event, voter), onsite=False)


@bp.route("/categories/<int:category_id>/vote", methods=["GET", "POST"])
@voters_only
def vote(category_id):
    category = _visible_category(category_id)
    return _vote_flow(
        category,
        operations.Voter(user=current_user),
        vote_url=url_for("ballots.vote", category_id=category.id),
        cast_url=url_for("ballots.cast", category_id=category.id),
        back_url=url_for("ballots.overview", event_id=category.event_id),
    )


@bp.route("/categories/<int:category_id>/vote/cast", methods=["POST"])
@limiter.exempt
@voters_only
def cast(category_id):
    def urls(event_id):
        return {
            "vote_url": url_for("ballots.vote", category_id=category_id),
            "back_url": url_for("ballots.overview", event_id=event_id),
        }

    # The user object itself, not the proxy that looks it up on every attribute.
    return _cast(category_id, operations.Voter(user=current_user._get_current_object()), urls)


@bp.route("/vote/receipt")
def receipt():
    shown = private_session.unseal(session.pop(RECEIPT_SESSION_KEY, None))
    if shown is None:
        flash(_("A receipt is shown only once, right after voting."), "info")
        return redirect(url_for("ballots.check_receipt"))
    response = padded(render_template("ballots/receipt.html", **shown))
    response.headers["Cache-Control"] = "no-store"
    return response


def _onsite_voter(event):
    remembered = session.get(ONSITE_SESSION_KEY)
    if not remembered or remembered.get("event_id") != event.id:
        return None
    code = db.session.get(OnsiteCode, remembered.get("code_id"))
    if code is None or code.batch.event_id != event.id:
        return None
    return operations.Voter(code=code)


@bp.route("/onsite/<int:event_id>", methods=["GET", "POST"])
@limiter.limit(_code_limit, exempt_when=_only_posts)
def onsite_start(event_id):
    event = db.get_or_404(Event, event_id)
    if not event.is_public:
        abort(404)
    form = CodeForm()
    if not form.is_submitted() and request.args.get("code"):
        form.code.data = request.args["code"][:40]
    if form.validate_on_submit():
        code = operations.find_code(event, form.code.data)
        if code is None:
            form.code.errors = list(form.code.errors) + [_("This code is not valid for this event. Check the letters on your card.")]
        elif code.batch.is_revoked:
            form.code.errors = list(form.code.errors) + [_("This code was withdrawn by the organizers.")]
        else:
            session[ONSITE_SESSION_KEY] = {"event_id": event.id, "code_id": code.id}
            return redirect(url_for("ballots.onsite_overview", event_id=event.id))
    return render_template("ballots/onsite_start.html", event=event, form=form), 400 if form.errors else 200


@bp.route("/onsite/<int:event_id>/ballots")
def onsite_overview(event_id):
    event = db.get_or_404(Event, event_id)
    if not event.is_public:
        abort(404)
    voter = _onsite_voter(event)
    if voter is None:
        return redirect(url_for("ballots.onsite_start", event_id=event_id))
    return render_template("ballots/overview.html", event=event, states=_category_states(event, voter), onsite=True)


def _onsite_urls(event_id, category_id):
    return {
        "vote_url": url_for("ballots.onsite_vote", event_id=event_id, category_id=category_id),
        "back_url": url_for("ballots.onsite_overview", event_id=event_id),
    }


def _onsite_category(event_id, category_id):
    """The category and the code's voter, or None when no code was entered in this browser."""
    category = _visible_category(category_id)
    if category.event_id != event_id:
        abort(404)
    return category, _onsite_voter(category.event)


@bp.route("/onsite/<int:event_id>/categories/<int:category_id>", methods=["GET", "POST"])
def onsite_vote(event_id, category_id):
    category, voter = _onsite_category(event_id, category_id)
    if voter is None:
        return redirect(url_for("ballots.onsite_start", event_id=event_id))
    cast_url = url_for("ballots.onsite_cast", event_id=event_id, category_id=category_id)
    return _vote_flow(category, voter, cast_url=cast_url, **_onsite_urls(event_id, category_id))


@bp.route("/onsite/<int:event_id>/categories/<int:category_id>/cast", methods=["POST"])
def onsite_cast(event_id, category_id):
    category, voter = _onsite_category(event_id, category_id)
    if voter is None:
        return redirect(url_for("ballots.onsite_start", event_id=event_id))
    return _cast(category_id, voter, lambda _event_id: _onsite_urls(event_id, category_id), category=category)


@bp.route("/receipts/check", methods=["GET", "POST"])
@limiter.limit(_code_limit, exempt_when=_only_posts)
def check_receipt():
    form = ReceiptForm()
    result = None
    if form.validate_on_submit():
        result = receipts.check_receipt(form.receipt.data)
    return render_template("ballots/check_receipt.html", form=form, result=result)
