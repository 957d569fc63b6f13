"""Nominating, editing, withdrawing and screening, and the public gallery of finalists."""
import html
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import Browserless
from voting.database import utcnow
from voting.events.models import Department, Event, EventState
from voting.extensions import db
from voting.nominations.models import CONSENT_VERSION, Nomination, NominationState

KEY_PATTERN = re.compile(r'name="submission_key"[^>]*value="([^"]*)"')


@pytest.fixture
def department_id(event, db_read):
    return db_read(lambda s: s.scalar(select(Department.id).where(Department.name == "환경과")))


def nominations(db_read, *where):
    return db_read(lambda s: s.scalars(select(Nomination).where(*where).order_by(Nomination.id)).all())


def nomination_count(db_read):
    return db_read(lambda s: s.scalar(select(func.count(Nomination.id))))


def get_nomination(db_read, nomination_id):
    return db_read(lambda s: s.get(Nomination, nomination_id))


def text(response):
    return html.unescape(response.get_data(as_text=True))


def error_of(page, field_id):
    """The text of the error paragraph tied to a field, or None."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)) if match else None


def practice_data(event, **overrides):
    data = {
        "category_id": str(event.categories[0].id),
        "title": "마을 공유부엌 운영",
        "summary": "주민과 구청이 함께 공유부엌을 열었습니다.",
        "description": "2019년 3월부터 주민자치회와 환경과가 함께 운영했습니다.\n월 2회 반찬 나눔.",
        "field_id": str(event.fields[1].id),
        "department_id": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def person_data(event, **overrides):
    data = practice_data(
        event,
        category_id=str(event.categories[1].id),
        title="협치의 달인",
        nominee_name="홍길동",
        nominee_affiliation="○○동 주민자치회",
        consent="y",
        consent_method="2019-11-20 서명 동의서",
    )
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def form_page(client, event):
    page = client.get(f"/events/{event.id}/nominate")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    return {"csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body).group(1),
            "submission_key": KEY_PATTERN.search(body).group(1)}


def nominate(client, event, data, **kwargs):
    """Opens the form like a browser and posts it with the page's token and submission key."""
    hidden = form_page(client, event)
    return client.post(f"/events/{event.id}/nominate", data={**hidden, **data}, **kwargs)


def login_client(app, email):
    other = app.test_client()
    assert Browserless(other).login(email).status_code == 302
    return other


# ---------------------------------------------------------------- nominating


def test_resident_and_official_nominate_a_practice(client, web, login_as, event, department_id, db_read):
    resident = login_as("resident")
    response = nominate(client, event, practice_data(event, department_id=str(department_id)))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/my/nominations")
    [stored] = nominations(db_read)
    assert stored.nominator_id == resident.id and stored.event_id == event.id
    assert stored.category_id == event.categories[0].id and stored.field_id == event.fields[1].id
    assert stored.department_id == department_id
    assert stored.state == NominationState.SUBMITTED
    assert stored.title == "마을 공유부엌 운영"
    assert stored.description.splitlines()[1] == "월 2회 반찬 나눔."
    assert stored.nominee_name is None and stored.consent_given_at is None
    assert stored.submission_key
    mine = text(client.get("/my/nominations"))
    assert "마을 공유부엌 운영" in mine and "state-submitted" in mine

    web.logout()
    official = login_as("official", verified=False)  # officials come by invitation; no separate check
    response = nominate(client, event, practice_data(event, title="공무원 추천 사례"))
    assert response.status_code == 302 and response.headers["Location"].endswith("/my/nominations")
    assert [n.nominator_id for n in nominations(db_read)] == [resident.id, official.id]


def photo_label(page):
    """The photo field's label with the optional marker after it, as one line of text."""
    match = re.search(r'<label for="photo">.*?</label>(?:\s*<span class="optional">.*?</span>)?', page, re.S)
    assert match, "no photo label"
    return re.sub(r"<[^>]+>", "", re.sub(r"\s+", " ", match.group(0)))


def test_photo_label_says_optional_once(client, web, login_as, event):
    login_as("resident")
    page = text(client.get(f"/events/{event.id}/nominate"))
    assert photo_label(page) == "사진 (선택)"
    assert "(선택) (선택)" not in page

    web.post("/language", {"lang": "en", "next": "/"}, form_url="/")
    page = text(client.get(f"/events/{event.id}/nominate"))
    assert photo_label(page) == "Photo (optional)"
    assert "(optional) (optional)" not in page


