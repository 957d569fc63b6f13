from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, FieldList, FormField, HiddenField, IntegerField, RadioField, SelectField
from wtforms.validators import InputRequired, Optional, StopValidation, ValidationError

from voting.electors.models import EligibilityMode
from voting.events.models import CategoryKind, EventState, JudgeAggregation, TIE_BREAK_KEYS, VoteNormalization
from voting.forms import NumberRangeIfRead, TranslatedForm, options, required, text_area, text_field
from voting.labels import ELIGIBILITY_NAMES, TIE_BREAK_LABELS

# The first is what a date picker sends and what the form shows; the second is what people type in a plain text box.
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
BLANK_ROWS = 3
DATETIME_HINT = _l("Enter a date and time, e.g. 2019-12-13 14:00.")


def _datetime(label):
    return DateTimeLocalField(
        label,
        format=DATETIME_FORMATS,
        invalid_value_message=DATETIME_HINT,
        validators=[InputRequired(message=DATETIME_HINT)],
        description=_l("Seoul time (KST)"),
    )


def _number(label, low, high, *, optional=False, **kwargs):
    return IntegerField(
        label,
        validators=[
            Optional() if optional else InputRequired(message=_l("Enter a whole number.")),
            NumberRangeIfRead(min=low, max=high, message=_l("Enter a number from %(min)d to %(max)d.", min=low, max=high)),
        ],
        **kwargs,
    )


class KeepWhenNotSent:
    """A field the request does not carry at all keeps the value it was given (the stored one, or
    its default); one that is sent but empty goes on to the next validator. A disabled input is
    not sent, and older forms without the field keep working."""

    def __call__(self, form, field):
        if not field.raw_data:
            field.errors = []
            raise StopValidation()


def _value(choice):
    """An enum's stored value, a posted string as it is."""
    return getattr(choice, "value", choice)


# One plain line under each mode of the event form, for the organizers.
ELIGIBILITY_HINTS = {
    EligibilityMode.OPEN.value: _l("Every account with a confirmed email address votes. Simple, but one person can make several accounts."),
    EligibilityMode.PHONE.value: _l("Residents confirm a mobile phone with a code sent by SMS. One phone votes once, however many accounts."),
    EligibilityMode.ROLL.value: _l("Only the people on the roll (명부) you import vote, once each. They find their entry or get a personal link."),
}
RETENTION_DEFAULT = 6

WINDOWS = (
    ("nominate_opens_at", "nominate_closes_at", _l("The nominating window must close after it opens.")),
    ("vote_opens_at", "vote_closes_at", _l("The voting window must close after it opens.")),
    ("judge_opens_at", "judge_closes_at", _l("The judging window must close after it opens.")),
)


class EventForm(FlaskForm):
    name = text_field(_l("Event name"), 200)
    year = _number(_l("Year"), 2000, 2100)
    description = text_area(_l("Description"), 5000, optional=True)
    nominate_opens_at = _datetime(_l("Nominating opens"))
    nominate_closes_at = _datetime(_l("Nominating closes"))
    vote_opens_at = _datetime(_l("Voting opens"))
    vote_closes_at = _datetime(_l("Voting closes"))
    judge_opens_at = _datetime(_l("Judging opens"))
    judge_closes_at = _datetime(_l("Judging closes"))
    eligibility = RadioField(
        _l("Who may vote"),
        choices=options([(mode.value, ELIGIBILITY_NAMES[mode.value]) for mode in EligibilityMode]),
        coerce=_value,
        default=EligibilityMode.OPEN.value,
        validators=[KeepWhenNotSent(), required(_l("Choose who may vote."))],
    )
    retention_months = IntegerField(
        _l("Keep personal data for (months)"),
        default=RETENTION_DEFAULT,
        validators=[
            KeepWhenNotSent(),
            InputRequired(message=_l("Enter a whole number.")),
            NumberRangeIfRead(min=1, max=60, message=_l("Enter a number from %(min)d to %(max)d.", min=1, max=60)),
        ],
        description=_l("How many months after the results are published the voters' personal data is kept; then it is destroyed. From 1 to 60."),
    )

    ELIGIBILITY_HINTS = ELIGIBILITY_HINTS
    # Why the mode can no longer change (voting.events.operations.eligibility_lock), or None:
    # the template then shows the mode disabled, with this reason.
    eligibility_locked = None

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for opens, closes, message in WINDOWS:
            start, end = getattr(self, opens).data, getattr(self, closes).data
            if start and end and start >= end:
                getattr(self, closes).errors.append(message)
                valid = False
        return valid


class EventStateForm(FlaskForm):
    state = SelectField(
        _l("State"),
        choices=options([
            (EventState.DRAFT.value, _l("Draft (organizers only)")),
            (EventState.OPEN.value, _l("Open")),
            (EventState.CLOSED.value, _l("Closed")),
        ]),
    )


