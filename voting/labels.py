"""Translated names for stored values, for templates and mails."""
from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "resident": _l("Resident"),
    "official": _l("Official"),
    "judge": _l("Judge"),
    "staff": _l("Event staff"),
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

# Who may vote in an event, said the way the event page and the ballot say it.
ELIGIBILITY_LABELS = {
    "open": _l("Any account with a confirmed email address votes once."),
    "phone": _l("In this event one person votes once, after confirming a mobile phone."),
    "roll": _l("In this event only the people on the roll vote, once each."),
}
ELIGIBILITY_NAMES = {"open": _l("Email check"), "phone": _l("Mobile phone check"), "roll": _l("Roll (명부)")}
# "Your ballot was cast %(channel)s at …"
CHANNEL_PHRASES = {"online": _l("online"), "onsite": _l("with an on-site card"), "paper": _l("on paper")}
ELIGIBILITY_ACTIONS = {
    "accounts.account": _l("Go to my account"),
    "electors.phone": _l("Confirm my mobile phone"),
    "electors.claim": _l("Find me on the roll"),
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
        "eligibility_labels": ELIGIBILITY_LABELS,
        "eligibility_names": ELIGIBILITY_NAMES,
    }
