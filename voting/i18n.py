"""Locale and time-zone selection, and the display filters for dates and numbers."""
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from flask import current_app, has_request_context, session
from flask_babel import get_locale

from voting.extensions import babel
from voting.forms import aria_attributes

SEOUL = ZoneInfo("Asia/Seoul")

DATETIME_PATTERNS = {
    "ko": "yyyy년 M월 d일 (E) aaaa h:mm",  # aaaa: 오전/오후 (CLDR gives AM/PM for "a")
    "en": "MMM d, yyyy (EEE) h:mm a",
}
DATE_PATTERNS = {"ko": "yyyy년 M월 d일", "en": "MMM d, yyyy"}
TIME_PATTERNS = {"ko": "aaaa h:mm", "en": "h:mm a"}


def select_locale():
    if not has_request_context():  # the command line speaks the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _format(value, patterns):
    if value is None:
        return ""
    locale = str(get_locale() or "ko")
    return babel_format_datetime(value, patterns.get(locale, patterns["ko"]), tzinfo=SEOUL, locale=locale)


def format_seoul_datetime(value):
    return _format(value, DATETIME_PATTERNS)


def format_seoul_date(value):
    return _format(value, DATE_PATTERNS)


def format_seoul_time(value):
    return _format(value, TIME_PATTERNS)


def to_seoul(value: datetime):
    return value.astimezone(SEOUL)


def from_seoul_naive(value: datetime):
    """A form's naive date and time, read as Seoul wall-clock time."""
    return value.replace(tzinfo=SEOUL)


def configure_i18n(app):
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Asia/Seoul")
    app.jinja_env.filters["seoul_datetime"] = format_seoul_datetime
    app.jinja_env.filters["seoul_date"] = format_seoul_date
    app.jinja_env.filters["seoul_time"] = format_seoul_time

    from voting.labels import CHANNEL_PHRASES, ELIGIBILITY_ACTIONS

    app.jinja_env.filters["channel_phrase"] = lambda channel: CHANNEL_PHRASES[getattr(channel, "value", channel)]
    app.jinja_env.filters["eligibility_action_label"] = lambda endpoint: ELIGIBILITY_ACTIONS.get(endpoint, endpoint)
    app.jinja_env.globals["aria_attributes"] = aria_attributes

    @app.context_processor
    def inject_locale():
        from voting.labels import template_labels

        return {"current_locale": str(get_locale() or "ko"), **template_labels()}
