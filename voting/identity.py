"""Who a person is, kept as keyed hashes: mobile phones and the codes sent to them.

A phone is parsed with ``phonenumbers`` (region KR) and kept only as an HMAC-SHA-256
under ``IDENTITY_KEY`` (a secret apart from ``SECRET_KEY``), so that a copy of the
database can neither be read for numbers nor searched for one without the key, plus its
last four digits for staff to read aloud. The one exception is the roll: an entry keeps
its number sealed (PyNaCl ``SecretBox`` under a key derived from ``IDENTITY_KEY``) only
so that its personal link can be delivered, and the purge destroys it with the roll.
"""
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import nacl.encoding
import nacl.exceptions
import nacl.hash
import nacl.secret
import nacl.utils
import phonenumbers
from flask import current_app

SMS_CODE_DIGITS = 6


class InvalidPhone(ValueError):
    """Not a Korean mobile number (or not a number at all)."""


@dataclass(frozen=True)
class Phone:
    e164: str  # "+821012345678": only ever in memory

    @property
    def last4(self):
        return self.e164[-4:]

    @property
    def national(self):
        """The way people write it: 010-1234-5678."""
        return phonenumbers.format_number(phonenumbers.parse(self.e164), phonenumbers.PhoneNumberFormat.NATIONAL)

    @property
    def digest(self):
        return phone_hmac(self)


def parse_phone(typed):
    """A Korean mobile number from what a person typed ("010-1234-5678", "+82 10 ...")."""
    text = (typed or "").strip()
    if not text or len(text) > 32:
        raise InvalidPhone(text)
    try:
        number = phonenumbers.parse(text, "KR")
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(text) from exc
    if number.country_code != 82 or not phonenumbers.is_valid_number(number):
        raise InvalidPhone(text)
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise InvalidPhone(text)
    return Phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _identity_key():
    key = current_app.config.get("IDENTITY_KEY")
    if not key:
        raise RuntimeError("IDENTITY_KEY must be set in the environment")
    return key.encode("utf-8")


def _derived_key(purpose, size=32):
    """A key for one purpose, so that no two uses of IDENTITY_KEY share a key (BLAKE2b as a PRF)."""
    return _derive(_identity_key(), purpose, size)


@functools.lru_cache(maxsize=32)
def _derive(identity_key, purpose, size):
    return nacl.hash.blake2b(
        purpose.encode("ascii"), key=hashlib.sha256(identity_key).digest(), digest_size=size,
        encoder=nacl.encoding.RawEncoder,
    )


def keyed_hash(purpose, value):
    return hmac.new(_derived_key(purpose), value.encode("utf-8"), hashlib.sha256).hexdigest()


def phone_hmac(phone):
    return keyed_hash("phone", phone.e164)


def seal_phone(phone):
    """The number encrypted for delivery only (roll entries); bytes."""
    return nacl.secret.SecretBox(_derived_key("roll-delivery")).encrypt(phone.e164.encode("ascii"))


def unseal_phone(sealed):
    try:
        plain = nacl.secret.SecretBox(_derived_key("roll-delivery")).decrypt(bytes(sealed))
    except nacl.exceptions.CryptoError as exc:
        raise InvalidPhone("sealed") from exc
    return Phone(plain.decode("ascii"))


def random_sms_code():
    return f"{secrets.randbelow(10 ** SMS_CODE_DIGITS):0{SMS_CODE_DIGITS}d}"


def sms_code_hash(salt, code):
    return keyed_hash("sms-code", f"{salt}:{code}")


def codes_equal(expected_hash, salt, typed):
    return hmac.compare_digest(expected_hash, sms_code_hash(salt, typed))
