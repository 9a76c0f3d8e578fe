"""The sampler's scan with numpy: the same `Scan` as `ledger.draw.sampler.scan`.

`sampler.scan` is the reference; this module must give exactly its result
(tests/test_sampler.py compares both on the public vectors and on random
inputs). It differs only in where the per-ID arithmetic happens:

* hashlib still hashes every ID, one SHA-256 each from the copied state of
  the one-block prefix, but the 32-byte digests go into one buffer instead
  of becoming Python integers;
* ``v mod 10**BAND_DIGITS`` of every digest, the band test and, for the
  duplicate check, the digests' last 8 bytes are computed on numpy arrays;
* only the members (the IDs in the first bands, a few per cent) get their
  prefix key in Python, by the sampler's own function;
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

__all__ = ["digests", "draw_indices", "has_repeats", "scan", "scan_digests", "sort_words", "words"]

_DIGEST = 32
# 2**(64 * (3 - k)) mod 10**BAND_DIGITS, for the words w0 (most significant) .. w3.
_WORD_WEIGHTS = tuple(pow(2, 64 * (3 - k), _BANDS) for k in range(4))


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
    view = memoryview(hashed)
    keys = array("Q", [
        _prefix_key(int.from_bytes(view[i * _DIGEST:(i + 1) * _DIGEST]), key_digits) for i in members.tolist()
    ])
    return Scan(_as_array("H", residues.astype(np.uint16)), limit, _as_array("Q", members.astype(np.uint64)), keys)


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