def test_who_may_not_nominate(client, web, login_as, event, db_read):
    assert client.get(f"/events/{event.id}/nominate").status_code == 302  # anonymous: log in first
    login_as("resident", verified=False)
    response = client.get(f"/events/{event.id}/nominate")
    assert response.status_code == 403
    token = web.token("/")
    refused = client.post(f"/events/{event.id}/nominate", data={**practice_data(event), "csrf_token": token})
    assert refused.status_code == 403
    for role in ("judge", "organizer"):
        web.logout()
        login_as(role)
        assert client.get(f"/events/{event.id}/nominate").status_code == 403
    assert nomination_count(db_read) == 0


def test_person_nomination_needs_nominee_and_consent(client, web, english, login_as, event, db_read):
    login_as("resident")
    response = nominate(client, event, person_data(event, nominee_name="", nominee_affiliation=" ", consent=None))
    assert response.status_code == 200
    page = text(response)
    assert "A person nomination needs this" in error_of(page, "nominee_name")
    assert "A person nomination needs this" in error_of(page, "nominee_affiliation")
    assert "only be nominated with their consent" in error_of(page, "consent")
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="consent"', page)
    assert nomination_count(db_read) == 0

    before = utcnow()
    response = nominate(client, event, person_data(event))
    assert response.status_code == 302
    [stored] = nominations(db_read)
    assert stored.nominee_name == "홍길동" and stored.nominee_affiliation == "○○동 주민자치회"
    assert stored.consent_version == CONSENT_VERSION
    assert before - timedelta(seconds=5) <= stored.consent_given_at <= utcnow()
    assert stored.consent_method == "2019-11-20 서명 동의서"


def test_practice_nomination_drops_person_fields(client, login_as, event, db_read):
    login_as("resident")
    assert nominate(client, event, practice_data(event, nominee_name="홍길동", consent="y")).status_code == 302
    [stored] = nominations(db_read)
    assert stored.nominee_name is None and stored.consent_given_at is None and stored.consent_version is None


def test_foreign_or_malformed_ids_are_not_valid_choices(client, english, login_as, make_event, event, db_read):
    other = make_event(state="open", phase="nominating")
    login_as("resident")
    cases = [
        ({"category_id": str(other.categories[0].id)}, "category_id", "Not a valid choice"),
        ({"field_id": str(other.fields[0].id)}, "field_id", "Not a valid choice"),
        ({"department_id": "999999"}, "department_id", "Not a valid choice"),
        ({"category_id": "abc"}, "category_id", None),
        ({"field_id": "1 OR 1=1"}, "field_id", None),
        ({"department_id": "x"}, "department_id", None),
        ({"category_id": ""}, "category_id", "Choose one"),
    ]
    for overrides, field_id, message in cases:
        response = nominate(client, event, practice_data(event, **overrides))
        assert response.status_code == 200, overrides
        error = error_of(text(response), field_id)
        assert error, overrides
        if message:
            assert message in error
    assert nomination_count(db_read) == 0


def test_overlong_texts_are_refused(client, english, login_as, event, db_read):
    login_as("resident")
    for field_id, limit in (("title", 120), ("summary", 300), ("description", 5000)):
        response = nominate(client, event, practice_data(event, **{field_id: "가" * (limit + 1)}))
        assert response.status_code == 200
        assert f"at most {limit} characters" in error_of(text(response), field_id)
    assert nomination_count(db_read) == 0

    at_limit = practice_data(event, title="가" * 120, summary="나" * 300, description="다" * 5000)
    assert nominate(client, event, at_limit).status_code == 302
    [stored] = nominations(db_read)
    assert len(stored.title) == 120 and len(stored.summary) == 300 and len(stored.description) == 5000


