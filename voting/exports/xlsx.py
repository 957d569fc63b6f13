"""The frozen results of an event as an Excel workbook, for the organizers on award day.

One sheet lists the awards; then one sheet per category holds its full standings, every
component of every finalist, with the weights, warnings and tie decisions below the table.

Every number is the number of the results page and of the CSV: points are
``scoring.display()`` (two decimals, half up, from the exact fraction) stored as a number with
the format ``0.00``, so Excel shows the very same text and can still sum and sort; counts and
ranks are integers.  Nothing is rounded here.

Sheets print on A4 (the awards portrait, the categories landscape), fitted to the page width,
with the table's header row repeated on every page and the event and category in the page
header.  Texts are in the current locale (the caller sets it).
"""
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import timezone
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from voting.exports.awards import event_awards
from voting.exports.operations import frozen_stamp, restamped
from voting.i18n import format_seoul_datetime
from voting.results import scoring
from voting.results.routes import finalist_names, replay_command, warning_text, weights_text

SHEET_NAME_LIMIT = 31                    # Excel's limit
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
RESERVED_SHEET_NAMES = {"history"}       # Excel keeps this name for itself

POINTS_FORMAT = "0.00"
INTEGER_FORMAT = "0"
HEADER_ROW = 4                           # rows 1-3: title, frozen date and SHA-256, a gap
MAX_COLUMN_WIDTH = 60
HEADER_WIDTH = 16                        # longer headers wrap onto a second line
HEADER_HEIGHT = 32                       # points: two lines

TITLE_FONT = Font(bold=True, size=14)
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
THIN = Side(style="thin", color="999999")
HEADER_BORDER = Border(bottom=THIN)
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
CENTER_WRAP = Alignment(wrap_text=True, horizontal="center", vertical="center")


@dataclass(frozen=True)
class Column:
    """One column of a table: its header, the cell value of a row, and its number format
    (None for text)."""

    header: object                       # a lazy string: translated when written
    value_of: object                     # row -> cell value
    number_format: str | None = None
    wraps: bool = False                  # long text: wrap within a capped width


def points(value):
    """The page's two-decimal value as a number (None stays empty: no judge score)."""
    text = scoring.display(value)
    return Decimal(text) if text else None


# A category row is (CategoryResults, FinalistResult); an awards row is an awards.Award.
CATEGORY_COLUMNS = (
    Column(_l("Rank"), lambda c, r: r.rank, INTEGER_FORMAT),
    Column(_l("Award"), lambda c, r: r.tier),
    Column(_l("Finalist number"), lambda c, r: r.finalist, INTEGER_FORMAT),
    Column(_l("Finalist"), lambda c, r: c.finalists[r.finalist].title, wraps=True),
    Column(_l("Nominee"), lambda c, r: c.finalists[r.finalist].nominee),
    Column(_l("Resident approvals"), lambda c, r: r.votes["resident"], INTEGER_FORMAT),
    Column(_l("Official approvals"), lambda c, r: r.votes["official"], INTEGER_FORMAT),
    Column(_l("Resident points"), lambda c, r: points(r.resident), POINTS_FORMAT),
    Column(_l("Official points"), lambda c, r: points(r.official), POINTS_FORMAT),
    Column(_l("Judge points"), lambda c, r: points(r.judges), POINTS_FORMAT),
    Column(_l("Total score"), lambda c, r: points(r.score), POINTS_FORMAT),
    Column(_l("Tied with"), lambda c, r: c.titles(r.tied_with) or None, wraps=True),
)

AWARD_COLUMNS = (
    Column(_l("Category"), lambda a: a.category.name),
    Column(_l("Award"), lambda a: a.tier),
    Column(_l("Finalist"), lambda a: a.finalist.title, wraps=True),
    Column(_l("Nominee"), lambda a: a.finalist.nominee),
    Column(_l("Rank"), lambda a: a.row.rank, INTEGER_FORMAT),
    Column(_l("Total score"), lambda a: points(a.row.score), POINTS_FORMAT),
)


# ---------------------------------------------------------------------------
# Sheet names


def sheet_name(wanted, taken):
    """A valid sheet name close to ``wanted``, not in ``taken`` (compared as Excel does,
    ignoring case), and adds it to ``taken``.

    Excel refuses names longer than 31 characters, with any of ``[]:*?/\\``, starting or
    ending with an apostrophe, or equal to another sheet's name in any case; a category's
    name may be any of these, so it is cleaned, cut, and numbered " (2)", " (3)" ... when
    it is still taken."""
    base = SHEET_NAME_FORBIDDEN.sub("_", str(wanted)).strip().strip("'").strip() or "_"
    name, number = base[:SHEET_NAME_LIMIT], 1
    while name.casefold() in taken or name.casefold() in RESERVED_SHEET_NAMES:
        number += 1
        suffix = f" ({number})"
        name = base[:SHEET_NAME_LIMIT - len(suffix)].rstrip() + suffix
    taken.add(name.casefold())
    return name


# ---------------------------------------------------------------------------
# Writing


def put(sheet, row, column, value):
    """Writes one cell.  Names come from nominators and organizers: a title such as
    "=HYPERLINK(...)" must stay text, never become a formula that Excel would run."""
    cell = sheet.cell(row, column, value)
    if cell.data_type == "f":
        cell.data_type = "s"
    return cell


