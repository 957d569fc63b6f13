"""After freezing, every write that could change the results is refused: one test per write path.

The event is the hand-made one of tests/results_helpers.py, plus what the write paths need
(a voter who has not voted, an unused on-site code, an on-site session left open, a spare
category, a nomination still in screening, a judge with a draft), frozen by the real
operation. Each test signs in as whoever may normally do the write, makes the request as a
browser would, and checks the refusal and that not one row of the database changed.
"""
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from tests import factories
from tests.conftest import Browserless, database_rows
from tests.results_helpers import freeze, hand_made_event
from voting.accounts.models import User
from voting.ballots import operations as ballots
from voting.ballots.models import OnsiteCodeBatch, OnsiteSession
from voting.ballots.routes import ONSITE_SESSION_KEY
from voting.events.models import AwardTier, Category, CategoryKind, Event, EventState
from voting.events.operations import EventLocked, change_event_state
from voting.extensions import db
from voting.judging import operations as judging
from voting.judging.models import ScoreSheet, SheetStatus
from voting.nominations.models import Nomination

FROZEN = "The results of this event are frozen; this can no longer change."
VOTING_ENDED = "The results are frozen; voting has ended."


@dataclass
class World:
    event_id: int
    practice: int
    person: int
    spare_category: int
    spare_field: int
    field: int
    finalists: dict
    submitted: int            # a nomination still waiting for screening
    organizer: str
    nominator: str            # the resident who nominated `submitted`
    voter: str                # a resident who has not voted yet
    judge_with_draft: str     # J3: a draft for C, nothing for A
    judge_submitted: str      # J1: submitted sheets for A, B, C
    code_id: int              # an unused on-site code
    batch_id: int
    submitted_sheet: int      # J1's sheet for A
    draft_sheet: int          # J3's sheet for C


def build(app):
    hand = hand_made_event(app, close=False)
    with app.app_context():
        event = db.session.get(Event, hand.event_id)
        practice = db.session.get(Category, hand.category_id)
        spare = Category(event=event, name="예비 부문", kind=CategoryKind.PRACTICE, position=2, max_approvals=1,
                         tiers=[AwardTier(name="장려상", count=1, position=0)])
        db.session.add(spare)
        nominator = factories.user("resident")
        submitted = factories.nomination(event.id, nominator_id=nominator.id, title="검토 중인 후보")
        voter = factories.user("resident")
        organizer = db.session.get(User, hand.organizer_id)
        batch, plain = ballots.create_code_batch(event, "resident", 1, "예비", organizer)
        ballots.open_onsite_voting(practice, None, organizer)  # left open: closing it must be refused
        j1, _j2, j3 = (db.session.get(User, i) for i in hand.judge_ids)
        sheets = {(s.judge_id, s.nomination_id): s.id for s in db.session.scalars(select(ScoreSheet))}
        change_event_state(event, EventState.CLOSED)
        db.session.commit()
        world = World(
            event_id=event.id, practice=practice.id, person=hand.person_category_id, spare_category=spare.id,
            spare_field=event.fields[2].id, field=event.fields[0].id, finalists=hand.finalists,
            submitted=submitted.id, organizer=organizer.email, nominator=nominator.email, voter=voter.email,
            judge_with_draft=j3.email, judge_submitted=j1.email, code_id=ballots.find_code(event, plain[0]).id,
            batch_id=batch.id, submitted_sheet=sheets[(j1.id, hand.finalists["A"])],
            draft_sheet=sheets[(j3.id, hand.finalists["C"])],
        )
    freeze(app, world.event_id, hand.organizer_id)
    with app.app_context():
        assert db.session.get(Event, world.event_id).state == EventState.FROZEN
    return world


@pytest.fixture
def world(app):
    return build(app)



class Attempt:
    """A client signed in as someone, in English; check() makes one request and proves it changed nothing."""

    def __init__(self, app, email=None):
        self.app = app
        self.web = Browserless(app.test_client())
        if email:
            assert self.web.login(email).status_code == 302
        self.web.post("/language", {"lang": "en", "next": "/"}, form_url="/")

    def post(self, url, data=None, **kwargs):
        before = database_rows(self.app)
        response = self.web.post(url, data, form_url="/", **kwargs)
        assert database_rows(self.app) == before, "a refused write changed the database"
        return response, response.get_data(as_text=True)

    def get(self, url):
        response = self.web.client.get(url)
        return response, response.get_data(as_text=True)


def refused_with(response_text, message):
    response, text = response_text
    assert message in text, text[:3000]
    return response


# ---------------------------------------------------------------- ballots, codes, sessions, paper


def test_online_ballot_is_refused(app, world):
    voter = Attempt(app, world.voter)
    response, text = voter.get(f"/categories/{world.person}/vote")
    assert response.status_code == 403 and VOTING_ENDED in text
    data = {"approvals": [str(world.finalists["P2"])], "action": "cast"}
    assert refused_with(voter.post(f"/categories/{world.person}/vote/cast", data), VOTING_ENDED).status_code == 403


