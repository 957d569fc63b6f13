"""Recomputing a published transparency bundle, as anyone holding the file can.

Uses the pure results module only: the bundle's own inputs (settings, ballots, paper totals,
sheets, tie decisions) go through :func:`scoring.compute_standings`, and every value of its
"results" is compared with what comes out.  Nothing is read from the database.
"""
import hashlib
import json
from dataclasses import dataclass, field

from voting.results import scoring

FORMAT = "voting-results-bundle/1"
# What a bundle of the wrong shape raises while it is read (a number where an object belongs...).
MALFORMED = (AttributeError, KeyError, TypeError, ValueError)
RESULT_FIELDS = ("votes", "components", "score", "score_display", "rank", "tier", "tied_with")


def canonical_json(document):
    """DESIGN.md's canonical form: the bytes that are hashed."""
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class CategoryCheck:
    id: object
    name: str
    finalists: int = 0
    mismatches: list = field(default_factory=list)   # human-readable lines

    @property
    def matches(self):
        return not self.mismatches


@dataclass
class BundleCheck:
    problems: list = field(default_factory=list)      # bundle-level lines (format, hash, receipts)
    categories: list = field(default_factory=list)    # CategoryCheck

    @property
    def matches(self):
        return not self.problems and all(c.matches for c in self.categories)


def read_bundle(data: bytes):
    """The bundle document; ValueError when the bytes are not a JSON object."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a JSON document: {exc}") from exc
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return document


def _recomputed_rows(category):
    standings = scoring.compute_standings(**scoring.inputs_from_bundle(category))
    rows = scoring.bundle_results(standings)
    # Through JSON, so ids and tuples compare as they are written in the file.
    return {str(row["finalist"]): row for row in json.loads(canonical_json(rows))}


def check_category(category):
    if not isinstance(category, dict):
        return CategoryCheck("?", "", mismatches=[f"a category that is not an object: {category!r}"])
    check = CategoryCheck(category.get("id"), str(category.get("name", "")))
    try:
        computed = _recomputed_rows(category)
    except MALFORMED as exc:
        check.mismatches.append(f"cannot be recomputed: {exc!r}")
        return check
    rows = category.get("results")
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        check.mismatches.append("its results are not a list of objects")
        return check
    stated = {str(row.get("finalist")): row for row in rows}
    check.finalists = len(computed)
    for finalist in sorted(set(computed) | set(stated), key=lambda i: (len(i), i)):
        if finalist not in stated:
            check.mismatches.append(f"finalist {finalist}: missing from the bundle's results")
            continue
        if finalist not in computed:
            check.mismatches.append(f"finalist {finalist}: in the bundle's results but not a finalist")
            continue
        for key in RESULT_FIELDS:
            if stated[finalist].get(key) != computed[finalist][key]:
                check.mismatches.append(
                    f"finalist {finalist} {key}: bundle {stated[finalist].get(key)!r}, recomputed {computed[finalist][key]!r}")
    order = [str(row.get("finalist")) for row in rows]
    expected = list(computed)
    if not check.mismatches and order != expected:
        check.mismatches.append(f"results are listed in the order {order}, recomputed rank order is {expected}")
    return check


def check_bundle(document):
    """A BundleCheck of the whole document: format, SHA-256, receipt list, every category."""
    check = BundleCheck()
    if document.get("format") != FORMAT:
        check.problems.append(f"format is {document.get('format')!r}, expected {FORMAT!r}")
    rest = {key: value for key, value in document.items() if key != "sha256"}
    actual = hashlib.sha256(canonical_json(rest)).hexdigest()
    if document.get("sha256") != actual:
        check.problems.append(f"sha256 is {document.get('sha256')!r}, the canonical JSON hashes to {actual}")
    receipts = document.get("receipt_hashes")
    if not isinstance(receipts, list) or not all(isinstance(r, str) for r in receipts):
        check.problems.append("receipt_hashes is not a list of strings")
    elif receipts != sorted(set(receipts)):
        check.problems.append("receipt_hashes are not sorted and distinct")
    categories = document.get("categories")
    if not isinstance(categories, list) or not categories:
        check.problems.append("no categories")
        return check
    check.categories = [check_category(category) for category in categories]
    return check
