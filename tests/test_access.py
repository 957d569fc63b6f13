"""Who may use which route: one table, checked against the app's URL map and request by request.

ROUTES below is the access table of the issue "for every route, a table of who may use it
(anonymous, resident, official, judge, organizer) and a test that each refused role is refused".
Every (endpoint, method) of ``app.url_map`` except ``static`` needs a row, so a new route cannot
be added without deciding who may use it.

A refused role gets, as the row says:
- anonymous: a redirect to ``/login?next=<the page>``, or 404 where the page hides that it exists;
- a signed-in role: 403, or 404 where the page hides that it exists.
Refused POSTs carry a valid CSRF token and form data that would work for an allowed role (the
allowed-role tests check that it does change the database), and must change nothing at all.
"""
import io
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from tests import factories
from tests.conftest import Browserless, app_on_empty_tables, csrf_token, database_rows
from voting.accounts import operations as account_operations
from voting.accounts.models import Role, User, VotingGroup
from voting.ballots import codes
from voting.ballots.models import OnsiteCode, OnsiteCodeBatch, OnsiteSession
from voting.ballots.routes import ONSITE_SESSION_KEY
from voting.database import utcnow
from voting.events.models import Department
from voting.exports.models import CertificateTemplate
from voting.extensions import db, limiter
from voting.judging.models import JudgeAssignment, ScoreSheet, SheetScore, SheetStatus
from voting.nominations.models import Nomination, NominationPhoto, NominationState
from voting.results import operations as results_operations

from tests.access import extend_world, extra_routes
from tests.access.table import (  # noqa: F401
    ANONYMOUS, EVERYONE, JUDGE, LOGIN, NOBODY, NOMINATORS, OFFICIAL, ORGANIZER, ORGANIZERS, RESIDENT, ROLES,
    SIGNED_IN, STAFF, Route, confirmed, no_data,
)

# One cheap hash for every account of the world: the default scrypt costs ~50 ms per user.
FAST_PASSWORD_HASH = generate_password_hash(factories.PASSWORD, method="pbkdf2:sha256:1")
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
ONSITE_CODE = "ACCE-SS2T-EST"
DRAFT_ONSITE_CODE = "DRAF-T2TE-STS"


def new_event_data(_w):
    return {
        "name": "2020 협치 성과 공유 파티",
        "year": "2020",
        "description": "",
        "nominate_opens_at": "2020-10-01T09:00",
        "nominate_closes_at": "2020-10-31T18:00",
        "vote_opens_at": "2020-11-10T09:00",
        "vote_closes_at": "2020-11-30T18:00",
        "judge_opens_at": "2020-11-10T09:00",
        "judge_closes_at": "2020-12-10T18:00",
    }


def edit_event_data(w):
    return {**new_event_data(w), "name": "이름을 바꾼 행사", "year": "2019"}


def category_data(_w, name="주민 참여 부문"):
    return {
        "name": name,
        "description": "",
        "kind": "practice",
        "max_approvals": "1",
        "weight_resident": "40",
        "weight_official": "20",
        "weight_judges": "40",
        "vote_normalization": "top",
        "judge_aggregation": "mean",
        "tie_break_1": "judges",
        "tie_break_2": "resident",
        "tie_break_3": "official",
        "tiers-0-name": "대상",
        "tiers-0-count": "1",
        "criteria-0-name": "협치성",
        "criteria-0-weight": "1",
        "criteria-0-max_score": "10",
    }


def nomination_data(w, title="새 후보: 마을 공유부엌"):
    return {
        "category_id": str(w.category),
        "title": title,
        "summary": "주민과 구청이 함께 운영한 공유부엌",
        "description": "무엇을, 누구와, 어떤 결과를 냈는지",
        "field_id": str(w.field),
        "department_id": "",
        "submission_key": "access-test-key",
    }


def new_password_data(_w):
    return {"password": "a-new-long-password", "password_confirm": "a-new-long-password"}


def with_onsite_code(event_attr, code_attr):
    """A client that has typed a valid on-site code for the event, as onsite_start remembers it."""

    def setup(web, w):
        with web.client.session_transaction() as session:
            session[ONSITE_SESSION_KEY] = {"event_id": getattr(w, event_attr), "code_id": getattr(w, code_attr)}

    return setup


def choose_finalist(w):
    return {"approvals": [str(w.vote_finalists[0])]}


def cast_finalist(w):
    return {"approvals": [str(w.vote_finalists[0])], "action": "cast"}


def csv_upload(_w):
    return {"role": "official", "file": (io.BytesIO("김공무,kim@gu.example,환경과\n".encode()), "invite.csv")}


