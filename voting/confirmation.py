"""A confirmation step for actions that cannot be undone (freeze, publish, settle a tie).

The POST itself asks: without ``confirmed=yes`` it answers with a page that states what will
happen and repeats the submitted fields, with a confirm button and a way back.  So the step
holds without JavaScript, and no form anywhere can skip it by accident.
"""
from flask import render_template, request

from voting.navigation import is_same_site_path

CONFIRMED = "yes"


def confirmation_page(title, consequences, cancel_url, confirm_label):
    """None when this POST is confirmed; else the page that asks (status 200).

    Call it after the CSRF token was validated, so the page is only shown to a real form."""
    if request.form.get("confirmed") == CONFIRMED:
        return None
    fields = [
        (name, value)
        for name, values in request.form.lists()
        if name not in ("csrf_token", "confirmed")
        for value in values
    ]
    next_page = request.form.get("next") or request.args.get("next")
    return render_template(
        "confirm_action.html",
        title=title,
        consequences=consequences,
        fields=fields,
        action=request.full_path if request.query_string else request.path,
        cancel_url=next_page if is_same_site_path(next_page) else cancel_url,
        confirm_label=confirm_label,
    )
