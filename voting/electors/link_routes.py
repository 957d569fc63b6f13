"""Personal links: organizers send them; a link opens the ballot of its roll elector without an account.

Organizer pages are under /manage/events/<id>/links. The link itself is /vote/link/<token>:
a GET shows a landing page and changes nothing (message previewers fetch links); its POST
button uses the link up and keeps in the browser's session only the event, the elector and
the link. The ballot pages under /vote/link/events/<id> use the shared ballot flow of
voting.ballots.routes with the elector as voter, and check the link afresh on every request.
"""
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from voting.accounts.forms import EmptyForm
from voting.accounts.models import Role
from voting.ballots import operations as ballots
from voting.ballots.routes import _cast, _category_states, _visible_category, _vote_flow
from voting.database import utcnow
from voting.electors import links
from voting.electors.link_forms import SCOPE_SELECTED, BackForm, ResendForm, SendLinksForm
from voting.electors.models import EligibilityMode, LinkDispatch, PersonalLink, RollEntry
from voting.events.models import Event
from voting.extensions import db, limiter
from voting.navigation import safe_next
from voting.outcomes import REFUSED, attempt
from voting.responses import live_json
from voting.security import roles_required

bp = Blueprint("links", __name__)
organizer_only = roles_required(Role.ORGANIZER)
LINK_SESSION_KEY = "personal_link"
PAGE_SIZE = 100

REFUSAL_MESSAGES = {
    "unknown": (_l("This link does not work"),
                _l("There is no such personal link. Check that the whole address was copied from the message. "
                   "If it still does not work, ask the organizers to send you a new link.")),
    "revoked": (_l("This link was withdrawn"),
                _l("The organizers withdrew this link, so it no longer opens a ballot. "
                   "If you still need to vote, ask the organizers to send you a new link.")),
    "used": (_l("This link was already used"),
             _l("A personal link opens the ballot only once, and this one has been opened already. "
                "If that was not you, or you could not finish voting, ask the organizers to send you a new link.")),
    "expired": (_l("This link has expired"),
                _l("Personal links work only until the voting window closes, and it has closed.")),
    "ended": (_l("Voting has ended"),
              _l("Voting in this event has ended, so this link no longer opens a ballot.")),
    "not_roll": (_l("This link does not work"),
                 _l("This event no longer uses personal links. Ask the organizers how to vote.")),
    "not_yet": (_l("Voting has not opened yet"),
                _l("Come back with this same link when voting opens. The link is not used up until you open your ballot.")),
}


def _code_limit():
    return current_app.config["CODE_RATE_LIMIT"]


def _failed_attempt(response):
    """Only tokens that do not work count towards the limit per address."""
    return response.status_code in (404, 410)


def link_prefix():
    """The address of a link without its token, for the messages the background thread sends."""
    path = url_for("links.landing", token="-")[:-1]
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + path
    return url_for("links.landing", token="-", _external=True)[:-1]


# ---------------------------------------------------------------------------
# For the roll's list page (templates/links/_roll_actions.html)


@bp.app_template_global("personal_link_for")
def personal_link_for(entry):
    """The LinkView of a roll entry's newest link; the event's links are read once per request."""
    cache = g.setdefault("personal_links", {})
    if entry.event_id not in cache:
        cache[entry.event_id] = (db.session.get(Event, entry.event_id), links.latest_links(entry.event_id))
    event, found = cache[entry.event_id]
    return links.link_view(found.get(entry.id), event)


@bp.app_template_global("personal_link_states")
def personal_link_states():
    return links.LINK_STATES


# ---------------------------------------------------------------------------
# Organizers: sending, progress, revoking, re-sending


def _event_or_404(event_id):
    return db.get_or_404(Event, event_id)


def _dispatch_or_404(event_id, dispatch_id):
    dispatch = db.session.get(LinkDispatch, dispatch_id)
    if dispatch is None or dispatch.event_id != event_id:
        abort(404)
    return _event_or_404(event_id), dispatch


def _index_page(event, form, status=200):
    name_filter = request.args.get("q", "").strip()[:100]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    entries, total, newest = links.roll_page(event.id, name_filter, page, PAGE_SIZE)
    now = utcnow()
    return render_template(
        "links/index.html",
        event=event,
        form=form,
        entries=entries,
        views={entry.id: links.link_view(newest.get(entry.id), event, now) for entry in entries},
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        name_filter=name_filter,
        unsent=links.unsent_count(event.id),
        refusal=links.send_refusal(event, now),
        dispatches=links.recent_dispatches(event.id),
        roll_mode=EligibilityMode(event.eligibility) == EligibilityMode.ROLL,
        mail_ready=bool(current_app.config.get("MAIL_SERVER")),
    ), status


