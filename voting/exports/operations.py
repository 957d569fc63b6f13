"""The exports of an event's frozen results, in every format, and all of them as one zip.

Every export is made from the frozen snapshot alone (:func:`voting.results.bundle.frozen_results`),
so each number in each file is the number on the results page.  Texts are in the current
locale (the caller sets it with ``force_locale``).
"""
import io
import zipfile
from dataclasses import dataclass

from voting.i18n import to_seoul
from voting.results import bundle

FORMATS = ("csv", "xlsx", "pdf", "certificates", "bundle")


@dataclass(frozen=True)
class ExportFile:
    data: bytes
    filename: str
    mimetype: str


class NotFrozen(Exception):
    """Exports exist only for frozen results."""


def _csv(event, frozen):
    return bundle.results_csv(frozen.categories)


def _xlsx(event, frozen):
    from voting.exports.xlsx import results_xlsx

    return results_xlsx(event, frozen)


def _pdf(event, frozen):
    from voting.exports.report import results_pdf

    return results_pdf(event, frozen)


def _certificates(event, frozen):
    from voting.exports.certificates import certificates_pdf

    return certificates_pdf(event, frozen)


def _bundle(event, frozen):
    return frozen.bundle_bytes


MAKERS = {
    "csv": (_csv, "results-event{id}.csv", "text/csv; charset=utf-8"),
    "xlsx": (_xlsx, "results-event{id}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pdf": (_pdf, "results-report-event{id}.pdf", "application/pdf"),
    "certificates": (_certificates, "certificates-event{id}.pdf", "application/pdf"),
    "bundle": (_bundle, "results-bundle-event{id}.json", "application/json"),
}


def frozen_or_fail(event):
    frozen = bundle.frozen_results(event.id)
    if frozen is None:
        raise NotFrozen(event.id)
    return frozen


def export_file(event, fmt, frozen=None):
    """One export of the event's frozen results as an ExportFile; NotFrozen when not frozen."""
    make, filename, mimetype = MAKERS[fmt]
    frozen = frozen or frozen_or_fail(event)
    return ExportFile(make(event, frozen), filename.format(id=event.id), mimetype)


def frozen_stamp(frozen):
    """The time stamp of every file an export writes: when the results were frozen (Seoul),
    so that the same frozen results always give the same bytes."""
    return to_seoul(frozen.frozen_at).timetuple()[:6]


def zip_of(members, stamp):
    """A zip archive of (name, bytes) pairs, every member dated ``stamp``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def restamped(zip_bytes, stamp):
    """The same archive with every member dated ``stamp`` (openpyxl dates them 'now')."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        return zip_of([(info.filename, archive.read(info)) for info in archive.infolist()], stamp)


def all_exports(event):
    """Every export in one zip archive, each file under its own name."""
    frozen = frozen_or_fail(event)
    made = [export_file(event, fmt, frozen) for fmt in FORMATS]
    return ExportFile(zip_of([(m.filename, m.data) for m in made], frozen_stamp(frozen)),
                      f"results-event{event.id}.zip", "application/zip")
