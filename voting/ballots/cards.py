"""The printable A4 sheet of on-site code cards: a QR code and the typed code on each."""
import segno
from flask import render_template, url_for
from weasyprint import HTML

CARDS_PER_PAGE = 10


def code_cards_pdf(event, batch, plain_codes):
    cards = []
    for code in plain_codes:
        link = url_for("ballots.onsite_start", event_id=event.id, code=code, _external=True)
        qr = segno.make(link, error="m")
        cards.append({"code": code, "qr": qr.svg_data_uri(scale=4, border=2)})
    pages = [cards[i:i + CARDS_PER_PAGE] for i in range(0, len(cards), CARDS_PER_PAGE)]
    html = render_template(
        "ballots/code_cards.html",
        event=event,
        batch=batch,
        pages=pages,
        address=url_for("ballots.onsite_start", event_id=event.id, _external=True),
    )
    return HTML(string=html).write_pdf()