@bp.route("/manage/events/<int:event_id>/links")
@organizer_only
def index(event_id):
    return _index_page(_event_or_404(event_id), SendLinksForm())


def _started(event, created, message):
    dispatch, summary = created
    links.start_delivery(dispatch.id, link_prefix())
    flash(message(summary), "success")
    if summary.skipped:
        flash(ngettext("%(num)d person on the selection was left out: no address for this way of sending.",
                       "%(num)d people on the selection were left out: no address for this way of sending.",
                       summary.skipped), "warning")
    return redirect(url_for("links.dispatch", event_id=event.id, dispatch_id=dispatch.id))


@bp.route("/manage/events/<int:event_id>/links/send", methods=["POST"])
@organizer_only
def send(event_id):
    event = _event_or_404(event_id)
    form = SendLinksForm()
    if not form.validate_on_submit():
        return _index_page(event, form, 400)
    chosen = form.entry_ids.data if form.scope.data == SCOPE_SELECTED else None
    created = attempt(lambda: links.create_dispatch(event, form.channel.data, current_user, chosen))
    if created is REFUSED:
        return redirect(url_for("links.index", event_id=event.id))
    return _started(event, created, lambda summary: ngettext(
        "%(num)d link is being sent. This page shows how it goes.",
        "%(num)d links are being sent. This page shows how it goes.", summary.queued))


@bp.route("/manage/events/<int:event_id>/links/dispatches/<int:dispatch_id>")
@organizer_only
def dispatch(event_id, dispatch_id):
    event, found = _dispatch_or_404(event_id, dispatch_id)
    progress = links.dispatch_progress(found)
    return render_template(
        "links/dispatch.html",
        event=event,
        dispatch=found,
        progress=progress,
        failures=links.failed_links(found),
        refusal=links.send_refusal(event),
        action_form=EmptyForm(),
    )


@bp.route("/manage/events/<int:event_id>/links/dispatches/<int:dispatch_id>/status.json")
@organizer_only
def dispatch_status(event_id, dispatch_id):
    _event, found = _dispatch_or_404(event_id, dispatch_id)
    return live_json(links.dispatch_progress(found).as_json())


@bp.route("/manage/events/<int:event_id>/links/dispatches/<int:dispatch_id>/resume", methods=["POST"])
@organizer_only
def resume(event_id, dispatch_id):
    event, found = _dispatch_or_404(event_id, dispatch_id)
    if EmptyForm().validate_on_submit():
        pending = attempt(lambda: links.resume_dispatch(found, current_user))
        if pending is not REFUSED:
            links.start_delivery(found.id, link_prefix())
            flash(ngettext("Sending goes on: %(num)d link left.", "Sending goes on: %(num)d links left.", pending),
                  "success")
    return redirect(url_for("links.dispatch", event_id=event.id, dispatch_id=found.id))


@bp.route("/manage/events/<int:event_id>/links/dispatches/<int:dispatch_id>/retry", methods=["POST"])
@organizer_only
def retry(event_id, dispatch_id):
    event, found = _dispatch_or_404(event_id, dispatch_id)
    if EmptyForm().validate_on_submit():
        count = attempt(lambda: links.retry_failed(found, current_user))
        if count is not REFUSED:
            links.start_delivery(found.id, link_prefix())
            flash(ngettext("%(num)d undelivered link is being sent again.",
                           "%(num)d undelivered links are being sent again.", count), "success")
    return redirect(url_for("links.dispatch", event_id=event.id, dispatch_id=found.id))


def _back(event):
    return redirect(safe_next(request.form.get("next"), "links.index", event_id=event.id))


@bp.route("/manage/events/<int:event_id>/links/<int:link_id>/revoke", methods=["POST"])
@organizer_only
def revoke(event_id, link_id):
    event = _event_or_404(event_id)
    link = db.session.get(PersonalLink, link_id)
    if link is None or link.elector.event_id != event.id:
        abort(404)
    if BackForm().validate_on_submit():
        attempt(lambda: links.revoke_link(link, current_user),
                _("The link was revoked: it no longer opens the ballot, and a ballot page it opened is closed."))
    return _back(event)


@bp.route("/manage/events/<int:event_id>/links/entries/<int:entry_id>/resend", methods=["POST"])
@organizer_only
def resend(event_id, entry_id):
    event = _event_or_404(event_id)
    entry = db.session.get(RollEntry, entry_id)
    if entry is None or entry.event_id != event.id:
        abort(404)
    form = ResendForm()
    if not form.validate_on_submit():
        flash(_("Choose how to send the links."), "error")
        return _back(event)
    created = attempt(lambda: links.create_dispatch(event, form.channel.data, current_user, [entry.id],
                                                    action="links.resend"))
    if created is REFUSED:
        return _back(event)
    return _started(event, created, lambda _summary: _(
        "A new link is being sent to %(name)s; the old one no longer works.", name=entry.name))


