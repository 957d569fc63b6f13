"""Organizer pages under /manage: events, categories, fields and departments."""
import html
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from tests import factories
from voting.events.models import AwardTier, Category, Criterion, Department, Event, EventState, Field
from voting.extensions import db
from voting.nominations.models import Nomination

UTC = timezone.utc

EVENT_DATA = {
    "name": "2019 협치 성과 공유 파티",
    "year": "2019",
    "description": "민관이 함께 만든 성과를 나눕니다.",
    "nominate_opens_at": "2019-11-01T14:00",
    "nominate_closes_at": "2019-11-20T18:00",
    "vote_opens_at": "2019-12-01T09:00",
    "vote_closes_at": "2019-12-13T18:30",
    "judge_opens_at": "2019-12-13T14:00",
    "judge_closes_at": "2019-12-13T17:00",
}


def category_data(**overrides):
    data = {
        "name": "협치 신규부문",
        "description": "새 부문",
        "kind": "practice",
        "max_approvals": "2",
        "weight_resident": "40",
        "weight_official": "20",
        "weight_judges": "40",
        "vote_normalization": "share",
        "judge_aggregation": "trimmed",
        "tie_break_1": "resident",
        "tie_break_2": "judges",
        "tie_break_3": "",
        "tiers-0-name": "대상",
        "tiers-0-count": "1",
        "tiers-1-name": "우수상",
        "tiers-1-count": "2",
        "tiers-2-name": "",
        "tiers-2-count": "",
        "criteria-0-name": "협치성",
        "criteria-0-weight": "3",
        "criteria-0-max_score": "10",
        "criteria-1-name": "성과",
        "criteria-1-weight": "2",
        "criteria-1-max_score": "20",
        "criteria-2-name": "",
        "criteria-2-weight": "",
        "criteria-2-max_score": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def organizer(login_as, english):
    return login_as("organizer")


def count(db_read, model, *where):
    return db_read(lambda s: s.scalar(select(func.count()).select_from(model).where(*where)))


def has_field_error(page, field_id):
    return f'id="{field_id}-error"' in page


def text(response):
    return html.unescape(response.get_data(as_text=True))


def set_state(app, event_id, state):
    with app.app_context():
        db.session.get(Event, event_id).state = state
        db.session.commit()
        db.session.remove()


# ---------------------------------------------------------------- access


def test_manage_pages_need_an_organizer(client, web, login_as, make_event):
    event = make_event()
    anonymous = client.get("/manage/events")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    login_as("resident")
    for url in ("/manage/events", f"/manage/events/{event.id}", "/manage/departments", "/manage/events/new"):
        assert client.get(url).status_code == 403, url


# ---------------------------------------------------------------- events


def test_create_event_stores_seoul_times_as_utc(client, web, organizer, db_read):
    response = web.post("/manage/events/new", EVENT_DATA)
    assert response.status_code == 302
    event = db_read(lambda s: s.scalars(select(Event)).one())
    assert response.headers["Location"].endswith(f"/manage/events/{event.id}")
    assert event.name == EVENT_DATA["name"] and event.year == 2019
    assert event.state == EventState.DRAFT
    assert event.description == EVENT_DATA["description"]
    assert event.nominate_opens_at == datetime(2019, 11, 1, 5, 0, tzinfo=UTC)
    assert event.nominate_closes_at == datetime(2019, 11, 20, 9, 0, tzinfo=UTC)
    assert event.vote_opens_at == datetime(2019, 12, 1, 0, 0, tzinfo=UTC)  # 09:00 KST
    assert event.vote_closes_at == datetime(2019, 12, 13, 9, 30, tzinfo=UTC)
    assert event.judge_opens_at == datetime(2019, 12, 13, 5, 0, tzinfo=UTC)
    assert event.judge_closes_at == datetime(2019, 12, 13, 8, 0, tzinfo=UTC)

    page = text(client.get(f"/manage/events/{event.id}"))
    assert EVENT_DATA["name"] in page
    # The edit form shows the times back in Seoul time, in the input's format.
    form = text(client.get(f"/manage/events/{event.id}/edit"))
    assert 'value="2019-11-01T14:00"' in form
    assert 'value="2019-12-13T18:30"' in form


INVALID_EVENTS = [
        ({"nominate_closes_at": "2019-10-31T14:00"}, "nominate_closes_at", "must close after it opens"),
        ({"judge_closes_at": "2019-12-13T14:00"}, "judge_closes_at", "must close after it opens"),
        ({"vote_opens_at": ""}, "vote_opens_at", "Enter a date and time"),
        ({"vote_opens_at": "next tuesday"}, "vote_opens_at", "e.g. 2019-12-13 14:00"),
        ({"year": "abc"}, "year", None),
        ({"year": "1800"}, "year", "from 2000 to 2100"),
        ({"year": ""}, "year", "Enter a whole number"),
        ({"name": "가" * 201}, "name", "at most 200 characters"),
        ({"name": "   "}, "name", "required"),
        ({"name": "bell\x07"}, "name", "control characters"),
]


def assert_field_error(page, field_id, message=None):
    assert has_field_error(page, field_id), field_id
    field_tag = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{field_id}"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in field_tag and f"{field_id}-error" in field_tag
    if message:
        error = page.split(f'id="{field_id}-error">', 1)[1].split("</p>", 1)[0]
        assert message in error


def test_invalid_event_is_refused_next_to_the_field(client, web, organizer, db_read, subtests):
    token = web.token("/manage/events/new")
    for changes, field_id, message in INVALID_EVENTS:
        with subtests.test(msg=repr(changes)):
            response = client.post("/manage/events/new", data={**EVENT_DATA, **changes, "csrf_token": token})
            assert response.status_code == 200
            page = text(response)
            assert_field_error(page, field_id, message)
            assert "Nothing was saved" in page
            assert count(db_read, Event) == 0


def test_event_times_typed_with_a_space_are_accepted(client, web, organizer, db_read):
    """Without a date picker the field is a text box; the hint's own format must work there."""
    typed = {key: value.replace("T", " ") for key, value in EVENT_DATA.items() if key.endswith("_at")}
    response = web.post("/manage/events/new", {**EVENT_DATA, **typed})
    assert response.status_code == 302
    event = db_read(lambda s: s.scalars(select(Event)).one())
    assert event.nominate_opens_at == datetime(2019, 11, 1, 5, 0, tzinfo=UTC)
    assert event.vote_closes_at == datetime(2019, 12, 13, 9, 30, tzinfo=UTC)
    form = text(client.get(f"/manage/events/{event.id}/edit"))
    assert 'value="2019-11-01T14:00"' in form  # shown back in the date picker's format


def error_text(page, field_id):
    return re.sub(r"\s+", " ", page.split(f'id="{field_id}-error">', 1)[1].split("</p>", 1)[0]).strip()


NOT_A_NUMBER = [
        ("/manage/events/new", EVENT_DATA, "year", "from 2000 to 2100"),
        ("categories", category_data(), "max_approvals", "from 1 to 20"),
        ("categories", category_data(), "weight_official", "from 0 to 100"),
        ("categories", category_data(), "tiers-0-count", "from 1 to 100"),
        ("categories", category_data(), "criteria-1-weight", "from 1 to 100"),
]


def test_a_non_number_gets_one_message(client, web, organizer, make_event, db_read, subtests):
    event = make_event(state="draft")
    for url, data, field_id, range_text in NOT_A_NUMBER:
        url = f"/manage/events/{event.id}/categories/new" if url == "categories" else url
        with subtests.test(msg=field_id):
            response = web.post(url, {**data, field_id: "abc"})
            assert response.status_code == 200
            page = text(response)
            assert_field_error(page, field_id)
            error = error_text(page, field_id)
            assert range_text not in error and "clear the whole row" not in error, error
            assert error.count(".") == 1, error


def test_a_non_number_gets_one_message_in_korean(client, web, login_as, make_event):
    event = make_event(state="draft")
    login_as("organizer")
    response = web.post(f"/manage/events/{event.id}/categories/new", {**category_data(), "max_approvals": "열"})
    error = error_text(text(response), "max_approvals")
    assert error and "1부터 20까지" not in error, error
    assert error.count(".") == 1, error


def test_edit_event(client, web, organizer, make_event, db_read):
    event = make_event(state="draft")
    data = {**EVENT_DATA, "name": "바뀐 이름", "year": "2020", "nominate_opens_at": "2019-11-02T00:30"}
    response = web.post(f"/manage/events/{event.id}/edit", data)
    assert response.status_code == 302
    stored = db_read(lambda s: s.get(Event, event.id))
    assert stored.name == "바뀐 이름" and stored.year == 2020
    assert stored.nominate_opens_at == datetime(2019, 11, 1, 15, 30, tzinfo=UTC)  # previous day in UTC
    assert stored.state == EventState.DRAFT

    refused = web.post(f"/manage/events/{event.id}/edit", {**data, "year": "1999"})
    assert refused.status_code == 200 and has_field_error(text(refused), "year")
    assert db_read(lambda s: s.get(Event, event.id)).year == 2020


def test_event_state_changes_and_refused_transition(client, web, organizer, make_event, db_read):
    event = make_event(state="draft")
    url = f"/manage/events/{event.id}/state"
    form_url = f"/manage/events/{event.id}"

    refused = web.post(url, {"state": "closed"}, form_url=form_url, follow_redirects=True)
    assert "cannot go from this state to that one" in text(refused)
    assert db_read(lambda s: s.get(Event, event.id)).state == EventState.DRAFT

    for state in ("open", "closed"):
        response = web.post(url, {"state": state}, form_url=form_url)
        assert response.status_code == 302
        assert db_read(lambda s: s.get(Event, event.id)).state == EventState(state)

    # Freezing is not a manual transition.
    bogus = web.post(url, {"state": "frozen"}, form_url=form_url, follow_redirects=True)
    assert "Choose a valid state" in text(bogus)
    assert db_read(lambda s: s.get(Event, event.id)).state == EventState.CLOSED


def test_draft_event_is_hidden_from_the_public(client, make_event):
    event = make_event(state="draft")
    assert client.get(f"/events/{event.id}").status_code == 404
    assert client.get(f"/events/{event.id}/finalists").status_code == 404


# ---------------------------------------------------------------- categories


def test_create_category_with_tiers_and_rubric(client, web, organizer, make_event, db_read):
    event = make_event(state="draft")
    response = web.post(f"/manage/events/{event.id}/categories/new", category_data(allow_self_approval="y"))
    assert response.status_code == 302

    def load(s):
        category = s.scalar(select(Category).where(Category.event_id == event.id, Category.name == "협치 신규부문"))
        return category, list(category.tiers), list(category.criteria)

    category, tiers, criteria = db_read(load)
    assert category.kind.value == "practice" and category.max_approvals == 2
    assert (category.weight_resident, category.weight_official, category.weight_judges) == (40, 20, 40)
    assert category.vote_normalization.value == "share"
    assert category.judge_aggregation.value == "trimmed"
    assert category.tie_break == "resident,judges"
    assert category.allow_self_approval is True
    assert category.position == 2  # after the two categories of the factory
    assert [(t.name, t.count, t.position) for t in tiers] == [("대상", 1, 0), ("우수상", 2, 1)]
    assert [(c.name, c.weight, c.max_score) for c in criteria] == [("협치성", 3, 10), ("성과", 2, 20)]

    page = text(client.get(f"/manage/events/{event.id}"))
    assert "협치 신규부문" in page and "대상 1" in page


def test_person_category_without_judges_needs_no_rubric(web, organizer, make_event, db_read):
    event = make_event(state="draft")
    data = category_data(
        name="협치 인물 2", kind="person", max_approvals="1", weight_resident="50", weight_official="50",
        weight_judges="0", **{f"criteria-{i}-{k}": "" for i in range(2) for k in ("name", "weight", "max_score")},
    )
    assert web.post(f"/manage/events/{event.id}/categories/new", data).status_code == 302
    category = db_read(lambda s: s.scalar(select(Category).where(Category.name == "협치 인물 2")))
    assert category.kind.value == "person" and category.weight_judges == 0
    assert count(db_read, Criterion, Criterion.category_id == category.id) == 0


INVALID_CATEGORIES = [
        ({"weight_resident": "50", "weight_official": "30", "weight_judges": "30"}, "weight_judges", "(now 110)"),
        ({"weight_resident": "10", "weight_official": "10", "weight_judges": "10"}, "weight_judges", "(now 30)"),
        ({"weight_resident": "-10", "weight_official": "60", "weight_judges": "50"}, "weight_resident", "from 0 to 100"),
        ({"weight_official": ""}, "weight_official", "whole number"),
        ({"max_approvals": "0"}, "max_approvals", "from 1 to 20"),
        ({"kind": "robot"}, "kind", None),
        ({"kind": None}, "kind", None),
        ({"vote_normalization": "median"}, "vote_normalization", None),
        ({"tie_break_2": "resident"}, "tie_break_3", "Each tie-break may be used once"),
        ({"tie_break_2": "", "tie_break_3": "official"}, "tie_break_3", "second tie-break before the third"),
        ({"tie_break_1": ""}, "tie_break_1", None),
        ({"tie_break_1": "luck"}, "tie_break_1", None),
        ({"tiers-1-count": ""}, "tiers-1-count", "clear the whole row"),
        ({"tiers-0-name": ""}, "tiers-0-name", "clear the whole row"),
        ({"tiers-0-count": "0"}, "tiers-0-count", "from 1 to 100"),
        ({"criteria-1-max_score": ""}, "criteria-1-max_score", "clear the whole row"),
        ({"criteria-0-weight": "0"}, "criteria-0-weight", "from 1 to 100"),
        ({"name": ""}, "name", "required"),
        ({"name": "가" * 101}, "name", "at most 100"),
]


def test_invalid_category_is_refused(client, web, organizer, make_event, db_read, subtests):
    event = make_event(state="draft")
    url = f"/manage/events/{event.id}/categories/new"
    token = web.token(url)
    for overrides, field_id, message in INVALID_CATEGORIES:
        with subtests.test(msg=repr(overrides)):
            response = client.post(url, data={**category_data(**overrides), "csrf_token": token})
            assert response.status_code == 200
            page = text(response)
            if field_id == "kind":
                assert has_field_error(page, field_id)
            else:
                assert_field_error(page, field_id, message)
            assert count(db_read, Category, Category.event_id == event.id) == 2
            assert count(db_read, Category, Category.name == "협치 신규부문") == 0


def _blank_rows(prefix, names, rows=3):
    return {f"{prefix}-{i}-{name}": "" for i in range(rows) for name in names}


ROW_ERRORS = [
        (_blank_rows("tiers", ("name", "count")), "Add at least one award tier"),
        (_blank_rows("criteria", ("name", "weight", "max_score")), "Judges have a weight: add at least one criterion"),
        ({"tiers-1-name": "대상"}, "Two rows have the same name"),
]


def test_category_rows_refused_as_a_whole(client, web, organizer, make_event, db_read, subtests):
    event = make_event(state="draft")
    url = f"/manage/events/{event.id}/categories/new"
    token = web.token(url)
    for overrides, message in ROW_ERRORS:
        with subtests.test(msg=message):
            response = client.post(url, data={**category_data(**overrides), "csrf_token": token})
            assert response.status_code == 200
            alert = text(response).split('role="alert"')
            assert any(message in part.split("</p>", 1)[0] for part in alert[1:]), message
            assert count(db_read, Category, Category.name == "협치 신규부문") == 0
            assert count(db_read, AwardTier) == 3  # the factory's tiers only


def test_blank_rows_are_ignored(web, organizer, make_event, db_read):
    event = make_event(state="draft")
    data = category_data(**{"tiers-0-name": "", "tiers-0-count": "", "tiers-2-name": "장려상", "tiers-2-count": "3"})
    assert web.post(f"/manage/events/{event.id}/categories/new", data).status_code == 302
    tiers = db_read(
        lambda s: [(t.name, t.count, t.position) for t in s.scalar(select(Category).where(Category.name == "협치 신규부문")).tiers]
    )
    assert tiers == [("우수상", 2, 0), ("장려상", 3, 1)]


def test_duplicate_category_name_in_the_same_event_is_refused(web, organizer, make_event, db_read):
    event = make_event(state="draft")
    other = make_event(state="draft")
    response = web.post(f"/manage/events/{event.id}/categories/new", category_data(name="협치 우수사례"))
    assert response.status_code == 200
    page = text(response)
    assert has_field_error(page, "name") and "already has a category with that name" in page
    assert count(db_read, Category, Category.event_id == event.id) == 2

    # Renaming another category to a taken name is refused too.
    person = event.categories[1]
    renamed = web.post(f"/manage/categories/{person.id}/edit", category_data(name="협치 우수사례"))
    assert renamed.status_code == 200 and has_field_error(text(renamed), "name")
    assert db_read(lambda s: s.get(Category, person.id)).name == "협치 인물"

    # The same name in another event is fine.
    assert web.post(f"/manage/events/{other.id}/categories/new", category_data()).status_code == 302
    assert web.post(f"/manage/events/{event.id}/categories/new", category_data()).status_code == 302


def _rows_of(db_read, category_id):
    def load(s):
        category = s.get(Category, category_id)
        return (
            [(t.id, t.name, t.count, t.position) for t in category.tiers],
            [(c.id, c.name, c.weight, c.max_score, c.position) for c in category.criteria],
        )

    return db_read(load)


def _edit_form_data(client, category_id):
    """The rows as the edit page renders them, as a browser would post them back."""
    page = client.get(f"/manage/categories/{category_id}/edit").get_data(as_text=True)

    data = {}
    for name, value in re.findall(r'<input[^>]*name="((?:tiers|criteria)-\d+-[a-z_]+)"[^>]*value="([^"]*)"', page):
        data[name] = html.unescape(value)
    for name in re.findall(r'<input[^>]*name="((?:tiers|criteria)-\d+-[a-z_]+)"', page):
        data.setdefault(name, "")
    return data


def test_edit_category_keeps_row_ids_and_removes_cleared_rows(client, web, organizer, make_event, db_read):
    event = make_event(state="draft")
    practice = event.categories[0]
    tiers, criteria = _rows_of(db_read, practice.id)
    assert [t[1] for t in tiers] == ["대상", "우수상"] and [c[1] for c in criteria] == ["협치성", "성과"]

    rows = _edit_form_data(client, practice.id)
    assert rows["tiers-0-name"] == "대상" and rows["criteria-1-name"] == "성과"
    rows.update({
        "tiers-0-name": "대상(구청장상)", "tiers-1-count": "3",
        "criteria-0-max_score": "20",
        # The first criterion stays; a new one is added in the first blank row.
        "criteria-2-name": "지속가능성", "criteria-2-weight": "1", "criteria-2-max_score": "10",
    })
    data = category_data(name="협치 우수사례", **{k: v for k, v in rows.items()})
    response = web.post(f"/manage/categories/{practice.id}/edit", data)
    assert response.status_code == 302
    new_tiers, new_criteria = _rows_of(db_read, practice.id)
    assert [(t[0], t[1], t[2]) for t in new_tiers] == [(tiers[0][0], "대상(구청장상)", 1), (tiers[1][0], "우수상", 3)]
    assert new_criteria[0][:4] == (criteria[0][0], "협치성", 3, 20)
    assert new_criteria[1][:2] == (criteria[1][0], "성과")
    assert new_criteria[2][1] == "지속가능성" and new_criteria[2][0] not in {c[0] for c in criteria}

    # Clearing the FIRST criterion removes that one; the others keep their ids.
    rows = _edit_form_data(client, practice.id)
    rows.update({"criteria-0-name": "", "criteria-0-weight": "", "criteria-0-max_score": ""})
    response = web.post(f"/manage/categories/{practice.id}/edit", category_data(name="협치 우수사례", **rows))
    assert response.status_code == 302
    _tiers, after = _rows_of(db_read, practice.id)
    assert [(c[0], c[1], c[4]) for c in after] == [
        (new_criteria[1][0], "성과", 0),
        (new_criteria[2][0], "지속가능성", 1),
    ]
    assert count(db_read, Criterion, Criterion.id == criteria[0][0]) == 0

    # Clearing the last tier removes it.
    rows = _edit_form_data(client, practice.id)
    rows.update({"tiers-1-name": "", "tiers-1-count": ""})
    assert web.post(f"/manage/categories/{practice.id}/edit", category_data(name="협치 우수사례", **rows)).status_code == 302
    assert [t[0] for t in _rows_of(db_read, practice.id)[0]] == [tiers[0][0]]


def test_edit_category_ignores_row_ids_of_another_category(client, web, organizer, make_event, db_read):
    event = make_event(state="draft")
    practice, person = event.categories
    person_tiers, person_criteria = _rows_of(db_read, person.id)
    rows = _edit_form_data(client, practice.id)
    if "tiers-0-id" not in rows:
        pytest.skip("rows carry no id")
    rows["tiers-0-id"] = str(person_tiers[0][0])
    rows["criteria-0-id"] = str(person_criteria[0][0])
    assert web.post(f"/manage/categories/{practice.id}/edit", category_data(name="협치 우수사례", **rows)).status_code == 302
    assert _rows_of(db_read, person.id) == (person_tiers, person_criteria)
    assert len(_rows_of(db_read, practice.id)[0]) == 2


def test_category_with_nominations_cannot_be_deleted(client, web, organizer, make_event, make_user, make_nomination, db_read):
    event = make_event(state="draft")
    practice, person = event.categories
    resident = make_user("resident")
    make_nomination(event.id, resident.id, category_index=0)
    form_url = f"/manage/events/{event.id}"

    refused = web.post(f"/manage/categories/{practice.id}/delete", form_url=form_url, follow_redirects=True)
    assert "has nominations and cannot be deleted" in text(refused)
    assert db_read(lambda s: s.get(Category, practice.id)) is not None

    deleted = web.post(f"/manage/categories/{person.id}/delete", form_url=form_url)
    assert deleted.status_code == 302
    assert db_read(lambda s: s.get(Category, person.id)) is None
    assert count(db_read, AwardTier, AwardTier.category_id == person.id) == 0


# ---------------------------------------------------------------- fields and departments


def test_fields_add_duplicate_and_delete(client, web, organizer, make_event, make_user, make_nomination, db_read):
    event = make_event(state="draft")
    other = make_event(state="draft")
    url = f"/manage/events/{event.id}/fields"
    assert web.post(url, {"name": "보건복지보육"}).status_code == 302
    assert count(db_read, Field, Field.event_id == event.id, Field.name == "보건복지보육") == 1

    duplicate = web.post(url, {"name": " 보건복지보육 "})
    assert duplicate.status_code == 200
    assert has_field_error(text(duplicate), "name") and "already in the list" in text(duplicate)
    assert count(db_read, Field, Field.event_id == event.id) == 4

    # Fields are per event: another event may have the same name.
    assert web.post(f"/manage/events/{other.id}/fields", {"name": "보건복지보육"}).status_code == 302

    used = event.fields[0]
    make_nomination(event.id, make_user("resident").id, field_index=0)
    refused = web.post(f"/manage/fields/{used.id}/delete", form_url=url, follow_redirects=True)
    assert "Nominations use this field" in text(refused)
    assert db_read(lambda s: s.get(Field, used.id)) is not None

    unused = event.fields[2]
    assert web.post(f"/manage/fields/{unused.id}/delete", form_url=url).status_code == 302
    assert db_read(lambda s: s.get(Field, unused.id)) is None


def test_departments_add_duplicate_and_delete(client, web, organizer, make_event, make_user, app, db_read):
    url = "/manage/departments"
    assert web.post(url, {"name": "자치행정과"}).status_code == 302
    assert count(db_read, Department, Department.name == "자치행정과") == 1
    duplicate = web.post(url, {"name": "자치행정과"})
    assert duplicate.status_code == 200 and "already in the list" in text(duplicate)
    assert count(db_read, Department, Department.name == "자치행정과") == 1

    event = make_event()
    resident = make_user("resident")
    with app.app_context():
        used = db.session.scalar(select(Department).where(Department.name == "환경과"))
        nomination = factories.nomination(event.id, nominator_id=resident.id)
        nomination.department = used
        db.session.commit()
        used_id = used.id
    refused = web.post(f"/manage/departments/{used_id}/delete", form_url=url, follow_redirects=True)
    assert "Nominations use this department" in text(refused)
    assert db_read(lambda s: s.get(Department, used_id)) is not None

    new_id = db_read(lambda s: s.scalar(select(Department.id).where(Department.name == "자치행정과")))
    assert web.post(f"/manage/departments/{new_id}/delete", form_url=url).status_code == 302
    assert db_read(lambda s: s.get(Department, new_id)) is None


# ---------------------------------------------------------------- frozen events


def _snapshot(db_read, event_id):
    def load(s):
        event = s.get(Event, event_id)
        return {
            "event": (event.name, event.year, event.state, event.nominate_opens_at),
            "categories": [
                (c.id, c.name, c.weight_resident, [(t.id, t.name) for t in c.tiers], [(k.id, k.name) for k in c.criteria])
                for c in event.categories
            ],
            "fields": [(f.id, f.name) for f in event.fields],
            "nominations": [
                (n.id, n.title, n.state) for n in s.scalars(select(Nomination).where(Nomination.event_id == event_id))
            ],
        }

    return db_read(load)


def test_frozen_event_refuses_every_change(app, client, web, english, make_user, make_event, make_nomination, db_read):
    event = make_event(state="open", phase="nominating")
    resident = make_user("resident")
    organizer = make_user("organizer")
    nomination_id = make_nomination(event.id, resident.id)
    practice = event.categories[0]
    set_state(app, event.id, EventState.FROZEN)
    before = _snapshot(db_read, event.id)
    frozen = "frozen"

    web.login(organizer.email)
    # The event itself
    response = web.post(f"/manage/events/{event.id}/edit", {**EVENT_DATA, "name": "바꾸려는 이름"})
    assert response.status_code == 200 and frozen in text(response)
    response = web.post(f"/manage/events/{event.id}/state", {"state": "open"}, form_url=f"/manage/events/{event.id}",
                        follow_redirects=True)
    assert frozen in text(response)
    # Categories
    response = web.post(f"/manage/events/{event.id}/categories/new", category_data())
    assert frozen in text(response)
    response = web.post(f"/manage/categories/{practice.id}/edit", category_data(name="새 이름"))
    assert frozen in text(response)
    response = web.post(f"/manage/categories/{event.categories[1].id}/delete", form_url=f"/manage/events/{event.id}",
                        follow_redirects=True)
    assert frozen in text(response)
    # Fields
    fields_url = f"/manage/events/{event.id}/fields"
    response = web.post(fields_url, {"name": "새 분과"}, form_url=f"/manage/events/{event.id}/categories/new")
    assert frozen in text(response)
    response = web.post(f"/manage/fields/{event.fields[2].id}/delete", form_url=f"/manage/events/{event.id}",
                        follow_redirects=True)
    assert frozen in text(response)
    # Screening
    response = web.post(f"/manage/nominations/{nomination_id}/screen", {"decision": "finalist", "note": ""})
    assert frozen in text(response)
    # The organizer's page no longer offers the changes.
    page = text(client.get(f"/manage/events/{event.id}"))
    assert f"/manage/categories/{practice.id}/edit" not in page
    web.logout()

    # Nominating and editing
    web.login(resident.email)
    response = web.post(
        f"/events/{event.id}/nominate",
        {"category_id": practice.id, "title": "t", "summary": "s", "description": "d", "field_id": event.fields[0].id},
        form_url="/",
    )
    assert response.status_code == 403
    assert "Nominations are not open" in text(response)
    response = web.post(f"/nominations/{nomination_id}/edit",
                        {"category_id": practice.id, "title": "바뀜", "summary": "s", "description": "d",
                         "field_id": event.fields[0].id}, form_url="/", follow_redirects=True)
    assert "can no longer be changed" in text(response)
    response = web.post(f"/nominations/{nomination_id}/withdraw", form_url="/", follow_redirects=True)
    assert "frozen; nominations can no longer change" in text(response)

    assert _snapshot(db_read, event.id) == before
