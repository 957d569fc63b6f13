"""A resident signs up, confirms by the mailed link, nominates; the organizer makes it a finalist.

Labels and button texts are the Korean ones from voting/translations/ko/LC_MESSAGES/messages.po.
"""
import os

import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.browser

TITLE = "홍제천 테마길 다리 꾸미기"
EMAIL = "seoyeon@test.example"


def test_resident_nominates_and_organizer_makes_a_finalist(
    browser_contexts, live_server, mailbox, make_user, make_event, screenshot_dir
):
    event = make_event(phase="nominating")
    organizer = make_user("organizer")
    page = browser_contexts().new_page()

    page.goto(f"{live_server.url}/signup")
    page.get_by_label("이름").fill("김서연")
    page.get_by_label("이메일").fill(EMAIL)
    page.get_by_label("비밀번호", exact=True).fill("a-long-password")
    page.get_by_label("비밀번호 확인").fill("a-long-password")
    page.get_by_role("button", name="가입하기").click()  # "Create my account"
    page.wait_for_url("**/account")

    link = mailbox.last_link(EMAIL)
    assert link.startswith(live_server.url)
    page.goto(link)
    page.wait_for_url("**/account")
    # "Your email address %(email)s is confirmed."
    expect(page.locator(".flash-success")).to_contain_text(f"이메일 주소 {EMAIL} 확인을 마쳤습니다.")

    page.goto(f"{live_server.url}/events/{event.id}/nominate")
    page.get_by_label("부문").select_option(label="협치 우수사례")
    page.get_by_label("제목").fill(TITLE)
    page.get_by_label("요약").fill("포방교, 홍제3교, 연가교를 주민과 함께 새로 꾸민 사업")
    page.get_by_label("설명", exact=True).fill("워킹그룹이 현장 답사와 회의를 거쳐 다리 디자인을 정했습니다.")
    page.get_by_label("분과").select_option(label="경제산업")
    page.get_by_role("button", name="추천 제출하기").click()  # "Submit the nomination"
    page.wait_for_url("**/my/nominations")
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    page.screenshot(path=os.path.join(screenshot_dir, "nomination-mine.png"), full_page=True)

    staff = browser_contexts().new_page()
    staff.goto(f"{live_server.url}/login")
    staff.get_by_label("이메일").fill(organizer.email)
    staff.get_by_label("비밀번호").fill(factories.PASSWORD)
    staff.get_by_role("button", name="로그인").click()
    staff.wait_for_url(lambda url: "/login" not in url)
    staff.goto(f"{live_server.url}/manage/events/{event.id}/nominations")
    staff.get_by_role("link", name=TITLE).click()
    staff.wait_for_url("**/manage/nominations/*/screen")
    staff.get_by_label("본선 후보로 선정").check()  # "Accept as a finalist"
    staff.get_by_role("button", name="검토 결과 저장").click()  # "Save the decision"
    staff.wait_for_url(f"**/manage/events/{event.id}/nominations")
    assert any(TITLE in m.get_content() for m in mailbox.to(EMAIL))

    visitor = browser_contexts(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    visitor.goto(f"{live_server.url}/events/{event.id}/finalists")
    expect(visitor.get_by_role("link", name=TITLE)).to_be_visible()
    assert visitor.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    path = os.path.join(screenshot_dir, "gallery-phone.png")
    visitor.screenshot(path=path, full_page=True)
    assert os.path.getsize(path) > 0
