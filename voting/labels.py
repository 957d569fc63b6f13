"""Translated names for stored values, for templates and mails."""
from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "resident": _l("Resident"),
    "official": _l("Official"),
    "judge": _l("Judge"),
    "organizer": _l("Organizer"),
}
GROUP_LABELS = {"resident": _l("Residents"), "official": _l("Officials")}
EVENT_STATE_LABELS = {
    "draft": _l("Draft"),
    "open": _l("Open"),
    "closed": _l("Closed"),
    "frozen": _l("Results frozen"),
    "published": _l("Results published"),
}
NOMINATION_STATE_LABELS = {
    "submitted": _l("Submitted, waiting for screening"),
    "changes_requested": _l("Changes requested"),
    "finalist": _l("Finalist"),
    "rejected": _l("Not accepted"),
    "withdrawn": _l("Withdrawn"),
}
KIND_LABELS = {"practice": _l("Practice"), "person": _l("Person")}
NORMALIZATION_LABELS = {"top": _l("top"), "share": _l("share"), "minmax": _l("minmax")}
AGGREGATION_LABELS = {"mean": _l("mean"), "trimmed": _l("trimmed"), "zscore": _l("zscore")}
TIE_BREAK_LABELS = {
    "judges": _l("Higher judge score"),
    "resident": _l("Higher resident vote score"),
    "official": _l("Higher official vote score"),
}


def template_labels():
    return {
        "role_labels": ROLE_LABELS,
        "group_labels": GROUP_LABELS,
        "event_state_labels": EVENT_STATE_LABELS,
        "state_labels": NOMINATION_STATE_LABELS,
        "kind_labels": KIND_LABELS,
        "normalization_labels": NORMALIZATION_LABELS,
        "aggregation_labels": AGGREGATION_LABELS,
        "tie_break_labels": TIE_BREAK_LABELS,
    }
