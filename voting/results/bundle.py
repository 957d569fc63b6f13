"""The frozen snapshot, the transparency bundle (``voting-results-bundle/1``) and the CSV table.

The snapshot stored when an event is frozen *is* a bundle document without its ``sha256``:
the same keys, with each category's ballots in a canonical order (sorted by group, channel and
approvals).  Its SHA-256 is taken over its canonical JSON (DESIGN.md)::

    json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

The published bundle is built from the snapshot alone: the ballots of each category are
shuffled with ``random.Random(snapshot_sha256)`` (one generator, categories in order), the
field ``snapshot_sha256`` is added, and ``sha256`` is the hash of the canonical JSON of all
the rest.  So the file is byte-identical every time it is exported, and sorting its ballots
back gives the snapshot.  Ballots carry no voter, receipt or time; receipts are a separate
sorted list of hashes; judges appear as pseudonyms J1, J2 ... given in a random order at
freezing.  The results in the snapshot are computed from the snapshot's own inputs (through
scoring.inputs_from_bundle), and freezing checks that they equal the live results.
"""
import csv
import hashlib
import io
import json
import random
import secrets
import threading
from collections import OrderedDict
from fractions import Fraction

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from voting.ballots.models import Ballot, BallotApproval
from voting.extensions import db
from voting.results import scoring
from voting.results.models import ResultSnapshot
from voting.results.operations import (
    GROUPS,
    CategoryResults,
    ChannelVotes,
    Finalist,
    group_votes,
    snapshot_header,
)
from voting.results.verify import FORMAT, canonical_json
from voting.sealing.models import Receipt



def sha256_of(document):
    return hashlib.sha256(canonical_json(document)).hexdigest()


# ---------------------------------------------------------------------------
# The snapshot document, built from the database when freezing


def judge_pseudonyms(results):
    """J1, J2 ... for every judge with a submitted sheet or a recusal in the event, in a random
    order (so that the numbering tells nothing, not even the order of invitation)."""
    judges = sorted({s.judge for r in results for s in r.sheets} | {j for r in results for j, _n in r.recusals})
    secrets.SystemRandom().shuffle(judges)
    return {judge: f"J{number}" for number, judge in enumerate(judges, start=1)}


def _judge_key(pseudonym):
    return int(pseudonym[1:]) if pseudonym[1:].isdigit() else 0


def ballot_key(ballot):
    return (ballot["group"], ballot["channel"], ballot["approvals"])


def ballot_lists(results):
    """Every online and on-site ballot of the categories as {"group", "channel", "approvals"},
    approvals of finalists only, ascending; each category's list in canonical order."""
    finalists = {r.id: set(r.finalists) for r in results}
    ballots = {}
    rows = db.session.execute(
        select(Ballot.id, Ballot.category_id, Ballot.group, Ballot.channel, BallotApproval.nomination_id)
        .outerjoin(BallotApproval, BallotApproval.ballot_id == Ballot.id)
        .where(Ballot.category_id.in_(list(finalists)))
    )
    for ballot_id, category_id, group, channel, nomination_id in rows:
        ballot = ballots.get(ballot_id)
        if ballot is None:
            ballot = ballots[ballot_id] = (category_id, {"group": group.value, "channel": channel.value, "approvals": []})
        if nomination_id is not None and nomination_id in finalists[category_id]:
            ballot[1]["approvals"].append(nomination_id)
    lists = {category_id: [] for category_id in finalists}
    for category_id, ballot in ballots.values():
        ballot["approvals"].sort()
        lists[category_id].append(ballot)
    for items in lists.values():
        items.sort(key=ballot_key)
    return lists


def receipt_hashes(results):
    return sorted(db.session.scalars(
        select(Receipt.receipt_hash).where(Receipt.category_id.in_([r.id for r in results]))
    ))


def _number(value):
    value = Fraction(value)
    return value.numerator if value.denominator == 1 else scoring.fraction_text(value)


