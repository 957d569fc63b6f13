"""A real SMS gateway for tests: an HTTP server on 127.0.0.1 in a thread that takes the POSTs of the
webhook backend (or of the SOLAPI SDK) and keeps them, and steps through the phone pages.

Import the ``sms_gateway`` fixture into a test module to use it; it points the app's webhook
backend at the server, so a test reads the code a person would read on their phone.
"""
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from tests.conftest import free_port

WEBHOOK_SECRET = "test-webhook-secret"
CODE_IN_TEXT = re.compile(r"(?<!\d)(\d{6})(?!\d)")


class Gateway:
    """Answers every POST with ``status`` and ``reply`` (bytes), after keeping the request."""

    def __init__(self):
        self.requests = []
        self.status = 200
        self.reply = b'{"accepted":true}'
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(gateway):  # noqa: N805 (the handler class closes over the gateway)
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with gateway.lock:
                    gateway.requests.append(SimpleNamespace(
                        path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body))
                    status, reply = gateway.status, gateway.reply
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_args):
                pass

        return Handler

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def messages(self):
        """The webhook's JSON bodies, oldest first."""
        with self.lock:
            return [json.loads(r.body) for r in self.requests]

    def code_for(self, e164):
        """The code in the last message to this number (+8210…)."""
        sent = [m for m in self.messages() if m["to"] == e164]
        assert sent, f"no message to {e164}"
        match = CODE_IN_TEXT.search(sent[-1]["text"])
        assert match, "no code in the message"
        return match.group(1)

    def count_to(self, e164):
        return sum(1 for m in self.messages() if m["to"] == e164)


@pytest.fixture
def sms_gateway(app):
    with Gateway() as gateway:
        app.config.update(SMS_BACKEND="webhook", SMS_WEBHOOK_URL=gateway.url + "/sms",
                          SMS_WEBHOOK_SECRET=WEBHOOK_SECRET)
        yield gateway


def unreachable_url():
    """An address on this machine where nobody listens."""
    return f"http://127.0.0.1:{free_port()}/sms"


def e164(national):
    digits = "".join(ch for ch in national if ch.isdigit())
    return "+82" + digits[1:]


def ask_code(web, url, phone, **extra):
    """Step 1 of the phone page (or of the claim page, with its extra fields)."""
    return web.post(url, {"action": "send", "phone": phone, **extra})


def type_code(web, url, code):
    return web.post(url, {"action": "confirm", "code": code})
