from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.validators import Regexp

from voting.forms import options, required


class TieForm(FlaskForm):
    """Settles one tie: the tied finalists' ids (comma-separated) and how."""

    finalists = HiddenField(validators=[required(), Regexp(r"^\d+(,\d+)+$")])
    method = SelectField(_l("How"), choices=options([("draw", _l("Recorded draw")), ("joint", _l("Joint award"))]))

    def finalist_ids(self):
        return [int(part) for part in self.finalists.data.split(",")]
