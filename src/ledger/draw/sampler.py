"""Rivest's consistent sampler, without replacement, over string IDs ("v1").

Byte-identical to ``consistent_sampler.py`` by Ronald L. Rivest (MIT
licence, https://github.com/ron-rivest/consistent_sampler, the decimal
version used by Arlo for election audits), restricted to sampling without
replacement.  The spec in plain words is docs/sampler.md.

For seed ``S`` and ID ``X`` (both UTF-8 text)::

    v      = int(SHA-256(hex(SHA-256(S)) + X))     # hex: 64 lowercase chars
    ticket = "0." + reversed(decimal(v) zero-padded to at least 64 digits)

The draw order is increasing ``(ticket, X)``, tickets compared as strings
(the reference keeps ``(ticket, id, generation)`` tuples in a heap);
``drop`` skips the first draws and ``n`` (the reference's ``take``) bounds
how many follow.

>>> sample("41", [str(i) for i in range(100)], n=5)
['73', '51', '17', '58', '38']
>>> sample("41", [str(i) for i in range(100)], n=5, drop=5)
['42', '39', '20', '11', '67']

How it is fast without changing a single comparison:

* The first digits of a ticket are the *last* decimal digits of ``v``,
  reversed, so ``v mod 10**4`` (cheap; the only value kept for every ID,
  in a 16-bit array) tells which of 10**4 equal *bands* of (0, 1) the
  ticket falls in.
* Bands are visited in increasing order.  The first visit, made during the
  same pass that computes the residues, covers enough bands to hold the
  ``drop + n`` IDs asked for with a wide margin; should it hold too few,
  each further visit doubles, and only the IDs in it are hashed again.
* Inside a band IDs are sorted by a fixed-width integer: the first 19 ticket
  digits (``v mod 10**19`` reversed, < 2**64).  Only IDs whose 19-digit
  keys tie are compared on the full reference ticket, then on the ID.

Equal digit strings of equal width compare as numbers, and every ticket has
at least 64 digits, so this is exactly the reference's string comparison.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from itertools import compress, groupby, islice
from typing import Final, NamedTuple

__all__ = [
    "BAND_DIGITS",
    "Scan",
    "draw_indices",
    "draw_stream",
    "encode_distinct",
    "first_band_limit",
    "join_scans",
    "rank",
    "reference_ticket",
    "sample",
    "sample_utf8",
    "scan",
    "seed_prefix",
    "ticket_residues",
    "utf8_ticket",
]

# Ticket digits that choose a band: 10**4 bands keep the per-band mask tiny
# and let residues live in an unsigned 16-bit array ("H").
BAND_DIGITS: Final = 4
_BANDS: Final = 10**BAND_DIGITS
# 19 decimal digits are the most that always fit in an unsigned 64-bit word.
_KEY_DIGITS: Final = 19

_sha256 = hashlib.sha256
# _BAND_OF[r] = the band (first BAND_DIGITS ticket digits) of v with v % 10**4 == r:
# r = 1000d + 100c + 10b + a is read reversed.  (Arithmetic: import stays fast.)
_BAND_OF: Final = tuple(
    1000 * a + 100 * b + 10 * c + d
    for d in range(10) for c in range(10) for b in range(10) for a in range(10)
)


def seed_prefix(seed: str) -> bytes:
    """The 64 hex characters every hash input starts with: hex(SHA-256(seed)).

    >>> seed_prefix("abc").decode()
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    """
    return _sha256(seed.encode("utf-8")).hexdigest().encode("ascii")


def _value(prefix: bytes, id_utf8: bytes) -> int:
    """v: the SHA-256 of prefix + ID as a non-negative integer."""
    return int.from_bytes(_sha256(prefix + id_utf8).digest(), "big")


def _ticket_of_value(v: int) -> str:
    # "{:064d}" pads short values, so every ticket has at least 64 digits.
    return "0." + f"{v:064d}"[::-1]


def reference_ticket(seed: str, id: str) -> str:
    """The full ticket of ``id`` exactly as the reference forms it.

    >>> t = reference_ticket("31", "b")
    >>> t[:20]
    '0.257111253586438338'
    >>> len(t) >= 66
    True
    """
    return utf8_ticket(seed_prefix(seed), id.encode("utf-8"))


def utf8_ticket(prefix: bytes, id_utf8: bytes) -> str:
    """:func:`reference_ticket` from the seed prefix and the UTF-8 ID (no re-hashing of the seed).

    >>> utf8_ticket(seed_prefix("31"), b"b") == reference_ticket("31", "b")
    True
    """
    return _ticket_of_value(_value(prefix, id_utf8))


def _prefix_key(v: int, digits: int = _KEY_DIGITS) -> int:
    """The first ``digits`` ticket digits as one integer (same order as the strings).

    >>> _prefix_key(1234, 6)
    432100
    """
    return int(f"{v % 10**digits:0{digits}d}"[::-1])


def ticket_residues(prefix: bytes, ids_utf8: Sequence[bytes]) -> array:
    """``v mod 10**BAND_DIGITS`` for every ID, as a compact array('H').

    >>> residues = ticket_residues(seed_prefix("31"), [b"a", b"b"])
    >>> [_BAND_OF[r] for r in residues]    # tickets 0.3084..., 0.2571...
    [3084, 2571]
    """
    return scan(prefix, ids_utf8, 0).residues


def first_band_limit(wanted: int, total: int) -> int:
    """End of the first bands visited: room for ``wanted`` of ``total`` IDs + ~5 sigma.

    Too small only costs another (doubling) visit, never a wrong order.

    >>> first_band_limit(30_000, 1_000_000)
    309
    >>> first_band_limit(5, 5)
    10000
    """
    if total == 0:
        return _BANDS
    room = wanted + 5 * math.sqrt(wanted) + 16
    return max(1, min(_BANDS, math.ceil(_BANDS * room / total)))


class Scan(NamedTuple):
    """One pass over IDs: what ordering needs, compact enough to pass between processes.

    Chunks of IDs can be scanned separately (in parallel) and joined.
    """

    residues: array  # "H": v mod 10**BAND_DIGITS, one per ID
    limit: int  # the bands [0, limit) are gathered below
    members: array  # "Q": indices of the IDs whose ticket is in those bands
    keys: array  # "Q": their prefix keys (first ticket digits as an integer)

    def to_bytes(self) -> bytes:
        """A flat form for a pipe (native byte order: same machine only)."""
        header = array("Q", [self.limit, len(self.residues), len(self.members)])
        return b"".join(part.tobytes() for part in (header, self.residues, self.members, self.keys))

    @classmethod
    def from_bytes(cls, raw: bytes) -> Scan:
        """The inverse of :meth:`to_bytes`.

        >>> s = scan(seed_prefix("s"), [b"a", b"b", b"c"], 6000)
        >>> Scan.from_bytes(s.to_bytes()) == s
        True
        """
        header = array("Q", raw[:24])
        limit, count, members = header
        parts = [array("H"), array("Q"), array("Q")]
        sizes = [2 * count, 8 * members, 8 * members]
        at = 24
        for part, size in zip(parts, sizes):
            part.frombytes(raw[at:at + size])
            at += size
        if at != len(raw):
            raise ValueError("not a whole scan")
        return cls(parts[0], limit, parts[1], parts[2])


def scan(prefix: bytes, ids_utf8: Sequence[bytes], limit: int, key_digits: int = _KEY_DIGITS) -> Scan:
    """Residues of all IDs, and members and keys of the bands [0, limit), in one pass.

    The hot loop of the sampler, so written for speed: the prefix is exactly
    one SHA-256 block, so its hash state is copied rather than recomputed,
    and the only values kept per ID are a 16-bit residue (and, for the few
    members, index and key).
    """
    in_bands = _band_mask(0, limit)
    copy = _sha256(prefix).copy
    residues = array("H")
    keep_residue = residues.append
    members, keys = array("Q"), array("Q")
    # Locals, not globals or attributes, inside the loop: about 20% faster.
    # (int.from_bytes reads big-endian by default since Python 3.11.)
    from_bytes, bands = int.from_bytes, _BANDS
    for index, id_utf8 in enumerate(ids_utf8):
        state = copy()
        state.update(id_utf8)
        value = from_bytes(state.digest())
        residue = value % bands
        keep_residue(residue)
        if in_bands[residue]:
            members.append(index)
            keys.append(_prefix_key(value, key_digits))
    return Scan(residues, limit, members, keys)


def join_scans(scans: Sequence[Scan]) -> Scan:
    """The scan of the concatenated chunks (members re-indexed).

    >>> p = seed_prefix("s")
    >>> ids = [str(k).encode() for k in range(300)]
    >>> join_scans([scan(p, ids[:100], 5000), scan(p, ids[100:], 5000)]) == scan(p, ids, 5000)
    True
    """
    if len({part.limit for part in scans}) > 1:
        raise ValueError("scans to join must gather the same bands")
    joined = Scan(array("H"), scans[0].limit if scans else _BANDS, array("Q"), array("Q"))
    for part in scans:
        offset = len(joined.residues)
        joined.members.extend(offset + i for i in part.members)
        joined.keys.extend(part.keys)
        joined.residues.extend(part.residues)
    return joined


@lru_cache(maxsize=512)
def _band_mask(lo: int, hi: int) -> bytes:
    """mask[v mod 10**BAND_DIGITS] is 1 if the ticket of v starts in a band of [lo, hi).

    Cached: a team draw samples a few hundred inspectors per target, where
    building this 10**BAND_DIGITS-byte mask would cost more than the hashing.
    """
    return bytes(lo <= band < hi for band in _BAND_OF)


def _band_members(residues: Sequence[int], lo: int, hi: int) -> list[int]:
    """Indices of the IDs whose tickets start with a band in [lo, hi)."""
    return list(compress(range(len(residues)), map(_band_mask(lo, hi).__getitem__, residues)))


def _keys(prefix: bytes, ids_utf8: Sequence[bytes], members: Iterable[int], key_digits: int) -> list[int]:
    return [_prefix_key(_value(prefix, ids_utf8[i]), key_digits) for i in members]


def _ordered(
    prefix: bytes, ids_utf8: Sequence[bytes], members: Sequence[int], keys: Sequence[int]
) -> list[int]:
    """``members`` in exact reference order: prefix key, then full ticket and ID."""
    positions = sorted(range(len(members)), key=keys.__getitem__)
    ordered: list[int] = []
    for _, run in groupby(positions, key=keys.__getitem__):
        tied = [members[p] for p in run]
        if len(tied) > 1:
            # Rare (about 1e-19 per pair at 19 digits): decide as the reference does.
            tied.sort(key=lambda i: (_ticket_of_value(_value(prefix, ids_utf8[i])), ids_utf8[i]))
        ordered.extend(tied)
    return ordered


def draw_indices(
    prefix: bytes,
    ids_utf8: Sequence[bytes],
    scanned: Scan | None = None,
    wanted: int | None = None,
    *,
    key_digits: int = _KEY_DIGITS,
) -> Iterator[int]:
    """Indices into ``ids_utf8`` in draw order, lazily, band by band.

    ``wanted`` (how many the caller will probably consume) only sizes the
    first bands; ``scanned`` may be passed if already computed (e.g. in
    parallel).  ``key_digits`` exists so tests can force prefix ties.
    IDs must be distinct; that is the caller's check.
    """
    total = len(ids_utf8)
    if scanned is None:
        limit = first_band_limit(total if wanted is None else wanted, total)
        scanned = scan(prefix, ids_utf8, limit, key_digits)
    if len(scanned.residues) != total:
        raise ValueError("the scan must cover exactly the IDs given")
    yield from _ordered(prefix, ids_utf8, scanned.members, scanned.keys)
    lo, width = scanned.limit, max(1, scanned.limit)
    while lo < _BANDS:
        hi = min(_BANDS, lo + width)
        members = _band_members(scanned.residues, lo, hi)
        yield from _ordered(prefix, ids_utf8, members, _keys(prefix, ids_utf8, members, key_digits))
        lo, width = hi, width * 2


def rank(prefix: bytes, ids_utf8: Sequence[bytes]) -> list[int]:
    """Every index into ``ids_utf8`` in draw order, for a few IDs (a team's officers, ranked once
    per target): sorted by band (the ticket's first BAND_DIGITS digits, from ``v mod 10**4``),
    and only IDs sharing a band by their full ticket, then the ID. The same order as
    `draw_indices`, without a prefix key for every ID. IDs must be distinct.

    >>> p = seed_prefix("41")
    >>> ids = [str(i).encode() for i in range(100)]
    >>> rank(p, ids)[:5] == list(draw_indices(p, ids))[:5] == [73, 51, 17, 58, 38]
    True
    """
    copy, from_bytes, bands, band_of = _sha256(prefix).copy, int.from_bytes, _BANDS, _BAND_OF
    first = []
    for id_utf8 in ids_utf8:
        state = copy()
        state.update(id_utf8)
        first.append(band_of[from_bytes(state.digest()) % bands])
    order = sorted(range(len(first)), key=first.__getitem__)
    ranked: list[int] = []
    for _, run in groupby(order, key=first.__getitem__):
        tied = list(run)
        if len(tied) > 1:  # the same first digits: the reference's comparison decides
            tied.sort(key=lambda i: (utf8_ticket(prefix, ids_utf8[i]), ids_utf8[i]))
        ranked.extend(tied)
    return ranked


def _check_counts(n: int | None, drop: int) -> None:
    if n is not None and n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if drop < 0:
        raise ValueError(f"drop must be >= 0, got {drop}")


def sample_utf8(
    seed: str,
    ids_utf8: Sequence[bytes],
    n: int | None = None,
    drop: int = 0,
    scanned: Scan | None = None,
) -> list[int]:
    """Like :func:`sample` over UTF-8 encoded, already distinct IDs; returns indices.

    For callers holding raw lines (the CLI): skips decoding and the
    duplicate check, which such callers do themselves with better errors.

    >>> sample_utf8("31", [b"a", b"b", b"c", b"d"])
    [1, 0, 3, 2]
    """
    _check_counts(n, drop)
    stop = None if n is None else drop + n
    wanted = len(ids_utf8) if stop is None else min(stop, len(ids_utf8))
    order = draw_indices(seed_prefix(seed), ids_utf8, scanned, wanted)
    return list(islice(order, drop, stop))


def encode_distinct(ids: Iterable[str]) -> list[bytes]:
    """The IDs in UTF-8; ValueError naming the duplicates if some ID occurs twice."""
    encoded = [i.encode("utf-8") for i in ids]
    if len(set(encoded)) != len(encoded):
        seen: set[bytes] = set()
        dupes = sorted({i for i in encoded if i in seen or seen.add(i)})
        shown = ", ".join(repr(d.decode("utf-8")) for d in dupes[:5])
        raise ValueError(f"duplicate IDs: {shown}")
    return encoded


def sample(seed: str, ids: Sequence[str], n: int | None = None, drop: int = 0) -> list[str]:
    """The IDs in draw order: the first ``drop`` skipped, then at most ``n``.

    ``n=None`` means all the rest (a full shuffle).  Like the reference's
    ``take``, ``n`` is an upper bound.  Duplicate IDs raise ValueError.

    >>> sample("31", ["a", "b", "c", "d"])
    ['b', 'a', 'd', 'c']
    >>> sample("77", ["a", "b", "c", "d"], n=2)
    ['b', 'd']
    """
    encoded = encode_distinct(ids)
    return [ids[i] for i in sample_utf8(seed, encoded, n, drop)]


def draw_stream(seed: str, ids: Iterable[str]) -> Iterator[str]:
    """Every ID in draw order, computed lazily (stop consuming when done).

    The order of any subset is this order filtered to the subset, so a
    caller drawing per stratum may either stream each stratum's own IDs or
    filter one global stream; both give the same draws.

    >>> stream = draw_stream("41", [str(i) for i in range(100)])
    >>> [next(stream) for _ in range(3)]
    ['73', '51', '17']
    >>> [i for i in draw_stream("41", map(str, range(100))) if int(i) % 2 == 0][:4]
    ['58', '38', '42', '20']
    >>> list(islice(draw_stream("41", map(str, range(0, 100, 2))), 4))
    ['58', '38', '42', '20']
    """
    id_list = list(ids)
    encoded = encode_distinct(id_list)
    prefix = seed_prefix(seed)
    # Start small: a stream's consumer usually wants only the first few.
    wanted = min(len(encoded), 64)
    for i in draw_indices(prefix, encoded, wanted=wanted):
        yield id_list[i]
