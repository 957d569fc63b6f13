"""Forms of the personal links: sending to the roll, re-sending to one person."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectMultipleField
from wtforms.validators import InputRequired, ValidationError

CHANNEL_CHOICES = [("sms", _l("Text message (SMS) to the phone on the roll")),
                   ("mail", _l("Email, to the people whose address is on the roll"))]
SCOPE_UNSENT, SCOPE_SELECTED = "unsent", "selected"


class SendLinksForm(FlaskForm):
    channel = RadioField(_l("Send by"), choices=CHANNEL_CHOICES, default="sms",
                         validators=[InputRequired(message=_l("Choose how to send the links."))])
    scope = RadioField(
        _l("To whom"),
        choices=[(SCOPE_UNSENT, _l("Everyone on the roll who has not been sent a link yet")),
                 (SCOPE_SELECTED, _l("Only the people ticked in the list below"))],
        default=SCOPE_UNSENT,
        validators=[InputRequired(message=_l("Choose to whom the links go."))],
    )
    # The checkboxes are in the roll's table, tied to this form by their form="…" attribute.
    entry_ids = SelectMultipleField(coerce=int, validate_choice=False)

    def validate_entry_ids(self, field):
        if self.scope.data == SCOPE_SELECTED and not field.data:
            raise ValidationError(_l("Tick at least one person in the list, or choose everyone not sent a link yet."))


class ResendForm(FlaskForm):
    """One person: revokes their link (if any) and sends a new one."""

    channel = RadioField(_l("Send by"), choices=CHANNEL_CHOICES,
                         validators=[InputRequired(message=_l("Choose how to send the links."))])
    next = HiddenField()


class BackForm(FlaskForm):
    """A button that changes something and comes back to the page it was on."""

    next = HiddenField()
