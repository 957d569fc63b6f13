from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from voting.accounts import operations
from voting.accounts.forms import EmptyForm, ForgotPasswordForm, LanguageForm, LoginForm, NewPasswordForm, SignupForm
from voting.accounts.models import Role
from voting.electors.phone import account_summary
from voting.extensions import db, limiter
from voting.mail import recipient_locale, send_mail
from voting.navigation import redirect_back, safe_next
from voting.security import TokenError, roles_required

bp = Blueprint("accounts", __name__)


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _email_limit():
    return current_app.config["EMAIL_RATE_LIMIT"]


def _only_posts():
    return request.method != "POST"


def send_verification(user):
    link = url_for("accounts.verify_email", token=operations.verification_token(user), _external=True)
    return send_mail(
        user.email, _l("Confirm your email address"), "verify_email", locale=recipient_locale(user), user=user, link=link
    )


def _start_session(user, remember=False):
    # A fresh session on login, so that a session id planted before login is worthless.
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user, remember=remember)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(_email_limit, exempt_when=_only_posts)
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("public.home"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = operations.register_resident(form.name.data, form.email.data, form.password.data, str(get_locale()))
        except operations.EmailTaken:
            form.email.errors.append(_("An account with this email address exists. Log in or reset the password."))
        else:
            db.session.commit()
            _start_session(user)
            if send_verification(user):
                flash(_("Welcome! We sent a confirmation link to %(email)s. Open it to nominate and vote.", email=user.email), "success")
            else:
                flash(_("Your account was created, but the confirmation mail could not be sent. Try “Send the link again” later."), "warning")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/signup.html", form=form)


@bp.route("/verify/<token>")
def verify_email(token):
    try:
        user = operations.verify_email(token)
    except TokenError as exc:
        message = _("This confirmation link has expired.") if exc.expired else _("This confirmation link is not valid.")
        return render_template("accounts/link_problem.html", message=message, resend=True), 400
    db.session.commit()
    flash(_("Your email address %(email)s is confirmed.", email=user.email), "success")
    return redirect(url_for("accounts.account") if current_user.is_authenticated else url_for("accounts.login"))


@bp.route("/verify/resend", methods=["POST"])
@roles_required(Role.RESIDENT)
@limiter.limit(_email_limit)
def resend_verification():
    form = EmptyForm()
    if not form.validate_on_submit():
        flash(_("The form has expired. Please try again."), "error")
    elif current_user.email_verified:
        flash(_("Your email address is already confirmed."), "info")
    elif send_verification(current_user):
        flash(_("We sent a new confirmation link to %(email)s.", email=current_user.email), "success")
    else:
        flash(_("The mail could not be sent. Please try again later."), "error")
    return redirect(url_for("accounts.account"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, exempt_when=_only_posts)
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = operations.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("The email address or password is wrong."))
        else:
            _start_session(user, remember=form.remember.data)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(safe_next(form.next.data, "desk.index" if user.role == Role.STAFF else "public.home"))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        logout_user()
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
        flash(_("You are logged out."), "info")
    return redirect(url_for("public.home"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_email_limit, exempt_when=_only_posts)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = operations.find_user_by_email(form.email.data)
        if user is not None and user.is_active:
            link = url_for("accounts.reset_password", token=operations.password_reset_token(user), _external=True)
            send_mail(
                user.email, _l("Reset your password"), "reset_password", locale=recipient_locale(user), user=user, link=link
            )
        # The same answer whether or not the address has an account.
        flash(_("If %(email)s has an account, a link to set a new password is on its way.", email=form.email.data), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, exempt_when=_only_posts)
def reset_password(token):
    try:
        user = operations.user_for_password_reset(token)
    except TokenError as exc:
        message = _("This link has expired.") if exc.expired else _("This link is not valid or was already used.")
        return render_template("accounts/link_problem.html", message=message), 400
    form = NewPasswordForm()
    if form.validate_on_submit():
        operations.reset_password(user, form.password.data)
        db.session.commit()
        flash(_("Your password is changed. Please log in."), "success")
        logout_user()
        return redirect(url_for("accounts.login"))
    return render_template("accounts/new_password.html", form=form, title=_("Set a new password"), user=user)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, exempt_when=_only_posts)
def accept_invitation(token):
    try:
        user = operations.user_for_invitation(token)
    except TokenError as exc:
        message = (
            _("This invitation has expired. Ask the organizers for a new one.")
            if exc.expired
            else _("This invitation is not valid or was already used.")
        )
        return render_template("accounts/link_problem.html", message=message), 400
    form = NewPasswordForm()
    if form.validate_on_submit():
        operations.accept_invitation(user, form.password.data)
        db.session.commit()
        _start_session(user)
        flash(_("Welcome, %(name)s. Your account is ready.", name=user.name), "success")
        return redirect(url_for("accounts.account"))
    return render_template("accounts/new_password.html", form=form, title=_("Accept the invitation"), user=user)


@bp.route("/account")
@login_required
def account():
    return render_template("accounts/account.html", resend_form=EmptyForm(), electors=account_summary(current_user))


@bp.route("/language", methods=["POST"])
def set_language():
    form = LanguageForm()
    if form.validate_on_submit():
        session["lang"] = form.lang.data
        if current_user.is_authenticated and current_user.locale != form.lang.data:
            current_user.locale = form.lang.data
            db.session.commit()
    return redirect_back()
