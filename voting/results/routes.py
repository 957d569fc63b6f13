"""Results pages: the organizers' preview (ties, freeze, publish) and the published results."""
from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from voting.accounts.forms import EmptyForm
from voting.confirmation import confirmation_page
from voting.accounts.models import Role
from voting.events.models import Category, Event, EventState
from voting.extensions import db
from voting.sealing import operations as sealing
from voting.labels import NORMALIZATION_LABELS
from voting.navigation import redirect_back
from voting.outcomes import REFUSED, attempt
from voting.results import bundle, operations, scoring, sensitivity
from voting.results.forms import TieForm
from voting.security import roles_required

bp = Blueprint("results", __name__)
organizer_only = roles_required(Role.ORGANIZER)

COMPONENT_LABELS = {
    "resident": _l("Residents' votes"),
    "official": _l("Officials' votes"),
    "judges": _l("Judges' scores"),
}
CHANNEL_LABELS = {"online": _l("Online"), "onsite": _l("On-site code"), "paper": _l("Paper")}
EMPTY_REASONS = {
    scoring.NO_APPROVALS: _l("nobody approved any finalist"),
    scoring.NO_BALLOTS: _l("there are no ballots"),
    scoring.ALL_EQUAL: _l("every finalist has the same number of approvals"),
    scoring.NO_SHEETS: _l("no judge has submitted a sheet"),
}
METHOD_LABELS = {"draw": _l("recorded draw"), "joint": _l("joint award")}


# ---------------------------------------------------------------------------
# Words for numbers and codes (shared by the templates)


def component_list(components):
    return ", ".join(str(COMPONENT_LABELS[c]) for c in components)


def weights_text(weights):
    """{"resident": 45, ...} (numbers or "p/q" strings) as "Residents' votes 45, ..."."""
    parts = []
    for key in scoring.COMPONENTS:
        value = scoring.parse_fraction(str(weights[key]))
        number = str(value.numerator) if value.denominator == 1 else scoring.display(value)
        parts.append(f"{COMPONENT_LABELS[key]} {number}")
    return ", ".join(parts)


def finalist_names(results, ids):
    return ", ".join(results.finalists[i].title if i in results.finalists else f"#{i}" for i in ids)


def warning_text(results, warning):
    """A warning code of the scoring module or of the operations, in words."""
    code, data = warning["code"], warning.get("data", {})
    if code == scoring.COMPONENTS_DROPPED:
        reasons = "; ".join(f"{COMPONENT_LABELS[c]}: {EMPTY_REASONS.get(r, r)}" for c, r in data["reasons"].items())
        return _("Left out because nothing counts in them (%(reasons)s). The other weights were scaled up to 100: %(weights)s.",
                 reasons=reasons, weights=weights_text(data["weights_used"]))
    if code == scoring.ALL_COMPONENTS_EMPTY:
        return _("Nothing counts yet (%(components)s are empty): every finalist has 0 points and the order comes from the tie-break rule alone.",
                 components=component_list(data["components"]))
    if code == scoring.MISSING_JUDGE_SCORES:
        return _("No judge has scored %(finalists)s; the judges' part counts 0 for them.",
                 finalists=finalist_names(results, data["finalists"]))
    if code == scoring.TIE_RESOLUTION_UNUSED:
        return _("A recorded tie decision (%(method)s) for %(finalists)s no longer matches a tie and is not applied.",
                 method=METHOD_LABELS.get(data.get("method"), data.get("method")),
                 finalists=finalist_names(results, data["finalists"]))
    if code == operations.SHEETS_LEFT_OUT:
        return _("%(count)d submitted sheets were left out: they do not fit the category's rubric as it is now.",
                 count=data["count"])
    if code == operations.APPROVALS_LEFT_OUT:
        return _("%(count)d approvals of nominations that are no longer finalists were not counted.", count=data["count"])
    return code


def scenario_text(scenario, current_normalization):
    if scenario.kind == "normalization":
        return _("vote normalization “%(name)s” instead of “%(current)s”",
                 name=NORMALIZATION_LABELS[scenario.normalization], current=NORMALIZATION_LABELS[current_normalization])
    return _("%(component)s %(delta)+d points (weights: %(weights)s)",
             component=COMPONENT_LABELS[scenario.component], delta=scenario.delta,
             weights=weights_text({k: scoring.fraction_text(v) for k, v in scenario.weights.items()}))


