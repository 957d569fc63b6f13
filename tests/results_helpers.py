"""A hand-made event for the results tests: every channel of both groups, sheets, a recusal, a draft.

The practice category (협치 우수사례: at most 2 approvals, tiers 대상 1 and 우수상 2; rubric
협치성 ×3 and 성과 ×2, each 0..10, so sum_c w_c*max_c = 50; weights 40/20/40, top, mean):

  residents  online  r1 [A,B]  r2 [A]  r3 [B,C]          on-site codes  [A]  [C]
             paper   4 ballots: A 3, B 1, C 2
             B_res = 3 + 2 + 4 = 9;  v_res: A 1+1+1+3 = 6,  B 1+1+1 = 3,  C 1+1+2 = 4
  officials  online  o1 [B]  o2 [B,C]                    paper 2 ballots: A 1, C 1
             B_off = 2 + 2 = 4;      v_off: A 1,  B 2,  C 2
  judges     J1: A (8,6) -> 100*(24+12)/50 = 72   B (9,9) -> 90   C (5,5) -> 50
             J2: A (6,8) -> 100*(18+16)/50 = 68   B (7,5) -> 62   C recused
             J3: a draft for C (not counted)
  top:       C_res = A 100, B 50, C 100*4/6 = 200/3;  C_off = A 50, B 100, C 100
  mean:      J = A 70, B 76, C 50
  S = (40*C_res + 20*C_off + 40*J) / 100:
             A (4000 + 1000 + 2800) / 100 = 78           -> rank 1, 대상
             B (2000 + 2000 + 3040) / 100 = 70.40        -> rank 2, 우수상
             C (8000/3 + 2000 + 2000) / 100 = 200/3      -> rank 3, 우수상 (66.67)

The person category (협치 인물: 1 approval, tier 협치인물상 1; nobody judges it):

  residents  online  r1 P1, r2 P2, r3 P1        v_res: P1 2, P2 1 -> C_res P1 100, P2 50
  officials  online  o1 P2                      v_off: P1 0, P2 1 -> C_off P1 0, P2 100
  judges empty: dropped, S = (40*C_res + 20*C_off) / 60:
             P1 (4000 + 0) / 60 = 200/3,  P2 (2000 + 2000) / 60 = 200/3: equal;
             the chain: judges (none either) -> residents: P1 100 > P2 50, so P1 is first.
"""
from dataclasses import dataclass
from fractions import Fraction as F

from sqlalchemy import select

from tests import factories
from voting.accounts.models import User
from voting.ballots import operations as ballots
from voting.events.models import Event, EventState
from voting.events.operations import change_event_state
from voting.extensions import db
from voting.judging import operations as judging
from voting.nominations.models import Nomination
from voting.results import operations as results
from voting.results.scoring import CategorySettings, Criterion, GroupVotes, Sheet, Tier, Weights

EXPECTED = {  # finalist letter -> (rank, tier, C_res, C_off, J, S)
    "A": (1, "대상", F(100), F(50), F(70), F(78)),
    "B": (2, "우수상", F(50), F(100), F(76), F(352, 5)),
    "C": (3, "우수상", F(200, 3), F(100), F(50), F(200, 3)),
}
EXPECTED_PERSON = {
    "P1": (1, "협치인물상", F(100), F(0), None, F(200, 3)),
    "P2": (2, None, F(50), F(100), None, F(200, 3)),
}


@dataclass
class HandEvent:
    event_id: int
    category_id: int
    person_category_id: int
    finalists: dict        # letter -> nomination id
    criteria: tuple        # (협치성 id, 성과 id)
    organizer_email: str
    organizer_id: int
    judge_ids: tuple
    resident_ids: tuple

    def ids(self, *letters):
        return [self.finalists[letter] for letter in letters]

    def hand_inputs(self):
        """The practice category's scoring inputs, written out by hand (not read from the database)."""
        a, b, c = self.ids("A", "B", "C")
        c1, c2 = self.criteria
        j1, j2, _j3 = self.judge_ids
        settings = CategorySettings(
            weights=Weights(40, 20, 40), tiers=(Tier("대상", 1), Tier("우수상", 2)),
            criteria=(Criterion(c1, 3, 10), Criterion(c2, 2, 10)),
        )
        votes = {"resident": GroupVotes(9, {a: 6, b: 3, c: 4}), "official": GroupVotes(4, {a: 1, b: 2, c: 2})}
        sheets = [
            Sheet(j1, a, {c1: 8, c2: 6}), Sheet(j1, b, {c1: 9, c2: 9}), Sheet(j1, c, {c1: 5, c2: 5}),
            Sheet(j2, a, {c1: 6, c2: 8}), Sheet(j2, b, {c1: 7, c2: 5}),
        ]
        return {"settings": settings, "finalists": [a, b, c], "votes": votes, "sheets": sheets, "resolutions": []}

# The answer of the confirmation step that freezing, publishing and settling a tie ask for.
CONFIRMED = {"confirmed": "yes"}


