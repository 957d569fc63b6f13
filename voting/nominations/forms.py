from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, RadioField, SelectField
from wtforms.validators import Optional, ValidationError

from voting.forms import options, required, text_area, text_field
from voting.nominations.models import NominationState

CONSENT_TEXT = _l(
    "The nominee agreed that their name, affiliation and the text above are collected and used to run "
    "this nomination, the vote and the award, and shown publicly if they become a finalist. "
    "The data is kept until the end of the event's year."
)


def _id_choice(label, *, optional=False):
    return SelectField(
        label,
        coerce=lambda value: int(value) if value not in (None, "") else None,
        validators=[Optional()] if optional else [required(_l("Choose one."))],
        validate_choice=True,
    )


class NominationForm(FlaskForm):
    category_id = _id_choice(_l("Category"))
    title = text_field(_l("Title"), 120, description=_l("For a person: a short title for the nomination."))
    summary = text_area(_l("Summary"), 300, description=_l("One or two sentences, at most 300 characters."))
    description = text_area(_l("Description"), 5000, description=_l("What was done, with whom, and what came of it."))
    field_id = _id_choice(_l("Field"))
    department_id = _id_choice(_l("Department that ran it"), optional=True)
    nominee_name = text_field(_l("Nominee's name"), 100, optional=True)
    nominee_affiliation = text_field(_l("Nominee's affiliation"), 150, optional=True)
    consent = BooleanField(_l("The nominee consented to the collection and use of personal data"))
    consent_method = text_field(
        _l("How the consent was given"), 200, optional=True, description=_l("e.g. signed form on 2019-11-20, or by phone")
    )
    photo = FileField(_l("Photo"), description=_l("JPEG or PNG, at most 5 MB."))
    remove_photo = BooleanField(_l("Remove the current photo"))
    submission_key = HiddenField()

    def __init__(self, *args, categories, fields, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.categories_by_id = {c.id: c for c in categories}
        self.category_id.choices = options((c.id, c.name) for c in categories)
        self.field_id.choices = options((f.id, f.name) for f in fields)
        self.department_id.choices = options([("", _l("(not given)"))] + [(d.id, d.name) for d in departments])

    def selected_category(self):
        return self.categories_by_id.get(self.category_id.data)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        category = self.selected_category()
        if category is not None and category.is_person:
            for field in (self.nominee_name, self.nominee_affiliation):
                if not field.data:
                    field.errors = list(field.errors) + [_l("A person nomination needs this.")]
                    valid = False
            if not self.consent.data:
                self.consent.errors = list(self.consent.errors) + [
                    _l("A person can only be nominated with their consent.")
                ]
                valid = False
        return valid


SCREENING_CHOICES = [
    (NominationState.FINALIST.value, _l("Accept as a finalist")),
    (NominationState.CHANGES_REQUESTED.value, _l("Ask for changes")),
    (NominationState.REJECTED.value, _l("Reject")),
]


class ScreeningForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=options(SCREENING_CHOICES), validators=[required(_l("Choose a decision."))])
    note = text_area(
        _l("Reason or comment for the nominator"),
        2000,
        optional=True,
        description=_l("Required when rejecting or asking for changes."),
    )

    def validate_note(self, field):
        if self.decision.data in (NominationState.REJECTED.value, NominationState.CHANGES_REQUESTED.value) and not field.data:
            raise ValidationError(_l("Tell the nominator why."))
