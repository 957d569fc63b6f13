"""Nomination photos: only real JPEG/PNG images, re-encoded without metadata, served safely."""
import html
import io
import random
import re
import struct
import zlib

import pytest
from flask_babel import force_locale
from PIL import ExifTags, Image, ImageFile
from PIL.PngImagePlugin import PngInfo
from sqlalchemy import func, select

from voting.extensions import db
from voting.nominations.models import Nomination, NominationPhoto, NominationState
from voting.nominations.photos import MAX_SIDE, PhotoError, clean_photo

MB = 1024 * 1024
SECRET = "SecretCam"


# ---------------------------------------------------------------- images made in memory


def jpeg_with_metadata(size=(64, 48), orientation=1):
    image = Image.new("RGB", size)
    image.putdata([(x * 4 % 256, y * 5 % 256, 90) for y in range(size[1]) for x in range(size[0])])
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = SECRET
    exif[ExifTags.Base.Model] = "Model-X"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (37.0, 30.0, 12.0), 3: "E", 4: (127.0, 2.0, 5.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"home address here", quality=90)
    data = out.getvalue()
    # The test image really carries what must be stripped.
    with Image.open(io.BytesIO(data)) as check:
        assert check.getexif()[ExifTags.Base.Make] == SECRET
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)[1] == "N"
    return data


def png_with_text(size=(40, 30), mode="RGBA"):
    image = Image.new(mode, size, (10, 200, 30, 128) if mode == "RGBA" else 7)
    info = PngInfo()
    info.add_text("Author", SECRET)
    info.add_text("Comment", "GPS 37.5 127.0")
    info.add_itxt("Description", "개인 정보", lang="ko")
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as check:
        assert check.text["Author"] == SECRET
    return data


def gif_bytes():
    out = io.BytesIO()
    Image.new("P", (10, 10), 3).save(out, "GIF")
    return out.getvalue()


