"""Outgoing mail: SMTP when MAIL_SERVER is set, the application log otherwise."""
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import current_app, render_template


def send_mail(to, subject, template, **context):
    """Sends a plain-text mail rendered from ``templates/mail/<template>.txt``.

    Returns False when the SMTP server could not take it; the caller tells the
    user so and keeps what was already saved.
    """
    config = current_app.config
    message = EmailMessage()
    message["From"] = formataddr(("협치 성과 공유 파티", config["MAIL_DEFAULT_SENDER"]))
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="voting.local")
    message.set_content(render_template(f"mail/{template}.txt", **context))

    if not config.get("MAIL_SERVER"):
        current_app.logger.info("Mail (no MAIL_SERVER set) to %s: %s\n%s", to, subject, message.get_content())
        return True
    try:
        smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
        with smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(message)
        return True
    except (OSError, smtplib.SMTPException):
        current_app.logger.exception("Mail to %s could not be sent", to)
        return False
