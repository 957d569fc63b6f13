"""Text messages to phones, through one interface chosen by ``SMS_BACKEND``.

- ``console``: the development default. The message is printed on the server's own
  console (standard error), so that a newcomer running ``make run`` sees the code.
- ``webhook``: a JSON POST to ``SMS_WEBHOOK_URL``, signed with HMAC-SHA-256 under
  ``SMS_WEBHOOK_SECRET`` in the ``X-Voting-Signature`` header (``sha256=<hex>`` of the
  exact body), with a timestamp in the body so that a gateway can refuse replays. Any
  SMS gateway can sit behind a small adapter that checks the signature.
- ``solapi``: SOLAPI (CoolSMS, a Korean provider) through its official SDK, the ``solapi``
  package, with ``SOLAPI_API_KEY``, ``SOLAPI_API_SECRET`` and ``SMS_SENDER`` (a sender
  number registered with SOLAPI). ``SOLAPI_BASE_URL`` points the SDK elsewhere (the tests
  point it at a local server); unset, it talks to SOLAPI itself.

A failed send raises SmsNotSent; the caller tells the person and keeps what was saved.
Messages are never written to the application log: they hold codes and links.
"""
import hashlib
import hmac
import json
import re
import sys
import time
import urllib.error
import urllib.request
import uuid

from flask import current_app

SIGNATURE_HEADER = "X-Voting-Signature"
ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,59}")


class SmsNotSent(Exception):
    """The backend did not take the message."""


def signature(secret, body):
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _console(config, phone, text):
    print(f"[SMS to {phone.national}] {text}", file=sys.stderr, flush=True)


def _webhook(config, phone, text):
    url, secret = config.get("SMS_WEBHOOK_URL"), config.get("SMS_WEBHOOK_SECRET")
    if not url or not secret:
        raise SmsNotSent("SMS_WEBHOOK_URL and SMS_WEBHOOK_SECRET must be set for the webhook backend")
    body = json.dumps(
        {"id": uuid.uuid4().hex, "to": phone.e164, "from": config.get("SMS_SENDER", ""), "text": text,
         "sent_at": int(time.time())},
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    ).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: signature(secret, body)},
    )
    try:
        with urllib.request.urlopen(request, timeout=config.get("SMS_TIMEOUT", 10)) as response:
            if not 200 <= response.status < 300:
                raise SmsNotSent(f"the gateway answered {response.status}")
    except urllib.error.HTTPError as exc:
        raise SmsNotSent(f"the gateway answered {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise SmsNotSent(f"the gateway could not be reached: {exc}") from exc


def _solapi(config, phone, text):
    key, secret, sender = config.get("SOLAPI_API_KEY"), config.get("SOLAPI_API_SECRET"), config.get("SMS_SENDER")
    if not key or not secret or not sender:
        raise SmsNotSent("SOLAPI_API_KEY, SOLAPI_API_SECRET and SMS_SENDER must be set for the solapi backend")
    from solapi import SolapiMessageService
    from solapi.model import RequestMessage

    service = SolapiMessageService(api_key=key, api_secret=secret)
    if config.get("SOLAPI_BASE_URL"):
        # The SDK keeps its API address in this attribute and builds every request's URL from it.
        service.base_url = config["SOLAPI_BASE_URL"].rstrip("/")
    try:
        service.send(RequestMessage(from_=sender, to=phone.national, text=text))
    except Exception as exc:  # the SDK raises bare Exception for HTTP errors, its own for refused messages
        # Only the error's kind and SOLAPI's error code ("InvalidApiKey"): its text may repeat the request.
        first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
        reason = first if ERROR_CODE.fullmatch(first) else ""
        detail = " ".join(part for part in (type(exc).__name__, reason) if part)
        raise SmsNotSent(f"SOLAPI did not take the message ({detail})") from exc


BACKENDS = {"console": _console, "webhook": _webhook, "solapi": _solapi}


def send_sms(phone, text, config=None):
    """Sends ``text`` to ``phone`` (a voting.identity.Phone); raises SmsNotSent."""
    config = config if config is not None else current_app.config
    backend = BACKENDS.get(config.get("SMS_BACKEND"))
    if backend is None:
        raise SmsNotSent(f"unknown SMS_BACKEND {config.get('SMS_BACKEND')!r}")
    backend(config, phone, text)