def tie_text(results, tie):
    tiers = " / ".join(name or _("no award") for name in tie.tiers)
    return _("Tied at rank %(rank)d across %(tiers)s: %(finalists)s (%(places)d of them in %(tier)s).",
             rank=tie.rank, tiers=tiers, finalists=finalist_names(results, tie.finalists),
             places=tie.places, tier=tie.tiers[0])


def replay_command(resolution):
    ids = ", ".join(str(i) for i in sorted(resolution.finalists))
    return f'python3 -c \'import random; ids = [{ids}]; random.Random("{resolution.seed}").shuffle(ids); print(ids)\''


TEMPLATE_HELPERS = {
    "display": scoring.display,
    "explain": scoring.explain,
    "component_labels": COMPONENT_LABELS,
    "channel_labels": CHANNEL_LABELS,
    "empty_reasons": EMPTY_REASONS,
    "warning_text": warning_text,
    "scenario_text": scenario_text,
    "tie_text": tie_text,
    "finalist_names": finalist_names,
    "replay_command": replay_command,
    "components": scoring.COMPONENTS,
    "groups": scoring.GROUPS,
    "channels": operations.CHANNELS,
}


def render(template, **context):
    return render_template(template, **TEMPLATE_HELPERS, **context)


# ---------------------------------------------------------------------------
# The organizers' preview


def _event_results(event):
    """(frozen results or None, CategoryResults of each category): from the snapshot once frozen."""
    frozen = bundle.frozen_results(event.id)
    if frozen is not None:
        return frozen, frozen.categories
    return None, operations.live_results(event)


def _sealed_page(event):
    """While the box is sealed there is nothing to compute: the page says why, and shows the box."""
    waiting = sealing.results_wait_reason(event)
    if waiting is None:
        return None
    return render_template("results/sealed.html", event=event, box=sealing.box_of(event), waiting=waiting)


def _sensitivities(categories):
    return {
        results.id: sensitivity.check(results.scoring_inputs(), results.standings)
        for results in categories
    }


@bp.route("/manage/events/<int:event_id>/results")
@organizer_only
def preview(event_id):
    event = db.get_or_404(Event, event_id)
    waiting = _sealed_page(event)
    if waiting is not None:
        return waiting
    frozen, categories = _event_results(event)
    return render(
        "results/preview.html",
        event=event,
        frozen=frozen,
        categories=categories,
        sensitivities=_sensitivities(categories),
        unresolved=sum(len(r.standings.unresolved_ties) for r in categories),
        voting_open=frozen is None and operations.voting_possible(event),
        single=False,
    )


@bp.route("/manage/categories/<int:category_id>/results")
@organizer_only
def category_preview(category_id):
    category = db.get_or_404(Category, category_id)
    event = category.event
    waiting = _sealed_page(event)
    if waiting is not None:
        return waiting
    frozen = bundle.frozen_results(event.id)
    results = frozen.category(category.id) if frozen is not None else operations.category_results(category)
    if results is None:  # a category added after freezing cannot exist, but do not fail on it
        abort(404)
    return render(
        "results/category.html",
        event=event,
        frozen=frozen,
        categories=[results],
        sensitivities=_sensitivities([results]),
        unresolved=len(results.standings.unresolved_ties),
        single=True,
    )


@bp.route("/manage/categories/<int:category_id>/ties", methods=["POST"])
@organizer_only
def decide_tie(category_id):
    category = db.get_or_404(Category, category_id)
    form = TieForm()
    if not form.validate_on_submit():
        flash(_("Choose a tie and how to settle it."), "error")
        return redirect_back("results.category_preview", category_id=category.id)
    names = _titles(form.finalist_ids())
    asking = confirmation_page(
        _("Settle the tie in %(category)s", category=category.name),
        [_("Tied: %(names)s.", names=names),
         _("A draw is made now with a random seed that is recorded and shown; its order decides the awards.")
         if form.method.data == "draw" else
         _("Every tied finalist gets the better award; the places they take are not given to anyone else."),
         _("The decision is recorded in the audit log and in the transparency bundle.")],
        url_for("results.category_preview", category_id=category.id),
        _("Yes, make the draw") if form.method.data == "draw" else _("Yes, make it a joint award"),
    )
    if asking is not None:
        return asking
    decision = attempt(lambda: operations.decide_tie(category, form.finalist_ids(), form.method.data, current_user))
    if decision is not REFUSED:
        if decision.seed:
            flash(_("The draw was recorded with seed %(seed)s. Drawn order: %(order)s.", seed=decision.seed,
                    order=_titles(int(i) for i in decision.drawn_order.split(","))), "success")
        else:
            flash(_("The joint award was recorded."), "success")
    return redirect_back("results.category_preview", category_id=category.id)