def test_onsite_ballot_is_refused(app, world):
    visitor = Attempt(app)
    with visitor.web.client.session_transaction() as session:
        session[ONSITE_SESSION_KEY] = {"event_id": world.event_id, "code_id": world.code_id}
    data = {"approvals": [str(world.finalists["A"])], "action": "cast"}
    url = f"/onsite/{world.event_id}/categories/{world.practice}/cast"
    assert refused_with(visitor.post(url, data), VOTING_ENDED).status_code == 403


def test_code_batch_creation_is_refused(app, world):
    organizer = Attempt(app, world.organizer)
    data = {"group": "resident", "size": "5", "label": "추가"}
    assert refused_with(organizer.post(f"/manage/events/{world.event_id}/codes", data), FROZEN).status_code == 200


def test_code_batch_revocation_is_refused(app, world):
    organizer = Attempt(app, world.organizer)
    refused_with(organizer.post(f"/manage/code-batches/{world.batch_id}/revoke", follow_redirects=True), FROZEN)
    with app.app_context():
        assert db.session.get(OnsiteCodeBatch, world.batch_id).revoked_at is None


def test_onsite_opening_is_refused(app, world):
    organizer = Attempt(app, world.organizer)
    refused_with(organizer.post(f"/manage/categories/{world.person}/onsite/open", {"minutes": "30"},
                                follow_redirects=True), FROZEN)


def test_onsite_closing_is_refused(app, world):
    organizer = Attempt(app, world.organizer)
    refused_with(organizer.post(f"/manage/categories/{world.practice}/onsite/close", follow_redirects=True), FROZEN)
    with app.app_context():
        sessions = db.session.scalars(select(OnsiteSession).where(OnsiteSession.category_id == world.practice).order_by(OnsiteSession.id)).all()
        assert [s.closed_at is None for s in sessions] == [False, True], "the open session is still open"


def test_paper_totals_are_refused(app, world):
    organizer = Attempt(app, world.organizer)
    a, b, c = (world.finalists[x] for x in "ABC")
    data = {"ballots": "40", f"count_{a}": "1", f"count_{b}": "30", f"count_{c}": "2"}
    refused_with(organizer.post(f"/manage/categories/{world.practice}/paper/resident", data), FROZEN)


# ---------------------------------------------------------------- event, categories, fields


def category_data(name="협치 우수사례"):
    return {
        "name": name, "description": "", "kind": "practice", "max_approvals": "2",
        "weight_resident": "20", "weight_official": "20", "weight_judges": "60",
        "vote_normalization": "share", "judge_aggregation": "mean",
        "tie_break_1": "resident", "tie_break_2": "judges", "tie_break_3": "",
        "tiers-0-name": "대상", "tiers-0-count": "2",
        "criteria-0-name": "협치성", "criteria-0-weight": "1", "criteria-0-max_score": "10",
    }


EVENT_DATA = {
    "name": "바꾸려는 이름", "year": "2019", "description": "",
    "nominate_opens_at": "2019-11-01T14:00", "nominate_closes_at": "2019-11-20T18:00",
    "vote_opens_at": "2019-12-01T09:00", "vote_closes_at": "2019-12-13T18:30",
    "judge_opens_at": "2019-12-13T14:00", "judge_closes_at": "2019-12-13T17:00",
}


def test_category_edit_is_refused(app, world):
    organizer = Attempt(app, world.organizer)
    refused_with(organizer.post(f"/manage/categories/{world.practice}/edit", category_data()), FROZEN)


def test_category_creation_is_refused(app, world):
    organizer = Attempt(app, world.organizer)
    refused_with(organizer.post(f"/manage/events/{world.event_id}/categories/new", category_data("새 부문")), FROZEN)


def test_category_deletion_is_refused(app, world):
    organizer = Attempt(app, world.organizer)
    refused_with(organizer.post(f"/manage/categories/{world.spare_category}/delete", follow_redirects=True), FROZEN)


def test_event_edit_is_refused(app, world):
    organizer = Attempt(app, world.organizer)
    refused_with(organizer.post(f"/manage/events/{world.event_id}/edit", EVENT_DATA), FROZEN)


def test_event_state_change_is_refused(app, world):
    organizer = Attempt(app, world.organizer)
    refused_with(organizer.post(f"/manage/events/{world.event_id}/state", {"state": "open"}, follow_redirects=True), FROZEN)


def test_field_addition_is_refused(app, world):
    organizer = Attempt(app, world.organizer)
    refused_with(organizer.post(f"/manage/events/{world.event_id}/fields", {"name": "도시안전"}), FROZEN)


def test_field_deletion_is_refused(app, world):
    organizer = Attempt(app, world.organizer)
    refused_with(organizer.post(f"/manage/fields/{world.spare_field}/delete", follow_redirects=True), FROZEN)


# ---------------------------------------------------------------- nominations


def nomination_data(world, title):
    return {"category_id": str(world.practice), "title": title, "summary": "요약", "description": "설명",
            "field_id": str(world.field), "department_id": "", "submission_key": "freeze-test"}


