"""Access rows of the roll (명부): the organizers' page that lists the roll and imports a CSV file."""
import io

from tests import elector_factories, factories
from tests.access.table import ANONYMOUS, EVERYONE, NOBODY, ORGANIZERS, RESIDENT, STAFF, Route  # noqa: F401


def roll_upload(_w):
    """A file that adds one person: proof that the import would act for a refused role too."""
    text = "이름,생년월일,휴대폰,구,동,구분\n접근시험,1961-05-05,010-7300-0001,서대문구,연희동,주민\n"
    return {"file": (io.BytesIO(text.encode("utf-8")), "roll.csv")}


ROUTES = [
    Route("roll.show_roll", "GET", lambda w: f"/manage/events/{w.roll_event}/roll", ORGANIZERS),
    Route("roll.show_roll", "POST", lambda w: f"/manage/events/{w.roll_event}/roll", ORGANIZERS,
          data=roll_upload, changes=ORGANIZERS, note="CSV import"),
]


def extend_world(world, users):
    """A roll-mode event in its voting window, with one entry on its roll."""
    event = factories.event(phase="voting", eligibility="roll")
    elector_factories.roll_entry(event.id, "김명부", "010-7300-0002")
    world.roll_event = event.id