# The access table. URLs are built from the world fixture below.
ROUTES = [
    # Public pages
    Route("public.home", "GET", lambda w: "/", EVERYONE),
    Route("public.event", "GET", lambda w: f"/events/{w.event}", EVERYONE),
    Route("public.event", "GET", lambda w: f"/events/{w.draft_event}", ORGANIZERS,
          hidden=EVERYONE - ORGANIZERS, note="draft event"),
    Route("public.gallery", "GET", lambda w: f"/events/{w.event}/finalists", EVERYONE),
    Route("public.gallery", "GET", lambda w: f"/events/{w.draft_event}/finalists", ORGANIZERS,
          hidden=EVERYONE - ORGANIZERS, note="draft event"),
    # Accounts
    Route("accounts.signup", "GET", lambda w: "/signup", EVERYONE, note="signed in: sent home"),
    Route("accounts.signup", "POST", lambda w: "/signup", EVERYONE,
          data=lambda w: {"name": "새 주민", "email": "new@test.example", **new_password_data(w)},
          changes=frozenset({ANONYMOUS}), note="signed in: sent home"),
    Route("accounts.verify_email", "GET", lambda w: f"/verify/{w.verify_token}", EVERYONE,
          changes=EVERYONE, note="the token is the permission"),
    Route("accounts.resend_verification", "POST", lambda w: "/verify/resend", frozenset({RESIDENT}), data=no_data),
    Route("accounts.login", "GET", lambda w: "/login", EVERYONE),
    Route("accounts.login", "POST", lambda w: "/login", EVERYONE,
          data=lambda w: {"email": w.emails[RESIDENT], "password": factories.PASSWORD}),
    Route("accounts.logout", "POST", lambda w: "/logout", SIGNED_IN, data=no_data),
    Route("accounts.forgot_password", "GET", lambda w: "/password/forgot", EVERYONE),
    Route("accounts.forgot_password", "POST", lambda w: "/password/forgot", EVERYONE,
          data=lambda w: {"email": w.other_resident_email}),
    Route("accounts.reset_password", "GET", lambda w: f"/password/reset/{w.reset_token}", EVERYONE,
          note="the token is the permission"),
    Route("accounts.reset_password", "POST", lambda w: f"/password/reset/{w.reset_token}", EVERYONE,
          data=new_password_data, changes=EVERYONE, note="the token is the permission"),
    Route("accounts.accept_invitation", "GET", lambda w: f"/invitation/{w.invitation_token}", EVERYONE,
          note="the token is the permission"),
    Route("accounts.accept_invitation", "POST", lambda w: f"/invitation/{w.invitation_token}", EVERYONE,
          data=new_password_data, changes=EVERYONE, note="the token is the permission"),
    Route("accounts.account", "GET", lambda w: "/account", SIGNED_IN),
    Route("accounts.set_language", "POST", lambda w: "/language", EVERYONE, data=lambda w: {"lang": "en"}),
    # Organizer: events, categories, fields, departments
    Route("events.list_events", "GET", lambda w: "/manage/events", ORGANIZERS),
    Route("events.new_event", "GET", lambda w: "/manage/events/new", ORGANIZERS),
    Route("events.new_event", "POST", lambda w: "/manage/events/new", ORGANIZERS,
          data=new_event_data, changes=ORGANIZERS),
    Route("events.show_event", "GET", lambda w: f"/manage/events/{w.event}", ORGANIZERS),
    Route("events.edit_event", "GET", lambda w: f"/manage/events/{w.event}/edit", ORGANIZERS),
    Route("events.edit_event", "POST", lambda w: f"/manage/events/{w.event}/edit", ORGANIZERS,
          data=edit_event_data, changes=ORGANIZERS),
    Route("events.change_state", "POST", lambda w: f"/manage/events/{w.event}/state", ORGANIZERS,
          data=lambda w: {"state": "closed"}, changes=ORGANIZERS),
    Route("events.new_category", "GET", lambda w: f"/manage/events/{w.event}/categories/new", ORGANIZERS),
    Route("events.new_category", "POST", lambda w: f"/manage/events/{w.event}/categories/new", ORGANIZERS,
          data=category_data, changes=ORGANIZERS),
    Route("events.edit_category", "GET", lambda w: f"/manage/categories/{w.category}/edit", ORGANIZERS),
    Route("events.edit_category", "POST", lambda w: f"/manage/categories/{w.category}/edit", ORGANIZERS,
          data=lambda w: category_data(w, "이름을 바꾼 부문"), changes=ORGANIZERS),
    Route("events.delete_category", "POST", lambda w: f"/manage/categories/{w.spare_category}/delete", ORGANIZERS,
          data=no_data, changes=ORGANIZERS),
    Route("events.fields", "GET", lambda w: f"/manage/events/{w.event}/fields", ORGANIZERS),
    Route("events.fields", "POST", lambda w: f"/manage/events/{w.event}/fields", ORGANIZERS,
          data=lambda w: {"name": "도시안전"}, changes=ORGANIZERS),
    Route("events.delete_field", "POST", lambda w: f"/manage/fields/{w.spare_field}/delete", ORGANIZERS,
          data=no_data, changes=ORGANIZERS),
    Route("events.departments", "GET", lambda w: "/manage/departments", ORGANIZERS),
    Route("events.departments", "POST", lambda w: "/manage/departments", ORGANIZERS,
          data=lambda w: {"name": "자치행정과"}, changes=ORGANIZERS),
    Route("events.delete_department", "POST", lambda w: f"/manage/departments/{w.spare_department}/delete",
          ORGANIZERS, data=no_data, changes=ORGANIZERS),
    # Nominations
    Route("nominations.nominate", "GET", lambda w: f"/events/{w.event}/nominate", NOMINATORS),
    Route("nominations.nominate", "GET", lambda w: f"/events/{w.draft_event}/nominate", NOBODY,
          hidden=NOMINATORS, note="draft event"),
    Route("nominations.nominate", "POST", lambda w: f"/events/{w.event}/nominate", NOMINATORS,
          data=nomination_data, changes=NOMINATORS),
    Route("nominations.mine", "GET", lambda w: "/my/nominations", NOMINATORS),
    Route("nominations.edit", "GET", lambda w: f"/nominations/{w.submitted}/edit", frozenset({RESIDENT}),
          note="the resident is its nominator"),
    Route("nominations.edit", "POST", lambda w: f"/nominations/{w.submitted}/edit", frozenset({RESIDENT}),
          data=lambda w: nomination_data(w, "고친 제목"), changes=frozenset({RESIDENT}),
          note="the resident is its nominator"),
    Route("nominations.withdraw", "POST", lambda w: f"/nominations/{w.submitted}/withdraw", frozenset({RESIDENT}),
          data=no_data, changes=frozenset({RESIDENT}), note="the resident is its nominator"),
    Route("nominations.show", "GET", lambda w: f"/nominations/{w.finalist}", EVERYONE, note="finalist"),
    Route("nominations.show", "GET", lambda w: f"/nominations/{w.submitted}", frozenset({RESIDENT, ORGANIZER}),
          hidden=frozenset({ANONYMOUS, OFFICIAL, JUDGE, STAFF}), note="not a finalist; the resident is its nominator"),
    Route("nominations.show", "GET", lambda w: f"/nominations/{w.draft_finalist}", frozenset({RESIDENT, ORGANIZER}),
          hidden=frozenset({ANONYMOUS, OFFICIAL, JUDGE, STAFF}), note="finalist of a draft event"),
    Route("nominations.photo", "GET", lambda w: f"/nominations/{w.finalist}/photo", EVERYONE, note="finalist"),
    Route("nominations.photo", "GET", lambda w: f"/nominations/{w.submitted}/photo",
          frozenset({RESIDENT, ORGANIZER}), hidden=frozenset({ANONYMOUS, OFFICIAL, JUDGE, STAFF}),
          note="not a finalist; the resident is its nominator"),
    Route("nominations.screening_list", "GET", lambda w: f"/manage/events/{w.event}/nominations", ORGANIZERS),
    Route("nominations.screen", "GET", lambda w: f"/manage/nominations/{w.submitted}/screen", ORGANIZERS),
    Route("nominations.screen", "POST", lambda w: f"/manage/nominations/{w.submitted}/screen", ORGANIZERS,
          data=lambda w: {"decision": "finalist", "note": ""}, changes=ORGANIZERS),
    # Organizer: accounts
    Route("admin.list_users", "GET", lambda w: "/manage/users/", ORGANIZERS),
    Route("admin.invite", "GET", lambda w: "/manage/users/invite", ORGANIZERS),
    Route("admin.invite", "POST", lambda w: "/manage/users/invite", ORGANIZERS,
          data=lambda w: {"name": "이심사", "email": "judge-new@test.example", "role": "judge", "department": ""},
          changes=ORGANIZERS),
    Route("admin.import_csv", "GET", lambda w: "/manage/users/import", ORGANIZERS),
    Route("admin.import_csv", "POST", lambda w: "/manage/users/import", ORGANIZERS,
          data=csv_upload, changes=ORGANIZERS),
    Route("admin.resend_invitation", "POST", lambda w: f"/manage/users/{w.pending_official}/resend", ORGANIZERS,
          data=no_data, changes=ORGANIZERS),
    Route("admin.toggle_enabled", "POST", lambda w: f"/manage/users/{w.other_resident}/enabled", ORGANIZERS,
          data=no_data, changes=ORGANIZERS),
    # Voting online (accounts), on site (with a printed code) and the receipt check
    Route("ballots.overview", "GET", lambda w: f"/events/{w.vote_event}/vote", NOMINATORS),
    Route("ballots.overview", "GET", lambda w: f"/events/{w.draft_event}/vote", NOBODY,
          hidden=NOMINATORS, note="draft event"),
    Route("ballots.vote", "GET", lambda w: f"/categories/{w.vote_category}/vote", NOMINATORS),
    Route("ballots.vote", "GET", lambda w: f"/categories/{w.draft_category}/vote", NOBODY,
          hidden=NOMINATORS, note="draft event"),
    Route("ballots.vote", "POST", lambda w: f"/categories/{w.vote_category}/vote", NOMINATORS,
          data=choose_finalist, note="shows the choice to confirm"),
    Route("ballots.cast", "POST", lambda w: f"/categories/{w.vote_category}/vote/cast", NOMINATORS,
          data=cast_finalist, changes=NOMINATORS),
    Route("ballots.receipt", "GET", lambda w: "/vote/receipt", EVERYONE),
    Route("ballots.onsite_start", "GET", lambda w: f"/onsite/{w.vote_event}", EVERYONE),
    Route("ballots.onsite_start", "GET", lambda w: f"/onsite/{w.draft_event}", NOBODY,
          hidden=EVERYONE, note="draft event"),
    Route("ballots.onsite_start", "POST", lambda w: f"/onsite/{w.vote_event}", EVERYONE,
          data=lambda w: {"code": w.onsite_code}),
    Route("ballots.onsite_overview", "GET", lambda w: f"/onsite/{w.vote_event}/ballots", EVERYONE,
          setup=with_onsite_code("vote_event", "onsite_code_id"), note="the code is the permission"),
    Route("ballots.onsite_overview", "GET", lambda w: f"/onsite/{w.draft_event}/ballots", NOBODY,
          hidden=EVERYONE, setup=with_onsite_code("draft_event", "draft_code_id"),
          note="draft event, code typed while it was public"),
    Route("ballots.onsite_vote", "GET", lambda w: f"/onsite/{w.vote_event}/categories/{w.vote_category}",
          EVERYONE, setup=with_onsite_code("vote_event", "onsite_code_id"), note="the code is the permission"),
    Route("ballots.onsite_vote", "POST", lambda w: f"/onsite/{w.vote_event}/categories/{w.vote_category}",
          EVERYONE, data=choose_finalist, setup=with_onsite_code("vote_event", "onsite_code_id"),
          note="the code is the permission"),
    Route("ballots.onsite_cast", "POST", lambda w: f"/onsite/{w.vote_event}/categories/{w.vote_category}/cast",
          EVERYONE, data=cast_finalist, changes=EVERYONE, setup=with_onsite_code("vote_event", "onsite_code_id"),
          note="the code is the permission"),
    Route("ballots.check_receipt", "GET", lambda w: "/receipts/check", EVERYONE),
    Route("ballots.check_receipt", "POST", lambda w: "/receipts/check", EVERYONE,
          data=lambda w: {"receipt": "AAAA-BBBB-CCCC-DDDD"}),
    # Organizer: the vote
    Route("voting_admin.code_batches", "GET", lambda w: f"/manage/events/{w.vote_event}/codes", ORGANIZERS),
    Route("voting_admin.code_batches", "POST", lambda w: f"/manage/events/{w.vote_event}/codes", ORGANIZERS,
          data=lambda w: {"group": "resident", "size": "2", "label": "접수대"}, changes=ORGANIZERS),
    Route("voting_admin.revoke_batch", "POST", lambda w: f"/manage/code-batches/{w.code_batch}/revoke", ORGANIZERS,
          data=no_data, changes=ORGANIZERS),
    Route("voting_admin.onsite", "GET", lambda w: f"/manage/events/{w.vote_event}/onsite", ORGANIZERS),
    Route("voting_admin.open_onsite", "POST", lambda w: f"/manage/categories/{w.vote_spare_category}/onsite/open",
          ORGANIZERS, data=lambda w: {"minutes": "30"}, changes=ORGANIZERS),
    Route("voting_admin.close_onsite", "POST", lambda w: f"/manage/categories/{w.vote_category}/onsite/close",
          ORGANIZERS, data=no_data, changes=ORGANIZERS),
    Route("voting_admin.paper", "GET", lambda w: f"/manage/categories/{w.vote_category}/paper/resident", ORGANIZERS),
    Route("voting_admin.paper", "POST", lambda w: f"/manage/categories/{w.vote_category}/paper/resident", ORGANIZERS,
          data=lambda w: {"ballots": "3", **{f"count_{n}": "1" for n in w.vote_finalists}}, changes=ORGANIZERS),
    Route("voting_admin.turnout", "GET", lambda w: f"/manage/events/{w.vote_event}/turnout", ORGANIZERS),
    Route("voting_admin.audit_log", "GET", lambda w: f"/manage/events/{w.vote_event}/audit", ORGANIZERS),
    # Organizer: projector screens of the award day
    Route("projector.voting_screen", "GET", lambda w: f"/manage/categories/{w.vote_category}/screen", ORGANIZERS),
    Route("projector.voting_status", "GET", lambda w: f"/manage/categories/{w.vote_category}/screen/status.json",
          ORGANIZERS),
    Route("projector.award_reveal", "GET", lambda w: f"/manage/events/{w.frozen_event}/reveal", ORGANIZERS,
          note="frozen results"),
    # Judging
    Route("judging.overview", "GET", lambda w: "/judging", frozenset({JUDGE})),
    Route("judging.sheet", "GET", lambda w: f"/judging/finalists/{w.judge_finalists[0]}", frozenset({JUDGE})),
    Route("judging.sheet", "POST", lambda w: f"/judging/finalists/{w.judge_finalists[0]}", frozenset({JUDGE}),
          data=lambda w: {"action": "submit", **{f"score_{c}": "7" for c in w.judge_criteria}},
          changes=frozenset({JUDGE})),
    Route("judging.recuse", "POST", lambda w: f"/judging/finalists/{w.judge_finalists[1]}/recuse", frozenset({JUDGE}),
          data=lambda w: {"reason": "제가 자문한 사업입니다"}, changes=frozenset({JUDGE})),
    Route("judging.progress", "GET", lambda w: f"/manage/events/{w.judge_event}/judging", ORGANIZERS),
    Route("judging.assignments", "GET", lambda w: f"/manage/categories/{w.judge_category}/judges", ORGANIZERS),
    Route("judging.assignments", "POST", lambda w: f"/manage/categories/{w.judge_category}/judges", ORGANIZERS,
          data=lambda w: {"pairs": [f"{w.ids[JUDGE]}:{w.judge_finalists[0]}"]}, changes=ORGANIZERS),
    Route("judging.assign_everyone", "POST", lambda w: f"/manage/categories/{w.judge_person_category}/judges/everyone",
          ORGANIZERS, data=no_data, changes=ORGANIZERS),
    Route("judging.reopen", "GET", lambda w: f"/manage/sheets/{w.judged_sheet}/reopen", ORGANIZERS),
    Route("judging.reopen", "POST", lambda w: f"/manage/sheets/{w.judged_sheet}/reopen", ORGANIZERS,
          data=lambda w: {"reason": "점수 입력 실수 신고"}, changes=ORGANIZERS),
    # Results
    Route("results.preview", "GET", lambda w: f"/manage/events/{w.vote_event}/results", ORGANIZERS),
    Route("results.category_preview", "GET", lambda w: f"/manage/categories/{w.vote_category}/results", ORGANIZERS),
    Route("results.decide_tie", "POST", lambda w: f"/manage/categories/{w.vote_category}/ties", ORGANIZERS,
          data=lambda w: {"finalists": ",".join(map(str, sorted(w.vote_finalists))), "method": "joint", "confirmed": "yes"},
          changes=ORGANIZERS, note="the two finalists without votes are tied across 대상 / 우수상"),
    Route("results.freeze", "POST", lambda w: f"/manage/events/{w.closed_event}/results/freeze", ORGANIZERS,
          data=confirmed, changes=ORGANIZERS),
    Route("results.publish", "POST", lambda w: f"/manage/events/{w.frozen_event}/results/publish", ORGANIZERS,
          data=confirmed, changes=ORGANIZERS),
    Route("results.public_results", "GET", lambda w: f"/events/{w.published_event}/results", EVERYONE),
    Route("results.public_results", "GET", lambda w: f"/events/{w.frozen_event}/results", ORGANIZERS,
          hidden=EVERYONE - ORGANIZERS, note="frozen, not published"),
    Route("results.public_results", "GET", lambda w: f"/events/{w.vote_event}/results", ORGANIZERS,
          hidden=EVERYONE - ORGANIZERS, note="not frozen: organizers are sent to the preview"),
    Route("results.bundle_file", "GET", lambda w: f"/events/{w.published_event}/results/bundle.json", EVERYONE),
    Route("results.bundle_file", "GET", lambda w: f"/events/{w.frozen_event}/results/bundle.json", ORGANIZERS,
          hidden=EVERYONE - ORGANIZERS, note="frozen, not published"),
    Route("results.csv_file", "GET", lambda w: f"/events/{w.published_event}/results.csv", EVERYONE),
    Route("results.csv_file", "GET", lambda w: f"/events/{w.frozen_event}/results.csv", ORGANIZERS,
          hidden=EVERYONE - ORGANIZERS, note="frozen, not published"),
    # Certificates (상장)
    Route("certificates.edit", "GET", lambda w: f"/manage/events/{w.frozen_event}/certificate", ORGANIZERS),
    Route("certificates.edit", "POST", lambda w: f"/manage/events/{w.frozen_event}/certificate", ORGANIZERS,
          data=lambda w: {"issuer": "서울특별시 ○○구청장", "wording": "{recipient} {tier}", "award_date": "2019-12-13"},
          changes=ORGANIZERS, note="still editable once frozen"),
    Route("certificates.seal", "GET", lambda w: f"/manage/events/{w.published_event}/certificate/seal", ORGANIZERS),
    Route("certificates.preview", "GET", lambda w: f"/manage/events/{w.frozen_event}/certificate/preview.pdf",
          ORGANIZERS),
    # Award day: control panel, exports, archive
    Route("dayof.panel", "GET", lambda w: f"/manage/events/{w.vote_event}/day", ORGANIZERS),
    Route("dayof.panel", "GET", lambda w: f"/manage/events/{w.frozen_event}/day", ORGANIZERS, note="frozen"),
    Route("dayof.status", "GET", lambda w: f"/manage/events/{w.vote_event}/day/status.json", ORGANIZERS),
    Route("exports.download", "GET", lambda w: f"/manage/events/{w.frozen_event}/exports/csv", ORGANIZERS),
    Route("exports.download", "GET", lambda w: f"/manage/events/{w.published_event}/exports/bundle", ORGANIZERS,
          note="published: still organizers only; the public has the results page's links"),
    Route("exports.download_all", "GET", lambda w: f"/manage/events/{w.frozen_event}/exports.zip", ORGANIZERS),
    Route("public.archive", "GET", lambda w: "/archive", EVERYONE),
]


