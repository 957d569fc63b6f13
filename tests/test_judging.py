"""Judge assignments, score sheets, recusals, reopening, progress, and what the results side reads."""
import re
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from voting.audit.models import AuditEntry
from voting.events.models import Event, EventState
from voting.events.operations import NotAllowed
from voting.extensions import db
from voting.judging import operations
from voting.judging.models import JudgeAssignment, ScoreSheet, SheetScore, SheetStatus
from voting.nominations.models import Nomination, NominationState

from tests import factories
from tests.conftest import Browserless
from tests.http import Session

SECRET_COMMENT = "심사메모-다른-심사위원에게-보이면-안됨"


# ---------------------------------------------------------------------------
# The world and small helpers


def build(app, phase="judging", state="open"):
    """An event in the given phase: three finalists and a non-finalist in the practice category,
    one finalist in the person category, two judges, an organizer, and voters."""
    with app.app_context():
        event = factories.event(phase=phase, state=state)
        nominator = factories.user("resident")
        practice, person = event.categories
        finalists = [
            factories.nomination(event.id, nominator_id=nominator.id, state="finalist", title=title)
            for title in ("가 마을부엌", "나 골목정원", "다 공유책방")
        ]
        not_finalist = factories.nomination(event.id, nominator_id=nominator.id, title="라 심사 전 후보")
        person_finalist = factories.nomination(event.id, nominator_id=nominator.id, state="finalist", category_index=1,
                                               title="마 협치 인물")
        users = {
            "judge": factories.user("judge", name="가심사"),
            "judge2": factories.user("judge", name="나심사"),
            "organizer": factories.user("organizer"),
            "resident": factories.user("resident"),
            "official": factories.user("official"),
        }
        db.session.commit()
        return SimpleNamespace(
            event=event.id,
            category=practice.id,
            person_category=person.id,
            criteria=[c.id for c in practice.criteria],  # 협치성 ×3 (0..10), 성과 ×2 (0..10)
            person_criteria=[c.id for c in person.criteria],
            finalists=[n.id for n in finalists],
            not_finalist=not_finalist.id,
            person_finalist=person_finalist.id,
            ids={role: user.id for role, user in users.items()},
            emails={role: user.email for role, user in users.items()},
        )


@pytest.fixture
def world(app):
    return build(app)


def signed_in(app, email=None, english=True):
    web = Browserless(app.test_client())
    if english:
        web.post("/language", {"lang": "en", "next": "/"}, form_url="/")
    if email is not None:
        assert web.login(email).status_code == 302
    return web


@pytest.fixture
def judge(app, world):
    return signed_in(app, world.emails["judge"])


@pytest.fixture
def judge2(app, world):
    return signed_in(app, world.emails["judge2"])


@pytest.fixture
def organizer(app, world):
    return signed_in(app, world.emails["organizer"])


def scores(world, values, action="draft", comment="", criteria=None):
    data = {f"score_{c}": str(v) for c, v in zip(criteria or world.criteria, values)}
    data.update({"action": action, "comment": comment})
    return data


def sheet_url(nomination_id):
    return f"/judging/finalists/{nomination_id}"


def read(app, function):
    with app.app_context():
        try:
            return function(db.session)
        finally:
            db.session.remove()


def sheets(app):
    """{(judge id, nomination id): (status, {criterion id: value}, comment, recusal reason)}"""
    def load(session):
        return {
            (s.judge_id, s.nomination_id): (s.status.value, {x.criterion_id: x.value for x in s.scores}, s.comment, s.recusal_reason)
            for s in session.scalars(select(ScoreSheet))
        }
    return read(app, load)


def count(app, model):
    return read(app, lambda s: s.scalar(select(func.count()).select_from(model)))


def audit_actions(app):
    return read(app, lambda s: [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))])


def text(response):
    return response.get_data(as_text=True)


def states_on(page):
    """{finalist id: state} from the judge page."""
    return {int(n): state for n, state in re.findall(r'id="finalist-(\d+)" data-state="(\w+)"', page)}


def set_event(app, world, **columns):
    def change(session):
        event = session.get(Event, world.event)
        for key, value in columns.items():
            setattr(event, key, value)
        session.commit()
    read(app, change)


def freeze(app, world):
    set_event(app, world, state=EventState.FROZEN)


# ---------------------------------------------------------------------------
# Happy paths


