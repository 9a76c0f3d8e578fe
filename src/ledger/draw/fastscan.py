"""The sampler's scan with numpy: the same `Scan` as `ledger.draw.sampler.scan`.

`sampler.scan` is the reference; this module must give exactly its result
(tests/test_sampler.py compares both on the public vectors and on random
inputs). It differs only in where the per-ID arithmetic happens:

* hashlib still hashes every ID, one SHA-256 each from the copied state of
  the one-block prefix, but the 32-byte digests go into one buffer instead
  of becoming Python integers;
* ``v mod 10**BAND_DIGITS`` of every digest, the band test and, for the
  duplicate check, the digests' last 8 bytes are computed on numpy arrays;
* the members (the IDs in the first bands, a few per cent) get their
  19-digit prefix key on arrays too (`prefix_keys`, tested against the
  sampler's own function);
* `draw_indices` sorts the members by key with numpy; any tie of keys, and
  every band after the first ones, is left to the sampler itself.

For a 256-bit ``v`` read as four big-endian 64-bit words ``w0..w3``,
``v mod m = (sum of (wk mod m) * (2**(64 * (3 - k)) mod m)) mod m``: with
``m = 10**4`` every product stays far below 2**64.

Importing numpy costs about 0.1 s, so callers use this module for large
inputs only (`drledger sample`: see ledger/cli/sample.py).
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterator, Sequence

import numpy as np

from ledger.draw import sampler
from ledger.draw.sampler import _BANDS, _KEY_DIGITS, Scan, _band_mask, _prefix_key

__all__ = ["digests", "draw_indices", "has_repeats", "prefix_keys", "scan", "scan_digests", "sort_words", "words"]

_DIGEST = 32
# 2**(64 * (3 - k)) mod 10**BAND_DIGITS, for the words w0 (most significant) .. w3.
_WORD_WEIGHTS = tuple(pow(2, 64 * (3 - k), _BANDS) for k in range(4))
# For the prefix keys (v mod 10**19): 5**19 < 2**45, and the inverse of 2**19
# modulo 5**19 in three 16-bit limbs, most significant first.
_FIVES = 5**_KEY_DIGITS
_INVERSE = pow(2**_KEY_DIGITS, -1, _FIVES)
_INVERSE_LIMBS = tuple((_INVERSE >> shift) & 0xFFFF for shift in (32, 16, 0))


def digests(prefix: bytes, ids_utf8: Sequence[bytes]) -> bytearray:
    """SHA-256(prefix + ID) of every ID, 32 bytes each, end to end.

    >>> from ledger.draw.sampler import seed_prefix
    >>> digests(seed_prefix("s"), [b"a"]) == hashlib.sha256(seed_prefix("s") + b"a").digest()
    True
    """
    copy = hashlib.sha256(prefix).copy
    out = bytearray()
    for id_utf8 in ids_utf8:
        state = copy()
        state.update(id_utf8)
        out += state.digest()
    return out


def scan_digests(hashed: bytes | bytearray, limit: int, key_digits: int = _KEY_DIGITS) -> Scan:
    """The scan of the IDs whose digests are `hashed` (see `digests`), bands [0, limit) gathered.

    >>> from ledger.draw.sampler import scan as reference, seed_prefix
    >>> ids = [str(k).encode() for k in range(1000)]
    >>> scan_digests(digests(seed_prefix("s"), ids), 2000) == reference(seed_prefix("s"), ids, 2000)
    True
    """
    if len(hashed) % _DIGEST:
        raise ValueError("digests come 32 bytes each")
    words = np.frombuffer(hashed, dtype=">u8").reshape(-1, 4)
    residues = np.zeros(len(words), dtype=np.uint64)
    for k, weight in enumerate(_WORD_WEIGHTS):
        residues += (words[:, k] % _BANDS) * weight  # each term < 10**8: no overflow
    residues %= _BANDS
    in_bands = np.frombuffer(_band_mask(0, limit), dtype=np.uint8)
    members = np.flatnonzero(in_bands[residues])
    if key_digits <= _KEY_DIGITS:
        keys = _as_array("Q", prefix_keys(hashed, members, key_digits))
    else:  # not used by the sampler: the reference function, one ID at a time
        view = memoryview(hashed)
        keys = array("Q", [
            _prefix_key(int.from_bytes(view[i * _DIGEST:(i + 1) * _DIGEST]), key_digits) for i in members.tolist()
        ])
    return Scan(_as_array("H", residues.astype(np.uint16)), limit, _as_array("Q", members.astype(np.uint64)), keys)


def prefix_keys(hashed: bytes | bytearray, members: np.ndarray, key_digits: int = _KEY_DIGITS) -> np.ndarray:
    """`sampler._prefix_key(v, key_digits)` of the digests at `members`, on uint64 arrays.

    ``v mod 10**19`` is too wide for products in 64 bits, so it is put
    together from ``v mod 2**19`` (the low bits) and ``v mod 5**19`` (< 2**45:
    Horner over 16-bit limbs keeps every step below 2**62) by the Chinese
    remainder theorem; then its digits are reversed.

    >>> from ledger.draw.sampler import _prefix_key
    >>> d = bytes(range(200, 232))
    >>> int(prefix_keys(d, np.array([0]))[0]) == _prefix_key(int.from_bytes(d), 19)
    True
    """
    if not 1 <= key_digits <= _KEY_DIGITS:
        raise ValueError(f"key_digits must be 1..{_KEY_DIGITS}")
    limbs = np.frombuffer(hashed, dtype=">u2").reshape(-1, 16)[members].astype(np.uint64)
    mod5 = np.zeros(len(limbs), dtype=np.uint64)
    for k in range(16):  # v mod 5**19
        mod5 = (mod5 * 65536 + limbs[:, k]) % _FIVES
    mod2 = limbs[:, 15] | ((limbs[:, 14] & 7) << 16)  # v mod 2**19
    difference = (mod5 + _FIVES - mod2) % _FIVES  # mod2 < 5**19
    lift = np.zeros(len(limbs), dtype=np.uint64)
    for limb in _INVERSE_LIMBS:  # difference * (2**19)**-1 mod 5**19
        lift = (lift * 65536 + difference * limb) % _FIVES
    value = (mod2 + (lift << 19)) % (10 ** key_digits)  # v mod 10**19 (< 2**64), then mod 10**key_digits
    key = np.zeros(len(limbs), dtype=np.uint64)
    for _ in range(key_digits):  # the digits reversed: the ticket's first ones
        key = key * 10 + value % 10
        value //= 10
    return key


def scan(prefix: bytes, ids_utf8: Sequence[bytes], limit: int, key_digits: int = _KEY_DIGITS) -> Scan:
    """Exactly `ledger.draw.sampler.scan(prefix, ids_utf8, limit, key_digits)`."""
    return scan_digests(digests(prefix, ids_utf8), limit, key_digits)


def draw_indices(prefix: bytes, ids_utf8: Sequence[bytes], scanned: Scan) -> Iterator[int]:
    """Exactly `sampler.draw_indices(prefix, ids_utf8, scanned)`.

    >>> from ledger.draw.sampler import seed_prefix
    >>> ids = [str(k).encode() for k in range(1000)]
    >>> p = seed_prefix("s")
    >>> list(draw_indices(p, ids, scan(p, ids, 300))) == list(sampler.draw_indices(p, ids, sampler.scan(p, ids, 300)))
    True
    """
    keys = np.frombuffer(scanned.keys, dtype=np.uint64)
    order = np.argsort(keys, kind="stable")
    ranked = keys[order]
    if (ranked[1:] == ranked[:-1]).any():
        # Tied keys (about 1e-19 per pair at 19 digits): the sampler's own order.
        yield from sampler.draw_indices(prefix, ids_utf8, scanned)
        return
    yield from np.frombuffer(scanned.members, dtype=np.uint64)[order].tolist()
    # The later bands, visited by the sampler (the first ones are done).
    yield from sampler.draw_indices(prefix, ids_utf8, scanned._replace(members=array("Q"), keys=array("Q")))


def words(hashed: bytes | bytearray) -> np.ndarray:
    """The last 8 bytes of each digest as a 64-bit word (native order), in ID order.

    Equal IDs give equal words, so `has_repeats` over the sorted words of all
    the IDs (`sort_words`) finds every duplicate ID."""
    return np.frombuffer(hashed, dtype=np.uint64)[3::4].copy()


def sort_words(parts: Sequence[np.ndarray]) -> bytes:
    """The `words` of consecutive chunks of IDs, together and sorted."""
    merged = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
    merged.sort()
    return merged.tobytes()


def has_repeats(parts: Sequence[bytes]) -> bool:
    """Whether some word occurs twice among the `sort_words` of all parts.

    True may also mean two distinct IDs share 64 digest bits (about 1 in 3e7
    for 1M IDs): the caller then compares the IDs themselves.

    >>> a, b = sort_words([words(bytes(range(32)))]), sort_words([words(bytes(range(1, 33)))])
    >>> has_repeats([a, b]), has_repeats([a, a])
    (False, True)
    """
    merged = np.concatenate([np.frombuffer(part, dtype=np.uint64) for part in parts])
    merged.sort(kind="stable")  # sorted runs: merged in linear time
    return bool((merged[1:] == merged[:-1]).any())


def _as_array(typecode: str, values: np.ndarray) -> array:
    out = array(typecode)
    out.frombytes(values.tobytes())
    return out
