"""Random codes people type or scan: receipts and single-use on-site voting codes."""
import hashlib
import hmac
import secrets

from flask import current_app

# Crockford's base 32: no I, L, O or U, so nothing is misread on a printed card.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
READS_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})

RECEIPT_LENGTH = 16  # 80 bits
ONSITE_CODE_LENGTH = 11  # 55 bits


def random_code(length):
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def grouped(code, size=4):
    return "-".join(code[i:i + size] for i in range(0, len(code), size))


def normalize(typed):
    """Upper case, without dashes or spaces, with look-alike letters read as digits."""
    cleaned = "".join(ch for ch in (typed or "").upper() if ch.isalnum()).translate(READS_AS)
    return cleaned if all(ch in ALPHABET for ch in cleaned) else ""


def receipt_hash(receipt):
    """A plain SHA-256, so that anyone can check a receipt against the published list."""
    return hashlib.sha256(normalize(receipt).encode("ascii")).hexdigest()


def onsite_code_hash(code):
    # Keyed, so a stolen database does not let anyone try all codes offline.
    key = hashlib.sha256(b"onsite-code:" + current_app.config["SECRET_KEY"].encode("utf-8")).digest()
    return hmac.new(key, normalize(code).encode("ascii"), hashlib.sha256).hexdigest()