# ---------------------------------------------------------------------------
# The app and the world


@pytest.fixture(scope="module")
def app(migrated_database, smtp_server):
    """One app for this module, with conftest's settings, overriding conftest's app of one test.

    conftest's app is built and its tables TRUNCATEd twice for every test: on PostgreSQL that
    alone is ~0.3 s, times the ~450 tests here. Instead the world fixtures below empty the
    tables with DELETE (fast on both databases) before they build the world. conftest's
    client, web, make_user and login_as work on this app too.
    """
    yield from app_on_empty_tables(migrated_database, smtp_server)


def _delete_all_rows():
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


def _accounts(*specs):
    """Users as factories.user makes them, with a cheap password hash and one INSERT for all."""
    users = []
    for number, (role, verified, has_password) in enumerate(specs, start=1):
        users.append(User(
            email=f"{role}{number}@access.example",
            name=f"{role} {number}",
            role=Role(role),
            email_verified_at=utcnow() if verified else None,
            password_hash=FAST_PASSWORD_HASH if has_password else None,
            invited_at=None if has_password else utcnow(),
        ))
    db.session.add_all(users)
    db.session.flush()
    return users


def _photo(nomination):
    nomination.photo = NominationPhoto(data=PNG_BYTES, mime_type="image/png", width=1, height=1)


