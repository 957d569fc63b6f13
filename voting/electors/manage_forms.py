"""Forms of the organizers' roll pages."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import Length

from voting.forms import strip_text


class RollUploadForm(FlaskForm):
    file = FileField(
        _l("Roll file (CSV)"),
        validators=[FileRequired(message=_l("Choose a CSV file."))],
        description=_l("One person a line, under a header line. UTF-8 or Excel's Korean encoding (CP949), "
                       "at most 2 MB. People already on the roll are updated by their mobile number."),
    )


class RollSearchForm(FlaskForm):
    """The search over the roll: a GET form, so no CSRF token (it changes nothing)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Name or last four digits"),
        validators=[Length(max=100)],
        filters=[strip_text],
        description=_l("For example 김순자, 5678 or 김순자 5678."),
    )
