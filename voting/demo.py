"""A demo event built from the source documents (2019 Seodaemun sharing party).

The windows are placed around today so that each phase can be tried at once.
Running it twice leaves one demo event and one set of accounts.

The event is in ``phone`` mode: one person votes once, after confirming a mobile phone
with an SMS code (printed on the server's console in development). Its roll (명부) holds
the demo residents with demo mobile numbers: confirming one of them (online, or at the
check-in desk of the staff account) finds that entry, and an organizer who switches the
event to ``roll`` mode before voting opens can try roll claims and personal links with
them. No resident is confirmed in advance: that is the first thing a newcomer tries.

Its ballots are sealed: the demo residents and officials are its five trustees (three
shares open the box), and the demo writes their shares to ``instance/demo-trustee-shares.txt``
so that the box can be opened on a fresh checkout. A real event never writes a share.
"""
import os
from datetime import date, timedelta

from sqlalchemy import select

from voting.accounts.models import Role, User, VotingGroup
from voting.database import utcnow
from voting.electors.models import EligibilityMode, Elector, ElectorKind, RollEntry
from voting.events.models import (
    AwardTier,
    Category,
    CategoryKind,
    Criterion,
    Department,
    Event,
    EventState,
    Field,
)
from voting.extensions import db
from voting.identity import parse_phone, seal_phone
from voting.nominations.models import CONSENT_VERSION, Nomination, NominationState
from voting.sealing import ceremony
from voting.sealing import operations as sealing

EVENT_NAME = "2019 협치 성과 공유 파티"
FIELDS = ["경제산업", "교육문화", "기후환경", "보건복지보육", "제도행정"]
DEPARTMENTS = ["협치지원팀", "자치행정과", "일자리경제과", "교육지원과", "문화체육과", "환경과", "보건소", "복지정책과", "자원순환과", "공동주택과"]

DEMO_ACCOUNTS = [
    ("organizer", "organizer@demo.seodaemun.example", "demo-organizer-2019"),
    ("resident", "resident1@demo.seodaemun.example", "demo-resident-2019"),
    ("resident", "resident2@demo.seodaemun.example", "demo-resident-2019"),
    ("resident", "resident3@demo.seodaemun.example", "demo-resident-2019"),
    ("official", "official1@demo.seodaemun.example", "demo-official-2019"),
    ("official", "official2@demo.seodaemun.example", "demo-official-2019"),
    ("judge", "judge1@demo.seodaemun.example", "demo-judge-2019"),
    ("judge", "judge2@demo.seodaemun.example", "demo-judge-2019"),
    ("judge", "judge3@demo.seodaemun.example", "demo-judge-2019"),
    ("staff", "staff1@demo.seodaemun.example", "demo-staff-2019"),
]
NAMES = ["협치지원팀장", "김서연", "이준호", "박지민", "최민수", "정다은", "한지우", "오세훈", "윤하늘", "강민지"]
ELIGIBILITY = EligibilityMode.PHONE
DISTRICT = "서대문구"
# The demo residents on the roll: (email of their account, name, date of birth, mobile, dong).
# 010-5550-xxxx: demo numbers; in development the "SMS" goes to the server's console.
ROLL = [
    ("resident1@demo.seodaemun.example", "김서연", date(1952, 4, 11), "010-5550-0001", "연희동"),
    ("resident2@demo.seodaemun.example", "이준호", date(1948, 9, 23), "010-5550-0002", "홍제동"),
    ("resident3@demo.seodaemun.example", "박지민", date(1961, 1, 30), "010-5550-0003", "북가좌동"),
]
TRUSTEE_EMAILS = [email for role, email, _p in DEMO_ACCOUNTS if role in ("resident", "official")]
TRUSTEE_THRESHOLD = 3
SHARES_FILE = "demo-trustee-shares.txt"
OFFICIAL_DEPARTMENTS = {"official1@demo.seodaemun.example": "협치지원팀", "official2@demo.seodaemun.example": "환경과"}