def build_world(app):
    """Empties the tables, then makes every record a URL of the table needs; returns ids and tokens."""
    with app.app_context():
        db.session.remove()
        _delete_all_rows()
        resident, official, judge, staff, organizer, other_resident, unverified, pending = _accounts(
            (RESIDENT, True, True),
            (OFFICIAL, True, True),
            (JUDGE, True, True),
            (STAFF, True, True),
            (ORGANIZER, True, True),
            (RESIDENT, True, True),  # another resident: nominated the finalists of the vote only
            (RESIDENT, False, True),  # a resident who has not confirmed the email address
            (OFFICIAL, False, False),  # an invited official who has not set a password yet
        )
        users = {RESIDENT: resident, OFFICIAL: official, JUDGE: judge, STAFF: staff, ORGANIZER: organizer}

        event = factories.event()  # open, in its nominating window
        draft = factories.event(state="draft")
        spare_department = Department(name="예비과")
        db.session.add(spare_department)
        department = db.session.scalar(select(Department).where(Department.name == "협치지원팀"))

        resident_id = users[RESIDENT].id
        submitted = factories.nomination(event.id, nominator_id=resident_id, title="주민 제안 후보")
        submitted.department = department
        finalist = factories.nomination(event.id, nominator_id=resident_id, state="finalist", title="본선 후보")
        draft_finalist = factories.nomination(draft.id, nominator_id=resident_id, state="finalist")
        for nomination in (submitted, finalist, draft_finalist):
            _photo(nomination)

        # An event in its voting window: finalists by another resident, a printed code, on-site voting open.
        vote_event = factories.event(phase="voting")
        vote_finalists = [
            factories.nomination(vote_event.id, nominator_id=other_resident.id, state="finalist", title=title)
            for title in ("마을 공유부엌", "골목 정원")
        ]
        batch = OnsiteCodeBatch(event_id=vote_event.id, group=VotingGroup.RESIDENT, size=1, created_by_id=organizer.id,
                                codes=[OnsiteCode(code_hash=codes.onsite_code_hash(ONSITE_CODE))])
        draft_batch = OnsiteCodeBatch(event_id=draft.id, group=VotingGroup.RESIDENT, size=1, created_by_id=organizer.id,
                                      codes=[OnsiteCode(code_hash=codes.onsite_code_hash(DRAFT_ONSITE_CODE))])
        db.session.add_all([batch, draft_batch])
        db.session.add(OnsiteSession(category_id=vote_event.categories[0].id, opened_at=utcnow()))
        db.session.flush()

        # An event in its judging window: two practice finalists that every judge judges (the default), and a
        # person finalist assigned to the judge by hand, whose sheet is submitted.
        judge_event = factories.event(phase="judging")
        judge_finalists = [
            factories.nomination(judge_event.id, nominator_id=other_resident.id, state="finalist", title=title)
            for title in ("심사 후보 가", "심사 후보 나")
        ]
        judged_person = factories.nomination(judge_event.id, nominator_id=other_resident.id, state="finalist",
                                             category_index=1, title="심사 인물")
        judge_person_category = judge_event.categories[1]
        db.session.add(JudgeAssignment(category_id=judge_person_category.id, judge_id=judge.id,
                                       nomination_id=judged_person.id))
        judged_sheet = ScoreSheet(
            category_id=judge_person_category.id, nomination_id=judged_person.id, judge_id=judge.id,
            status=SheetStatus.SUBMITTED, comment="", submitted_at=utcnow(),
            scores=[SheetScore(criterion_id=judge_person_category.criteria[0].id, value=7)],
        )
        db.session.add(judged_sheet)
        db.session.flush()

        # Results: a closed event to freeze, a frozen one to publish, a published one for everyone.
        closed_event, frozen_event, published_event = (factories.event(state="closed") for _n in range(3))
        for record in (frozen_event, published_event):
            results_operations.freeze_results(record, organizer)
        results_operations.publish_results(published_event, organizer)
        db.session.add(CertificateTemplate(event_id=published_event.id, issuer="서울특별시 ○○구청장", wording="{tier}",
                                           award_date=utcnow().date(), seal_data=PNG_BYTES, seal_mime_type="image/png",
                                           seal_width=1, seal_height=1))  # certificates.seal serves it

        result = SimpleNamespace(
            ids={role: user.id for role, user in users.items()},
            emails={role: user.email for role, user in users.items()},
            other_resident=other_resident.id,
            other_resident_email=other_resident.email,
            unverified=unverified.id,
            unverified_email=unverified.email,
            pending_official=pending.id,
            event=event.id,
            draft_event=draft.id,
            category=event.categories[0].id,
            spare_category=event.categories[1].id,  # no nominations: it can be deleted
            field=event.fields[0].id,
            spare_field=event.fields[2].id,  # no nominations: it can be deleted
            spare_department=spare_department.id,  # no nominations: it can be deleted
            submitted=submitted.id,
            finalist=finalist.id,
            draft_finalist=draft_finalist.id,
            draft_category=draft.categories[0].id,
            vote_event=vote_event.id,
            vote_category=vote_event.categories[0].id,  # on-site voting open
            vote_spare_category=vote_event.categories[1].id,  # on-site voting closed
            vote_finalists=[n.id for n in vote_finalists],
            code_batch=batch.id,
            onsite_code=ONSITE_CODE,
            onsite_code_id=batch.codes[0].id,
            draft_code_id=draft_batch.codes[0].id,
            verify_token=account_operations.verification_token(unverified),
            reset_token=account_operations.password_reset_token(other_resident),
            invitation_token=account_operations.invitation_token(pending),
            judge_event=judge_event.id,
            judge_category=judge_event.categories[0].id,  # every judge judges every finalist
            judge_criteria=[c.id for c in judge_event.categories[0].criteria],
            judge_finalists=[n.id for n in judge_finalists],
            judge_person_category=judge_person_category.id,  # assigned by hand
            judged_sheet=judged_sheet.id,  # submitted by the judge
            closed_event=closed_event.id,
            frozen_event=frozen_event.id,
            published_event=published_event.id,
        )
        extend_world(result, users)
        db.session.commit()
        return result