def test_judge_saves_a_draft_then_submits_and_the_sheet_locks(app, world, judge):
    f0 = world.finalists[0]
    page = text(judge.client.get(sheet_url(f0)))
    assert 'id="sheet-state" data-state="missing"' in page
    assert f'name="score_{world.criteria[0]}"' in page and 'max="10"' in page

    response = judge.post(sheet_url(f0), scores(world, [7, ""], "draft", "메모"))
    assert response.status_code == 302 and response.headers["Location"].endswith(sheet_url(f0))
    assert sheets(app) == {(world.ids["judge"], f0): ("draft", {world.criteria[0]: 7}, "메모", None)}
    page = text(judge.client.get(sheet_url(f0)))
    assert 'data-state="draft"' in page and 'value="7"' in page and "메모" in page

    response = judge.post(sheet_url(f0), scores(world, [8, 6], "submit", "최종"))
    assert response.status_code == 302 and "/judging" in response.headers["Location"]
    assert sheets(app) == {(world.ids["judge"], f0): ("submitted", {world.criteria[0]: 8, world.criteria[1]: 6}, "최종", None)}
    assert read(app, lambda s: s.scalar(select(ScoreSheet.submitted_at))) is not None
    assert audit_actions(app) == ["judging.submit"]

    page = text(judge.client.get(sheet_url(f0)))
    assert 'data-state="submitted"' in page and 'id="sheet-form"' not in page and 'id="own-scores"' in page
    for action in ("draft", "submit"):
        response = judge.post(sheet_url(f0), scores(world, [1, 1], action))
        assert response.status_code == 409
        assert "already submitted or recused" in text(response)
    response = judge.post(sheet_url(f0) + "/recuse", {"reason": "뒤늦은 회피"})
    assert response.status_code == 409
    assert sheets(app)[(world.ids["judge"], f0)][0:2] == ("submitted", {world.criteria[0]: 8, world.criteria[1]: 6})


def test_judge_recuses_with_a_reason_and_the_sheet_has_no_scores(app, world, judge):
    f1 = world.finalists[1]
    assert judge.post(sheet_url(f1), scores(world, [5, 5], "draft", "초안")).status_code == 302
    response = judge.post(sheet_url(f1) + "/recuse", {"reason": "제가 자문한 사업입니다"})
    assert response.status_code == 302
    assert sheets(app) == {(world.ids["judge"], f1): ("recused", {}, "", "제가 자문한 사업입니다")}
    page = text(judge.client.get(sheet_url(f1)))
    assert 'data-state="recused"' in page and "제가 자문한 사업입니다" in page and 'id="sheet-form"' not in page
    assert judge.post(sheet_url(f1), scores(world, [5, 5], "submit")).status_code == 409
    assert audit_actions(app) == ["judging.recuse"]


def test_a_recusal_needs_a_reason_of_at_most_500_characters(app, world, judge):
    f1 = world.finalists[1]
    assert judge.post(sheet_url(f1), scores(world, [4, ""], "draft")).status_code == 302
    for reason in ("", "   ", "이" * 501):
        response = judge.post(sheet_url(f1) + "/recuse", {"reason": reason})
        assert response.status_code == 400, reason
        page = text(response)
        assert 'id="reason-error"' in page
        assert re.search(rf'name="score_{world.criteria[0]}"[^>]*value="4"', page), "the draft is still shown"
    assert sheets(app)[(world.ids["judge"], f1)][0] == "draft"
    assert judge.post(sheet_url(f1) + "/recuse", {"reason": "이" * 500}).status_code == 302
    assert count(app, ScoreSheet) == 1 and count(app, SheetScore) == 0


def test_judge_page_lists_assigned_finalists_with_progress(app, world, judge):
    f0, f1, f2 = world.finalists
    assert judge.post(sheet_url(f0), scores(world, [1, 2], "submit")).status_code == 302
    assert judge.post(sheet_url(f1), scores(world, [3, ""], "draft")).status_code == 302
    assert judge.post(sheet_url(f2) + "/recuse", {"reason": "이해충돌"}).status_code == 302
    other = build(app, phase="before")  # not open yet: shown, marked
    draft_event = build(app, state="draft")  # not public: not shown
    page = text(judge.client.get("/judging"))
    assert states_on(page) == {
        f0: "submitted", f1: "draft", f2: "recused", world.person_finalist: "missing",
        **{n: "missing" for n in other.finalists + [other.person_finalist]},
    }
    assert world.not_finalist not in states_on(page)
    assert not set(draft_event.finalists) & set(states_on(page))
    assert f'id="window-{world.event}"' in page and "Judging is open" in page
    assert re.search(rf'id="window-{other.event}">\s*Judging is not open now', page)
    counts = page.split(f'id="counts-{world.event}"', 1)[1].split("</ul>", 1)[0]
    assert "Done: 1 of 4" in counts and "In draft: 1" in counts and "Recused: 1" in counts and "Not started: 1" in counts
    # The open event comes first.
    assert page.index(f'id="event-{world.event}"') < page.index(f'id="event-{other.event}"')


