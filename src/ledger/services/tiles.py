"""The transparency log as C2SP tlog-tiles: tile paths, tile math, tile bytes.

    tile/<L>/<N>[.p/<W>]        hash tiles, tile height 8 (256 hashes per full tile)
    tile/entries/<N>[.p/<W>]    entry bundles

Tile (L, N) of width W holds the W hashes MTH(D[(N*256 + i) * 256**L :
(N*256 + i + 1) * 256**L]) for i < W: the complete subtrees at Merkle level
8L, indices N*256 .. N*256 + W - 1. Those are exactly the stored nodes
(store/tree.py: level 0 from the chain, levels >= 1 from ledger_tree), read
with one range query: nothing is recomputed per request.

<N> is written in 3-digit groups, every group but the last prefixed with `x`
(1234067 -> x001/x234/067); only that canonical spelling is accepted.

The leaves of this log are the 32-byte event hashes (leaf = SHA-256(0x00 ||
event hash), store/tree.py), so an entry bundle is, as the spec requires,
each entry hashing to its level-0 tile hash: `0x0020 || event hash` per
leaf (big-endian uint16 length, then the 32 bytes). The event bytes behind
each hash come with the auditors' feed (services/feeds.py).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ledger.store.config import StoreConfig
from ledger.store.reader import open_reader
from ledger.store.tiles import event_hashes, level_hashes
from ledger.store.tree import TreeError

__all__ = ["MAX_LEVEL", "TILE_HEIGHT", "TILE_WIDTH", "TileNotFound", "TilePathError", "TileRequest", "encode_index",
           "parse_tile_path", "read_tile", "tile_path"]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes in a full tile
HASH_SIZE = 32
MAX_LEVEL = 63  # the spec's range for <L>
_LEVEL = re.compile(r"0|[1-9][0-9]{0,1}")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_GROUP = re.compile(r"[0-9]{3}")


class TilePathError(ValueError):
    """The path is not a tile path as the spec spells it (answered 400)."""


class TileNotFound(LookupError):
    """A well-formed tile the tree does not (yet) have (answered 404)."""


class TileRequest(NamedTuple):
    level: int | None  # None: an entry bundle
    index: int
    width: int | None  # None: a full tile

    @property
    def full(self) -> bool:
        return self.width is None


def encode_index(index: int) -> str:
    """1234067 -> 'x001/x234/067'; 0 -> '000'."""
    groups = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])


def tile_path(level: int | None, index: int, width: int | None = None) -> str:
    """The path under /log/ of a tile: tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]."""
    head = "entries" if level is None else str(level)
    return f"tile/{head}/{encode_index(index)}" + (f".p/{width}" if width is not None else "")


def parse_tile_path(path: str) -> TileRequest:
    """Parse `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]` (the part after tile/)."""
    text = path.removeprefix("/")
    parts = text.split("/") if text else []
    if len(parts) < 2:
        raise TilePathError("a tile path is <L>/<N>[.p/<W>] or entries/<N>[.p/<W>]")
    head, rest = parts[0], parts[1:]
    level: int | None
    if head == "entries":
        level = None
    elif _LEVEL.fullmatch(head) and int(head) <= MAX_LEVEL:
        level = int(head)
    else:
        raise TilePathError(f"tile level {head[:20]!r} must be a decimal 0..{MAX_LEVEL} without leading zeros")
    width: int | None = None
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        text = rest[-1]
        if not _WIDTH.fullmatch(text) or not 1 <= int(text) < TILE_WIDTH:
            raise TilePathError(f"partial tile width {text[:20]!r} must be a decimal 1..{TILE_WIDTH - 1} without leading zeros")
        width = int(text)
        rest = [*rest[:-2], rest[-2][:-2]]
    if len(rest) > 22:  # 22 groups hold every 64-bit index
        raise TilePathError("tile index has too many path elements")
    for i, group in enumerate(rest):
        last = i == len(rest) - 1
        digits = group if last else group[1:]
        if (not last and not group.startswith("x")) or not _GROUP.fullmatch(digits):
            raise TilePathError(f"tile index element {group[:20]!r}: every element is 3 digits, all but the last prefixed by 'x'")
    index = int("".join(g.lstrip("x") for g in rest))
    if encode_index(index) != "/".join(rest):
        raise TilePathError("tile index has leading zero elements (not the canonical encoding)")
    return TileRequest(level, index, width)


def read_tile(config: StoreConfig, request: TileRequest) -> bytes:
    """The tile's bytes: concatenated 32-byte hashes, or for entries the uint16-prefixed leaves.

    TileNotFound if the tree does not have all its hashes; TreeError if the
    store lacks a node it must hold (a damaged store, never a client error).
    """
    width = TILE_WIDTH if request.width is None else request.width
    level = 0 if request.level is None else request.level
    merkle_level = TILE_HEIGHT * level
    first = request.index * TILE_WIDTH
    with open_reader(config) as reader:
        size = reader.size()
        complete = size >> merkle_level  # complete subtrees at that Merkle level
        if first + width > complete:
            what = "full tile" if request.width is None else f"partial tile of width {width}"
            raise TileNotFound(f"the tree of size {size} has no {what} at level {level}, index {request.index}"
                               f" (it has {complete} hashes at that level)")
        if request.level is None:
            hashes = event_hashes(reader, first, width)
        else:
            hashes = level_hashes(reader, merkle_level, first, width)
    if len(hashes) != width:
        raise TreeError(f"the stored tree lacks hashes of tile {tile_path(request.level, request.index, request.width)}"
                        f" (found {len(hashes)} of {width}): the store is incomplete or was tampered with")
    if request.level is None:
        return b"".join(len(h).to_bytes(2, "big") + h for h in hashes)
    return b"".join(hashes)