class _Shared:
    app = None
    world = None
    clean = False  # the database holds exactly the world as it was built


@pytest.fixture
def world(app):
    """A world made for this test alone: for tests that change the database."""
    limiter.reset()  # the in-memory limits of the testing profile, shared by the module's app
    _Shared.clean = False
    return build_world(app)


@pytest.fixture
def shared_world(app):
    """For tests that only read: the last world, when every test since it was built has left
    the database as it found it (and said so with left_unchanged()), else a new one.

    Building the world is most of a test's time; ~80% of the tests here only read.
    """
    limiter.reset()
    if not (_Shared.clean and _Shared.app is app):
        _Shared.world, _Shared.app = build_world(app), app
    _Shared.clean = False  # until this test has passed
    return _Shared.world


def left_unchanged():
    _Shared.clean = True


def signed_in(app, world, role, email=None):
    """A fresh client, signed in as the world's user of the role (or as nobody)."""
    web = Browserless(app.test_client())
    if role != ANONYMOUS:
        response = web.login(email or world.emails[role])
        assert response.status_code == 302, f"login as {role} failed"
    return web


def send(web, route, world):
    if route.setup:
        route.setup(web, world)
    url = route.url(world)
    if route.method == "GET":
        return web.client.get(url)
    # After login the session is new, so the token comes from a page of this session.
    data = dict(route.data(world))
    data["csrf_token"] = web.token("/login")
    return web.client.post(url, data=data)