def test_html_is_shown_escaped(client, web, login_as, event, db_read, app):
    login_as("resident")
    data = practice_data(
        event,
        title='<script>alert("t")</script>',
        summary="<b>굵게</b>",
        description='<img src=x onerror=alert(1)>\n<a href="javascript:alert(2)">링크</a>',
    )
    assert nominate(client, event, data).status_code == 302
    [stored] = nominations(db_read)
    assert stored.title == '<script>alert("t")</script>'  # kept as typed, escaped on output

    def assert_escaped(response):
        assert response.status_code == 200
        raw = response.get_data(as_text=True)
        assert "<script>alert" not in raw and "<img src=x" not in raw and "<b>굵게" not in raw
        assert "&lt;script&gt;alert(" in raw
        return raw

    raw = assert_escaped(client.get(f"/nominations/{stored.id}"))
    assert "&lt;img src=x onerror=alert(1)&gt;" in raw and '<a href="javascript' not in raw
    assert_escaped(client.get("/my/nominations"))

    with app.app_context():
        db.session.get(Nomination, stored.id).state = NominationState.FINALIST
        db.session.commit()
    web.logout()
    assert_escaped(client.get(f"/nominations/{stored.id}"))
    assert_escaped(client.get(f"/events/{event.id}/finalists"))


@pytest.mark.parametrize("phase", ["before", "after"])
def test_nominating_outside_the_window_is_refused(client, web, english, login_as, make_event, db_read, phase):
    event = make_event(state="open", phase=phase)
    login_as("resident")
    page = client.get(f"/events/{event.id}/nominate")
    assert page.status_code == 403
    assert "takes nominations from" in text(page)
    token = web.token("/")
    response = client.post(f"/events/{event.id}/nominate",
                           data={**practice_data(event), "csrf_token": token, "submission_key": "k" * 20})
    assert response.status_code == 403 and "Nominations are not open" in text(response)
    assert nomination_count(db_read) == 0


def test_nominating_in_a_closed_or_draft_event_is_refused(client, web, login_as, make_event, db_read):
    closed = make_event(state="closed", phase="nominating")
    draft = make_event(state="draft", phase="nominating")
    login_as("resident")
    token = web.token("/")
    assert client.post(f"/events/{closed.id}/nominate", data={**practice_data(closed), "csrf_token": token}).status_code == 403
    assert client.post(f"/events/{draft.id}/nominate", data={**practice_data(draft), "csrf_token": token}).status_code == 404
    assert nomination_count(db_read) == 0


@pytest.mark.parametrize("state", ["closed", "frozen", "published"])
def test_an_event_no_longer_open_says_so_without_the_window(client, english, login_as, make_event, state):
    event = make_event(state=state, phase="nominating")  # today is inside the window
    login_as("resident")
    page = client.get(f"/events/{event.id}/nominate")
    assert page.status_code == 403
    body = text(page)
    assert f"{event.name} does not take nominations any more." in body
    assert "takes nominations from" not in body


def test_a_closed_event_says_so_in_korean(client, login_as, make_event):
    event = make_event(state="closed", phase="nominating")
    login_as("resident")
    body = text(client.get(f"/events/{event.id}/nominate"))
    assert f"{event.name} 추천은 더 이상 받지 않습니다." in body
    assert "추천 접수 기간은" not in body


def test_double_submit_makes_one_nomination(client, english, login_as, event, db_read):
    login_as("resident")
    hidden = form_page(client, event)
    data = {**practice_data(event), **hidden}
    first = client.post(f"/events/{event.id}/nominate", data=data)
    assert first.status_code == 302
    assert "Thank you. Your nomination" in text(client.get("/my/nominations"))
    second = client.post(f"/events/{event.id}/nominate", data=data, follow_redirects=True)
    assert second.status_code == 200 and second.request.path == "/my/nominations"
    assert "already submitted; it was not made twice" in text(second)
    assert "Thank you" not in text(second), "a double submit is not thanked as a new nomination"
    [stored] = nominations(db_read)
    assert stored.submission_key == hidden["submission_key"]

    # A fresh form gets a fresh key and makes a second nomination.
    assert nominate(client, event, practice_data(event, title="두 번째")).status_code == 302
    assert nomination_count(db_read) == 2


def test_concurrent_double_submit_makes_one_nomination(app, client, login_as, event, db_read):
    resident = login_as("resident")
    clients = [client, login_client(app, resident.email)]
    key = form_page(clients[0], event)["submission_key"]
    posts = []
    for each in clients:
        posts.append({**practice_data(event), "submission_key": key, "csrf_token": form_page(each, event)["csrf_token"]})

    for _round in range(3):
        barrier = threading.Barrier(2)
        results = [None, None]

        def post(index):
            barrier.wait()
            try:
                results[index] = clients[index].post(f"/events/{event.id}/nominate", data=posts[index]).status_code
            except Exception as exc:  # noqa: BLE001 - reported below
                results[index] = exc

        threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert results == [302, 302]
        [stored] = nominations(db_read)
        assert stored.submission_key == key and stored.nominator_id == resident.id
        # Next round: a new key, both posts racing to create it.
        key = f"race-{_round}-{key}"[:64]
        for data in posts:
            data["submission_key"] = key
        with app.app_context():
            db.session.execute(db.delete(Nomination))
            db.session.commit()


