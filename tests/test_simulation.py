"""`voting demo --ballots N --seed S`: simulated ballots and sheets, the same for the same seed."""
import os

from sqlalchemy import func, select

from voting.ballots.models import Ballot, BallotApproval, PaperTotal, Participation
from voting.extensions import db
from voting.sealing.models import BallotBox, Receipt, SealedBallot
from voting.judging.models import ScoreSheet, SheetScore, SheetStatus

from tests.conftest import _empty_all_tables


def open_demo_box(app, runner):
    """Opens the demo event's sealed box with the shares the demo wrote, as a newcomer would."""
    path = os.path.join(app.instance_path, "demo-trustee-shares.txt")
    result = runner.invoke(args=["voting", "open-box", "1", "--shares-file", path])
    assert result.exit_code == 0, result.output
    return result.output


def _ballot_contents():
    """Each plain ballot's (category, group, channel, approvals), as a sorted list: the ids are random."""
    contents = {}
    for ballot_id, category_id, group, channel, nomination_id in db.session.execute(
        select(Ballot.id, Ballot.category_id, Ballot.group, Ballot.channel, BallotApproval.nomination_id)
        .join(BallotApproval, BallotApproval.ballot_id == Ballot.id)
    ):
        contents.setdefault(ballot_id, [category_id, group.value, channel.value, []])[3].append(nomination_id)
    return sorted((c, g, ch, tuple(sorted(a))) for c, g, ch, a in contents.values())


def snapshot(app):
    with app.app_context():
        return {
            "receipts": sorted(db.session.scalars(select(Receipt.receipt_hash))),
            "approvals": _ballot_contents(),
            "plain_sha256": db.session.scalar(select(BallotBox.plain_sha256)),
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
    assert "demo-trustee-shares.txt" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0, "sealed until the opening"
        assert db.session.scalar(select(func.count()).select_from(SealedBallot)) == 2 * 45
    open_demo_box(app, runner)
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
    open_demo_box(app, runner)
    assert snapshot(app) == first

    _empty_all_tables(app)
    assert runner.invoke(args=["voting", "demo", "--ballots", "50", "--seed", "8"]).exit_code == 0
    open_demo_box(app, runner)
    assert snapshot(app)["receipts"] != first["receipts"]


def test_simulated_ballots_respect_the_ballot_rules(app, runner):
    assert runner.invoke(args=["voting", "demo", "--ballots", "40", "--seed", "1"]).exit_code == 0
    open_demo_box(app, runner)
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


def test_simulated_demo_votes_as_phone_electors_and_freezes_and_exports(app, runner, tmp_path):
    """The demo event is in phone mode: simulated residents vote as confirmed phones, cards as walk-ins
    bound at the desk, officials as accounts; the roll's residents have not voted; freeze and export work."""
    from voting.electors.models import CardBinding, EligibilityMode, Elector, ElectorKind
    from voting.events.models import Event

    assert runner.invoke(args=["voting", "demo", "--ballots", "50", "--seed", "7"]).exit_code == 0
    with app.app_context():
        event = db.session.scalar(select(Event))
        assert event.eligibility == EligibilityMode.PHONE
        kinds = dict(db.session.execute(select(Elector.kind, func.count()).group_by(Elector.kind)).all())
        # 50 a category: 28 residents online, 10 cards, 7 officials; the 3 demo residents on the roll
        assert kinds == {ElectorKind.PHONE: 38, ElectorKind.ACCOUNT: 7, ElectorKind.ROLL: 3}
        assert db.session.scalar(select(func.count()).select_from(CardBinding)) == 10
        rows = db.session.execute(
            select(Participation.channel, Participation.group, Elector.kind, Elector.user_id.is_not(None),
                   func.count()).join(Elector, Elector.id == Participation.elector_id)
            .group_by(Participation.channel, Participation.group, Elector.kind, Elector.user_id.is_not(None))
        ).all()
        assert {(c.value, g.value, k.value, has_account, n) for c, g, k, has_account, n in rows} == {
            ("online", "resident", "phone", True, 2 * 28),
            ("onsite", "resident", "phone", False, 2 * 10),
            ("online", "official", "account", True, 2 * 7),
        }
        event_id = event.id

    refused = runner.invoke(args=["voting", "freeze", str(event_id)])
    assert refused.exit_code != 0 and "waits to be opened" in refused.output
    open_demo_box(app, runner)
    frozen = runner.invoke(args=["voting", "freeze", str(event_id)])
    assert frozen.exit_code == 0, frozen.output
    bundle = tmp_path / "bundle.json"
    assert runner.invoke(args=["voting", "export", str(event_id), "--format", "bundle", "--out", str(bundle)]).exit_code == 0
    checked = runner.invoke(args=["voting", "verify-bundle", str(bundle)])
    assert checked.exit_code == 0 and "recomputes to its results: 2 categories" in checked.output
    archive = tmp_path / "results.zip"
    assert runner.invoke(args=["voting", "export", str(event_id), "--format", "zip", "--out", str(archive)]).exit_code == 0
    assert archive.stat().st_size > 0
