from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, SelectField
from wtforms.validators import Email

from voting.accounts.models import Role
from voting.forms import max_length, options, required, strip_text, text_field

ROLE_CHOICES = options([(Role.OFFICIAL.value, _l("Official")), (Role.JUDGE.value, _l("Judge")),
                        (Role.STAFF.value, _l("Event staff"))])


class InviteForm(FlaskForm):
    name = text_field(_l("Name"), 100)
    email = EmailField(
        _l("Email"),
        validators=[required(), max_length(254), Email(message=_l("Enter a valid email address."))],
        filters=[strip_text, lambda v: v.lower() if isinstance(v, str) else v],
    )
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    department = text_field(_l("Department"), 100, optional=True)


class ImportForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    file = FileField(
        _l("CSV file"),
        validators=[FileRequired(message=_l("Choose a CSV file."))],
        description=_l("One person a line: name, email, department. UTF-8 or Excel's Korean encoding (CP949)."),
    )