def test_a_key_used_by_another_user_never_gives_a_500(app, client, web, login_as, make_user, make_nomination, event, db_read):
    other = make_user("resident")
    with app.app_context():
        nomination = db.session.get(Nomination, make_nomination(event.id, other.id))
        nomination.submission_key = "shared-key-0123456789"
        db.session.commit()
    me = login_as("resident")
    token = web.token("/")
    data = {**practice_data(event, title="내 추천"), "csrf_token": token, "submission_key": "shared-key-0123456789"}
    response = client.post(f"/events/{event.id}/nominate", data=data)
    assert response.status_code == 302
    mine = nominations(db_read, Nomination.nominator_id == me.id)
    assert [n.title for n in mine] == ["내 추천"]
    theirs = nominations(db_read, Nomination.nominator_id == other.id)
    assert theirs[0].submission_key == "shared-key-0123456789"


# ---------------------------------------------------------------- editing and withdrawing


def edit_post(web, nomination_id, data, **kwargs):
    return web.post(f"/nominations/{nomination_id}/edit", data, form_url="/my/nominations", **kwargs)


def test_nominator_edits_while_submitted(client, web, login_as, event, db_read):
    login_as("resident")
    nominate(client, event, practice_data(event))
    [stored] = nominations(db_read)
    page = client.get(f"/nominations/{stored.id}/edit")
    assert page.status_code == 200 and 'value="마을 공유부엌 운영"' in page.get_data(as_text=True)
    response = edit_post(web, stored.id, practice_data(event, title="고친 제목", field_id=str(event.fields[2].id)))
    assert response.status_code == 302 and response.headers["Location"].endswith("/my/nominations")
    edited = get_nomination(db_read, stored.id)
    assert edited.title == "고친 제목" and edited.field_id == event.fields[2].id
    assert edited.state == NominationState.SUBMITTED and nomination_count(db_read) == 1


def test_edit_is_refused_after_the_window_or_screening(app, client, web, english, login_as, event, make_nomination, db_read):
    resident = login_as("resident")
    finalist_id = make_nomination(event.id, resident.id, state="finalist", title="본선 후보")
    rejected_id = make_nomination(event.id, resident.id, state="rejected", title="탈락 후보")
    for nomination_id, title in ((finalist_id, "본선 후보"), (rejected_id, "탈락 후보")):
        page = client.get(f"/nominations/{nomination_id}/edit", follow_redirects=True)
        assert "can no longer be changed" in text(page)
        response = edit_post(web, nomination_id, practice_data(event, title="몰래 고침"), follow_redirects=True)
        assert "can no longer be changed" in text(response)
        assert get_nomination(db_read, nomination_id).title == title
    mine = text(client.get("/my/nominations"))
    assert f"/nominations/{finalist_id}/edit" not in mine

    # A submitted nomination after the nominating window has closed
    submitted_id = make_nomination(event.id, resident.id, title="마감 후")
    with app.app_context():
        record = db.session.get(Event, event.id)
        record.nominate_opens_at, record.nominate_closes_at = utcnow() - timedelta(days=3), utcnow() - timedelta(days=1)
        db.session.commit()
    response = edit_post(web, submitted_id, practice_data(event, title="몰래 고침"), follow_redirects=True)
    assert "can no longer be changed" in text(response)
    assert get_nomination(db_read, submitted_id).title == "마감 후"


def test_edit_after_changes_requested_returns_to_submitted(app, client, web, login_as, event, make_nomination, db_read):
    resident = login_as("resident")
    nomination_id = make_nomination(event.id, resident.id, state="changes_requested", title="보완 필요")
    with app.app_context():
        record = db.session.get(Nomination, nomination_id)
        record.screening_note = "성과 수치를 보완해 주세요."
        # The nominating window has closed, but voting has not started: still editable.
        record.event.nominate_closes_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    page = client.get(f"/nominations/{nomination_id}/edit")
    assert page.status_code == 200 and "성과 수치를 보완해 주세요." in text(page)
    response = edit_post(web, nomination_id, practice_data(event, title="보완 완료"))
    assert response.status_code == 302
    edited = get_nomination(db_read, nomination_id)
    assert edited.title == "보완 완료" and edited.state == NominationState.SUBMITTED