def noise_jpeg(size=(256, 256)):
    rng = random.Random(7)
    image = Image.frombytes("RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def noise_png(size=(64, 64)):
    rng = random.Random(8)
    image = Image.frombytes("RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def png_header_only(width, height):
    """A PNG whose header claims a size; the pixel data is a single empty compressed stream."""

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def padded(data, total):
    """A valid image followed by junk up to ``total`` bytes: big, but cheap to make."""
    return data + b"\0" * (total - len(data))


def assert_no_metadata(data, expected_format):
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == expected_format
        image.load()
        assert not image.getexif(), dict(image.getexif())
        assert "exif" not in image.info and "comment" not in image.info
        assert "icc_profile" not in image.info and "xmp" not in image.info
        if expected_format == "PNG":
            assert not image.text
    assert SECRET.encode() not in data and b"GPS" not in data and b"home address" not in data
    assert b"Exif\0\0" not in data


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def resident(login_as, english):
    return login_as("resident")


def form_data(event, **overrides):
    data = {
        "category_id": str(event.categories[0].id),
        "title": "사진 있는 사례",
        "summary": "요약",
        "description": "설명",
        "field_id": str(event.fields[0].id),
        "department_id": "",
    }
    data.update(overrides)
    return data


def nominate_with(web, event, photo_bytes, filename="x.jpg", **overrides):
    data = form_data(event, **overrides)
    data["photo"] = (io.BytesIO(photo_bytes), filename)
    return web.post(f"/events/{event.id}/nominate", data, content_type="multipart/form-data")


def edit_with(web, nomination_id, event, photo_bytes=None, filename="x.jpg", **overrides):
    data = form_data(event, **overrides)
    if photo_bytes is not None:
        data["photo"] = (io.BytesIO(photo_bytes), filename)
    return web.post(
        f"/nominations/{nomination_id}/edit", data, form_url="/my/nominations", content_type="multipart/form-data"
    )


def photo_error(response):
    match = re.search(r'<p class="error" id="photo-error">(.*?)</p>', response.get_data(as_text=True), re.S)
    return html.unescape(match.group(1)) if match else None


def stored(db_read):
    def load(s):
        rows = s.scalars(select(Nomination).order_by(Nomination.id)).all()
        return [(n.id, n.title, n.photo.data if n.photo else None, n.photo.mime_type if n.photo else None) for n in rows]

    return db_read(load)


def photo_count(db_read):
    return db_read(lambda s: s.scalar(select(func.count()).select_from(NominationPhoto)))


# ---------------------------------------------------------------- through the nomination form


def test_jpeg_upload_is_stored_without_exif_or_gps(client, web, resident, event, db_read):
    response = nominate_with(web, event, jpeg_with_metadata(orientation=6), "현장 사진.JPG")
    assert response.status_code == 302
    [(nomination_id, _title, data, mime_type)] = stored(db_read)
    assert mime_type == "image/jpeg"
    assert_no_metadata(data, "JPEG")
    photo = db_read(lambda s: s.get(NominationPhoto, nomination_id))
    # Orientation 6 was applied to the pixels before the tag was dropped: 64x48 becomes 48x64.
    assert (photo.width, photo.height) == (48, 64)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (48, 64)

    served = client.get(f"/nominations/{nomination_id}/photo")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.data == data
    assert f"/nominations/{nomination_id}/photo" in client.get(f"/nominations/{nomination_id}").get_data(as_text=True)

    # Not a finalist yet: nobody else sees the photo.
    web.logout()
    assert client.get(f"/nominations/{nomination_id}/photo").status_code == 404


def test_png_upload_is_stored_without_text_chunks(client, web, resident, event, db_read):
    response = nominate_with(web, event, png_with_text(), "poster.png")
    assert response.status_code == 302
    [(nomination_id, _title, data, mime_type)] = stored(db_read)
    assert mime_type == "image/png"
    assert_no_metadata(data, "PNG")
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (40, 30) and image.mode == "RGBA"
        assert image.getpixel((0, 0)) == (10, 200, 30, 128)
    served = client.get(f"/nominations/{nomination_id}/photo")
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_a_finalists_photo_is_public(app, client, web, resident, event, db_read):
    nominate_with(web, event, jpeg_with_metadata())
    [(nomination_id, *_rest)] = stored(db_read)
    with app.app_context():
        db.session.get(Nomination, nomination_id).state = NominationState.FINALIST
        db.session.commit()
    web.logout()
    gallery = client.get(f"/events/{event.id}/finalists").get_data(as_text=True)
    assert f"/nominations/{nomination_id}/photo" in gallery
    served = client.get(f"/nominations/{nomination_id}/photo")
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"


BAD_UPLOADS = [
    ("text renamed", lambda: b"This is not a picture at all.\n" * 20, "photo.jpg", "not a readable JPEG or PNG"),
    ("html renamed", lambda: b"<html><script>alert(1)</script></html>", "photo.png", "not a readable JPEG or PNG"),
    ("gif", gif_bytes, "moving.gif", "Only JPEG and PNG"),
    ("gif renamed", gif_bytes, "still.jpg", "Only JPEG and PNG"),
    ("truncated jpeg", lambda: noise_jpeg()[:6000], "cut.jpg", "not a readable JPEG or PNG"),
    ("truncated png", lambda: noise_png()[:3000], "cut.png", "not a readable JPEG or PNG"),
    ("empty file", lambda: b"", "empty.jpg", "empty"),
    ("5.5 MB", lambda: padded(jpeg_with_metadata(), int(5.5 * MB)), "big.jpg", "larger than 5 MB"),
    ("too many pixels", lambda: png_header_only(10_000, 5_000), "wide.png", "too many pixels"),
    ("decompression bomb", lambda: png_header_only(100_000, 100_000), "bomb.png", None),
]


def test_bad_uploads_are_refused_and_nothing_is_saved(client, web, resident, event, db_read, subtests):
    for name, make, filename, message in BAD_UPLOADS:
        with subtests.test(msg=name):
            response = nominate_with(web, event, make(), filename)
            assert response.status_code == 200
            error = photo_error(response)
            assert error, name
            if message:
                assert message in error
            assert "Nothing was saved" in response.get_data(as_text=True)
            assert stored(db_read) == []
            assert photo_count(db_read) == 0


def test_upload_over_the_request_limit_gets_the_413_page(client, web, resident, event, db_read):
    response = nominate_with(web, event, padded(jpeg_with_metadata(), int(6.5 * MB)))
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "at most 5 MB" in page and "Nothing was saved" in page
    assert stored(db_read) == []


def test_bad_photo_on_edit_keeps_the_old_photo_and_text(client, web, resident, event, db_read, subtests):
    assert nominate_with(web, event, png_with_text(), "first.png", title="처음 제목").status_code == 302
    [before] = stored(db_read)
    nomination_id = before[0]
    for name, make, filename, message in BAD_UPLOADS:
        with subtests.test(msg=name):
            response = edit_with(web, nomination_id, event, make(), filename, title="바꾼 제목")
            assert response.status_code == 200
            error = photo_error(response)
            assert error and (message is None or message in error)
            assert stored(db_read) == [before]

    too_big = edit_with(web, nomination_id, event, padded(noise_jpeg(), int(6.5 * MB)), title="바꾼 제목")
    assert too_big.status_code == 413
    assert stored(db_read) == [before]


def test_edit_replaces_and_removes_the_photo(client, web, resident, event, db_read):
    nominate_with(web, event, png_with_text(), "first.png")
    [(nomination_id, _t, first, _m)] = stored(db_read)

    # Saving without a new file keeps the photo.
    assert edit_with(web, nomination_id, event, title="제목만 바꿈").status_code == 302
    assert stored(db_read) == [(nomination_id, "제목만 바꿈", first, "image/png")]

    assert edit_with(web, nomination_id, event, jpeg_with_metadata(), "second.jpg").status_code == 302
    [(_id, _t, second, mime_type)] = stored(db_read)
    assert mime_type == "image/jpeg" and second != first
    assert_no_metadata(second, "JPEG")

    assert edit_with(web, nomination_id, event, remove_photo="y").status_code == 302
    assert stored(db_read)[0][2] is None and photo_count(db_read) == 0
    assert client.get(f"/nominations/{nomination_id}/photo").status_code == 404


# ---------------------------------------------------------------- clean_photo itself


@pytest.fixture
def ctx(app):
    with app.test_request_context(), force_locale("en"):
        yield


def test_clean_photo_strips_jpeg_metadata(ctx):
    photo = clean_photo(io.BytesIO(jpeg_with_metadata(size=(30, 20), orientation=8)), 5 * MB)
    assert photo.mime_type == "image/jpeg" and (photo.width, photo.height) == (20, 30)
    assert_no_metadata(photo.data, "JPEG")


def test_clean_photo_strips_png_text(ctx):
    photo = clean_photo(io.BytesIO(png_with_text(mode="P")), 5 * MB)
    assert photo.mime_type == "image/png" and (photo.width, photo.height) == (40, 30)
    assert_no_metadata(photo.data, "PNG")


def test_clean_photo_shrinks_large_images(ctx):
    out = io.BytesIO()
    Image.new("RGB", (4000, 1000), (1, 2, 3)).save(out, "PNG")
    photo = clean_photo(io.BytesIO(out.getvalue()), 5 * MB)
    assert (photo.width, photo.height) == (MAX_SIDE, 500)
    with Image.open(io.BytesIO(photo.data)) as image:
        assert image.size == (MAX_SIDE, 500)


def test_clean_photo_converts_cmyk_jpeg(ctx):
    out = io.BytesIO()
    Image.new("CMYK", (10, 10), (0, 50, 100, 0)).save(out, "JPEG")
    photo = clean_photo(io.BytesIO(out.getvalue()), 5 * MB)
    with Image.open(io.BytesIO(photo.data)) as image:
        assert image.mode == "RGB" and image.format == "JPEG"


@pytest.mark.parametrize(
    "data, max_bytes, message",
    [
        (b"", 5 * MB, "empty"),
        (b"plain text, not an image", 5 * MB, "not a readable"),
        (None, 5 * MB, "Only JPEG and PNG"),  # GIF
        ("truncated", 5 * MB, "not a readable"),
        ("truncated png", 5 * MB, "not a readable"),
        ("exact+1", 1000, "larger than 5 MB"),
        (png_header_only(10_000, 5_000), 5 * MB, "too many pixels"),
        (png_header_only(100_000, 100_000), 5 * MB, None),
    ],
)
def test_clean_photo_refuses(ctx, data, max_bytes, message):
    if data is None:
        data = gif_bytes()
    elif data == "truncated":
        data = noise_jpeg()[:6000]
    elif data == "truncated png":
        data = noise_png()[:3000]
    elif data == "exact+1":
        data = padded(png_with_text(), 1001)
    with pytest.raises(PhotoError) as caught:
        clean_photo(io.BytesIO(data), max_bytes)
    assert caught.value.message
    if message:
        assert message in caught.value.message


def test_clean_photo_accepts_exactly_the_limit(ctx):
    data = padded(png_with_text(), 4096)
    assert clean_photo(io.BytesIO(data), 4096).mime_type == "image/png"


def test_clean_photo_refuses_truncated_files_even_when_pillow_is_lenient(ctx, monkeypatch):
    # WeasyPrint sets this process-wide when imported; uploads must stay strict anyway.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    for data in (noise_jpeg()[:6000], noise_png()[:3000]):
        with pytest.raises(PhotoError):
            clean_photo(io.BytesIO(data), 5 * MB)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # left as it was for WeasyPrint
