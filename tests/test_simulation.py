"""`voting demo --ballots N --seed S`: simulated ballots and sheets, the same for the same seed."""
from sqlalchemy import func, select

from voting.ballots.models import Ballot, BallotApproval, PaperTotal, Participation
from voting.extensions import db
from voting.judging.models import ScoreSheet, SheetScore, SheetStatus

from tests.conftest import _empty_all_tables


def snapshot(app):
    with app.app_context():
        return {
            "receipts": sorted(db.session.scalars(select(Ballot.receipt_hash))),
            "approvals": sorted(db.session.execute(select(Ballot.receipt_hash, BallotApproval.nomination_id)
                                                   .join(Ballot, Ballot.id == BallotApproval.ballot_id)).all()),
            "paper": sorted(db.session.execute(select(PaperTotal.category_id, PaperTotal.group, PaperTotal.ballots)).all()),
            "scores": sorted(db.session.execute(select(ScoreSheet.judge_id, ScoreSheet.nomination_id, SheetScore.criterion_id,
                                                       SheetScore.value).join(SheetScore)).all()),
            "recused": db.session.scalar(select(func.count()).select_from(ScoreSheet).where(ScoreSheet.status == SheetStatus.RECUSED)),
            "ballots": db.session.scalar(select(func.count()).select_from(Ballot)),
            "participations": db.session.scalar(select(func.count()).select_from(Participation)),
        }


def test_same_seed_same_ballots_and_sheets(app, runner):
    result = runner.invoke(args=["voting", "demo", "--ballots", "50", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "50 simulated ballots per category (seed 7)" in result.output
    first = snapshot(app)
    # 50 per category: 45 cast online or on-site (27 + 10 + 8), 5 on paper (3 + 2); two categories.
    assert first["ballots"] == first["participations"] == 2 * 45
    assert len(first["paper"]) == 4 and first["recused"] == 2
    assert first["scores"], "the judges scored"

    again = runner.invoke(args=["voting", "demo", "--ballots", "50", "--seed", "7"])
    assert again.exit_code != 0 and ("ballots already" in again.output or "이미 투표가" in again.output)
    assert snapshot(app)["ballots"] == first["ballots"]

    _empty_all_tables(app)
    assert runner.invoke(args=["voting", "demo", "--ballots", "50", "--seed", "7"]).exit_code == 0
    assert snapshot(app) == first

    _empty_all_tables(app)
    assert runner.invoke(args=["voting", "demo", "--ballots", "50", "--seed", "8"]).exit_code == 0
    assert snapshot(app)["receipts"] != first["receipts"]


def test_simulated_ballots_respect_the_ballot_rules(app, runner):
    assert runner.invoke(args=["voting", "demo", "--ballots", "40", "--seed", "1"]).exit_code == 0
    with app.app_context():
        from voting.events.models import Category
        from voting.nominations.models import Nomination, NominationState

        for category in db.session.scalars(select(Category)):
            per_ballot = db.session.execute(
                select(func.count()).select_from(BallotApproval).join(Ballot, Ballot.id == BallotApproval.ballot_id)
                .where(Ballot.category_id == category.id).group_by(BallotApproval.ballot_id)
            ).scalars().all()
            assert per_ballot and all(1 <= n <= category.max_approvals for n in per_ballot)
            approved = set(db.session.scalars(
                select(BallotApproval.nomination_id).join(Ballot, Ballot.id == BallotApproval.ballot_id)
                .where(Ballot.category_id == category.id)))
            finalists = set(db.session.scalars(select(Nomination.id).where(
                Nomination.category_id == category.id, Nomination.state == NominationState.FINALIST)))
            assert approved <= finalists
        for total in db.session.scalars(select(PaperTotal)):
            k = db.session.get(Category, total.category_id).max_approvals
            assert all(a.count <= total.ballots for a in total.approvals)
            assert sum(a.count for a in total.approvals) <= total.ballots * k
