"""The SMS interface: console, the signed webhook and SOLAPI's official SDK, each against a real
local HTTP server (tests/sms_helpers.py) where it talks to a network."""
import hashlib
import hmac
import json
import re
import time

import pytest

from voting.electors.models import Elector
from voting.extensions import db, limiter
from voting.identity import parse_phone
from voting.sms import SIGNATURE_HEADER, SmsNotSent, send_sms, signature

from tests.sms_helpers import WEBHOOK_SECRET, Gateway, unreachable_url

PHONE = "010-2468-1357"
TEXT = "[2019 협치 성과 공유 파티] 인증번호는 482913입니다."


@pytest.fixture
def gateway():
    with Gateway() as server:
        yield server


def webhook_config(url, **extra):
    return {"SMS_BACKEND": "webhook", "SMS_WEBHOOK_URL": url, "SMS_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SMS_SENDER": "02-330-1234", "SMS_TIMEOUT": 5, **extra}


def test_the_webhook_posts_signed_json_to_the_gateway(app, gateway):
    with app.app_context():
        phone = parse_phone(PHONE)
    before = int(time.time())
    send_sms(phone, TEXT, webhook_config(gateway.url + "/hook"))
    [request] = gateway.requests
    assert request.path == "/hook"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    # The signature is the HMAC-SHA-256 of the exact body under the shared secret.
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER.lower()] == expected == signature(WEBHOOK_SECRET, request.body)
    assert not hmac.compare_digest(request.headers[SIGNATURE_HEADER.lower()],
                                   signature("another-secret", request.body))
    body = json.loads(request.body.decode("utf-8"))
    assert set(body) == {"id", "to", "from", "text", "sent_at"}
    assert body["to"] == "+821024681357" and body["from"] == "02-330-1234" and body["text"] == TEXT
    assert before <= body["sent_at"] <= int(time.time()) and re.fullmatch(r"[0-9a-f]{32}", body["id"])
    # Korean goes as UTF-8 itself, not as \u escapes.
    assert "인증번호".encode() in request.body


def test_two_messages_have_their_own_ids(app, gateway):
    with app.app_context():
        phone = parse_phone(PHONE)
    for _n in range(2):
        send_sms(phone, TEXT, webhook_config(gateway.url))
    assert len({m["id"] for m in gateway.messages()}) == 2


@pytest.mark.parametrize("status", [500, 503, 400, 401])
def test_a_gateway_error_is_not_sent(app, gateway, status):
    gateway.status = status
    with app.app_context():
        phone = parse_phone(PHONE)
    with pytest.raises(SmsNotSent) as failed:
        send_sms(phone, TEXT, webhook_config(gateway.url))
    assert str(status) in str(failed.value) and "482913" not in str(failed.value)
    assert len(gateway.requests) == 1


def test_a_gateway_nobody_listens_on_is_not_sent(app):
    with app.app_context():
        phone = parse_phone(PHONE)
    with pytest.raises(SmsNotSent) as failed:
        send_sms(phone, TEXT, webhook_config(unreachable_url()))
    assert "could not be reached" in str(failed.value)


@pytest.mark.parametrize("missing", ["SMS_WEBHOOK_URL", "SMS_WEBHOOK_SECRET"])
def test_the_webhook_needs_its_settings(app, gateway, missing):
    with app.app_context():
        phone = parse_phone(PHONE)
    with pytest.raises(SmsNotSent):
        send_sms(phone, TEXT, webhook_config(gateway.url, **{missing: None}))
    assert gateway.requests == []


def test_an_unknown_backend_is_not_sent(app):
    with app.app_context():
        phone = parse_phone(PHONE)
    with pytest.raises(SmsNotSent, match="unknown SMS_BACKEND"):
        send_sms(phone, TEXT, {"SMS_BACKEND": "carrier-pigeon"})


def test_the_console_prints_the_message_on_standard_error(app, capfd):
    with app.app_context():
        phone = parse_phone(PHONE)
        send_sms(phone, TEXT, {"SMS_BACKEND": "console"})
    out, err = capfd.readouterr()
    assert f"[SMS to 010-2468-1357] {TEXT}" in err and "482913" not in out


def test_with_the_console_backend_a_newcomer_finishes_the_phone_step(app, web, login_as, make_event, capfd, english):
    """The development default: the code is printed where `make run` shows it, and it works."""
    limiter.reset()
    app.config["SMS_BACKEND"] = "console"
    event = make_event(phase="voting", eligibility="phone")
    user = login_as("resident")
    capfd.readouterr()
    assert web.post(f"/events/{event.id}/phone", {"action": "send", "phone": PHONE}).status_code == 200
    _out, err = capfd.readouterr()
    match = re.search(r"\[SMS to 010-2468-1357\] .*?(\d{6})", err)
    assert match, err
    answer = web.post(f"/events/{event.id}/phone", {"action": "confirm", "code": match.group(1)})
    assert answer.status_code == 302
    with app.app_context():
        assert db.session.query(Elector).filter_by(event_id=event.id, user_id=user.id).count() == 1


