from flask import render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from voting.extensions import db


def _page(status, title, message):
    return render_template("error.html", status=status, title=title, message=message), status


def register(app):
    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        return _page(
            400,
            _("The form has expired"),
            _("The page was open too long or came from elsewhere. Go back, reload the page and send it again."),
        )

    @app.errorhandler(400)
    def bad_request(_error):
        return _page(400, _("Bad request"), _("The request could not be understood. Please go back and try again."))

    @app.errorhandler(403)
    def forbidden(_error):
        return _page(403, _("Not allowed"), _("Your account may not open this page."))

    @app.errorhandler(404)
    def not_found(_error):
        return _page(404, _("Page not found"), _("There is no such page. Check the address."))

    @app.errorhandler(405)
    def method_not_allowed(_error):
        return _page(405, _("Not allowed"), _("This page cannot be used that way."))

    @app.errorhandler(413)
    def too_large(_error):
        return _page(
            413, _("File too large"), _("The upload is too large. A photo may be at most 5 MB. Nothing was saved.")
        )

    @app.errorhandler(429)
    def too_many(_error):
        return _page(
            429,
            _("Too many attempts"),
            _("Too many attempts from this address. Please wait a minute and try again."),
        )

    @app.errorhandler(500)
    def server_error(_error):
        db.session.rollback()
        app.logger.error("500 on %s %s", request.method, request.path)
        return _page(500, _("Something went wrong"), _("The server could not finish the request. Nothing was lost; please try again."))