def assert_login_redirect(response, url):
    assert response.status_code == 302, response.status_code
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query).get("next") == [url]


def is_login_redirect(response):
    return response.status_code == 302 and urlsplit(response.headers.get("Location", "")).path == "/login" and (
        "next" in parse_qs(urlsplit(response.headers["Location"]).query)
    )


ROUTES += extra_routes()

REFUSALS = [pytest.param(route, role, id=f"{route.id()} as {role}") for route in ROUTES for role in ROLES
            if role in route.refused]
ALLOWANCES = [pytest.param(route, role, id=f"{route.id()} as {role}") for route in ROUTES for role in ROLES
              if role in route.allowed]


# ---------------------------------------------------------------------------
# The table against the app


def _app_routes(app):
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_table_covers_every_route_and_method(app):
    in_app = _app_routes(app)
    in_table = {(route.endpoint, route.method) for route in ROUTES}
    assert sorted(in_app - in_table) == [], "routes without a row in the access table"
    assert sorted(in_table - in_app) == [], "rows for a route or method the app does not have"


def test_each_row_url_reaches_its_endpoint(app, shared_world):
    adapter = app.url_map.bind("localhost")
    for route in ROUTES:
        endpoint, _args = adapter.match(route.url(shared_world), method=route.method)
        assert endpoint == route.endpoint, route.id()
    left_unchanged()


