from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectMultipleField
from wtforms.validators import Optional

from voting.forms import NumberRangeIfRead, options, text_area
from voting.judging.operations import MAX_COMMENT, MAX_REASON

SUBMIT, DRAFT = "submit", "draft"


class SheetForm(FlaskForm):
    """Built per category by sheet_form: one score field per criterion, named score_<criterion id>."""

    comment = text_area(_l("Comment"), MAX_COMMENT, optional=True,
                        description=_l("Optional, for your own notes and the organizers. At most %(max)d characters.", max=MAX_COMMENT))

    criteria = ()

    def score_fields(self):
        return [(criterion, self[f"score_{criterion.id}"]) for criterion in self.criteria]

    def scores(self):
        """{criterion id: value} of the filled fields."""
        return {criterion.id: field.data for criterion, field in self.score_fields() if field.data is not None}

    def validate_for(self, action):
        """Validates; a submitted sheet needs every score, a draft may leave some empty."""
        valid = self.validate()
        if action == SUBMIT:
            for _criterion, field in self.score_fields():
                if field.data is None and not field.errors:
                    field.errors = list(field.errors) + [_l("Enter a score to submit the sheet.")]
                    valid = False
        return valid


def sheet_form(criteria, sheet=None, *, from_request=True):
    """A SheetForm with one whole-number field per criterion (0..max).

    It reads the posted values when there are any (and from_request), else shows the sheet's.
    """

    class Form(SheetForm):
        pass

    Form.criteria = tuple(criteria)
    for criterion in criteria:
        setattr(
            Form,
            f"score_{criterion.id}",
            IntegerField(
                criterion.name,
                validators=[
                    Optional(),
                    NumberRangeIfRead(
                        min=0, max=criterion.max_score,
                        message=_l("Enter a number from %(min)d to %(max)d.", min=0, max=criterion.max_score),
                    ),
                ],
                description=_l("From 0 to %(max)d points; weight ×%(weight)d.", max=criterion.max_score, weight=criterion.weight),
                render_kw={"min": 0, "max": criterion.max_score, "step": 1, "inputmode": "numeric"},
            ),
        )
    form = Form() if from_request else Form(formdata=None)
    if sheet is not None and not (from_request and form.is_submitted()):
        form.comment.data = sheet.comment
        values = {score.criterion_id: score.value for score in sheet.scores}
        for criterion, field in form.score_fields():
            field.data = values.get(criterion.id)
    return form


class RecusalForm(FlaskForm):
    reason = text_area(
        _l("Reason for the recusal"), MAX_REASON,
        description=_l("Your conflict of interest, e.g. you advised this project. At most %(max)d characters.", max=MAX_REASON),
    )


class ReopenForm(FlaskForm):
    reason = text_area(
        _l("Reason for reopening"), MAX_REASON,
        description=_l("Kept in the audit log. At most %(max)d characters.", max=MAX_REASON),
    )


class AssignmentForm(FlaskForm):
    """The judge × finalist grid: one checkbox per pair, valued "<judge id>:<finalist id>"."""

    pairs = SelectMultipleField(_l("Assignments"), coerce=str, validate_choice=True)

    def __init__(self, *args, judges, finalists, **kwargs):
        super().__init__(*args, **kwargs)
        self.pairs.choices = options((f"{j.id}:{n.id}", f"{j.name} – {n.title}") for j in judges for n in finalists)

    def chosen_pairs(self):
        return {tuple(int(part) for part in value.split(":")) for value in self.pairs.data or []}