def hand_made_event(app, *, close=True, aggregation=None, normalization=None):
    """Builds the event of the module docstring through the app's own operations."""
    with app.app_context():
        event = factories.event(phase="voting")
        practice, person = event.categories
        if aggregation:
            from voting.events.models import JudgeAggregation

            practice.judge_aggregation = JudgeAggregation(aggregation)
        if normalization:
            from voting.events.models import VoteNormalization

            practice.vote_normalization = VoteNormalization(normalization)
        nominator = factories.user("resident")
        finalists = {}
        for letter, title in (("A", "홍제천 테마길 다리 꾸미기"), ("B", "주민 공간, 거듭나는 작은 도서관"),
                              ("C", "공동체 마을 밥상")):
            finalists[letter] = factories.nomination(event.id, nominator_id=nominator.id, state="finalist", title=title).id
        for letter, title in (("P1", "다리 디자인 워킹그룹을 이끈 주민 위원"), ("P2", "작은 도서관 주민 모임 대표")):
            finalists[letter] = factories.nomination(event.id, nominator_id=nominator.id, state="finalist",
                                                     category_index=1, title=title).id
        organizer = factories.user("organizer")
        residents = [factories.user("resident") for _ in range(3)]
        officials = [factories.user("official") for _ in range(2)]
        judges = [factories.user("judge") for _ in range(3)]
        db.session.commit()

        def n(letter):
            return db.session.get(Nomination, finalists[letter])

        def online(user, category, *letters):
            ballots.cast_ballot(category, ballots.Voter(user=user), [finalists[x] for x in letters])

        online(residents[0], practice, "A", "B")
        online(residents[1], practice, "A")
        online(residents[2], practice, "B", "C")
        online(officials[0], practice, "B")
        online(officials[1], practice, "B", "C")
        online(residents[0], person, "P1")
        online(residents[1], person, "P2")
        online(residents[2], person, "P1")
        online(officials[0], person, "P2")
        _batch, plain = ballots.create_code_batch(event, "resident", 2, "접수대", organizer)
        ballots.open_onsite_voting(practice, None, organizer)
        for code, letter in zip(plain, ("A", "C")):
            ballots.cast_ballot(practice, ballots.Voter(code=ballots.find_code(event, code)), [finalists[letter]])
        ballots.close_onsite_voting(practice, organizer)
        a, b, c = finalists["A"], finalists["B"], finalists["C"]
        ballots.save_paper_totals(practice, "resident", 4, {a: 3, b: 1, c: 2}, organizer)
        ballots.save_paper_totals(practice, "official", 2, {a: 1, c: 1}, organizer)
        c1, c2 = (criterion.id for criterion in practice.criteria)
        j1, j2, j3 = judges
        for judge, letter, scores in ((j1, "A", (8, 6)), (j1, "B", (9, 9)), (j1, "C", (5, 5)),
                                      (j2, "A", (6, 8)), (j2, "B", (7, 5))):
            judging.save_sheet(judge, n(letter), {c1: scores[0], c2: scores[1]}, submit=True)
        judging.recuse_from_finalist(j2, n("C"), "추천인과 같은 단체에서 활동합니다.")
        judging.save_sheet(j3, n("C"), {c1: 9}, submit=False)
        if close:
            change_event_state(event, EventState.CLOSED)
        db.session.commit()
        return HandEvent(
            event_id=event.id, category_id=practice.id, person_category_id=person.id, finalists=finalists,
            criteria=(c1, c2), organizer_email=organizer.email, organizer_id=organizer.id,
            judge_ids=tuple(j.id for j in judges), resident_ids=tuple(r.id for r in residents),
        )


def tie_event(app, *, state="closed"):
    """Two finalists approved on the same single ballot: equal on every part, tied across 대상 / 우수상.

    (One resident ballot approves both: C_res 100 each; officials and judges are empty, so S is
    100 for both and the chain finds no difference.)  A third finalist without votes is 3rd."""
    with app.app_context():
        event = factories.event(phase="voting")
        practice = event.categories[0]
        nominator = factories.user("resident")
        ids = [factories.nomination(event.id, nominator_id=nominator.id, state="finalist", title=t).id
               for t in ("마을 공유부엌", "골목 정원", "작은 음악회")]
        voter = factories.user("resident")
        organizer = factories.user("organizer")
        db.session.commit()
        ballots.cast_ballot(practice, ballots.Voter(user=voter), ids[:2])
        if state == "closed":
            change_event_state(event, EventState.CLOSED)
        db.session.commit()
        return event.id, practice.id, ids, organizer.email


def organizer(app, email):
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def freeze(app, event_id, actor_id=None):
    with app.app_context():
        event = db.session.get(Event, event_id)
        actor = db.session.get(User, actor_id) if actor_id else None
        snapshot = results.freeze_results(event, actor)
        db.session.commit()
        return snapshot.sha256
