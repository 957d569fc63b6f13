"""Certificates (상장): the organizer's settings, and one A4 page per award of the frozen results.

The PDFs are read back with poppler (pdftotext, pdfinfo, pdffonts, pdftoppm), as a printer
would get them.  The hand-made event of tests/results_helpers.py gives four awards: 대상 A,
우수상 B and C (협치 우수사례), 협치인물상 P1 (협치 인물).

Korean words that come from the catalog are asked of the app (the ``korean`` fixture) rather
than written here, so these tests check the pages and not the translator's choice of words;
tests/test_i18n.py checks that every message has its Korean.
"""
import io
import json
import re
import subprocess
from datetime import date
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import func, select

from tests import factories
from tests.results_helpers import freeze, hand_made_event, tie_event
from voting.accounts.models import User
from voting.audit.models import AuditEntry
from voting.ballots import operations as ballots
from voting.events.models import AwardTier, Department, Event, EventState
from voting.events.operations import change_event_state
from voting.exports import certificates
from voting.exports.awards import event_awards
from voting.exports.certificates import WordingError, check_wording, fill_wording
from voting.exports.models import CertificateTemplate
from voting.exports.operations import export_file
from voting.extensions import db
from voting.nominations.models import Nomination
from voting.nominations.photos import clean_photo
from voting.results import bundle
from voting.results import operations as results_operations

MB = 1024 * 1024
SEAL_FONT = "/usr/share/fonts/truetype/nanum/NanumMyeongjoBold.ttf"
ISSUER = "서울특별시 서대문구청장"
WORDING = "위 {recipient}은(는) {event}에서 {category} 부문 {tier}에 선정되었기에 이 상장을 드립니다."


# ---------------------------------------------------------------------------
# Helpers


