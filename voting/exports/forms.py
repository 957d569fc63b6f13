"""The organizers' form for the certificates: issuer, wording, award date, seal or logo image."""
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField
from wtforms.validators import InputRequired, ValidationError

from voting.exports.certificates import WordingError, check_wording, placeholder_list
from voting.exports.models import ISSUER_MAX, WORDING_MAX
from voting.forms import text_area, text_field
from voting.nominations.photos import PhotoError, clean_photo

DATE_HINT = _l("Enter a date, e.g. 2019-12-13.")


class CertificateForm(FlaskForm):
    issuer = text_field(
        _l("Issuer"), ISSUER_MAX,
        description=_l("The organizer's title and name as printed at the bottom, e.g. Head of ○○-gu, Seoul."),
    )
    wording = text_area(
        _l("Certificate text"), WORDING_MAX,
        description=_l("You can use these placeholders: %(placeholders)s. On each certificate they are replaced "
                       "by the recipient, the category, the award and the event.", placeholders=placeholder_list()),
    )
    award_date = DateField(
        _l("Award date"), format=["%Y-%m-%d", "%Y.%m.%d"], invalid_value_message=DATE_HINT,
        validators=[InputRequired(message=DATE_HINT)],
        description=_l("Printed in words under the text."),
    )
    seal = FileField(
        _l("Seal or logo image"),
        description=_l("PNG (a transparent background looks best) or JPEG, at most 5 MB. "
                       "It is printed over the end of the issuer's line."),
    )
    remove_seal = BooleanField(_l("Remove the current image"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.clean_seal = None  # the checked, re-encoded upload, once validate_seal has run

    def validate_wording(self, field):
        try:
            check_wording(field.data or "")
        except WordingError as exc:
            raise ValidationError(exc.message) from exc

    def validate_seal(self, field):
        """Checks and re-encodes the upload now, so that a bad file saves nothing at all."""
        upload = field.data
        if not upload or not getattr(upload, "filename", ""):
            return
        try:
            self.clean_seal = clean_photo(upload.stream, current_app.config["PHOTO_MAX_BYTES"], keep_transparency=True)
        except PhotoError as exc:
            raise ValidationError(exc.message) from exc
