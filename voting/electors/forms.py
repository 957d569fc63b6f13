"""Forms of the resident's elector steps: a mobile number, an SMS code, a roll claim."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TelField
from wtforms.validators import InputRequired, ValidationError

from voting.database import utcnow
from voting.electors.phone import EARLIEST_BIRTH_DATE, NotAPhone, phone_problem_message, read_phone
from voting.forms import required, strip_text, text_field
from voting.i18n import to_seoul
from voting.identity import SMS_CODE_DIGITS

CODE_SEPARATORS = " -"


class PhoneForm(FlaskForm):
    """Step 1: the mobile number that gets the code. ``number`` is the parsed Phone once valid."""

    phone = TelField(
        _l("Mobile phone number"),
        validators=[required(_l("Enter your mobile phone number."))],
        filters=[strip_text],
        description=_l("The number of the phone you have with you, e.g. 010-1234-5678. We send it a 6-digit code."),
        render_kw={"autocomplete": "tel", "inputmode": "tel", "maxlength": 32},
    )
    number = None

    def validate_phone(self, field):
        try:
            self.number = read_phone(field.data)
        except NotAPhone as exc:
            raise ValidationError(phone_problem_message(exc)) from None


class CodeForm(FlaskForm):
    """Step 2: the 6-digit code of the text message."""

    code = StringField(
        _l("The 6-digit code"),
        validators=[required(_l("Enter the 6-digit code from the text message."))],
        filters=[strip_text],
        description=_l("The code is valid for 5 minutes."),
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 12,
                   "spellcheck": "false"},
    )

    def validate_code(self, field):
        digits = "".join(ch for ch in field.data or "" if ch not in CODE_SEPARATORS)
        if len(digits) != SMS_CODE_DIGITS or not digits.isdecimal() or not digits.isascii():
            raise ValidationError(_l("The code has exactly 6 digits. Type only the digits from the message."))
        field.data = digits


class BirthDateField(DateField):
    """A date input (YYYY-MM-DD) whose reading error is said plainly."""

    def process_formdata(self, valuelist):
        if valuelist and not " ".join(valuelist).strip():
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter a real date as YYYY-MM-DD, e.g. 1950-03-01.")) from None


class ClaimForm(PhoneForm):
    """The roll claim: name and birth date as the organizers have them, and the roll's phone."""

    name = text_field(_l("Your name"), 100, description=_l("As the organizers wrote it on the roll."),
                      render_kw={"autocomplete": "name"})
    birth_date = BirthDateField(
        _l("Date of birth"),
        format="%Y-%m-%d",
        # InputRequired, not DataRequired: that one would hide the message of a date it could not read.
        validators=[InputRequired(message=_l("Enter your date of birth."))],
        description=_l("As YYYY-MM-DD, e.g. 1950-03-01."),
        render_kw={"autocomplete": "bday", "type": "date", "min": EARLIEST_BIRTH_DATE.isoformat()},
    )

    def validate_birth_date(self, field):
        today = to_seoul(utcnow()).date()
        if field.data is not None and not EARLIEST_BIRTH_DATE <= field.data <= today:
            raise ValidationError(_l("Enter a date of birth between %(first)s and today.",
                                     first=EARLIEST_BIRTH_DATE.isoformat()))

