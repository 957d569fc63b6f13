"""Organizer pages for accounts: invitations one by one or from a CSV file."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from voting.accounts import operations
from voting.accounts.forms import EmptyForm
from voting.accounts.models import Role, User
from voting.admin.forms import ImportForm, InviteForm
from voting.extensions import db
from voting.mail import recipient_locale, send_mail
from voting.security import roles_required

bp = Blueprint("admin", __name__, url_prefix="/manage/users")
organizer_only = roles_required(Role.ORGANIZER)
CSV_MAX_BYTES = 1024 * 1024


def send_invitation(user):
    link = url_for("accounts.accept_invitation", token=operations.invitation_token(user), _external=True)
    return send_mail(
        user.email, _l("You are invited to the sharing party's voting site"), "invitation",
        locale=recipient_locale(user), user=user, link=link,
    )


@bp.route("/")
@organizer_only
def list_users():
    query = select(User).order_by(User.role, User.name)
    role = request.args.get("role", "")
    if role in {r.value for r in Role}:
        query = query.where(User.role == Role(role))
    return render_template(
        "admin/users.html", users=db.session.scalars(query).all(), role=role, roles=list(Role), action_form=EmptyForm()
    )


@bp.route("/invite", methods=["GET", "POST"])
@organizer_only
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = operations.invite_user(form.name.data, form.email.data, Role(form.role.data), form.department.data)
        except operations.EmailTaken:
            form.email.errors = list(form.email.errors) + [_("This email address already has an account.")]
        else:
            db.session.commit()
            if send_invitation(user):
                flash(_("An invitation was sent to %(email)s.", email=user.email), "success")
            else:
                flash(_("%(email)s was added, but the mail could not be sent. Use “Send again”.", email=user.email), "warning")
            return redirect(url_for("admin.list_users"))
    return render_template("admin/invite.html", form=form)


def _decode_csv(raw):
    if b"\x00" in raw:
        return None  # a binary file (or UTF-16), not a CSV text
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


@bp.route("/import", methods=["GET", "POST"])
@organizer_only
def import_csv():
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        raw = form.file.data.stream.read(CSV_MAX_BYTES + 1)
        text = _decode_csv(raw) if len(raw) <= CSV_MAX_BYTES else None
        if text is None:
            form.file.errors = list(form.file.errors) + [_("The file must be a text CSV file of at most 1 MB.")]
        else:
            invited, errors = operations.import_invitations(text, Role(form.role.data))
            db.session.commit()
            unsent = [user.email for user in invited if not send_invitation(user)]
            report = {"invited": invited, "errors": errors, "unsent": unsent}
    return render_template("admin/import.html", form=form, report=report)


@bp.route("/<int:user_id>/resend", methods=["POST"])
@organizer_only
def resend_invitation(user_id):
    user = db.get_or_404(User, user_id)
    if user.role not in operations.INVITABLE_ROLES or user.password_hash is not None:
        abort(400)
    operations.renew_invitation(user)
    db.session.commit()
    if send_invitation(user):
        flash(_("The invitation was sent again to %(email)s.", email=user.email), "success")
    else:
        flash(_("The mail could not be sent. Please try again later."), "error")
    return redirect(url_for("admin.list_users"))


@bp.route("/<int:user_id>/enabled", methods=["POST"])
@organizer_only
def toggle_enabled(user_id):
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        flash(_("You cannot disable your own account."), "error")
        return redirect(url_for("admin.list_users"))
    operations.set_enabled(user, not user.is_enabled)
    db.session.commit()
    flash(_("%(name)s can log in again.", name=user.name) if user.is_enabled else _("%(name)s can no longer log in.", name=user.name), "success")
    return redirect(url_for("admin.list_users"))
