"""Outgoing mail: SMTP when MAIL_SERVER is set, the application log otherwise.

Mail is written in the recipient's language when it is known, not the sender's.
"""
import smtplib
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import current_app, render_template
from flask_babel import force_locale

# One sender thread per process, for mail the request need not wait for.
_background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail")

SMTP_SETTINGS = ("MAIL_SERVER", "MAIL_PORT", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_USE_TLS", "MAIL_USE_SSL", "MAIL_TIMEOUT")


def recipient_locale(user):
    return getattr(user, "locale", None) or current_app.config["BABEL_DEFAULT_LOCALE"]


def send_mail(to, subject, template, *, locale=None, confidential=False, background=False, **context):
    """Sends a plain-text mail rendered from ``templates/mail/<template>.txt``.

    ``subject`` may be a lazy string; it is translated with the body. A confidential
    mail (one holding a receipt) is never written to the log. In the background the
    request does not wait for SMTP, and failures are only logged. Otherwise returns
    False when the SMTP server did not take it; the caller says so and keeps what
    was already saved.
    """
    config = current_app.config
    if not config.get("MAIL_SERVER") and confidential:
        current_app.logger.info("Mail (no MAIL_SERVER set) to %s: content not logged, it is confidential", to)
        return True
    with force_locale(locale or config["BABEL_DEFAULT_LOCALE"]):
        message = EmailMessage()
        message["From"] = formataddr((config.get("MAIL_SENDER_NAME", "협치 성과 공유 파티"), config["MAIL_DEFAULT_SENDER"]))
        message["To"] = to
        message["Subject"] = str(subject)
        message["Message-ID"] = make_msgid(domain="voting.local")
        message.set_content(render_template(f"mail/{template}.txt", **context))
    if not config.get("MAIL_SERVER"):
        current_app.logger.info("Mail (no MAIL_SERVER set) to %s: %s\n%s", to, message["Subject"], message.get_content())
        return True
    settings = {key: config.get(key) for key in SMTP_SETTINGS}
    if background:
        logger = current_app.logger
        _background.submit(_deliver, settings, message, logger)
        return True
    return _deliver(settings, message, current_app.logger)


def _deliver(settings, message, logger):
    try:
        smtp_class = smtplib.SMTP_SSL if settings["MAIL_USE_SSL"] else smtplib.SMTP
        with smtp_class(settings["MAIL_SERVER"], settings["MAIL_PORT"], timeout=settings["MAIL_TIMEOUT"]) as smtp:
            if settings["MAIL_USE_TLS"]:
                smtp.starttls()
            if settings.get("MAIL_USERNAME"):
                smtp.login(settings["MAIL_USERNAME"], settings["MAIL_PASSWORD"])
            smtp.send_message(message)
        return True
    except (OSError, smtplib.SMTPException):
        logger.exception("Mail to %s could not be sent", message["To"])
        return False