def inputs_document(results, ballots, pseudonyms):
    """One category of the bundle without its results and warnings."""
    settings = results.settings
    finalist_ids = sorted(results.finalists)
    document = {
        "id": results.id,
        "name": results.name,
        "kind": results.kind,
        "max_approvals": results.max_approvals,
        "weights": settings.weights.as_dict(),
        "vote_normalization": settings.vote_normalization,
        "judge_aggregation": settings.judge_aggregation,
        "tie_break": list(settings.tie_break),
        "tiers": [{"name": t.name, "count": t.count} for t in settings.tiers],
        "criteria": [{"id": c.id, "name": results.criteria_names.get(c.id, str(c.id)),
                      "weight": _number(c.weight), "max": _number(c.max_score)} for c in settings.criteria],
        "finalists": [],
        "ballots": ballots,
        "paper_totals": [
            {"group": group, "ballots": results.channels[group]["paper"].ballots,
             "approvals": {str(i): results.channels[group]["paper"].approvals.get(i, 0) for i in finalist_ids}}
            for group in GROUPS if "paper" in results.channels.get(group, {})
        ],
        "sheets": sorted(
            ({"judge": pseudonyms[s.judge], "finalist": s.finalist,
              "scores": {str(c): _number(x) for c, x in s.scores.items()}} for s in results.sheets),
            key=lambda s: (s["finalist"], _judge_key(s["judge"])),
        ),
        "recusals": sorted(
            ({"judge": pseudonyms[j], "finalist": n} for j, n in results.recusals),
            key=lambda r: (r["finalist"], _judge_key(r["judge"])),
        ),
        "tie_resolutions": [
            {"finalists": sorted(r.finalists), "method": r.method, "seed": r.seed,
             "order": None if r.order is None else list(r.order)}
            for r in results.resolutions
        ],
    }
    for i in finalist_ids:
        finalist = results.finalists[i]
        entry = {"id": i, "title": finalist.title}
        if finalist.nominee:
            entry["nominee"] = finalist.nominee
        document["finalists"].append(entry)
    return document


def results_list(standings):
    """The "results" of a bundle category: scoring.bundle_results plus two-decimal components."""
    rows = scoring.bundle_results(standings)
    for row, result in zip(rows, standings.results):
        row["components_display"] = {key: scoring.display(result.component(key)) for key in scoring.COMPONENTS}
    return rows


def recompute(category_document):
    """Standings from one bundle category, as anyone holding the bundle would compute them."""
    return scoring.compute_standings(**scoring.inputs_from_bundle(category_document))


def snapshot_document(event, results, frozen_at):
    """The snapshot of an event from its live results (see the module docstring)."""
    pseudonyms = judge_pseudonyms(results)
    ballots = ballot_lists(results)
    categories = []
    for r in results:
        document = json.loads(canonical_json(inputs_document(r, ballots[r.id], pseudonyms)))
        standings = recompute(document)
        document["results"] = results_list(standings)
        if scoring.bundle_results(standings) != scoring.bundle_results(r.standings):
            raise RuntimeError(f"category {r.id}: the snapshot's results differ from the live results")
        document["warnings"] = json.loads(canonical_json(scoring.bundle_warnings(standings) + list(r.notes)))
        categories.append(document)
    return {
        "format": FORMAT,
        "event": {"id": event.id, "name": event.name, "frozen_at": frozen_at.isoformat()},
        "categories": categories,
        "receipt_hashes": receipt_hashes(results),
    }


# ---------------------------------------------------------------------------
# From the stored snapshot: the bundle, the pages' data, the CSV


def bundle_document(snapshot_json, snapshot_sha256):
    document = json.loads(snapshot_json)
    generator = random.Random(snapshot_sha256)
    for category in document["categories"]:
        generator.shuffle(category["ballots"])
    document["snapshot_sha256"] = snapshot_sha256
    document["sha256"] = sha256_of(document)
    return document


def channels_of(category_document):
    channels = {group: {} for group in GROUPS}
    for ballot in category_document["ballots"]:
        part = channels[ballot["group"]].setdefault(ballot["channel"], ChannelVotes())
        part.ballots += 1
        for finalist in ballot["approvals"]:
            part.approvals[finalist] = part.approvals.get(finalist, 0) + 1
    by_text = {str(f["id"]): f["id"] for f in category_document["finalists"]}
    for paper in category_document["paper_totals"]:
        channels[paper["group"]]["paper"] = ChannelVotes(
            paper["ballots"], {by_text[k]: n for k, n in paper["approvals"].items() if n})
    return channels