# ---------------------------------------------------------------------------
# The link: landing page, opening


def _refused_page(reason, event=None):
    title, message = REFUSAL_MESSAGES[reason]
    return render_template("links/refused.html", title=title, message=message, reason=reason,
                           event=event), links.REFUSAL_STATUS[reason]


def _remembered():
    remembered = session.get(LINK_SESSION_KEY)
    return remembered if isinstance(remembered, dict) else {}


def _no_store(response_and_status):
    body, status = response_and_status if isinstance(response_and_status, tuple) else (response_and_status, 200)
    response = current_app.make_response((body, status))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/vote/link/<token>", methods=["GET", "POST"])
@limiter.limit(_code_limit, deduct_when=_failed_attempt)
def landing(token):
    form = EmptyForm()
    now = utcnow()
    if request.method == "POST":
        form.validate_on_submit()  # CSRFProtect has refused a bad token already
        try:
            link, event = links.open_link(token, now)
        except links.LinkRefused as exc:
            db.session.rollback()
            return _no_store(_refused_page(exc.reason, exc.event))
        db.session.commit()
        elector = link.elector
        session[LINK_SESSION_KEY] = {"event_id": event.id, "elector_id": elector.id, "link_id": link.id}
        return redirect(url_for("links.overview", event_id=event.id))
    link = links.find_link(token)
    try:
        event = links.check_link(link, now)
    except links.LinkRefused as exc:
        if exc.reason == "used" and _remembered().get("link_id") == link.id:
            # This browser opened it: the ballot page is still here for it.
            return _no_store(render_template("links/landing.html", event=exc.event, form=form, opened_here=True))
        if exc.reason == "not_yet":
            return _no_store(render_template("links/landing.html", event=exc.event, form=form, not_yet=True))
        return _no_store(_refused_page(exc.reason, exc.event))
    return _no_store(render_template("links/landing.html", event=event, form=form))


# ---------------------------------------------------------------------------
# Voting with the link


def _link_voter(event_id):
    """(link, Voter) of this browser's opened link for the event, or (None, a refusal page)."""
    remembered = session.get(LINK_SESSION_KEY)
    if not remembered:
        return None, (render_template("links/no_session.html"), 403)
    try:
        link, elector = links.session_link(remembered, event_id)
    except links.LinkRefused as exc:
        if exc.reason != "unknown":
            session.pop(LINK_SESSION_KEY, None)
            return None, _refused_page(exc.reason, exc.event)
        return None, (render_template("links/no_session.html"), 403)
    return link, ballots.Voter(elector_id=elector.id, link_group=elector.group)


def _urls(event_id, category_id):
    return {
        "vote_url": url_for("links.vote", event_id=event_id, category_id=category_id),
        "back_url": url_for("links.overview", event_id=event_id),
    }


def _link_category(event_id, category_id):
    category = _visible_category(category_id)
    if category.event_id != event_id:
        abort(404)
    return category


@bp.route("/vote/link/events/<int:event_id>")
def overview(event_id):
    event = db.get_or_404(Event, event_id)
    if not event.is_public:
        abort(404)
    link, voter = _link_voter(event_id)
    if link is None:
        return voter
    return render_template("links/overview.html", event=event, states=_category_states(event, voter))


@bp.route("/vote/link/events/<int:event_id>/categories/<int:category_id>", methods=["GET", "POST"])
def vote(event_id, category_id):
    category = _link_category(event_id, category_id)
    link, voter = _link_voter(event_id)
    if link is None:
        return voter
    return _vote_flow(category, voter, cast_url=url_for("links.cast", event_id=event_id, category_id=category_id),
                      **_urls(event_id, category_id))


@bp.route("/vote/link/events/<int:event_id>/categories/<int:category_id>/cast", methods=["POST"])
@limiter.exempt
def cast(event_id, category_id):
    category = _link_category(event_id, category_id)
    link, voter = _link_voter(event_id)
    if link is None:
        return voter
    try:
        if request.form.get("action") != "change":
            links.hold_link(link.id)  # a revocation comes before this ballot (refused) or waits for it
    except links.LinkRefused:
        db.session.rollback()
        session.pop(LINK_SESSION_KEY, None)
        return _refused_page("revoked", category.event)
    return _cast(category_id, voter, lambda _event_id: _urls(event_id, category_id), category=category)