# (title, field, department, summary)
PRACTICES = [
    ("정보공개 확대 활성화", "제도행정", "자치행정과", "구정 정보를 주민이 먼저 찾아볼 수 있도록 공개 범위를 넓히고 절차를 쉽게 바꾼 사업"),
    ("홍제천 테마길 다리 꾸미기", "경제산업", "일자리경제과", "포방교, 홍제3교, 연가교를 주민과 함께 새로 디자인해 상가와 연계한 사업"),
    ("주민 공간, 거듭나는 작은 도서관", "교육문화", "교육지원과", "동네 작은 도서관을 주민이 함께 쓰는 공간으로 바꾼 프로젝트"),
    ("난청 예방, 건강한 청력 유지", "보건복지보육", "보건소", "어르신과 청소년의 청력 검사와 예방 교육을 주민과 함께 연 프로젝트"),
    ("공동체 마을 밥상, 어린이들의 행복한 한 끼", "보건복지보육", "복지정책과", "마을이 함께 차리는 밥상으로 어린이 끼니를 챙긴 사업"),
    ("공동주택 에너지정보화 환경조성", "기후환경", "공동주택과", "아파트 단지의 에너지 사용을 함께 보고 줄이는 환경을 만든 사업"),
    ("홍제천 폭포장 운영 및 네트워크 구축", "기후환경", "환경과", "홍제천 폭포마당을 주민 네트워크와 함께 운영한 사업"),
    ("자원봉사 문화구축 및 기반 조성", "제도행정", "자치행정과", "자원봉사 단체와 구가 함께 봉사 문화를 넓히는 기반을 만든 사업"),
    ("찾아가는 공동주택 교육 및 공동체 활성화", "교육문화", "공동주택과", "공동주택 주민을 찾아가 교육하고 공동체 모임을 도운 사업"),
    ("홍제천 생태환경 조성 및 네트워크 구축", "기후환경", "환경과", "홍제천의 생태를 되살리는 활동을 주민 단체와 함께 한 사업"),
    ("서북 3구 자원순환센터 공동협력", "기후환경", "자원순환과", "서대문·은평·마포가 재활용품을 함께 처리하기로 협약한 공동협력 사업"),
]
# (nominee, affiliation, field, title, summary)
PERSONS = [
    ("김도윤", "경제산업분과 워킹위원", "경제산업", "다리 디자인 워킹그룹을 이끈 주민 위원", "가장 춥고 더운 날에도 홍제천 현장을 답사하며 워킹 위원 회의를 이끌었습니다."),
    ("이수진", "교육문화분과 민간위원", "교육문화", "작은 도서관을 마을 사랑방으로 만든 주민", "도서관 운영 주민 모임을 꾸려 주말 프로그램을 열었습니다."),
    ("박현우", "협치지원팀 주무관", "제도행정", "주민 공론장을 연 공무원", "주민 공론장과 민·관 협력 회의를 준비하고 기록을 공개했습니다."),
    ("최은영", "보건복지보육분과 워킹위원", "보건복지보육", "마을 밥상을 함께 차린 주민", "어린이 끼니를 챙기는 마을 밥상을 이웃과 함께 매주 열었습니다."),
]
# Nominations still waiting for screening, so the screening page has work in it.
PENDING = [
    ("practice", "난청 예방 찾아가는 검사소", "보건복지보육", "동 주민센터를 돌며 청력 검사를 연 활동"),
    ("practice", "불광천 관리운영 협의체", "기후환경", "불광천을 함께 관리하는 주민·구청 협의체 제안"),
]

PHASE_OFFSETS = {
    # (nominate, vote, judge) windows as (start, end) in days from today
    "nominating": ((-7, 7), (10, 20), (10, 24)),
    "voting": ((-30, -10), (-2, 12), (-2, 14)),
    "judging": ((-40, -20), (-15, -1), (-3, 10)),
    "results": ((-60, -40), (-30, -3), (-25, -1)),
}


def _accounts():
    users = {}
    for (role, email, password), name in zip(DEMO_ACCOUNTS, NAMES):
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name=name, role=Role(role), email_verified_at=utcnow())
            user.department = OFFICIAL_DEPARTMENTS.get(email)
            user.set_password(password)
            db.session.add(user)
        users[email] = user
    db.session.flush()
    return users


def _set_windows(event, phase):
    today = utcnow().replace(minute=0, second=0, microsecond=0)
    (n0, n1), (v0, v1), (j0, j1) = PHASE_OFFSETS[phase]
    event.nominate_opens_at, event.nominate_closes_at = today + timedelta(days=n0), today + timedelta(days=n1)
    event.vote_opens_at, event.vote_closes_at = today + timedelta(days=v0), today + timedelta(days=v1)
    event.judge_opens_at, event.judge_closes_at = today + timedelta(days=j0), today + timedelta(days=j1)


def _criteria():
    return [
        Criterion(name="협치성", weight=3, max_score=10, position=0),
        Criterion(name="성과", weight=3, max_score=10, position=1),
        Criterion(name="지속가능성", weight=2, max_score=10, position=2),
        Criterion(name="확산가능성", weight=2, max_score=10, position=3),
    ]


def _roll(event):
    """The demo residents on the event's roll, made as the roll import makes it: an entry (the phone
    only as its HMAC, its last four digits and a sealed copy for personal links) and its roll
    elector each, with no account attached: a resident confirms their own phone."""
    for email, name, born, mobile, dong in ROLL:
        phone = parse_phone(mobile)
        known = select(RollEntry.id).where(RollEntry.event_id == event.id, RollEntry.phone_hmac == phone.digest)
        if db.session.scalar(known) is not None:
            continue
        entry = RollEntry(event_id=event.id, name=name, birth_date=born, phone_hmac=phone.digest, phone_last4=phone.last4,
                          phone_sealed=seal_phone(phone), email=email, district=DISTRICT, dong=dong,
                          group=VotingGroup.RESIDENT)
        db.session.add(entry)
        db.session.flush()
        db.session.add(Elector(event_id=event.id, group=VotingGroup.RESIDENT, kind=ElectorKind.ROLL,
                               phone_hmac=phone.digest, phone_last4=phone.last4, roll_entry_id=entry.id))
    db.session.flush()