def _titles(nomination_ids):
    """The titles of the nominations, in the given order, read in one query."""
    from voting.nominations.models import Nomination

    ids = list(nomination_ids)
    titles = dict(db.session.execute(select(Nomination.id, Nomination.title).where(Nomination.id.in_(ids))).all())
    return ", ".join(titles.get(i, f"#{i}") for i in ids)


@bp.route("/manage/events/<int:event_id>/results/freeze", methods=["POST"])
@organizer_only
def freeze(event_id):
    event = db.get_or_404(Event, event_id)
    if EmptyForm().validate_on_submit():
        asking = confirmation_page(
            _("Freeze the results of %(event)s", event=event.name),
            [_("The results are stored with every ballot, judge's sheet, paper total and setting behind them, and with their SHA-256."),
             _("After that no ballot, score, paper total, tie decision or setting of this event can change."),
             _("Then you can export the results, show the awards and publish them.")],
            url_for("results.preview", event_id=event.id),
            _("Yes, freeze the results"),
        )
        if asking is not None:
            return asking
        snapshot = attempt(lambda: operations.freeze_results(event, current_user))
        if snapshot is not REFUSED:
            flash(_("The results are frozen. SHA-256: %(sha)s", sha=snapshot.sha256), "success")
    return redirect_back("results.preview", event_id=event.id)


@bp.route("/manage/events/<int:event_id>/results/publish", methods=["POST"])
@organizer_only
def publish(event_id):
    event = db.get_or_404(Event, event_id)
    if EmptyForm().validate_on_submit():
        asking = confirmation_page(
            _("Publish the results of %(event)s", event=event.name),
            [_("Everyone can then see the results, download the transparency bundle and check their receipts against it."),
             _("The event appears in the public archive. Published results cannot be withdrawn.")],
            url_for("results.preview", event_id=event.id),
            _("Yes, publish the results"),
        )
        if asking is not None:
            return asking
        published = attempt(lambda: operations.publish_results(event, current_user),
                            _("The results are published for everyone."))
        if published is not REFUSED:
            return redirect_back("results.public_results", event_id=event.id)
    return redirect_back("results.preview", event_id=event.id)


# ---------------------------------------------------------------------------
# Published results


def _published(event_id):
    """The event and its frozen results, when the current user may see them: everyone once
    published, organizers once frozen.  Anything else is 404, so nothing hints at results."""
    event = db.get_or_404(Event, event_id)
    organizer = current_user.is_authenticated and current_user.role == Role.ORGANIZER
    if event.state != EventState.PUBLISHED and not organizer:
        abort(404)
    frozen = bundle.frozen_results(event.id)
    return event, frozen


@bp.route("/events/<int:event_id>/results")
def public_results(event_id):
    event, frozen = _published(event_id)
    if frozen is None:
        return redirect(url_for("results.preview", event_id=event.id))
    return render("results/public.html", event=event, frozen=frozen, categories=frozen.categories)


@bp.route("/events/<int:event_id>/results/bundle.json")
def bundle_file(event_id):
    event, frozen = _published(event_id)
    if frozen is None:
        abort(404)
    return Response(
        frozen.bundle_bytes,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="results-bundle-event{event.id}.json"'},
    )


@bp.route("/events/<int:event_id>/results.csv")
def csv_file(event_id):
    event, frozen = _published(event_id)
    if frozen is None:
        abort(404)
    return Response(
        bundle.results_csv(frozen.categories),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="results-event{event.id}.csv"'},
    )
