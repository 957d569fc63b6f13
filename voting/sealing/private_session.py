"""Values that ride in the session cookie but must not be readable there (Flask's cookie is
signed, not encrypted): the receipt between the cast and its one showing.

Sealed with a SecretBox under a key derived from SECRET_KEY, so the cookie alone (a proxy
log, a shared computer's browser profile) shows nothing.
"""
import json

from flask import current_app
from nacl import encoding
from nacl import hash as nacl_hash
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox


def secret_box(purpose, salt=b""):
    """A SecretBox under a key derived from SECRET_KEY for one purpose (and salt)."""
    secret = current_app.config["SECRET_KEY"].encode("utf-8")
    key = nacl_hash.blake2b(secret, digest_size=64, encoder=encoding.RawEncoder)
    return SecretBox(nacl_hash.blake2b(salt or purpose, key=key, person=purpose[:16],
                                       digest_size=SecretBox.KEY_SIZE, encoder=encoding.RawEncoder))


def _box():
    return secret_box(b"private-session")


def seal(value):
    return _box().encrypt(json.dumps(value).encode("utf-8"))


def unseal(sealed):
    """The value, or None when nothing (or something that does not open) was kept."""
    if not isinstance(sealed, bytes):
        return None
    try:
        return json.loads(_box().decrypt(sealed))
    except (CryptoError, ValueError):
        return None
