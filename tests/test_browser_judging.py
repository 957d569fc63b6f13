"""In Chromium: a judge scores and submits a sheet; a second judge recuses from the same finalist.

The judging pages' texts are not translated yet, so the steps find elements by id, not by label.
"""
import os

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from voting.extensions import db
from voting.judging.models import ScoreSheet

from tests import factories
from tests.conftest import browser_log_in

pytestmark = pytest.mark.browser

TITLE = "홍제천 테마길 다리 꾸미기"
COMMENT = "주민과 구청이 함께 설계한 점이 돋보입니다."



@pytest.fixture
def judging_event(app):
    with app.app_context():
        event = factories.event(phase="judging", name="2019 협치 성과 공유 파티")
        nominator = factories.user("resident")
        finalist = factories.nomination(event.id, nominator_id=nominator.id, state="finalist", title=TITLE)
        factories.nomination(event.id, nominator_id=nominator.id, state="finalist", title="마을 공유부엌")
        first = factories.user("judge", name="김심사")
        second = factories.user("judge", name="박심사")
        organizer = factories.user("organizer")
        db.session.commit()
        return {
            "finalist": finalist.id,
            "criteria": [c.id for c in event.categories[0].criteria],
            "first": (first.id, first.email),
            "second": (second.id, second.email),
            "organizer": organizer.email,
            "event": event.id,
        }



def test_a_judge_submits_and_another_recuses(app, browser_contexts, live_server, judging_event, screenshot_dir):
    base = live_server.url
    finalist = judging_event["finalist"]
    c0, c1 = judging_event["criteria"]

    judge = browser_contexts().new_page()
    browser_log_in(judge, base, judging_event["first"][1])
    judge.locator("nav a[href='/judging']").click()
    judge.wait_for_url("**/judging")
    expect(judge.locator(f"#finalist-{finalist}")).to_have_attribute("data-state", "missing")
    judge.locator(f"#finalist-{finalist} a").click()
    judge.wait_for_url(f"**/judging/finalists/{finalist}")
    expect(judge.get_by_role("heading", name=TITLE)).to_be_visible()

    judge.locator(f"#score_{c0}").fill("8")
    judge.locator("#save-draft").click()
    judge.wait_for_url(f"**/judging/finalists/{finalist}")
    expect(judge.locator("#sheet-state")).to_have_attribute("data-state", "draft")
    expect(judge.locator(f"#score_{c0}")).to_have_value("8")

    judge.locator(f"#score_{c1}").fill("11")  # above the maximum of 10: refused next to the field
    judge.locator("#submit-sheet").click()
    expect(judge.locator(f"#score_{c1}-error")).to_be_visible()
    expect(judge.locator(f"#score_{c1}-error")).to_contain_text("0부터 10까지")
    judge.screenshot(path=os.path.join(screenshot_dir, "judging-sheet-error.png"), full_page=True)

    judge.locator(f"#score_{c1}").fill("6")
    judge.locator("#comment").fill(COMMENT)
    judge.locator("#submit-sheet").click()
    judge.wait_for_url("**/judging#event-*")
    expect(judge.locator(f"#finalist-{finalist}")).to_have_attribute("data-state", "submitted")
    expect(judge.locator(".flash-success")).to_be_visible()
    path = os.path.join(screenshot_dir, "judging-overview.png")
    judge.screenshot(path=path, full_page=True)
    assert os.path.getsize(path) > 0
    judge.locator(f"#finalist-{finalist} a").click()
    expect(judge.locator("#own-scores")).to_contain_text("8 / 10")
    expect(judge.locator("#sheet-form")).to_have_count(0)
    judge.screenshot(path=os.path.join(screenshot_dir, "judging-sheet-submitted.png"), full_page=True)

    other = browser_contexts().new_page()
    browser_log_in(other, base, judging_event["second"][1])
    other.goto(f"{base}/judging/finalists/{finalist}")
    # Nothing of the first judge's sheet is on the second judge's page.
    expect(other.locator(f"#score_{c0}")).to_have_value("")
    assert COMMENT not in other.content()
    other.locator("#reason").fill("제가 이 사업의 자문위원이었습니다.")
    other.locator("#recuse").click()
    other.wait_for_url("**/judging#event-*")
    expect(other.locator(f"#finalist-{finalist}")).to_have_attribute("data-state", "recused")
    other.goto(f"{base}/judging/finalists/{finalist}")
    expect(other.locator("#recusal-reason")).to_have_text("제가 이 사업의 자문위원이었습니다.")
    assert COMMENT not in other.content() and "own-scores" not in other.content()
    other.screenshot(path=os.path.join(screenshot_dir, "judging-recused.png"), full_page=True)

    staff = browser_contexts().new_page()
    browser_log_in(staff, base, judging_event["organizer"])
    staff.goto(f"{base}/manage/events/{judging_event['event']}/judging")
    first_id, second_id = judging_event["first"][0], judging_event["second"][0]
    expect(staff.locator(f"#cell-{first_id}-{finalist}")).to_have_attribute("data-state", "submitted")
    expect(staff.locator(f"#cell-{second_id}-{finalist}")).to_have_attribute("data-state", "recused")
    assert COMMENT not in staff.content()
    staff.screenshot(path=os.path.join(screenshot_dir, "judging-progress.png"), full_page=True)
    staff.locator("a[href$='/judges']").first.click()
    staff.wait_for_url("**/manage/categories/*/judges")
    expect(staff.locator(f"#pair-{first_id}-{finalist}")).to_be_checked()
    staff.screenshot(path=os.path.join(screenshot_dir, "judging-assignments.png"), full_page=True)

    with app.app_context():
        sheets = {s.judge_id: s for s in db.session.scalars(select(ScoreSheet))}
        first, second = sheets[judging_event["first"][0]], sheets[judging_event["second"][0]]
        assert first.status.value == "submitted" and {s.criterion_id: s.value for s in first.scores} == {c0: 8, c1: 6}
        assert first.comment == COMMENT
        assert second.status.value == "recused" and second.scores == [] and second.recusal_reason
