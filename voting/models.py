"""Every model module, imported once so that the metadata (and so Alembic) knows all tables."""
from voting.accounts import models as accounts  # noqa: F401
from voting.audit import models as audit  # noqa: F401
from voting.ballots import models as ballots  # noqa: F401
from voting.electors import models as electors  # noqa: F401
from voting.events import models as events  # noqa: F401
from voting.exports import models as exports  # noqa: F401
from voting.judging import models as judging  # noqa: F401
from voting.nominations import models as nominations  # noqa: F401
from voting.results import models as results  # noqa: F401
from voting.sealing import models as sealing  # noqa: F401