def test_another_user_cannot_edit_or_withdraw(client, web, login_as, make_user, make_nomination, event, db_read):
    owner = make_user("resident")
    nomination_id = make_nomination(event.id, owner.id, title="남의 후보")
    login_as("resident")
    assert client.get(f"/nominations/{nomination_id}/edit").status_code == 403
    assert edit_post(web, nomination_id, practice_data(event, title="가로챔")).status_code == 403
    assert web.post(f"/nominations/{nomination_id}/withdraw", form_url="/").status_code == 403
    # Not a finalist: not visible to others either.
    assert client.get(f"/nominations/{nomination_id}").status_code == 404
    stored = get_nomination(db_read, nomination_id)
    assert stored.title == "남의 후보" and stored.state == NominationState.SUBMITTED


def test_withdraw_then_screening_is_refused(client, web, english, login_as, make_nomination, event, db_read, mailbox):
    resident = login_as("resident")
    nomination_id = make_nomination(event.id, resident.id)
    assert client.get(f"/nominations/{nomination_id}/withdraw").status_code == 405
    response = web.post(f"/nominations/{nomination_id}/withdraw", form_url="/my/nominations")
    assert response.status_code == 302
    assert get_nomination(db_read, nomination_id).state == NominationState.WITHDRAWN
    assert "state-withdrawn" in client.get("/my/nominations").get_data(as_text=True)

    web.logout()
    login_as("organizer")
    page = client.get(f"/manage/nominations/{nomination_id}/screen")
    assert page.status_code == 200 and 'name="decision"' not in page.get_data(as_text=True)
    response = web.post(f"/manage/nominations/{nomination_id}/screen", {"decision": "finalist", "note": ""},
                        form_url="/")
    assert "withdrawn nomination cannot be screened" in text(response)
    assert get_nomination(db_read, nomination_id).state == NominationState.WITHDRAWN
    assert mailbox.to(resident.email) == []


# ---------------------------------------------------------------- screening


@pytest.mark.parametrize(
    "decision, note, subject, label",
    [
        ("finalist", "", "is a finalist", "Finalist"),
        ("rejected", "같은 사례가 이미 추천되었습니다.", "was not accepted", "Not accepted"),
        ("changes_requested", "사진과 성과 수치를 보완해 주세요.", "Changes are requested", "Changes requested"),
    ],
)
def test_screening_decides_and_mails_the_nominator(
    app, client, web, english, login_as, make_user, make_nomination, event, db_read, mailbox, decision, note, subject, label
):
    nominator = make_user("resident")
    nomination_id = make_nomination(event.id, nominator.id, title="공유부엌 사례")
    organizer = login_as("organizer")
    url = f"/manage/nominations/{nomination_id}/screen"
    listing = text(client.get(f"/manage/events/{event.id}/nominations"))
    assert "공유부엌 사례" in listing and url in listing

    if note:
        refused = web.post(url, {"decision": decision, "note": "  "})
        assert refused.status_code == 200
        assert "Tell the nominator why" in error_of(text(refused), "note")
        assert get_nomination(db_read, nomination_id).state == NominationState.SUBMITTED
        assert mailbox.to(nominator.email) == []

    response = web.post(url, {"decision": decision, "note": note})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/manage/events/{event.id}/nominations")
    stored = get_nomination(db_read, nomination_id)
    assert stored.state == NominationState(decision)
    assert stored.screening_note == (note or None)
    assert stored.screened_by_id == organizer.id and stored.screened_at is not None

    # The organizer works in English; the mail is in the nominator's language (Korean by default).
    from flask_babel import force_locale

    from voting.labels import NOMINATION_STATE_LABELS
    from voting.nominations.routes import SCREENING_MAIL_SUBJECTS

    with app.test_request_context(), force_locale("ko"):
        korean_subject = str(SCREENING_MAIL_SUBJECTS[NominationState(decision)])
        korean_label = str(NOMINATION_STATE_LABELS[decision])
    [mail] = mailbox.to(nominator.email)
    assert mail["Subject"] == korean_subject and subject not in mail["Subject"]
    body = mail.get_content()
    assert "공유부엌 사례" in body and korean_label in body
    if note:
        assert note in body
    assert "/my/nominations" in body

    web.logout()
    web.login(nominator.email)
    mine = text(client.get("/my/nominations"))
    assert f"state-{decision}" in mine and label in mine
    if note:
        assert note in mine


