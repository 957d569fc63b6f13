import unicodedata
from urllib.parse import urlsplit

from flask import redirect, request, url_for


def _has_control_or_backslash(target):
    return any(ch == "\\" or unicodedata.category(ch) == "Cc" for ch in target)


def safe_next(target, fallback="public.home"):
    """Only same-site paths are followed, so a crafted link cannot send users elsewhere."""
    if target and not _has_control_or_backslash(target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for(fallback)


def redirect_back(fallback="public.home"):
    return redirect(safe_next(request.form.get("next") or request.args.get("next"), fallback))