def test_table_agrees_with_the_role_decorators(app):
    """Where a view declares its roles (roles_required), the table allows no one else."""
    for route in ROUTES:
        declared = getattr(app.view_functions[route.endpoint], "allowed_roles", None)
        if declared is not None:
            assert route.allowed <= {str(role.value) for role in declared}, route.id()


def test_manage_pages_are_for_organizers_only(app):
    manage = {rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.startswith("/manage")}
    assert manage, "no /manage routes"
    for endpoint in manage:
        declared = getattr(app.view_functions[endpoint], "allowed_roles", None)
        assert declared is not None and [r.value for r in declared] == [ORGANIZER], endpoint
    rows = [route for route in ROUTES if route.endpoint in manage]
    assert rows and all(route.allowed == ORGANIZERS and not route.hidden for route in rows)


# ---------------------------------------------------------------------------
# Request by request


@pytest.mark.parametrize(("route", "role"), REFUSALS)
def test_refused_role_is_refused(app, shared_world, route, role):
    world = shared_world
    web = signed_in(app, world, role)
    before = database_rows(app) if route.method == "POST" else None
    response = send(web, route, world)
    expected = route.expected_refusal(role)
    if expected == LOGIN:
        assert_login_redirect(response, route.url(world))
    else:
        assert response.status_code == expected
    if before is not None:
        assert database_rows(app) == before, "a refused request changed the database"
    left_unchanged()


@pytest.mark.parametrize(("route", "role"), ALLOWANCES)
def test_allowed_role_is_not_refused(app, request, route, role):
    read_only = route.method == "GET" and not route.changes
    world = request.getfixturevalue("shared_world" if read_only else "world")
    web = signed_in(app, world, role)
    before = database_rows(app) if route.changes else None
    response = send(web, route, world)
    assert not is_login_redirect(response), "sent to log in"
    if route.method == "GET":
        assert response.status_code < 400
    else:
        assert response.status_code in (200, 302)
    if role in route.changes:
        assert database_rows(app) != before, "the allowed request did nothing: its data is not a real test"
    if read_only:
        left_unchanged()