def test_nomination_creation_is_refused(app, world):
    resident = Attempt(app, world.nominator)
    response = refused_with(resident.post(f"/events/{world.event_id}/nominate", nomination_data(world, "새 후보")),
                            "Nominations are not open")
    assert response.status_code == 403


def test_nomination_edit_is_refused(app, world):
    resident = Attempt(app, world.nominator)
    refused_with(resident.post(f"/nominations/{world.submitted}/edit", nomination_data(world, "고친 제목"),
                               follow_redirects=True), "can no longer be changed")


def test_nomination_withdrawal_is_refused(app, world):
    resident = Attempt(app, world.nominator)
    refused_with(resident.post(f"/nominations/{world.submitted}/withdraw", follow_redirects=True),
                 "frozen; nominations can no longer change")


def test_nomination_screening_is_refused(app, world):
    organizer = Attempt(app, world.organizer)
    refused_with(organizer.post(f"/manage/nominations/{world.submitted}/screen", {"decision": "finalist", "note": ""}),
                 "frozen")
    with app.app_context():
        assert db.session.get(Nomination, world.submitted).state.value == "submitted"


# ---------------------------------------------------------------- judging


def sheet_data(app, world, action, letter="C"):
    with app.app_context():
        criteria = db.session.get(Category, world.practice).criteria
    return {**{f"score_{c.id}": "10" for c in criteria}, "comment": "", "action": action}


def test_judge_draft_save_is_refused(app, world):
    judge = Attempt(app, world.judge_with_draft)
    url = f"/judging/finalists/{world.finalists['C']}"
    assert refused_with(judge.post(url, sheet_data(app, world, "draft")), FROZEN).status_code == 409


def test_judge_sheet_submission_is_refused(app, world):
    judge = Attempt(app, world.judge_with_draft)
    url = f"/judging/finalists/{world.finalists['C']}"
    assert refused_with(judge.post(url, sheet_data(app, world, "submit")), FROZEN).status_code == 409
    with app.app_context():
        assert db.session.get(ScoreSheet, world.draft_sheet).status == SheetStatus.DRAFT


def test_judge_recusal_is_refused(app, world):
    judge = Attempt(app, world.judge_with_draft)
    url = f"/judging/finalists/{world.finalists['A']}/recuse"
    assert refused_with(judge.post(url, {"reason": "이해관계가 있습니다."}), FROZEN).status_code == 409


def test_sheet_reopening_is_refused(app, world):
    organizer = Attempt(app, world.organizer)
    response = refused_with(organizer.post(f"/manage/sheets/{world.submitted_sheet}/reopen", {"reason": "점수 오기"}), FROZEN)
    assert response.status_code == 409
    with app.app_context():
        assert db.session.get(ScoreSheet, world.submitted_sheet).status == SheetStatus.SUBMITTED


def test_judge_assignment_is_refused(app, world):
    organizer = Attempt(app, world.organizer)
    with app.app_context():
        judge_id = db.session.scalar(select(User.id).where(User.email == world.judge_with_draft))
    data = {"pairs": [f"{judge_id}:{world.finalists['A']}"]}
    refused_with(organizer.post(f"/manage/categories/{world.practice}/judges", data), FROZEN)
    refused_with(organizer.post(f"/manage/categories/{world.practice}/judges/everyone", follow_redirects=True), FROZEN)


def test_sheet_operations_refuse_a_frozen_event(app, world):
    """The operations themselves, below the routes, raise EventLocked."""
    with app.app_context():
        judge = db.session.scalar(select(User).where(User.email == world.judge_with_draft))
        finalist = db.session.get(Nomination, world.finalists["C"])
        with pytest.raises(EventLocked):
            judging.save_sheet(judge, finalist, {}, submit=False)
        with pytest.raises(EventLocked):
            judging.recuse_from_finalist(judge, db.session.get(Nomination, world.finalists["A"]), "사유")
        with pytest.raises(EventLocked):
            judging.reopen_sheet(db.session.get(ScoreSheet, world.submitted_sheet), "사유")
        db.session.rollback()


# ---------------------------------------------------------------- results


def test_tie_decision_is_refused(app, world):
    organizer = Attempt(app, world.organizer)
    data = {"finalists": f"{world.finalists['B']},{world.finalists['C']}", "method": "joint", "confirmed": "yes"}
    refused_with(organizer.post(f"/manage/categories/{world.practice}/ties", data, follow_redirects=True), FROZEN)


def test_published_results_stay_locked(app, world):
    organizer = Attempt(app, world.organizer)
    organizer.web.post(f"/manage/events/{world.event_id}/results/publish", {"confirmed": "yes"}, form_url="/")
    with app.app_context():
        assert db.session.get(Event, world.event_id).state == EventState.PUBLISHED
    refused_with(organizer.post(f"/manage/categories/{world.practice}/edit", category_data()), FROZEN)
    a, b, c = (world.finalists[x] for x in "ABC")
    data = {"ballots": "40", f"count_{a}": "1", f"count_{b}": "30", f"count_{c}": "2"}
    refused_with(organizer.post(f"/manage/categories/{world.practice}/paper/official", data), FROZEN)
