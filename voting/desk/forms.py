"""Forms of the check-in desk. Every field is a plain text box: no JavaScript, large on a phone."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Regexp

from voting.forms import NoControlCharacters, max_length, required, strip_text, text_field


def _digits_only(value):
    """What was typed, without spaces or dashes ("12 34" reads as 1234)."""
    if not isinstance(value, str):
        return value
    return "".join(ch for ch in value if not ch.isspace() and ch != "-")


class RollSearchForm(FlaskForm):
    """Both the name and the last four digits, so that the desk cannot browse the roll."""

    name = text_field(_l("Name"), 100, render_kw={"autocomplete": "off", "spellcheck": "false"})
    last4 = StringField(
        _l("Last four digits of the mobile phone"),
        validators=[
            required(_l("Enter the last four digits of the person's mobile phone.")),
            Regexp(r"^[0-9]{4}$", message=_l("Enter exactly four digits, e.g. 5678.")),
        ],
        filters=[strip_text, _digits_only],
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": "9"},
    )


class WalkInForm(FlaskForm):
    phone = StringField(
        _l("Mobile phone number"),
        validators=[required(_l("Enter the person's mobile phone number.")), max_length(32), NoControlCharacters()],
        filters=[strip_text],
        description=_l("e.g. 010-1234-5678. We send a 6-digit code to it; the person reads it out to you."),
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )


class CodeCheckForm(FlaskForm):
    code = StringField(
        _l("The 6-digit code the person received"),
        validators=[
            required(_l("Enter the 6-digit code from the text message.")),
            Regexp(r"^[0-9]{6}$", message=_l("The code has exactly 6 digits.")),
        ],
        filters=[strip_text, _digits_only],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "12"},
    )


class BindCardForm(FlaskForm):
    code = StringField(
        _l("Code printed on the card"),
        validators=[required(_l("Type the code printed on the card.")), max_length(40), NoControlCharacters()],
        filters=[strip_text],
        description=_l("The letters and digits on the card, e.g. ABCD-EFGH-JKM."),
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