# ---------------------------------------------------------------------------
# Special cases


def test_unverified_resident_is_asked_to_confirm_the_email(app, shared_world):
    world = shared_world
    web = signed_in(app, world, RESIDENT, email=world.unverified_email)
    with web.client.session_transaction() as session:
        session["lang"] = "en"
    url = f"/events/{world.event}/nominate"
    response = web.client.get(url)
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Confirm your email address" in page
    assert world.unverified_email in page and 'action="/verify/resend"' in page

    before = database_rows(app)
    response = web.client.post(url, data={**nomination_data(world), "csrf_token": csrf_token(page)})
    assert response.status_code == 403
    assert database_rows(app) == before
    left_unchanged()


def test_resident_cannot_touch_another_residents_nomination(app, shared_world):
    world = shared_world
    web = signed_in(app, world, RESIDENT, email=world.other_resident_email)
    url = f"/nominations/{world.submitted}"
    token = web.token("/login")
    before = database_rows(app)
    assert web.client.get(url + "/edit").status_code == 403
    response = web.client.post(url + "/edit", data={**nomination_data(world, "남의 후보"), "csrf_token": token})
    assert response.status_code == 403
    assert web.client.post(url + "/withdraw", data={"csrf_token": token}).status_code == 403
    assert database_rows(app) == before
    with app.app_context():
        nomination = db.session.get(Nomination, world.submitted)
        assert nomination.state == NominationState.SUBMITTED and nomination.title == "주민 제안 후보"
    left_unchanged()


def test_non_finalist_is_seen_only_by_its_nominator_and_organizers(app, shared_world):
    world = shared_world
    viewers = {
        "anonymous": (signed_in(app, world, ANONYMOUS), 404),
        "other resident": (signed_in(app, world, RESIDENT, email=world.other_resident_email), 404),
        "official": (signed_in(app, world, OFFICIAL), 404),
        "nominator": (signed_in(app, world, RESIDENT), 200),
        "organizer": (signed_in(app, world, ORGANIZER), 200),
    }
    for who, (web, status) in viewers.items():
        page = web.client.get(f"/nominations/{world.submitted}")
        photo = web.client.get(f"/nominations/{world.submitted}/photo")
        assert (page.status_code, photo.status_code) == (status, status), who
        if status == 200:
            assert "주민 제안 후보" in page.get_data(as_text=True)
            assert photo.data == PNG_BYTES and photo.headers["Cache-Control"].startswith("private")
        else:
            assert "주민 제안 후보" not in page.get_data(as_text=True)
        # The finalist of the same event is public.
        assert web.client.get(f"/nominations/{world.finalist}").status_code == 200, who
        assert web.client.get(f"/nominations/{world.finalist}/photo").status_code == 200, who
    left_unchanged()


def test_draft_event_is_hidden_from_everyone_but_organizers(app, shared_world):
    world = shared_world
    draft = world.draft_event
    public_pages = [f"/events/{draft}", f"/events/{draft}/finalists"]
    finalist_pages = [f"/nominations/{world.draft_finalist}", f"/nominations/{world.draft_finalist}/photo"]
    for role in ROLES:
        web = signed_in(app, world, role)
        expected = 200 if role == ORGANIZER else 404
        # The resident nominated the draft event's finalist, and may see their own nomination.
        for url in public_pages + (finalist_pages if role != RESIDENT else []):
            assert web.client.get(url).status_code == expected, (role, url)
        assert web.client.get(f"/onsite/{draft}").status_code == 404, role
        home = web.client.get("/").get_data(as_text=True)
        assert f'href="/events/{world.event}"' in home
        if role != ORGANIZER:
            assert f'href="/events/{draft}"' not in home, role
        if role in NOMINATORS:
            for url in (f"/events/{draft}/nominate", f"/events/{draft}/vote", f"/categories/{world.draft_category}/vote"):
                assert web.client.get(url).status_code == 404, (role, url)
    left_unchanged()


def test_disabled_or_invited_accounts_are_treated_as_anonymous(app, world, client, web, login_as):
    """An organizer disabling an account ends its sessions; an invitation without a password is no login."""
    user = login_as(RESIDENT)
    assert client.get("/my/nominations").status_code == 200
    with app.app_context():
        account_operations.set_enabled(db.session.get(User, user.id), False)
        db.session.commit()
    assert_login_redirect(client.get("/my/nominations"), "/my/nominations")
    assert web.login(user.email).status_code == 200, "a disabled account cannot log in"

    invited = Browserless(app.test_client())
    with app.app_context():
        email = db.session.get(User, world.pending_official).email
    assert invited.login(email).status_code == 200, "an invited account has no password yet"
    assert_login_redirect(invited.client.get("/account"), "/account")


def test_onsite_pages_without_a_code_send_to_the_code_page(app, shared_world):
    """On-site voting pages are for whoever typed a valid code in this browser: no code, no ballot."""
    world = shared_world
    web = Browserless(app.test_client())
    start = f"/onsite/{world.vote_event}"
    for url in (f"{start}/ballots", f"{start}/categories/{world.vote_category}"):
        response = web.client.get(url)
        assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == start, url
    before = database_rows(app)
    response = web.client.post(f"{start}/categories/{world.vote_category}/cast",
                               data={**cast_finalist(world), "csrf_token": web.token(start)})
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == start
    assert database_rows(app) == before
    left_unchanged()