def test_a_judge_sees_the_nav_link_and_a_judge_without_events_is_told(app, judge):
    home = text(judge.client.get("/"))
    assert 'href="/judging"' in home
    with app.app_context():
        lonely = factories.user("judge")
        db.session.commit()
        email = lonely.email
    # Every enabled judge judges by default, so this one has the world's finalists too.
    assert 'id="finalist-' in text(signed_in(app, email).client.get("/judging"))


def test_no_judge_yet_has_no_finalists(app, make_user, web, login_as):
    login_as("judge")
    page = text(web.client.get("/judging"))
    assert 'id="nothing-assigned"' in page


# ---------------------------------------------------------------------------
# Who may


@pytest.mark.parametrize("role", ["anonymous", "resident", "official", "organizer"])
def test_only_judges_use_the_judge_pages(app, world, role):
    web = signed_in(app, None if role == "anonymous" else world.emails[role])
    f0 = world.finalists[0]
    requests = [
        ("GET", "/judging", None),
        ("GET", sheet_url(f0), None),
        ("POST", sheet_url(f0), scores(world, [5, 5], "submit")),
        ("POST", sheet_url(f0) + "/recuse", {"reason": "이유"}),
    ]
    for method, url, data in requests:
        response = web.client.get(url) if method == "GET" else web.post(url, data, form_url="/login")
        if role == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"], url
        else:
            assert response.status_code == 403, (method, url)
    assert count(app, ScoreSheet) == 0


@pytest.mark.parametrize("role", ["anonymous", "resident", "official", "judge"])
def test_only_organizers_use_the_judging_management_pages(app, world, role):
    with app.app_context():
        sheet = ScoreSheet(category_id=world.category, nomination_id=world.finalists[0], judge_id=world.ids["judge"],
                           status=SheetStatus.SUBMITTED, comment="")
        db.session.add(sheet)
        db.session.commit()
        sheet_id = sheet.id
    web = signed_in(app, None if role == "anonymous" else world.emails[role])
    pair = f"{world.ids['judge']}:{world.finalists[0]}"
    requests = [
        ("GET", f"/manage/events/{world.event}/judging", None),
        ("GET", f"/manage/categories/{world.category}/judges", None),
        ("POST", f"/manage/categories/{world.category}/judges", {"pairs": [pair]}),
        ("POST", f"/manage/categories/{world.category}/judges/everyone", {}),
        ("GET", f"/manage/sheets/{sheet_id}/reopen", None),
        ("POST", f"/manage/sheets/{sheet_id}/reopen", {"reason": "다시"}),
    ]
    for method, url, data in requests:
        response = web.client.get(url) if method == "GET" else web.post(url, data, form_url="/login")
        if role == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"], url
        else:
            assert response.status_code == 403, (method, url)
    assert count(app, JudgeAssignment) == 0
    assert sheets(app)[(world.ids["judge"], world.finalists[0])][0] == "submitted"


def test_a_non_finalist_or_unknown_nomination_has_no_sheet(app, world, judge):
    for nomination_id in (world.not_finalist, 999999):
        assert judge.client.get(sheet_url(nomination_id)).status_code == 404
        assert judge.post(sheet_url(nomination_id), scores(world, [1, 1], "submit")).status_code == 404
    draft = build(app, state="draft")
    assert judge.client.get(sheet_url(draft.finalists[0])).status_code == 404
    assert count(app, ScoreSheet) == 0


# ---------------------------------------------------------------------------
# Bad input: nothing saved