def category_results_from(category_document):
    """CategoryResults of one frozen category, its standings recomputed from the snapshot."""
    inputs = scoring.inputs_from_bundle(category_document)
    channels = channels_of(category_document)
    results = CategoryResults(
        id=category_document["id"],
        name=category_document["name"],
        kind=category_document["kind"],
        max_approvals=category_document["max_approvals"],
        settings=inputs["settings"],
        criteria_names={c["id"]: c["name"] for c in category_document["criteria"]},
        finalists={f["id"]: Finalist(f["id"], f["title"], f.get("nominee")) for f in category_document["finalists"]},
        channels=channels,
        votes=group_votes(channels),
        sheets=inputs["sheets"],
        recusals=[(r["judge"], r["finalist"]) for r in category_document["recusals"]],
        resolutions=inputs["resolutions"],
        notes=[],
    ).compute()
    if json.loads(canonical_json(results_list(results.standings))) != category_document["results"]:
        raise RuntimeError(f"category {results.id}: the frozen results do not recompute")
    computed = json.loads(canonical_json(scoring.bundle_warnings(results.standings)))
    results.notes = [w for w in category_document["warnings"] if w not in computed]
    return results


class Frozen:
    """An event's frozen results, read from its snapshot once per process and kept (a
    snapshot never changes; the cache key is its SHA-256)."""

    def __init__(self, sha256, frozen_at, published_at, entry):
        self.sha256 = sha256
        self.frozen_at = frozen_at
        self.published_at = published_at
        self._entry = entry

    @property
    def document(self):
        return self._entry["document"]

    @property
    def categories(self):
        return self._entry["categories"]

    def category(self, category_id):
        return next((c for c in self.categories if c.id == category_id), None)

    @property
    def bundle_bytes(self):
        """The published bundle file: canonical JSON, the same bytes every time."""
        entry = self._entry
        if entry["bundle"] is None:
            document = bundle_document(entry["text"], self.sha256)
            entry["bundle_sha256"] = document["sha256"]
            entry["bundle"] = canonical_json(document)
        return entry["bundle"]

    @property
    def bundle_sha256(self):
        self.bundle_bytes  # noqa: B018  (fills the cache entry)
        return self._entry["bundle_sha256"]


_CACHE = OrderedDict()
_CACHE_SIZE = 8
_CACHE_LOCK = threading.Lock()


def frozen_results(event_id):
    """The event's Frozen results, or None when it has no snapshot."""
    header = snapshot_header(event_id)
    if header is None:
        return None
    sha, frozen_at, published_at = header
    with _CACHE_LOCK:
        entry = _CACHE.get(sha)
    if entry is None:
        text = db.session.scalar(select(ResultSnapshot.canonical_json).where(ResultSnapshot.event_id == event_id))
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != sha:
            raise RuntimeError(f"the results snapshot of event {event_id} does not match its SHA-256")
        document = json.loads(text)
        entry = {"text": text, "document": document, "bundle": None, "bundle_sha256": None,
                 "categories": [category_results_from(c) for c in document["categories"]]}
        with _CACHE_LOCK:
            _CACHE[sha] = entry
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return Frozen(sha, frozen_at, published_at, entry)


CSV_COLUMNS = (
    _l("Category"), _l("Rank"), _l("Award"), _l("Finalist number"), _l("Finalist"), _l("Nominee"),
    _l("Resident approvals"), _l("Official approvals"), _l("Resident points"), _l("Official points"),
    _l("Judge points"), _l("Total score"), _l("Total (exact)"), _l("Tied with"),
)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(text):
    """Text that a spreadsheet will not run as a formula: a title like "=HYPERLINK(...)" gets a
    leading apostrophe, which Excel and LibreOffice show as plain text."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def results_csv(categories):
    """The results table as CSV in UTF-8 with a BOM (so that Excel shows Korean), header in the
    current language.  Texts typed by people go through :func:`inert`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(column) for column in CSV_COLUMNS])
    for results in categories:
        for row in results.standings.results:
            finalist = results.finalists[row.finalist]
            writer.writerow([
                inert(results.name), row.rank, inert(row.tier or ""), row.finalist, inert(finalist.title),
                inert(finalist.nominee or ""),
                row.votes["resident"], row.votes["official"],
                scoring.display(row.resident), scoring.display(row.official), scoring.display(row.judges),
                scoring.display(row.score), scoring.fraction_text(row.score), inert(results.titles(row.tied_with)),
            ])
    return out.getvalue().encode("utf-8-sig")
