"""A resident signs up, confirms by the mailed link, nominates; the organizer makes it a finalist."""
import os

import pytest

pytestmark = pytest.mark.browser

TITLE = "홍제천 테마길 다리 꾸미기"


def test_resident_nominates_and_organizer_makes_a_finalist(
    chromium, live_server, mailbox, make_user, make_event, screenshot_dir
):
    event = make_event(phase="nominating")
    organizer = make_user("organizer")
    page = chromium.new_context(locale="ko-KR").new_page()

    page.goto(f"{live_server.url}/signup")
    page.get_by_label("이름").fill("김서연")
    page.get_by_label("이메일").fill("seoyeon@test.example")
    page.get_by_label("비밀번호", exact=True).fill("a-long-password")
    page.get_by_label("비밀번호 확인").fill("a-long-password")
    page.get_by_role("button", name="계정 만들기").click()
    page.wait_for_url("**/account")

    link = mailbox.last_link("seoyeon@test.example")
    assert link.startswith(live_server.url)
    page.goto(link)
    page.wait_for_url("**/account")
    assert "확인" in page.content()

    page.goto(f"{live_server.url}/events/{event.id}/nominate")
    page.get_by_label("부문").select_option(label="협치 우수사례")
    page.get_by_label("제목").fill(TITLE)
    page.get_by_label("요약").fill("포방교, 홍제3교, 연가교를 주민과 함께 새로 꾸민 사업")
    page.get_by_label("설명", exact=True).fill("워킹그룹이 현장 답사와 회의를 거쳐 다리 디자인을 정했습니다.")
    page.get_by_label("분과").select_option(label="경제산업")
    page.get_by_role("button", name="추천 제출").click()
    page.wait_for_url("**/my/nominations")
    assert TITLE in page.content()
    page.screenshot(path=os.path.join(screenshot_dir, "nomination-mine.png"), full_page=True)

    staff = chromium.new_context(locale="ko-KR").new_page()
    staff.goto(f"{live_server.url}/login")
    staff.get_by_label("이메일").fill(organizer.email)
    staff.get_by_label("비밀번호").fill("correct-horse-battery")
    staff.get_by_role("button", name="로그인").click()
    staff.goto(f"{live_server.url}/manage/events/{event.id}/nominations")
    staff.get_by_role("link", name=TITLE).click()
    staff.get_by_label("본선 후보로 선정").check()
    staff.get_by_role("button", name="결정 저장").click()
    staff.wait_for_url(f"**/manage/events/{event.id}/nominations")
    assert any(TITLE in m.get_content() for m in mailbox.to("seoyeon@test.example"))

    visitor = chromium.new_context(locale="ko-KR", viewport={"width": 390, "height": 844}).new_page()
    visitor.goto(f"{live_server.url}/events/{event.id}/finalists")
    assert visitor.get_by_role("link", name=TITLE).is_visible()
    path = os.path.join(screenshot_dir, "gallery-phone.png")
    visitor.screenshot(path=path, full_page=True)
    assert os.path.getsize(path) > 0
