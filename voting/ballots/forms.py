from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from voting.accounts.models import VotingGroup
from voting.ballots.operations import MAX_BATCH_SIZE, MAX_COUNTDOWN_MINUTES
from voting.forms import NumberRangeIfRead, options, required, strip_text, text_field
from voting.labels import GROUP_LABELS


class BallotForm(FlaskForm):
    approvals = SelectMultipleField(
        _l("Your choices"),
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[required(_l("Choose at least one finalist."))],
    )

    def __init__(self, *args, finalists, **kwargs):
        super().__init__(*args, **kwargs)
        self.approvals.choices = options((n.id, n.title) for n in finalists)


class CodeForm(FlaskForm):
    code = StringField(
        _l("On-site voting code"),
        validators=[required(_l("Enter the code printed on your card."))],
        filters=[strip_text],
        description=_l("The letters and digits on your card, e.g. ABCD-EFGH-JKM."),
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )


class ReceiptForm(FlaskForm):
    receipt = StringField(
        _l("Receipt code"),
        validators=[required(_l("Enter your receipt code."))],
        filters=[strip_text],
        description=_l("The code you saw after voting, e.g. ABCD-EFGH-JKMN-PQRS."),
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )


def _group_field():
    return SelectField(_l("Voting group"), choices=options((g.value, GROUP_LABELS[g.value]) for g in VotingGroup))


class CodeBatchForm(FlaskForm):
    group = _group_field()
    size = IntegerField(
        _l("Number of codes"),
        validators=[
            InputRequired(message=_l("Enter a whole number.")),
            NumberRangeIfRead(min=1, max=MAX_BATCH_SIZE, message=_l("Enter a number from %(min)d to %(max)d.", min=1, max=MAX_BATCH_SIZE)),
        ],
    )
    label = text_field(_l("Label (e.g. venue table 3)"), 100, optional=True)


class OnsiteOpenForm(FlaskForm):
    minutes = IntegerField(
        _l("Countdown in minutes (optional)"),
        validators=[
            Optional(),
            NumberRangeIfRead(min=1, max=MAX_COUNTDOWN_MINUTES, message=_l("Enter a number from %(min)d to %(max)d.", min=1, max=MAX_COUNTDOWN_MINUTES)),
        ],
    )


class PaperTotalsForm(FlaskForm):
    """Built per category: one count field per finalist, named count-<id>."""

    ballots = IntegerField(
        _l("Paper ballots counted"),
        validators=[
            InputRequired(message=_l("Enter a whole number.")),
            NumberRangeIfRead(min=0, max=1_000_000, message=_l("Enter a number from %(min)d to %(max)d.", min=0, max=1_000_000)),
        ],
    )


def paper_totals_form(finalists, total=None):
    """A PaperTotalsForm with one IntegerField per finalist."""

    class Form(PaperTotalsForm):
        pass

    existing = {a.nomination_id: a.count for a in total.approvals} if total is not None else {}
    for nomination in finalists:
        setattr(
            Form,
            f"count_{nomination.id}",
            IntegerField(
                nomination.title,
                default=existing.get(nomination.id, 0),
                validators=[
                    InputRequired(message=_l("Enter a whole number.")),
                    NumberRangeIfRead(min=0, max=1_000_000, message=_l("Enter a number from %(min)d to %(max)d.", min=0, max=1_000_000)),
                ],
            ),
        )
    form = Form()
    if total is not None and not form.is_submitted():
        form.ballots.data = total.ballots
    return form
