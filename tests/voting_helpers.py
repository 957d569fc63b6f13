"""Shared steps for the voting tests."""
import re

from voting.extensions import db
from voting.nominations.models import Nomination

from tests import factories

RECEIPT_PATTERN = re.compile(r'id="receipt-code">([0-9A-Z-]+)<')


def voting_event(app, phase="voting", finalists=3, category_index=0):
    """An open event in its voting window with finalists in its first category; returns ids."""
    with app.app_context():
        event = factories.event(phase=phase)
        nominator = factories.user("resident")
        ids = [
            factories.nomination(event.id, nominator_id=nominator.id, state="finalist", category_index=category_index, title=f"본선 후보 {i}").id
            for i in range(finalists)
        ]
        db.session.commit()
        return event.id, event.categories[category_index].id, ids


def cast_online(web, category_id, approvals):
    """Chooses, confirms and casts; returns the final response (after redirects)."""
    response = web.post(f"/categories/{category_id}/vote", {"approvals": [str(a) for a in approvals]})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    token = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    return web.client.post(
        f"/categories/{category_id}/vote/cast",
        data={"csrf_token": token, "approvals": [str(a) for a in approvals], "action": "cast"},
        follow_redirects=True,
    )


def receipt_from(response):
    match = RECEIPT_PATTERN.search(response.get_data(as_text=True))
    assert match, "no receipt on the page"
    return match.group(1)


def approvals_count(app, nomination_id):
    from sqlalchemy import func, select

    from voting.ballots.models import BallotApproval

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(BallotApproval).where(BallotApproval.nomination_id == nomination_id))


def nomination_title(app, nomination_id):
    with app.app_context():
        return db.session.get(Nomination, nomination_id).title
