"""Organizers invite officials and judges, one at a time or from a CSV file, and manage their accounts."""
import html
import io
import re
import zipfile
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from tests import factories
from voting.accounts.models import Role, User
from voting.extensions import db

PASSWORD = "invited-person-password"
CSV_HEADER = "이름,이메일,부서\n"


# ---------------------------------------------------------------- helpers


def page_of(response):
    return html.unescape(response.get_data(as_text=True))


def path_of(link):
    parts = urlsplit(link)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def english(web):
    assert web.post("/language", {"lang": "en", "next": "/"}, form_url="/").status_code == 302


def user_by_email(app, email):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return factories.Snapshot.of(user) if user else None


def users_of_role(app, role):
    with app.app_context():
        return [factories.Snapshot.of(u) for u in db.session.scalars(select(User).where(User.role == Role(role)).order_by(User.id))]


def user_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def is_logged_in(client):
    return client.get("/account").status_code == 200


def field_tag(page, field_id):
    match = re.search(r'<(?:input|select|textarea)\b[^>]*\bid="%s"[^>]*>' % re.escape(field_id), page)
    assert match, f"no field {field_id}"
    return match.group(0)


def field_error(page, field_id):
    match = re.search(r'<p class="error" id="%s-error">(.*?)</p>' % re.escape(field_id), page, re.S)
    return match.group(1) if match else None


@pytest.fixture
def new_web(app, web):
    return lambda: type(web)(app.test_client())


@pytest.fixture
def organizer(login_as, web):
    user = login_as("organizer")
    english(web)
    return user


def invite(web, name="박주무관", email="park@district.example", role="official", department="협치지원팀"):
    return web.post(
        "/manage/users/invite",
        {"name": name, "email": email, "role": role, "department": department},
        form_url="/manage/users/invite",
    )