BAD_SHEETS = [
    ("missing", lambda w: scores(w, [5, ""], "submit"), "score_{1}", "Enter a score to submit the sheet."),
    ("missing field", lambda w: {**scores(w, [5], "submit")}, "score_{1}", "Enter a score to submit the sheet."),
    ("above max", lambda w: scores(w, [11, 5], "submit"), "score_{0}", "Enter a number from 0 to 10."),
    ("above max in a draft", lambda w: scores(w, [5, 99], "draft"), "score_{1}", "Enter a number from 0 to 10."),
    ("negative", lambda w: scores(w, [-1, 5], "submit"), "score_{0}", "Enter a number from 0 to 10."),
    ("not a number", lambda w: scores(w, ["열", 5], "submit"), "score_{0}", "Not a valid integer value."),
    ("decimal", lambda w: scores(w, [5, "2.5"], "draft"), "score_{1}", "Not a valid integer value."),
    ("huge", lambda w: scores(w, [5, "99999999999999999999999"], "submit"), "score_{1}", "Enter a number from 0 to 10."),
    ("overlong comment", lambda w: scores(w, [5, 5], "submit", "가" * 2001), "comment", "at most 2000 characters"),
    ("control characters", lambda w: scores(w, [5, 5], "draft", "bell\x07"), "comment", "control characters"),
]


