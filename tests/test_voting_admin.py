"""Paper totals, turnout and the audit log's hash chain."""
from sqlalchemy import func, select, text

from voting.audit.models import AuditEntry
from voting.ballots.models import PaperApproval, PaperTotal
from voting.extensions import db

from tests.voting_helpers import cast_online, voting_event


def paper_form(finalists, ballots, counts):
    form = {"ballots": str(ballots)}
    form.update({f"count_{f}": str(c) for f, c in zip(finalists, counts)})
    return form


def test_paper_totals_are_saved_edited_and_logged(app, web, login_as):
    event_id, category_id, finalists = voting_event(app)  # max 2 approvals per ballot
    login_as("organizer")
    url = f"/manage/categories/{category_id}/paper/resident"
    assert web.post(url, paper_form(finalists, 10, [7, 6, 5])).status_code == 302
    assert web.post(url, paper_form(finalists, 12, [8, 6, 5])).status_code == 302
    with app.app_context():
        total = db.session.scalar(select(PaperTotal))
        assert total.ballots == 12 and total.group.value == "resident"
        assert {a.nomination_id: a.count for a in total.approvals} == dict(zip(finalists, [8, 6, 5]))
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "paper.save").order_by(AuditEntry.id)).all()
        assert len(entries) == 2
        assert '"before":{"approvals"' in entries[1].details and '"ballots":10' in entries[1].details
    turnout = web.client.get(f"/manage/events/{event_id}/turnout").get_data(as_text=True)
    assert "<td>12</td>" in turnout


def test_paper_totals_beyond_ballots_times_choices_are_refused(app, web, login_as):
    _event_id, category_id, finalists = voting_event(app)
    login_as("organizer")
    url = f"/manage/categories/{category_id}/paper/official"
    cases = [
        paper_form(finalists, 10, [10, 10, 1]),  # 21 > 10 × 2
        paper_form(finalists, 5, [6, 0, 0]),  # one finalist above the ballots
        paper_form(finalists, -1, [0, 0, 0]),
        paper_form(finalists, "x", [0, 0, 0]),
        {"ballots": "3"},  # counts missing
    ]
    for form in cases:
        response = web.post(url, form)
        assert response.status_code == 400, form
    assert web.client.get(f"/manage/categories/{category_id}/paper/judges").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PaperTotal)) == 0
        assert db.session.scalar(select(func.count()).select_from(PaperApproval)) == 0


def test_turnout_shows_counts_by_group_and_channel_but_no_ranking(app, web, login_as):
    event_id, category_id, finalists = voting_event(app)
    login_as("resident")
    cast_online(web, category_id, [finalists[0]])
    organizer = app.test_client()
    from tests.conftest import Browserless
    from tests import factories

    with app.app_context():
        email = factories.user("organizer").email
        db.session.commit()
    staff = Browserless(organizer)
    staff.login(email)
    page = organizer.get(f"/manage/events/{event_id}/turnout").get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in page
    assert "<td>1</td>" in page
    assert "본선 후보 0" not in page, "turnout names no finalist"


def test_audit_chain_verifies_and_names_the_first_broken_entry(app, web, login_as, runner):
    _event_id, category_id, finalists = voting_event(app)
    login_as("resident")
    cast_online(web, category_id, [finalists[0]])
    organizer = app.test_client()
    from tests.conftest import Browserless
    from tests import factories

    with app.app_context():
        email = factories.user("organizer").email
        db.session.commit()
    staff = Browserless(organizer)
    staff.login(email)
    staff.post(f"/manage/categories/{category_id}/paper/resident", paper_form(finalists, 2, [1, 1, 0]))
    staff.post(f"/manage/categories/{category_id}/paper/resident", paper_form(finalists, 3, [1, 1, 1]))

    result = runner.invoke(args=["voting", "verify-audit"])
    assert result.exit_code == 0 and "intact: 3 entries" in result.output, result.output

    with app.app_context():
        ballot_entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ballot.cast"))
        assert str(finalists[0]) not in ballot_entry.details.replace(f'"category_id":{category_id}', "")
        second = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()[1]
        db.session.execute(text("UPDATE audit_log SET details = :d WHERE id = :id"), {"d": '{"forged":true}', "id": second.id})
        db.session.commit()
        second_id = second.id
    result = runner.invoke(args=["voting", "verify-audit"])
    assert result.exit_code == 1
    assert f"BROKEN at entry {second_id}" in result.output


def test_concurrent_appends_keep_one_chain(app):
    import threading

    from voting.audit import operations as audit

    def append(n):
        with app.app_context():
            for i in range(10):
                audit.record("test.append", actor=None, details={"thread": n, "i": i})
                db.session.commit()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        checked, broken, _why = audit.verify_chain()
        assert broken is None and checked == 40
        previous = db.session.scalars(select(AuditEntry.previous_hash)).all()
        assert len(set(previous)) == 40, "no two entries hang off the same one"