def test_screening_needs_an_organizer(client, web, login_as, make_user, make_nomination, event, db_read):
    nomination_id = make_nomination(event.id, make_user("resident").id)
    login_as("official")
    assert client.get(f"/manage/nominations/{nomination_id}/screen").status_code == 403
    assert web.post(f"/manage/nominations/{nomination_id}/screen", {"decision": "finalist"}, form_url="/").status_code == 403
    assert get_nomination(db_read, nomination_id).state == NominationState.SUBMITTED


def test_screening_refuses_an_unknown_decision(client, web, login_as, make_user, make_nomination, event, db_read):
    nomination_id = make_nomination(event.id, make_user("resident").id)
    login_as("organizer")
    response = web.post(f"/manage/nominations/{nomination_id}/screen", {"decision": "withdrawn", "note": "x"})
    assert response.status_code == 200 and error_of(text(response), "decision")
    assert get_nomination(db_read, nomination_id).state == NominationState.SUBMITTED


# ---------------------------------------------------------------- gallery


def test_gallery_shows_only_the_finalists_of_the_event(client, web, make_event, make_user, make_nomination, db_read):
    event = make_event(state="open", phase="voting")
    other = make_event(state="open", phase="voting")
    nominator = make_user("resident").id
    practice_a = make_nomination(event.id, nominator, state="finalist", title="본선 실천 A", field_index=0)
    make_nomination(event.id, nominator, state="finalist", title="본선 실천 B", field_index=1)
    person = make_nomination(event.id, nominator, state="finalist", title="본선 인물", category_index=1, field_index=0)
    hidden = [
        make_nomination(event.id, nominator, state=state, title=f"숨김 {state}")
        for state in ("submitted", "rejected", "changes_requested", "withdrawn")
    ]
    make_nomination(other.id, nominator, state="finalist", title="다른 행사 본선")

    def titles(query=""):
        response = client.get(f"/events/{event.id}/finalists{query}")
        assert response.status_code == 200
        return set(re.findall(r'<a href="/nominations/\d+">([^<]+)</a>', text(response)))

    assert titles() == {"본선 실천 A", "본선 실천 B", "본선 인물"}
    page = text(client.get(f"/events/{event.id}/finalists"))
    assert "숨김" not in page and "다른 행사 본선" not in page
    assert "홍길동" in page  # a person finalist shows the nominee
    assert titles(f"?category={event.categories[0].id}") == {"본선 실천 A", "본선 실천 B"}
    assert titles(f"?category={event.categories[1].id}") == {"본선 인물"}
    assert titles(f"?field={event.fields[0].id}") == {"본선 실천 A", "본선 인물"}
    assert titles(f"?category={event.categories[0].id}&field={event.fields[1].id}") == {"본선 실천 B"}
    assert titles(f"?category={other.categories[0].id}") == set()
    assert titles("?category=abc") == {"본선 실천 A", "본선 실천 B", "본선 인물"}

    detail = client.get(f"/nominations/{practice_a}")
    assert detail.status_code == 200 and "본선 실천 A" in text(detail)
    assert client.get(f"/nominations/{person}").status_code == 200
    for nomination_id in hidden:
        assert client.get(f"/nominations/{nomination_id}").status_code == 404


def test_draft_gallery_is_hidden_from_the_public(client, web, login_as, make_event, make_user, make_nomination, app):
    event = make_event(state="open", phase="voting")
    finalist = make_nomination(event.id, make_user("resident").id, state="finalist", title="초안 본선")
    with app.app_context():
        db.session.get(Event, event.id).state = EventState.DRAFT
        db.session.commit()
    assert client.get(f"/events/{event.id}/finalists").status_code == 404
    assert client.get(f"/nominations/{finalist}").status_code == 404
    login_as("resident")
    assert client.get(f"/events/{event.id}/finalists").status_code == 404
    web.logout()
    login_as("organizer")
    response = client.get(f"/events/{event.id}/finalists")
    assert response.status_code == 200 and "초안 본선" in text(response)
