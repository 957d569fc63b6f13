"""Validators and fields shared by the forms of several areas."""
from flask_babel import lazy_gettext as _l
from flask_wtf.i18n import translations as flask_wtf_translations
from wtforms import Form, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, ValidationError


def strip_text(value):
    """Strips surrounding white space before the validators run."""
    return value.strip() if isinstance(value, str) else value


def required(message=None):
    return DataRequired(message=message or _l("This field is required."))


def max_length(limit):
    return Length(max=limit, message=_l("Use at most %(max)d characters.", max=limit))


def text_field(label, limit, *, optional=False, **kwargs):
    validators = [] if optional else [required()]
    validators += [max_length(limit), NoControlCharacters()]
    return StringField(label, validators=validators, filters=[strip_text], **kwargs)


def text_area(label, limit, *, optional=False, **kwargs):
    validators = [] if optional else [required()]
    validators += [max_length(limit), NoControlCharacters()]
    return TextAreaField(label, validators=validators, filters=[strip_text], **kwargs)


class NumberRangeIfRead(NumberRange):
    """NumberRange that stays quiet when the input could not be read as a number: the field already says so."""

    def __call__(self, form, field):
        if field.data is None and field.process_errors:
            return
        super().__call__(form, field)


class NoControlCharacters:
    def __call__(self, form, field):
        if field.data and any(ord(ch) < 32 and ch not in "\r\n\t" for ch in field.data):
            raise ValidationError(_l("Remove invisible control characters."))


def aria_attributes(field):
    """Ties a field's help text and errors to it for screen readers."""
    described = []
    if field.description:
        described.append(f"{field.id}-help")
    if field.errors:
        described.append(f"{field.id}-error")
    attributes = {}
    if described:
        attributes["aria-describedby"] = " ".join(described)
    if field.errors:
        attributes["aria-invalid"] = "true"
    return attributes


def options(pairs):
    """(value, label) pairs as the choices WTForms wants."""
    return [SelectChoice(value, label) for value, label in pairs]


class TranslatedForm(Form):
    """A subform (not a FlaskForm) whose built-in WTForms messages follow the page's language."""

    class Meta:
        def get_translations(self, form):
            return flask_wtf_translations