@pytest.mark.parametrize(("data", "field", "message"), [pytest.param(d, f, m, id=i) for i, d, f, m in BAD_SHEETS])
def test_bad_sheet_input_is_refused_next_to_the_field_and_nothing_is_saved(app, world, judge, data, field, message):
    response = judge.post(sheet_url(world.finalists[0]), data(world))
    assert response.status_code == 400
    page = text(response)
    field_id = field.replace("{0}", str(world.criteria[0])).replace("{1}", str(world.criteria[1]))
    error = page.split(f'id="{field_id}-error">', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert "Nothing was saved" in page
    assert count(app, ScoreSheet) == 0 and count(app, SheetScore) == 0


def test_a_non_number_gets_a_korean_message(app, world):
    judge = signed_in(app, world.emails["judge"], english=False)
    response = judge.post(sheet_url(world.finalists[0]), scores(world, ["열", 5], "submit"))
    assert response.status_code == 400
    error = text(response).split(f'id="score_{world.criteria[0]}-error">', 1)[1].split("</p>", 1)[0]
    assert re.search(r"[가-힣]", error), error
    response = judge.post(sheet_url(world.finalists[0]), scores(world, [11, 5], "submit"))
    error = text(response).split(f'id="score_{world.criteria[0]}-error">', 1)[1].split("</p>", 1)[0]
    assert "0부터 10까지" in error, error


def test_scores_for_another_rubric_are_not_taken(app, world, judge):
    """Fields named after the person category's criterion (or an unknown id) are not this sheet's."""
    data = scores(world, [5, 5], "submit", criteria=[world.person_criteria[0], 999999])
    response = judge.post(sheet_url(world.finalists[0]), data)
    assert response.status_code == 400
    assert count(app, ScoreSheet) == 0
    response = judge.post(sheet_url(world.finalists[0]), {**data, "action": "draft"})
    assert response.status_code == 302  # an empty draft: the foreign fields are ignored
    assert sheets(app)[(world.ids["judge"], world.finalists[0])][1] == {}


def test_save_sheet_refuses_wrong_criteria_and_values(app, world):
    with app.test_request_context():
        from voting.accounts.models import User

        judge = db.session.get(User, world.ids["judge"])
        nomination = db.session.get(Nomination, world.finalists[0])
        c0, c1 = world.criteria
        bad = [
            {world.person_criteria[0]: 5, c0: 5},  # another category's criterion
            {999999: 1, c0: 1, c1: 1},
            {c0: 11, c1: 1},
            {c0: -1, c1: 1},
            {c0: "5", c1: 1},
            {c0: 5},  # incomplete on submit
        ]
        for values in bad:
            with pytest.raises(NotAllowed):
                operations.save_sheet(judge, nomination, values, submit=True)
        with pytest.raises(NotAllowed):
            operations.save_sheet(judge, nomination, {c0: 1, c1: 1}, "가" * 2001, submit=True)
        db.session.rollback()
    assert count(app, ScoreSheet) == 0


def test_a_sheet_without_csrf_token_saves_nothing(app, world, judge):
    for url, data in (
        (sheet_url(world.finalists[0]), scores(world, [5, 5], "submit")),
        (sheet_url(world.finalists[0]) + "/recuse", {"reason": "이유"}),
    ):
        response = judge.client.post(url, data=data)
        assert response.status_code == 400
    assert count(app, ScoreSheet) == 0


# ---------------------------------------------------------------------------
# Windows and the frozen event


@pytest.mark.parametrize("phase", ["before", "after"])
def test_outside_the_judging_window_nothing_is_saved(app, phase):
    world = build(app, phase=phase)
    judge = signed_in(app, world.emails["judge"])
    f0 = world.finalists[0]
    page = text(judge.client.get(sheet_url(f0)))
    assert 'id="sheet-closed"' in page and "Judging is not open now" in page and 'id="sheet-form"' not in page
    for url, data in ((sheet_url(f0), scores(world, [5, 5], "submit")), (sheet_url(f0), scores(world, [5, 5], "draft")),
                      (sheet_url(f0) + "/recuse", {"reason": "이유"})):
        response = judge.post(url, data)
        assert response.status_code == 409
        assert "is not open now" in text(response)
    assert count(app, ScoreSheet) == 0


def test_a_closed_event_takes_no_sheets(app, world, judge):
    set_event(app, world, state=EventState.CLOSED)
    response = judge.post(sheet_url(world.finalists[0]), scores(world, [5, 5], "submit"))
    assert response.status_code == 409 and "is not open now" in text(response)
    assert count(app, ScoreSheet) == 0


def test_a_frozen_event_refuses_save_submit_recuse_reopen_and_assignments(app, world, judge, organizer):
    f0, f1, f2 = world.finalists
    assert judge.post(sheet_url(f0), scores(world, [5, 5], "submit")).status_code == 302
    assert judge.post(sheet_url(f1), scores(world, [5, ""], "draft")).status_code == 302
    before = sheets(app)
    freeze(app, world)
    frozen = "The results of this event are frozen"

    page = text(judge.client.get(sheet_url(f1)))
    assert 'id="sheet-closed"' in page and frozen in page and 'id="sheet-form"' not in page
    for url, data in ((sheet_url(f1), scores(world, [5, 5], "draft")), (sheet_url(f1), scores(world, [5, 5], "submit")),
                      (sheet_url(f2), scores(world, [5, 5], "submit")), (sheet_url(f2) + "/recuse", {"reason": "이유"})):
        response = judge.post(url, data)
        assert response.status_code == 409, url
        assert frozen in text(response)
    assert "Results frozen" in text(judge.client.get("/judging"))

    sheet_id = read(app, lambda s: s.scalar(select(ScoreSheet.id).where(ScoreSheet.nomination_id == f0)))
    response = organizer.post(f"/manage/sheets/{sheet_id}/reopen", {"reason": "실수"})
    assert response.status_code == 409 and frozen in text(response)
    response = organizer.post(f"/manage/categories/{world.category}/judges", {"pairs": [f"{world.ids['judge']}:{f0}"]})
    assert response.status_code == 409 and frozen in text(response)
    assert count(app, JudgeAssignment) == 0
    with app.app_context():
        db.session.add(JudgeAssignment(category_id=world.category, judge_id=world.ids["judge"], nomination_id=f0))
        db.session.commit()
    response = organizer.post(f"/manage/categories/{world.category}/judges/everyone", {}, follow_redirects=True)
    assert frozen in text(response)
    assert count(app, JudgeAssignment) == 1
    assert sheets(app) == before
    assert audit_actions(app) == ["judging.submit"]


def test_published_event_is_locked_too(app, world, judge):
    set_event(app, world, state=EventState.PUBLISHED)
    response = judge.post(sheet_url(world.finalists[0]), scores(world, [5, 5], "submit"))
    assert response.status_code == 409 and "frozen" in text(response)
    assert count(app, ScoreSheet) == 0


# ---------------------------------------------------------------------------
# Races


def test_simultaneous_submits_of_one_sheet_make_one_locked_sheet(app, world, live_server):
    f0 = world.finalists[0]
    session = Session(live_server.url).login(world.emails["judge"], factories.PASSWORD)
    token = session.token(sheet_url(f0))
    racers = 8
    barrier = threading.Barrier(racers)
    results = [None] * racers

    def submit(i):
        barrier.wait()
        try:
            results[i] = session.post(sheet_url(f0), {"csrf_token": token, **scores(world, [i % 11, 10 - i % 11], "submit")})[0]
        except Exception as exc:  # a broken connection is a result too
            results[i] = exc

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [302] + [409] * (racers - 1), results
    saved = sheets(app)
    assert len(saved) == 1 and count(app, ScoreSheet) == 1
    status, values, _comment, _reason = saved[(world.ids["judge"], f0)]
    assert status == "submitted" and len(values) == 2
    assert audit_actions(app) == ["judging.submit"]


def test_simultaneous_first_drafts_make_one_sheet(app, world, live_server):
    f0 = world.finalists[0]
    session = Session(live_server.url).login(world.emails["judge"], factories.PASSWORD)
    token = session.token(sheet_url(f0))
    racers = 6
    barrier = threading.Barrier(racers)
    results = [None] * racers

    def save(i):
        barrier.wait()
        results[i] = session.post(sheet_url(f0), {"csrf_token": token, **scores(world, [i, i], "draft")})[0]

    threads = [threading.Thread(target=save, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [302] * racers
    assert count(app, ScoreSheet) == 1 and count(app, SheetScore) == 2


# ---------------------------------------------------------------------------
# Assignments


def test_a_subset_assignment_hides_unassigned_finalists_and_refuses_their_sheets(app, world, judge, judge2, organizer):
    f0, f1, f2 = world.finalists
    j1, j2 = world.ids["judge"], world.ids["judge2"]
    page = text(organizer.client.get(f"/manage/categories/{world.category}/judges"))
    assert 'data-mode="everyone"' in page
    assert all(f'id="pair-{j}-{n}" checked' in page for j in (j1, j2) for n in (f0, f1, f2))
    assert world.not_finalist not in [int(n) for n in re.findall(r'id="pair-\d+-(\d+)"', page)]

    response = organizer.post(f"/manage/categories/{world.category}/judges", {"pairs": [f"{j1}:{f0}", f"{j2}:{f1}", f"{j2}:{f2}"]})
    assert response.status_code == 302
    assert read(app, lambda s: {(a.judge_id, a.nomination_id) for a in s.scalars(select(JudgeAssignment))}) == {
        (j1, f0), (j2, f1), (j2, f2)}
    page = text(organizer.client.get(f"/manage/categories/{world.category}/judges"))
    assert 'data-mode="custom"' in page and f'id="pair-{j1}-{f0}" checked' in page
    assert f'id="pair-{j1}-{f1}" aria-label' in page

    # The person category keeps the default.
    assert states_on(text(judge.client.get("/judging"))) == {f0: "missing", world.person_finalist: "missing"}
    assert states_on(text(judge2.client.get("/judging"))) == {f1: "missing", f2: "missing", world.person_finalist: "missing"}
    for nomination_id in (f1, f2):
        assert judge.client.get(sheet_url(nomination_id)).status_code == 403
        assert judge.post(sheet_url(nomination_id), scores(world, [5, 5], "submit")).status_code == 403
        assert judge.post(sheet_url(nomination_id) + "/recuse", {"reason": "이유"}).status_code == 403
    assert judge2.client.get(sheet_url(f0)).status_code == 403
    assert count(app, ScoreSheet) == 0
    assert judge.post(sheet_url(f0), scores(world, [5, 5], "submit")).status_code == 302

    details = read(app, lambda s: s.scalar(select(AuditEntry.details).where(AuditEntry.action == "judging.assign")))
    assert f"[{j1},{f0}]" in details and '"removed":3' in details

    response = organizer.post(f"/manage/categories/{world.category}/judges/everyone", {})
    assert response.status_code == 302
    assert count(app, JudgeAssignment) == 0
    assert set(states_on(text(judge2.client.get("/judging")))) == {f0, f1, f2, world.person_finalist}
    assert "judging.assign_everyone" in audit_actions(app)
    # Once more: nothing to do, nothing logged.
    organizer.post(f"/manage/categories/{world.category}/judges/everyone", {})
    assert audit_actions(app).count("judging.assign_everyone") == 1


def test_assignment_grid_refusals(app, world, judge, organizer):
    f0, f1, _f2 = world.finalists
    j1, j2 = world.ids["judge"], world.ids["judge2"]
    url = f"/manage/categories/{world.category}/judges"
    response = organizer.post(url, {})
    assert response.status_code == 409 and "Tick at least one box" in text(response)
    for bad in (f"{j1}:{world.not_finalist}", f"{world.ids['resident']}:{f0}", f"{j1}:{world.person_finalist}", "x:y"):
        response = organizer.post(url, {"pairs": [bad]})
        assert response.status_code == 400, bad
    assert count(app, JudgeAssignment) == 0

    # A pair with a submitted sheet cannot be removed; reopening it first makes that possible.
    assert judge.post(sheet_url(f1), scores(world, [5, 5], "submit")).status_code == 302
    response = organizer.post(url, {"pairs": [f"{j1}:{f0}", f"{j2}:{f1}"]})
    assert response.status_code == 409 and "reopen that sheet" in text(response)
    assert count(app, JudgeAssignment) == 0
    # The page shows what was ticked, not what is stored.
    assert f'id="pair-{j2}-{f1}" checked' in text(response) and f'id="pair-{j1}-{f1}" checked' not in text(response)
    assert organizer.post(url, {"pairs": [f"{j1}:{f0}", f"{j1}:{f1}"]}).status_code == 302
    assert count(app, JudgeAssignment) == 2


def test_disabled_judges_drop_out_of_the_default(app, world, judge2):
    with app.app_context():
        from voting.accounts.models import User

        db.session.get(User, world.ids["judge"]).is_enabled = False
        db.session.commit()
    with app.app_context():
        category = db.session.get(Event, world.event).categories[0]
        pairs = operations.assignment_pairs(category)
    assert {j for j, _n in pairs} == {world.ids["judge2"]}


# ---------------------------------------------------------------------------
# Reopening


def test_organizer_reopens_a_submitted_sheet_which_keeps_its_scores(app, world, judge, organizer):
    f0 = world.finalists[0]
    assert judge.post(sheet_url(f0), scores(world, [9, 4], "submit", "처음")).status_code == 302
    sheet_id = read(app, lambda s: s.scalar(select(ScoreSheet.id)))
    url = f"/manage/sheets/{sheet_id}/reopen"
    page = text(organizer.client.get(url))
    assert 'data-state="submitted"' in page and 'id="reopen"' in page
    for reason in ("", "가" * 501):
        assert organizer.post(url, {"reason": reason}).status_code == 400
    assert sheets(app)[(world.ids["judge"], f0)][0] == "submitted"

    response = organizer.post(url, {"reason": "점수 입력 실수 신고"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/manage/events/{world.event}/judging")
    assert sheets(app)[(world.ids["judge"], f0)] == ("draft", {world.criteria[0]: 9, world.criteria[1]: 4}, "처음", None)
    assert read(app, lambda s: s.scalar(select(ScoreSheet.submitted_at))) is None
    details = read(app, lambda s: s.scalar(select(AuditEntry.details).where(AuditEntry.action == "judging.reopen")))
    assert "점수 입력 실수 신고" in details and '"from":"submitted"' in details
    assert organizer.post(url, {"reason": "또"}).status_code == 409  # a draft already

    assert judge.post(sheet_url(f0), scores(world, [9, 5], "submit", "고침")).status_code == 302
    assert sheets(app)[(world.ids["judge"], f0)][0:2] == ("submitted", {world.criteria[0]: 9, world.criteria[1]: 5})


def test_organizer_reopens_a_recusal(app, world, judge, organizer):
    f0 = world.finalists[0]
    assert judge.post(sheet_url(f0) + "/recuse", {"reason": "착오"}).status_code == 302
    sheet_id = read(app, lambda s: s.scalar(select(ScoreSheet.id)))
    assert "착오" in text(organizer.client.get(f"/manage/sheets/{sheet_id}/reopen"))
    assert organizer.post(f"/manage/sheets/{sheet_id}/reopen", {"reason": "회피 철회 요청"}).status_code == 302
    assert sheets(app)[(world.ids["judge"], f0)] == ("draft", {}, "", None)
    assert 'id="sheet-form"' in text(judge.client.get(sheet_url(f0)))
    assert organizer.client.get("/manage/sheets/999999/reopen").status_code == 404


# ---------------------------------------------------------------------------
# Progress and secrecy


def progress_setup(app, world, judge, judge2):
    f0, f1, _f2 = world.finalists
    assert judge.post(sheet_url(f0), scores(world, [9, 2], "submit", SECRET_COMMENT)).status_code == 302
    assert judge.post(sheet_url(f1), scores(world, [3, ""], "draft")).status_code == 302
    assert judge2.post(sheet_url(f0) + "/recuse", {"reason": "가족이 참여한 사업"}).status_code == 302


def test_progress_page_counts_per_judge_and_finalist(app, world, judge, judge2, organizer):
    progress_setup(app, world, judge, judge2)
    f0, f1, f2 = world.finalists
    j1, j2 = world.ids["judge"], world.ids["judge2"]
    page = text(organizer.client.get(f"/manage/events/{world.event}/judging"))
    cells = dict(((int(j), int(n)), s) for j, n, s in re.findall(r'id="cell-(\d+)-(\d+)" data-state="(\w+)"', page))
    assert cells == {
        (j1, f0): "submitted", (j1, f1): "draft", (j1, f2): "missing",
        (j2, f0): "recused", (j2, f1): "missing", (j2, f2): "missing",
        (j1, world.person_finalist): "missing", (j2, world.person_finalist): "missing",
    }
    section = page.split(f'id="category-{world.category}"', 1)[1].split("</section>", 1)[0]
    totals = dict(re.findall(r'<li data-state="(\w+)">[^<]*<span class="count">(\d+)</span>', section))
    assert totals == {"submitted": "1", "draft": "1", "recused": "1", "missing": "3"}
    per_finalist = dict(((int(n), s), int(c)) for n, s, c in re.findall(r'data-finalist="(\d+)" data-count="(\w+)">(\d+)<', section))
    assert per_finalist[(f0, "submitted")] == 1 and per_finalist[(f0, "recused")] == 1 and per_finalist[(f0, "missing")] == 0
    assert per_finalist[(f2, "missing")] == 2
    per_judge = dict(((int(j), s), int(c)) for j, s, c in re.findall(r'data-judge="(\d+)" data-count="(\w+)">(\d+)<', section))
    assert per_judge[(j1, "submitted")] == 1 and per_judge[(j1, "draft")] == 1 and per_judge[(j1, "missing")] == 1
    assert per_judge[(j2, "recused")] == 1 and per_judge[(j2, "missing")] == 2
    # Reopen links for the locked sheets only; no scores, no comments.
    assert len(re.findall(r'href="/manage/sheets/\d+/reopen"', section)) == 2
    assert SECRET_COMMENT not in page
    # The event page links here and to each category's judges.
    show = text(organizer.client.get(f"/manage/events/{world.event}"))
    assert f'href="/manage/events/{world.event}/judging"' in show
    assert f'href="/manage/categories/{world.category}/judges"' in show


def test_judges_never_see_other_judges_scores(app, world, judge, judge2):
    progress_setup(app, world, judge, judge2)
    f0 = world.finalists[0]
    pages = [
        judge2.client.get("/judging"),
        judge2.client.get(sheet_url(f0)),
        judge2.client.get(sheet_url(world.finalists[1])),
        judge2.client.get(f"/nominations/{f0}"),
        judge2.client.get(f"/events/{world.event}"),
        judge2.client.get(f"/events/{world.event}/finalists"),
        judge2.client.get("/"),
    ]
    for response in pages:
        page = text(response)
        assert response.status_code == 200
        assert SECRET_COMMENT not in page
        assert not re.search(r'name="score_\d+"[^>]*value="\d', page) and 'id="own-scores"' not in page
    # The second judge's own sheet for another finalist starts empty, not with the first judge's numbers.
    form = text(judge2.client.get(sheet_url(world.finalists[1])))
    assert not re.search(rf'name="score_{world.criteria[0]}"[^>]*value="\d', form)
    # The management pages are closed to judges.
    assert judge2.client.get(f"/manage/events/{world.event}/judging").status_code == 403


# ---------------------------------------------------------------------------
# What the results side reads


def test_submitted_sheets_and_recusals(app, world, judge, judge2):
    f0, f1, f2 = world.finalists
    c0, c1 = world.criteria
    j1, j2 = world.ids["judge"], world.ids["judge2"]
    assert judge.post(sheet_url(f0), scores(world, [9, 2], "submit")).status_code == 302
    assert judge.post(sheet_url(f1), scores(world, [3, 4], "draft")).status_code == 302
    assert judge.post(sheet_url(f2), scores(world, [10, 0], "submit")).status_code == 302
    assert judge2.post(sheet_url(f0) + "/recuse", {"reason": "이해충돌"}).status_code == 302
    assert judge2.post(sheet_url(f1), scores(world, [0, 10], "submit")).status_code == 302
    assert judge2.post(sheet_url(world.person_finalist), scores(world, [7], "submit", criteria=world.person_criteria)).status_code == 302
    with app.app_context():
        event = db.session.get(Event, world.event)
        practice, person = event.categories
        assert operations.submitted_sheets(practice) == [
            (j1, f0, {c0: 9, c1: 2}), (j1, f2, {c0: 10, c1: 0}), (j2, f1, {c0: 0, c1: 10})]
        assert operations.recusals(practice) == [(j2, f0)]
        assert operations.submitted_sheets(person) == [(j2, world.person_finalist, {world.person_criteria[0]: 7})]
        assert operations.recusals(person) == []
        # A finalist withdrawn afterwards no longer counts.
        db.session.get(Nomination, f2).state = NominationState.WITHDRAWN
        db.session.commit()
        assert [s[1] for s in operations.submitted_sheets(practice)] == [f0, f1]
