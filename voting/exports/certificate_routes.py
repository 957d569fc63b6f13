"""Organizer pages for the certificates (상장): wording, the organizer's title, a seal or logo image.

The settings stay editable after the results are frozen: they change how the certificates
look, never who gets which award.
"""
from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from voting.accounts.models import Role
from voting.events.models import Event
from voting.exports import certificate_operations as operations
from voting.exports import certificates
from voting.exports.awards import event_awards
from voting.exports.forms import CertificateForm
from voting.extensions import db
from voting.outcomes import REFUSED, attempt
from voting.results import bundle
from voting.responses import image_response
from voting.security import roles_required

bp = Blueprint("certificates", __name__, url_prefix="/manage")
organizer_only = roles_required(Role.ORGANIZER)


def _form(event, template, frozen):
    """The stored settings, or the defaults an organizer starts from; a POST keeps what was typed."""
    form = CertificateForm(obj=template)
    if template is None and not form.is_submitted():
        defaults = certificates.settings_for(event, frozen)
        form.issuer.data, form.wording.data, form.award_date.data = (
            defaults.issuer, defaults.wording, defaults.award_date)
    return form


@bp.route("/events/<int:event_id>/certificate", methods=["GET", "POST"])
@organizer_only
def edit(event_id):
    event = db.get_or_404(Event, event_id)
    template = certificates.certificate_template(event)
    frozen = bundle.frozen_results(event.id)
    form = _form(event, template, frozen)
    if form.validate_on_submit():
        changed = attempt(lambda: operations.save_certificate_template(
            event, issuer=form.issuer.data, wording=form.wording.data, award_date=form.award_date.data,
            seal=form.clean_seal, remove_seal=form.remove_seal.data, actor=current_user))
        if changed is not REFUSED:
            flash(_("The certificate settings were saved.") if changed else _("Nothing was changed."),
                  "success" if changed else "info")
            return redirect(url_for("certificates.edit", event_id=event.id))
    return render_template(
        "exports/certificate_form.html",
        event=event,
        form=form,
        template=template,
        frozen=frozen,
        award_count=len(event_awards(frozen.categories)) if frozen else 0,
    )


@bp.route("/events/<int:event_id>/certificate/seal")
@organizer_only
def seal(event_id):
    event = db.get_or_404(Event, event_id)
    template = certificates.certificate_template(event)
    if template is None or not template.has_seal:
        abort(404)
    return image_response(template.seal_data, template.seal_mime_type, "private, no-cache")


@bp.route("/events/<int:event_id>/certificate/preview.pdf")
@organizer_only
def preview(event_id):
    """The certificates of the frozen results; before freezing, one page marked as a sample."""
    event = db.get_or_404(Event, event_id)
    frozen = bundle.frozen_results(event.id)
    if frozen is not None:
        data, name = certificates.certificates_pdf(event, frozen), f"certificates-event{event.id}.pdf"
    else:
        data, name = certificates.sample_pdf(event), f"certificate-sample-event{event.id}.pdf"
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
