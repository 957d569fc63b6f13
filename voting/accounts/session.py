from flask_babel import lazy_gettext as _l

from voting.extensions import db


def configure_login(login_manager):
    from voting.accounts.models import User

    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id):
        # The id carries the session token: a password change ends every other session.
        user_pk, _, token = user_id.partition(":")
        if not user_pk.isdigit():
            return None
        user = db.session.get(User, int(user_pk))
        if user is None or user.session_token != token or not user.is_active:
            return None
        return user
