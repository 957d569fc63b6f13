from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField
from wtforms.validators import Email, EqualTo, Length

from voting.forms import max_length, options, required, strip_text, text_field

PASSWORD_MIN = 10
PASSWORD_MAX = 128


def _email_field(label=_l("Email")):
    return EmailField(
        label,
        validators=[required(), max_length(254), Email(message=_l("Enter a valid email address."))],
        filters=[strip_text, lambda v: v.lower() if isinstance(v, str) else v],
        render_kw={"autocomplete": "email"},
    )


def _new_password_fields():
    password = PasswordField(
        _l("Password"),
        validators=[
            required(),
            Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                message=_l("Use between %(min)d and %(max)d characters.", min=PASSWORD_MIN, max=PASSWORD_MAX),
            ),
        ],
        description=_l("At least %(min)d characters.", min=PASSWORD_MIN),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Password again"),
        validators=[required(), EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


class SignupForm(FlaskForm):
    name = text_field(_l("Name"), 100, render_kw={"autocomplete": "name"})
    email = _email_field()
    password, password_confirm = _new_password_fields()


class LoginForm(FlaskForm):
    email = _email_field()
    password = PasswordField(
        _l("Password"),
        validators=[required(), max_length(PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Keep me logged in on this device"))
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    email = _email_field()


class NewPasswordForm(FlaskForm):
    password, password_confirm = _new_password_fields()


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""


class LanguageForm(FlaskForm):
    lang = SelectField(_l("Language"), choices=options([("ko", "한국어"), ("en", "English")]))
    next = HiddenField()