def test_the_code_is_never_written_to_the_application_log(app, web, login_as, make_event, caplog):
    limiter.reset()
    app.config["SMS_BACKEND"] = "webhook"
    app.config["SMS_WEBHOOK_URL"] = unreachable_url()
    app.config["SMS_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    event = make_event(phase="voting", eligibility="phone")
    login_as("resident")
    with caplog.at_level("DEBUG"):
        assert web.post(f"/events/{event.id}/phone", {"action": "send", "phone": PHONE}).status_code == 503
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "not sent" in logged
    assert "2468" not in logged and "1357" not in logged and not re.search(r"(?<!\d)\d{6}(?!\d)", logged)


# ---------------------------------------------------------------------------
# SOLAPI (CoolSMS) through its official SDK, pointed at a local server


SOLAPI_KEY, SOLAPI_SECRET = "NCSTESTKEY0000001", "TESTSECRET0000000000000000000001"
AUTHORIZATION = re.compile(r"HMAC-SHA256 ApiKey=(\S+), Date=(\S+), salt=(\S+), signature=([0-9a-f]{64})")


def solapi_config(url, **extra):
    return {"SMS_BACKEND": "solapi", "SOLAPI_API_KEY": SOLAPI_KEY, "SOLAPI_API_SECRET": SOLAPI_SECRET,
            "SOLAPI_BASE_URL": url, "SMS_SENDER": "02-330-1234", **extra}


def solapi_answer(registered_failed=0):
    """A send-many/detail answer as SOLAPI gives it (the fields the SDK reads)."""
    cash = {"requested": 0, "replacement": 0, "refund": 0, "sum": 0}
    failed = [] if not registered_failed else [{
        "to": "01024681357", "from": "023301234", "type": "SMS", "statusMessage": "발신번호 미등록",
        "country": "82", "messageId": "M4V1", "statusCode": "1062", "accountId": "1",
    }]
    return json.dumps({
        "failedMessageList": failed,
        "groupInfo": {
            "count": {"total": 1, "sentTotal": 0, "sentSuccess": 0, "sentPending": 0, "sentReplacement": 0,
                      "refund": 0, "registeredFailed": registered_failed,
                      "registeredSuccess": 1 - registered_failed},
            "countForCharge": {}, "balance": cash, "point": cash, "app": {"profit": {}, "appId": None},
            "log": [], "status": "SENDING", "allowDuplicates": False, "isRefunded": False, "accountId": "1",
            "masterAccountId": None, "apiVersion": "4", "groupId": "G4V20191213000000TESTGROUP", "price": {},
            "dateCreated": "2019-12-13T01:00:00.000Z", "dateUpdated": "2019-12-13T01:00:00.000Z",
        },
        "messageList": [],
    }).encode()


def test_solapi_sends_through_its_sdk_with_a_signed_request(app, gateway):
    gateway.reply = solapi_answer()
    with app.app_context():
        phone = parse_phone(PHONE)
    send_sms(phone, TEXT, solapi_config(gateway.url + "/"))
    [request] = gateway.requests
    assert request.path == "/messages/v4/send-many/detail"
    # SOLAPI's authentication: HMAC-SHA256 of date + salt under the API secret.
    key, date, salt, mac = AUTHORIZATION.fullmatch(request.headers["authorization"]).groups()
    assert key == SOLAPI_KEY
    assert mac == hmac.new(SOLAPI_SECRET.encode(), (date + salt).encode(), hashlib.sha256).hexdigest()
    [message] = json.loads(request.body)["messages"]
    assert (message["to"], message["from"], message["text"], message["country"]) == (
        "01024681357", "023301234", TEXT, "82")


@pytest.mark.parametrize(("status", "reply"), [
    (500, b"upstream down"),
    (400, b'{"errorCode": "ValidationError", "errorMessage": "bad sender"}'),
    (401, b'{"errorCode": "InvalidApiKey", "errorMessage": "no such key"}'),
    (200, b"not json"),
])
def test_solapi_errors_are_not_sent(app, gateway, status, reply):
    gateway.status, gateway.reply = status, reply
    with app.app_context():
        phone = parse_phone(PHONE)
    with pytest.raises(SmsNotSent) as failed:
        send_sms(phone, TEXT, solapi_config(gateway.url))
    assert "482913" not in str(failed.value) and "SOLAPI did not take the message" in str(failed.value)


def test_a_message_solapi_refuses_is_not_sent(app, gateway):
    gateway.reply = solapi_answer(registered_failed=1)
    with app.app_context():
        phone = parse_phone(PHONE)
    with pytest.raises(SmsNotSent, match="MessageNotReceivedError"):
        send_sms(phone, TEXT, solapi_config(gateway.url))


def test_solapi_unreachable_is_not_sent(app):
    with app.app_context():
        phone = parse_phone(PHONE)
    with pytest.raises(SmsNotSent):
        send_sms(phone, TEXT, solapi_config(unreachable_url().removesuffix("/sms")))


@pytest.mark.parametrize("missing", ["SOLAPI_API_KEY", "SOLAPI_API_SECRET", "SMS_SENDER"])
def test_solapi_needs_its_settings(app, gateway, missing):
    with app.app_context():
        phone = parse_phone(PHONE)
    with pytest.raises(SmsNotSent, match="must be set"):
        send_sms(phone, TEXT, solapi_config(gateway.url, **{missing: ""}))
    assert gateway.requests == []


def test_the_phone_step_works_with_the_solapi_backend(app, web, login_as, make_event, gateway, english):
    limiter.reset()
    gateway.reply = solapi_answer()
    app.config.update(solapi_config(gateway.url))
    event = make_event(phase="voting", eligibility="phone")
    user = login_as("resident")
    assert web.post(f"/events/{event.id}/phone", {"action": "send", "phone": PHONE}).status_code == 200
    [message] = json.loads(gateway.requests[-1].body)["messages"]
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", message["text"]).group(1)
    assert web.post(f"/events/{event.id}/phone", {"action": "confirm", "code": code}).status_code == 302
    with app.app_context():
        assert db.session.query(Elector).filter_by(event_id=event.id, user_id=user.id).count() == 1