def text_width(value):
    """How many character widths a value takes in a cell: Korean (wide) letters count two."""
    if value is None:
        return 0
    if isinstance(value, Decimal):
        return len(f"{value:.2f}")
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value))


def write_table(sheet, columns, rows, values_of):
    """Writes the header at HEADER_ROW and one line per row; sets each column's width from
    its longest value (wrapping columns capped).  Returns the last row written."""
    widths = []
    for index, column in enumerate(columns, start=1):
        cell = put(sheet, HEADER_ROW, index, str(column.header))
        cell.font, cell.fill, cell.border, cell.alignment = HEADER_FONT, HEADER_FILL, HEADER_BORDER, CENTER_WRAP
        widths.append(max(6, min(text_width(cell.value), HEADER_WIDTH)))
    sheet.row_dimensions[HEADER_ROW].height = HEADER_HEIGHT
    row_number = HEADER_ROW
    for row in rows:
        row_number += 1
        for index, (column, value) in enumerate(zip(columns, values_of(row)), start=1):
            cell = put(sheet, row_number, index, value)
            if column.number_format:
                cell.number_format = column.number_format
            elif column.wraps:
                cell.alignment = WRAP_TOP
            widths[index - 1] = max(widths[index - 1], min(text_width(value), MAX_COLUMN_WIDTH))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width + 2
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, 1)
    if row_number > HEADER_ROW:
        sheet.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(columns))}{row_number}"
    return row_number


def header_text(text):
    """A text for the printed page header: '&' starts a code there, so it is doubled."""
    return text.replace("&", "&&")


def write_heading(sheet, frozen, title):
    put(sheet, 1, 1, title).font = TITLE_FONT
    frozen_line = _("Frozen on %(when)s.", when=format_seoul_datetime(frozen.frozen_at))
    snapshot_label = _("SHA-256 of the frozen snapshot:")
    put(sheet, 2, 1, f"{frozen_line} {snapshot_label} {frozen.sha256}")


def set_printing(sheet, title, landscape):
    """A4, fitted to the page width (as many pages down as needed), the header row repeated,
    the title in the page header and page numbers in the footer."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE if landscape else sheet.ORIENTATION_PORTRAIT
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.oddHeader.center.text = header_text(title)
    sheet.oddFooter.right.text = "&P / &N"


def labelled(label, text):
    return f"{label}: {text}"


def category_notes(results):
    """The lines below a category's table: weights, weights used, warnings, tie decisions."""
    standings = results.standings
    weights = results.settings.weights
    lines = [labelled(_("Weights"), weights_text(weights.as_dict()))]
    if any(standings.weights_used[key] != weights.of(key) for key in scoring.COMPONENTS):
        lines.append(labelled(_("Weights used"), weights_text(standings.weights_used)))
    note = _("Please note")
    lines.extend(labelled(note, warning_text(results, warning)) for warning in results.warnings)
    for resolution in results.resolutions:
        ids = sorted(resolution.finalists)
        if resolution.method == "draw":
            lines.append(_("Recorded draw between %(finalists)s with seed %(seed)s; drawn order: %(order)s.",
                           finalists=finalist_names(results, ids), seed=resolution.seed,
                           order=finalist_names(results, resolution.order or [])))
            replay = _("Anyone can replay it:")
            lines.append(f"{replay} {replay_command(resolution)}")
        else:
            lines.append(_("Joint award: %(finalists)s share the better award.",
                           finalists=finalist_names(results, ids)))
    return lines


def write_category(workbook, event, frozen, results, taken):
    sheet = workbook.create_sheet(sheet_name(results.name, taken))
    title = f"{event.name} · {results.name}"
    write_heading(sheet, frozen, title)
    last = write_table(sheet, CATEGORY_COLUMNS, results.standings.results,
                       lambda row: [column.value_of(results, row) for column in CATEGORY_COLUMNS])
    if not results.standings.results:
        last += 1
        put(sheet, last, 1, _("This category has no finalists."))
    for offset, line in enumerate(category_notes(results), start=2):
        put(sheet, last + offset, 1, line)
    set_printing(sheet, title, landscape=True)


def results_xlsx(event, frozen):
    """The workbook of the event's frozen results (``voting.results.bundle.Frozen``) as bytes."""
    workbook = Workbook()
    results_label, awards_label = _("Results"), _("Awards")
    workbook.properties.title = f"{event.name} · {results_label}"
    # Dated when frozen, not when exported: the same frozen results give the same bytes.
    workbook.properties.created = workbook.properties.modified = frozen.frozen_at.astimezone(timezone.utc).replace(tzinfo=None)
    taken = set()
    awards = workbook.active
    awards.title = sheet_name(awards_label, taken)
    title = f"{event.name} · {awards_label}"
    write_heading(awards, frozen, title)
    write_table(awards, AWARD_COLUMNS, event_awards(frozen.categories),
                lambda award: [column.value_of(award) for column in AWARD_COLUMNS])
    set_printing(awards, title, landscape=False)
    for results in frozen.categories:
        write_category(workbook, event, frozen, results, taken)
    # ExcelWriter rather than workbook.save(), which would date the document "now".
    out = io.BytesIO()
    ExcelWriter(workbook, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED)).save()
    return restamped(out.getvalue(), frozen_stamp(frozen))
