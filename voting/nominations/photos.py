"""Checks that an upload is a real JPEG or PNG and re-encodes it without metadata."""
import io
import threading
from contextlib import contextmanager
from dataclasses import dataclass

from flask_babel import gettext as _
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
MAX_PIXELS = 40_000_000
MAX_SIDE = 2000


class PhotoError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    mime_type: str
    width: int
    height: int


_strict_lock = threading.Lock()


@contextmanager
def _strict_decoding():
    """Refuses truncated files even though WeasyPrint, once imported, sets Pillow's
    process-wide ImageFile.LOAD_TRUNCATED_IMAGES to True (which would let a cut-off
    JPEG through, its missing part filled with grey)."""
    with _strict_lock:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def clean_photo(stream, max_bytes, *, keep_transparency=False):
    """A CleanPhoto of the upload, or PhotoError with a message for the person uploading.

    ``keep_transparency``: a PNG comes back as RGBA, its transparency kept even where it was a
    palette's transparent colour (a certificate's seal is printed over the issuer's name).
    """
    data = stream.read(max_bytes + 1)
    if not data:
        raise PhotoError(_("The image file is empty."))
    if len(data) > max_bytes:
        raise PhotoError(_("The image is larger than 5 MB. Choose a smaller one."))
    try:
        with _strict_decoding():
            with Image.open(io.BytesIO(data)) as probe:
                image_format = probe.format
                if probe.width * probe.height > MAX_PIXELS:
                    raise PhotoError(_("The image has too many pixels. Choose a smaller one."))
                probe.verify()
            image = Image.open(io.BytesIO(data))
            image.load()
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise PhotoError(_("The file is not a readable JPEG or PNG image.")) from exc
    if image_format not in ACCEPTED_FORMATS:
        raise PhotoError(_("Only JPEG and PNG images are accepted."))

    image = ImageOps.exif_transpose(image)
    if keep_transparency and image_format == "PNG":
        image = image.convert("RGBA")  # before info, which holds a palette's transparency, is dropped
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    # Dropping info leaves EXIF (with any GPS position), comments and text chunks behind.
    image.info = {}
    out = io.BytesIO()
    if image_format == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    else:
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=True)
    return CleanPhoto(out.getvalue(), ACCEPTED_FORMATS[image_format], image.width, image.height)