def seal_png(size=240, palette=False):
    """A square red seal (직인) with 구청장인 in two rows, on a transparent background."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    red = (200, 30, 40, 255)
    draw.rectangle((6, 6, size - 7, size - 7), outline=red, width=size // 16)
    font = ImageFont.truetype(SEAL_FONT, size // 3)
    for index, character in enumerate("구청장인"):
        column, row = 1 - index // 2, index % 2  # read top to bottom, right to left
        draw.text((size * (0.27 + 0.46 * column), size * (0.3 + 0.42 * row)), character, font=font, fill=red, anchor="mm")
    if palette:
        image = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
        image.info["transparency"] = image.getpixel((1, 1))
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=None)
    return out.getvalue()


def pdf_path(pdf, tmp_path, name="certificates.pdf"):
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def poppler(*command):
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, check=True).stdout


def pdf_pages(path):
    """The text of each page (pdftotext ends each page with a form feed)."""
    return poppler("pdftotext", "-layout", path, "-").rstrip("\f\n").split("\f")


def page_count(path):
    return int(re.search(r"^Pages:\s+(\d+)", poppler("pdfinfo", path), re.M).group(1))


def squeezed(text):
    """Text without white space: the layout spaces out 상 장 and 성 명."""
    return re.sub(r"\s+", "", text)


def audit_entries(app, action="certificate.save"):
    with app.app_context():
        return [json.loads(e.details) for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]


def stored(app, event_id):
    with app.app_context():
        template = db.session.scalar(select(CertificateTemplate).where(CertificateTemplate.event_id == event_id))
        if template is None:
            return None
        return (template.issuer, template.wording, template.award_date, template.seal_data, template.seal_mime_type)


def settings_form(issuer=ISSUER, wording=WORDING, award_date="2019-12-13", **extra):
    return {"issuer": issuer, "wording": wording, "award_date": award_date, **extra}


def url(event_id, tail=""):
    return f"/manage/events/{event_id}/certificate{tail}"


def login_organizer(web, email):
    assert web.login(email).status_code == 302


@pytest.fixture
def korean(app):
    """What the app prints in Korean: korean(function, *args) runs it in a Korean request."""

    def call(function, *args, **kwargs):
        with app.test_request_context(), force_locale("ko"):
            return str(function(*args, **kwargs))

    return call


def event_name(app, event_id):
    with app.app_context():
        return db.session.get(Event, event_id).name


@pytest.fixture
def awarded(app):
    """The hand-made event with names worth printing: P1 has a name and an affiliation of their
    own, A a department; then frozen."""
    hand = hand_made_event(app)
    with app.app_context():
        person = db.session.get(Nomination, hand.finalists["P1"])
        person.nominee_name, person.nominee_affiliation = "김협치", "연희동 주민자치회"
        practice = db.session.get(Nomination, hand.finalists["A"])
        practice.department = db.session.scalar(select(Department).where(Department.name == "환경과"))
        db.session.commit()
    freeze(app, hand.event_id, hand.organizer_id)
    return hand


# ---------------------------------------------------------------------------
# The wording's placeholders


def test_wording_accepts_the_four_placeholders_and_doubled_braces():
    for text in ("", "상장을 드립니다.", WORDING, "{{표창}} {tier} {tier}", "{event}{category}{recipient}{tier}"):
        check_wording(text)
    assert fill_wording("{{ {recipient} }} {tier}", recipient="홍길동", category="c", tier="대상", event="e") == "{ 홍길동 } 대상"


@pytest.mark.parametrize("text", [
    "{name}님께", "{recipient", "recipient}", "{}", "{0}", "{recipient!r}", "{tier:>10}", "{recipient.title}",
    "{ recipient }", "{수상자}",
])
def test_wording_refuses_unknown_placeholders_and_broken_braces(app, text):
    with app.test_request_context():
        with pytest.raises(WordingError) as refused:
            check_wording(text)
        assert refused.value.message


def test_a_palette_png_seal_keeps_its_transparency(app):
    with app.app_context():
        photo = clean_photo(io.BytesIO(seal_png(palette=True)), 5 * MB, keep_transparency=True)
        image = Image.open(io.BytesIO(photo.data))
        assert photo.mime_type == "image/png" and image.mode == "RGBA"
        assert image.getpixel((1, 1))[3] == 0 and image.getpixel((photo.width // 2, 8))[3] == 255


# ---------------------------------------------------------------------------
# The settings page


def test_settings_start_from_defaults_and_are_saved_with_an_audit_entry(app, web, awarded, korean):
    event_id = awarded.event_id
    login_organizer(web, awarded.organizer_email)
    page = web.client.get(url(event_id)).get_data(as_text=True)
    assert korean(_, "%(event)s Organizing Committee", event=event_name(app, event_id)) in page  # the default issuer
    with app.app_context():
        frozen_on = certificates.default_award_date(bundle.frozen_results(event_id))
    assert frozen_on.isoformat() in page  # the day the results were frozen
    assert 'enctype="multipart/form-data"' in page and 'name="csrf_token"' in page
    assert url(event_id, "/preview.pdf") in page and url(event_id, "/seal") not in page

    response = web.post(url(event_id), settings_form(seal=(io.BytesIO(seal_png()), "직인.png")))
    assert response.status_code == 302 and response.headers["Location"].endswith(url(event_id))
    issuer, wording, award_date, seal, mime_type = stored(app, event_id)
    assert (issuer, wording, award_date, mime_type) == (ISSUER, WORDING, date(2019, 12, 13), "image/png")
    assert Image.open(io.BytesIO(seal)).mode == "RGBA"
    (entry,) = audit_entries(app)
    assert entry["changed"] == ["award_date", "issuer", "seal", "wording"]
    assert entry["issuer"] == ISSUER and entry["award_date"] == "2019-12-13" and entry["seal"]["mime_type"] == "image/png"

    page = web.client.get(url(event_id)).get_data(as_text=True)
    assert korean(_, "The certificate settings were saved.") in page and ISSUER in page and url(event_id, "/seal") in page
    image = web.client.get(url(event_id, "/seal"))
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == seal

    # Saving the same again changes nothing and records nothing; removing the seal is recorded.
    web.post(url(event_id), settings_form())
    assert len(audit_entries(app)) == 1
    web.post(url(event_id), settings_form(remove_seal="y"))
    assert audit_entries(app)[-1] == {"changed": ["seal"], "seal": None}
    assert stored(app, event_id)[3] is None and web.client.get(url(event_id, "/seal")).status_code == 404


def test_certificates_of_frozen_results_one_page_per_award(app, web, awarded, korean, tmp_path, screenshot_dir):
    event_id = awarded.event_id
    login_organizer(web, awarded.organizer_email)
    web.post(url(event_id), settings_form(seal=(io.BytesIO(seal_png()), "seal.png")))
    response = web.client.get(url(event_id, "/preview.pdf"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert web.client.get(url(event_id, "/preview.pdf")).data == response.data, "the same bytes every time"
    path = pdf_path(response.data, tmp_path)

    with app.app_context():
        event = db.session.get(Event, event_id)
        awards = event_awards(bundle.frozen_results(event_id).categories)
        name = event.name
    assert page_count(path) == len(awards) == 4
    pages = [squeezed(text) for text in pdf_pages(path)]
    team = certificates.team_name
    expected = [  # (tier, category, recipient, affiliation), in award order
        ("대상", "협치 우수사례", korean(team, "홍제천 테마길 다리 꾸미기"), "환경과"),
        ("우수상", "협치 우수사례", korean(team, "주민 공간, 거듭나는 작은 도서관"), None),
        ("우수상", "협치 우수사례", korean(team, "공동체 마을 밥상"), None),
        ("협치인물상", "협치 인물", "김협치", "연희동 주민자치회"),
    ]
    title, affiliation_label, sample = (squeezed(korean(_, text)) for text in ("Certificate", "Affiliation", "SAMPLE"))
    for number, (text, award, (tier, category, recipient, affiliation)) in enumerate(zip(pages, awards, expected), 1):
        assert (award.tier, award.category.name) == (tier, category)
        assert squeezed(korean(certificates.certificate_number, 2019, number)) in text  # 제 2019-01호 ...
        assert title in text and tier in text and squeezed(korean(certificates.category_line, category)) in text
        assert squeezed(recipient) in text and squeezed(name) in text and squeezed(ISSUER) in text
        assert "2019년12월13일" in text
        assert (squeezed(affiliation) in text) if affiliation else (affiliation_label not in text)
        assert "공동수상" not in text and sample not in text
    # The wording with its placeholders filled in, and the labels of a person and of a team.
    assert squeezed(f"위 김협치은(는) {name}에서 협치 인물 부문 협치인물상에 선정되었기에") in pages[3]
    assert squeezed(korean(_, "Full name")) in pages[3] and squeezed(korean(_, "Team name")) in pages[0]

    fonts = poppler("pdffonts", path)
    assert re.search(r"NanumMyeongjo\S*\s+(CID )?TrueType.*\byes\b", fonts), fonts
    # The export registry gives the same file.
    with app.test_request_context():
        with app.app_context():
            event = db.session.get(Event, event_id)
            made = export_file(event, "certificates")
    assert made.filename == f"certificates-event{event_id}.pdf" and page_count(pdf_path(made.data, tmp_path, "e.pdf")) == 4

    png = f"{screenshot_dir}/certificate-page1.png"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(path), png[:-4]], check=True)
    with Image.open(png) as shot:
        assert [round(side / 60 * 25.4) for side in shot.size] == [210, 297], "A4 portrait"
        # Ink in the middle (the title, tier and name) and red of the seal near the issuer.
        assert shot.convert("L").crop((100, 80, 400, 300)).getextrema()[0] < 100
        colours = shot.convert("RGB").crop((250, 560, 450, 680)).getcolors(1 << 16)
        assert any(r > 150 and g < 90 for _count, (r, g, _b) in colours), "no seal next to the issuer"


def test_before_freezing_the_preview_is_one_page_marked_as_a_sample(app, web, korean, tmp_path, screenshot_dir):
    hand = hand_made_event(app)
    name = event_name(app, hand.event_id)
    login_organizer(web, hand.organizer_email)
    page = web.client.get(url(hand.event_id)).get_data(as_text=True)
    assert korean(_, "Open a sample certificate (PDF)") in page
    response = web.client.get(url(hand.event_id, "/preview.pdf"))
    path = pdf_path(response.data, tmp_path)
    assert page_count(path) == 1
    text = squeezed(pdf_pages(path)[0])
    assert squeezed(korean(_, "SAMPLE")) in text and squeezed(korean(_, "(Project title)")) in text
    assert "대상" in text and squeezed(korean(certificates.category_line, "협치 우수사례")) in text
    # No settings yet: the default wording, issuer and date, in the current locale.
    team = korean(certificates.team_name, korean(_, "(Project title)"))
    wording = korean(lambda: fill_wording(str(certificates.DEFAULT_WORDING), recipient=team, category="협치 우수사례",
                                          tier="대상", event=name))
    assert squeezed(wording) in text and squeezed(korean(certificates.default_issuer, SimpleNamespace(name=name))) in text
    assert squeezed(korean(certificates.certificate_number, 2019, 0)) in text
    assert squeezed(korean(certificates.long_date, certificates.today_in_seoul())) in text
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(path), f"{screenshot_dir}/certificate-sample"],
                   check=True)
    assert stored(app, hand.event_id) is None, "looking changes nothing"


def test_the_longest_wording_stays_on_one_page_per_award(app, web, awarded, tmp_path, screenshot_dir):
    login_organizer(web, awarded.organizer_email)
    wording = ("{recipient}은(는) {event}에서 {category} 부문 {tier}에 선정되었습니다. " + "협치의 모범을 보였습니다. " * 40)[:400]
    assert web.post(url(awarded.event_id), settings_form(wording=wording)).status_code == 302
    path = pdf_path(web.client.get(url(awarded.event_id, "/preview.pdf")).data, tmp_path)
    pages = pdf_pages(path)
    assert page_count(path) == 4
    for text in pages:
        assert text.index("협치의 모범을 보였습니다") < text.index("2019년 12월 13일") < text.index(ISSUER)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "4", "-l", "4", "-singlefile", str(path),
                    f"{screenshot_dir}/certificate-long-wording"], check=True)


def test_a_wide_jpeg_logo_is_printed_beside_the_issuer(app, web, tmp_path):
    hand = hand_made_event(app)
    login_organizer(web, hand.organizer_email)
    logo = Image.new("RGB", (600, 200), (20, 60, 160))
    out = io.BytesIO()
    logo.save(out, "JPEG")
    assert web.post(url(hand.event_id), settings_form(seal=(io.BytesIO(out.getvalue()), "logo.jpg"))).status_code == 302
    assert stored(app, hand.event_id)[4] == "image/jpeg"
    with app.test_request_context():
        seal = certificates.settings_for(db.session.get(Event, hand.event_id)).seal
    assert (seal.width_mm, seal.height_mm, seal.offset_mm) == (34.0, 11.33, 3.0)
    path = pdf_path(web.client.get(url(hand.event_id, "/preview.pdf")).data, tmp_path)
    assert page_count(path) == 1 and len(poppler("pdfimages", "-list", path).splitlines()[2:]) == 1


def test_settings_stay_editable_after_the_results_are_frozen_and_published(app, web, awarded):
    with app.app_context():
        event = db.session.get(Event, awarded.event_id)
        results_operations.publish_results(event)
        db.session.commit()
    login_organizer(web, awarded.organizer_email)
    assert web.post(url(awarded.event_id), settings_form()).status_code == 302
    assert stored(app, awarded.event_id)[0] == ISSUER


# ---------------------------------------------------------------------------
# Refusals


ROUTES = [("GET", ""), ("POST", ""), ("GET", "/seal"), ("GET", "/preview.pdf")]


@pytest.mark.parametrize(("method", "tail"), ROUTES)
@pytest.mark.parametrize("role", ["anonymous", "resident", "official", "judge"])
def test_only_organizers_may_use_the_certificate_pages(app, web, make_user, make_event, role, method, tail):
    event = make_event()
    with app.app_context():
        db.session.add(CertificateTemplate(event_id=event.id, issuer=ISSUER, wording=WORDING, award_date=date(2019, 12, 13),
                                           seal_data=seal_png(), seal_mime_type="image/png", seal_width=240, seal_height=240))
        db.session.commit()
    if role != "anonymous":
        assert web.login(make_user(role).email).status_code == 302
    before = stored(app, event.id)
    if method == "GET":
        response = web.client.get(url(event.id, tail))
    else:
        response = web.post(url(event.id), settings_form(issuer="남이 바꾼 수여자"), form_url="/")
    if role == "anonymous":
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert location.path == "/login" and parse_qs(location.query)["next"] == [url(event.id, tail)]
    else:
        assert response.status_code == 403
    assert stored(app, event.id) == before and audit_entries(app) == []


# ---------------------------------------------------------------------------
# Bad input: a clear message next to the field, the typed text kept, nothing saved


def wording_error(text):
    try:
        check_wording(text)
    except WordingError as exc:
        return exc.message
    raise AssertionError(f"{text!r} was accepted")


BAD_INPUT = [  # (case, what is typed, the message: Korean from the catalog as it is, or how the app makes it)
    ("a text file named .png", {"seal": (io.BytesIO(b"just some text, not a picture\n"), "seal.png")},
     "읽을 수 있는 JPEG 또는 PNG 사진이 아닙니다"),
    ("larger than 5 MB", {"seal": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * (5 * MB)), "big.png")}, "5MB"),
    ("an unknown placeholder", {"wording": "{name}님은 {tier}을 받습니다."}, (wording_error, "{name}")),
    ("a brace not closed", {"wording": "{recipient 님께 드립니다."}, (wording_error, "{recipient")),
    ("no issuer", {"issuer": "   "}, "꼭 입력해야 하는 항목입니다"),
    ("no date", {"award_date": "12월 13일"}, (_, "Enter a date, e.g. 2019-12-13.")),
]


@pytest.mark.parametrize(("case", "change", "message"), BAD_INPUT, ids=[case[0] for case in BAD_INPUT])
def test_bad_input_is_refused_with_a_clear_message_and_keeps_what_was_saved(app, web, awarded, korean, case, change,
                                                                           message):
    if isinstance(message, tuple):
        message = korean(*message)
    event_id = awarded.event_id
    login_organizer(web, awarded.organizer_email)
    web.post(url(event_id), settings_form(seal=(io.BytesIO(seal_png()), "seal.png")))
    saved = stored(app, event_id)
    typed = settings_form(issuer="새로 입력한 발급자", wording="새로 입력한 문구, {tier}.")
    typed.update(change)
    response = web.post(url(event_id), typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert squeezed(message) in squeezed(page.replace("&#39;", "'"))
    assert 'class="error"' in page and "저장되지 않았습니다" in page
    assert stored(app, event_id) == saved and len(audit_entries(app)) == 1
    for name in ("issuer", "wording"):
        if name not in change:
            assert typed[name] in page, "what was typed is shown again"


def test_messages_are_in_english_when_english_is_chosen(app, web, awarded, english):
    login_organizer(web, awarded.organizer_email)
    page = web.post(url(awarded.event_id), settings_form(wording="{name}")).get_data(as_text=True)
    assert "Unknown placeholder {name}. You can use {recipient}, {category}, {tier}, {event}." in page
    assert stored(app, awarded.event_id) is None


# ---------------------------------------------------------------------------
# Joint awards, English, speed


def test_joint_award_certificates_say_so(app, web, korean, tmp_path):
    event_id, category_id, ids, email = tie_event(app)
    with app.app_context():
        category = db.session.get(Event, event_id).categories[0]
        organizer = db.session.scalar(select(User).where(User.email == email))
        results_operations.decide_tie(category, ids[:2], "joint", organizer)
        db.session.commit()
    freeze(app, event_id)
    login_organizer(web, email)
    path = pdf_path(web.client.get(url(event_id, "/preview.pdf")).data, tmp_path)
    pages = [squeezed(text) for text in pdf_pages(path)]
    assert len(pages) == page_count(path) == 3
    for page, title in zip(pages[:2], ("마을 공유부엌", "골목 정원")):
        assert "대상" in page and "공동수상" in page and squeezed(korean(certificates.team_name, title)) in page
    assert "우수상" in pages[2] and "공동수상" not in pages[2]


def test_english_certificates(app, web, awarded, english, tmp_path, screenshot_dir):
    login_organizer(web, awarded.organizer_email)
    path = pdf_path(web.client.get(url(awarded.event_id, "/preview.pdf")).data, tmp_path)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(path),
                    f"{screenshot_dir}/certificate-english"], check=True)
    pages = pdf_pages(path)
    assert len(pages) == 4
    first, last = (" ".join(page.split()) for page in (pages[0], pages[-1]))
    assert "Certificate" in first and "No. 2019-01" in first and "“홍제천 테마길 다리 꾸미기” project team" in first
    assert "협치 우수사례 category" in first and "Organizing Committee" in first
    assert "you set an example of residents and officials working together" in first
    assert re.search(r"[A-Z][a-z]+ \d{1,2}, 20\d\d", first), "the date in words"
    assert "Full name 김협치" in last and "Affiliation 연희동 주민자치회" in last


def forty_awards_event(app):
    """One category with 40 awards: 대상 to the one finalist with a vote, 우수상 to 39 tied others."""
    with app.app_context():
        event = factories.event(phase="voting")
        practice = event.categories[0]
        practice.tiers = [AwardTier(name="대상", count=1, position=0), AwardTier(name="우수상", count=39, position=1)]
        nominator, voter, organizer = factories.user("resident"), factories.user("resident"), factories.user("organizer")
        ids = [factories.nomination(event.id, nominator_id=nominator.id, state="finalist", title=f"협치 사업 {n:02d}").id
               for n in range(40)]
        db.session.commit()
        ballots.cast_ballot(practice, ballots.Voter(user=voter), ids[:1])
        change_event_state(event, EventState.CLOSED)
        db.session.add(CertificateTemplate(event_id=event.id, issuer=ISSUER, wording=WORDING, award_date=date(2019, 12, 13),
                                           seal_data=seal_png(600), seal_mime_type="image/png", seal_width=600,
                                           seal_height=600))
        db.session.commit()
        return event.id, organizer.id


def test_forty_certificates_make_forty_pages_with_one_embedded_seal(app, tmp_path):
    """The speed of this is measured by `make bench-export`, not here."""
    event_id, organizer_id = forty_awards_event(app)
    freeze(app, event_id, organizer_id)
    with app.test_request_context():
        event = db.session.get(Event, event_id)
        pdf = certificates.certificates_pdf(event, bundle.frozen_results(event_id))
    path = pdf_path(pdf, tmp_path)
    assert page_count(path) == 40
    images = [line.split() for line in poppler("pdfimages", "-list", path).splitlines()[2:]]
    seals = [row for row in images if row[2] == "image"]
    assert len(seals) == 40 and len({row[10] for row in seals}) == 1, "one seal image, drawn on every page"


def test_deleting_an_event_deletes_its_certificate_settings(app, make_event):
    event = make_event()
    with app.app_context():
        db.session.add(CertificateTemplate(event_id=event.id, issuer=ISSUER, wording=WORDING, award_date=date(2019, 12, 13)))
        db.session.commit()
        db.session.execute(Event.__table__.delete().where(Event.id == event.id))
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(CertificateTemplate)) == 0
