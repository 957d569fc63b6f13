"""Responses that several areas send alike: stored images, and JSON that must never be cached."""
from flask import jsonify, make_response


def image_response(data, mime_type, cache_control):
    """An image kept in the database, shown inline (its type was checked when it was stored)."""
    response = make_response(data)
    response.headers["Content-Type"] = mime_type
    response.headers["Cache-Control"] = cache_control
    response.headers["Content-Disposition"] = "inline"
    return response


def live_json(payload):
    """JSON polled by a live page: every poll must reach the server, or the page would freeze."""
    response = jsonify(payload)
    response.headers["Cache-Control"] = "no-store"
    return response


PADDED_PAGE_SIZE = 32 * 1024


def padded(response, size=PADDED_PAGE_SIZE):
    """An HTML page grown to a multiple of ``size`` bytes with a trailing comment, so that its length
    (in an access log, or on the wire) tells nothing of what it shows, such as a voter's choices."""
    response = make_response(response)
    body = response.get_data()
    filler = (-(len(body) + 8)) % size   # the comment adds 8 bytes of its own
    response.set_data(body + b"\n<!--" + b" " * filler + b"-->")
    return response