def upload(web, content, filename="people.csv", role="official"):
    token = web.token("/manage/users/import")
    return web.client.post(
        "/manage/users/import",
        data={"csrf_token": token, "role": role, "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def report_lines(page):
    """The 'Line n: message' entries of the import report."""
    return re.findall(r"<li>Line (\d+): (.*?)</li>", page, re.S)


# ---------------------------------------------------------------- one invitation


def test_invited_official_sets_a_password_and_can_nominate(app, web, organizer, mailbox, new_web, make_event):
    response = invite(web, email="Park@District.example")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/manage/users/"

    invited = user_by_email(app, "park@district.example")
    assert invited is not None
    assert invited.role == Role.OFFICIAL
    assert invited.department == "협치지원팀"
    assert invited.password_hash is None
    assert invited.invited_at is not None

    mails = mailbox.to("park@district.example")
    assert len(mails) == 1
    body = mails[0].get_content()
    assert "박주무관" in body
    link = path_of(mailbox.last_link("park@district.example"))
    assert link.startswith("/invitation/")

    listing = page_of(web.client.get("/manage/users/"))
    assert "park@district.example" in listing
    assert "not yet accepted" in listing

    # The invited person cannot log in before setting a password.
    official = new_web()
    assert official.login("park@district.example", "").status_code == 200

    form_page = official.client.get(link)
    assert form_page.status_code == 200
    assert "park@district.example" in page_of(form_page)
    response = official.post(link, {"password": PASSWORD, "password_confirm": PASSWORD})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account"

    english(official)
    account = page_of(official.client.get("/account"))
    compact = re.sub(r"\s+", " ", account)
    assert "<dt>Role</dt><dd>Official</dd>" in compact
    assert "<dt>Voting group</dt><dd>Officials</dd>" in compact
    assert "<dt>Department</dt><dd>협치지원팀</dd>" in compact

    accepted = user_by_email(app, "park@district.example")
    assert check_password_hash(accepted.password_hash, PASSWORD)
    assert accepted.email_verified_at is not None, "the invitation link proves the address"
    with app.app_context():
        record = db.session.get(User, accepted.id)
        assert record.can_nominate()
        assert record.voting_group.value == "official"

    event = make_event()
    nominate = official.client.get(f"/events/{event.id}/nominate")
    assert nominate.status_code == 200
    assert 'name="title"' in nominate.get_data(as_text=True)

    # And the password works on the login form in another browser.
    assert new_web().login("park@district.example", PASSWORD).status_code == 302


def test_invited_judge_gets_the_judge_role_and_no_voting_group(app, web, organizer, mailbox, new_web):
    assert invite(web, name="심사위원", email="judge@univ.example", role="judge", department="").status_code == 302
    judge = user_by_email(app, "judge@univ.example")
    assert judge.role == Role.JUDGE
    assert judge.department is None
    person = new_web()
    link = path_of(mailbox.last_link("judge@univ.example"))
    assert person.post(link, {"password": PASSWORD, "password_confirm": PASSWORD}).status_code == 302
    with app.app_context():
        record = db.session.get(User, judge.id)
        assert record.voting_group is None
        assert not record.can_nominate()


def test_organizers_cannot_be_invited_through_the_form(app, web, organizer, mailbox):
    for role in ("organizer", "resident"):
        response = invite(web, email=f"{role}@district.example", role=role)
        assert response.status_code == 200
        assert field_error(page_of(response), "role")
        assert user_by_email(app, f"{role}@district.example") is None
    assert mailbox.messages == []


def test_invitation_link_works_only_once(app, web, organizer, mailbox, new_web):
    invite(web)
    link = path_of(mailbox.last_link("park@district.example"))
    person = new_web()
    assert person.post(link, {"password": PASSWORD, "password_confirm": PASSWORD}).status_code == 302
    hash_after = user_by_email(app, "park@district.example").password_hash

    stranger = new_web()
    english(stranger)
    again = stranger.client.get(link)
    assert again.status_code == 400
    assert "This invitation is not valid or was already used." in page_of(again)
    token = stranger.token("/login")
    post = stranger.client.post(link, data={"password": "taken-over-password", "password_confirm": "taken-over-password", "csrf_token": token})
    assert post.status_code == 400
    assert user_by_email(app, "park@district.example").password_hash == hash_after
    assert not is_logged_in(stranger.client)


def test_expired_invitation_link_is_refused(app, web, organizer, mailbox, new_web):
    invite(web)
    link = path_of(mailbox.last_link("park@district.example"))
    app.config["INVITATION_MAX_AGE"] = -1
    person = new_web()
    english(person)
    response = person.client.get(link)
    assert response.status_code == 400
    assert "This invitation has expired. Ask the organizers for a new one." in page_of(response)
    token = person.token("/login")
    post = person.client.post(link, data={"password": PASSWORD, "password_confirm": PASSWORD, "csrf_token": token})
    assert post.status_code == 400
    assert user_by_email(app, "park@district.example").password_hash is None


def test_tampered_invitation_link_is_refused(app, web, organizer, mailbox, new_web):
    invite(web)
    link = path_of(mailbox.last_link("park@district.example"))
    person = new_web()
    english(person)
    response = person.client.get(link[:-5] + "xxxxx")
    assert response.status_code == 400
    assert "not valid" in page_of(response)


def test_bad_password_on_the_invitation_page_keeps_the_link_usable(app, web, organizer, mailbox, new_web):
    invite(web)
    link = path_of(mailbox.last_link("park@district.example"))
    person = new_web()
    english(person)
    response = person.post(link, {"password": "short", "password_confirm": "short"})
    assert response.status_code == 200
    page = page_of(response)
    assert 'aria-invalid="true"' in field_tag(page, "password")
    assert "Use between 10 and 128 characters." in field_error(page, "password")
    assert user_by_email(app, "park@district.example").password_hash is None
    assert not is_logged_in(person.client)
    assert person.post(link, {"password": PASSWORD, "password_confirm": PASSWORD}).status_code == 302


def test_inviting_an_existing_email_is_refused(app, web, organizer, make_user, mailbox):
    make_user("resident", email="taken@district.example")
    before = user_count(app)
    for email in ["taken@district.example", "TAKEN@district.example", organizer.email.upper()]:
        response = invite(web, email=email)
        assert response.status_code == 200, email
        page = page_of(response)
        assert 'aria-invalid="true"' in field_tag(page, "email"), email
        assert "This email address already has an account." in field_error(page, "email"), email
    assert user_count(app) == before
    assert user_by_email(app, "taken@district.example").role == Role.RESIDENT
    assert mailbox.messages == []


INVITE_ERRORS = [
    ({"name": ""}, "name", "This field is required."),
    ({"email": "nope"}, "email", "Enter a valid email address."),
    ({"email": ""}, "email", "This field is required."),
    ({"name": "가" * 101}, "name", "Use at most 100 characters."),
    ({"department": "부" * 101}, "department", "Use at most 100 characters."),
    ({"name": "박\x00주무관"}, "name", "Remove invisible control characters."),
]


def test_invitation_form_bad_input(app, web, organizer, mailbox):
    for data, field_id, message in INVITE_ERRORS:
        fields = {"name": "박주무관", "email": "park@district.example", "role": "official", "department": ""}
        fields.update(data)
        response = web.post("/manage/users/invite", fields, form_url="/manage/users/invite")
        assert response.status_code == 200, data
        page = page_of(response)
        assert 'aria-invalid="true"' in field_tag(page, field_id), data
        assert message in field_error(page, field_id), data
    assert users_of_role(app, "official") == []
    assert mailbox.messages == []


ADMIN_PAGES = ["/manage/users/", "/manage/users/invite", "/manage/users/import"]


def test_non_organizers_are_refused(app, make_user, new_web, mailbox):
    for role in ("resident", "official", "judge"):
        user = make_user(role)
        browser = new_web()
        assert browser.login(user.email).status_code == 302
        for url in ADMIN_PAGES:
            assert browser.client.get(url).status_code == 403, (role, url)
            token = browser.token("/account")
            data = {"csrf_token": token, "name": "x", "email": "x@district.example", "role": "official"}
            assert browser.client.post(url, data=data).status_code in (403, 405), (role, url)
    assert user_by_email(app, "x@district.example") is None
    assert mailbox.messages == []


def test_non_organizers_cannot_use_the_account_buttons(app, web, login_as, make_user):
    target = make_user("official", password=None)
    login_as("judge")
    token = web.token("/account")
    assert web.client.post(f"/manage/users/{target.id}/resend", data={"csrf_token": token}).status_code == 403
    assert web.client.post(f"/manage/users/{target.id}/enabled", data={"csrf_token": token}).status_code == 403
    assert user_by_email(app, target.email).is_enabled


def test_anonymous_visitors_are_sent_to_login(app, client, make_user, web):
    for url in ADMIN_PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        location = urlsplit(response.headers["Location"])
        assert location.path == "/login", url
        assert "next=" in location.query, url
    target = make_user("official")
    token = web.token("/login")
    for url in (f"/manage/users/{target.id}/resend", f"/manage/users/{target.id}/enabled", "/manage/users/invite"):
        response = client.post(url, data={"csrf_token": token, "name": "x", "email": "x@district.example", "role": "official"})
        assert response.status_code == 302, url
        assert urlsplit(response.headers["Location"]).path == "/login", url
    assert user_by_email(app, target.email).is_enabled
    assert user_by_email(app, "x@district.example") is None


# ---------------------------------------------------------------- CSV import


def test_csv_import_invites_good_rows_and_reports_bad_ones(app, web, organizer, make_user, mailbox):
    make_user("resident", email="existing@district.example")
    content = (
        CSV_HEADER
        + "홍길동,hong@district.example,협치지원팀\n"  # 2 good
        + "김민원,kim@district.example,자치행정과\n"  # 3 good
        + "박오류,not-an-email,환경과\n"  # 4 bad email
        + ",noname@district.example,환경과\n"  # 5 missing name
        + "이중복,HONG@district.example,환경과\n"  # 6 twice in the file
        + "기존자,existing@district.example,환경과\n"  # 7 has an account
        + "\n"  # 8 blank: skipped silently
        + "최정상,choi@district.example\n"  # 9 good, no department
        + "한칸만\n"  # 10 only one column
    ).encode("utf-8")
    response = upload(web, content)
    assert response.status_code == 200
    page = page_of(response)

    assert "3 people invited" in page
    errors = dict(report_lines(page))
    assert sorted(int(n) for n in errors) == [4, 5, 6, 7, 10]
    assert "not-an-email" in errors["4"] and "not a valid email address" in errors["4"]
    assert "The name is missing." in errors["5"]
    assert "hong@district.example appears twice in the file." in errors["6"]
    assert "existing@district.example already has an account." in errors["7"]
    assert "Expected name, email and department" in errors["10"]

    officials = {u.email: u for u in users_of_role(app, "official")}
    assert set(officials) == {"hong@district.example", "kim@district.example", "choi@district.example"}
    assert officials["hong@district.example"].name == "홍길동"
    assert officials["hong@district.example"].department == "협치지원팀"
    assert officials["choi@district.example"].department is None
    assert all(u.password_hash is None and u.invited_at is not None for u in officials.values())
    assert user_by_email(app, "existing@district.example").role == Role.RESIDENT
    assert user_by_email(app, "noname@district.example") is None

    for email in officials:
        assert len(mailbox.to(email)) == 1, email
        assert urlsplit(mailbox.last_link(email)).path.startswith("/invitation/")
    assert len(mailbox.messages) == 3

    # Uploading the corrected rows later adds them; earlier invitations are kept.
    fixed = (CSV_HEADER + "박정정,park@district.example,환경과\n,,\n").encode("utf-8")
    again = page_of(upload(web, fixed))
    assert "1 people invited" in again
    assert report_lines(again) == []
    assert len(users_of_role(app, "official")) == 4


def test_csv_import_can_invite_judges(app, web, organizer, mailbox):
    response = upload(web, "심사위원 일,j1@univ.example,대학교\n".encode("utf-8"), role="judge")
    assert response.status_code == 200
    judge = user_by_email(app, "j1@univ.example")
    assert judge.role == Role.JUDGE
    assert len(mailbox.to("j1@univ.example")) == 1


def test_csv_import_without_header_reads_the_first_row(app, web, organizer, mailbox):
    response = upload(web, "홍길동,hong@district.example,협치지원팀\r\n김민원,kim@district.example,\r\n".encode("utf-8"))
    assert "2 people invited" in page_of(response)
    assert {u.email for u in users_of_role(app, "official")} == {"hong@district.example", "kim@district.example"}


def test_csv_import_accepts_excel_korean_encoding(app, web, organizer, mailbox):
    content = (CSV_HEADER + "홍길동,hong@district.example,협치지원팀\n김민원,kim@district.example,자치행정과\n").encode("cp949")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    response = upload(web, content)
    assert response.status_code == 200
    assert "2 people invited" in page_of(response)
    hong = user_by_email(app, "hong@district.example")
    assert hong.name == "홍길동"
    assert hong.department == "협치지원팀"
    assert user_by_email(app, "kim@district.example").department == "자치행정과"
    assert len(mailbox.messages) == 2


def test_csv_import_accepts_utf8_with_bom(app, web, organizer, mailbox):
    content = (CSV_HEADER + "홍길동,hong@district.example,협치지원팀\n").encode("utf-8-sig")
    page = page_of(upload(web, content))
    assert "1 people invited" in page
    assert report_lines(page) == [], "the BOM must not make the header look like a data row"
    assert user_by_email(app, "hong@district.example").name == "홍길동"


def _png_bytes():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _xlsx_like_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types>" + "홍길동,hong@district.example " * 50 + "</Types>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(range(256)) * 8)
    return buffer.getvalue()


BINARY_FILES = [
    ("photo.png", _png_bytes()),
    ("people.xlsx", _xlsx_like_bytes()),
    ("people.csv", b"\x00\x01\x02\x03binary\x00\x00\xff\xfe" * 20),
    ("people.csv", b"name,email\x00\x00\x00,dept\n" * 5),
    ("people.csv", (CSV_HEADER + "홍길동,hong@district.example,협치지원팀\n").encode("utf-16")),
    ("people.csv", "hong,hong@district.example,dept\n".encode("utf-16-le")),
]


def test_binary_file_is_refused_with_a_clear_message(app, web, organizer, mailbox):
    for filename, content in BINARY_FILES:
        response = upload(web, content, filename)
        assert response.status_code == 200, filename
        page = page_of(response)
        assert 'aria-invalid="true"' in field_tag(page, "file"), content[:20]
        assert "The file must be a text CSV file of at most 1 MB." in field_error(page, "file"), content[:20]
        assert "people invited" not in page
    assert users_of_role(app, "official") == []
    assert mailbox.messages == []


def test_file_over_one_megabyte_is_refused(app, web, organizer, mailbox):
    row = "홍길동,hong{:07d}@district.example,협치지원팀\n"
    content = (CSV_HEADER + "".join(row.format(i) for i in range(30000))).encode("utf-8")
    assert len(content) > 1024 * 1024
    response = upload(web, content)
    assert response.status_code == 200
    page = page_of(response)
    assert "The file must be a text CSV file of at most 1 MB." in field_error(page, "file")
    assert user_count(app) == 1, "only the organizer"
    assert mailbox.messages == []


def test_upload_without_a_file_is_refused(app, web, organizer):
    token = web.token("/manage/users/import")
    response = web.client.post("/manage/users/import", data={"csrf_token": token, "role": "official"}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert "Choose a CSV file." in field_error(page_of(response), "file")


def test_csv_import_in_korean_reports_line_numbers(app, web, login_as, mailbox):
    login_as("organizer")
    content = (CSV_HEADER + "홍길동,hong@district.example,협치지원팀\n박오류,not-an-email,환경과\n").encode("utf-8")
    page = page_of(upload(web, content))
    assert '<html lang="ko">' in page
    assert any(t in page for t in ("3번째 줄", "Line 3"))
    assert "not-an-email" in page
    assert user_by_email(app, "hong@district.example") is not None


# ---------------------------------------------------------------- resend, disable, enable


def test_resend_invitation_sends_a_working_link(app, web, organizer, mailbox, new_web):
    invite(web)
    invited = user_by_email(app, "park@district.example")
    mailbox.clear()
    response = web.post(f"/manage/users/{invited.id}/resend", form_url="/manage/users/")
    assert response.status_code == 302
    assert len(mailbox.to("park@district.example")) == 1
    assert user_by_email(app, "park@district.example").invited_at >= invited.invited_at

    person = new_web()
    link = path_of(mailbox.last_link("park@district.example"))
    assert person.post(link, {"password": PASSWORD, "password_confirm": PASSWORD}).status_code == 302
    assert is_logged_in(person.client)

    # Once accepted, there is nothing to send again.
    mailbox.clear()
    assert web.post(f"/manage/users/{invited.id}/resend", form_url="/manage/users/").status_code == 400
    assert mailbox.messages == []


def test_resend_is_only_for_invited_roles(app, web, organizer, make_user, mailbox):
    resident = make_user("resident")
    assert web.post(f"/manage/users/{resident.id}/resend", form_url="/manage/users/").status_code == 400
    assert web.post("/manage/users/999999/resend", form_url="/manage/users/").status_code == 404
    assert mailbox.messages == []


def test_account_buttons_need_csrf(app, web, organizer, make_user):
    target = make_user("official")
    response = web.client.post(f"/manage/users/{target.id}/enabled")
    assert response.status_code == 400
    assert user_by_email(app, target.email).is_enabled


def test_disabling_ends_sessions_and_enabling_lets_the_user_back(app, web, organizer, make_user, new_web):
    target = make_user("official", email="off@district.example")
    person = new_web()
    assert person.login("off@district.example").status_code == 302
    assert is_logged_in(person.client)

    response = web.post(f"/manage/users/{target.id}/enabled", form_url="/manage/users/")
    assert response.status_code == 302
    assert f"{target.name} can no longer log in." in page_of(web.client.get(response.headers["Location"]))
    assert not user_by_email(app, "off@district.example").is_enabled

    assert not is_logged_in(person.client), "the disabled user's session ended"
    assert person.login("off@district.example").status_code == 200
    assert not is_logged_in(person.client)

    response = web.post(f"/manage/users/{target.id}/enabled", form_url="/manage/users/")
    assert response.status_code == 302
    assert f"{target.name} can log in again." in page_of(web.client.get(response.headers["Location"]))
    assert user_by_email(app, "off@district.example").is_enabled
    assert person.login("off@district.example").status_code == 302
    assert is_logged_in(person.client)


def test_disabled_invitee_cannot_use_the_invitation(app, web, organizer, mailbox, new_web):
    invite(web)
    invited = user_by_email(app, "park@district.example")
    link = path_of(mailbox.last_link("park@district.example"))
    web.post(f"/manage/users/{invited.id}/enabled", form_url="/manage/users/")
    person = new_web()
    assert person.client.get(link).status_code == 400
    assert user_by_email(app, "park@district.example").password_hash is None


def test_organizer_cannot_disable_themselves(app, web, organizer):
    response = web.post(f"/manage/users/{organizer.id}/enabled", form_url="/manage/users/")
    assert response.status_code == 302
    assert "You cannot disable your own account." in page_of(web.client.get(response.headers["Location"]))
    assert user_by_email(app, organizer.email).is_enabled
    assert is_logged_in(web.client)


def test_user_list_filters_by_role(app, web, organizer, make_user):
    make_user("official", email="o@district.example")
    make_user("judge", email="j@univ.example")
    page = page_of(web.client.get("/manage/users/?role=judge"))
    assert "j@univ.example" in page
    assert "o@district.example" not in page
    everyone = page_of(web.client.get("/manage/users/"))
    assert "j@univ.example" in everyone and "o@district.example" in everyone


def test_csv_rows_with_control_characters_or_long_values_are_reported(app, web, organizer, mailbox):
    content = (
        CSV_HEADER
        + "홍\x07길동,hong@district.example,협치지원팀\n"  # 2
        + "이\x1b[31m름,lee@district.example,협치지원팀\n"  # 3
        + "김민원,kim@district.example,\n"  # 4 good
        + "박부서,park@district.example,협치\x0b지원팀\n"  # 5
        + ("가" * 101) + ",long@district.example,\n"  # 6
        + "최부서,choi@district.example," + ("부" * 101) + "\n"  # 7
    ).encode("utf-8")
    response = upload(web, content)
    assert response.status_code == 200
    page = page_of(response)
    errors = dict(report_lines(page))
    assert sorted(errors, key=int) == ["2", "3", "5", "6", "7"]
    for line in ("2", "3", "5"):
        assert "control characters" in errors[line], errors[line]
    for line in ("6", "7"):
        assert "longer than 100 characters" in errors[line], errors[line]
    assert [u.email for u in users_of_role(app, "official")] == ["kim@district.example"]
    assert len(mailbox.messages) == 1