class TierRow(TranslatedForm):
    id = HiddenField()  # the stored row's id, so that an edit updates that very row
    name = text_field(_l("Award name"), 50, optional=True)
    count = _number(_l("How many"), 1, 100, optional=True)

    def is_blank(self):
        return not self.name.data and self.count.data is None


class CriterionRow(TranslatedForm):
    id = HiddenField()  # the stored row's id: score sheets refer to it
    name = text_field(_l("Criterion"), 50, optional=True)
    weight = _number(_l("Weight"), 1, 100, optional=True)
    max_score = _number(_l("Maximum score"), 1, 1000, optional=True)

    def is_blank(self):
        return not self.name.data and self.weight.data is None and self.max_score.data is None


def _tie_break_field(label, first=False):
    choices = [] if first else [("", _l("(none)"))]
    choices += [(key, TIE_BREAK_LABELS[key]) for key in TIE_BREAK_KEYS]
    return SelectField(label, choices=options(choices), validators=[] if not first else [required()])


class CategoryForm(FlaskForm):
    name = text_field(_l("Category name"), 100)
    description = text_area(_l("Description"), 2000, optional=True)
    kind = RadioField(
        _l("What is nominated"),
        choices=options([(CategoryKind.PRACTICE.value, _l("A practice (project)")), (CategoryKind.PERSON.value, _l("A person"))]),
        validators=[required(_l("Choose what is nominated."))],
    )
    max_approvals = _number(_l("Choices per ballot"), 1, 20, description=_l("How many finalists one ballot may approve."))
    weight_resident = _number(_l("Residents' votes (%)"), 0, 100)
    weight_official = _number(_l("Officials' votes (%)"), 0, 100)
    weight_judges = _number(_l("Judges' scores (%)"), 0, 100)
    vote_normalization = SelectField(
        _l("Vote normalization"),
        choices=options([
            (VoteNormalization.TOP.value, _l("Against the most-voted finalist (top)")),
            (VoteNormalization.SHARE.value, _l("Share of ballots (share)")),
            (VoteNormalization.MINMAX.value, _l("Between fewest and most votes (minmax)")),
        ]),
    )
    judge_aggregation = SelectField(
        _l("Judge aggregation"),
        choices=options([
            (JudgeAggregation.MEAN.value, _l("Mean (mean)")),
            (JudgeAggregation.TRIMMED.value, _l("Mean without highest and lowest from 5 sheets (trimmed)")),
            (JudgeAggregation.ZSCORE.value, _l("Standardized per judge (zscore)")),
        ]),
    )
    tie_break_1 = _tie_break_field(_l("Tie-break, first"), first=True)
    tie_break_2 = _tie_break_field(_l("Tie-break, second"))
    tie_break_3 = _tie_break_field(_l("Tie-break, third"))
    allow_self_approval = BooleanField(_l("Voters may approve nominations they submitted"))
    tiers = FieldList(FormField(TierRow), min_entries=1, max_entries=20)
    criteria = FieldList(FormField(CriterionRow), min_entries=1, max_entries=20)

    def validate_weight_judges(self, field):
        weights = (self.weight_resident.data, self.weight_official.data, field.data)
        if all(isinstance(w, int) for w in weights) and sum(weights) != 100:
            raise ValidationError(_l("The three weights must add up to 100 (now %(total)d).", total=sum(weights)))

    def tie_break_chain(self):
        return [f.data for f in (self.tie_break_1, self.tie_break_2, self.tie_break_3) if f.data]

    def filled_rows(self, rows):
        return [row.form for row in rows if not row.form.is_blank()]

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        chain = self.tie_break_chain()
        if len(chain) != len(set(chain)):
            self.tie_break_3.errors.append(_l("Each tie-break may be used once."))
            valid = False
        if not self.tie_break_2.data and self.tie_break_3.data:
            self.tie_break_3.errors.append(_l("Fill the second tie-break before the third."))
            valid = False
        valid &= self._check_rows(self.tiers, ("name", "count"), _l("Add at least one award tier."))
        needs_criteria = (self.weight_judges.data or 0) > 0
        valid &= self._check_rows(
            self.criteria,
            ("name", "weight", "max_score"),
            _l("Judges have a weight: add at least one criterion.") if needs_criteria else None,
        )
        return valid

    def _check_rows(self, rows, names, missing_message):
        valid = True
        filled = self.filled_rows(rows)
        for row in filled:
            for name in names:
                field = getattr(row, name)
                if field.data in (None, "") and not field.errors:  # an unreadable number already says so
                    field.errors = list(field.errors) + [_l("Fill this in, or clear the whole row.")]
                    valid = False
        if missing_message and not filled:
            rows.errors = list(rows.errors or []) + [missing_message]
            valid = False
        names_seen = [row.name.data for row in filled]
        if len(names_seen) != len(set(names_seen)):
            rows.errors = list(rows.errors or []) + [_l("Two rows have the same name.")]
            valid = False
        return valid


class NameForm(FlaskForm):
    name = text_field(_l("Name"), 100)