def demo_event():
    return db.session.scalar(select(Event).where(Event.name == EVENT_NAME))


def build_demo(phase="nominating"):
    users = _accounts()
    departments = {}
    for name in DEPARTMENTS:
        department = db.session.scalar(select(Department).where(Department.name == name)) or Department(name=name)
        db.session.add(department)
        departments[name] = department

    event = demo_event()
    if event is not None:
        if not event.is_locked:
            _set_windows(event, phase)
        db.session.flush()
        return event

    event = Event(
        name=EVENT_NAME,
        year=2019,
        state=EventState.OPEN,
        eligibility=ELIGIBILITY,
        description="민과 관이 함께 뽑는 협치 우수사례와 협치적인 인물. 서대문구청 강당, 12월 13일.",
    )
    _set_windows(event, phase)
    fields = {name: Field(name=name, position=i) for i, name in enumerate(FIELDS)}
    event.fields = list(fields.values())
    practice = Category(
        name="협치 우수사례", kind=CategoryKind.PRACTICE, position=0, max_approvals=3,
        description="민·관이 함께 추진한 협치 사업 가운데 가장 모범이 된 사례",
        weight_resident=40, weight_official=20, weight_judges=40,
        tiers=[AwardTier(name="대상", count=1, position=0), AwardTier(name="최우수상", count=1, position=1),
               AwardTier(name="우수상", count=2, position=2), AwardTier(name="장려상", count=3, position=3)],
        criteria=_criteria(),
    )
    person = Category(
        name="협치 인물", kind=CategoryKind.PERSON, position=1, max_approvals=2,
        description="민과 관이 함께 뽑는 가장 협치적인 인물",
        weight_resident=40, weight_official=30, weight_judges=30,
        tiers=[AwardTier(name="협치인물상", count=2, position=0)],
        criteria=_criteria(),
    )
    event.categories = [practice, person]
    db.session.add(event)

    organizer = users[DEMO_ACCOUNTS[0][1]]
    nominators = [users[e] for _r, e, _p in DEMO_ACCOUNTS if _r in ("resident", "official")]
    now = utcnow()
    for i, (title, field, department, summary) in enumerate(PRACTICES):
        db.session.add(Nomination(
            event=event, category=practice, nominator=nominators[i % len(nominators)], state=NominationState.FINALIST,
            title=title, summary=summary, description=f"{summary}. 2019년 민·관 워킹그룹이 함께 추진했습니다.",
            field=fields[field], department=departments[department],
            screened_by=organizer, screened_at=now,
        ))
    for i, (nominee, affiliation, field, title, summary) in enumerate(PERSONS):
        db.session.add(Nomination(
            event=event, category=person, nominator=nominators[(i + 1) % len(nominators)], state=NominationState.FINALIST,
            title=title, summary=summary, description=summary, field=fields[field],
            nominee_name=nominee, nominee_affiliation=affiliation,
            consent_given_at=now, consent_version=CONSENT_VERSION, consent_method="서면 동의서",
            screened_by=organizer, screened_at=now,
        ))
    for i, (_kind, title, field, summary) in enumerate(PENDING):
        db.session.add(Nomination(
            event=event, category=practice, nominator=nominators[i], state=NominationState.SUBMITTED,
            title=title, summary=summary, description=summary, field=fields[field],
        ))
    db.session.flush()
    _roll(event)
    return event


def seal_demo_box(event, organizer, instance_path):
    """Names the demo trustees, holds the ceremony unattended and writes the shares to a file;
    returns the file's path. Does nothing (returns None) when the box has its key already."""
    box = sealing.box_of(event)
    if not event.sealed or (box is not None and box.has_key):
        return None
    trustees = [db.session.scalar(select(User.id).where(User.email == email)) for email in TRUSTEE_EMAILS]
    sealing.set_trustees(event, trustees, TRUSTEE_THRESHOLD, organizer)
    shares = ceremony.ceremony_without_trustees(event, organizer)
    box = sealing.box_of(event)
    path = os.path.join(instance_path, SHARES_FILE)
    os.makedirs(instance_path, exist_ok=True)
    lines = [f"# Demo trustee shares of event {event.id} ({event.name}); any {box.threshold} open its box.",
             f"# Public key fingerprint: {box.fingerprint}",
             "# A real event never writes a share anywhere: each trustee writes down their own.", ""]
    for trustee, share in zip(box.trustees, shares):
        lines += [f"# {trustee.position}. {trustee.user.name} <{trustee.user.email}>", share, ""]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines))
    return path
