import unicodedata
from urllib.parse import urlsplit

from flask import redirect, request, url_for


def _has_control_or_backslash(target):
    return any(ch == "\\" or unicodedata.category(ch) == "Cc" for ch in target)


def is_same_site_path(target):
    """Only same-site paths are followed, so a crafted link cannot send users elsewhere."""
    if not target or _has_control_or_backslash(target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//")


def safe_next(target, fallback="public.home", **values):
    return target if is_same_site_path(target) else url_for(fallback, **values)


def redirect_back(fallback="public.home", **values):
    """Back to the page the form came from (its ``next`` field), else to ``fallback``."""
    return redirect(safe_next(request.form.get("next") or request.args.get("next"), fallback, **values))
