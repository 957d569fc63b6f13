"""The sealed box's cryptography, with PyNaCl and shamir-mnemonic only.

- A box key pair is X25519 (``nacl.public.PrivateKey``); a ballot is sealed to the public key
  with ``SealedBox``, so only the private key opens it and the sealer cannot link two ballots.
- The private key's 32 bytes are split into n SLIP-39 shares, any k of which rebuild it.
  A share is 33 English words; the app shows each once and never stores one.
- A ballot's payload is its canonical JSON padded with spaces to ``PAYLOAD_SIZE`` bytes, so
  every sealed ballot has the same length (``SEALED_SIZE``) whatever was chosen.

Nothing here touches the database or Flask.
"""
import hashlib
import json

import shamir_mnemonic
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from shamir_mnemonic import MnemonicError
from shamir_mnemonic.share import Share

from voting.results.verify import canonical_json as bundle_canonical_json

PAYLOAD_SIZE = 512
SEALED_SIZE = PAYLOAD_SIZE + PublicKey.SIZE + 16   # the ephemeral public key and the MAC
CONFIRM_WORDS = 2
# No passphrase and the lowest iteration exponent: a share alone is the secret's whole guard,
# and opening must not wait seconds per attempt in front of the trustees.
_PASSPHRASE = b""
_ITERATION_EXPONENT = 0


class ShareProblem(Exception):
    """Shares that cannot open the box; ``reason`` is one of the codes below."""

    TOO_FEW = "too_few"
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    MISMATCH = "mismatch"      # shares of different splits (another event, another ceremony)
    WRONG_BOX = "wrong_box"    # a valid set whose key is not this box's

    def __init__(self, reason, position=None):
        super().__init__(reason)
        self.reason = reason
        self.position = position   # 1-based place of the offending share in what was typed


def canonical_json(document):
    """The bundle's canonical form (voting.results.verify), as text."""
    return bundle_canonical_json(document).decode("utf-8")


def new_key_pair():
    private = PrivateKey.generate()
    return private, bytes(private.public_key)


def fingerprint(public_key):
    """The public key's SHA-256 in hex: what trustees compare, what the bundle names."""
    return hashlib.sha256(bytes(public_key)).hexdigest()


def short_fingerprint(hex_digest):
    """The first 80 bits, grouped by four for reading aloud."""
    head = hex_digest[:20].upper()
    return "-".join(head[i:i + 4] for i in range(0, len(head), 4))


def split_key(private, threshold, count):
    """n SLIP-39 shares (each a string of words) of the private key, any ``threshold`` of which rebuild it."""
    groups = shamir_mnemonic.generate_mnemonics(
        1, [(threshold, count)], bytes(private), _PASSPHRASE, True, _ITERATION_EXPONENT
    )
    return groups[0]


def confirm_positions(share, seed):
    """Which words (1-based, ascending) a trustee types back to show the share was written down."""
    words = share.split()
    digest = hashlib.sha256(seed + share.encode()).digest()
    chosen = []
    for byte in digest:
        position = byte % len(words) + 1
        if position not in chosen:
            chosen.append(position)
        if len(chosen) == CONFIRM_WORDS:
            break
    return sorted(chosen)


def normalize_share(text):
    return " ".join(text.lower().split())


def recover_key(typed_shares, public_key, threshold):
    """The private key from what trustees typed; raises ShareProblem saying what is wrong.

    Each share is checked on its own first (the words, their checksum), then as a set (one
    split, no share twice, enough of them), and the rebuilt key must match the box's public key.
    """
    shares = [normalize_share(text) for text in typed_shares if text and text.strip()]
    if len(shares) < threshold:
        raise ShareProblem(ShareProblem.TOO_FEW)
    decoded = []
    for position, text in enumerate(shares, start=1):
        try:
            decoded.append(Share.from_mnemonic(text))
        except (MnemonicError, ValueError, KeyError):
            raise ShareProblem(ShareProblem.INVALID, position) from None
    first = decoded[0]
    indices = set()
    for position, share in enumerate(decoded, start=1):
        if share.identifier != first.identifier or share.member_threshold != first.member_threshold:
            raise ShareProblem(ShareProblem.MISMATCH, position)
        if share.index in indices:
            raise ShareProblem(ShareProblem.DUPLICATE, position)
        indices.add(share.index)
    if len(shares) < first.member_threshold:
        raise ShareProblem(ShareProblem.TOO_FEW)
    try:
        # SLIP-39 takes exactly the threshold's number: more shares than that add nothing.
        secret = shamir_mnemonic.combine_mnemonics(shares[:first.member_threshold], _PASSPHRASE)
    except (MnemonicError, ValueError):
        raise ShareProblem(ShareProblem.INVALID) from None
    if len(secret) != PrivateKey.SIZE:
        raise ShareProblem(ShareProblem.WRONG_BOX)
    private = PrivateKey(secret)
    if bytes(private.public_key) != bytes(public_key):
        raise ShareProblem(ShareProblem.WRONG_BOX)
    return private


def ballot_payload(group, channel, approvals):
    """The plain ballot as sealed: its bundle object, padded to a fixed length."""
    text = canonical_json({"group": group, "channel": channel, "approvals": sorted(approvals)}).encode("utf-8")
    if len(text) > PAYLOAD_SIZE:
        raise ValueError("a ballot longer than the sealed payload")
    return text + b" " * (PAYLOAD_SIZE - len(text))


def seal(public_key, payload):
    return SealedBox(PublicKey(bytes(public_key))).encrypt(payload)


def unseal(private, sealed):
    """The plain ballot object of a sealed ballot; ValueError when it does not open."""
    try:
        payload = SealedBox(private).decrypt(bytes(sealed))
    except CryptoError as exc:
        raise ValueError("a sealed ballot that does not open with this key") from exc
    return json.loads(payload.decode("utf-8"))


def sealed_hash(sealed):
    return hashlib.sha256(bytes(sealed)).hexdigest()


def commitment(hashes):
    """DESIGN.md: sha256 of the sorted hex hashes of the sealed ballots, one per line."""
    return hashlib.sha256("\n".join(sorted(hashes)).encode("ascii")).hexdigest()


def plain_line(category_id, ballot):
    return canonical_json({"category": category_id, **ballot})


def plain_hash(lines):
    """DESIGN.md: sha256 of the sorted canonical JSON lines of every plain ballot."""
    return hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()
